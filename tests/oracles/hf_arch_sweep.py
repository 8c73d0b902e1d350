"""Oracle: live HF transformers references for every architecture the sweep knows.

For each entry of ARCHS, in one process (transformers is imported once):
  <out>/<model_type>/model/            tiny random model, save_pretrained (fp32 safetensors) +
                                       the stories260K tokenizer (vocab 512)
  <out>/<model_type>/expected.safetensors  inputs, logits, loss, hidden_states.i,
                                       layer_output.i, router_logits.<module>, grad.<param>
                                       (the format of tests/fixtures/hf/<arch>/)
  <out>/<model_type>/meta.json         how it was made
  <out>/<model_type>/train.json        3 steps of torch.optim.AdamW on HF's model (full
                                       fine-tune) and on a PEFT LoRA model: losses, grad norms
                                       and every setting the C++ side needs to run the same
<out>/dataset.jsonl                    the training rows ({"text": ...})
<out>/manifest.json                    {"model_types": [...], "versions": {...}}

Usage: python3 hf_arch_sweep.py OUT_DIR [--only TYPE,TYPE]
       python3 hf_arch_sweep.py --fingerprint   (versions only, without importing torch)
"""
import json
import math
import os
import shutil
import sys
from importlib import metadata

SEED = 1234
INPUT_SEED = 4321
BATCH, SEQ = 2, 24
VOCAB = 512  # the stories260K tokenizer
TOKENIZER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "stories260K")
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "tokenizer.model"]

# Shared by the Llama-family entries: 2 layers, GQA 4 query / 2 kv heads.
SMALL = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6,
             bos_token_id=1, eos_token_id=2)
ATTN = ["q_proj", "k_proj", "v_proj", "o_proj"]
MLP = ["gate_proj", "up_proj", "down_proj"]

# model_type -> how to build a tiny model with the features real checkpoints of that type use.
# lora_targets: module leaf names given to PEFT and to our recipe (None: no LoRA run, with why).
ARCHS = {
    "llama": dict(
        cls="LlamaForCausalLM", features=["GQA 4q/2kv", "untied head", "llama3 rope scaling"],
        config=dict(SMALL, tie_word_embeddings=False,
                    rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                      original_max_position_embeddings=16)),
        lora_targets=ATTN + MLP),
    "mistral": dict(
        cls="MistralForCausalLM", features=["GQA 4q/1kv", "sliding window 8 on every layer", "untied head"],
        config=dict(SMALL, num_key_value_heads=1, head_dim=16, sliding_window=8, tie_word_embeddings=False,
                    rope_theta=1000000.0),
        lora_targets=ATTN + MLP),
    "qwen2": dict(
        cls="Qwen2ForCausalLM", features=["q/k/v biases", "sliding window 8 on layers >= max_window_layers=1",
                                          "tied head"],
        config=dict(SMALL, use_sliding_window=True, sliding_window=8, max_window_layers=1, tie_word_embeddings=True,
                    rope_theta=1000000.0),
        lora_targets=ATTN + MLP),
    "qwen3": dict(
        cls="Qwen3ForCausalLM", features=["q/k RMSNorm", "head_dim 32 != hidden/heads", "yarn rope x4", "tied head"],
        config=dict(SMALL, head_dim=32, tie_word_embeddings=True, rope_theta=1000000.0,
                    rope_scaling=dict(rope_type="yarn", factor=4.0, original_max_position_embeddings=16)),
        lora_targets=ATTN + MLP),
    "gemma": dict(
        cls="GemmaForCausalLM", features=["MQA 4q/1kv", "GeGLU (gelu_pytorch_tanh)", "(1+w) RMSNorm",
                                          "sqrt(hidden) embedding scale", "tied head"],
        config=dict(SMALL, num_key_value_heads=1, head_dim=16, hidden_act="gelu_pytorch_tanh",
                    tie_word_embeddings=True),
        lora_targets=ATTN + MLP),
    "mixtral": dict(
        cls="MixtralForCausalLM", features=["4 experts, top-2 routing", "router aux loss (output_router_logits)",
                                            "GQA 4q/2kv", "untied head"],
        config=dict(SMALL, intermediate_size=96, num_local_experts=4, num_experts_per_tok=2, sliding_window=None,
                    output_router_logits=True, router_aux_loss_coef=0.02, router_jitter_noise=0.0,
                    tie_word_embeddings=False, rope_theta=1000000.0, experts_implementation="eager"),
        lora_targets=ATTN),
    "gpt2": dict(
        cls="GPT2LMHeadModel", features=["learned positions", "LayerNorm", "Conv1D", "gelu_new", "tied head"],
        config=dict(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_positions=64, bos_token_id=1,
                    eos_token_id=2, tie_word_embeddings=True, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0),
        lora_targets=["c_attn", "c_proj", "c_fc"]),  # Conv1D layers: PEFT adapts them with fan_in_fan_out
}

MOE_SMALL = dict(num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32, output_router_logits=True,
                 router_aux_loss_coef=0.02, experts_implementation="eager")
