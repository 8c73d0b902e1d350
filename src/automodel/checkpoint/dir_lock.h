// One run per checkpoint_dir: an exclusive lock on checkpoint_dir/.automodel.lock held for the
// whole run. The kernel releases it when the process ends however it ends, so a lock left by a
// dead run never blocks (it is reported and taken over). Taking it also proves the folder is
// writable before any data or model is loaded.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "automodel/common/file_lock.h"

namespace automodel::checkpoint {

class CheckpointDirLock {
 public:
  // Creates the folder if needed. Errors name the folder and the run holding it (pid, host,
  // start time) or why it cannot be written.
  explicit CheckpointDirLock(const std::filesystem::path& dir);
  ~CheckpointDirLock();
  CheckpointDirLock(const CheckpointDirLock&) = delete;
  CheckpointDirLock& operator=(const CheckpointDirLock&) = delete;
  // What the previous holder left when it ended without releasing (a killed run), or "".
  const std::string& taken_over_from() const { return taken_over_from_; }

 private:
  std::unique_ptr<FileLock> lock_;
  std::string taken_over_from_;
};

}  // namespace automodel::checkpoint
