#!/usr/bin/env python3
"""Tiny VLM model folders for VLM fine-tuning tests (tests/oracle/vlm_finetune_oracle_test.cpp,
tests/oracle/vlm_processor_oracle_test.cpp, bench/run_vlm_finetune.sh):

    tiny_vlm.py OUT_DIR [--family llava|qwen2_vl|gemma3] [--size small|bench] [--perturb]

llava: transformers' LlavaForConditionalGeneration with a CLIP tower (32 px images, patch 8: 16 image tokens) and
a Llama language model, the Llama-2 SentencePiece tokenizer of tests/fixtures with an added <image> token, a
LlavaProcessor (CLIPImageProcessor: shortest edge 32, centre crop 32) and a chat template of our own that writes
one <image> line per image item and ends assistant turns with </s>.
qwen2_vl: Qwen2VLForConditionalGeneration (patch 14, merge 2, images resized within 56x56..112x112 pixels) with
the Qwen3 tokenizer of tests/fixtures (its <|vision_start|>, <|image_pad|>, <|vision_end|> tokens), a
Qwen2VLProcessor and a ChatML template of our own that writes <|vision_start|><|image_pad|><|vision_end|> per image.
gemma3: Gemma3ForConditionalGeneration (SigLIP 32 px, patch 4, pooled to 16 tokens; Gemma 3 text with a sliding
window) with the Qwen3 tokenizer given Gemma's <start_of_image>, <image_soft_token>, <end_of_image> tokens, a
Gemma3Processor and a Gemma-style template of our own.
idefics3: Idefics3ForConditionalGeneration (its SigLIP-like tower at 32 px, patch 8, pixel shuffle by 2: 4 tokens a
frame; images resized to a longest edge of 64 and split into 32 px tiles plus the whole image) with the SmolLM2
tokenizer of tests/fixtures given SmolVLM's image tokens, an Idefics3Processor and a SmolVLM-style template of our own.
smolvlm: the same with SmolVLM's classes (SmolVLMProcessor, which reads the image tokens from the tokenizer's
attributes).
Weights are random (seeded).
"""
import argparse
import os

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures", "tokenizers")

CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] | upper }}: "
    "{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{{ '<image>\\n' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)

QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{{ '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

SIZES = {
    "small": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, vision_hidden=32, vision_layers=2),
    "bench": dict(hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=8,
                  num_key_value_heads=4, vision_hidden=128, vision_layers=4),
}


def qwen2_vl(out, s):
    tokenizer = qwen3_tokenizer()
    ids = {k: tokenizer.convert_tokens_to_ids(t) for k, t in [("image_token_id", "<|image_pad|>"),
                                                               ("video_token_id", "<|video_pad|>"),
                                                               ("vision_start_token_id", "<|vision_start|>"),
                                                               ("vision_end_token_id", "<|vision_end|>")]}
    head_dim = s["hidden_size"] // s["num_attention_heads"]
    text = dict(vocab_size=len(tokenizer), hidden_size=s["hidden_size"], intermediate_size=s["intermediate_size"],
                num_hidden_layers=s["num_hidden_layers"], num_attention_heads=s["num_attention_heads"],
                num_key_value_heads=s["num_key_value_heads"], max_position_embeddings=1024, rms_norm_eps=1e-6,
                tie_word_embeddings=False,
                rope_scaling={"type": "mrope", "mrope_section": [head_dim // 4, head_dim // 8, head_dim // 8]})
    vision = dict(depth=s["vision_layers"], embed_dim=s["vision_hidden"], hidden_size=s["hidden_size"], num_heads=4,
                  mlp_ratio=2, patch_size=14, temporal_patch_size=2, spatial_merge_size=2, in_channels=3)
    config = transformers.Qwen2VLConfig(text_config=text, vision_config=vision, **ids)
    torch.manual_seed(1234)
    finish(transformers.Qwen2VLForConditionalGeneration(config), out)
    image_processor = transformers.Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=112 * 112)
    video_processor = transformers.Qwen2VLVideoProcessor()
    processor = transformers.Qwen2VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                              video_processor=video_processor, chat_template=QWEN_CHAT_TEMPLATE)
    processor.save_pretrained(out)


GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role']) + '\\n' }}"
    "{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{{ '<start_of_image>' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{{ '<end_of_turn>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)


SMOLVLM_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{{ ':' if message['content'][0]['type'] == 'image' else ': ' }}"
    "{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{{ '<image>' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{{ '<end_of_utterance>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)


def idefics3(out, s, family="idefics3"):
    """Idefics3, or SmolVLM (its own classes; its processor reads the image tokens from the tokenizer)."""
    import gzip, shutil, tempfile
    smolvlm = family == "smolvlm"
    names = {"fake_image_token": "<fake_token_around_image>", "image_token": "<image>",
             "end_of_utterance_token": "<end_of_utterance>", "global_image_token": "<global-img>"}
    with tempfile.TemporaryDirectory() as tmp:
        with gzip.open(os.path.join(FIXTURES, "smollm2_135m_instruct", "tokenizer.json.gz")) as src, \
                open(os.path.join(tmp, "tokenizer.json"), "wb") as dst:
            shutil.copyfileobj(src, dst)
        tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_file=os.path.join(tmp, "tokenizer.json"),
                                                         bos_token="<|im_start|>", eos_token="<end_of_utterance>",
                                                         pad_token="<|im_end|>",
                                                         **({"extra_special_tokens": names} if smolvlm else {}))
    markers = [] if smolvlm else list(names.values())
    markers += [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    tokenizer.add_tokens(markers, special_tokens=True)
    text = dict(model_type="llama", vocab_size=len(tokenizer), hidden_size=s["hidden_size"],
                intermediate_size=s["intermediate_size"], num_hidden_layers=s["num_hidden_layers"],
                num_attention_heads=s["num_attention_heads"], num_key_value_heads=s["num_key_value_heads"],
                max_position_embeddings=1024, rms_norm_eps=1e-5, tie_word_embeddings=False,
                pad_token_id=tokenizer.pad_token_id)
    vision = dict(hidden_size=s["vision_hidden"], intermediate_size=2 * s["vision_hidden"], num_attention_heads=4,
                  num_hidden_layers=s["vision_layers"], image_size=32, patch_size=8)
    config_class = transformers.SmolVLMConfig if smolvlm else transformers.Idefics3Config
    config = config_class(text_config=text, vision_config=vision, scale_factor=2,
                          image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
                          pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(1234)
    model_class = (transformers.SmolVLMForConditionalGeneration if smolvlm
                   else transformers.Idefics3ForConditionalGeneration)
    finish(model_class(config), out)
    sizes = dict(size={"longest_edge": 64}, max_image_size={"longest_edge": 32})
    if smolvlm:
        processor = transformers.SmolVLMProcessor(image_processor=transformers.SmolVLMImageProcessor(**sizes),
                                                  tokenizer=tokenizer,
                                                  video_processor=transformers.SmolVLMVideoProcessor(),
                                                  image_seq_len=4, chat_template=SMOLVLM_CHAT_TEMPLATE)
    else:
        processor = transformers.Idefics3Processor(image_processor=transformers.Idefics3ImageProcessor(**sizes),
                                                   tokenizer=tokenizer, image_seq_len=4,
                                                   chat_template=SMOLVLM_CHAT_TEMPLATE)
    processor.save_pretrained(out)


PERTURB = False  # --perturb: weights off HF's small init, so attention (and positions) shape every output


def finish(model, out):
    model = model.float().eval()
    if PERTURB:
        from hf_vision_towers import perturb
        perturb(model)
    model.save_pretrained(out)


def qwen3_tokenizer(**kwargs):
    import gzip, shutil, tempfile
    with tempfile.TemporaryDirectory() as tmp:
        with gzip.open(os.path.join(FIXTURES, "qwen3", "tokenizer.json.gz")) as src, \
                open(os.path.join(tmp, "tokenizer.json"), "wb") as dst:
            shutil.copyfileobj(src, dst)
        shutil.copy(os.path.join(FIXTURES, "qwen3", "tokenizer_config.json"), tmp)
        return transformers.AutoTokenizer.from_pretrained(tmp, **kwargs)


def gemma3(out, s):
    names = {"boi_token": "<start_of_image>", "image_token": "<image_soft_token>", "eoi_token": "<end_of_image>"}
    tokenizer = qwen3_tokenizer(extra_special_tokens=names)
    ids = {k: tokenizer.convert_tokens_to_ids(v) for k, v in names.items()}
    text = dict(vocab_size=len(tokenizer), hidden_size=s["hidden_size"], intermediate_size=s["intermediate_size"],
                num_hidden_layers=s["num_hidden_layers"], num_attention_heads=s["num_attention_heads"],
                num_key_value_heads=s["num_key_value_heads"], head_dim=s["hidden_size"] // s["num_attention_heads"],
                max_position_embeddings=1024, sliding_window=8)
    vision = dict(hidden_size=s["vision_hidden"], intermediate_size=2 * s["vision_hidden"], num_attention_heads=4,
                  num_hidden_layers=s["vision_layers"], image_size=32, patch_size=4, vision_use_head=False)
    config = transformers.Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=16,
                                       image_token_index=ids["image_token"], boi_token_index=ids["boi_token"],
                                       eoi_token_index=ids["eoi_token"])
    torch.manual_seed(1234)
    finish(transformers.Gemma3ForConditionalGeneration(config), out)
    image_processor = transformers.Gemma3ImageProcessor(size={"height": 32, "width": 32})
    processor = transformers.Gemma3Processor(image_processor=image_processor, tokenizer=tokenizer,
                                             chat_template=GEMMA_CHAT_TEMPLATE, image_seq_length=16)
    processor.save_pretrained(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--family", default="llava", choices=["llava", "qwen2_vl", "gemma3", "idefics3", "smolvlm"])
    parser.add_argument("--size", default="small", choices=sorted(SIZES))
    parser.add_argument("--perturb", action="store_true")
    args = parser.parse_args()
    global PERTURB
    PERTURB = args.perturb
    s = SIZES[args.size]
    if args.family == "qwen2_vl":
        return qwen2_vl(args.out, s)
    if args.family == "gemma3":
        return gemma3(args.out, s)
    if args.family in ("idefics3", "smolvlm"):
        return idefics3(args.out, s, args.family)
    tokenizer = transformers.LlamaTokenizerFast.from_pretrained(os.path.join(FIXTURES, "llama2_sentencepiece"))
    tokenizer.add_tokens(["<image>"], special_tokens=True)
    tokenizer.pad_token = tokenizer.unk_token
    image_token = tokenizer.convert_tokens_to_ids("<image>")
    text = transformers.LlamaConfig(vocab_size=len(tokenizer), hidden_size=s["hidden_size"],
                                    intermediate_size=s["intermediate_size"],
                                    num_hidden_layers=s["num_hidden_layers"],
                                    num_attention_heads=s["num_attention_heads"],
                                    num_key_value_heads=s["num_key_value_heads"], max_position_embeddings=1024,
                                    rms_norm_eps=1e-6, tie_word_embeddings=False, pad_token_id=tokenizer.pad_token_id)
    vision = transformers.CLIPVisionConfig(hidden_size=s["vision_hidden"], intermediate_size=2 * s["vision_hidden"],
                                           num_attention_heads=4, num_hidden_layers=s["vision_layers"], image_size=32,
                                           patch_size=8, hidden_act="quick_gelu")
    config = transformers.LlavaConfig(text_config=text, vision_config=vision, image_token_index=image_token,
                                      vision_feature_layer=-2, vision_feature_select_strategy="default",
                                      projector_hidden_act="gelu", image_seq_length=16)
    torch.manual_seed(1234)
    finish(transformers.LlavaForConditionalGeneration(config), args.out)
    image_processor = transformers.CLIPImageProcessor(size={"shortest_edge": 32},
                                                      crop_size={"height": 32, "width": 32})
    processor = transformers.LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=8,
                                            vision_feature_select_strategy="default", num_additional_image_tokens=1,
                                            chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(args.out)


if __name__ == "__main__":
    main()
