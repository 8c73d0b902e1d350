// What a hub reference names: a model or dataset repo id ("org/name"), a revision (branch, tag or
// commit) and optionally a path inside the repo, parsed from "org/name" or hf:// URIs.
#pragma once

#include <optional>
#include <string>

namespace automodel::hf {

enum class RepoType { kModel, kDataset };

struct RepoRef {
  RepoType type = RepoType::kModel;
  std::string id;                 // "org/name"
  std::string revision = "main";  // branch, tag, or 40-hex commit
  std::string subpath;            // a file or folder inside the repo; "" = the whole repo

  // The cache folder huggingface_hub uses: "models--org--name", "datasets--org--name".
  std::string cache_folder() const;
  // The REST collection: "models" or "datasets".
  std::string api_collection() const;
  // Path of the repo on the endpoint: "org/name" or "datasets/org/name".
  std::string url_path() const;
  // "model org/name (revision main)", for messages.
  std::string describe() const;
};

// A hub reference, or nullopt when `text` is none. Accepted:
//   org/name                           (a repo of `type`, at `revision`)
//   hf://org/name[@rev][/path]         (AutoModel's and HfFileSystem's form; models by default,
//   hf://models/org/name...            `type` for a plain org/name)
//   hf://datasets/org/name[@rev][/path]
// "@rev" overrides `revision`; '/' inside a revision is written %2F, as HfFileSystem writes it.
// A malformed hf:// URI or repo id throws automodel::Error naming what is wrong.
std::optional<RepoRef> parse_repo_ref(const std::string& text, RepoType type, const std::string& revision = "main");

bool is_commit_hash(const std::string& revision);

}  // namespace automodel::hf
