"""max|diff| / max|expected| per kind (forward outputs, gradients) between two safetensors files
of fp32/bf16 tensors: the golden HF outputs and `automodel debug forward`'s. Reads safetensors
directly (header + raw data), so it needs only torch.
Usage: compare_outputs.py EXPECTED GOT LABEL"""
import json
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "I64": torch.int64}


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in DTYPES:
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(data[8 + size + begin : 8 + size + end])
        out[name] = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


expected, got, label = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
worst = {}
for name, t in got.items():
    if name not in expected or expected[name].shape != t.shape or not t.is_floating_point():
        continue
    e = expected[name].float()
    kind = "grad" if name.startswith("grad") else "forward"
    rel = ((t.float() - e).abs().max() / e.abs().max().clamp_min(1e-12)).item()
    if rel >= worst.get(kind, (-1.0, ""))[0]:
        worst[kind] = (rel, name)
print(label + ": " + ", ".join(f"{k} {v[0]:.2e} ({v[1]})" for k, v in sorted(worst.items())))
