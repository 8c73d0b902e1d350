#!/usr/bin/env python3
"""Oracle for Idefics3's bucketed vision position ids (tests/oracle/vlm_oracle_test.cpp):

    hf_idefics3_positions.py OUT.json GRID:H:W:DTYPE...

For each case, the position ids transformers' Idefics3VisionEmbeddings looks up for an H x W patch image of a
GRID x GRID position table with the module and pixel values in DTYPE (float32 or bfloat16), captured from the
position embedding's input; OUT.json maps each case to its ids.
"""
import json
import sys

import torch
from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig
from transformers.models.idefics3.modeling_idefics3 import Idefics3VisionEmbeddings


def main():
    out = {}
    for case in sys.argv[2:]:
        grid, h, w, dtype = case.split(":")
        grid, h, w, dtype = int(grid), int(h), int(w), getattr(torch, dtype)
        embeddings = Idefics3VisionEmbeddings(Idefics3VisionConfig(hidden_size=8, image_size=grid, patch_size=1)).to(dtype)
        seen = []
        embeddings.position_embedding.register_forward_hook(lambda module, args, result: seen.append(args[0]))
        with torch.no_grad():
            embeddings(torch.zeros(1, 3, h, w, dtype=dtype), torch.ones(1, h, w, dtype=torch.bool))
        out[case] = seen[0][0].tolist()
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
