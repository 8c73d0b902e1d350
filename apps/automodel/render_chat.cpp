// `automodel render-chat DIR --conversation FILE.json`: the exact text a model folder's chat
// template renders for a conversation, and with --masks the supervised (assistant) spans.
// Rendering reads only tokenizer_config.json (+ chat_template.jinja); --masks also tokenizes.
#include <CLI/CLI.hpp>

#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/hf/model_source.h"
#include "automodel/tokenizer/assistant_mask.h"
#include "automodel/tokenizer/tokenizer_config.h"
#include "commands.h"

namespace automodel::cli {
namespace {

struct RenderChatArgs {
  std::string model, conversation, tools, template_name, template_file;
  bool add_generation_prompt = false, masks = false;
  std::string mask_rule = "whole-turn";
};

nlohmann::json read_json(const std::string& path, const char* flag) {
  return parse_json(read_file(path), fmt::format("{} {}", flag, path));
}

int run_render_chat(const RenderChatArgs& args) {
  const auto folder = hf::resolve_model_folder(args.model);
  // The vocabulary is loaded only to tokenize (--masks): a folder with just the template renders.
  std::optional<tokenizer::LoadedTokenizer> loaded;
  if (args.masks) {
    AM_CHECK(tokenizer::tokenizer_vocabulary_file(folder),
             "[render-chat] {}: --masks tokenizes the rendered text and needs tokenizer.json or tokenizer.model, "
             "found neither (rendering without --masks needs only tokenizer_config.json)",
             folder.string());
    loaded = tokenizer::load_tokenizer(folder);
  }
  const auto config = loaded ? loaded->config : tokenizer::load_tokenizer_config(folder);
  AM_CHECK(!args.template_file.empty() || !config.chat_templates.empty(),
           "[render-chat] {}: no chat template; expected 'chat_template' in tokenizer_config.json or a "
           "chat_template.jinja file, found neither; pass --template-file",
           folder.string());
  std::string source = args.template_file.empty() ? config.chat_template(args.template_name) : read_file(args.template_file);
  tokenizer::ChatTemplate tmpl(source, args.template_file.empty() ? "chat_template" : args.template_file);

  // A conversation file is a list of messages or an object with "messages" (and extra variables).
  auto conversation = read_json(args.conversation, "--conversation");
  nlohmann::json given = conversation.is_array() ? nlohmann::json{{"messages", conversation}} : conversation;
  AM_CHECK(given.is_object() && given.contains("messages") && given["messages"].is_array(),
           "[render-chat] --conversation {}: expected a list of messages or {{\"messages\": [...]}}", args.conversation);
  auto context = tokenizer::chat_template_context(config, given["messages"],
                                                  args.tools.empty() ? nlohmann::json() : read_json(args.tools, "--tools"),
                                                  args.add_generation_prompt);
  for (const auto& [key, value] : given.items())  // the file's own variables win (but not over --tools / the flag)
    if (!(key == "tools" && !args.tools.empty()) && !(key == "add_generation_prompt" && args.add_generation_prompt))
      context[key] = value;

  if (!args.masks) {
    std::cout << tmpl.render(context).text;
    return 0;
  }
  AM_CHECK(args.mask_rule == "whole-turn" || args.mask_rule == "content", "[render-chat] --mask-rule: expected "
           "whole-turn or content, found '{}'", args.mask_rule);
  auto masked = tokenizer::render_with_assistant_masks(tmpl, loaded->tokenizer, context,
                                                       args.mask_rule == "content"
                                                           ? tokenizer::AssistantMaskRule::kContentAndEndOfTurn
                                                           : tokenizer::AssistantMaskRule::kWholeTurn);
  nlohmann::json spans = nlohmann::json::array();
  for (const auto& s : masked.spans) {
    spans.push_back({{"message", s.message_index},
                     {"chars", {s.chars.first, s.chars.second}},
                     {"tokens", {s.tokens.first, s.tokens.second}},
                     {"text", masked.text.substr(s.chars.first, s.chars.second - s.chars.first)}});
  }
  size_t supervised = 0;
  for (auto m : masked.supervised) supervised += m;
  nlohmann::json out = {{"text", masked.text}, {"num_tokens", masked.ids.size()}, {"supervised_tokens", supervised}, {"spans", spans}};
  std::cout << out.dump(2) << '\n';
  return 0;
}

}  // namespace

void add_render_chat(CLI::App& app, Runner& run) {
  auto args = std::make_shared<RenderChatArgs>();
  auto* cmd = app.add_subcommand("render-chat", "Render a conversation with a model folder's chat template");
  cmd->add_option("model", args->model, "HF model folder (or cached hub id) with tokenizer_config.json (--masks: also tokenizer.json)")->required();
  cmd->add_option("--conversation", args->conversation, "JSON: a list of messages or {\"messages\": [...], ...}")->required();
  cmd->add_option("--tools", args->tools, "JSON list of tool definitions");
  cmd->add_flag("--add-generation-prompt", args->add_generation_prompt, "end with the assistant prompt");
  cmd->add_flag("--masks", args->masks, "print the supervised assistant spans (characters and tokens) as JSON");
  cmd->add_option("--mask-rule", args->mask_rule,
                  "with --masks: whole-turn (what chat datasets train on, as AutoModel: header, content, end of "
                  "turn) or content (content and end-of-turn token only)");
  cmd->add_option("--template-name", args->template_name, "a named template from tokenizer_config.json");
  cmd->add_option("--template-file", args->template_file, "use this Jinja file instead of the folder's template");
  cmd->callback([args, &run] { run = [args] { return run_render_chat(*args); }; });
}

}  // namespace automodel::cli
