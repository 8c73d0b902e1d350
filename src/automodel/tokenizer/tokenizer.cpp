#include "automodel/tokenizer/tokenizer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/tokenizer/decoder.h"
#include "automodel/tokenizer/json_util.h"
#include "automodel/tokenizer/model.h"
#include "automodel/tokenizer/normalizer.h"
#include "automodel/tokenizer/post_processor.h"
#include "automodel/tokenizer/pre_tokenizer.h"
#include "automodel/tokenizer/sentencepiece_model.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::tokenizer {
namespace {

bool is_word_char(char32_t c) { return is_alphabetic(c) || is_numeric(c) || c == '_'; }

// Code point ending just before byte `pos` / starting at `pos` (0 when none).
char32_t cp_before(std::string_view s, size_t pos) {
  if (pos == 0) return 0;
  size_t b = pos - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  auto cps = decode_utf8(s.substr(b, pos - b));
  return cps.empty() ? 0 : cps[0];
}
char32_t cp_at(std::string_view s, size_t pos) {
  if (pos >= s.size()) return 0;
  auto cps = decode_utf8(s.substr(pos, utf8_sequence_length(static_cast<unsigned char>(s[pos]))));
  return cps.empty() ? 0 : cps[0];
}

}  // namespace

std::string clean_up_tokenization(std::string text) {
  static const std::pair<const char*, const char*> kRules[] = {{" .", "."},     {" ?", "?"},     {" !", "!"},
                                                               {" ,", ","},     {" ' ", "'"},    {" n't", "n't"},
                                                               {" 'm", "'m"},   {" 's", "'s"},   {" 've", "'ve"},
                                                               {" 're", "'re"}};
  for (auto [from, to] : kRules) {
    std::string f(from), t(to);
    for (size_t p = text.find(f); p != std::string::npos; p = text.find(f, p + t.size())) text.replace(p, f.size(), t);
  }
  return text;
}

Tokenizer::Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::filesystem::path& path) {
  return from_json(parse_json(read_file(path), path.string()), path.string());
}

Tokenizer Tokenizer::from_json(const nlohmann::json& spec, const std::string& label) {
  AM_CHECK(spec.is_object(), "[tokenizer] {}: expected a JSON object", label);
  Tokenizer t;
  t.label_ = label;
  t.model_ = make_model(require_field(spec, "model", label), label + ": model");
  t.normalizer_ = make_normalizer(spec.value("normalizer", nlohmann::json()), label + ": normalizer");
  t.pre_tokenizer_ = make_pre_tokenizer(spec.value("pre_tokenizer", nlohmann::json()), label + ": pre_tokenizer");
  t.post_processor_ = make_post_processor(spec.value("post_processor", nlohmann::json()), label + ": post_processor");
  t.decoder_ = make_decoder(spec.value("decoder", nlohmann::json()), label + ": decoder");

  const auto& added = spec.value("added_tokens", nlohmann::json::array());
  AM_CHECK(added.is_array(), "[tokenizer] {}: added_tokens must be a list", label);
  for (size_t i = 0; i < added.size(); ++i) {
    std::string where = label + ": added_tokens[" + std::to_string(i) + "]";
    const auto& a = added[i];
    AddedToken tok;
    const auto& id = require_field(a, "id", where);
    AM_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < (1LL << 31),
             "[tokenizer] {}.id: expected a non-negative integer, found {}", where, id.dump());
    tok.id = id.get<int32_t>();
    tok.content = require_string(a, "content", where);
    AM_CHECK(!tok.content.empty(), "[tokenizer] {}.content is empty", where);
    tok.single_word = field_or(a, "single_word", false, where);
    tok.lstrip = field_or(a, "lstrip", false, where);
    tok.rstrip = field_or(a, "rstrip", false, where);
    tok.special = field_or(a, "special", false, where);
    tok.normalized = field_or(a, "normalized", !tok.special, where);
    t.added_.push_back(tok);
  }
  for (size_t i = 0; i < t.added_.size(); ++i) t.added_by_id_[t.added_[i].id] = i;
  // Which decoders run tells how token strings map back to input bytes (offsets()).
  std::function<void(const nlohmann::json&)> scan = [&](const nlohmann::json& d) {
    if (!d.is_object()) return;
    std::string type = d.value("type", "");
    if (type == "ByteLevel") t.surface_.byte_level = true;
    if (type == "Metaspace" || (type == "Replace" && d.dump().find("\xE2\x96\x81") != std::string::npos))
      t.surface_.metaspace = true;
    if (type == "ByteFallback") t.surface_.byte_fallback = true;
    if (type == "WordPiece") t.surface_.subword_prefix = d.value("prefix", "##");
    if (type == "BPEDecoder") t.surface_.word_suffix = d.value("suffix", "</w>");
    if (d.contains("decoders"))
      for (const auto& x : d["decoders"]) scan(x);
  };
  scan(spec.value("decoder", nlohmann::json()));
  t.raw_index_.assign(256, {});
  t.normalized_index_.assign(256, {});
  for (size_t i = 0; i < t.added_.size(); ++i) {
    const auto& a = t.added_[i];
    std::string content = a.content;
    if (a.normalized && t.normalizer_) content = t.normalizer_->normalize(content);
    t.normalized_contents_.push_back(content);
    if (content.empty()) continue;
    auto& index = a.normalized ? t.normalized_index_ : t.raw_index_;
    index[static_cast<unsigned char>(content[0])].push_back(i);
  }
  for (auto* index : {&t.raw_index_, &t.normalized_index_})
    for (auto& bucket : *index)
      std::stable_sort(bucket.begin(), bucket.end(), [&](size_t a, size_t b) {
        return t.normalized_contents_[a].size() > t.normalized_contents_[b].size();
      });
  return t;
}

