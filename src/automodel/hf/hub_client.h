// The HF hub's HTTP API as huggingface_hub uses it: repo listings (/api/{models,datasets}/{id}/
// revision/{rev}), file metadata (HEAD .../resolve/{commit}/{file}: X-Repo-Commit, X-Linked-Etag,
// X-Linked-Size) and resumable file downloads following LFS redirects. Errors name the repo,
// revision and file and say what to do (HF_TOKEN for 401/403).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "automodel/common/error.h"
#include "automodel/hf/hub_env.h"
#include "automodel/hf/hub_repo.h"

namespace automodel {
struct HttpRequest;
struct HttpResponse;
}  // namespace automodel

namespace automodel::hf {

// The hub could not be reached (no connection, timeouts, 5xx after retries): the cache may serve.
class HubUnreachableError : public Error {
 public:
  using Error::Error;
};

struct RepoFile {
  std::string path;
  int64_t size = -1;  // -1: unknown until its metadata is read
  std::string etag;   // the blob name: the LFS sha256, else the git blob id; "" until known
};

struct RepoListing {
  std::string commit;
  std::vector<RepoFile> files;
};

class HubClient {
 public:
  explicit HubClient(HubEnv env);

  // The commit `repo.revision` points to and the files there.
  RepoListing list(const RepoRef& repo) const;
  // Fills in `file`'s etag and size from a HEAD of its resolve URL at `commit`.
  void read_metadata(const RepoRef& repo, const std::string& commit, RepoFile& file) const;
  // Appends `file` (at `commit`) to `dest` from dest's current size (a resumed .incomplete file),
  // following redirects (the token only to the endpoint's own host) and retrying interrupted
  // transfers from where they stopped; `progress` gets each chunk's size.
  void download(const RepoRef& repo, const std::string& commit, const RepoFile& file,
                const std::filesystem::path& dest, const std::function<void(size_t)>& progress) const;

  const HubEnv& env() const { return env_; }

 private:
  std::string resolve_url(const RepoRef& repo, const std::string& commit, const std::string& file) const;
  HttpResponse send(HttpRequest request) const;
  [[noreturn]] void fail(const HttpResponse& r, const RepoRef& repo, const std::string& file,
                         const std::string& url) const;

  HubEnv env_;
  std::string origin_;
};

// An ETag header value as a blob name: without W/ and quotes.
std::string normalize_etag(const std::string& etag);

}  // namespace automodel::hf
