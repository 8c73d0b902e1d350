"""PyTorch reference for bench/run_finetune.sh: the same Llama (bench/reference/llama_train_step.py,
HF op order), the same mock token rows, optimizer (AdamW, fp32 state), clipping and LoRA
(r, alpha on every *_proj, frozen base) as `automodel` runs them. It materialises full logits
for the loss, as HF's ForCausalLMLoss does. Prints tok/s over the steps after warm-up and the
peak RSS. Run with the project's venv: .venv/bin/python3 llama_finetune.py CONFIG.json [...]"""
import argparse, json, os, resource, sys, time
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_train_step import Llama  # noqa: E402


class LoraLinear(nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        self.base.weight.requires_grad_(False)
        self.a = nn.Parameter(torch.randn(r, base.in_features) * (2.0 / (r + base.in_features)) ** 0.5)
        self.b = nn.Parameter(torch.zeros(base.out_features, r))
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.a.t() @ self.b.t()) * self.scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--lora", type=int, default=0, help="LoRA rank (0 = full fine-tune)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: autocast over fp32 weights (what automodel's torch_dtype bf16 and HF Trainer's bf16 do)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Llama(json.load(open(a.config)))
    if a.lora:
        for p in model.parameters():
            p.requires_grad_(False)
        for layer in model.layers:
            for name in ("q", "k", "v", "o", "gate", "up", "down"):
                setattr(layer, name, LoraLinear(getattr(layer, name), a.lora, 32))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)
    vocab = model.c["vocab_size"]
    secs, tokens = 0.0, 0
    for step in range(a.warmup + a.steps):
        ids = torch.randint(vocab, (a.batch, a.seq))
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.dtype == "bf16"):
            loss = model(ids, ids)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step >= a.warmup:
            secs += time.perf_counter() - t
            tokens += a.batch * a.seq
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kind = (f"lora r={a.lora}" if a.lora else "full") + (" bf16" if a.dtype == "bf16" else "")
    print(f"pytorch    {kind} seq={a.seq} batch={a.batch} threads={torch.get_num_threads()}: "
          f"{tokens / secs:.1f} tok/s, peak RSS {rss:.0f} MiB (torch {torch.__version__})")


if __name__ == "__main__":
    main()
