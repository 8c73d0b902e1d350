// Live comparison with Python jinja2 (Debian python3-jinja2, configured as transformers does;
// skipped when not installed): every real template on 40 random conversations (system or not,
// multi-turn, tools and tool calls, odd whitespace and Unicode, with and without a generation
// prompt) renders byte-identically, and raises where jinja2 raises.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/tokenizer/chat_template.h"
#include "test_util.h"

namespace automodel::tokenizer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using automodel::testing::fixtures_dir;
using automodel::testing::TempDir;

constexpr std::time_t kNow = 1721995200;

json random_conversation(std::mt19937& rng) {
  const std::vector<std::string> texts = {"Hello!", "  leading and trailing  ", "Line one\nLine two\n\n", "Ünïcödé ✓ 日本語 🙂",
                                          "x", "<b>markup</b> & \"quotes\" 'single'", "What is 2+2?", "\tTabbed\t", "42"};
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  json messages = json::array();
  if (rng() % 2) messages.push_back({{"role", "system"}, {"content", pick(texts)}});
  int turns = 1 + static_cast<int>(rng() % 3);
  bool tools = rng() % 3 == 0;
  for (int t = 0; t < turns; ++t) {
    messages.push_back({{"role", "user"}, {"content", pick(texts)}});
    bool last = t + 1 == turns;
    if (last && rng() % 2) break;  // end on a user turn
    json assistant = {{"role", "assistant"}, {"content", pick(texts)}};
    if (tools && t == 0) {
      assistant["tool_calls"] = json::array({{{"type", "function"}, {"id", "call_1"},
                                              {"function", {{"name", "lookup"}, {"arguments", {{"q", pick(texts)}}}}}}});
      messages.push_back(assistant);
      messages.push_back({{"role", "tool"}, {"content", pick(texts)}, {"tool_call_id", "call_1"}, {"name", "lookup"}});
      messages.push_back({{"role", "assistant"}, {"content", pick(texts)}});
    } else {
      messages.push_back(assistant);
    }
  }
  json ctx = {{"messages", messages}, {"add_generation_prompt", rng() % 2 == 0}, {"bos_token", "<s>"}, {"eos_token", "</s>"}};
  if (tools)
    ctx["tools"] = json::array({{{"type", "function"},
                                 {"function", {{"name", "lookup"}, {"description", "Look something up"},
                                               {"parameters", {{"type", "object"}, {"properties", {{"q", {{"type", "string"}}}}},
                                                               {"required", {"q"}}}}}}}});
  return ctx;
}

TEST(ChatTemplateLiveOracle, RandomConversationsRenderLikePythonJinja2) {
  if (automodel::testing::run_command("/usr/bin/python3 -c 'import jinja2'").exit_code != 0)
    GTEST_SKIP() << "python3-jinja2 not installed";
  std::mt19937 rng(99);
  std::vector<std::string> names;
  json cases = json::array();
  for (const auto& e : fs::directory_iterator(fixtures_dir() / "chat_templates" / "templates")) names.push_back(e.path().string());
  std::sort(names.begin(), names.end());
  std::vector<std::pair<std::string, json>> inputs;
  for (const auto& name : names) {
    std::string src = read_file(name);
    for (int k = 0; k < 40; ++k) {
      json ctx = random_conversation(rng);
      cases.push_back({{"template", src}, {"context", ctx}, {"now", kNow}});
      inputs.emplace_back(name, ctx);
    }
  }
  TempDir tmp;
  write_file_atomic(tmp / "in.json", cases.dump());
  auto r = automodel::testing::run_command("/usr/bin/python3 " +
                                           (automodel::testing::source_dir() / "tests" / "oracles" / "render_jinja2.py").string() +
                                           " " + (tmp / "in.json").string() + " " + (tmp / "out.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto expected = json::parse(read_file(tmp / "out.json"));
  ASSERT_EQ(expected.size(), inputs.size());
  size_t mismatches = 0, errors_both = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& [name, ctx] = inputs[i];
    std::string got;
    bool raised = false;
    try {
      got = ChatTemplate(read_file(name), name).render(ctx, kNow).text;
    } catch (const Error& e) {
      raised = true;
      got = e.what();
    }
    bool ok;
    if (expected[i].contains("error")) {
      ok = raised;
      errors_both += ok;
    } else {
      ok = !raised && got == expected[i]["text"].get<std::string>();
    }
    if (!ok && ++mismatches <= 12)
      ADD_FAILURE() << fs::path(name).filename().string() << " case " << i << "\ncontext: " << ctx.dump() << "\njinja2: "
                    << expected[i].dump() << "\nours: " << got;
  }
  EXPECT_EQ(mismatches, 0u) << mismatches << " of " << inputs.size() << " renders differ (" << errors_both << " raise in both)";
}

}  // namespace
}  // namespace automodel::tokenizer
