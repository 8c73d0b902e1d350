// Chat templates: a Jinja2 interpreter that renders HF chat templates byte-identically to Python
// jinja2 configured as transformers' apply_chat_template (trim_blocks, lstrip_blocks,
// loopcontrols, immutable sandbox, tojson, raise_exception, strftime_now).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace automodel::tokenizer {

namespace jinja {
struct Node;
}

struct RenderResult {
  std::string text;
  // Byte ranges of output produced inside {% generation %} blocks (assistant-mask templates).
  std::vector<std::pair<size_t, size_t>> generation_spans;
};

class ChatTemplate {
 public:
  // Parses now: syntax errors, unknown filters and tests are errors with line and column.
  explicit ChatTemplate(const std::string& source, std::string label = "chat template");
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;

  // `context`: messages, tools, documents, add_generation_prompt, bos_token, eos_token and any
  // extra variables, as transformers passes them. `now` fixes strftime_now (tests).
  RenderResult render(const nlohmann::json& context, std::optional<std::time_t> now = std::nullopt) const;

 private:
  std::string label_;
  std::vector<std::unique_ptr<jinja::Node>> body_;
};

}  // namespace automodel::tokenizer
