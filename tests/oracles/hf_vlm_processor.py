#!/usr/bin/env python3
"""Oracle for automodel's VLM data path (tests/oracle/vlm_processor_oracle_test.cpp):

    hf_vlm_processor.py MODEL_DIR ROWS_JSON OUT.safetensors

Every row of ROWS_JSON (LLaVA/ShareGPT style: "messages" whose string contents hold <image> placeholders, and an
"images" list relative to the file) through transformers' AutoProcessor.apply_chat_template (tokenize=True), as a
user of HF gets it: OUT holds input_ids.<row>, pixel_values.<row> and (patch processors) image_grid_thw.<row>.
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file


def conversation(row, base):
    images = iter(row["images"])
    out = []
    for m in row["messages"]:
        items, parts = [], m["content"].split("<image>")
        for k, text in enumerate(parts):
            if k > 0:
                items.append({"type": "image", "path": os.path.join(base, next(images))})
            if text:
                items.append({"type": "text", "text": text})
        out.append({"role": m["role"], "content": items})
    return out


def main():
    model_dir, rows_path, out = sys.argv[1:4]
    processor = transformers.AutoProcessor.from_pretrained(model_dir)
    rows = json.load(open(rows_path))
    base = os.path.dirname(os.path.abspath(rows_path))
    tensors = {}
    for i, row in enumerate(rows):
        result = processor.apply_chat_template(conversation(row, base), tokenize=True, return_dict=True,
                                               return_tensors="pt")
        tensors[f"input_ids.{i}"] = result["input_ids"][0].to(torch.int64).contiguous()
        tensors[f"pixel_values.{i}"] = result["pixel_values"].to(torch.float32).contiguous()
        if "image_grid_thw" in result:
            tensors[f"image_grid_thw.{i}"] = result["image_grid_thw"].to(torch.int64).contiguous()
    save_file(tensors, out)


if __name__ == "__main__":
    main()
