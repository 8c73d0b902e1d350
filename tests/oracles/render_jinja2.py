"""Oracle: renders chat templates with Python jinja2 in the environment transformers'
apply_chat_template builds (transformers/utils/chat_template_utils.py):
  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                extensions=[<generation tracker>, jinja2.ext.loopcontrols]),
  filters["tojson"]  = json.dumps(x, ensure_ascii=False, indent, separators, sort_keys),
  globals["raise_exception"] raises jinja2.exceptions.TemplateError(message),
  globals["strftime_now"](fmt) = now.strftime(fmt), here with `now` fixed to the case's timestamp
                                 (local time, as datetime.now()).
Nothing else is configured (default undefined, autoescape off, no other filters or globals).
The generation tracker renders {% generation %} bodies unchanged and records where each one's
output lands, in characters of the rendered text, as transformers' AssistantTracker does.
The context is passed as given: a case renders exactly the variables it names.

Input: JSON list of {"template": str, "context": {...}, "now": int}.
Output: JSON list of {"text": str, "generation": [[start, end], ...]} (code-point offsets) or
{"error": "Type: message"}.  Usage: python render_jinja2.py IN OUT"""
import json
import sys
from datetime import datetime

import jinja2.exceptions
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTracker(Extension):
    """{% generation %}...{% endgeneration %}: the body renders as is; its span is recorded."""

    tags = {"generation"}

    def __init__(self, environment):
        super().__init__(environment)
        self.blocks = None  # the top-level output chunks so far, while tracking
        self.spans = None

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        text = caller()
        if self.blocks is not None:
            start = sum(len(b) for b in self.blocks)
            self.spans.append([start, start + len(text)])
        return text


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def make_environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def render(env, template, context, now):
    tracker = env.extensions[GenerationTracker.identifier]
    env.globals["strftime_now"] = lambda fmt: now.strftime(fmt)
    compiled = env.from_string(template)
    tracker.blocks, tracker.spans = [], []
    try:
        for block in compiled.generate(**context):
            tracker.blocks.append(block)
        return {"text": "".join(tracker.blocks), "generation": tracker.spans}
    finally:
        tracker.blocks = tracker.spans = None


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    env = make_environment()
    out = []
    for case in cases:
        now = datetime.fromtimestamp(case.get("now", 0))
        try:
            out.append(render(env, case["template"], case["context"], now))
        except Exception as e:  # the message is compared, not the traceback
            out.append({"error": f"{type(e).__name__}: {e}"})
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
