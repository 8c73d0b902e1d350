"""Oracle: transformers' own tokenizer.apply_chat_template on real tokenizer folders.

Input: JSON list of cases
  {"folder": tokenizer folder (tokenizer.json [+ tokenizer_config.json]),
   "template": a template string, or null for the folder's own chat template,
   "messages": [...], "tools": [...] or null, "add_generation_prompt": bool,
   "masks": bool, "now": unix time that strftime_now sees}
Output: JSON list, one per case:
  {"text": str}                                   tokenize=False
  {"text": str, "input_ids": [...], "assistant_masks": [...]}
        when "masks": also tokenize=True, return_dict=True, return_assistant_tokens_mask=True
  {"error": "Type: message"}                      when transformers raises
Usage: python hf_apply_chat_template.py IN OUT
"""
import json
import sys
from datetime import datetime

import transformers.utils.chat_template_utils as chat_template_utils
from transformers import AutoTokenizer


class FrozenClock:
    """Stands in for datetime in transformers' chat template module: strftime_now() reads now()."""

    moment = datetime.fromtimestamp(0)

    @classmethod
    def now(cls, tz=None):
        return cls.moment


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    chat_template_utils.datetime = FrozenClock
    tokenizers = {}
    out = []
    for case in cases:
        folder = case["folder"]
        if folder not in tokenizers:
            tokenizers[folder] = AutoTokenizer.from_pretrained(folder)
        tok = tokenizers[folder]
        FrozenClock.moment = datetime.fromtimestamp(case.get("now", 0))
        common = dict(
            tools=case.get("tools"),
            chat_template=case.get("template"),
            add_generation_prompt=case.get("add_generation_prompt", False),
        )
        try:
            result = {"text": tok.apply_chat_template(case["messages"], tokenize=False, **common)}
            if case.get("masks"):
                enc = tok.apply_chat_template(
                    case["messages"], tokenize=True, return_dict=True, return_assistant_tokens_mask=True, **common
                )
                result["input_ids"] = list(enc["input_ids"])
                result["assistant_masks"] = list(enc["assistant_masks"])
        except Exception as e:  # the outcome is compared, not the traceback
            result = {"error": f"{type(e).__name__}: {e}"}
        out.append(result)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
