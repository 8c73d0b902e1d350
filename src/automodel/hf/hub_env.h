// Where the HF hub is and how we talk to it, read from the same environment variables
// huggingface_hub reads (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, ...), so
// both share one cache and one configuration.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace automodel::hf {

struct HubEnv {
  std::string endpoint;          // HF_ENDPOINT, default https://huggingface.co, no trailing '/'
  std::filesystem::path cache;   // where downloads go: hub_cache_roots().front()
  std::string token;             // empty: anonymous
  std::string token_source;      // "HF_TOKEN", the token file's path, ... (for messages)
  bool offline = false;          // HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE)
  long etag_timeout_s = 10;      // HF_HUB_ETAG_TIMEOUT: listing and metadata requests
  long download_timeout_s = 10;  // HF_HUB_DOWNLOAD_TIMEOUT: a download stalled this long is retried
  int max_workers = 8;           // files downloaded at once (huggingface_hub's default)

  static HubEnv from_environment();
};

// HF_HOME: $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
std::filesystem::path hf_home();
// Hub caches in huggingface_hub's order of precedence (HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE,
// HF_HOME/hub, ...): the first is where huggingface_hub and we write; all are read.
std::vector<std::filesystem::path> hub_cache_roots();

}  // namespace automodel::hf
