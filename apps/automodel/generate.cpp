// `automodel generate`: continue a prompt (text, a chat rendered with the folder's template, or
// token ids) with a KV cache; greedy or sampling; stops at EOS. Streams text as it decodes.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>

#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/json_fields.h"
#include <nlohmann/json.hpp>
#include "automodel/hf/model_config.h"
#include "automodel/hf/model_source.h"
#include "automodel/common/atomic_file.h"
#include "automodel/data/formats.h"
#include "automodel/data/vlm_dataset.h"
#include "automodel/models/vision/image_inputs.h"
#include "automodel/tokenizer/chat_template.h"
#include "automodel/vision/image.h"
#include "automodel/tokenizer/tokenizer_config.h"
#include "automodel/models/common/generation.h"
#include "automodel/models/registry.h"
#include "automodel/peft/lora.h"
#include "commands.h"

namespace automodel::cli {
namespace {

struct GenerateArgs {
  std::string model, adapter, prompt, chat, prompt_ids, dtype = "fp32", device = "cpu";
  std::vector<std::string> images;  // a VLM's images, in the order of the prompt's image items
  models::SamplingOptions sampling;
};

std::vector<int64_t> parse_ids(const std::string& text) {
  std::vector<int64_t> ids;
  for (const auto& part : split(text, ',')) {
    try {
      ids.push_back(std::stoll(part));
    } catch (const std::exception&) {
      AM_FAIL("[generate] --prompt-ids: '{}' is not an integer token id", part);
    }
  }
  return ids;
}

// A VLM prompt: the images preprocessed by the folder's processor, the conversation (--prompt
// after the images in one user turn, or --chat with image items) rendered by its chat template and
// each image item expanded to its tokens, as transformers' processor does.
std::vector<int64_t> image_prompt(const GenerateArgs& args, const std::filesystem::path& folder,
                                  const tokenizer::LoadedTokenizer& tok, std::vector<vision::PixelValues>& pixels) {
  const auto config = hf::load_model_config(folder);
  const auto processor = vision::read_vlm_processor(folder, *config.json, config.label);
  for (const auto& path : args.images) pixels.push_back(vision::preprocess(processor.image, vision::read_image(path)));
  nlohmann::json messages;
  if (!args.chat.empty()) {
    messages = parse_json_or_discarded(read_file(args.chat), "--chat " + args.chat);
    AM_CHECK(messages.is_array(), "[generate] --chat {}: expected a JSON list of messages", args.chat);
  } else {
    auto content = nlohmann::json::array();
    for (size_t i = 0; i < args.images.size(); ++i) content.push_back({{"type", "image"}});
    content.push_back({{"type", "text"}, {"text", args.prompt}});
    messages = nlohmann::json::array({{{"role", "user"}, {"content", content}}});
  }
  const auto source = data::vlm_chat_template(processor, tok);
  AM_CHECK(!source.empty(), "[generate] {}: neither the processor nor the tokenizer has a chat template", folder.string());
  auto context = tokenizer::chat_template_context(tok.config, messages, nlohmann::json(), true);
  std::vector<const vision::PixelValues*> images;
  for (const auto& p : pixels) images.push_back(&p);
  auto text = processor.expand_text(tokenizer::ChatTemplate(source, "chat_template").render(context).text, images);
  auto ids = tok.tokenizer.encode(text, false);
  const auto image_token = tok.tokenizer.token_to_id(processor.image_token);
  AM_CHECK(image_token, "[generate] {}: the image token '{}' is not in the tokenizer", folder.string(), processor.image_token);
  try {
    data::expand_image_tokens(ids, nullptr, *image_token, images, processor);
  } catch (const data::InvalidSample& e) {
    AM_FAIL("[generate] --image: {}", e.what());
  }
  return {ids.begin(), ids.end()};
}

int run_generate(GenerateArgs args) {
  int given = !args.prompt.empty() + !args.chat.empty() + !args.prompt_ids.empty();
  AM_CHECK(given == 1, "[generate] give exactly one of --prompt, --chat or --prompt-ids");
  models::check_sampling_options(args.sampling);  // before a model is loaded
  auto folder = hf::resolve_model_folder(args.model);
  std::optional<tokenizer::LoadedTokenizer> tok;
  std::vector<int64_t> prompt;
  std::vector<vision::PixelValues> pixels;
  AM_CHECK(args.images.empty() || args.prompt_ids.empty(), "[generate] --image needs --prompt or --chat");
  if (!args.prompt_ids.empty()) {
    prompt = parse_ids(args.prompt_ids);
  } else if (!args.images.empty()) {
    tok = tokenizer::load_tokenizer(folder);
    prompt = image_prompt(args, folder, *tok, pixels);
    if (tok->eos_id && args.sampling.eos_token_ids.empty()) args.sampling.eos_token_ids.push_back(*tok->eos_id);
  } else {
    tok = tokenizer::load_tokenizer(folder);
    std::string text = args.prompt;
    bool add_special = true;
    if (!args.chat.empty()) {
      nlohmann::json conversation = parse_json_or_discarded(read_file(args.chat), "--chat " + args.chat);
      AM_CHECK(!conversation.is_discarded(), "[generate] --chat {}: not valid JSON", args.chat);
      nlohmann::json context = conversation.is_array() ? nlohmann::json{{"messages", conversation}} : conversation;
      context["add_generation_prompt"] = true;
      if (tok->config.bos_token) context["bos_token"] = *tok->config.bos_token;
      if (tok->config.eos_token) context["eos_token"] = *tok->config.eos_token;
      text = tokenizer::ChatTemplate(tok->chat_template(), "chat_template").render(context).text;
      add_special = false;  // the template writes BOS itself, as apply_chat_template assumes
    }
    for (int32_t id : tok->tokenizer.encode(text, add_special)) prompt.push_back(id);
    if (tok->eos_id && args.sampling.eos_token_ids.empty()) args.sampling.eos_token_ids.push_back(*tok->eos_id);
  }
  models::LoadOptions load{parse_compute_dtype(args.dtype), parse_device(args.device), /*read_only_weights=*/true};
  load.vision = !args.images.empty();
  auto model = models::load_pretrained(folder.string(), load);
  if (!args.adapter.empty()) peft::load_adapter(*model, args.adapter);
  for (auto id : prompt)
    AM_CHECK(id >= 0 && id < model->vocab_size(), "[generate] --prompt-ids: id {} is outside the vocabulary [0, {})", id,
             model->vocab_size());
  if (args.sampling.eos_token_ids.empty()) {
    auto fields = model->config().fields();
    if (fields.has("eos_token_id")) {
      const auto& eos = fields.raw("eos_token_id");
      if (eos.is_number_integer()) args.sampling.eos_token_ids.push_back(eos.get<int64_t>());
      if (eos.is_array())
        for (const auto& e : eos) args.sampling.eos_token_ids.push_back(e.get<int64_t>());
    }
  }
  models::ModelInputs images;
  std::vector<const vision::PixelValues*> image_ptrs;
  for (const auto& p : pixels) image_ptrs.push_back(&p);
  models::put_images(image_ptrs, load.device, images);
  if (!tok) {
    auto ids = models::generate(*model, prompt, args.sampling);
    std::vector<std::string> parts;
    for (auto id : ids) parts.push_back(std::to_string(id));
    fmt::print("[{}]\n", join(parts, ", "));
    return 0;
  }
  // Stream: print the decoded suffix as it grows (decoding whole prefixes keeps multi-byte
  // characters and leading-space rules right).
  if (!args.prompt.empty() && args.images.empty()) fmt::print("{}", args.prompt);  // the continuation follows it
  std::vector<int32_t> generated;
  std::string printed;
  models::generate(*model, prompt, args.sampling, [&](int64_t id) {
    generated.push_back(static_cast<int32_t>(id));
    std::string text = tok->tokenizer.decode(generated, /*skip_special_tokens=*/true);
    if (text.size() > printed.size() && text.compare(0, printed.size(), printed) == 0) {
      fmt::print("{}", text.substr(printed.size()));
      std::fflush(stdout);
      printed = text;
    }
  }, images);
  fmt::print("\n");
  return 0;
}

}  // namespace

void add_generate(CLI::App& app, Runner& run) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Generate a continuation with a KV cache");
  cmd->add_option("--model", args->model, "HF model folder or cached hub id")->required();
  cmd->add_option("--adapter", args->adapter, "PEFT LoRA adapter folder applied on top of --model");
  cmd->add_option("--prompt", args->prompt, "prompt text (tokenized with the folder's tokenizer)");
  cmd->add_option("--chat", args->chat, "JSON conversation rendered with the folder's chat template");
  cmd->add_option("--prompt-ids", args->prompt_ids, "comma-separated prompt token ids (prints ids)");
  cmd->add_option("--image", args->images, "an image for a VLM (repeatable): with --prompt, a user turn of the images "
                  "then the text; with --chat, the conversation's image items in order");
  cmd->add_option("--max-new-tokens", args->sampling.max_new_tokens)->capture_default_str();
  cmd->add_option("--temperature", args->sampling.temperature, "0 = greedy")->capture_default_str();
  cmd->add_option("--top-p", args->sampling.top_p)->capture_default_str();
  cmd->add_option("--top-k", args->sampling.top_k)->capture_default_str();
  cmd->add_option("--seed", args->sampling.seed)->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "fp32 | bf16 | fp16")->capture_default_str();
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->callback([args, &run] { run = [args] { return run_generate(*args); }; });
}

}  // namespace automodel::cli
