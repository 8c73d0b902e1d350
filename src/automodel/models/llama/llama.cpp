// Llama (and Llama-2/3.x): the reference pre-norm decoder with RoPE, SwiGLU, GQA.
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/registry.h"

namespace automodel::models {

Architecture llama_architecture() {
  Architecture arch;
  arch.model_type = "llama";
  arch.features = "RMSNorm pre-norm, GQA, SwiGLU, rope (default, linear, dynamic, llama3, yarn, longrope)";
  arch.hf_class = "LlamaForCausalLM";
  arch.build = [](const hf::ModelConfig& config, const at::TensorOptions& options) -> std::unique_ptr<CausalLM> {
    auto c = config.fields();
    return std::make_unique<DecoderLM>(config, read_decoder_spec(c), options);
  };
  arch.tiny_config_json = R"({"model_type": "llama", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
    "max_position_embeddings": 64, "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": false,
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 16}})";
  return arch;
}

}  // namespace automodel::models
