#include "automodel/hf/hub_client.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "automodel/common/http.h"
#include "automodel/common/string_util.h"

namespace automodel::hf {
namespace fs = std::filesystem;
namespace {

constexpr int kAttempts = 5;       // per request: the first try and four retries
constexpr int kMaxRedirects = 10;  // a hub rename plus an LFS/CDN hop fit easily

// Each path segment percent-encoded, the '/' between them kept.
std::string encode_path(const std::string& path) {
  std::vector<std::string> parts;
  for (const auto& p : split(path, '/')) parts.push_back(url_encode(p));
  return join(parts, "/");
}

bool is_redirect(long status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

int64_t to_size(const std::string& v) {
  if (v.empty()) return -1;
  try {
    return std::stoll(v);
  } catch (const std::exception&) {
    return -1;
  }
}

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};

}  // namespace

std::string normalize_etag(const std::string& etag) {
  std::string e = etag.starts_with("W/") ? etag.substr(2) : etag;
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

HubClient::HubClient(HubEnv env) : env_(std::move(env)), origin_(url_origin(env_.endpoint)) {}

std::string HubClient::resolve_url(const RepoRef& repo, const std::string& commit, const std::string& file) const {
  return fmt::format("{}/{}/resolve/{}/{}", env_.endpoint, repo.url_path(), url_encode(commit), encode_path(file));
}

// The token goes only to the endpoint's own host: a redirect to an LFS/CDN host (signed URL)
// must not carry it.
HttpResponse HubClient::send(HttpRequest request) const {
  request.headers.push_back("User-Agent: automodel-cpp; hf_hub-compatible");
  if (!env_.token.empty() && url_origin(request.url) == origin_)
    request.headers.push_back("Authorization: Bearer " + env_.token);
  return http_request(request);
}

void HubClient::fail(const HttpResponse& r, const RepoRef& repo, const std::string& file,
                     const std::string& url) const {
  const std::string what = file.empty() ? repo.describe() : fmt::format("'{}' of {}", file, repo.describe());
  const auto code = r.header("x-error-code");
  if (r.status == 0)
    throw HubUnreachableError(fmt::format("[hub] cannot reach {} for {}: {}{}; check HF_ENDPOINT and the network, or "
                                          "set HF_HUB_OFFLINE=1 to use the HF cache only",
                                          env_.endpoint, what, r.error,
                                          r.unreachable ? "" : fmt::format(" (after {} tries)", kAttempts)));
  if (r.status == 401 || r.status == 403 || code == "GatedRepo") {
    const auto token = env_.token.empty() ? std::string("no token was sent")
                                          : fmt::format("the token from {} was refused", env_.token_source);
    AM_FAIL("[hub] {}: HTTP {} at {} ({}): {} is private, gated or does not exist; set HF_TOKEN (or run `hf auth "
            "login`) to a token with access to {}{}",
            what, r.status, url, token, repo.id, repo.id,
            r.status == 403 ? " (for a gated repo, accept its terms on the hub page first)" : "");
  }
  if (r.status == 404) {
    if (code == "RevisionNotFound")
      AM_FAIL("[hub] {}: revision '{}' does not exist in {} ({})", what, repo.revision, repo.id, url);
    if (code == "EntryNotFound" || !file.empty())
      AM_FAIL("[hub] {}: file '{}' does not exist in {} at revision '{}' (HTTP 404 at {})", what, file, repo.id,
              repo.revision, url);
    AM_FAIL("[hub] {}: repo {} or its revision '{}' does not exist (HTTP 404 at {}); check the id and revision", what,
            repo.id, repo.revision, url);
  }
  if (r.status == 429)
    throw HubUnreachableError(fmt::format("[hub] {}: rate limited by {} (HTTP 429) after {} tries; wait and retry, or "
                                          "set HF_TOKEN (authenticated requests get higher limits)",
                                          what, env_.endpoint, kAttempts));
  if (r.status >= 500)
    throw HubUnreachableError(
        fmt::format("[hub] {}: {} answered HTTP {} after {} tries", what, env_.endpoint, r.status, kAttempts));
  AM_FAIL("[hub] {}: unexpected HTTP {} at {}: {}", what, r.status, url, r.body.substr(0, 200));
}

RepoListing HubClient::list(const RepoRef& repo) const {
  // blobs=true adds each file's blob id and LFS sha256: the etags, without a HEAD per file.
  const auto url = fmt::format("{}/api/{}/{}/revision/{}?blobs=true", env_.endpoint, repo.api_collection(), repo.id,
                               url_encode(repo.revision));
  auto r = http_with_retries(
      [&] {
        HttpRequest req;
        req.url = url;
        req.connect_timeout_s = req.timeout_s = env_.etag_timeout_s;
        return send(req);
      },
      kAttempts, "listing " + repo.describe());
  if (r.status != 200) fail(r, repo, "", url);
  auto info = nlohmann::json::parse(r.body, nullptr, false);
  AM_CHECK(info.is_object() && info.contains("sha") && info["sha"].is_string(),
           "[hub] {}: {} answered without a commit (\"sha\"); is HF_ENDPOINT ({}) a hub?", repo.describe(), url,
           env_.endpoint);
  RepoListing listing;
  listing.commit = info["sha"].get<std::string>();
  AM_CHECK(is_commit_hash(listing.commit), "[hub] {}: {} gave commit '{}', expected 40 hex digits", repo.describe(), url,
           listing.commit);
  if (info.contains("siblings") && info["siblings"].is_array())
    for (const auto& s : info["siblings"]) {
      if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string()) continue;
      RepoFile f;
      f.path = s["rfilename"].get<std::string>();
      if (f.path.find("..") != std::string::npos || f.path.starts_with('/')) continue;  // never outside the snapshot
      if (s.contains("lfs") && s["lfs"].is_object() && s["lfs"].value("sha256", nlohmann::json()).is_string()) {
        f.etag = s["lfs"]["sha256"].get<std::string>();
        if (s["lfs"].value("size", nlohmann::json()).is_number_integer()) f.size = s["lfs"]["size"].get<int64_t>();
      } else if (s.value("blobId", nlohmann::json()).is_string()) {
        f.etag = s["blobId"].get<std::string>();
        if (s.value("size", nlohmann::json()).is_number_integer()) f.size = s["size"].get<int64_t>();
      }
      listing.files.push_back(std::move(f));
    }
  return listing;
}

void HubClient::read_metadata(const RepoRef& repo, const std::string& commit, RepoFile& file) const {
  auto url = resolve_url(repo, commit, file.path);
  HttpResponse r;
  // Redirects on the hub itself (a renamed repo) are followed; one to another host (LFS) is not:
  // the hub's own response carries the linked etag and size.
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    r = http_with_retries(
        [&] {
          HttpRequest req;
          req.method = "HEAD";
          req.url = url;
          req.headers = {"Accept-Encoding: identity"};
          req.connect_timeout_s = req.timeout_s = env_.etag_timeout_s;
          return send(req);
        },
        kAttempts, fmt::format("metadata of '{}' of {}", file.path, repo.describe()));
    if (!is_redirect(r.status)) break;
    auto next = automodel::resolve_url(url, r.header("location"));
    if (url_origin(next) != origin_ || !r.header("x-linked-etag").empty()) break;
    url = next;
  }
  if (r.status != 200 && !is_redirect(r.status)) fail(r, repo, file.path, url);
  auto etag = normalize_etag(!r.header("x-linked-etag").empty() ? r.header("x-linked-etag") : r.header("etag"));
  AM_CHECK(!etag.empty(), "[hub] '{}' of {}: {} gave no ETag, so the file cannot be cached by content", file.path,
           repo.describe(), url);
  file.etag = etag;
  file.size = to_size(r.header("x-linked-size"));
  if (file.size < 0 && r.status == 200) file.size = to_size(r.header("content-length"));
}

