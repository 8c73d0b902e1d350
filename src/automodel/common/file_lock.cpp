#include "automodel/common/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "automodel/common/error.h"

namespace automodel {

FileLock::FileLock(const std::filesystem::path& file) : file_(file) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) open_error_ = errno;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

void FileLock::lock() {
  AM_CHECK(fd_ >= 0, "[lock] cannot open lock file {}: {}", file_.string(), std::strerror(open_error_));
  while (::flock(fd_, LOCK_EX) != 0)
    AM_CHECK(errno == EINTR, "[lock] cannot lock {}: {}", file_.string(), std::strerror(errno));
}

bool FileLock::try_lock(int& error) {
  error = fd_ < 0 ? open_error_ : 0;
  if (fd_ < 0) return false;
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return true;
  if (errno != EWOULDBLOCK) error = errno;
  return false;
}

std::string FileLock::read() const {
  std::string out;
  if (fd_ < 0) return out;
  char buffer[512];
  ssize_t n;
  for (off_t at = 0; (n = ::pread(fd_, buffer, sizeof buffer, at)) > 0; at += n) out.append(buffer, static_cast<size_t>(n));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

bool FileLock::write(const std::string& text) {
  return fd_ >= 0 && ::ftruncate(fd_, 0) == 0 &&
         ::pwrite(fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
}

}  // namespace automodel
