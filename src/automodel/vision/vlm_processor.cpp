#include "automodel/vision/vlm_processor.h"

#include <fmt/format.h>
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

std::string VlmProcessorConfig::image_text(const PixelValues& pixels) const {
  if (!text_expansion.empty()) return text_expansion;
  AM_CHECK(pixels.tiles.size() == 2, "{} processor: expected an image split into tiles", model_type);
  std::string tokens;
  for (int64_t i = 0; i < tile_tokens; ++i) tokens += image_token;
  std::string out;
  for (int64_t r = 1; r <= pixels.tiles[0]; ++r) {
    for (int64_t c = 1; c <= pixels.tiles[1]; ++c)
      out += fmt::format("{}<row_{}_col_{}>{}", fake_image_token, r, c, tokens);
    out += "\n";
  }
  if (pixels.tiles[0] > 0) out += "\n";
  return out + fake_image_token + global_image_token + tokens + fake_image_token;
}

std::string VlmProcessorConfig::expand_text(const std::string& text, const std::vector<const PixelValues*>& images,
                                            std::vector<size_t>* shift) const {
  if (!textual()) return text;
  std::string out;
  std::vector<std::pair<size_t, size_t>> growth;  // (where a placeholder ends in `text`, its growth)
  size_t at = 0;
  for (size_t p; (p = text.find(placeholder, at)) != std::string::npos; at = p + placeholder.size()) {
    AM_CHECK(growth.size() < images.size(), "{} processor: more image placeholders '{}' than the {} image(s)",
             model_type, placeholder, images.size());
    const auto expansion = image_text(*images[growth.size()]);
    out += text.substr(at, p - at) + expansion;
    growth.emplace_back(p + placeholder.size(), expansion.size() - placeholder.size());
  }
  AM_CHECK(growth.size() == images.size(), "{} processor: {} image placeholder(s) '{}' for {} image(s)", model_type,
           growth.size(), placeholder, images.size());
  out += text.substr(at);
  if (shift) {  // each offset moves by the growth of the placeholders that end at or before it
    shift->resize(text.size() + 1);
    size_t before = 0, grown = 0;
    for (size_t k = 0; k <= text.size(); ++k) {
      for (; before < growth.size() && growth[before].first <= k; ++before) grown += growth[before].second;
      (*shift)[k] = k + grown;
    }
  }
  return out;
}

int64_t VlmProcessorConfig::tokens_for(const PixelValues& pixels) const {
  if (fixed_tokens > 0) return fixed_tokens;
  if (tile_tokens > 0) {
    AM_CHECK(pixels.shape.size() == 4, "{} processor: expected (frames, channels, height, width) pixel values", model_type);
    return pixels.shape[0] * tile_tokens;
  }
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
  const bool idefics = out.model_type == "idefics3" || out.model_type == "smolvlm";
  AM_CHECK(out.model_type == "llava" || qwen || idefics || out.model_type == "gemma3",
           "{}: no processor rule for model_type '{}' (supported: llava, qwen2_vl, qwen2_5_vl, gemma3, idefics3, "
           "smolvlm)", model_label, out.model_type);
  const auto processor_path = dir / "processor_config.json";
  const auto processor = fs::is_regular_file(processor_path) ? read_json(processor_path) : nlohmann::json::object();
  const auto where = processor_path.string();
  out.image = read_image_processor_config(dir);
  out.chat_template = processor_chat_template(dir, processor);
  // Gemma 3's and SmolVLM's tokens are the tokenizer's special attributes.
  const auto tokenizer_path = dir / "tokenizer_config.json";
  const auto tok = fs::is_regular_file(tokenizer_path) ? read_json(tokenizer_path) : nlohmann::json::object();
  auto token = [&](const char* key, const char* fallback) {  // top-level, or among extra_special_tokens
    if (tok.contains(key) && tok[key].is_string()) return tok[key].get<std::string>();
    const auto extra = tok.find("extra_special_tokens");
    if (extra != tok.end() && extra->is_object() && extra->contains(key) && (*extra)[key].is_string())
      return (*extra)[key].get<std::string>();
    return std::string(fallback);
  };
  if (idefics) {
    AM_CHECK(out.image.tile_size > 0, "{}: {} needs an Idefics3/SmolVLM image processor, found {}", where,
             out.model_type, out.image.type);
    const bool smolvlm = out.model_type == "smolvlm";  // Idefics3Processor's tokens are fixed
    out.image_token = smolvlm ? token("image_token", "<image>") : "<image>";
    out.fake_image_token = smolvlm ? token("fake_image_token", "<fake_token_around_image>") : "<fake_token_around_image>";
    out.global_image_token = smolvlm ? token("global_image_token", "<global-img>") : "<global-img>";
    out.placeholder = out.image_token;
    out.tile_tokens = positive(processor, "image_seq_len", 169, where);
    return out;
  }
  if (out.model_type == "gemma3") {
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
