#include "automodel/checkpoint/run_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "automodel/common/error.h"

namespace fs = std::filesystem;

namespace automodel::checkpoint {
namespace {

void fsync_path(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void fsync_tree(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) fsync_path(entry.path());
  fsync_path(dir);
}

}  // namespace

std::string checkpoint_name(int64_t epoch, int64_t step) { return fmt::format("epoch_{}_step_{}", epoch, step); }

fs::path commit_checkpoint(const fs::path& checkpoint_dir, const std::string& name,
                           const std::function<void(const fs::path&)>& write) {
  fs::create_directories(checkpoint_dir);
  auto final_dir = checkpoint_dir / name;
  auto tmp = checkpoint_dir / fmt::format(".{}.tmp-{}", name, ::getpid());
  fs::remove_all(tmp);
  try {
    fs::create_directories(tmp);
    write(tmp);
    fsync_tree(tmp);
    // Re-saving the same step (e.g. the final save right after a periodic one) replaces it.
    if (fs::exists(final_dir)) {
      auto old = checkpoint_dir / fmt::format(".{}.old-{}", name, ::getpid());
      fs::rename(final_dir, old);
      fs::rename(tmp, final_dir);
      fs::remove_all(old);
    } else {
      fs::rename(tmp, final_dir);
    }
    fsync_path(checkpoint_dir);
    auto link_tmp = checkpoint_dir / fmt::format(".LATEST.tmp-{}", ::getpid());
    fs::remove(link_tmp);
    fs::create_directory_symlink(name, link_tmp);
    fs::rename(link_tmp, checkpoint_dir / "LATEST");
    fsync_path(checkpoint_dir);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
  return final_dir;
}

std::vector<std::string> remove_abandoned_writes(const fs::path& checkpoint_dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(checkpoint_dir, ec)) {
    const auto name = entry.path().filename().string();
    const bool abandoned = name.starts_with(".") && (name.find(".tmp-") != std::string::npos ||
                                                     name.find(".optimizer_rank") != std::string::npos);
    if (!abandoned) continue;
    fs::remove_all(entry.path(), ec);
    if (!ec) removed.push_back(name);
  }
  return removed;
}

std::optional<fs::path> latest_checkpoint(const fs::path& checkpoint_dir) {
  auto link = checkpoint_dir / "LATEST";
  std::error_code ec;
  if (!fs::is_symlink(link, ec)) {
    AM_CHECK(!fs::exists(link), "[checkpoint] {} exists but is not a symlink to a checkpoint folder", link.string());
    return std::nullopt;
  }
  auto target = checkpoint_dir / fs::read_symlink(link);
  AM_CHECK(fs::is_directory(target), "[checkpoint] {} points to {}, which does not exist", link.string(),
           target.string());
  return target;
}

}  // namespace automodel::checkpoint
