#!/usr/bin/env python3
"""Oracle for automodel's vision-language models (tests/oracle/vlm_oracle_test.cpp):

    hf_vlm.py OUT_DIR

For each tiny VLM below (transformers, eager attention, fp32): a random model whose every parameter is
perturbed (so norms and biases are not at their init), saved with save_pretrained to OUT_DIR/<name>/, and
OUT_DIR/<name>/expected.safetensors holding the inputs (input_ids with image tokens, pixel_values, labels),
logits, loss, hidden_states.<i> and grad.<name> of every parameter under the saved checkpoint's names.
"""
import os
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file

from hf_vision_towers import perturb

VOCAB = 300
IMAGE_TOKEN = 299


def llama_text(**extra):
    return dict(model_type="llama", vocab_size=VOCAB, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6,
                tie_word_embeddings=False, **extra)


def tiny_vision(kind, image_size=32, patch_size=8):
    common = dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=3,
                  image_size=image_size, patch_size=patch_size, num_channels=3)
    if kind == "clip":
        return dict(model_type="clip_vision_model", hidden_act="quick_gelu", layer_norm_eps=1e-5, **common)
    return dict(model_type="siglip_vision_model", hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6, **common)


def qwen_text(**extra):
    return dict(vocab_size=VOCAB, hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6, tie_word_embeddings=False,
                rope_scaling={"type": "mrope", "mrope_section": [2, 2, 2]}, **extra)


