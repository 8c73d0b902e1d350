// One repo in the HF hub cache, laid out as huggingface_hub lays it out so either tool reads what
// the other wrote:
//   <root>/models--org--name/blobs/<etag>                   file contents, named by ETag
//   <root>/models--org--name/snapshots/<commit>/<file>      relative symlink to ../../blobs/<etag>
//   <root>/models--org--name/refs/<revision>                the commit a branch/tag pointed to
//   <root>/.locks/models--org--name/<etag>.lock             one writer per blob across processes
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "automodel/hf/hub_repo.h"

namespace automodel::hf {

class RepoCache {
 public:
  RepoCache(std::filesystem::path root, const RepoRef& repo);

  const std::filesystem::path& dir() const { return dir_; }
  // The commit `revision` resolves to here: itself when a commit hash, else refs/<revision>.
  std::optional<std::string> commit_of(const std::string& revision) const;
  void write_ref(const std::string& revision, const std::string& commit) const;
  std::filesystem::path snapshot(const std::string& commit) const { return dir_ / "snapshots" / commit; }
  std::filesystem::path blob(const std::string& etag) const { return dir_ / "blobs" / etag; }
  std::filesystem::path incomplete(const std::string& etag) const;
  std::filesystem::path lock_file(const std::string& etag) const;
  // Makes snapshots/<commit>/<file> point at blobs/<etag> (a relative symlink; a copy where the
  // filesystem has no symlinks).
  void link(const std::string& commit, const std::string& file, const std::string& etag) const;

 private:
  std::filesystem::path root_, dir_;
  std::string folder_;
};

}  // namespace automodel::hf