void HubClient::download(const RepoRef& repo, const std::string& commit, const RepoFile& file, const fs::path& dest,
                         const std::function<void(size_t)>& progress) const {
  const auto start_url = resolve_url(repo, commit, file.path);
  std::string failed_url = start_url;
  auto attempt = [&]() -> HttpResponse {
    std::error_code ec;
    int64_t offset = fs::exists(dest, ec) ? static_cast<int64_t>(fs::file_size(dest)) : 0;
    if (file.size >= 0 && offset >= file.size) {  // complete already (or too long: start over)
      if (offset == file.size) return HttpResponse{200, "", "", {}};
      fs::remove(dest);
      offset = 0;
    }
    std::unique_ptr<FILE, FileCloser> out;
    auto url = start_url;
    for (int hop = 0; hop <= kMaxRedirects; ++hop) {
      failed_url = url;
      HttpRequest req;
      req.url = url;
      req.timeout_s = 0;  // large files take what they take; a stalled transfer is cut off and resumed
      req.connect_timeout_s = env_.etag_timeout_s;
      req.stall_timeout_s = env_.download_timeout_s;
      req.headers = {"Accept-Encoding: identity"};
      if (offset > 0) req.headers.push_back(fmt::format("Range: bytes={}-", offset));
      req.on_body = [&](long status, const char* data, size_t size) {
        if (!out) {
          // 200 to a range request: the server sends the whole file, so start over.
          out.reset(std::fopen(dest.c_str(), status == 206 ? "ab" : "wb"));
          if (!out) return false;
        }
        if (std::fwrite(data, 1, size, out.get()) != size) return false;
        progress(size);
        return true;
      };
      auto r = send(req);
      if (is_redirect(r.status)) {
        // The hub's answer names the blob: it must be the one the listing named.
        auto linked = normalize_etag(!r.header("x-linked-etag").empty() ? r.header("x-linked-etag") : r.header("etag"));
        AM_CHECK(url != start_url || linked.empty() || linked == file.etag,
                 "[hub] '{}' of {}: the hub now serves etag {} where the listing said {}; retry (the revision moved?)",
                 file.path, repo.describe(), linked, file.etag);
        url = automodel::resolve_url(url, r.header("location"));
        continue;
      }
      if (r.status == 416 && offset > 0) {  // our partial file is no prefix of this blob: start over
        fs::remove(dest, ec);
        r.status = 503;  // retryable, from zero
      }
      if (r.status == 200 || r.status == 206) {
        out.reset();
        auto served = normalize_etag(!r.header("x-linked-etag").empty() ? r.header("x-linked-etag") : r.header("etag"));
        if (url == start_url && !served.empty() && served != file.etag) {
          fs::remove(dest, ec);
          AM_FAIL("[hub] '{}' of {}: the hub now serves etag {} where the listing said {}; retry (the revision "
                  "moved?)", file.path, repo.describe(), served, file.etag);
        }
        if (!fs::exists(dest, ec)) std::unique_ptr<FILE, FileCloser>(std::fopen(dest.c_str(), "wb"));  // empty file
        std::error_code size_ec;
        auto got = static_cast<int64_t>(fs::file_size(dest, size_ec));
        if (file.size >= 0 && got != file.size) {
          r.status = 0;
          r.error = fmt::format("got {} of {} bytes", got, file.size);
          if (got > file.size) fs::remove(dest, ec);
        }
      }
      return r;
    }
    return HttpResponse{310, "", "", {}};
  };
  auto r = http_with_retries(attempt, kAttempts, fmt::format("downloading '{}' of {}", file.path, repo.id));
  if (r.status == 310) AM_FAIL("[hub] '{}' of {}: more than {} redirects from {}", file.path, repo.describe(), kMaxRedirects, start_url);
  if (r.status != 200 && r.status != 206) fail(r, repo, file.path, failed_url);
}

}  // namespace automodel::hf
