// The checkpoint folder layout (AutoModel's): checkpoint_dir/epoch_E_step_S/ and a LATEST
// symlink. A checkpoint is written into a hidden temporary folder and renamed into place, then
// LATEST is swapped atomically, so a crash or a full disk never damages the previous one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace automodel::checkpoint {

std::string checkpoint_name(int64_t epoch, int64_t step);  // "epoch_0_step_20"

// Calls `write(tmp_dir)`, fsyncs, renames tmp_dir to checkpoint_dir/name and points LATEST at
// it. On any error the temporary folder is removed and the error rethrown.
std::filesystem::path commit_checkpoint(const std::filesystem::path& checkpoint_dir, const std::string& name,
                                        const std::function<void(const std::filesystem::path&)>& write);

// Removes what writes of a run that died left behind in `checkpoint_dir` (hidden temporary
// checkpoint folders, LATEST links and fsdp2 staging folders) and returns their names. Only for
// the holder of the checkpoint_dir lock: no other live run writes there.
std::vector<std::string> remove_abandoned_writes(const std::filesystem::path& checkpoint_dir);

// checkpoint_dir/LATEST resolved, or nullopt when there is none.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& checkpoint_dir);

}  // namespace automodel::checkpoint
