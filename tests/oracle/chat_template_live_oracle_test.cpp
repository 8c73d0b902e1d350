// Live comparison of our chat templates with Python, in the project's Python:
//  - jinja2 configured exactly as transformers' apply_chat_template configures it
//    (tests/oracles/render_jinja2.py): every real template on 40 random conversations (system or
//    not, multi-turn, tools and tool calls, odd whitespace and Unicode, with and without a
//    generation prompt) renders byte-identically, raises where jinja2 raises, and places
//    {% generation %} spans where jinja2 places them;
//  - transformers' own tokenizer.apply_chat_template (tests/oracles/hf_apply_chat_template.py)
//    on the real tokenizer folders and templates: same text, and for templates with
//    {% generation %} blocks the same ids and assistant masks (return_assistant_tokens_mask).
// One Python process per test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/tokenizer/assistant_mask.h"
#include "automodel/tokenizer/chat_template.h"
#include "automodel/tokenizer/tokenizer_config.h"
#include "automodel/tokenizer/unicode.h"
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

std::vector<fs::path> template_files() {
  std::vector<fs::path> names;
  for (const auto& e : fs::directory_iterator(fixtures_dir() / "chat_templates" / "templates")) names.push_back(e.path());
  std::sort(names.begin(), names.end());
  return names;
}

bool has_generation_blocks(const std::string& source) {
  static const std::regex tag(R"(\{%-?\s*generation\s*-?%\})");
  return std::regex_search(source, tag);
}

// Runs `script` (tests/oracles) on `input`, returns its JSON output.
json run_oracle(const std::string& script, const json& input, const TempDir& tmp) {
  write_file_atomic(tmp / "in.json", input.dump());
  auto r = automodel::testing::run_command("'" + automodel::testing::python() + "' " +
                                           automodel::testing::oracle_script(script).string() + " " +
                                           (tmp / "in.json").string() + " " + (tmp / "out.json").string());
  if (r.exit_code != 0) throw std::runtime_error(script + " failed: " + r.output);
  return json::parse(read_file(tmp / "out.json"));
}

// Byte offset in `text` of code point `index` (Python str offsets -> our byte offsets).
size_t byte_offset(const std::string& text, size_t index) {
  size_t bytes = 0;
  for (char32_t cp : decode_utf8(text)) {
    if (index-- == 0) break;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
}

TEST(ChatTemplateLiveOracle, RandomConversationsRenderLikePythonJinja2) {
  AUTOMODEL_REQUIRE_ORACLE("jinja2");
  std::mt19937 rng(99);
  json cases = json::array();
  std::vector<std::pair<fs::path, json>> inputs;
  for (const auto& name : template_files()) {
    std::string src = read_file(name);
    for (int k = 0; k < 40; ++k) {
      json ctx = random_conversation(rng);
      cases.push_back({{"template", src}, {"context", ctx}, {"now", kNow}});
      inputs.emplace_back(name, ctx);
    }
  }
  TempDir tmp;
  auto expected = run_oracle("render_jinja2.py", cases, tmp);
  ASSERT_EQ(expected.size(), inputs.size());
  size_t mismatches = 0, errors_both = 0, with_generation = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& [name, ctx] = inputs[i];
    RenderResult got;
    bool raised = false;
    try {
      got = ChatTemplate(read_file(name), name.string()).render(ctx, kNow);
    } catch (const Error& e) {
      raised = true;
      got.text = e.what();
    }
    bool ok;
    if (expected[i].contains("error")) {
      ok = raised;
      errors_both += ok;
    } else {
      const std::string& text = expected[i]["text"].get_ref<const std::string&>();
      std::vector<std::pair<size_t, size_t>> spans;
      for (const auto& s : expected[i]["generation"])
        spans.emplace_back(byte_offset(text, s[0].get<size_t>()), byte_offset(text, s[1].get<size_t>()));
      with_generation += !spans.empty();
      ok = !raised && got.text == text && got.generation_spans == spans;
    }
    if (!ok && ++mismatches <= 12)
      ADD_FAILURE() << name.filename().string() << " case " << i << "\ncontext: " << ctx.dump() << "\njinja2: "
                    << expected[i].dump() << "\nours: " << got.text << "\nour generation spans: " << json(got.generation_spans).dump();
  }
  EXPECT_EQ(mismatches, 0u) << mismatches << " of " << inputs.size() << " renders differ (" << errors_both << " raise in both)";
  EXPECT_GT(with_generation, 0u) << "no case exercised {% generation %} spans";
}

