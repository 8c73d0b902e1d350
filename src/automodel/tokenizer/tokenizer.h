// A Hugging Face tokenizer.json pipeline: added tokens -> normalizer -> pre-tokenizer ->
// model -> post-processor for encoding, and the decoder chain for decoding. Produces the same
// ids as the HF `tokenizers` library.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace automodel::tokenizer {

class Normalizer;
class PreTokenizer;
class Model;
class PostProcessor;
class Decoder;

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

// transformers' clean_up_tokenization: removes spaces before punctuation and contractions
// (" ." -> ".", " n't" -> "n't", ...), applied on decode when the tokenizer_config asks for it.
std::string clean_up_tokenization(std::string text);

class Tokenizer {
 public:
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
  static Tokenizer from_json(const nlohmann::json& spec, const std::string& label);
  // A SentencePiece tokenizer.model, converted as transformers converts it to a fast tokenizer.
  static Tokenizer from_sentencepiece(const std::filesystem::path& model_file);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Input must be valid UTF-8 (an error names the byte offset otherwise).
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // As HF tokenizers truncate one sequence: the text's own tokens are cut so that they and the
  // special tokens the post-processor adds are at most `max_length`; `keep_end` keeps the last
  // ones (truncation_side "left"), else the first.
  std::vector<int32_t> encode_truncated(std::string_view text, bool add_special_tokens, size_t max_length,
                                        bool keep_end = false) const;
  // Encodes on `threads` threads (0 = all cores); results are in input order.
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string>& texts, bool add_special_tokens = false,
                                                 int threads = 0) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;
  // Byte range [start, end) of `text` that each id covers (ids from encode(text, ...)). Tokens
  // the text does not contain (post-processor BOS/EOS) get an empty range.
  std::vector<std::pair<size_t, size_t>> offsets(std::string_view text, const std::vector<int32_t>& ids) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  bool is_special(int32_t id) const;
  size_t vocab_size() const;  // model vocabulary plus added tokens beyond it
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  // Replaces the post-processor with `prefix` + sequence + `suffix` (tokenizer_config overrides).
  void set_special_tokens_template(std::vector<int32_t> prefix, std::vector<int32_t> suffix);

 private:
  Tokenizer();
  struct Segment {
    std::string_view text;
    int32_t added_id;  // -1 for text to tokenize
  };
  void split_added(std::string_view text, bool normalized_pass, std::vector<Segment>& out) const;
  void encode_text(std::string_view text, bool at_input_start, std::vector<int32_t>& ids) const;

  std::string label_;
  std::vector<AddedToken> added_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  // Added tokens by first byte of their content (raw / normalized), longest first.
  std::vector<std::vector<size_t>> raw_index_, normalized_index_;
  std::vector<std::string> normalized_contents_;
  std::unordered_map<int32_t, size_t> added_by_id_;
  // How a token's string maps back to input bytes (from the decoder chain), for offsets().
  struct SurfaceRules {
    bool byte_level = false, metaspace = false, byte_fallback = false;
    std::string subword_prefix, word_suffix;
  } surface_;
  std::string surface(int32_t id) const;
};

}  // namespace automodel::tokenizer
