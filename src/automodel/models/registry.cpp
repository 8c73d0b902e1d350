#include "automodel/models/registry.h"

#include <ATen/ops/empty.h>

#include <fstream>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/model_source.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/weights.h"

namespace automodel::models {

const std::vector<Architecture>& architectures() {
  static const std::vector<Architecture> kArchitectures = {
#define AUTOMODEL_ARCHITECTURE(name) name##_architecture(),
#include "automodel/models/architectures.inc"
#undef AUTOMODEL_ARCHITECTURE
  };
  return kArchitectures;
}

std::string models_markdown() {
  std::string out =
      "# Supported models\n\n"
      "<!-- Generated from the registry (src/automodel/models/architectures.inc) by\n"
      "     AUTOMODEL_UPDATE_DOCS=1 build/tests/registry_sweep_tests --gtest_filter='ModelsDoc.*'. Do not edit. -->\n\n"
      "Any Hugging Face checkpoint whose `config.json` names one of these `model_type`s loads from its folder\n"
      "as it ships. Each is checked against transformers (forward, every gradient, 3 training steps full and\n"
      "LoRA, where LoRA applies) by `tests/oracle/arch_sweep_test.cpp`. `automodel list-models` prints the same\n"
      "table.\n\n"
      "| model_type | HF class | features |\n|---|---|---|\n";
  for (const auto& arch : architectures())
    out += fmt::format("| `{}` | `{}` | {} |\n", arch.model_type, arch.hf_class, arch.features);
  return out;
}

const Architecture& find_architecture(const std::string& model_type, const std::string& where) {
  std::vector<std::string> names;
  for (const auto& arch : architectures()) {
    if (arch.model_type == model_type) return arch;
    names.push_back(arch.model_type);
  }
  auto hint = nearest_name(model_type, names);
  throw NotSupportedError(fmt::format("[model] {}model_type '{}' is not supported{}; supported: {}",
                                      where.empty() ? "" : where + ": ", model_type,
                                      hint.empty() ? "" : " (did you mean '" + hint + "'?)", join(names, ", ")));
}

namespace {

// RAM + swap in bytes (0 when unknown): parameters beyond it can never be allocated.
double backable_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  double kib = 0, total = 0;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemTotal:" || key == "SwapTotal:") total += kib * 1024;
  return total;
}

// Each size in config.json may be in range while their product is not: the model is laid out on
// the meta device (no memory) and its size checked before a byte is allocated, instead of
// failing inside the allocator.
void check_fits_in_memory(const Architecture& arch, const hf::ModelConfig& config, at::ScalarType dtype) {
  auto layout = arch.build(config, at::TensorOptions().dtype(dtype).device(c10::Device(c10::kMeta)));
  double bytes = 0, count = 0;
  for (const auto& p : layout->named_parameters()) {
    count += static_cast<double>(p.tensor->numel());
    bytes += static_cast<double>(p.tensor->numel()) * static_cast<double>(p.tensor->element_size());
  }
  const double limit = backable_bytes();
  AM_CHECK(limit == 0 || bytes <= limit,
           "[model] {}: {} parameters take {} in {}, more than this machine's memory ({} RAM + swap); check the sizes "
           "in config.json (hidden_size, intermediate_size, num_hidden_layers, vocab_size)", config.label,
           human_count(count), human_bytes(bytes), scalar_type_name(dtype), human_bytes(limit));
}

}  // namespace

std::unique_ptr<CausalLM> build_model(const hf::ModelConfig& config, at::ScalarType dtype, c10::Device device) {
  const auto& arch = find_architecture(config.model_type, config.label);
  auto fields = config.fields();
  if (fields.has("quantization_config"))
    throw NotSupportedError(fmt::format("[model] {}: quantized checkpoints (quantization_config) are not supported",
                                        config.label));
  if (device.is_cpu()) check_fits_in_memory(arch, config, dtype);
  return arch.build(config, at::TensorOptions().dtype(dtype).device(device));
}

int64_t config_vocab_size(const hf::ModelConfig& config) {
  auto fields = config.fields();
  if (!fields.has("vocab_size")) return 0;
  return fields.check_int("vocab_size", fields.get_int("vocab_size"), 1, hf::kMaxVocabSize);
}

std::unique_ptr<CausalLM> load_pretrained(const std::string& name_or_path, const LoadOptions& options) {
  auto folder = hf::resolve_model_folder(name_or_path);
  auto config = hf::load_model_config(folder);
  auto model = build_model(config, options.dtype, options.device);
  auto checkpoint = hf::SafetensorsCheckpoint::open(folder, /*populate=*/true);
  load_weights(*model, checkpoint, options.read_only_weights);
  return model;
}

}  // namespace automodel::models
