// libFuzzer target: arbitrary bytes as a tokenizer.json: Tokenizer::from_json, then encode,
// decode and offsets of a short mixed-script string. Must either work or throw automodel::Error.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr std::string_view kText = "Hello wörld!  It's 2024\n\t<s> 日本語 🤗 </s>x";
  try {
    auto spec = automodel::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "tokenizer.json");
    auto tok = automodel::tokenizer::Tokenizer::from_json(spec, "tokenizer.json");
    auto ids = tok.encode(kText, true);
    (void)tok.offsets(kText, ids);
    (void)tok.decode(ids, false);
    (void)tok.decode(ids, true);
    (void)tok.encode_truncated(kText, true, 3);
    // Ids the vocabulary may not have: decode must reject them with an Error, not read past it.
    (void)tok.decode({0, static_cast<int32_t>(tok.vocab_size()), -1}, false);
  } catch (const automodel::Error&) {
  }
  return 0;
}
