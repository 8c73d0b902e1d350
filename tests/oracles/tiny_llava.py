#!/usr/bin/env python3
"""A tiny LLaVA model folder for VLM fine-tuning tests (tests/integration/vlm_finetune_test.cpp,
tests/oracle/vlm_processor_oracle_test.cpp, bench/run_vlm_finetune.sh):

    tiny_llava.py OUT_DIR [--size small|bench]

transformers' LlavaForConditionalGeneration with a CLIP tower (32 px images, patch 8: 16 image tokens) and a
Llama language model, random weights (seeded), the Llama-2 SentencePiece tokenizer of tests/fixtures with an
added <image> token, a LlavaProcessor (CLIPImageProcessor: shortest edge 32, centre crop 32) and a chat
template of our own that writes one <image> line per image item and ends assistant turns with </s>.
"""
import argparse
import os

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "fixtures", "tokenizers", "llama2_sentencepiece")

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

SIZES = {
    "small": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, vision_hidden=32, vision_layers=2),
    "bench": dict(hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=8,
                  num_key_value_heads=4, vision_hidden=128, vision_layers=4),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--size", default="small", choices=sorted(SIZES))
    args = parser.parse_args()
    s = SIZES[args.size]
    tokenizer = transformers.LlamaTokenizerFast.from_pretrained(TOKENIZER)
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
    model = transformers.LlavaForConditionalGeneration(config).float().eval()
    model.save_pretrained(args.out)
    image_processor = transformers.CLIPImageProcessor(size={"shortest_edge": 32},
                                                      crop_size={"height": 32, "width": 32})
    processor = transformers.LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=8,
                                            vision_feature_select_strategy="default", num_additional_image_tokens=1,
                                            chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(args.out)


if __name__ == "__main__":
    main()
