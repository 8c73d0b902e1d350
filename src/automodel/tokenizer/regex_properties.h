// Rewrites a tokenizer pattern (Oniguruma syntax, as HF tokenizers compiles it) so that PCRE2 uses
// our Unicode tables (unicode_properties.h) instead of its own, older ones: \p{X}, \P{X},
// \p{^X}, \d \w \s \h and their negations, outside and inside character classes.
#pragma once

#include <string>

namespace automodel::tokenizer {

// Unknown property names fail naming `where` (the tokenizer.json field) and the name.
std::string expand_unicode_properties(const std::string& pattern, const std::string& where);

}  // namespace automodel::tokenizer
