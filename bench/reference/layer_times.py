#!/usr/bin/env python3
"""transformers' own layers, timed as bench/layer_bench.cpp times ours (same sizes, fwd+bwd,
median of N after a warm-up): Qwen3-MoE's sparse block against its dense MLP of top_k x the
expert width, and Qwen3.5's Gated DeltaNet and Nemotron-H's Mamba2 mixer (torch path) against Qwen3.5's
gated attention at `tokens`.

    layer_times.py [--tokens 1024] [--hidden 1024] [--experts 64] [--top-k 8] [--expert-width 256] [--steps 5]
"""
import argparse
import statistics
import time

import torch
from transformers.models.qwen3_5 import modeling_qwen3_5 as q35
from transformers.models.qwen3_5.configuration_qwen3_5 import Qwen3_5TextConfig
from transformers.models.nemotron_h import modeling_nemotron_h as nemotron
from transformers.models.nemotron_h.configuration_nemotron_h import NemotronHConfig
from transformers.models.qwen3_moe import modeling_qwen3_moe as q3moe
from transformers.models.qwen3_moe.configuration_qwen3_moe import Qwen3MoeConfig


def median_seconds(layer, x, steps):
    def run():
        h = x.detach().requires_grad_(True)
        out = layer(h)
        out.backward(torch.randn_like(out))
    run()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    for name, default in [("tokens", 1024), ("hidden", 1024), ("experts", 64), ("top-k", 8), ("expert-width", 256),
                          ("steps", 5)]:
        p.add_argument(f"--{name}", type=int, default=default)
    a = p.parse_args()
    torch.manual_seed(0)
    H, T = a.hidden, a.tokens
    x = torch.randn(1, T, H)

    moe_cfg = Qwen3MoeConfig(hidden_size=H, num_experts=a.experts, num_experts_per_tok=a.top_k,
                             moe_intermediate_size=a.expert_width, norm_topk_prob=True)
    sparse = q3moe.Qwen3MoeSparseMoeBlock(moe_cfg)
    dense = q3moe.Qwen3MoeMLP(moe_cfg, intermediate_size=a.top_k * a.expert_width)
    for m in (sparse, dense):
        for w in m.parameters():
            torch.nn.init.normal_(w, std=H ** -0.5)
    moe_s = median_seconds(lambda h: sparse(h)[0] if isinstance(sparse(h), tuple) else sparse(h), x, a.steps)
    dense_s = median_seconds(dense, x, a.steps)

    heads = H // 128
    cfg = Qwen3_5TextConfig(hidden_size=H, num_attention_heads=heads, num_key_value_heads=max(1, heads // 4),
                            head_dim=128, linear_num_key_heads=max(1, H // 256), linear_num_value_heads=2 * max(1, H // 256),
                            linear_key_head_dim=128, linear_value_head_dim=128, num_hidden_layers=2,
                            layer_types=["linear_attention", "full_attention"], max_position_embeddings=T)
    cfg._attn_implementation = "sdpa"
    deltanet = q35.Qwen3_5GatedDeltaNet(cfg, 0)
    attention = q35.Qwen3_5Attention(cfg, 1)
    for m in (deltanet, attention):
        for name, w in m.named_parameters():
            if w.dim() > 1:
                torch.nn.init.normal_(w, std=w.shape[-1] ** -0.5)
    positions = torch.arange(T)[None]
    cos, sin = q35.Qwen3_5TextRotaryEmbedding(cfg)(x, positions[None].expand(3, 1, T))
    attention_s = median_seconds(lambda h: attention(h, (cos, sin), None)[0], x, a.steps)
    deltanet_s = median_seconds(lambda h: deltanet(h), x, a.steps)

    mamba_cfg = NemotronHConfig(hidden_size=H, layers_block_type=["linear_attention"], mamba_num_heads=2 * H // 64,
                                mamba_head_dim=64, n_groups=min(8, 2 * H // 64), ssm_state_size=128, chunk_size=128)
    mamba = nemotron.NemotronHMamba2Mixer(mamba_cfg, layer_idx=0)
    for name, w in mamba.named_parameters():
        if w.dim() > 1:
            torch.nn.init.normal_(w, std=w.shape[-1] ** -0.5)
    mamba_s = median_seconds(lambda h: mamba(h), x, a.steps)

    print(f"transformers layers: {T} tokens, hidden {H}, fp32, {torch.get_num_threads()} threads, median of {a.steps}")
    print(f"moe   Qwen3MoeSparseMoeBlock {moe_s * 1e3:8.1f} ms | Qwen3MoeMLP {dense_s * 1e3:8.1f} ms | "
          f"moe/dense {moe_s / dense_s:.2f}")
    print(f"gdn   Qwen3_5GatedDeltaNet {deltanet_s * 1e3:8.1f} ms | Qwen3_5Attention (sdpa) {attention_s * 1e3:8.1f} ms | "
          f"gdn/attn {deltanet_s / attention_s:.2f}")
    print(f"mamba NemotronHMamba2Mixer (torch path) {mamba_s * 1e3:8.1f} ms | attention as above | "
          f"mamba/attn {mamba_s / attention_s:.2f}")


if __name__ == "__main__":
    main()
