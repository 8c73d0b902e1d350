// UTF-8 helpers for the tokenizer pipeline: validation, code point iteration, and the Unicode
// properties normalizers and pre-tokenizers need (categories from unicode_properties.h,
// normalization and case mapping via utf8proc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace automodel::tokenizer {

// Byte offset of the first invalid sequence, or npos if `text` is valid UTF-8.
size_t find_invalid_utf8(std::string_view text);
// Decodes valid UTF-8 (call find_invalid_utf8 first on untrusted input).
std::vector<char32_t> decode_utf8(std::string_view text);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(char32_t cp);
// Length in bytes of the UTF-8 sequence starting with `lead` (1 for invalid leads).
size_t utf8_sequence_length(unsigned char lead);
// Replaces invalid sequences with U+FFFD, as Rust's String::from_utf8_lossy.
std::string utf8_lossy(std::string_view bytes);

bool is_whitespace(char32_t cp);     // Rust char::is_whitespace
bool is_alphabetic(char32_t cp);     // Unicode Alphabetic
bool is_numeric(char32_t cp);        // Rust char::is_numeric (Nd, Nl, No; Unicode 17.0)
bool is_punctuation(char32_t cp);    // Unicode P* categories
bool is_control(char32_t cp);        // Cc, Cf, Co: Bert cleaning drops these (HF's is_other, not Cn)
bool is_combining_mark(char32_t cp); // M* (StripAccents, HF's is_combining_mark)
bool is_cjk(char32_t cp);            // Bert's CJK ranges

enum class NormalForm { kNFC, kNFD, kNFKC, kNFKD };
std::string normalize_unicode(std::string_view text, NormalForm form);
std::string to_lower(std::string_view text);  // full Unicode lowercase

}  // namespace automodel::tokenizer
