"""HF transformers (+ PEFT for LoRA) reference for bench/run_vlm_finetune.sh: what a user would
otherwise run. Loads the VLM folder with AutoModelForImageTextToText (fp32, eager attention) and its
AutoProcessor, and trains on the same conversations (LLaVA-style JSON rows with <image> placeholders)
in the same order: batches of --batch rows through processor.apply_chat_template(tokenize=True,
padding=True), labels = input_ids with image and padding tokens masked, torch.optim.AdamW, clip 1.0.
Frozen as the recipe's freeze_config: vision tower (Idefics3's vision_model) and embeddings; LoRA: PEFT LoraConfig
(r, alpha 32) on the language model's (language_model, Idefics3's text_model) *_proj Linears. Prints tok/s (non-padding tokens) over the steps after warm-up and
the peak RSS (and tok/s without the processor's time, for the training step alone). Usage: hf_peft_vlm_finetune.py MODEL_DIR ROWS_JSON [--lora R] [--steps N] [--warmup W]"""
import argparse, json, os, resource, sys, time

import torch
import transformers

# The rows' conversations as HF content lists: the same conversion as the processor oracle's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "oracles"))
from hf_vlm_processor import conversation  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("rows")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--lora", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    processor = transformers.AutoProcessor.from_pretrained(a.model_dir)
    model = transformers.AutoModelForImageTextToText.from_pretrained(a.model_dir, dtype=torch.float32,
                                                                     attn_implementation="eager")
    model.train()
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Embedding) or "vision_tower" in name or "vision_model" in name:
            for p in module.parameters(recurse=False):
                p.requires_grad_(False)
    if a.lora:
        import peft
        config = peft.LoraConfig(r=a.lora, lora_alpha=32, lora_dropout=0.0,
                                 target_modules=r".*(language_model|text_model).*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)")
        model = peft.get_peft_model(model, config)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)
    rows = json.load(open(a.rows))
    base = os.path.dirname(os.path.abspath(a.rows))
    image_token = model.config.image_token_id
    secs, prep, tokens = 0.0, 0.0, 0
    for step in range(a.warmup + a.steps):
        batch = [conversation(rows[(step * a.batch + k) % len(rows)], base) for k in range(a.batch)]
        t = time.perf_counter()
        inputs = processor.apply_chat_template(batch, tokenize=True, return_dict=True, padding=True,
                                               return_tensors="pt")
        t_prep = time.perf_counter() - t
        labels = inputs["input_ids"].clone()
        labels[(labels == image_token) | (inputs["attention_mask"] == 0)] = -100
        loss = model(**inputs, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step >= a.warmup:
            secs += time.perf_counter() - t
            prep += t_prep
            tokens += int(inputs["attention_mask"].sum())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kind = f"lora r={a.lora}" if a.lora else "full"
    print(f"hf+peft    vlm {kind} batch={a.batch} threads={torch.get_num_threads()}: {tokens / secs:.1f} tok/s "
          f"({tokens / (secs - prep):.1f} without its preprocessing), peak RSS {rss:.0f} MiB (transformers {transformers.__version__}, torch {torch.__version__})")


if __name__ == "__main__":
    main()
