#include "automodel/hf/hub_download.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "automodel/common/error.h"
#include "automodel/common/file_lock.h"
#include "automodel/common/logging.h"
#include "automodel/common/string_util.h"
#include "automodel/hf/blob_digest.h"
#include "automodel/hf/hub_cache.h"
#include "automodel/hf/hub_client.h"
#include "automodel/hf/hub_env.h"

namespace automodel::hf {
namespace fs = std::filesystem;
namespace {

bool in_subpath(const RepoRef& repo, const std::string& file) {
  return repo.subpath.empty() || file == repo.subpath || file.starts_with(repo.subpath + "/");
}

fs::path inside(const fs::path& snapshot, const RepoRef& repo) {
  return repo.subpath.empty() ? snapshot : snapshot / repo.subpath;
}

// The cached snapshot of `repo` in any hub cache root, if one is there.
std::optional<fs::path> cached_snapshot(const RepoRef& repo, std::vector<std::string>* looked) {
  for (const auto& root : hub_cache_roots()) {
    RepoCache cache(root, repo);
    auto commit = cache.commit_of(repo.revision);
    if (!commit) {
      if (looked) looked->push_back((cache.dir() / "refs" / repo.revision).string());
      continue;
    }
    auto path = inside(cache.snapshot(*commit), repo);
    std::error_code ec;
    if (fs::exists(path, ec)) return path;
    if (looked) looked->push_back(path.string());
  }
  return std::nullopt;
}

// A file is there when its snapshot pointer resolves to a complete blob.
bool present(const RepoCache& cache, const std::string& commit, const RepoFile& f) {
  std::error_code ec;
  auto p = cache.snapshot(commit) / f.path;
  if (!fs::is_regular_file(p, ec)) return false;
  return f.size < 0 || static_cast<int64_t>(fs::file_size(p, ec)) == f.size;
}

// Downloads `files` with up to env.max_workers at once; the first failure stops new starts
// and is rethrown once the running ones end (their .incomplete files stay for a resume).
void download_all(const HubClient& client, const RepoCache& cache, const RepoRef& repo, const std::string& commit,
                  std::vector<RepoFile>& files) {
  double total = 0;
  for (const auto& f : files) total += static_cast<double>(std::max<int64_t>(0, f.size));
  log_info("downloading {} file(s) of {} ({}) into {}", files.size(), repo.describe(), human_bytes(total),
           cache.dir().string());
  Progress progress("download " + repo.id, total, "B");
  std::mutex mu;  // guards progress and error
  std::exception_ptr error;
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < files.size();) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (error) return;
      }
      try {
        auto& f = files[i];
        FileLock lock(cache.lock_file(f.etag));  // another process may be fetching the same blob
        lock.lock();
        std::error_code ec;
        fs::create_directories(cache.blob(f.etag).parent_path());
        if (!fs::exists(cache.blob(f.etag), ec)) {
          auto partial = cache.incomplete(f.etag);
          if (fs::exists(partial, ec)) {
            std::lock_guard<std::mutex> g(mu);
            progress.advance(static_cast<double>(fs::file_size(partial, ec)));
          }
          client.download(repo, commit, f, partial, [&](size_t n) {
            std::lock_guard<std::mutex> g(mu);
            progress.advance(static_cast<double>(n));
          });
          // LFS blobs are named by their sha256: bytes that hash otherwise never enter the cache.
          if (etag_is_sha256(f.etag)) {
            const auto got = sha256_hex(partial);
            if (got != f.etag) {
              fs::remove(partial, ec);
              AM_FAIL("[hub] {} {}: the downloaded bytes have sha256 {}, the hub says {} (a corrupted transfer or "
                      "proxy); the partial file is deleted, run again", repo.describe(), f.path, got, f.etag);
            }
          }
          fs::rename(partial, cache.blob(f.etag));
        }
        cache.link(commit, f.path, f.etag);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> workers;
  const size_t n = std::min<size_t>(files.size(), static_cast<size_t>(std::max(1, client.env().max_workers)));
  for (size_t i = 0; i < n; ++i) workers.emplace_back(work);
  for (auto& t : workers) t.join();
  if (error) std::rethrow_exception(error);
  progress.finish();
}

fs::path offline_snapshot(const RepoRef& repo, const std::string& why) {
  std::vector<std::string> looked;
  if (auto path = cached_snapshot(repo, &looked)) return *path;
  AM_FAIL("[hub] {}: {} is not in the HF cache; looked for {}. {}", repo.describe(),
          repo.subpath.empty() ? repo.id : "'" + repo.subpath + "' of " + repo.id, join(looked, ", "), why);
}

}  // namespace

bool is_model_file(const std::string& path) {
  // Chat templates may sit in additional_chat_templates/; everything else we read is top level
  // (subfolders hold other formats: onnx/, original/, gguf/...).
  if (path.starts_with("additional_chat_templates/")) return path.ends_with(".jinja");
  if (path.find('/') != std::string::npos) return false;
  for (const char* ext : {".json", ".safetensors", ".jinja"})
    if (path.ends_with(ext)) return true;
  // SentencePiece models and BPE/WordPiece vocabularies.
  return path.ends_with(".model") || path == "merges.txt" || path == "vocab.txt";
}

fs::path hub_snapshot(const RepoRef& repo, const FileFilter& wanted) {
  const auto env = HubEnv::from_environment();
  if (env.offline)
    return offline_snapshot(repo, "HF_HUB_OFFLINE is set: unset it to download, or fill the cache where the hub is "
                                  "reachable (automodel or huggingface_hub with the same HF_HOME/HF_HUB_CACHE)");
  HubClient client(env);
  RepoListing listing;
  try {
    listing = client.list(repo);
  } catch (const HubUnreachableError& e) {
    // As huggingface_hub: without the hub, a cached snapshot of the revision still serves.
    if (auto path = cached_snapshot(repo, nullptr)) {
      log_warn("{}; using the cached {}", e.what(), path->string());
      return *path;
    }
    throw;
  }
  RepoCache cache(env.cache, repo);
  std::vector<RepoFile> selected;
  std::vector<std::string> names;
  for (auto& f : listing.files) {
    names.push_back(f.path);
    if (in_subpath(repo, f.path) && (f.path == repo.subpath || wanted(f.path))) selected.push_back(f);
  }
  if (selected.empty()) {
    if (names.size() > 20) names.resize(20), names.push_back("...");
    AM_FAIL("[hub] {}: no file to read{} in the repo, which holds: {}", repo.describe(),
            repo.subpath.empty() ? "" : " under '" + repo.subpath + "'", names.empty() ? "nothing" : join(names, ", "));
  }
  cache.write_ref(repo.revision, listing.commit);
  std::vector<RepoFile> missing;
  for (auto& f : selected) {
    if (present(cache, listing.commit, f)) continue;
    if (f.etag.empty()) client.read_metadata(repo, listing.commit, f);
    std::error_code ec;
    if (fs::is_regular_file(cache.blob(f.etag), ec) &&
        (f.size < 0 || static_cast<int64_t>(fs::file_size(cache.blob(f.etag), ec)) == f.size)) {
      cache.link(listing.commit, f.path, f.etag);  // the blob came with another revision
      continue;
    }
    missing.push_back(f);
  }
  if (!missing.empty()) download_all(client, cache, repo, listing.commit, missing);
  return inside(cache.snapshot(listing.commit), repo);
}

}  // namespace automodel::hf
