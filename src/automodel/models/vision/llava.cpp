// LLaVA (LlavaForConditionalGeneration): a CLIP or SigLIP tower, one (or several, concatenated)
// of its hidden states with the class token dropped ("default") or kept ("full"), and a
// two-layer projector (linear_1, activation, linear_2) to the language model's width.
#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/vision/vision_language.h"
#include "automodel/models/vision/vision_tower.h"

namespace automodel::models {
namespace {

class Projector : public Module {
 public:
  Projector(int64_t in, int64_t out, bool bias, Activation act, const at::TensorOptions& o) : act_(act) {
    linear_1_ = add_module<LinearLayer>("linear_1", std::make_unique<Linear>(in, out, bias, o));
    linear_2_ = add_module<LinearLayer>("linear_2", std::make_unique<Linear>(out, out, bias, o));
  }
  at::Tensor forward(const at::Tensor& x) const { return linear_2_->forward(activate(act_, linear_1_->forward(x))); }

 private:
  Activation act_;
  Slot<LinearLayer> linear_1_, linear_2_;
};

class Llava : public VisionLanguageModel {
 public:
  Llava(const hf::ModelConfig& lm_config, std::unique_ptr<CausalLM> lm, const at::TensorOptions& o)
      : VisionLanguageModel(lm_config, std::move(lm)) {
    const auto& j = wrapper_json();
    auto c = hf::JsonFields(config_.composite->json, wrapper_label());
    AM_CHECK(j.contains("vision_config"), "{}: a llava config needs a vision_config", wrapper_label());
    auto vision = parse_vision_config(j["vision_config"], wrapper_label() + ": vision_config");
    image_token_id_ = c.has("image_token_id") ? c.get_int("image_token_id") : c.get_int("image_token_index", 32000);
    const auto strategy = c.get_string("vision_feature_select_strategy", "default");
    AM_CHECK(strategy == "default" || strategy == "full",
             "{}: vision_feature_select_strategy: expected 'default' or 'full', found '{}'", wrapper_label(), strategy);
    drop_class_token_ = strategy == "default";
    // vision_feature_layer: an index into the tower's hidden states (negative from the end), or a list of them.
    const int64_t states = vision.num_layers + 1;
    std::vector<int64_t> layers;
    if (c.has("vision_feature_layer") && c.raw("vision_feature_layer").is_array())
      for (double l : c.get_double_list("vision_feature_layer")) layers.push_back(static_cast<int64_t>(l));
    else
      layers.push_back(c.get_int("vision_feature_layer", -2));
    AM_CHECK(!layers.empty(), "{}: vision_feature_layer is an empty list", wrapper_label());
    for (auto l : layers) {
      c.check_int("vision_feature_layer", l, -states, states - 1);
      feature_layers_.push_back(l < 0 ? l + states : l);
      layers_to_run_ = std::max(layers_to_run_, feature_layers_.back());
    }
    tower_ = add_part("vision_tower", VlmPart::kVisionTower,
                      std::make_unique<VisionTower>(vision, o, tower_root("vision_tower")));
    const auto act = parse_activation(c.get_string("projector_hidden_act", "gelu"), wrapper_label() + ": projector_hidden_act");
    projector_ = add_part("multi_modal_projector", VlmPart::kProjector,
                          std::make_unique<Projector>(vision.hidden_size * static_cast<int64_t>(layers.size()),
                                                      hidden_size(), c.get_bool("multimodal_projector_bias", true), act, o));
  }

 protected:
  at::Tensor image_features(const ModelInputs& inputs, NamedTensors* debug) const override {
    auto vision = tower_->forward(inputs.pixel_values, debug ? -1 : layers_to_run_);
    std::vector<at::Tensor> selected;
    for (auto l : feature_layers_) {
      auto h = vision.hidden_states[static_cast<size_t>(l)];
      selected.push_back(drop_class_token_ ? h.slice(1, 1) : h);
    }
    auto features = projector_->forward(selected.size() == 1 ? selected[0] : at::cat(selected, -1));
    features = features.flatten(0, 1);  // (images * tokens, hidden)
    if (debug) {
      for (size_t i = 0; i < vision.hidden_states.size(); ++i)
        debug->emplace_back("vision_hidden_states." + std::to_string(i), vision.hidden_states[i]);
      debug->emplace_back("image_hidden_states", features);
    }
    return features;
  }

 private:
  std::vector<int64_t> feature_layers_;  // indices into the tower's hidden states
  int64_t layers_to_run_ = 0;
  bool drop_class_token_ = true;
  Slot<VisionTower> tower_;
  Slot<Projector> projector_;
};

}  // namespace

VisionLanguageArchitecture llava_architecture() {
  VisionLanguageArchitecture arch;
  arch.model_type = "llava";
  arch.hf_class = "LlavaForConditionalGeneration";
  arch.features = "CLIP/SigLIP tower, hidden state(s) of vision_feature_layer, 2-layer projector, image tokens "
                  "replaced by the projected patches";
  arch.build = [](const hf::ModelConfig& lm_config, std::unique_ptr<CausalLM> lm, const at::TensorOptions& o)
      -> std::unique_ptr<CausalLM> { return std::make_unique<Llava>(lm_config, std::move(lm), o); };
  return arch;
}

}  // namespace automodel::models