Tokenizer Tokenizer::from_sentencepiece(const std::filesystem::path& model_file) {
  return from_json(sentencepiece_to_tokenizer_json(model_file), model_file.string());
}

void Tokenizer::split_added(std::string_view text, bool normalized_pass, std::vector<Segment>& out) const {
  const auto& index = normalized_pass ? normalized_index_ : raw_index_;
  size_t segment_start = 0, pos = 0;
  while (pos < text.size()) {
    const auto& bucket = index[static_cast<unsigned char>(text[pos])];
    const AddedToken* hit = nullptr;
    size_t hit_len = 0;
    for (size_t i : bucket) {
      const auto& content = normalized_contents_[i];
      if (text.compare(pos, content.size(), content) != 0) continue;
      const auto& tok = added_[i];
      if (tok.single_word && (is_word_char(cp_before(text, pos)) || is_word_char(cp_at(text, pos + content.size()))))
        continue;
      hit = &tok;
      hit_len = content.size();
      break;
    }
    if (!hit) {
      ++pos;
      continue;
    }
    size_t begin = pos, end = pos + hit_len;
    if (hit->lstrip)
      while (begin > segment_start && is_whitespace(cp_before(text, begin))) begin -= encode_utf8(cp_before(text, begin)).size();
    if (hit->rstrip)
      while (end < text.size() && is_whitespace(cp_at(text, end))) end += encode_utf8(cp_at(text, end)).size();
    if (begin > segment_start) out.push_back({text.substr(segment_start, begin - segment_start), -1});
    out.push_back({text.substr(begin, end - begin), hit->id});
    segment_start = pos = end;
  }
  if (segment_start < text.size()) out.push_back({text.substr(segment_start), -1});
}

void Tokenizer::encode_text(std::string_view text, bool at_input_start, std::vector<int32_t>& ids) const {
  std::string normalized = normalizer_ ? normalizer_->normalize(text) : std::string(text);
  std::vector<Segment> segments;
  split_added(normalized, /*normalized_pass=*/true, segments);
  for (size_t s = 0; s < segments.size(); ++s) {
    const auto& seg = segments[s];
    if (seg.added_id >= 0) {
      ids.push_back(seg.added_id);
      continue;
    }
    std::vector<Piece> pieces{{std::string(seg.text), at_input_start && seg.text.data() == normalized.data()}};
    if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces);
    for (const auto& p : pieces) model_->tokenize(p.text, ids);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  size_t bad = find_invalid_utf8(text);
  AM_CHECK(bad == std::string_view::npos, "[tokenizer] input is not valid UTF-8 (invalid byte 0x{:02X} at offset {})",
           bad == std::string_view::npos ? 0 : static_cast<unsigned char>(text[bad]), bad);
  std::vector<int32_t> ids;
  std::vector<Segment> segments;
  split_added(text, /*normalized_pass=*/false, segments);
  for (const auto& seg : segments) {
    if (seg.added_id >= 0) ids.push_back(seg.added_id);
    else encode_text(seg.text, seg.text.data() == text.data(), ids);
  }
  if (add_special_tokens && post_processor_) post_processor_->process(ids);
  return ids;
}

