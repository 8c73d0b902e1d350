#!/usr/bin/env python3
"""transformers and PEFT as the oracle for the folders `automodel` writes
(tests/oracle/export_contract_test.cpp).

    export_contract.py inputs OUT.safetensors        a fixed batch for `automodel debug forward`
    export_contract.py bf16-copy SRC OUT             SRC loaded and saved back as bfloat16 (+ tokenizer)
    export_contract.py check SPEC.json OUT.json      the checks SPEC lists, results to OUT.json

SPEC (all paths absolute):
  {"inputs": X.safetensors,
   "logits":   [{"name", "model", "adapter"?, "ours"}]   transformers (+ PEFT adapter) logits on
               the batch against ours (debug forward's output): max|d|/max|ref|
   "merge":    [{"name", "base", "adapter", "ours"}]      PEFT merge_and_unload() in the base's
               dtype against our merged folder: per tensor max|d|/max|ref|, the largest |d| in
               units of the reference's bf16/fp32 spacing, names and dtypes
   "generate": [{"name", "model", "adapter"?, "prompts", "max_new_tokens"}]  greedy ids
               (prompt + continuation) from HF generate(do_sample=False)}
"""
import json
import shutil
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)
torch.manual_seed(0)


def fixed_batch():
    g = torch.Generator().manual_seed(1234)
    ids = torch.randint(3, 512, (2, 24), generator=g, dtype=torch.long)
    ids[:, 0] = 1  # BOS
    return ids


def load(model_dir, adapter=None):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)  # the checkpoint's own dtype
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    return model.eval()


def rel(got, ref):
    return float((got.double() - ref.double()).abs().max() / ref.double().abs().max().clamp_min(1e-30))


def spacing(t):
    """The distance from each |value| to the next representable number of t's dtype."""
    a = t.abs()
    return torch.nextafter(a, torch.full_like(a, float("inf"))) - a


def check_logits(spec, inputs):
    from safetensors.torch import load_file

    model = load(spec["model"], spec.get("adapter"))
    with torch.no_grad():
        ref = model(input_ids=inputs).logits.float()
    ours = load_file(spec["ours"])["logits"]
    if ours.shape != ref.shape:
        return {"shape_equal": False, "rel": None}
    return {"shape_equal": True, "rel": rel(ours, ref), "ref_dtype": str(next(model.parameters()).dtype)}


def check_merge(spec):
    from safetensors import safe_open

    merged = load(spec["base"], spec["adapter"]).merge_and_unload()
    ref = {k: v.detach() for k, v in merged.state_dict().items()}
    ours = {}
    for f in sorted(Path(spec["ours"]).glob("*.safetensors")):
        with safe_open(str(f), "pt") as h:
            for k in h.keys():
                ours[k] = h.get_tensor(k)
    # A tied lm_head is not a separate tensor in either save.
    if getattr(merged.config, "tie_word_embeddings", False):
        ref.pop("lm_head.weight", None)
        ours.pop("lm_head.weight", None)
    out = {"names_equal": sorted(ref) == sorted(ours), "only_ref": sorted(set(ref) - set(ours)),
           "only_ours": sorted(set(ours) - set(ref)), "tensors": {}}
    for k in sorted(set(ref) & set(ours)):
        r, o = ref[k], ours[k]
        entry = {"ref_dtype": str(r.dtype), "ours_dtype": str(o.dtype), "shape_equal": r.shape == o.shape}
        if r.shape == o.shape:
            d = (o.double() - r.double()).abs()
            entry["rel"] = rel(o, r)
            entry["max_spacings"] = float((d / spacing(r).double()).max())
            entry["equal"] = bool(torch.equal(o.to(r.dtype), r))
        out["tensors"][k] = entry
    return out


def check_generate(spec):
    model = load(spec["model"], spec.get("adapter"))
    results = []
    for prompt in spec["prompts"]:
        ids = torch.tensor([prompt], dtype=torch.long)
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=spec["max_new_tokens"])
        results.append([int(t) for t in out[0]])
    return results


def main():
    cmd = sys.argv[1]
    if cmd == "inputs":
        from safetensors.torch import save_file

        save_file({"input_ids": fixed_batch()}, sys.argv[2])
    elif cmd == "bf16-copy":
        from transformers import AutoModelForCausalLM

        src, out = Path(sys.argv[2]), Path(sys.argv[3])
        AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32).to(torch.bfloat16).save_pretrained(out)
        for name in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "generation_config.json"):
            if (src / name).exists():
                shutil.copy(src / name, out / name)
    elif cmd == "check":
        from safetensors.torch import load_file

        spec = json.loads(Path(sys.argv[2]).read_text())
        inputs = load_file(spec["inputs"])["input_ids"] if spec.get("inputs") else None
        report = {"logits": {}, "merge": {}, "generate": {}}
        for s in spec.get("logits", []):
            report["logits"][s["name"]] = check_logits(s, inputs)
        for s in spec.get("merge", []):
            report["merge"][s["name"]] = check_merge(s)
        for s in spec.get("generate", []):
            report["generate"][s["name"]] = check_generate(s)
        Path(sys.argv[3]).write_text(json.dumps(report, indent=1))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