TWO_TYPES = ["sliding_attention", "full_attention"]
ARCHS.update({
    "ministral": dict(
        cls="MinistralForCausalLM", features=["layer_types: sliding 8 then full", "untied head"],
        config=dict(SMALL, head_dim=16, sliding_window=8, layer_types=TWO_TYPES, tie_word_embeddings=False),
        lora_targets=ATTN + MLP),
    "qwen2_moe": dict(
        cls="Qwen2MoeForCausalLM", features=["4 experts top-2 softmax, no renormalisation", "gated shared expert",
                                             "dense MLP on mlp_only_layers=[1]", "q/k/v biases", "router aux loss"],
        config=dict(SMALL, **MOE_SMALL, shared_expert_intermediate_size=48, norm_topk_prob=False,
                    decoder_sparse_step=1, mlp_only_layers=[1], tie_word_embeddings=False),
        lora_targets=ATTN),
    "qwen3_moe": dict(
        cls="Qwen3MoeForCausalLM", features=["4 experts top-2, renormalised (norm_topk_prob)", "q/k RMSNorm",
                                             "head_dim 32 != hidden/heads", "router aux loss"],
        config=dict(SMALL, **MOE_SMALL, head_dim=32, norm_topk_prob=True, tie_word_embeddings=False),
        lora_targets=ATTN),
    "gemma2": dict(
        cls="Gemma2ForCausalLM", features=["sandwich (1+w) RMSNorms", "sliding 8 / full alternating",
                                           "attention softcap 10", "final logit softcap 5",
                                           "query_pre_attn_scalar 16", "sqrt(hidden) embedding scale", "tied head"],
        config=dict(SMALL, head_dim=16, hidden_activation="gelu_pytorch_tanh", sliding_window=8,
                    query_pre_attn_scalar=16, attn_logit_softcapping=10.0, final_logit_softcapping=5.0,
                    tie_word_embeddings=True),
        lora_targets=ATTN + MLP),
    "gemma3_text": dict(
        cls="Gemma3ForCausalLM", features=["sandwich (1+w) RMSNorms", "per-head (1+w) q/k norms",
                                           "sliding 8 then full (layer_types)", "local rope theta 1e4 on sliding, "
                                           "1e6 + linear x8 on full", "tied head"],
        config=dict(SMALL, head_dim=16, sliding_window=8, layer_types=TWO_TYPES, query_pre_attn_scalar=16,
                    rope_parameters={"full_attention": dict(rope_type="linear", factor=8.0, rope_theta=1000000.0),
                                     "sliding_attention": dict(rope_type="default", rope_theta=10000.0)},
                    tie_word_embeddings=True),
        lora_targets=ATTN + MLP),
    "smollm3": dict(
        cls="SmolLM3ForCausalLM", features=["NoPE every 2nd layer (no_rope_layer_interval)",
                                            "sliding 8 on the NoPE layers", "tied head"],
        config=dict(SMALL, pad_token_id=None, no_rope_layer_interval=2, use_sliding_window=True, sliding_window=8,
                    tie_word_embeddings=True, rope_theta=2000000.0),
        lora_targets=ATTN + MLP),
    "granite": dict(
        cls="GraniteForCausalLM", features=["embedding x12", "residual x0.5", "attention scale 1/16",
                                            "logits / 2", "tied head"],
        config=dict(SMALL, embedding_multiplier=12.0, residual_multiplier=0.5, attention_multiplier=0.0625,
                    logits_scaling=2.0, tie_word_embeddings=True),
        lora_targets=ATTN + MLP),
    "seed_oss": dict(
        cls="SeedOssForCausalLM", features=["q/k/v biases, o_proj without", "head_dim 16"],
        config=dict(SMALL, head_dim=16, attention_bias=True, attention_out_bias=False, attention_dropout=0.0,
                    residual_dropout=0.0, tie_word_embeddings=False),
        lora_targets=ATTN + MLP),
    "olmo": dict(
        cls="OlmoForCausalLM", features=["non-parametric LayerNorm", "clip_qkv 1.5", "MHA"],
        config=dict(SMALL, num_key_value_heads=4, clip_qkv=1.5, tie_word_embeddings=False),
        lora_targets=ATTN + MLP),
    "olmo2": dict(
        cls="Olmo2ForCausalLM", features=["post-norm branches", "full-width q/k RMSNorm"],
        config=dict(SMALL, tie_word_embeddings=False),
        lora_targets=ATTN + MLP),
    "olmo3": dict(
        cls="Olmo3ForCausalLM", features=["post-norm branches", "full-width q/k RMSNorm", "sliding 8 then full"],
        config=dict(SMALL, sliding_window=8, layer_types=TWO_TYPES, tie_word_embeddings=False),
        lora_targets=ATTN + MLP),
    "exaone4": dict(
        cls="Exaone4ForCausalLM", features=["post-norm branches", "per-head q/k RMSNorm",
                                            "sliding 8 then full (pattern 2)", "NoPE on full layers"],
        config=dict(SMALL, sliding_window=8, sliding_window_pattern=2, tie_word_embeddings=False),
        lora_targets=ATTN + MLP),
    "glm": dict(
        cls="GlmForCausalLM", features=["fused gate_up_proj", "q/k/v biases", "interleaved rope on half the head"],
        config=dict(SMALL, head_dim=16, pad_token_id=None, tie_word_embeddings=False),
        lora_targets=ATTN + ["gate_up_proj", "down_proj"]),
    "glm4": dict(
        cls="Glm4ForCausalLM", features=["sandwich norms", "fused gate_up_proj", "q/k/v biases",
                                         "interleaved rope on half the head"],
        config=dict(SMALL, head_dim=16, pad_token_id=None, tie_word_embeddings=False),
        lora_targets=ATTN + ["gate_up_proj", "down_proj"]),
    "phi3": dict(
        cls="Phi3ForCausalLM", features=["fused qkv_proj and gate_up_proj", "partial rotary 0.75",
                                         "longrope (short/long factors, original 16)", "sliding 8"],
        config=dict(SMALL, pad_token_id=None, partial_rotary_factor=0.75, sliding_window=8, original_max_position_embeddings=16,
                    rope_scaling=dict(rope_type="longrope", short_factor=[1.0, 1.1, 1.2, 1.5, 2.0, 3.0],
                                      long_factor=[1.0, 1.5, 2.0, 4.0, 6.0, 8.0]),
                    tie_word_embeddings=False),
        lora_targets=["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]),
    "starcoder2": dict(
        cls="Starcoder2ForCausalLM", features=["LayerNorm with bias", "biases everywhere", "plain c_fc/c_proj MLP",
                                               "sliding 8", "tied head"],
        config=dict(SMALL, sliding_window=8, use_bias=True, norm_epsilon=1e-5, tie_word_embeddings=True,
                    residual_dropout=0.0, embedding_dropout=0.0),
        lora_targets=ATTN + ["c_fc", "c_proj"]),
    "cohere": dict(
        cls="CohereForCausalLM", features=["parallel attention + MLP", "bias-free LayerNorm", "interleaved rope",
                                           "logit_scale 0.25", "tied head"],
        config=dict(SMALL, logit_scale=0.25, layer_norm_eps=1e-5, tie_word_embeddings=True),
        lora_targets=ATTN + MLP),
    "cohere2": dict(
        cls="Cohere2ForCausalLM", features=["parallel attention + MLP", "sliding 8 then full", "NoPE on full layers",
                                            "interleaved rope", "logit_scale 0.25"],
        config=dict(SMALL, logit_scale=0.25, sliding_window=8, layer_types=TWO_TYPES, layer_norm_eps=1e-5,
                    tie_word_embeddings=True),
        lora_targets=ATTN + MLP),
    "stablelm": dict(
        cls="StableLmForCausalLM", features=["LayerNorm with bias", "q/k/v biases", "rope on a quarter of the head"],
        config=dict(SMALL, use_qkv_bias=True, partial_rotary_factor=0.25, tie_word_embeddings=False),
        lora_targets=ATTN + MLP),
    "nemotron": dict(
        cls="NemotronForCausalLM", features=["LayerNorm1P (1+w, bias)", "relu2 plain MLP", "rope on half the head"],
        config=dict(SMALL, partial_rotary_factor=0.5, norm_eps=1e-5, tie_word_embeddings=False),
        lora_targets=ATTN + ["up_proj", "down_proj"]),
    "arcee": dict(
        cls="ArceeForCausalLM", features=["relu2 plain MLP"],
        config=dict(SMALL, hidden_act="relu2", tie_word_embeddings=False),
        lora_targets=ATTN + ["up_proj", "down_proj"]),
    "ernie4_5": dict(
        cls="Ernie4_5ForCausalLM", features=["interleaved rope", "head_dim 16", "tied head"],
        config=dict(SMALL, head_dim=16, use_bias=False, tie_word_embeddings=True),
        lora_targets=ATTN + MLP),
    "helium": dict(
        cls="HeliumForCausalLM", features=["interleaved rope", "fp32-scaled RMSNorm"],
        config=dict(SMALL, head_dim=16, tie_word_embeddings=False),
        lora_targets=ATTN + MLP),
    "hunyuan_v1_dense": dict(
        cls="HunYuanDenseV1ForCausalLM", features=["per-head q/k RMSNorm after rope"],
        config=dict(SMALL, head_dim=16, tie_word_embeddings=False),
        lora_targets=ATTN + MLP),
    "gpt_neox": dict(
        cls="GPTNeoXForCausalLM", features=["fused per-head query_key_value", "parallel residual, two LayerNorms",
                                            "rope on a quarter of the head", "embed_out head", "gelu plain MLP"],
        config=dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, max_position_embeddings=64, rotary_pct=0.25, use_parallel_residual=True,
                    hidden_dropout=0.0, attention_dropout=0.0, bos_token_id=1, eos_token_id=2,
                    tie_word_embeddings=False),
        lora_targets=["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]),
})

ARCHS.update({
    "glm4_moe": dict(
        cls="Glm4MoeForCausalLM", features=["8 experts in 2 groups, top-1 group, top-2 sigmoid routing",
                                            "e_score_correction_bias", "routed_scaling_factor 2.5", "shared expert",
                                            "dense first layer", "q/k norms", "rope on half the head"],
        config=dict(SMALL, n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=32, n_shared_experts=1,
                    n_group=2, topk_group=1, routed_scaling_factor=2.5, norm_topk_prob=True, first_k_dense_replace=1,
                    use_qk_norm=True, attention_bias=True, head_dim=16, experts_implementation="eager",
                    tie_word_embeddings=False),
        lora_targets=ATTN),
    "dots1": dict(
        cls="Dots1ForCausalLM", features=["4 experts top-2 sigmoid routing", "e_score_correction_bias",
                                          "2 shared experts", "dense first layer", "q/k norms"],
        config=dict(SMALL, n_routed_experts=4, num_experts_per_tok=2, moe_intermediate_size=32, n_shared_experts=2,
                    first_k_dense_replace=1, norm_topk_prob=False, sliding_window=None,
                    experts_implementation="eager", tie_word_embeddings=False),
        lora_targets=ATTN),
    "ernie4_5_moe": dict(
        cls="Ernie4_5_MoeForCausalLM", features=["4 experts top-2 softmax routing in fp32",
                                                 "choice-only correction bias (moe_statics)", "shared expert",
                                                 "dense first layer", "interleaved rope", "router aux loss"],
        config=dict(SMALL, head_dim=16, moe_num_experts=4, moe_k=2, moe_intermediate_size=32,
                    moe_num_shared_experts=1, moe_layer_start_index=1, output_router_logits=True,
                    router_aux_loss_coef=0.02, use_bias=False, experts_implementation="eager",
                    tie_word_embeddings=True),
        lora_targets=ATTN),
})

ARCHS.update({
    "deepseek_v3": dict(
        cls="DeepseekV3ForCausalLM", features=["MLA: q_lora 32, kv_lora 32, nope 16 + rope 8 (interleaved), v 16",
                                               "yarn x4 with mscale_all_dim (softmax scale)",
                                               "8 experts in 2 groups, top-1 group, top-2 sigmoid routing",
                                               "e_score_correction_bias", "shared expert", "dense first layer"],
        config=dict(SMALL, num_key_value_heads=4, q_lora_rank=32, kv_lora_rank=32, qk_nope_head_dim=16,
                    qk_rope_head_dim=8, v_head_dim=16, n_routed_experts=8, num_experts_per_tok=2,
                    moe_intermediate_size=32, n_shared_experts=1, n_group=2, topk_group=1, routed_scaling_factor=2.5,
                    first_k_dense_replace=1,
                    rope_scaling=dict(rope_type="yarn", factor=4.0, original_max_position_embeddings=16,
                                      mscale=1.0, mscale_all_dim=1.0, beta_fast=32, beta_slow=1),
                    experts_implementation="eager", tie_word_embeddings=False),
        lora_targets=["q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj"]),
    "deepseek_v2": dict(
        cls="DeepseekV2ForCausalLM", features=["MLA without q_lora_rank (V2-Lite): q_proj, kv_lora 32, nope 16 + rope 8",
                                               "yarn x4 with mscale_all_dim (softmax scale)",
                                               "8 experts in 4 groups, top-2 groups by their best expert, top-2 "
                                               "softmax routing x 1.5, no renormalisation", "2 shared experts",
                                               "dense first layer"],
        config=dict(SMALL, num_key_value_heads=4, q_lora_rank=None, kv_lora_rank=32, qk_nope_head_dim=16,
                    qk_rope_head_dim=8, v_head_dim=16, n_routed_experts=8, num_experts_per_tok=2,
                    moe_intermediate_size=32, n_shared_experts=2, topk_method="group_limited_greedy", n_group=4,
                    topk_group=2, routed_scaling_factor=1.5, first_k_dense_replace=1,
                    rope_scaling=dict(rope_type="yarn", factor=4.0, original_max_position_embeddings=16,
                                      mscale=1.0, mscale_all_dim=1.0, beta_fast=32, beta_slow=1),
                    experts_implementation="eager", tie_word_embeddings=False),
        lora_targets=["q_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj"]),
})

ARCHS.update({
    "gpt_oss": dict(
        cls="GptOssForCausalLM", features=["attention sinks", "sliding 8 / full alternating", "q/k/v/o biases",
                                           "4 fused experts (interleaved gate/up, biases), top-2 of biased router",
                                           "clamped SwiGLU (limit 7)", "yarn x4 (truncate false)", "router aux loss"],
        config=dict(SMALL, head_dim=16, intermediate_size=32, num_local_experts=4, num_experts_per_tok=2,
                    sliding_window=8, output_router_logits=True, router_aux_loss_coef=0.02,
                    rope_parameters=dict(rope_type="yarn", factor=4.0, beta_fast=32.0, beta_slow=1.0, truncate=False,
                                         original_max_position_embeddings=16, rope_theta=150000.0),
                    experts_implementation="eager", tie_word_embeddings=False),
        lora_targets=ATTN),
})

ARCHS.update({
    "phi": dict(
        cls="PhiForCausalLM", features=["parallel attention + MLP, one LayerNorm", "biases everywhere incl. lm_head",
                                        "rope on 0.4 of the head", "gelu_new fc1/fc2 MLP"],
        config=dict(SMALL, num_key_value_heads=4, partial_rotary_factor=0.4, resid_pdrop=0.0, embd_pdrop=0.0,
                    attention_dropout=0.0, hidden_act="gelu_new", layer_norm_eps=1e-5, tie_word_embeddings=False),
        lora_targets=["q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"]),
})

LINEAR_ATTN = dict(linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=16, linear_value_head_dim=16,
                   linear_conv_kernel_dim=4)
ARCHS.update({
    "qwen3_next": dict(
        cls="Qwen3NextForCausalLM", features=["Gated DeltaNet / gated attention alternating (layer_types)",
                                              "(1+w) RMSNorms", "rope on a quarter of the head",
                                              "4 experts top-2 + gated shared expert", "router aux loss"],
        config=dict(SMALL, head_dim=16, layer_types=["linear_attention", "full_attention"], **LINEAR_ATTN,
                    num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32, shared_expert_intermediate_size=48,
                    norm_topk_prob=True, output_router_logits=True, router_aux_loss_coef=0.02,
                    experts_implementation="eager", tie_word_embeddings=False),
        lora_targets=ATTN),
    "qwen3_5_text": dict(
        cls="Qwen3_5ForCausalLM", features=["Gated DeltaNet / gated attention alternating (layer_types)",
                                            "(1+w) RMSNorms", "rope on a quarter of the head", "dense SwiGLU"],
        config=dict(SMALL, head_dim=16, layer_types=["linear_attention", "full_attention"], **LINEAR_ATTN,
                    tie_word_embeddings=False),
        lora_targets=ATTN + MLP),
})

ARCHS.update({
    "qwen3_5_moe_text": dict(
        cls="Qwen3_5MoeForCausalLM", features=["Gated DeltaNet / gated attention alternating (layer_types)",
                                               "(1+w) RMSNorms", "rope on a quarter of the head",
                                               "4 experts top-2 on every layer",
                                               "gated shared expert", "router aux loss"],
        config=dict({k: v for k, v in SMALL.items() if k != "intermediate_size"}, head_dim=16,
                    layer_types=["linear_attention", "full_attention"], **LINEAR_ATTN, num_experts=4,
                    num_experts_per_tok=2, moe_intermediate_size=32, shared_expert_intermediate_size=48,
                    output_router_logits=True, router_aux_loss_coef=0.02, experts_implementation="eager",
                    tie_word_embeddings=False),
        lora_targets=ATTN),
})

ARCHS.update({
    "lfm2": dict(
        cls="Lfm2ForCausalLM", features=["short-conv layers 0, 2 / attention layers 1, 3 (full_attn_idxs)",
                                         "conv bias", "per-head q/k RMSNorms", "auto-sized SwiGLU (multiple of 16)",
                                         "tied head"],
        config=dict({k: v for k, v in SMALL.items() if k not in ("rms_norm_eps", "num_hidden_layers")},
                    num_hidden_layers=4, norm_eps=1e-5, full_attn_idxs=[1, 3], conv_L_cache=3, conv_bias=True,
                    block_multiple_of=16, block_ffn_dim_multiplier=1.0, tie_word_embeddings=True),
        lora_targets=["q_proj", "k_proj", "v_proj", "out_proj", "in_proj", "w1", "w2", "w3"]),
})

LLAMA4 = dict(SMALL, num_hidden_layers=4, head_dim=16, intermediate_size=32, intermediate_size_mlp=128,
              num_local_experts=4, num_experts_per_tok=1, interleave_moe_layer_step=2, no_rope_layer_interval=2,
              attention_chunk_size=8, floor_scale=4, attn_scale=0.1, use_qk_norm=True, attn_temperature_tuning=True,
              rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                original_max_position_embeddings=16), tie_word_embeddings=False)
ARCHS.update({
    "llama4_text": dict(
        cls="Llama4ForCausalLM", features=["chunked attention (8) on rope layers 0, 2", "NoPE layers 1, 3 with query "
                                           "temperature (floor_scale 4)", "unweighted q/k RMS norm after rope",
                                           "interleaved llama3 rope", "top-1 sigmoid MoE on layers 1, 3 scaling the "
                                           "expert input, shared expert", "dense layers: intermediate_size_mlp"],
        config=LLAMA4, lora_targets=ATTN + MLP),
})

ARCHS.update({
    "gemma4_text": dict(
        cls="Gemma4ForCausalLM", features=["sandwich fp32-scaled RMSNorms", "sliding 8 / full (last layer full)",
                                           "full layer: head_dim 32, 1 kv head, K as V (attention_k_eq_v)",
                                           "q/k norms + unweighted v norm, attention scale 1",
                                           "proportional rope (a quarter of the pairs) on full layers",
                                           "layer_scalar", "final softcap 30", "tied head"],
        config=dict(SMALL, num_hidden_layers=3, head_dim=16, global_head_dim=32, num_global_key_value_heads=1,
                    attention_k_eq_v=True, sliding_window=8, hidden_activation="gelu_pytorch_tanh",
                    layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                    final_logit_softcapping=30.0, hidden_size_per_layer_input=0, vocab_size_per_layer_input=VOCAB,
                    tie_word_embeddings=True),
        lora_targets=ATTN + MLP),
})

ARCHS.update({
    "ministral3": dict(
        cls="Ministral3ForCausalLM", features=["yarn x4 (original 8) with mscale_all_dim",
                                               "query temperature llama_4_scaling_beta 0.1 over 8 positions",
                                               "head_dim 16", "untied head"],
        config=dict(SMALL, head_dim=16, rms_norm_eps=1e-5, pad_token_id=None, tie_word_embeddings=False,
                    rope_parameters=dict(rope_type="yarn", rope_theta=1000000.0, factor=4.0,
                                         original_max_position_embeddings=8, beta_fast=32.0, beta_slow=1.0,
                                         mscale=1.0, mscale_all_dim=1.0, llama_4_scaling_beta=0.1)),
        lora_targets=ATTN + MLP),
})

FALCON = dict(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, layer_norm_epsilon=1e-5,
              max_position_embeddings=64, bos_token_id=1, eos_token_id=2, alibi=False)
ARCHS.update({
    "falcon": dict(
        cls="FalconForCausalLM", features=["Falcon-40B layout: new_decoder_architecture, 4 q heads in 2 kv groups",
                                           "ln_attn + ln_mlp in parallel", "biases", "ffn_hidden_size 96", "tied head"],
        config=dict(FALCON, new_decoder_architecture=True, num_kv_heads=2, bias=True, ffn_hidden_size=96,
                    tie_word_embeddings=True),
        lora_targets=["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]),
})

ARCHS.update({
    "glm4_moe_lite": dict(
        cls="Glm4MoeLiteForCausalLM", features=["MLA: q_lora 32, kv_lora 32, nope 16 + rope 8 (interleaved), v 16",
                                                "4 experts top-2 sigmoid routing", "e_score_correction_bias",
                                                "routed_scaling_factor 1.8", "shared expert",
                                                "dense first layer (mlp_layer_types)"],
        config=dict(SMALL, num_key_value_heads=4, q_lora_rank=32, kv_lora_rank=32, qk_nope_head_dim=16,
                    qk_rope_head_dim=8, v_head_dim=16, n_routed_experts=4, num_experts_per_tok=2,
                    moe_intermediate_size=32, n_shared_experts=1, routed_scaling_factor=1.8,
                    mlp_layer_types=["dense", "sparse"], experts_implementation="eager", tie_word_embeddings=False),
        lora_targets=["q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj"]),
})

ARCHS.update({
    "nemotron_h": dict(
        cls="NemotronHForCausalLM", features=["blocks M E * - M: Mamba2, MoE, attention (no positions), MLP, Mamba2",
                                              "Mamba2: 4 heads of 16 in 2 groups, state 16, conv 4, chunks of 8 "
                                              "(the rows span several), dt clamped at time_step_min",
                                              "8 squared-ReLU experts in 2 groups, top-1 group, top-2 sigmoid routing, "
                                              "e_score_correction_bias, routed scaling 2.5, shared expert",
                                              "fp32-scaled RMSNorms", "untied head"],
        config=dict(vocab_size=VOCAB, hidden_size=64, layers_block_type=["linear_attention", "moe", "full_attention",
                                                                          "mlp", "linear_attention"],
                    num_attention_heads=4, num_key_value_heads=2, head_dim=16, intermediate_size=96,
                    mamba_num_heads=4, mamba_head_dim=16, n_groups=2, ssm_state_size=16, conv_kernel=4, chunk_size=8,
                    time_step_min=0.001, n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=32,
                    moe_shared_expert_intermediate_size=48, n_group=2, topk_group=1, routed_scaling_factor=2.5,
                    layer_norm_epsilon=1e-5, max_position_embeddings=64, bos_token_id=1, eos_token_id=2,
                    pad_token_id=0, tie_word_embeddings=False, experts_implementation="eager"),
        # PEFT refuses Mamba out_proj and conv1d; up/down_proj would also name our per-expert modules
        # (the checkpoint's layout), which PEFT cannot adapt in transformers' stacked experts.
        lora_targets=ATTN + ["in_proj"]),
    "falcon_h1": dict(
        cls="FalconH1ForCausalLM", features=["Mamba2 beside attention in every layer", "Mamba2: 4 heads of 32 "
                                             "(d_ssm 128) in 2 groups, state 16, chunks of 8, grouped gated norm",
                                             "muP multipliers: embeddings, lm_head, keys, attention in/out, ssm "
                                             "in/out, the 5 in_proj sections, MLP gate/down", "untied head"],
        config=dict(SMALL, mamba_d_ssm=128, mamba_n_heads=4, mamba_n_groups=2, mamba_d_state=16, mamba_d_conv=4,
                    mamba_chunk_size=8, mamba_rms_norm=True, mamba_norm_before_gate=False, rope_theta=1e5,
                    embedding_multiplier=5.6, lm_head_multiplier=0.04, key_multiplier=0.4,
                    attention_in_multiplier=1.5, attention_out_multiplier=0.9, ssm_in_multiplier=1.2,
                    ssm_out_multiplier=0.3, ssm_multipliers=[0.35, 0.25, 0.5, 0.5, 0.35], mlp_multipliers=[0.9, 0.6],
                    tie_word_embeddings=False),
        lora_targets=ATTN + MLP + ["in_proj"]),
    "granitemoehybrid": dict(
        cls="GraniteMoeHybridForCausalLM", features=["Mamba2 / attention (no positions) / Mamba2 / attention",
                                                     "Mamba2: 4 heads of 32 (auto) in 2 groups, state 16, chunks of 8",
                                                     "4 experts top-2 (softmax of the top-2 logits), router aux loss",
                                                     "shared_mlp beside the MoE", "Granite multipliers", "tied head"],
        config=dict(SMALL, intermediate_size=32, shared_intermediate_size=96, num_hidden_layers=4,
                    layer_types=["mamba", "attention", "mamba", "attention"], position_embedding_type="nope",
                    mamba_n_heads=4, mamba_n_groups=2, mamba_d_state=16, mamba_expand=2, mamba_d_conv=4,
                    mamba_chunk_size=8, num_local_experts=4, num_experts_per_tok=2, output_router_logits=True,
                    router_aux_loss_coef=0.02, embedding_multiplier=12.0, residual_multiplier=0.22,
                    attention_multiplier=0.0625, logits_scaling=8.0, tie_word_embeddings=True,
                    experts_implementation="eager"),
        lora_targets=ATTN + ["in_proj", "input_linear", "output_linear"]),
})

# Composite (VLM) checkpoints whose language model we train as a causal LM: model_type -> the
# wrapper class with a tiny vision tower, and a text_config from the entry of its text model_type.
# Only the language model runs (text-only inputs); its checkpoint names are the wrapper's.
def text_config_of(model_type, **changes):
    return dict(ARCHS[model_type]["config"], model_type=model_type, **changes)


# Mistral 3's Pixtral tower, shared by the composites around mistral and ministral3.
PIXTRAL_TINY = dict(model_type="pixtral", hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                    num_attention_heads=2, head_dim=16, image_size=32, patch_size=8)

COMPOSITES = {
    "qwen3_5": dict(
        cls="Qwen3_5ForConditionalGeneration", text="qwen3_5_text",
        features=["Qwen3.5 as it ships: Qwen3_5ForConditionalGeneration, model.language_model.*, vision tower"],
        config=dict(text_config=text_config_of("qwen3_5_text"), tie_word_embeddings=False,
                    vision_config=dict(depth=1, hidden_size=32, num_heads=2, intermediate_size=64, out_hidden_size=64,
                                       patch_size=4, temporal_patch_size=2, spatial_merge_size=2,
                                       num_position_embeddings=16)),
        lora_targets=ATTN + MLP),
    "qwen3_5_moe": dict(
        cls="Qwen3_5MoeForConditionalGeneration", text="qwen3_5_moe_text",
        features=["Qwen3.5/3.6-MoE as it ships: Qwen3_5MoeForConditionalGeneration, model.language_model.*"],
        config=dict(text_config=text_config_of("qwen3_5_moe_text"), tie_word_embeddings=False,
                    vision_config=dict(depth=1, hidden_size=32, num_heads=2, intermediate_size=64, out_hidden_size=64,
                                       patch_size=4, temporal_patch_size=2, spatial_merge_size=2,
                                       num_position_embeddings=16)),
        lora_targets=ATTN),
    "llama4": dict(
        cls="Llama4ForConditionalGeneration", text="llama4_text",
        features=["Llama 4 Scout/Maverick as they ship: language_model.model.* (v4 layout), vision_model, projector"],
        config=dict(text_config=text_config_of("llama4_text"), tie_word_embeddings=False,
                    vision_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                                       image_size=28, patch_size=14, vision_output_dim=32, projector_input_dim=32,
                                       projector_output_dim=32, pixel_shuffle_ratio=0.5)),
        lora_targets=ATTN + MLP),
    "gemma4": dict(
        cls="Gemma4ForConditionalGeneration", text="gemma4_text",
        features=["Gemma 4 12B/31B as they ship: Gemma4ForConditionalGeneration, vision tower, tied head"],
        config=dict(text_config=text_config_of("gemma4_text"),
                    vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                       num_attention_heads=2, num_key_value_heads=2, head_dim=16, patch_size=4,
                                       position_embedding_size=64)),
        lora_targets=ATTN + MLP),
    "gemma4_e2b": dict(
        cls="Gemma4ForConditionalGeneration", text="gemma4_text",
        features=["Gemma 4 E2B/E4B as they ship: vision and audio towers around per-layer inputs and KV sharing"],
        config=dict(text_config=None,  # the gemma4_text_e2b variant's, set below
                    vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                       num_attention_heads=2, num_key_value_heads=2, head_dim=16, patch_size=4,
                                       position_embedding_size=64),
                    audio_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                      subsampling_conv_channels=[8, 4], output_proj_dims=32)),
        lora_targets=ATTN + MLP),
    "gemma3": dict(
        cls="Gemma3ForConditionalGeneration", text="gemma3_text",
        features=["Gemma 3 as it ships: Gemma3ForConditionalGeneration, SigLIP tower, projector"],
        config=dict(text_config=text_config_of("gemma3_text"), mm_tokens_per_image=4,
                    vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                       num_attention_heads=2, image_size=28, patch_size=14)),
        lora_targets=ATTN + MLP),
    "mistral3": dict(
        cls="Mistral3ForConditionalGeneration", text="mistral",
        features=["Mistral Small 3.x as it ships: Mistral3ForConditionalGeneration, Pixtral tower, projector"],
        config=dict(text_config=text_config_of("mistral"), tie_word_embeddings=False,
                    vision_config=PIXTRAL_TINY),
        lora_targets=ATTN + MLP),
    "mistral3_ministral3": dict(
        cls="Mistral3ForConditionalGeneration", text="ministral3",
        features=["Ministral 3 as it ships: Mistral3ForConditionalGeneration around a ministral3 text model"],
        config=dict(text_config=text_config_of("ministral3"), tie_word_embeddings=False,
                    vision_config=PIXTRAL_TINY),
        lora_targets=ATTN + MLP),
}