std::vector<int32_t> Tokenizer::encode_truncated(std::string_view text, bool add_special_tokens, size_t max_length,
                                                bool keep_end) const {
  auto ids = encode(text, false);
  std::vector<int32_t> specials;
  if (add_special_tokens && post_processor_) post_processor_->process(specials);  // their count, whatever the text
  size_t keep = max_length - std::min(max_length, specials.size());
  if (ids.size() > keep) ids.erase(keep_end ? ids.begin() : ids.begin() + static_cast<long>(keep),
                                   keep_end ? ids.end() - static_cast<long>(keep) : ids.end());
  if (add_special_tokens && post_processor_) post_processor_->process(ids);
  return ids;
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts, bool add_special_tokens,
                                                          int threads) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min<int>(threads, static_cast<int>(std::max<size_t>(1, texts.size())));
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t i = next++; i < texts.size(); i = next++) {
      try {
        out[i] = encode(texts[i], add_special_tokens);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (auto it = added_by_id_.find(id); it != added_by_id_.end()) {
      const auto& added = added_[it->second];
      if (!(skip_special_tokens && added.special)) tokens.push_back(added.content);
      continue;
    }
    if (const auto* tok = model_->id_to_token(id)) tokens.push_back(*tok);
  }
  if (!decoder_) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  decoder_->decode_chain(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

std::string Tokenizer::surface(int32_t id) const {
  if (auto it = added_by_id_.find(id); it != added_by_id_.end()) return added_[it->second].content;
  auto tok = id_to_token(id);
  if (!tok) return "";
  std::string s = *tok;
  if (surface_.byte_fallback && s.size() == 6 && s.starts_with("<0x") && s.back() == '>')
    return std::string(1, static_cast<char>(std::stoi(s.substr(3, 2), nullptr, 16)));
  if (!surface_.subword_prefix.empty() && s.starts_with(surface_.subword_prefix)) s.erase(0, surface_.subword_prefix.size());
  if (!surface_.word_suffix.empty() && s.ends_with(surface_.word_suffix)) s.erase(s.size() - surface_.word_suffix.size());
  if (surface_.byte_level) {
    std::string bytes;
    for (char32_t c : decode_utf8(s)) {
      int b = unicode_to_byte(c);
      if (b >= 0) bytes += static_cast<char>(b);
      else append_utf8(bytes, c);
    }
    s = std::move(bytes);
  }
  return s;
}

std::vector<std::pair<size_t, size_t>> Tokenizer::offsets(std::string_view text, const std::vector<int32_t>& ids) const {
  // Walk the text and each token's surface bytes together. Surfaces differ from the input only
  // by inserted spaces (Prepend/Metaspace), skipped whitespace (WordPiece, Strip) and case
  // (Lowercase): those are stepped over; anything else leaves the token empty-ranged.
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(ids.size());
  size_t t = 0;
  auto fold = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  for (int32_t id : ids) {
    std::string s = surface(id);
    size_t start = t, k = 0, probe = t;
    // A special token absent here (post-processor BOS/EOS) matches nothing: empty range.
    if (is_special(id) && text.compare(t, s.size(), s) != 0) {
      size_t ws = t;
      while (ws < text.size() && std::isspace(static_cast<unsigned char>(text[ws]))) ++ws;
      if (text.compare(ws, s.size(), s) != 0) {
        out.emplace_back(t, t);
        continue;
      }
      start = probe = ws;
    }
    bool first = true;
    while (k < s.size()) {
      // Metaspace "▁" stands for an input space, a literal "▁", or an inserted prefix space.
      if (surface_.metaspace && s.compare(k, 3, "\xE2\x96\x81") == 0) {
        if (text.compare(probe, 3, "\xE2\x96\x81") == 0 || (probe < text.size() && text[probe] == ' ')) {
          if (first) start = probe;
          first = false;
          probe += text[probe] == ' ' ? 1 : 3;
        }
        k += 3;
        continue;
      }
      if (probe < text.size() && (text[probe] == s[k] || fold(text[probe]) == fold(s[k]))) {
        if (first) start = probe;
        first = false;
        ++probe;
        ++k;
      } else if (s[k] == ' ') {
        ++k;  // inserted by the normalizer / pre-tokenizer
      } else if (probe < text.size() && std::isspace(static_cast<unsigned char>(text[probe]))) {
        ++probe;  // removed by the normalizer / pre-tokenizer
      } else {
        break;
      }
    }
    if (first) start = probe;
    out.emplace_back(start, probe);
    t = probe;
  }
  return out;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  for (const auto& a : added_)
    if (a.content == token) return a.id;
  return model_->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (auto it = added_by_id_.find(id); it != added_by_id_.end()) return added_[it->second].content;
  if (const auto* t = model_->id_to_token(id)) return *t;
  return std::nullopt;
}

bool Tokenizer::is_special(int32_t id) const {
  auto it = added_by_id_.find(id);
  return it != added_by_id_.end() && added_[it->second].special;
}

void Tokenizer::set_special_tokens_template(std::vector<int32_t> prefix, std::vector<int32_t> suffix) {
  post_processor_ = make_wrapping_post_processor(std::move(prefix), std::move(suffix));
}

size_t Tokenizer::vocab_size() const {
  size_t n = model_->vocab_size();
  for (const auto& a : added_)
    if (!model_->id_to_token(a.id)) ++n;
  return n;
}

}  // namespace automodel::tokenizer
