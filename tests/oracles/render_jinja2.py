"""Oracle: renders chat templates with Python jinja2 configured as transformers'
apply_chat_template (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
tojson with ensure_ascii=False, raise_exception, strftime_now fixed to the given timestamp).
Input: JSON list of {"template": str, "context": {...}, "now": int}; output: JSON list of
{"text": str} or {"error": "Type: message"}. Usage: python3 render_jinja2.py IN OUT"""
import json
import sys
from datetime import datetime

from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2 import nodes


class Generation(Extension):
    """transformers' AssistantTracker: {% generation %} renders its body unchanged."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


class TemplateError(Exception):
    pass


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def main():
    cases = json.load(open(sys.argv[1]))
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    out = []
    for case in cases:
        now = datetime.fromtimestamp(case.get("now", 0))
        env.globals["strftime_now"] = lambda fmt, now=now: now.strftime(fmt)
        try:
            out.append({"text": env.from_string(case["template"]).render(**case["context"])})
        except Exception as e:  # the message is compared, not the traceback
            out.append({"error": f"{type(e).__name__}: {e}"})
    json.dump(out, open(sys.argv[2], "w"), ensure_ascii=False)


if __name__ == "__main__":
    main()