// --- transformers' apply_chat_template ---------------------------------------------------------

// A tokenizer fixture as a plain folder that both transformers and load_tokenizer read.
fs::path materialize_folder(const std::string& name, const fs::path& root) {
  auto src = fixtures_dir() / "tokenizers" / name;
  auto dst = root / name;
  if (fs::exists(dst)) return dst;
  fs::create_directories(dst);
  write_file_atomic(dst / "tokenizer.json", automodel::testing::read_fixture(fs::exists(src / "tokenizer.json")
                                                                                 ? src / "tokenizer.json"
                                                                                 : src / "tokenizer.json.gz"));
  if (fs::exists(src / "tokenizer_config.json")) fs::copy_file(src / "tokenizer_config.json", dst / "tokenizer_config.json");
  return dst;
}

// The tokenizer a template file is rendered with: its model family's where we have it.
std::string tokenizer_for(const std::string& template_name) {
  std::string n = template_name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n.find("phi-3") != std::string::npos) return "phi3_mini";
  if (n.find("mistral") != std::string::npos || n.find("devstral") != std::string::npos) return "mistral7b_v0.1";
  if (n.find("llama") != std::string::npos && n.find("qwen") == std::string::npos) return "llama3_1";
  if (n.find("smollm") != std::string::npos) return "smollm2_135m_instruct";
  return "qwen3";
}

// The variables transformers passes to the template, built by the product's own function (the
// oracle builds its own from messages, tools and add_generation_prompt).
json transformers_context(const json& random, const TokenizerConfig& config) {
  return chat_template_context(config, random["messages"], random.contains("tools") ? random["tools"] : json(nullptr),
                               random["add_generation_prompt"].get<bool>());
}

json oracle_case(const fs::path& folder, const json& tmpl, const json& ctx, bool masks, std::time_t now) {
  return {{"folder", folder.string()},           {"template", tmpl},
          {"messages", ctx["messages"]},         {"tools", ctx["tools"]},
          {"add_generation_prompt", ctx["add_generation_prompt"]}, {"masks", masks}, {"now", now}};
}

TEST(ChatTemplateLiveOracle, ApplyChatTemplateRendersLikeTransformers) {
  AUTOMODEL_REQUIRE_ORACLE("jinja2 tokenizers transformers");
  TempDir tmp;
  struct Input {
    std::string label, source, tokenizer;
    json context;
  };
  std::map<std::string, LoadedTokenizer> tokenizers;
  auto loaded = [&](const std::string& name) -> const LoadedTokenizer& {
    if (!tokenizers.count(name)) tokenizers.emplace(name, load_tokenizer(materialize_folder(name, tmp.path())));
    return tokenizers.at(name);
  };
  std::mt19937 rng(7);
  json cases = json::array();
  std::vector<Input> inputs;
  // The tokenizer folders' own templates (template: null -> transformers picks it from tokenizer_config.json).
  for (const std::string name : {"llama3", "llama3_1", "phi3_mini", "qwen3"}) {
    const auto& tok = loaded(name);
    for (int k = 0; k < 12; ++k) {
      auto ctx = transformers_context(random_conversation(rng), tok.config);
      cases.push_back(oracle_case(tmp / name, nullptr, ctx, false, kNow));
      inputs.push_back({name + " (tokenizer_config.json)", tok.chat_template(), name, ctx});
    }
  }
  // Every template file, with a tokenizer of its family.
  for (const auto& file : template_files()) {
    std::string name = tokenizer_for(file.filename().string()), src = read_file(file);
    const auto& tok = loaded(name);
    for (int k = 0; k < 12; ++k) {
      auto ctx = transformers_context(random_conversation(rng), tok.config);
      cases.push_back(oracle_case(tmp / name, src, ctx, false, kNow));
      inputs.push_back({file.filename().string() + " with " + name, src, name, ctx});
    }
  }
  auto expected = run_oracle("hf_apply_chat_template.py", cases, tmp);
  ASSERT_EQ(expected.size(), inputs.size());
  size_t mismatches = 0, errors_both = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& in = inputs[i];
    std::string got;
    bool raised = false;
    try {
      got = ChatTemplate(in.source, in.label).render(in.context, kNow).text;
    } catch (const Error& e) {
      raised = true;
      got = e.what();
    }
    bool ok = expected[i].contains("error") ? raised : !raised && got == expected[i]["text"].get<std::string>();
    errors_both += ok && raised;
    if (!ok && ++mismatches <= 12)
      ADD_FAILURE() << in.label << " case " << i << "\ncontext: " << in.context.dump() << "\ntransformers: " << expected[i].dump()
                    << "\nours: " << got;
  }
  EXPECT_EQ(mismatches, 0u) << mismatches << " of " << inputs.size() << " renders differ (" << errors_both << " raise in both)";
  EXPECT_LT(errors_both, inputs.size() / 2) << "most cases raise: the comparison would say little";
}

