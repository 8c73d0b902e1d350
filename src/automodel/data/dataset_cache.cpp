#include "automodel/data/dataset_cache.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/fnv_hash.h"
#include "automodel/common/logging.h"
#include "automodel/config/section_keys.h"
#include "automodel/data/rows.h"
#include "automodel/data/split_files.h"

namespace fs = std::filesystem;

namespace automodel::data {
namespace {

constexpr char kMagic[8] = {'A', 'M', 'D', 'S', 'E', 'T', '0', '3'};  // 03: sample rows

void put_i64(std::string& out, int64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

class Reader {
 public:
  explicit Reader(const std::string& data) : data_(data) {}
  bool i64(int64_t& v) { return bytes(&v, sizeof v); }
  bool bytes(void* dst, size_t n) {
    if (pos_ + n > data_.size()) return false;
    std::memcpy(dst, data_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  const std::string& data_;
  size_t pos_ = 0;
};

}  // namespace

fs::path dataset_cache_dir() {
  if (const char* off = std::getenv("AUTOMODEL_DATASET_CACHE"); off && std::string(off) == "0") return {};
  if (const char* dir = std::getenv("AUTOMODEL_CACHE_DIR")) return fs::path(dir) / "datasets";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME")) return fs::path(xdg) / "automodel" / "datasets";
  if (const char* home = std::getenv("HOME")) return fs::path(home) / ".cache" / "automodel" / "datasets";
  return {};
}

std::string tokenizer_fingerprint(const fs::path& folder) {
  Fnv1a f;
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "chat_template.jinja",
                           "special_tokens_map.json"})
    f.add(fs::is_regular_file(folder / name) ? read_file(folder / name) : std::string("-"));
  // Named templates as transformers saves them (additional_chat_templates/<name>.jinja), in name order.
  std::vector<fs::path> named;
  if (fs::is_directory(folder / "additional_chat_templates"))
    for (const auto& entry : fs::directory_iterator(folder / "additional_chat_templates"))
      if (entry.is_regular_file()) named.push_back(entry.path());
  std::sort(named.begin(), named.end());
  for (const auto& file : named) f.add(file.filename().string() + read_file(file));
  return f.hex();
}

std::string dataset_cache_key(const config::DatasetSection& s, const std::string& tokenizer_fp, int64_t max_tokens) {
  Fnv1a f;
  // 3: the settings are every dataset key declared to shape samples, by key name (config/dataset_keys.cpp).
  f.add("format 3");
  f.add(tokenizer_fp);
  // The data itself (not its name or date): editing the file changes the key. For a folder, the
  // files read_rows reads for the split (shards under data/ or <split>/ included).
  auto rows = fs::is_regular_file(s.path) ? read_file(s.path) : std::string();
  if (fs::is_directory(s.path))
    for (const auto& file : split_files(s.path, s.split))
      f.add(fs::relative(file, s.path).string() + read_file(file));
  f.add(rows);
  // A chat_template naming a .jinja file: its text, so editing the file changes the key too.
  f.add(!s.chat_template.empty() && fs::is_regular_file(s.chat_template) ? read_file(s.chat_template) : "-");
  nlohmann::json settings = {{"max_tokens", max_tokens}};
  for (const auto& key : config::dataset_section().keys) {
    if (key.spec.cache != config::CacheKey::kValue) continue;
    AM_CHECK(key.value, "[data] dataset.{} is declared to shape samples but binds no field to hash", key.spec.name);
    settings[key.spec.name] = key.value(s);
  }
  f.add(settings.dump());
  return f.hex();
}

std::optional<TokenizedDataset> load_cached_dataset(const fs::path& file) {
  if (!fs::is_regular_file(file)) return std::nullopt;
  auto data = read_file(file);
  Reader r(data);
  char magic[8];
  TokenizedDataset out;
  int64_t rows, samples, skipped, unsupervised, too_long, reason_len;
  if (!r.bytes(magic, 8) || std::memcmp(magic, kMagic, 8) != 0 || !r.i64(rows) || !r.i64(samples) ||
      !r.i64(skipped) || !r.i64(unsupervised) || !r.i64(too_long) || !r.i64(out.stats.tokens) || !r.i64(out.stats.target_tokens) || !r.i64(reason_len) ||
      reason_len < 0 || samples < 0)
    return std::nullopt;
  out.stats.first_skip_reason.resize(static_cast<size_t>(reason_len));
  if (!r.bytes(out.stats.first_skip_reason.data(), static_cast<size_t>(reason_len))) return std::nullopt;
  out.stats.rows = static_cast<size_t>(rows);
  out.stats.samples = static_cast<size_t>(samples);
  out.stats.skipped = static_cast<size_t>(skipped);
  out.stats.unsupervised_after_truncation = static_cast<size_t>(unsupervised);
  out.stats.longer_than_pack = static_cast<size_t>(too_long);
  out.samples.resize(static_cast<size_t>(samples));
  for (auto& s : out.samples) {
    int64_t n;
    if (!r.i64(n) || n < 0 || n > (int64_t{1} << 32)) return std::nullopt;
    s.ids.resize(static_cast<size_t>(n));
    s.targets.resize(static_cast<size_t>(n));
    if (!r.bytes(s.ids.data(), s.ids.size() * 4) || !r.bytes(s.targets.data(), s.targets.size() * 4))
      return std::nullopt;
  }
  out.sample_rows.resize(out.samples.size());
  if (!r.bytes(out.sample_rows.data(), out.sample_rows.size() * 4)) return std::nullopt;
  if (!r.done()) return std::nullopt;
  return out;
}

void save_cached_dataset(const fs::path& file, const TokenizedDataset& d) {
  std::string out(kMagic, 8);
  put_i64(out, static_cast<int64_t>(d.stats.rows));
  put_i64(out, static_cast<int64_t>(d.stats.samples));
  put_i64(out, static_cast<int64_t>(d.stats.skipped));
  put_i64(out, static_cast<int64_t>(d.stats.unsupervised_after_truncation));
  put_i64(out, static_cast<int64_t>(d.stats.longer_than_pack));
  put_i64(out, d.stats.tokens);
  put_i64(out, d.stats.target_tokens);
  put_i64(out, static_cast<int64_t>(d.stats.first_skip_reason.size()));
  out += d.stats.first_skip_reason;
  for (const auto& s : d.samples) {
    put_i64(out, static_cast<int64_t>(s.ids.size()));
    out.append(reinterpret_cast<const char*>(s.ids.data()), s.ids.size() * 4);
    out.append(reinterpret_cast<const char*>(s.targets.data()), s.targets.size() * 4);
  }
  std::vector<uint32_t> rows = d.sample_rows;
  rows.resize(d.samples.size(), UINT32_MAX);  // unknown (mock)
  out.append(reinterpret_cast<const char*>(rows.data()), rows.size() * 4);
  fs::create_directories(file.parent_path());
  write_file_atomic(file, out);
}

}  // namespace automodel::data
