#!/usr/bin/env python3
"""Oracle for `automodel generate --image` (tests/oracle/vlm_finetune_oracle_test.cpp):

    hf_vlm_generate.py MODEL_DIR IMAGE PROMPT MAX_NEW_TOKENS OUT_TXT

Greedy generation by transformers on the user turn [IMAGE, PROMPT] rendered by the processor's chat template with
the generation prompt; writes the new tokens decoded without special tokens to OUT_TXT.
"""
import sys

import torch
import transformers


def main():
    model_dir, image, prompt, n, out_path = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    processor = transformers.AutoProcessor.from_pretrained(model_dir)
    model = transformers.AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32,
                                                                     attn_implementation="eager").eval()
    conversation = [{"role": "user", "content": [{"type": "image", "path": image}, {"type": "text", "text": prompt}]}]
    inputs = processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=True, return_dict=True,
                                           return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=n, min_new_tokens=n, do_sample=False)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(processor.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))


if __name__ == "__main__":
    main()
