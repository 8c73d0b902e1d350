#include "automodel/hf/hub_cache.h"

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"

namespace automodel::hf {
namespace fs = std::filesystem;

RepoCache::RepoCache(fs::path root, const RepoRef& repo)
    : root_(std::move(root)), dir_(root_ / repo.cache_folder()), folder_(repo.cache_folder()) {}

std::optional<std::string> RepoCache::commit_of(const std::string& revision) const {
  if (is_commit_hash(revision)) return revision;
  std::error_code ec;
  auto ref = dir_ / "refs" / revision;
  if (!fs::is_regular_file(ref, ec)) return std::nullopt;
  auto commit = read_file(ref);
  while (!commit.empty() && (commit.back() == '\n' || commit.back() == ' ')) commit.pop_back();
  if (commit.empty()) return std::nullopt;
  return commit;
}

void RepoCache::write_ref(const std::string& revision, const std::string& commit) const {
  if (revision == commit) return;  // commits need no ref, as huggingface_hub
  if (commit_of(revision) == commit) return;
  auto ref = dir_ / "refs" / revision;  // "refs/pr/1" nests, as huggingface_hub
  fs::create_directories(ref.parent_path());
  write_file_atomic(ref, commit);  // no newline: huggingface_hub reads the file as is
}

fs::path RepoCache::incomplete(const std::string& etag) const { return dir_ / "blobs" / (etag + ".incomplete"); }

fs::path RepoCache::lock_file(const std::string& etag) const { return root_ / ".locks" / folder_ / (etag + ".lock"); }

void RepoCache::link(const std::string& commit, const std::string& file, const std::string& etag) const {
  auto pointer = snapshot(commit) / file;
  fs::create_directories(pointer.parent_path());
  // Lexically: fs::relative would resolve symlinks in the cache path.
  auto target = blob(etag).lexically_normal().lexically_relative(pointer.parent_path().lexically_normal());
  std::error_code ec;
  if (fs::is_symlink(pointer, ec) && fs::read_symlink(pointer, ec) == target) return;
  // Replace through a temporary name so a reader never sees the pointer missing.
  auto temp = pointer;
  temp += ".tmp" + std::to_string(::getpid());
  fs::remove(temp, ec);
  fs::create_symlink(target, temp, ec);
  if (ec) {  // no symlinks here (some network filesystems): a copy, as huggingface_hub falls back
    fs::copy_file(blob(etag), temp, fs::copy_options::overwrite_existing);
  }
  fs::rename(temp, pointer);
}

}  // namespace automodel::hf
