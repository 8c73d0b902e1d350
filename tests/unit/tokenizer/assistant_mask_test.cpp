// Assistant masks on every real chat template: on multi-turn conversations with system and tool
// messages, the supervised tokens are exactly each assistant content plus its end-of-turn token.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/tokenizer/assistant_mask.h"
#include "test_util.h"
#include "tokenizer_fixtures.h"

namespace automodel::tokenizer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using automodel::testing::fixtures_dir;
using automodel::testing::read_fixture;

const Tokenizer& qwen3_tokenizer() { return automodel::testing::fixture_tokenizer("qwen3"); }

// The tokenizer's special tokens plus the templates' own end-of-turn markers, so that any
// template's markers count as special for this test.
const Tokenizer& mask_tokenizer() {
  static const Tokenizer tok = [] {
    auto spec = json::parse(read_fixture(fixtures_dir() / "tokenizers" / "qwen3" / "tokenizer.json.gz"));
    int32_t next = 200000;
    for (const char* marker : {"<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "</s>", "<s>", "<end_of_turn>",
                               "<start_of_turn>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end_of_text|>",
                               "<|start_of_role|>", "<|end_of_role|>", "<｜end▁of▁sentence｜>", "<｜Assistant｜>", "<｜User｜>",
                               "<seed:eos>", "<seed:bos>", "[INST]", "[/INST]", "<|im_end|>", "<|im_start|>", "<|return|>",
                               "<|end_of_turn|>", "<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>", "<|CHATBOT_TOKEN|>",
                               "<|USER_TOKEN|>", "<|SYSTEM_TOKEN|>", "<|eom_id|>", "<|im_middle|>", "<|im_assistant|>",
                               "<|im_user|>", "<|im_system|>", "<|start|>", "<|channel|>", "<|message|>", "<|call|>"}) {
      bool present = false;
      for (const auto& a : spec["added_tokens"]) present |= a["content"] == marker;
      if (!present) spec["added_tokens"].push_back({{"id", next++}, {"content", marker}, {"special", true}});
    }
    return Tokenizer::from_json(spec, "qwen3+markers");
  }();
  return tok;
}

json conversation_with_system() {
  return json::parse(R"({"messages": [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "2+2 equals 4."},
    {"role": "user", "content": "And 3+3?"},
    {"role": "assistant", "content": "It is 6."}],
    "add_generation_prompt": false, "bos_token": "<s>", "eos_token": "</s>"})");
}

json conversation_with_tool() {
  return json::parse(R"({"messages": [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "Let me check.", "tool_calls": [{"type": "function",
      "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "content": "Result: 18 degrees"},
    {"role": "assistant", "content": "It is 18C and sunny in Paris."}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "add_generation_prompt": false, "bos_token": "<s>", "eos_token": "</s>"})");
}

// Checks one masked render: each span's text is the assistant content (as rendered) followed
// only by whitespace/tool-call markup and one end-of-turn token; nothing else is supervised.
void expect_exact_assistant_masks(const MaskedConversation& m, const json& context, const Tokenizer& tok, const std::string& name) {
  auto offsets = tok.offsets(m.text, m.ids);
  size_t supervised_total = 0;
  for (auto s : m.supervised) supervised_total += s;
  size_t in_spans = 0;
  for (const auto& span : m.spans) {
    in_spans += span.tokens.second - span.tokens.first;
    for (size_t t = span.tokens.first; t < span.tokens.second; ++t) EXPECT_EQ(m.supervised[t], 1) << name;
    std::string covered = m.text.substr(offsets[span.tokens.first].first,
                                        offsets[span.tokens.second - 1].second - offsets[span.tokens.first].first);
    std::string content = context["messages"][span.message_index]["content"];
    auto trimmed = content.substr(content.find_first_not_of(' '));
    // Templates may drop the content of a tool-call turn (they render the call instead).
    if (m.text.find(trimmed.substr(0, 8)) != std::string::npos)
      EXPECT_NE(covered.find(trimmed.substr(0, 8)), std::string::npos) << name << ": span '" << covered << "' lacks '" << content << "'";
    for (const char* other : {"Weather in Paris?", "Result: 18 degrees", "What is 2+2?", "And 3+3?", "You are terse."})
      EXPECT_EQ(covered.find(other), std::string::npos) << name << ": span covers another message: " << covered;
    // The token before the span (the header) is not supervised.
    if (span.tokens.first > 0) EXPECT_EQ(m.supervised[span.tokens.first - 1], 0) << name;
  }
  EXPECT_EQ(supervised_total, in_spans) << name << ": tokens supervised outside assistant turns";
  for (const auto& msg : context["messages"]) {
    if (msg["role"] == "assistant") continue;
    std::string c = msg["content"];
    size_t at = m.text.find(c);
    if (at == std::string::npos) continue;
    for (size_t t = 0; t < m.ids.size(); ++t)
      if (m.supervised[t] && offsets[t].first >= at && offsets[t].first < at + c.size())
        ADD_FAILURE() << name << ": token of a " << msg["role"] << " message is supervised";
  }
}