# Second layouts of a registered model_type that checkpoints in use switch on: entry name -> spec
# (its config's model_type is the registered one).
VARIANTS = {
    "gemma4_moe": dict(
        cls="Gemma4ForCausalLM", features=["Gemma 4 26B-A4B layout: a MoE block (8 experts top-2, router with its own "
                                           "norm, scale and per-expert scales) beside every layer's MLP"],
        config=dict(ARCHS["gemma4_text"]["config"], enable_moe_block=True, num_experts=8, top_k_experts=2,
                    moe_intermediate_size=32, experts_implementation="eager"),
        lora_targets=ATTN + MLP),
    "gemma4_text_e2b": dict(
        cls="Gemma4ForCausalLM", features=["Gemma 4 E2B/E4B layout: per-layer input embeddings (16 per layer)",
                                           "layers 3, 4 attend with the keys/values of layers 2 (sliding) and 1 "
                                           "(full), with MLPs twice as wide", "full layers with their own v_proj"],
        config=dict(ARCHS["gemma4_text"]["config"], num_hidden_layers=5, attention_k_eq_v=False,
                    layer_types=["sliding_attention", "full_attention", "sliding_attention", "sliding_attention",
                                 "full_attention"],
                    hidden_size_per_layer_input=16, vocab_size_per_layer_input=VOCAB, num_kv_shared_layers=2,
                    use_double_wide_mlp=True),
        lora_targets=ATTN + MLP),
    "falcon_7b": dict(
        cls="FalconForCausalLM", features=["Falcon-7B layout: multi-query (4 q heads, 1 kv head)",
                                           "parallel attention + MLP on one input_layernorm", "no biases", "tied head"],
        config=dict(FALCON, multi_query=True, parallel_attn=True, bias=False, tie_word_embeddings=True),
        lora_targets=["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]),
    "falcon_sequential": dict(
        cls="FalconForCausalLM", features=["multi-head per-head [q|k|v] query_key_value",
                                           "sequential attention then MLP (post_attention_layernorm)", "biases"],
        config=dict(FALCON, multi_query=False, parallel_attn=False, bias=True, tie_word_embeddings=False),
        lora_targets=["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]),
}
COMPOSITES["gemma4_e2b"]["config"]["text_config"] = dict(VARIANTS["gemma4_text_e2b"]["config"], model_type="gemma4_text")

# The training runs (full fine-tune and LoRA). One micro-batch holds the whole dataset.
# Adam's eps is 1e-6, not the usual 1e-8: gradient elements at the rounding-noise floor would
# otherwise get full-size sign updates, making step 3 depend on the last bits of either side
# (measured on gemma4_e2b's LoRA run: a 1e-6 relative nudge of lora_A moved transformers' own
# step-3 grad norm by 1.3e-4 with eps 1e-8, by 3e-6 with 1e-6).
TRAIN = dict(steps=3, lr=2e-3, betas=[0.9, 0.95], eps=1e-6, weight_decay=0.05, max_grad_norm=1.0, seed=SEED)
LORA = dict(r=8, alpha=16.0, lr=1e-2)
TEXTS = [
    "Once upon a time, there was a little dog named Max.",
    "Lily liked to play in the park with her red ball.",
    "The sun was big and warm. Tom and his mom went to the sea to swim.",
    "One day, a bird found a shiny stone near the tree.",
    "They were happy and laughed all day.",
]


def versions():
    def version(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None  # peft is optional: without it the LoRA references say why they are missing
    return {name: version(name) for name in ("torch", "transformers", "peft", "safetensors", "tokenizers")}


def main():
    if sys.argv[1:] == ["--fingerprint"]:
        print(json.dumps(versions(), sort_keys=True))
        return
    if sys.argv[1] == "--check-composite":
        check_composite(sys.argv[2], sys.argv[3])
        return
    out_dir = sys.argv[1]
    only = None
    if len(sys.argv) > 3 and sys.argv[2] == "--only":
        only = set(sys.argv[3].split(","))

    import torch
    import transformers
    from transformers import AutoTokenizer

    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    os.makedirs(out_dir, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    dataset = write_dataset(out_dir, tokenizer)
    done, composites, variants = [], [], []
    for model_type, spec in list(ARCHS.items()) + list(COMPOSITES.items()) + list(VARIANTS.items()):
        if only and model_type not in only:
            continue
        arch_dir = os.path.join(out_dir, model_type)
        os.makedirs(arch_dir, exist_ok=True)
        model = build_model(transformers, spec)
        model_dir = os.path.join(arch_dir, "model")
        model.save_pretrained(model_dir, safe_serialization=True)
        for name in TOKENIZER_FILES:
            shutil.copyfile(os.path.join(TOKENIZER_DIR, name), os.path.join(model_dir, name))
        names = write_forward_reference(torch, model, arch_dir)
        check_reload(torch, model_dir, spec, arch_dir)
        write_meta(model_type, spec, model, arch_dir, names)
        train = {"full": train_reference(torch, model_dir, spec, dataset, lora=False)}
        train["lora"] = train_reference(torch, model_dir, spec, dataset, lora=True)
        with open(os.path.join(arch_dir, "train.json"), "w") as f:
            json.dump(train, f, indent=1)
        (composites if model_type in COMPOSITES else variants if model_type in VARIANTS else done).append(model_type)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"model_types": done, "composite_types": composites, "variants": variants, "versions": versions()},
                  f, indent=1)


def write_dataset(out_dir, tokenizer):
    """Rows as our TextDataset reads them; ids as it must tokenize them (bos .. eos)."""
    path = os.path.join(out_dir, "dataset.jsonl")
    with open(path, "w") as f:
        for text in TEXTS:
            f.write(json.dumps({"text": text}) + "\n")
    rows = []
    for text in TEXTS:
        ids = tokenizer(text, add_special_tokens=True)["input_ids"]
        if not ids or ids[-1] != tokenizer.eos_token_id:
            ids.append(tokenizer.eos_token_id)
        rows.append(ids)
    return {"path": path, "rows": rows, "pad_id": tokenizer.eos_token_id}


def build_model(transformers, spec):
    """HF's own init under a seed, then larger seeded weights so every layer matters."""
    import torch
    cls = getattr(transformers, spec["cls"])
    config = cls.config_class(**spec["config"], attn_implementation="eager")
    torch.manual_seed(SEED)
    model = cls(config).to(torch.float32)
    g = torch.Generator().manual_seed(SEED)
    conv1d = getattr(transformers.pytorch_utils, "Conv1D", ())
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    conv_weights = {id(m.weight) for m in model.modules() if isinstance(m, conv1d)}
    with torch.no_grad():
        for _, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float64).to(torch.float32)
            if p.dim() == 1:
                p.add_(0.1 * noise)  # norms (1 or 0) and biases
            elif id(p) in embeddings:
                p.copy_(2 * noise / math.sqrt(p.shape[-1]))
            else:
                fan_in = p.shape[0] if id(p) in conv_weights else p.shape[-1]
                p.copy_(noise / math.sqrt(fan_in))
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):  # routers' choice-only bias: make it matter
                b.copy_(0.1 * torch.randn(b.shape, generator=g, dtype=torch.float64).to(b.dtype))
    model.eval()
    return model


def language_model(model):
    """The decoder body: base_model, or a composite's language model."""
    base = model.base_model
    if hasattr(base, "language_model"):
        base = base.language_model
    if not hasattr(base, "layers") and not hasattr(base, "h") and hasattr(base, "model"):
        base = base.model  # Llama4ForCausalLM's base_model_prefix names its VLM parent
    return base


def decoder_layers(model):
    base = language_model(model)
    return base.layers if hasattr(base, "layers") else base.h


def final_norm(model):
    base = language_model(model)
    for name in ("norm", "final_layer_norm", "final_layernorm", "ln_f", "embedding_norm", "norm_f"):
        if hasattr(base, name):
            return getattr(base, name)
    raise SystemExit(f"{type(model).__name__}: no final norm found")


def checkpoint_names(model, tensors):
    """Our parameter names are the checkpoint's: undo transformers' load-time conversions
    (e.g. v5's fused MoE experts) exactly as save_pretrained does."""
    from transformers.core_model_loading import revert_weight_conversion
    return revert_weight_conversion(model, dict(tensors))


def write_forward_reference(torch, model, arch_dir):
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(INPUT_SEED)
    input_ids = torch.randint(0, VOCAB, (BATCH, SEQ), generator=g, dtype=torch.int64)
    labels = input_ids.clone()
    labels[:, :6] = -100

    captured = {}
    hooks = []
    layers = decoder_layers(model)

    def first(x):
        return x[0] if isinstance(x, (tuple, list)) else x

    def pre_hook(_module, args, kwargs):
        captured["hidden_states.0"] = (args[0] if args else kwargs["hidden_states"]).detach().clone()

    hooks.append(layers[0].register_forward_pre_hook(pre_hook, with_kwargs=True))
    for i, layer in enumerate(layers):
        hooks.append(layer.register_forward_hook(
            lambda _m, _a, out, i=i: captured.__setitem__(f"layer_output.{i}", first(out).detach().clone())))
    hooks.append(final_norm(model).register_forward_hook(
        lambda _m, _a, out: captured.__setitem__("final_norm", out.detach().clone())))
    routers = {}  # layer index -> router module's checkpoint name
    layers_name = next(n for n, m in model.named_modules() if m is layers)
    for i, layer in enumerate(layers):
        for sub, module in layer.named_modules():
            # Gemma 4's router reports probabilities, and nothing trains on them (no router loss).
            if type(module).__name__.endswith("Router") and type(module).__name__ != "Gemma4TextRouter":
                param = f"{layers_name}.{i}.{sub}.weight"
                (renamed,) = checkpoint_names(model, {param: torch.zeros(1)}).keys()
                routers[i] = renamed[: -len(".weight")]
                # Llama 4's router returns (scores, logits); Granite 4's (indices, weights, logits),
                # which its model's output recorder names; the others their logits first.
                recorder = getattr(type(language_model(model)), "_can_record_outputs", {}).get("router_logits")
                index = getattr(recorder, "index", 0) if isinstance(module, getattr(recorder, "target_class", ())) else 0
                if type(module).__name__ == "Llama4Router":
                    index = 1
                logits_of = (lambda out, index=index: out[index]) if index else first
                hooks.append(module.register_forward_hook(
                    lambda _m, _a, out, i=i, pick=logits_of: captured.__setitem__(f"router.{i}",
                                                                                  pick(out).detach().clone())))

    for p in model.parameters():
        p.grad = None
    out = model(input_ids=input_ids, labels=labels, use_cache=False)
    out.loss.backward()
    for h in hooks:
        h.remove()

    L = len(layers)
    tensors = {"input_ids": input_ids, "labels": labels, "logits": out.logits.detach(), "loss": out.loss.detach()}
    tensors["hidden_states.0"] = captured["hidden_states.0"]
    for i in range(L):
        tensors[f"layer_output.{i}"] = captured[f"layer_output.{i}"]
        if i + 1 < L:
            tensors[f"hidden_states.{i + 1}"] = captured[f"layer_output.{i}"]
    tensors[f"hidden_states.{L}"] = captured["final_norm"]  # HF's last entry: the final norm's output
    for i, name in routers.items():
        tensors[f"router_logits.{name}"] = captured[f"router.{i}"].reshape(-1, captured[f"router.{i}"].shape[-1])
    grads = checkpoint_names(model, {n: p.grad.detach().clone() for n, p in model.named_parameters()
                                     if p.grad is not None})
    for name, grad in grads.items():
        tensors[f"grad.{name}"] = grad
    tensors = {k: v.contiguous().clone() for k, v in tensors.items()}
    save_file(tensors, os.path.join(arch_dir, "expected.safetensors"))
    for p in model.parameters():
        p.grad = None
    return sorted(tensors)


def load_saved(torch, model_dir, spec):
    import transformers
    extra = {"experts_implementation": "eager"} if "experts_implementation" in spec["config"] else {}
    # A composite loads as its own class: AutoModelForCausalLM would take only its language model.
    cls = getattr(transformers, spec["cls"]) if "text" in spec else transformers.AutoModelForCausalLM
    return cls.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager", **extra)


def check_reload(torch, model_dir, spec, arch_dir):
    """The saved folder is the model the references come from: reloaded, same logits."""
    from safetensors.torch import load_file
    expected = load_file(os.path.join(arch_dir, "expected.safetensors"))
    with torch.no_grad():
        logits = load_saved(torch, model_dir, spec).eval()(input_ids=expected["input_ids"], use_cache=False).logits
    diff = (logits - expected["logits"]).abs().max().item()
    if diff != 0.0:
        raise SystemExit(f"{model_dir}: reloaded model's logits differ from the in-memory model's by {diff}")


def is_foreign(name, body):
    """Outside a composite's language model: neither its body nor its head (lm_head, or v4's
    language_model.lm_head)."""
    return not name.startswith(body + ".") and "lm_head" not in name.split(".")


def frozen_weights(model, spec):
    """Checkpoint tensors HF never trains (buffers, requires_grad=False parameters) and, for a
    composite, every tensor outside its language model (text-only inputs): no gradient."""
    import torch
    frozen = {n: torch.zeros(1) for n, _ in model.named_buffers(remove_duplicate=False)}
    frozen.update({n: torch.zeros(1) for n, p in model.named_parameters() if not p.requires_grad})
    if "text" in spec:
        body = next(n for n, m in model.named_modules() if m is language_model(model))
        frozen.update({n: torch.zeros(1) for n, _ in model.named_parameters() if is_foreign(n, body)})
    return sorted(checkpoint_names(model, frozen))


def write_meta(model_type, spec, model, arch_dir, names):
    import torch
    meta = {
        "name": model_type, "model_class": spec["cls"], "model_type": model.config.model_type, "features": spec["features"],
        "versions": versions(), "attn_implementation": "eager", "dtype": "float32",
        "mode": "eval (dropout inactive), use_cache=False",
        "seed": {"torch.manual_seed (HF init)": SEED, "reinit generator": SEED, "input generator": INPUT_SEED},
        "weight_init": "HF init, then per parameter (named_parameters order, float64 randn from Generator(SEED)): "
                       "1-D: init + 0.1*noise; nn.Embedding: 2*noise/sqrt(d); others: noise/sqrt(fan_in)",
        "inputs": {"input_ids": f"int64 [{BATCH},{SEQ}] uniform in [0,{VOCAB}) from Generator({INPUT_SEED})",
                   "labels": "input_ids with labels[:, :6] = -100"},
        "loss": "HF's loss from forward(labels=...) (including the router aux loss where the config enables it)",
        "hidden_states": "[0] input of layer 0, [i] output of layer i-1, last = final norm output",
        "tied_lm_head": bool(model.config.tie_word_embeddings),
        "num_threads": torch.get_num_threads(),
        "tensor_names": names,
        "no_gradient": frozen_weights(model, spec),
    }
    with open(os.path.join(arch_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def init_lora_like_automodel(torch, model, seed, targets):
    """Our LoRA init (src/automodel/peft/lora.cpp): manual_seed(seed), then for each adapted
    Linear in module order, lora_A ~ N(0, sqrt(2 / (in + r))) (xavier normal) and lora_B = 0."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, module in model.named_modules():
            if name.rsplit(".", 1)[-1] not in targets or not hasattr(module, "lora_A"):
                continue
            a = module.lora_A["default"].weight  # (r, in)
            a.normal_(0.0, math.sqrt(2.0 / (a.shape[0] + a.shape[1])))
            module.lora_B["default"].weight.zero_()


def train_reference(torch, model_dir, spec, dataset, lora):
    """3 optimizer steps on the whole dataset as one batch: loss (CE only), pre-clip grad norm."""
    settings = dict(TRAIN)
    if lora:
        if spec["lora_targets"] is None:
            return {"skip": spec["lora_why"]}
        try:
            import peft
        except ImportError as e:
            return {"skip": f"peft is not installed: {e}"}
        settings.update(lr=LORA["lr"], lora_r=LORA["r"], lora_alpha=LORA["alpha"], lora_targets=spec["lora_targets"])
    model = load_saved(torch, model_dir, spec)
    if lora:
        targets = spec["lora_targets"]
        if "text" in spec:  # the language model's modules only, as we adapt them
            targets = r".*language_model.*\.(" + "|".join(targets) + ")"
        config = peft.LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=0.0,
                                 target_modules=targets, bias="none", task_type="CAUSAL_LM")
        model = peft.get_peft_model(model, config)
        init_lora_like_automodel(torch, model, settings["seed"], spec["lora_targets"])
    model.train()
    rows = dataset["rows"]
    length = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), length), dataset["pad_id"], dtype=torch.int64)
    labels = torch.full((len(rows), length), -100, dtype=torch.int64)
    attention_mask = torch.zeros((len(rows), length), dtype=torch.int64)
    for i, r in enumerate(rows):
        input_ids[i, : len(r)] = torch.tensor(r)
        labels[i, : len(r)] = torch.tensor(r)
        attention_mask[i, : len(r)] = 1
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=settings["lr"], betas=tuple(settings["betas"]), eps=settings["eps"],
                            weight_decay=settings["weight_decay"])
    steps = []
    for _ in range(settings["steps"]):
        out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels, use_cache=False)
        aux = getattr(out, "aux_loss", None)
        coef = getattr(model.config.get_text_config(), "router_aux_loss_coef", 0.0)
        ce = out.loss - coef * aux if aux is not None else out.loss
        out.loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, settings["max_grad_norm"])
        opt.step()
        opt.zero_grad()
        steps.append({"loss": ce.item(), "grad_norm": norm.item(),
                      "aux_loss": aux.item() if aux is not None else None})
    label_tokens = int((labels[:, 1:] != -100).sum())
    return {"settings": settings, "dataset": os.path.basename(dataset["path"]), "rows": len(rows), "label_tokens": label_tokens,
            "token_ids": rows, "steps": steps, "trainable_parameters": sum(p.numel() for p in params)}


def check_composite(spec_path, report_path):
    """A folder we exported from a composite: loads as its wrapper class (+ PEFT adapter) with no
    missing or unexpected tensors, the parts we do not train equal to the base's, and its logits
    on `inputs` against ours (`automodel debug forward`)."""
    import torch
    import transformers
    from safetensors.torch import load_file
    torch.set_num_threads(1)
    spec = json.load(open(spec_path))
    entry = COMPOSITES[spec["model_type"]]
    cls = getattr(transformers, entry["cls"])
    kwargs = dict(dtype=torch.float32, attn_implementation="eager")
    model, info = cls.from_pretrained(spec["model"], output_loading_info=True, **kwargs)
    base = cls.from_pretrained(spec["base"], **kwargs)
    body = next(n for n, m in model.named_modules() if m is language_model(model))
    theirs = dict(base.named_parameters())
    foreign = [n for n, _ in model.named_parameters() if is_foreign(n, body)]
    ours_params = dict(model.named_parameters())
    changed = [n for n in foreign if not torch.equal(ours_params[n], theirs[n])]
    if spec.get("adapter"):
        import peft
        model = peft.PeftModel.from_pretrained(model, spec["adapter"])
    inputs = load_file(spec["inputs"])["input_ids"]
    with torch.no_grad():
        ref = model.eval()(input_ids=inputs, use_cache=False).logits
    ours = load_file(spec["ours"])["logits"]
    rel = float((ours.double() - ref.double()).abs().max() / ref.double().abs().max())
    report = {"missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"]),
              "foreign": len(foreign), "foreign_changed": changed, "rel": rel}
    with open(report_path, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
