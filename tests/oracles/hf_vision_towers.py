#!/usr/bin/env python3
"""Oracle for automodel's vision towers (tests/oracle/vision_tower_oracle_test.cpp):

    hf_vision_towers.py OUT_DIR

For CLIPVisionModel and SiglipVisionModel (transformers, eager attention, fp32), a tiny random model
whose every parameter is perturbed (so LayerNorms and biases are not at their init), saved with
save_pretrained to OUT_DIR/<kind>/, and OUT_DIR/<kind>/expected.safetensors holding pixel_values,
last_hidden_state, pooler_output, hidden_states.<i>, the weights of a surrogate loss
(sum(last_hidden_state * w1) + sum(pooler_output * w2)), the loss and grad.<name> of every parameter.
"""
import os
import sys

import torch
import transformers
from safetensors.torch import save_file

TINY = dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=2, image_size=32,
            patch_size=8, num_channels=3)


def perturb(model):
    """Every parameter moved off its init (so norms and biases matter): 1-D ones by 0.1 x noise, the others
    replaced by noise / sqrt(fan_in), from one seeded float64 generator in named_parameters() order."""
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for _, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float64).to(torch.float32)
            if p.dim() == 1:
                p.add_(0.1 * noise)
            else:
                p.copy_(noise / (p[0].numel() ** 0.5))


def build(kind):
    if kind == "clip":
        config = transformers.CLIPVisionConfig(**TINY, hidden_act="quick_gelu", layer_norm_eps=1e-5)
        cls = transformers.CLIPVisionModel
    else:
        config = transformers.SiglipVisionConfig(**TINY, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
                                                 vision_use_head=True)
        cls = transformers.SiglipVisionModel
    torch.manual_seed(1234)
    model = cls._from_config(config, attn_implementation="eager").float().eval()
    perturb(model)
    return model


def main():
    out = sys.argv[1]
    for kind in ("clip", "siglip"):
        model = build(kind)
        folder = os.path.join(out, kind)
        model.save_pretrained(folder)
        g = torch.Generator().manual_seed(777)
        pixels = torch.randn(2, 3, 32, 32, generator=g)
        result = model(pixel_values=pixels, output_hidden_states=True)
        w1 = torch.randn(result.last_hidden_state.shape, generator=g)
        w2 = torch.randn(result.pooler_output.shape, generator=g)
        loss = (result.last_hidden_state * w1).sum() + (result.pooler_output * w2).sum()
        loss.backward()
        tensors = {"pixel_values": pixels, "last_hidden_state": result.last_hidden_state, "pooler_output": result.pooler_output,
                   "loss_weight.last_hidden_state": w1, "loss_weight.pooler_output": w2, "loss": loss}
        for i, h in enumerate(result.hidden_states):
            tensors[f"hidden_states.{i}"] = h
        for name, p in model.named_parameters():
            tensors["grad." + name] = p.grad if p.grad is not None else torch.zeros_like(p)
        save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()}, os.path.join(folder, "expected.safetensors"))


if __name__ == "__main__":
    main()
