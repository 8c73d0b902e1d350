"""Writes an HF model folder (config.json + model.safetensors with random fp32 weights named as
HF's LlamaForCausalLM) for benchmarks, so no download is needed. Needs only torch.
Usage: .venv/bin/python3 bench/make_random_model.py CONFIG.json OUT_DIR"""
import json, os, struct, sys
import torch

cfg = json.load(open(sys.argv[1]))
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
nh = cfg["num_attention_heads"]
nkv = cfg.get("num_key_value_heads", nh)
hd = cfg.get("head_dim", H // nh)
g = torch.Generator().manual_seed(0)
shapes = {"model.embed_tokens.weight": (cfg["vocab_size"], H), "model.norm.weight": (H,)}
for i in range(L):
    p = f"model.layers.{i}."
    shapes.update({p + "self_attn.q_proj.weight": (nh * hd, H), p + "self_attn.k_proj.weight": (nkv * hd, H),
                   p + "self_attn.v_proj.weight": (nkv * hd, H), p + "self_attn.o_proj.weight": (H, nh * hd),
                   p + "mlp.gate_proj.weight": (I, H), p + "mlp.up_proj.weight": (I, H),
                   p + "mlp.down_proj.weight": (H, I), p + "input_layernorm.weight": (H,),
                   p + "post_attention_layernorm.weight": (H,)})
if not cfg.get("tie_word_embeddings", False):
    shapes["lm_head.weight"] = (cfg["vocab_size"], H)
header, blobs, offset = {}, [], 0
for name, shape in shapes.items():
    t = torch.ones(shape) if len(shape) == 1 else torch.randn(shape, generator=g) * 0.02
    data = t.numpy().tobytes()
    header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
head = json.dumps(header).encode()
head += b" " * ((8 - len(head) % 8) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(head)))
    f.write(head)
    for b in blobs:
        f.write(b)
cfg.setdefault("model_type", "llama")
cfg.setdefault("architectures", ["LlamaForCausalLM"])
json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)
