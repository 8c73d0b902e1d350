// Crash-safe file writes: data goes to a temporary file in the target folder, is fsync'ed, then
// renamed over the target, so readers see the old file or the complete new one, never a torn one.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string_view>

namespace automodel {

// Streams bytes into a temporary file; commit() makes it visible atomically. Destroying an
// uncommitted writer removes the temporary file (the previous target stays intact).
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path target);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  bool committed_ = false;
};

void write_file_atomic(const std::filesystem::path& target, std::string_view contents);
std::string read_file(const std::filesystem::path& path);

}  // namespace automodel
