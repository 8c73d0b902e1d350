#!/usr/bin/env python3
"""Pillow and Python's XML parser as the oracles for our training-curve pictures
(tests/unit/train/training_plots_test.cpp, tests/integration/plot_cli_test.cpp).

    plot_image.py PNG SVG COLOUR...

Prints JSON: {"png": {"format", "size": [w, h], "colors": distinct RGB colours,
"near": {COLOUR: pixels within 24 of it per channel}}, "svg": {"size": [w, h],
"polylines": {COLOUR: [points of each polyline stroked in it]}}} with COLOUR as rrggbb.
"""
import json
import sys
import xml.etree.ElementTree as ET

from PIL import Image


def png_facts(path, colours):
    img = Image.open(path)
    img.load()  # decodes every row: a truncated or corrupt file fails here
    fmt, size = img.format, list(img.size)
    rgb = img.convert("RGB")
    counts = rgb.getcolors(maxcolors=1 << 24)
    near = {}
    for c in colours:
        r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
        near[c] = sum(n for n, (pr, pg, pb) in counts if abs(pr - r) <= 24 and abs(pg - g) <= 24 and abs(pb - b) <= 24)
    return {"format": fmt, "size": size, "colors": len(counts), "near": near}


def svg_facts(path, colours):
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    lines = {c: [] for c in colours}
    for el in root.iter():
        if el.tag not in (ns + "polyline", ns + "path"):
            continue
        stroke = el.get("stroke", "").lstrip("#").lower()
        if stroke in lines:
            lines[stroke].append(len(el.get("points", "").split()))
    return {"size": [root.get("width"), root.get("height")], "polylines": lines}


def main():
    png, svg, colours = sys.argv[1], sys.argv[2], [c.lower() for c in sys.argv[3:]]
    json.dump({"png": png_facts(png, colours), "svg": svg_facts(svg, colours)}, sys.stdout)


if __name__ == "__main__":
    main()
