// config.json of an HF model folder: the common identity fields, plus typed access to the rest
// for the architecture that interprets them. Reads transformers v4 and v5 files.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "automodel/hf/dtype.h"
#include "automodel/hf/json_fields.h"

namespace automodel::hf {

// Bounds on sizes read from config.json: far above any released model, so that a typo or a hostile
// file fails with a message naming the field before anything is allocated.
inline constexpr int64_t kMaxVocabSize = int64_t{1} << 24;  // largest released: ~256K
inline constexpr int64_t kMaxWidth = int64_t{1} << 20;      // hidden, intermediate, head_dim: ~50K
inline constexpr int64_t kMaxLayers = 4096;                 // ~130
inline constexpr int64_t kMaxHeads = 4096;                  // ~128
inline constexpr int64_t kMaxPositions = int64_t{1} << 28;  // ~10M
inline constexpr int64_t kMaxExperts = 16384;               // ~384

struct ModelConfig {
  std::string label;  // the file it came from, for messages
  std::shared_ptr<const nlohmann::json> json;
  std::string model_type;
  std::vector<std::string> architectures;
  std::optional<DType> dtype;  // `torch_dtype` (v4) or `dtype` (v5)

  // Set when this is the text_config of a composite (VLM) checkpoint, trained as a causal LM:
  // the checkpoint's names of the language model's body and head (transformers v5 saves
  // "model.language_model" + "lm_head"; v4 and Llama 4 save "language_model.model" +
  // "language_model.lm_head"), and the wrapper's own model_type.
  struct Composite {
    std::string model_type;
    std::string body = "model.language_model", lm_head = "lm_head";
    std::shared_ptr<const nlohmann::json> json;  // the wrapper's config.json (vision_config, projector, ...)
    std::string label;                           // its file, for messages
  };
  std::optional<Composite> composite;
  // When built for a checkpoint: its tensor names, for architectures whose checkpoints ship in
  // more than one layout (Nemotron-H: backbone.* and a tensor per expert on the hub; model.* and
  // stacked experts from transformers 5). Null when building without one.
  std::shared_ptr<const std::vector<std::string>> checkpoint_names;
  // Whether a tensor of that checkpoint satisfies `test` (false without one).
  bool checkpoint_has(const std::function<bool(const std::string&)>& test) const;

  JsonFields fields() const { return JsonFields(json, label); }
  std::string dump(int indent = 2) const;
};

// `path` is a config.json file or a folder containing one.
ModelConfig load_model_config(const std::filesystem::path& path);
ModelConfig parse_model_config(const std::string& text, const std::string& label);
// Builds a config from an in-memory JSON object (tests, the registry sweep).
ModelConfig model_config_from_json(const nlohmann::json& object, const std::string& label);

}  // namespace automodel::hf