# Qwen: grids (t, h, w) in patches of 4 px (merge 2): 2x6 -> 3 tokens... per image below.
QWEN_GRIDS = [(1, 4, 6), (1, 6, 4), (1, 8, 8)]
QWEN_TOKENS = [g[0] * g[1] * g[2] // 4 for g in QWEN_GRIDS]
QWEN_IDS = dict(image_token_id=IMAGE_TOKEN, video_token_id=298, vision_start_token_id=297, vision_end_token_id=296)

# name -> (config class, config kwargs, images per row, image tokens per image)
CASES = {
    "llava_clip": (transformers.LlavaConfig,
                   dict(text_config=llama_text(), vision_config=tiny_vision("clip"), image_token_index=IMAGE_TOKEN,
                        vision_feature_layer=-2, vision_feature_select_strategy="default",
                        projector_hidden_act="gelu"), [1, 1], 16),
    "llava_siglip_layers_full": (transformers.LlavaConfig,
                                 dict(text_config=llama_text(), vision_config=tiny_vision("siglip"),
                                      image_token_index=IMAGE_TOKEN, vision_feature_layer=[-1, 1],
                                      vision_feature_select_strategy="full", projector_hidden_act="gelu_pytorch_tanh",
                                      multimodal_projector_bias=False), [2, 0], 16),
    "gemma3": (transformers.Gemma3Config,
               dict(text_config=dict(vocab_size=VOCAB, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, head_dim=12,
                                     max_position_embeddings=256, sliding_window=4,
                                     layer_types=["sliding_attention", "full_attention"]),
                    vision_config=dict(tiny_vision("siglip", patch_size=4), vision_use_head=False),
                    mm_tokens_per_image=16, image_token_index=IMAGE_TOKEN, boi_token_index=297, eoi_token_index=298),
               [2, 1], 16),
    "qwen2_vl": (transformers.Qwen2VLConfig,
                 dict(text_config=qwen_text(), vision_config=dict(depth=2, embed_dim=32, hidden_size=48, num_heads=4,
                                                                  mlp_ratio=2, patch_size=4, temporal_patch_size=2,
                                                                  spatial_merge_size=2, in_channels=3), **QWEN_IDS),
                 [2, 1], QWEN_TOKENS),
    "qwen2_5_vl": (transformers.Qwen2_5_VLConfig,
                   dict(text_config=qwen_text(), vision_config=dict(depth=3, hidden_size=32, out_hidden_size=48,
                                                                    intermediate_size=40, num_heads=4, patch_size=4,
                                                                    temporal_patch_size=2, spatial_merge_size=2,
                                                                    in_channels=3, window_size=16,
                                                                    fullatt_block_indexes=[1]), **QWEN_IDS),
                   [2, 1], QWEN_TOKENS),
    # Frames of 32 px (4 x 4 patches, pixel-shuffled by 2: 4 tokens each); the second row's padding frames are zero.
    "idefics3": (transformers.Idefics3Config,
                 dict(text_config=llama_text(), vision_config=dict(tiny_vision("siglip"), model_type="idefics3_vision"),
                      scale_factor=2, image_token_id=IMAGE_TOKEN, pad_token_id=0), [3, 1], 4),
    "smolvlm": (transformers.SmolVLMConfig,
                dict(text_config=llama_text(), vision_config=dict(tiny_vision("siglip"), model_type="smolvlm_vision"),
                     scale_factor=4, image_token_id=IMAGE_TOKEN, pad_token_id=0), [1, 2], 1),
}


def as_frames(images, images_per_row):
    """Idefics3's layout: (rows, most frames, C, H, W) padded with zero frames, and pixel_attention_mask."""
    flat, most = images["pixel_values"], max(images_per_row)
    pixels = torch.zeros(len(images_per_row), most, *flat.shape[1:])
    mask = torch.zeros(len(images_per_row), most, *flat.shape[2:], dtype=torch.int64)
    at = 0
    for row, count in enumerate(images_per_row):
        pixels[row, :count] = flat[at:at + count]
        mask[row, :count] = 1
        at += count
    return {"pixel_values": pixels, "pixel_attention_mask": mask}


def inputs_for(images_per_row, tokens, seq=48):
    """tokens: one count for every image (LLaVA), or one per image in order (Qwen's grids)."""
    g = torch.Generator().manual_seed(4321)
    ids = torch.randint(0, 296, (len(images_per_row), seq), generator=g)
    image = 0
    for row, count in enumerate(images_per_row):
        start = 3
        for _ in range(count):  # each image's tokens in one run, after a short prompt
            n = tokens if isinstance(tokens, int) else tokens[image]
            ids[row, start:start + n] = IMAGE_TOKEN
            start += n + 2
            image += 1
    labels = ids.clone()
    labels[:, :4] = -100
    labels[ids == IMAGE_TOKEN] = -100
    pixel_gen = torch.Generator().manual_seed(777)
    if isinstance(tokens, int):  # token_type_ids: Gemma 3's image tokens (the others ignore them)
        return ids, labels, {"pixel_values": torch.randn(sum(images_per_row), 3, 32, 32, generator=pixel_gen),
                             "token_type_ids": (ids == IMAGE_TOKEN).long()}
    grids = torch.tensor(QWEN_GRIDS[:image], dtype=torch.int64)
    patches = int(grids.prod(-1).sum())
    # transformers 5 finds the image tokens of M-RoPE through the processor's mm_token_type_ids.
    return ids, labels, {"pixel_values": torch.randn(patches, 3 * 2 * 4 * 4, generator=pixel_gen),
                         "image_grid_thw": grids, "mm_token_type_ids": (ids == IMAGE_TOKEN).long()}


def main():
    out = sys.argv[1]
    for name, (config_class, kwargs, images_per_row, tokens) in CASES.items():
        torch.manual_seed(1234)
        config = config_class(**kwargs)
        model = transformers.AutoModelForImageTextToText.from_config(config, attn_implementation="eager").float().eval()
        perturb(model)
        folder = os.path.join(out, name)
        model.save_pretrained(folder)
        saved = load_file(os.path.join(folder, "model.safetensors"))
        ids, labels, images = inputs_for(images_per_row, tokens)
        if name in ("idefics3", "smolvlm"):
            images = as_frames(images, images_per_row)
        result = model(input_ids=ids, labels=labels, output_hidden_states=True, **images)
        result.loss.backward()
        tensors = {"input_ids": ids, "labels": labels, "logits": result.logits, "loss": result.loss, **images}
        for i, h in enumerate(result.hidden_states):
            tensors[f"hidden_states.{i}"] = h
        for param_name, p in model.named_parameters():
            # save_pretrained may rename (transformers 5 writes v4's legacy names for LLaVA): the saved
            # name is the one tensor with this parameter's (perturbed, so unique) values.
            matches = [k for k, v in saved.items() if v.shape == p.shape and torch.equal(v, p.detach())]
            assert len(matches) == 1, f"{name}: {param_name} matches saved tensors {matches}"
            tensors["grad." + matches[0]] = p.grad if p.grad is not None else torch.zeros_like(p)
        save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()},
                  os.path.join(folder, "expected.safetensors"))


if __name__ == "__main__":
    main()
