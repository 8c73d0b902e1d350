#include "automodel/hf/hub_env.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "automodel/common/atomic_file.h"

namespace automodel::hf {
namespace fs = std::filesystem;
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// huggingface_hub's truthy values.
bool env_true(const char* name) {
  auto v = env(name);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::toupper(c); });
  return v == "1" || v == "ON" || v == "YES" || v == "TRUE";
}

long env_seconds(const char* name, long fallback) {
  auto v = env(name);
  if (v.empty()) return fallback;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  return end && *end == '\0' && d > 0 ? std::max(1L, static_cast<long>(d)) : fallback;
}

std::string strip(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

fs::path hf_home() {
  if (auto v = env("HF_HOME"); !v.empty()) return v;
  if (auto v = env("XDG_CACHE_HOME"); !v.empty()) return fs::path(v) / "huggingface";
  return fs::path(env("HOME")) / ".cache" / "huggingface";
}

std::vector<fs::path> hub_cache_roots() {
  std::vector<fs::path> roots;
  auto add = [&](const fs::path& p) {
    if (!p.empty() && std::find(roots.begin(), roots.end(), p) == roots.end()) roots.push_back(p);
  };
  if (auto v = env("HF_HUB_CACHE"); !v.empty()) add(v);
  if (auto v = env("HUGGINGFACE_HUB_CACHE"); !v.empty()) add(v);
  add(hf_home() / "hub");
  if (auto v = env("XDG_CACHE_HOME"); !v.empty()) add(fs::path(v) / "huggingface" / "hub");
  if (auto v = env("HOME"); !v.empty()) add(fs::path(v) / ".cache" / "huggingface" / "hub");
  return roots;
}

HubEnv HubEnv::from_environment() {
  HubEnv e;
  e.endpoint = env("HF_ENDPOINT");
  if (e.endpoint.empty()) e.endpoint = "https://huggingface.co";
  while (e.endpoint.ends_with('/')) e.endpoint.pop_back();
  e.cache = hub_cache_roots().front();
  // The token: the variables first, then the file `hf auth login` writes.
  for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"})
    if (auto v = strip(env(name)); !v.empty() && e.token.empty()) {
      e.token = v;
      e.token_source = name;
    }
  if (e.token.empty()) {
    fs::path file = env("HF_TOKEN_PATH").empty() ? hf_home() / "token" : fs::path(env("HF_TOKEN_PATH"));
    std::error_code ec;
    if (fs::is_regular_file(file, ec)) {
      e.token = strip(read_file(file));
      e.token_source = file.string();
    }
  }
  e.offline = env_true("HF_HUB_OFFLINE") || env_true("TRANSFORMERS_OFFLINE");
  e.etag_timeout_s = env_seconds("HF_HUB_ETAG_TIMEOUT", e.etag_timeout_s);
  e.download_timeout_s = env_seconds("HF_HUB_DOWNLOAD_TIMEOUT", e.download_timeout_s);
  return e;
}

}  // namespace automodel::hf