TEST(AssistantMask, ChatMlSupervisesExactlyContentAndImEnd) {
  ChatTemplate tmpl(read_file(fixtures_dir() / "chat_templates" / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"));
  auto ctx = conversation_with_system();
  auto m = render_with_assistant_masks(tmpl, qwen3_tokenizer(), ctx);
  ASSERT_EQ(m.spans.size(), 2u);
  std::vector<std::string> supervised_text;
  for (const auto& span : m.spans) {
    std::vector<int32_t> ids(m.ids.begin() + static_cast<long>(span.tokens.first), m.ids.begin() + static_cast<long>(span.tokens.second));
    supervised_text.push_back(qwen3_tokenizer().decode(ids));
  }
  EXPECT_EQ(supervised_text[0], "2+2 equals 4.<|im_end|>");
  EXPECT_EQ(supervised_text[1], "It is 6.<|im_end|>");
}

TEST(AssistantMask, GenerationBlocksDefineTheSpans) {
  ChatTemplate tmpl("{% for m in messages %}<|im_start|>{{ m.role }}\n{% if m.role == 'assistant' %}{% generation %}"
                    "{{ m.content }}<|im_end|>{% endgeneration %}{% else %}{{ m.content }}<|im_end|>{% endif %}\n{% endfor %}");
  auto m = render_with_assistant_masks(tmpl, qwen3_tokenizer(), conversation_with_system());
  ASSERT_EQ(m.spans.size(), 2u);
  EXPECT_EQ(m.text.substr(m.spans[1].chars.first, m.spans[1].chars.second - m.spans[1].chars.first), "It is 6.<|im_end|>");
}

TEST(AssistantMask, EmptyAssistantContentStillSupervisesItsEndOfTurn) {
  ChatTemplate tmpl(read_file(fixtures_dir() / "chat_templates" / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"));
  auto ctx = conversation_with_system();
  ctx["messages"][2]["content"] = "";
  auto m = render_with_assistant_masks(tmpl, qwen3_tokenizer(), ctx);
  ASSERT_EQ(m.spans.size(), 2u);
  EXPECT_EQ(m.spans[0].tokens.second - m.spans[0].tokens.first, 1u);
  EXPECT_EQ(qwen3_tokenizer().decode({m.ids[m.spans[0].tokens.first]}), "<|im_end|>");
}

TEST(AssistantMask, TemplateThatDropsAnAssistantTurnIsAClearError) {
  // Renders assistant turns only when they are last: earlier ones cannot be located.
  ChatTemplate tmpl("{% for m in messages %}{% if m.role != 'assistant' or loop.last %}{{ m.role }}: {{ m.content }}\n"
                    "{% endif %}{% endfor %}");
  try {
    render_with_assistant_masks(tmpl, qwen3_tokenizer(), conversation_with_system());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("assistant message 2"), std::string::npos) << e.what();
  }
}

std::vector<std::string> template_files() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(fixtures_dir() / "chat_templates" / "templates")) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class AssistantMaskAllTemplates : public ::testing::TestWithParam<std::string> {};

TEST_P(AssistantMaskAllTemplates, SupervisesOnlyAssistantContentAndEndOfTurn) {
  ChatTemplate tmpl(read_file(fixtures_dir() / "chat_templates" / "templates" / GetParam()), GetParam());
  int rendered = 0;
  json plain = conversation_with_system();
  plain["messages"].erase(plain["messages"].begin());  // for templates without a system role
  for (const auto& ctx : {conversation_with_system(), conversation_with_tool(), plain}) {
    try {
      tmpl.render(ctx);
    } catch (const Error&) {
      continue;  // this template rejects this conversation shape (e.g. no system role, tools required)
    }
    auto m = render_with_assistant_masks(tmpl, mask_tokenizer(), ctx);
    EXPECT_EQ(m.spans.size(), 2u);
    expect_exact_assistant_masks(m, ctx, mask_tokenizer(), GetParam());
    ++rendered;
  }
  if (rendered == 0) GTEST_SKIP() << "template rejects both test conversations";
}

INSTANTIATE_TEST_SUITE_P(Templates, AssistantMaskAllTemplates, ::testing::ValuesIn(template_files()), [](const auto& info) { return automodel::testing::param_name(info.param); });

}  // namespace
}  // namespace automodel::tokenizer
