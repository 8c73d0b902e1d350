// Gemma 3 (Gemma3ForConditionalGeneration): a SigLIP tower's last hidden state average-pooled to
// mm_tokens_per_image tokens, normalised (Gemma's RMSNorm, scaled by 1 + w) and projected by one
// matrix to the text width; the tokens of each image attend to each other both ways in the Gemma 3
// language model (bidirectional within an image, causal elsewhere).
#include <ATen/TensorOperators.h>
#include <ATen/ops/avg_pool2d.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/tensor.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "automodel/common/error.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/vision/vision_language.h"
#include "automodel/models/vision/vision_tower.h"

namespace automodel::models {
namespace {

class Gemma3Projector : public Module {
 public:
  Gemma3Projector(const VisionTowerConfig& v, int64_t text_hidden, int64_t tokens, const at::TensorOptions& o)
      : patches_side_(v.image_size / v.patch_size) {
    const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(tokens))));
    AM_CHECK(side * side == tokens && side > 0 && patches_side_ % side == 0,
             "gemma3: mm_tokens_per_image {} must be a square whose side divides the {} patches a side", tokens,
             patches_side_);
    kernel_ = patches_side_ / side;
    weight_ = add_parameter("mm_input_projection_weight", at::empty({v.hidden_size, text_hidden}, o));
    norm_ = add_module<Norm>("mm_soft_emb_norm",
                             std::make_unique<RMSNorm>(v.hidden_size, v.eps, /*unit_offset=*/true, o, /*scale_in_fp32=*/true));
  }
  // (images, patches, D) -> (images, tokens, text hidden)
  at::Tensor forward(const at::Tensor& x) const {
    const int64_t B = x.size(0), D = x.size(2);
    auto grid = x.transpose(1, 2).reshape({B, D, patches_side_, patches_side_});
    auto pooled = at::avg_pool2d(grid, {kernel_, kernel_}, {kernel_, kernel_}).flatten(2).transpose(1, 2);
    return at::matmul(norm_->forward(pooled), *weight_).to(x.scalar_type());
  }

 private:
  int64_t patches_side_, kernel_ = 1;
  at::Tensor* weight_;
  Slot<Norm> norm_;
};

class Gemma3Vlm : public VisionLanguageModel {
 public:
  Gemma3Vlm(const hf::ModelConfig& lm_config, std::unique_ptr<CausalLM> lm, const at::TensorOptions& o)
      : VisionLanguageModel(lm_config, std::move(lm)) {
    const auto& j = wrapper_json();
    auto c = hf::JsonFields(config_.composite->json, wrapper_label());
    AM_CHECK(j.contains("vision_config"), "{}: a gemma3 config needs a vision_config", wrapper_label());
    auto vision = parse_vision_config(j["vision_config"], wrapper_label() + ": vision_config");
    image_token_id_ = c.has("image_token_id") ? c.get_int("image_token_id") : c.get_int("image_token_index", 262144);
    const auto tokens = c.check_int("mm_tokens_per_image", c.get_int("mm_tokens_per_image", 256), 1, hf::kMaxWidth);
    tower_ = add_part("vision_tower", VlmPart::kVisionTower,
                      std::make_unique<VisionTower>(vision, o, tower_root("vision_tower")));
    projector_ = add_part("multi_modal_projector", VlmPart::kProjector,
                          std::make_unique<Gemma3Projector>(vision, hidden_size(), tokens, o));
  }

 protected:
  at::Tensor image_features(const ModelInputs& inputs, NamedTensors* debug) const override {
    auto vision = tower_->forward(inputs.pixel_values);
    auto features = projector_->forward(vision.last_hidden_state).flatten(0, 1);
    if (debug) debug->emplace_back("image_hidden_states", features);
    return features;
  }

  // Each run of image tokens is one group (HF's image_group_ids from token_type_ids).
  void add_image_inputs(ModelInputs& inputs, const ForwardOptions& /*options*/) override {
    auto image = (inputs.input_ids == image_token_id_).to(at::kLong);
    auto starts = image.clone();
    starts.narrow(1, 1, image.size(1) - 1).mul_(1 - image.narrow(1, 0, image.size(1) - 1));
    inputs.attention_groups = starts.cumsum(1) * image;
  }

 private:
  Slot<VisionTower> tower_;
  Slot<Gemma3Projector> projector_;
};

}  // namespace

VisionLanguageArchitecture gemma3_architecture() {
  VisionLanguageArchitecture arch;
  arch.model_type = "gemma3";
  arch.hf_class = "Gemma3ForConditionalGeneration";
  arch.features = "SigLIP tower average-pooled to mm_tokens_per_image, RMSNorm + projection matrix, image tokens "
                  "attend bidirectionally within each image in the Gemma 3 language model";
  arch.build = [](const hf::ModelConfig& lm_config, std::unique_ptr<CausalLM> lm, const at::TensorOptions& o)
      -> std::unique_ptr<CausalLM> { return std::make_unique<Gemma3Vlm>(lm_config, std::move(lm), o); };
  return arch;
}

}  // namespace automodel::models
