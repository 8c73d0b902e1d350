#include "automodel/checkpoint/dir_lock.h"

#include <unistd.h>

#include <cstring>
#include <ctime>

#include "automodel/common/error.h"

namespace automodel::checkpoint {
namespace {

std::string holder_description() {
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  return fmt::format("pid {} on {}, started {}", ::getpid(), host, when);
}

}  // namespace

CheckpointDirLock::CheckpointDirLock(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  AM_CHECK(!ec, "[checkpoint] checkpoint_dir {} cannot be created: {}", dir.string(), ec.message());
  lock_ = std::make_unique<FileLock>(dir / ".automodel.lock");
  AM_CHECK(!lock_->open_error(), "[checkpoint] checkpoint_dir {} is not writable: {} (set checkpoint.checkpoint_dir "
           "to a folder this user can write)", dir.string(), std::strerror(lock_->open_error()));
  int error = 0;
  if (!lock_->try_lock(error)) {
    AM_CHECK(error != 0, "[checkpoint] checkpoint_dir {} is in use by another run ({}); wait for it to end or choose "
             "another checkpoint.checkpoint_dir", dir.string(), lock_->read().empty() ? "holder unknown" : lock_->read());
    AM_FAIL("[checkpoint] cannot lock {}: {}", (dir / ".automodel.lock").string(), std::strerror(error));
  }
  taken_over_from_ = lock_->read();  // left by a run that was killed (a clean exit empties it)
  AM_CHECK(lock_->write(holder_description() + "\n"), "[checkpoint] checkpoint_dir {} is not writable: {}",
           dir.string(), std::strerror(errno));
}

CheckpointDirLock::~CheckpointDirLock() {
  if (lock_) lock_->write("");  // a clean end leaves no holder behind
}

}  // namespace automodel::checkpoint
