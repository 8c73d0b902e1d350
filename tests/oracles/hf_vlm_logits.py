#!/usr/bin/env python3
"""Oracle for VLM checkpoints we write (tests/oracle/vlm_finetune_oracle_test.cpp):

    hf_vlm_logits.py MODEL_DIR OUT.safetensors [ADAPTER_DIR]

Loads MODEL_DIR with transformers' AutoModelForImageTextToText (and, with ADAPTER_DIR, PEFT's adapter on top,
unmerged), runs one batch of two rows with image tokens (as many as the processor expands one image to) and random
pixel_values, and writes input_ids, pixel_values and logits: `automodel debug forward` on the inputs must give the
same logits.
"""
import sys

import torch
import transformers
from safetensors.torch import save_file


def main():
    model_dir, out = sys.argv[1:3]
    model = transformers.AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32,
                                                                     attn_implementation="eager").eval()
    if len(sys.argv) > 3:
        import peft
        model = peft.PeftModel.from_pretrained(model, sys.argv[3]).eval()
    config = transformers.AutoConfig.from_pretrained(model_dir)
    vision = config.vision_config
    g = torch.Generator().manual_seed(99)
    ids = torch.randint(3, 500, (2, 40), generator=g)
    if config.model_type.startswith("qwen"):  # one 4 x 6 patch image per row: 6 merged tokens each
        tokens = 6
        rows = vision.in_channels * vision.temporal_patch_size * vision.patch_size ** 2
        images = {"pixel_values": torch.randn(2 * 24, rows, generator=g),
                  "image_grid_thw": torch.tensor([[1, 4, 6], [1, 4, 6]])}
    elif config.model_type in ("idefics3", "smolvlm"):  # one frame a row: its patches pixel-shuffled
        tokens = (vision.image_size // vision.patch_size) ** 2 // config.scale_factor ** 2
        images = {"pixel_values": torch.randn(2, 1, 3, vision.image_size, vision.image_size, generator=g)}
    else:  # Gemma 3: pooled to mm_tokens_per_image; LLaVA's CLIP, "default": the class token is dropped
        tokens = getattr(config, "mm_tokens_per_image", None) or (vision.image_size // vision.patch_size) ** 2
        images = {"pixel_values": torch.randn(2, 3, vision.image_size, vision.image_size, generator=g)}
    ids[:, 2:2 + tokens] = config.image_token_id
    image_tokens = (ids == config.image_token_id).long()
    extra = {"mm_token_type_ids" if "image_grid_thw" in images else "token_type_ids": image_tokens}
    if config.model_type in ("idefics3", "smolvlm"):
        extra = {}
    with torch.no_grad():
        logits = model(input_ids=ids, **images, **extra).logits
    save_file({"input_ids": ids, **images, "logits": logits.float().contiguous()}, out)


if __name__ == "__main__":
    main()
