#include "automodel/vision/vlm_processor.h"

#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"

namespace automodel::vision {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const fs::path& path) {
  auto json = nlohmann::json::parse(read_file(path), nullptr, false);
  AM_CHECK(json.is_object(), "{}: not a JSON object", path.string());
  return json;
}

int64_t positive(const nlohmann::json& j, const char* key, int64_t fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  AM_CHECK(j[key].is_number_integer() && j[key].get<int64_t>() > 0, "{}: {}: expected a positive integer, found {}",
           where, key, j[key].dump());
  return j[key].get<int64_t>();
}

// The processor's own chat template, in the order transformers looks for it.
std::string processor_chat_template(const fs::path& dir, const nlohmann::json& processor) {
  if (fs::is_regular_file(dir / "chat_template.jinja")) return read_file(dir / "chat_template.jinja");
  if (fs::is_regular_file(dir / "chat_template.json")) {
    auto json = read_json(dir / "chat_template.json");
    AM_CHECK(json.contains("chat_template") && json["chat_template"].is_string(),
             "{}: expected a string 'chat_template'", (dir / "chat_template.json").string());
    return json["chat_template"].get<std::string>();
  }
  if (processor.contains("chat_template") && processor["chat_template"].is_string())
    return processor["chat_template"].get<std::string>();
  return "";
}

}  // namespace

std::string VlmProcessorConfig::expand_text(const std::string& text, std::vector<size_t>* shift) const {
  if (text_expansion.empty()) return text;
  std::string out;
  std::vector<size_t> ends;  // where each placeholder ends in `text`
  size_t at = 0;
  for (size_t p; (p = text.find(placeholder, at)) != std::string::npos; at = p + placeholder.size()) {
    out += text.substr(at, p - at) + text_expansion;
    ends.push_back(p + placeholder.size());
  }
  out += text.substr(at);
  if (shift) {  // each offset moves by the growth of the placeholders that end at or before it
    shift->resize(text.size() + 1);
    const size_t growth = text_expansion.size() - placeholder.size();
    size_t before = 0;
    for (size_t k = 0; k <= text.size(); ++k) {
      while (before < ends.size() && ends[before] <= k) ++before;
      (*shift)[k] = k + before * growth;
    }
  }
  return out;
}

int64_t VlmProcessorConfig::tokens_for(const PixelValues& pixels) const {
  if (fixed_tokens > 0) return fixed_tokens;
  if (merge_size > 0) {
    AM_CHECK(pixels.grid_thw.size() == 3, "{} processor: expected an image grid (t, h, w)", model_type);
    return pixels.grid_thw[0] * pixels.grid_thw[1] * pixels.grid_thw[2] / (merge_size * merge_size);
  }
  AM_CHECK(pixels.shape.size() == 3, "{} processor: expected (channels, height, width) pixel values", model_type);
  return (pixels.shape[1] / patch_size) * (pixels.shape[2] / patch_size) + extra_tokens;
}

VlmProcessorConfig read_vlm_processor(const fs::path& dir, const nlohmann::json& model, const std::string& model_label) {
  VlmProcessorConfig out;
  out.model_type = model.value("model_type", std::string());
  const bool qwen = out.model_type == "qwen2_vl" || out.model_type == "qwen2_5_vl";
  AM_CHECK(out.model_type == "llava" || qwen || out.model_type == "gemma3",
           "{}: no processor rule for model_type '{}' (supported: llava, qwen2_vl, qwen2_5_vl, gemma3)", model_label,
           out.model_type);
  const auto processor_path = dir / "processor_config.json";
  const auto processor = fs::is_regular_file(processor_path) ? read_json(processor_path) : nlohmann::json::object();
  const auto where = processor_path.string();
  out.image = read_image_processor_config(dir);
  out.chat_template = processor_chat_template(dir, processor);
  if (out.model_type == "gemma3") {  // the tokens are the tokenizer's special attributes
    const auto tokenizer_path = dir / "tokenizer_config.json";
    const auto tok = fs::is_regular_file(tokenizer_path) ? read_json(tokenizer_path) : nlohmann::json::object();
    auto token = [&](const char* key, const char* fallback) {
      return tok.contains(key) && tok[key].is_string() ? tok[key].get<std::string>() : std::string(fallback);
    };
    out.image_token = token("image_token", "<image_soft_token>");
    out.placeholder = token("boi_token", "<start_of_image>");
    out.fixed_tokens = positive(processor, "image_seq_length", positive(model, "mm_tokens_per_image", 256, model_label),
                                where);
    std::string images;
    for (int64_t i = 0; i < out.fixed_tokens; ++i) images += out.image_token;
    out.text_expansion = "\n\n" + out.placeholder + images + token("eoi_token", "<end_of_image>") + "\n\n";
    return out;
  }
  if (qwen) {
    out.image_token = processor.value("image_token", std::string("<|image_pad|>"));
    out.merge_size = out.image.merge_size;
    AM_CHECK(out.merge_size > 0, "{}: the image processor is not a patch processor (no merge_size)", where);
    return out;
  }
  out.image_token = processor.value("image_token", std::string("<image>"));
  const auto vision = model.contains("vision_config") ? model["vision_config"] : nlohmann::json::object();
  out.patch_size = positive(processor, "patch_size", positive(vision, "patch_size", 0, model_label), where);
  AM_CHECK(out.patch_size > 0, "{}: patch_size is set neither here nor in {}'s vision_config", where, model_label);
  const auto extra = processor.value("num_additional_image_tokens", int64_t{0});
  AM_CHECK(extra >= 0, "{}: num_additional_image_tokens must be >= 0, found {}", where, extra);
  const auto strategy = processor.contains("vision_feature_select_strategy") &&
                                processor["vision_feature_select_strategy"].is_string()
                            ? processor["vision_feature_select_strategy"].get<std::string>()
                            : model.value("vision_feature_select_strategy", std::string("default"));
  out.extra_tokens = extra - (strategy == "default" ? 1 : 0);
  return out;
}

}  // namespace automodel::vision
