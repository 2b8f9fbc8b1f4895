#!/usr/bin/env python3
"""Draws tests/plugin/data/sample.png, the bundled sample image (README quick start,
build-aux/demo.sh, the plug-in tests): a small synthetic picture made from scratch
(sky, ground, a red car-like shape), no data set pixels.

    python3 tests/plugin/make-sample-image.py [OUTPUT.png]
"""
import os
import sys

from PIL import Image, ImageDraw


def draw(width=96, height=72):
    im = Image.new("RGB", (width, height))
    d = ImageDraw.Draw(im)
    for y in range(height):  # sky to ground gradient
        t = y / (height - 1)
        sky = (int(120 + 100 * t), int(170 + 60 * t), 235)
        ground = (90, int(120 - 30 * t), 60)
        d.line([(0, y), (width, y)], fill=sky if y < height * 0.62 else ground)
    d.rounded_rectangle([14, 30, 82, 52], radius=6, fill=(200, 30, 35))   # body
    d.polygon([(28, 30), (38, 18), (62, 18), (72, 30)], fill=(185, 25, 30))  # cabin
    d.polygon([(32, 29), (40, 21), (49, 21), (49, 29)], fill=(170, 210, 240))  # windows
    d.polygon([(52, 29), (52, 21), (60, 21), (68, 29)], fill=(170, 210, 240))
    for cx in (30, 66):  # wheels
        d.ellipse([cx - 8, 44, cx + 8, 60], fill=(25, 25, 25))
        d.ellipse([cx - 3, 49, cx + 3, 55], fill=(160, 160, 160))
    d.ellipse([76, 36, 82, 41], fill=(255, 230, 120))  # headlight
    return im


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "data", "sample.png")
    draw().save(out, optimize=True)
    print(out)
