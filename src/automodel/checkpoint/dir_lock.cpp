#include "automodel/checkpoint/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "automodel/common/error.h"

namespace automodel::checkpoint {
namespace {

std::string read_all(int fd) {
  std::string out;
  char buffer[512];
  ssize_t n;
  ::lseek(fd, 0, SEEK_SET);
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string holder_description() {
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  return fmt::format("pid {} on {}, started {}", ::getpid(), host, when);
}

}  // namespace

CheckpointDirLock::CheckpointDirLock(const std::filesystem::path& dir) : file_(dir / ".automodel.lock") {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  AM_CHECK(!ec, "[checkpoint] checkpoint_dir {} cannot be created: {}", dir.string(), ec.message());
  fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  AM_CHECK(fd_ >= 0, "[checkpoint] checkpoint_dir {} is not writable: {} (set checkpoint.checkpoint_dir to a folder "
           "this user can write)", dir.string(), std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    std::string holder = read_all(fd_);
    ::close(fd_);
    fd_ = -1;
    AM_CHECK(error != EWOULDBLOCK, "[checkpoint] checkpoint_dir {} is in use by another run ({}); wait for it to end "
             "or choose another checkpoint.checkpoint_dir", dir.string(), holder.empty() ? "holder unknown" : holder);
    AM_FAIL("[checkpoint] cannot lock {}: {}", file_.string(), std::strerror(error));
  }
  taken_over_from_ = read_all(fd_);  // left by a run that was killed (a clean exit empties it)
  auto me = holder_description() + "\n";
  AM_CHECK(::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, me.data(), me.size(), 0) == static_cast<ssize_t>(me.size()),
           "[checkpoint] checkpoint_dir {} is not writable: {}", dir.string(), std::strerror(errno));
}

CheckpointDirLock::~CheckpointDirLock() {
  if (fd_ < 0) return;
  (void)::ftruncate(fd_, 0);  // a clean end leaves no holder behind
  ::close(fd_);               // releases the lock
}

}  // namespace automodel::checkpoint
