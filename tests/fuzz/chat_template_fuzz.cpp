// libFuzzer target: arbitrary bytes as a chat template, parsed and rendered with a small
// conversation. Must either render or throw automodel::Error: the sandbox's budgets (jinja/limits.h)
// turn recursion, huge numbers, long loops and big values into errors, so any other exception,
// signal, timeout or out-of-memory is a finding. Build and run: scripts/fuzz.sh chat_template
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "automodel/common/error.h"
#include "automodel/tokenizer/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::json context = nlohmann::json::parse(R"({"messages": [
      {"role": "system", "content": "sys"}, {"role": "user", "content": "hi"},
      {"role": "assistant", "content": "hello", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}],
      "tools": [{"type": "function", "function": {"name": "f"}}], "add_generation_prompt": true,
      "bos_token": "<s>", "eos_token": "</s>"})");
  try {
    automodel::tokenizer::ChatTemplate tmpl(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    tmpl.render(context, 0);
  } catch (const automodel::Error&) {
  }
  return 0;
}
