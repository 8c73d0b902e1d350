"""Oracle: which code points HF tokenizers' own engines put in a class, over all of Unicode.

  python hf_unicode_classes.py IN.json OUT.json
  IN:  {"patterns": [str, ...]}
  OUT: {"patterns": {pattern: [[first, last], ...]},   # code points a Regex (Oniguruma) matches
        "digits": [[first, last], ...]}                # code points the Digits pre-tokenizer isolates

Each pattern must match one code point at a time. It is run as a Replace normalizer over one
string of every scalar value (U+10FFFD, the marker, is left out), so a code point is in the class
when its position comes back as the marker.
"""
import json
import sys

from tokenizers import Regex, normalizers, pre_tokenizers

MARK = "\U0010FFFD"
CODE_POINTS = [c for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF) and c != 0x10FFFD]


def to_ranges(cps):
    out = []
    for c in sorted(cps):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def regex_class(pattern, text):
    out = normalizers.Replace(Regex(pattern), MARK).normalize_str(text)
    if len(out) != len(text):
        raise SystemExit(f"pattern {pattern!r} does not match single code points")
    return to_ranges(CODE_POINTS[i] for i, ch in enumerate(out) if ch == MARK)


def digits():
    # Digits(individual_digits) isolates each numeric char; a NUL between chars keeps others apart.
    pt = pre_tokenizers.Digits(individual_digits=True)
    found = []
    for i in range(0, len(CODE_POINTS), 4096):
        chunk = CODE_POINTS[i:i + 4096]
        for _, (b, e) in pt.pre_tokenize_str("\0".join(map(chr, chunk))):
            if e - b == 1 and b % 2 == 0:
                found.append(chunk[b // 2])
    return to_ranges(found)


def main(in_path, out_path):
    with open(in_path, encoding="utf-8") as f:
        patterns = json.load(f)["patterns"]
    text = "".join(map(chr, CODE_POINTS))
    out = {"patterns": {p: regex_class(p, text) for p in patterns}, "digits": digits()}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
