// model_type -> Architecture: how to build a model from config.json, and a tiny config the
// registry sweep test uses to exercise every architecture automatically.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "automodel/hf/model_config.h"
#include "automodel/models/common/causal_lm.h"

namespace automodel::hf {
class SafetensorsCheckpoint;
}

namespace automodel::models {

struct Architecture {
  std::string model_type;
  std::string hf_class;  // e.g. "LlamaForCausalLM"
  std::string features;  // what sets it apart from Llama, for `automodel list-models` and docs/models.md
  std::function<std::unique_ptr<CausalLM>(const hf::ModelConfig&, const at::TensorOptions&)> build;
  std::string tiny_config_json;  // a small valid config.json for tests
};

const std::vector<Architecture>& architectures();
// docs/models.md: every registered model_type with its HF class and features.
std::string models_markdown();
const Architecture& find_architecture(const std::string& model_type, const std::string& where = "");

// The config a causal LM is built from: config.json itself when its model_type is registered;
// for a composite (VLM) checkpoint whose model_type is not but whose `text_config`'s is (qwen3_5,
// gemma3, mistral3, llama4, ...), that text_config as a config of its own, with `composite` set.
// `checkpoint` (when given) tells which layout holds the language model; otherwise v5's. A
// config that is already a language model's is returned as it is.
hf::ModelConfig language_model_config(const hf::ModelConfig& config,
                                      const hf::SafetensorsCheckpoint* checkpoint = nullptr);

// Builds with uninitialised parameters of `dtype` on `device`. A composite config gives its
// language model, or with `vision` the whole VLM (models/vision/vision_language.h).
std::unique_ptr<CausalLM> build_model(const hf::ModelConfig& config, at::ScalarType dtype, c10::Device device,
                                      bool vision = false);

// config.json's vocab_size (range-checked; 0 when absent): what the data is checked against
// before a model is built.
int64_t config_vocab_size(const hf::ModelConfig& config);

struct LoadOptions {
  at::ScalarType dtype = at::kFloat;
  c10::Device device = c10::Device(c10::kCPU);
  // Zero-copy: CPU parameters whose checkpoint dtype matches share the mapped file's pages.
  // Loading is then ~free, but those parameters are read-only: for inference and frozen bases.
  bool read_only_weights = false;
  // A VLM checkpoint: build and load its vision tower and projector too (else its language model alone).
  bool vision = false;
};

// The model a folder's config.json and checkpoint describe, on the meta device: names and shapes
// without memory (inspecting or exporting a 70B model costs nothing).
std::unique_ptr<CausalLM> build_layout(const std::filesystem::path& folder);

// Resolves `name_or_path` (folder or cached hub id), builds and strictly loads the weights.
std::unique_ptr<CausalLM> load_pretrained(const std::string& name_or_path, const LoadOptions& options = {});

// Defined in each model folder; listed in models/architectures.inc.
#define AUTOMODEL_ARCHITECTURE(name) Architecture name##_architecture();
#include "automodel/models/architectures.inc"
#undef AUTOMODEL_ARCHITECTURE

}  // namespace automodel::models
