// PCRE2 (UTF + Unicode properties, JIT) for tokenizer patterns written for Rust's onig/regex:
// `\p{L}`, look-ahead, and case-insensitive groups as used by GPT-2/Llama-3/Qwen pre-tokenizers.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace automodel::tokenizer {

class Regex {
 public:
  // Errors name `where` (the tokenizer.json field) and the PCRE2 message with its offset.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Non-overlapping matches as [begin, end) byte ranges, left to right. Empty matches are skipped.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Escapes a literal string for use in a pattern.
std::string regex_escape(std::string_view literal);

}  // namespace automodel::tokenizer
