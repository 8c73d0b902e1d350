"""PyTorch reference for bench/train_step_bench: the same Llama forward+backward (HF op order:
eager attention, fp32 softmax, repeat_kv, rotate_half RoPE, fp32 RMSNorm, causal-LM loss) on the
same config, sequence length, batch, dtype and thread count. Prints tok/s and peak RSS.
Run with the project's venv: .venv/bin/python3 llama_train_step.py CONFIG.json [--seq ...]"""
import argparse, json, math, os, resource, time
import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, nh, nkv = c["hidden_size"], c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
        self.hd = c.get("head_dim", H // nh)
        self.nh, self.nkv = nh, nkv
        self.q = nn.Linear(H, nh * self.hd, bias=False)
        self.k = nn.Linear(H, nkv * self.hd, bias=False)
        self.v = nn.Linear(H, nkv * self.hd, bias=False)
        self.o = nn.Linear(nh * self.hd, H, bias=False)
        I = c["intermediate_size"]
        self.gate, self.up, self.down = nn.Linear(H, I, bias=False), nn.Linear(H, I, bias=False), nn.Linear(I, H, bias=False)
        self.n1, self.n2 = RMSNorm(H, c["rms_norm_eps"]), RMSNorm(H, c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv
        k = k[:, :, None].expand(B, self.nkv, rep, T, self.hd).reshape(B, self.nh, T, self.hd)
        v = v[:, :, None].expand(B, self.nkv, rep, T, self.hd).reshape(B, self.nh, T, self.hd)
        s = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd) + mask
        p = F.softmax(s, dim=-1, dtype=torch.float32).to(q.dtype)
        a = torch.matmul(p, v).transpose(1, 2).reshape(B, T, -1)
        x = x + self.o(a)
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.tied = c.get("tie_word_embeddings", False)
        if not self.tied:
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def forward(self, ids, labels):
        B, T = ids.shape
        hd = self.layers[0].hd
        inv = 1.0 / (self.c.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
        freqs = torch.arange(T).float()[:, None] * inv[None, :]
        emb = torch.cat((freqs, freqs), -1)
        x = self.embed(ids)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        mask = torch.full((T, T), torch.finfo(x.dtype).min, dtype=x.dtype).triu(1)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        x = self.norm(x)
        w = self.embed.weight if self.tied else self.lm_head.weight
        logits = F.linear(x, w).float()
        shift = F.pad(labels, (0, 1), value=-100)[:, 1:]
        return F.cross_entropy(logits.view(-1, logits.size(-1)), shift.reshape(-1), ignore_index=-100)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[a.dtype]
    model = Llama(json.load(open(a.config))).to(dtype)
    ids = torch.randint(model.c["vocab_size"], (a.batch, a.seq))

    def step():
        model(ids, ids).backward()
        for p in model.parameters():
            p.grad = None

    step()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    secs = time.perf_counter() - t
    n = sum(p.numel() for p in model.parameters())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pytorch    params={n/1e6:.1f}M dtype={a.dtype} seq={a.seq} batch={a.batch} threads={torch.get_num_threads()}: "
          f"{a.batch*a.seq*a.steps/secs:.1f} tok/s, peak RSS {rss:.0f} MiB (torch {torch.__version__})")


if __name__ == "__main__":
    main()
