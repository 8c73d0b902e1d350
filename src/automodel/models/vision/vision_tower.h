// The ViT image encoders of VLMs, as transformers builds them: CLIP's (a class token, a LayerNorm
// before the encoder, quick_gelu; pooled = the class token after post_layernorm) and SigLIP's (no
// class token, post_layernorm on every token, an attention-pooling head), also in Idefics3's
// variant (no head; images of other sizes take bucketed positions). One pre-norm encoder serves
// them all. Parameters carry HF's names under "vision_model." (CLIPVisionModel, SiglipVisionModel).
#pragma once

#include <ATen/core/Tensor.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "automodel/hf/safetensors.h"
#include "automodel/models/common/layers.h"
#include "automodel/models/common/module.h"

namespace automodel::models {

struct VisionTowerConfig {
  enum class Kind { kClip, kSiglip } kind = Kind::kSiglip;
  int64_t hidden_size = 0, intermediate_size = 0, num_heads = 0, num_layers = 0;
  int64_t patch_size = 0, image_size = 0, num_channels = 3;
  double eps = 1e-6;
  Activation act = Activation::kGeluTanh;
  bool use_head = true;  // SigLIP's vision_use_head
  // Idefics3 (NaViT-style): an image of h x w patches takes the positions of a P x P grid
  // (P = image_size / patch_size) sampled at fractions i / h and j / w.
  bool bucketed_positions = false;
  int64_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
};

// A vision config (config.json of a *_vision_model, or a VLM's vision_config): model_type
// clip_vision_model, siglip_vision_model, idefics3_vision or smolvlm_vision (siglip2 and others are
// an error naming them).
VisionTowerConfig parse_vision_config(const nlohmann::json& config, const std::string& where);

struct VisionOutputs {
  at::Tensor last_hidden_state;           // (B, tokens, D): CLIP before post_layernorm, SigLIP after
  at::Tensor pooler_output;               // (B, D); undefined for SigLIP without its head
  std::vector<at::Tensor> hidden_states;  // the encoder's input, then each layer's output
};

class VisionTower : public Module {
 public:
  // Parameter names start with `root`: "vision_model." as transformers 4 saved *VisionModels (and
  // 4's VLM towers), "" as transformers 5 saves VLM towers.
  VisionTower(const VisionTowerConfig& config, const at::TensorOptions& options, const std::string& root = "vision_model.");
  // pixel_values (B, C, image_size, image_size), as the image processor gives them (with
  // bucketed_positions, any multiple of the patch size). With
  // `layers` >= 0, only the first `layers` encoder layers run (a VLM reading an inner layer's
  // output): hidden_states ends there and last_hidden_state/pooler_output stay undefined.
  VisionOutputs forward(const at::Tensor& pixel_values, int64_t layers = -1) const;
  const VisionTowerConfig& config() const { return config_; }

 private:
  VisionTowerConfig config_;
  struct Parts;
  std::shared_ptr<Parts> parts_;
};

// Idefics3's position ids of an h x w patch image on a grid x grid position table, in its dtypes:
// fractions i * (1 / h) in float32, clamped below 1, cast to the model's `dtype` (which moves some
// of them across a boundary in bfloat16), bucketed among the float32 boundaries k / grid.
at::Tensor bucketed_position_ids(int64_t grid, int64_t h, int64_t w, at::ScalarType dtype, c10::Device device);

// Copies a checkpoint's tensors into the tower, named as transformers 4 saved them
// ("vision_model.embeddings...") or as 5 saves a *VisionModel ("embeddings..."), strictly: a
// missing, extra or mis-shaped tensor is an error naming it.
void load_vision_tower(VisionTower& tower, const hf::SafetensorsCheckpoint& checkpoint);

}  // namespace automodel::models
