// An exclusive advisory lock (flock) on a file, held until destruction. The kernel releases it
// when the process ends however it ends, so a lock left by a killed process never blocks.
// One home for the hub cache's download locks, the checkpoint_dir lock and the tests' locks.
#pragma once

#include <filesystem>
#include <string>

namespace automodel {

class FileLock {
 public:
  // Opens (creating) `file` and its folder; open_error() says whether that worked.
  explicit FileLock(const std::filesystem::path& file);
  ~FileLock();  // closing releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  int open_error() const { return open_error_; }  // errno of the open, 0 when open
  // Waits for the lock; an error naming the file when it cannot be taken.
  void lock();
  // Takes the lock if no other process holds it; otherwise false (and errno in `error` when the
  // failure is something else than a holder).
  bool try_lock(int& error);
  // What the holder wrote (trailing blanks removed), and replacing it.
  std::string read() const;
  bool write(const std::string& text);

 private:
  std::filesystem::path file_;
  int fd_ = -1;
  int open_error_ = 0;
};

}  // namespace automodel
