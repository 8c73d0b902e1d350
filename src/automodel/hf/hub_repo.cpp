#include "automodel/hf/hub_repo.h"

#include <algorithm>
#include <cctype>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

namespace automodel::hf {
namespace {

// The hub's rule for a repo name part: letters, digits, '-', '_', '.'; no "--" or ".." (the
// cache folder name splits on "--"), not starting or ending with '-' or '.'.
bool valid_name_part(const std::string& s) {
  if (s.empty() || s.size() > 96) return false;
  if (!std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; }))
    return false;
  if (s.find("--") != std::string::npos || s.find("..") != std::string::npos) return false;
  return s.front() != '-' && s.front() != '.' && s.back() != '-' && s.back() != '.';
}

std::string decode_slashes(std::string s) {
  for (size_t at; (at = s.find("%2F")) != std::string::npos || (at = s.find("%2f")) != std::string::npos;)
    s.replace(at, 3, "/");
  return s;
}

}  // namespace

std::string RepoRef::cache_folder() const {
  auto parts = split(id, '/');
  return (type == RepoType::kDataset ? "datasets--" : "models--") + join(parts, "--");
}
std::string RepoRef::api_collection() const { return type == RepoType::kDataset ? "datasets" : "models"; }
std::string RepoRef::url_path() const { return type == RepoType::kDataset ? "datasets/" + id : id; }
std::string RepoRef::describe() const {
  return fmt::format("{} {} (revision {})", type == RepoType::kDataset ? "dataset" : "model", id, revision);
}

bool is_commit_hash(const std::string& r) {
  return r.size() == 40 && std::all_of(r.begin(), r.end(), [](unsigned char c) { return std::isdigit(c) || (c >= 'a' && c <= 'f'); });
}

std::optional<RepoRef> parse_repo_ref(const std::string& text, RepoType type, const std::string& revision) {
  RepoRef ref;
  ref.type = type;
  ref.revision = revision.empty() ? "main" : revision;
  if (!text.starts_with("hf://")) {
    auto parts = split(text, '/');
    if (parts.size() != 2 || !valid_name_part(parts[0]) || !valid_name_part(parts[1])) return std::nullopt;
    ref.id = text;
    return ref;
  }
  std::string rest = text.substr(5);
  while (rest.ends_with('/')) rest.pop_back();
  if (rest.starts_with("datasets/")) {
    ref.type = RepoType::kDataset;
    rest = rest.substr(9);
  } else if (rest.starts_with("models/")) {
    ref.type = RepoType::kModel;
    rest = rest.substr(7);
  }
  auto parts = split(rest, '/');
  AM_CHECK(parts.size() >= 2, "[hub] '{}': expected hf://[datasets/]org/name[@revision][/path]", text);
  if (auto at = parts[1].find('@'); at != std::string::npos) {
    ref.revision = decode_slashes(parts[1].substr(at + 1));
    parts[1] = parts[1].substr(0, at);
    AM_CHECK(!ref.revision.empty(), "[hub] '{}': empty revision after '@'", text);
  }
  AM_CHECK(valid_name_part(parts[0]) && valid_name_part(parts[1]),
           "[hub] '{}': '{}/{}' is not a valid repo id (letters, digits, '-', '_', '.'; no '--' or '..')", text,
           parts[0], parts[1]);
  ref.id = parts[0] + "/" + parts[1];
  ref.subpath = join(std::vector<std::string>(parts.begin() + 2, parts.end()), "/");
  AM_CHECK(ref.subpath.find("..") == std::string::npos, "[hub] '{}': '..' in the path inside the repo", text);
  return ref;
}

}  // namespace automodel::hf
