#include "automodel/tokenizer/bpe.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <queue>

#include "automodel/common/error.h"
#include "automodel/tokenizer/json_util.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::tokenizer {

namespace {
constexpr size_t kMaxCachedWordsPerShard = 1 << 12;
constexpr size_t kMaxCachedWordBytes = 64;  // long pieces (whitespace runs, code) are not worth caching
}  // namespace

Bpe::Bpe(const nlohmann::json& spec, const std::string& where) {
  vocab_ = Vocab::from_object(require_field(spec, "vocab", where), where + ".vocab");
  if (spec.contains("unk_token") && spec["unk_token"].is_string()) {
    auto unk = spec["unk_token"].get<std::string>();
    unk_id_ = vocab_.find(unk);
    AM_CHECK(unk_id_.has_value(), "[tokenizer] {}.unk_token: '{}' is not in the vocabulary", where, unk);
  }
  continuing_subword_prefix_ = field_or<std::string>(spec, "continuing_subword_prefix", "", where);
  end_of_word_suffix_ = field_or<std::string>(spec, "end_of_word_suffix", "", where);
  fuse_unk_ = field_or(spec, "fuse_unk", false, where);
  byte_fallback_ = field_or(spec, "byte_fallback", false, where);
  ignore_merges_ = field_or(spec, "ignore_merges", false, where);
  double dropout = field_or(spec, "dropout", 0.0, where);
  if (dropout > 0)
    throw NotSupportedError(fmt::format("[tokenizer] {}.dropout = {}: BPE dropout (stochastic encoding) is not supported",
                                        where, dropout));
  for (int b = 0; b < 256; ++b) byte_ids_[b] = vocab_.find(fmt::format("<0x{:02X}>", b)).value_or(-1);

  const auto& merges = require_field(spec, "merges", where);
  AM_CHECK(merges.is_array(), "[tokenizer] {}.merges: expected a list", where);
  const size_t prefix_len = continuing_subword_prefix_.size();
  merges_.reserve(merges.size() * 2);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& m = merges[rank];
    std::string a, b;
    if (m.is_string()) {
      auto s = m.get<std::string>();
      auto space = s.find(' ');
      AM_CHECK(space != std::string::npos && space > 0 && space + 1 < s.size(),
               "[tokenizer] {}.merges[{}]: expected \"left right\", found \"{}\"", where, rank, s);
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      AM_FAIL("[tokenizer] {}.merges[{}]: expected \"left right\" or [left, right], found {}", where, rank, m.dump());
    }
    auto ia = vocab_.find(a), ib = vocab_.find(b);
    AM_CHECK(ia && ib, "[tokenizer] {}.merges[{}]: '{}' or '{}' is not in the vocabulary", where, rank, a, b);
    std::string merged = a + (prefix_len && b.starts_with(continuing_subword_prefix_) ? b.substr(prefix_len) : b);
    auto im = vocab_.find(merged);
    AM_CHECK(im.has_value(), "[tokenizer] {}.merges[{}]: merged token '{}' is not in the vocabulary", where, rank, merged);
    merges_.emplace(pair_key(*ia, *ib), Merge{static_cast<int32_t>(rank), *im});  // first (lowest rank) wins
  }
}

void Bpe::initial_symbols(std::string_view piece, std::vector<int32_t>& symbols) const {
  bool last_was_unk = false;
  size_t i = 0;
  while (i < piece.size()) {
    size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(piece[i])), piece.size() - i);
    std::string_view ch = piece.substr(i, len);
    bool first = i == 0, last = i + len == piece.size();
    std::optional<int32_t> id;
    if ((first || continuing_subword_prefix_.empty()) && (!last || end_of_word_suffix_.empty())) {
      id = vocab_.find(ch);
    } else {
      std::string token = (first ? "" : continuing_subword_prefix_) + std::string(ch) + (last ? end_of_word_suffix_ : "");
      id = vocab_.find(token);
    }
    i += len;
    if (id) {
      symbols.push_back(*id);
      last_was_unk = false;
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char c : ch) all &= byte_ids_[c] >= 0;
      if (all) {
        for (unsigned char c : ch) symbols.push_back(byte_ids_[c]);
        last_was_unk = false;
        continue;
      }
    }
    if (unk_id_) {
      if (!(fuse_unk_ && last_was_unk)) symbols.push_back(*unk_id_);
      last_was_unk = true;
    }
  }
}

void Bpe::apply_merges(std::vector<int32_t>& symbols) const {
  const size_t n = symbols.size();
  if (n < 2) return;
  // Doubly linked symbols + a heap of candidate merges (rank, left position); stale entries are
  // skipped when popped. Equal ranks merge left to right, as HF does.
  std::vector<int32_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  using Entry = std::tuple<int32_t, int32_t, int32_t, int32_t>;  // rank, left pos, left id, right id
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  auto push = [&](int32_t left) {
    int32_t right = next[left];
    if (right < 0) return;
    auto it = merges_.find(pair_key(symbols[left], symbols[right]));
    if (it != merges_.end()) heap.emplace(it->second.rank, left, symbols[left], symbols[right]);
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  while (!heap.empty()) {
    auto [rank, left, left_id, right_id] = heap.top();
    heap.pop();
    int32_t right = next[left];
    if (!alive[left] || right < 0 || symbols[left] != left_id || symbols[right] != right_id) continue;
    symbols[left] = merges_.at(pair_key(left_id, right_id)).result;
    alive[right] = false;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    if (prev[left] >= 0) push(prev[left]);
    push(left);
  }
  size_t w = 0;
  for (int32_t i = 0; i >= 0; i = next[i]) symbols[w++] = symbols[i];
  symbols.resize(w);
}

void Bpe::tokenize(std::string_view piece, std::vector<int32_t>& ids) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    if (auto id = vocab_.find(piece)) {
      ids.push_back(*id);
      return;
    }
  }
  // One- and two-byte pieces (digits, punctuation) are cheap to merge and would crowd a few hot
  // shards: only longer words use the cache.
  bool cacheable = piece.size() > 2 && piece.size() <= kMaxCachedWordBytes;
  CacheShard& shard = cache_[std::hash<std::string_view>{}(piece) % kCacheShards];
  if (cacheable) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.words.find(std::string(piece));
    if (it != shard.words.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols;
  symbols.reserve(piece.size());
  initial_symbols(piece, symbols);
  apply_merges(symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (shard.words.size() >= kMaxCachedWordsPerShard) shard.words.clear();  // bounded memory
    shard.words.emplace(std::string(piece), std::move(symbols));
  }
}

}  // namespace automodel::tokenizer