// Local calendar day of `t` (strftime_now formats dates; the masks path renders with the clock).
int day_of(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm.tm_year * 400 + tm.tm_yday;
}

TEST(ChatTemplateLiveOracle, GenerationBlocksGiveTransformersAssistantMasks) {
  AUTOMODEL_REQUIRE_ORACLE("jinja2 tokenizers transformers");
  TempDir tmp;
  std::vector<fs::path> generation_templates;
  for (const auto& file : template_files())
    if (has_generation_blocks(read_file(file))) generation_templates.push_back(file);
  ASSERT_FALSE(generation_templates.empty()) << "no fixture template has {% generation %} blocks";
  std::mt19937 rng(11);
  struct Input {
    std::string label;
    json context;
    MaskedConversation ours;
    std::string error;
  };
  std::vector<Input> inputs;
  json cases = json::array();
  // render_with_assistant_masks renders with the real clock: ask transformers for the same day.
  std::time_t now = std::time(nullptr);
  for (const std::string name : {"qwen3", "llama3_1", "smollm2_135m_instruct"}) {
    auto folder = materialize_folder(name, tmp.path());
    auto tok = load_tokenizer(folder);
    for (const auto& file : generation_templates) {
      std::string src = read_file(file);
      ChatTemplate tmpl(src, file.filename().string());
      for (int k = 0; k < 20; ++k) {
        auto ctx = transformers_context(random_conversation(rng), tok.config);
        Input in{file.filename().string() + " with " + name, ctx, {}, {}};
        try {
          in.ours = render_with_assistant_masks(tmpl, tok.tokenizer, ctx);
        } catch (const Error& e) {
          in.error = e.what();
        }
        inputs.push_back(std::move(in));
        cases.push_back(oracle_case(folder, src, ctx, true, now));
      }
    }
  }
  if (day_of(std::time(nullptr)) != day_of(now)) GTEST_SKIP() << "the local date changed while rendering; run again";
  auto expected = run_oracle("hf_apply_chat_template.py", cases, tmp);
  ASSERT_EQ(expected.size(), inputs.size());
  size_t mismatches = 0, supervised = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& in = inputs[i];
    const auto& want = expected[i];
    bool ok;
    if (want.contains("error")) {
      ok = !in.error.empty();
    } else {
      std::vector<uint8_t> mask;
      for (const auto& m : want["assistant_masks"]) mask.push_back(static_cast<uint8_t>(m.get<int>()));
      ok = in.error.empty() && in.ours.text == want["text"].get<std::string>() &&
           in.ours.ids == want["input_ids"].get<std::vector<int32_t>>() && in.ours.supervised == mask;
      for (auto m : mask) supervised += m;
    }
    if (!ok && ++mismatches <= 8)
      ADD_FAILURE() << in.label << " case " << i << "\ncontext: " << in.context.dump() << "\ntransformers: " << want.dump()
                    << "\nours: " << (in.error.empty() ? json({{"text", in.ours.text}, {"input_ids", in.ours.ids},
                                                              {"assistant_masks", in.ours.supervised}})
                                                           .dump()
                                                     : in.error);
  }
  EXPECT_EQ(mismatches, 0u) << mismatches << " of " << inputs.size() << " conversations differ";
  EXPECT_GT(supervised, 0u) << "transformers marked no assistant token: the comparison would say little";
}

}  // namespace
}  // namespace automodel::tokenizer
