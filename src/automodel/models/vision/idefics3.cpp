// Idefics3 and SmolVLM (Idefics3ForConditionalGeneration, SmolVLMForConditionalGeneration): a
// SigLIP-like tower over each frame (the processor's tiles and whole image, all tile-sized), its
// last hidden state pixel-shuffled (each scale x scale block of patches concatenated into one
// token) and projected by one matrix without bias to the text width; the language model (Llama)
// takes the tokens at the image tokens, causally.
#include <ATen/TensorOperators.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/vision/vision_language.h"
#include "automodel/models/vision/vision_tower.h"

namespace automodel::models {
namespace {

class Idefics3Connector : public Module {
 public:
  Idefics3Connector(int64_t vision_hidden, int64_t scale, int64_t text_hidden, const at::TensorOptions& o)
      : scale_(scale) {
    proj_ = add_module<LinearLayer>("modality_projection.proj",
                                    std::make_unique<Linear>(vision_hidden * scale * scale, text_hidden, false, o));
  }
  // (frames, side x side patches, D) -> (frames, side x side / scale^2, text hidden)
  at::Tensor forward(const at::Tensor& x) const { return proj_->forward(pixel_shuffle(x)); }

 private:
  // Token (r, c) of the (side / s)^2 grid holds the patches (r s + dy, c s + dx) for dy, then dx,
  // in transformers' view/permute order.
  at::Tensor pixel_shuffle(const at::Tensor& x) const {
    const int64_t B = x.size(0), seq = x.size(1), D = x.size(2), s = scale_;
    const auto side = static_cast<int64_t>(std::sqrt(static_cast<double>(seq)));
    AM_CHECK(side * side == seq && side % s == 0,
             "idefics3: a frame of {} patches is not a square whose side divides by scale_factor {}", seq, s);
    auto y = x.reshape({B, side, side / s, D * s}).permute({0, 2, 1, 3});
    y = y.reshape({B, side / s, side / s, D * s * s}).permute({0, 2, 1, 3});
    return y.reshape({B, seq / (s * s), D * s * s});
  }

  int64_t scale_;
  Slot<LinearLayer> proj_;
};

class Idefics3Vlm : public VisionLanguageModel {
 public:
  Idefics3Vlm(const hf::ModelConfig& lm_config, std::unique_ptr<CausalLM> lm, const at::TensorOptions& o)
      : VisionLanguageModel(lm_config, std::move(lm)) {
    const auto& j = wrapper_json();
    auto c = hf::JsonFields(config_.composite->json, wrapper_label());
    const auto& type = config_.composite->model_type;
    // A vision_config without model_type is the wrapper's own class (transformers fills it in).
    auto vision_json = j.contains("vision_config") ? j["vision_config"] : nlohmann::json::object();
    if (!vision_json.contains("model_type")) vision_json["model_type"] = type + "_vision";
    auto vision = parse_vision_config(vision_json, wrapper_label() + ": vision_config");
    image_token_id_ = c.get_int("image_token_id", 128257);
    const auto scale = c.check_int("scale_factor", c.get_int("scale_factor", 2), 1, vision.image_size);
    tower_ = add_part("vision_model", VlmPart::kVisionTower,
                      std::make_unique<VisionTower>(vision, o, tower_root("vision_model")));
    connector_ = add_part("connector", VlmPart::kProjector,
                          std::make_unique<Idefics3Connector>(vision.hidden_size, scale, hidden_size(), o));
  }

 protected:
  at::Tensor image_features(const ModelInputs& inputs, NamedTensors* debug) const override {
    auto frames = real_frames(inputs);
    auto features = connector_->forward(tower_->forward(frames).last_hidden_state).flatten(0, 1);
    if (debug) debug->emplace_back("image_hidden_states", features);
    return features;
  }

 private:
  // The frames to encode: ours come as (frames, C, H, W); transformers' (batch, most frames, C, H,
  // W) carry all-zero padding frames, which it drops (their pixel_attention_mask is zero).
  static at::Tensor real_frames(const ModelInputs& inputs) {
    const auto& pixels = inputs.pixel_values;
    if (pixels.dim() == 4) return pixels;
    AM_CHECK(pixels.dim() == 5, "idefics3: pixel_values must be (frames, C, H, W) or (batch, frames, C, H, W), found {}",
             format_shape(pixels.sizes().vec()));
    auto flat = pixels.flatten(0, 1);
    const auto real = (flat != 0).flatten(1).any(1).nonzero().squeeze(1);
    if (inputs.pixel_attention_mask.defined()) {
      // Padding inside a frame (frames of unequal sizes) would need a patch mask in the tower.
      const auto mask = inputs.pixel_attention_mask.flatten(0, 1).index_select(0, real);
      AM_CHECK(mask.all().item<bool>(),
               "idefics3: a frame is partly padded (pixel_attention_mask); only whole padding frames are supported");
    }
    return flat.index_select(0, real);
  }

  Slot<VisionTower> tower_;
  Slot<Idefics3Connector> connector_;
};

VisionLanguageArchitecture family(const std::string& model_type, const std::string& hf_class) {
  VisionLanguageArchitecture arch;
  arch.model_type = model_type;
  arch.hf_class = hf_class;
  arch.features = "SigLIP-like tower over each tile and the whole image (bucketed positions), pixel shuffle by "
                  "scale_factor and a projection to the Llama language model at the image tokens";
  arch.text_body = "model.text_model";
  arch.build = [](const hf::ModelConfig& lm_config, std::unique_ptr<CausalLM> lm, const at::TensorOptions& o)
      -> std::unique_ptr<CausalLM> { return std::make_unique<Idefics3Vlm>(lm_config, std::move(lm), o); };
  return arch;
}

}  // namespace

VisionLanguageArchitecture idefics3_architecture() {
  return family("idefics3", "Idefics3ForConditionalGeneration");
}
VisionLanguageArchitecture smolvlm_architecture() { return family("smolvlm", "SmolVLMForConditionalGeneration"); }

}  // namespace automodel::models
