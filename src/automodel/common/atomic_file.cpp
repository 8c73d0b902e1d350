#include "automodel/common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "automodel/common/error.h"

namespace automodel {
namespace {

void fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::filesystem::path target) : target_(std::move(target)) {
  std::random_device rd;
  temp_ = target_;
  temp_ += fmt::format(".tmp.{}.{:08x}", ::getpid(), rd());
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  AM_CHECK(fd_ >= 0, "[io] cannot create {}: {}", temp_.string(), std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    AM_CHECK(n > 0, "[io] writing {} failed: {} (the previous {} is untouched)", temp_.string(),
             std::strerror(errno), target_.filename().string());
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  AM_CHECK(::fsync(fd_) == 0, "[io] fsync {} failed: {}", temp_.string(), std::strerror(errno));
  AM_CHECK(::close(fd_) == 0, "[io] close {} failed: {}", temp_.string(), std::strerror(errno));
  fd_ = -1;
  AM_CHECK(::rename(temp_.c_str(), target_.c_str()) == 0, "[io] rename {} -> {} failed: {}",
           temp_.string(), target_.string(), std::strerror(errno));
  committed_ = true;
  fsync_directory(target_.parent_path());
}

void write_file_atomic(const std::filesystem::path& target, std::string_view contents) {
  AtomicFileWriter writer(target);
  writer.write(contents);
  writer.commit();
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  AM_CHECK(in.good(), "[io] cannot open {}: {}", path.string(), std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace automodel
