"""HF transformers (+ PEFT for LoRA) reference for bench/run_finetune.sh: what a user would
otherwise run on this machine. Loads the same random HF folder with AutoModelForCausalLM (fp32,
transformers' default attention), trains on the same mock token rows with torch.optim.AdamW (fp32
state), clip_grad_norm_ 1.0, and for LoRA wraps every *_proj Linear with PEFT's LoraConfig (r,
alpha 32, no dropout, frozen base) — the targets `automodel` uses. Prints tok/s over the steps
after warm-up and the peak RSS. Run with the project's venv: .venv/bin/python3 hf_peft_finetune.py MODEL_DIR [...]"""
import argparse, os, resource, time

import torch
import transformers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--lora", type=int, default=0, help="LoRA rank (0 = full fine-tune)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: autocast over fp32 weights (what automodel's torch_dtype bf16 and HF Trainer's bf16 do)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model_dir, dtype=torch.float32)
    model.train()
    if a.lora:
        import peft
        targets = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                          if isinstance(m, torch.nn.Linear) and n.endswith("_proj")})
        config = peft.LoraConfig(r=a.lora, lora_alpha=32, lora_dropout=0.0, target_modules=targets)
        model = peft.get_peft_model(model, config)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)
    vocab = model.config.vocab_size
    secs, tokens = 0.0, 0
    for step in range(a.warmup + a.steps):
        ids = torch.randint(vocab, (a.batch, a.seq))
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.dtype == "bf16"):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step >= a.warmup:
            secs += time.perf_counter() - t
            tokens += a.batch * a.seq
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kind = (f"lora r={a.lora}" if a.lora else "full") + (" bf16" if a.dtype == "bf16" else "")
    print(f"hf+peft    {kind} seq={a.seq} batch={a.batch} threads={torch.get_num_threads()}: "
          f"{tokens / secs:.1f} tok/s, peak RSS {rss:.0f} MiB "
          f"(transformers {transformers.__version__}, torch {torch.__version__})")


if __name__ == "__main__":
    main()
