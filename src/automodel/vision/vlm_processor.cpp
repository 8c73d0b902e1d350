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

int64_t VlmProcessorConfig::tokens_for(const PixelValues& pixels) const {
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
  AM_CHECK(out.model_type == "llava" || qwen,
           "{}: no processor rule for model_type '{}' (supported: llava, qwen2_vl, qwen2_5_vl)", model_label,
           out.model_type);
  const auto processor_path = dir / "processor_config.json";
  const auto processor = fs::is_regular_file(processor_path) ? read_json(processor_path) : nlohmann::json::object();
  const auto where = processor_path.string();
  out.image = read_image_processor_config(dir);
  out.chat_template = processor_chat_template(dir, processor);
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
