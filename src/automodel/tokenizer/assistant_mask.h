// Assistant-only loss masks for any chat template: which tokens of a rendered conversation are
// assistant content (and its end-of-turn token). Uses {% generation %} spans when the template
// has them; otherwise renders again with a sentinel in place of each assistant content and
// aligns the two renders, so templates need no special markup.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "automodel/tokenizer/chat_template.h"
#include "automodel/tokenizer/tokenizer.h"

namespace automodel::tokenizer {

struct AssistantSpan {
  size_t message_index;                   // index in context["messages"]
  std::pair<size_t, size_t> chars;        // byte range in `text`
  std::pair<size_t, size_t> tokens;       // [first, end) token indices supervised
};

struct MaskedConversation {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<uint8_t> supervised;  // 1 = assistant token (in the loss)
  std::vector<AssistantSpan> spans;
};

// Which tokens of an assistant turn are supervised when the template has no {% generation %}
// blocks (with them, the blocks decide).
enum class AssistantMaskRule {
  // The assistant content and its end-of-turn token.
  kContentAndEndOfTurn,
  // NeMo AutoModel's rule: every token the turn adds to the render (role header, content,
  // end-of-turn and what follows it up to the next message): from the tokens of
  // render(messages[:k]) to those of render(messages[:k + 1]). Falls back to the content rule
  // for templates whose prefix renders are not prefixes of the whole (they rewrite history).
  kWholeTurn,
};

// Renders `context` (messages, tools, ...) and computes the mask. Errors (one line, naming the
// message) when an assistant turn cannot be located or would have no supervised token.
MaskedConversation render_with_assistant_masks(const ChatTemplate& chat_template, const Tokenizer& tokenizer,
                                               const nlohmann::json& context,
                                               AssistantMaskRule rule = AssistantMaskRule::kContentAndEndOfTurn);

}  // namespace automodel::tokenizer
