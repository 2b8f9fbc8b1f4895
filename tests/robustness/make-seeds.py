#!/usr/bin/env python3
"""Writes the seed inputs of fuzz-readers (tests/robustness/seeds/), committed:

    python3 tests/robustness/make-seeds.py tests/robustness/seeds

Byte 0 picks the reader, byte 1 the limit (see fuzz-readers.c); valid inputs of each
kind so that the fuzzer starts inside the readers, not at their first check.
"""
import gzip
import io
import os
import struct
import sys

from PIL import Image


def idx(n, rows, cols):
    images = struct.pack(">IIII", 0x803, n, rows, cols) + bytes((i * 7) % 256 for i in range(n * rows * cols))
    labels = struct.pack(">II", 0x801, n) + bytes(i % 3 for i in range(n))
    return images, labels


def idx_payload(images, labels):
    return struct.pack(">H", len(images)) + images + labels


def cifar(n):
    out = b""
    for r in range(n):
        out += bytes([r % 3]) + bytes((i * 13 + r) % 256 for i in range(3 * 1024))
    return out


def image(fmt, mode="RGB", size=(5, 3), **kw):
    im = Image.new(mode, size)
    im.putdata([tuple((x * 40 + c * 30) % 256 for c in range(len(mode))) if len(mode) > 1
                else (x * 40) % 256 for x in range(size[0] * size[1])])
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def meta(*entries):
    keys = ["cam.name", "cam.description", "cam.labels", "cam.input.scale", "cam.input.mean",
            "cam.input.std", "cam.input.background", "cam.default.method", "cam.default.layer",
            "cam.display.alpha", "cam.display.colormap", "cam.display.threshold",
            "cam.input.channel-order", "cam.input.resize-policy", "cam.input.resize",
            "cam.input.crop", "cam.input.interpolation", "cam.input.layout"]
    out = b""
    for k, v in entries:
        out += bytes([keys.index(k) if k in keys else 255]) + v.encode() + b"\0"
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "seeds")
    os.makedirs(outdir, exist_ok=True)
    im, lb = idx(3, 4, 5)
    seeds = {
        "idx": bytes([0, 0]) + idx_payload(im, lb),
        "idx-limit": bytes([0, 2]) + idx_payload(im, lb),
        "idx-gzip-file": bytes([0, 0]) + idx_payload(gzip.compress(im, mtime=0),
                                                     gzip.compress(lb, mtime=0)),
        "idx-harness-gzip": bytes([1, 0]) + idx_payload(im, lb),
        "cifar": bytes([2, 0]) + cifar(2),
        "cifar-gzip-file": bytes([2, 1]) + gzip.compress(cifar(2), mtime=0),
        "cifar-harness-gzip": bytes([3, 0]) + cifar(2),
        "meta-full": bytes([4, 0]) + meta(
            ("cam.name", "tiny"), ("cam.labels", "Alpha\nBeta\nGamma\n"),
            ("cam.input.scale", "0.00392156862745098"), ("cam.input.mean", "0.5"),
            ("cam.input.std", "0.25"), ("cam.input.background", "black"),
            ("cam.default.method", "grad-cam"), ("cam.default.layer", "features"),
            ("cam.display.alpha", "0.5"), ("cam.display.colormap", "greens-reds"),
            ("cam.display.threshold", "0.9"), ("x.custom=kept", "x.custom=kept")),
        "meta-cam": bytes([4, 0]) + meta(("cam.default.method", "cam"),
                                         ("cam.display.colormap", "viridis")),
        "meta-empty": bytes([4, 0]),
        "meta-crop": bytes([4, 0]) + meta(("cam.input.resize-policy", "crop"),
                                          ("cam.input.resize", "8"), ("cam.input.crop", "6"),
                                          ("cam.input.interpolation", "bicubic"),
                                          ("cam.input.channel-order", "rgb"),
                                          ("cam.input.layout", "nchw")),
        "image-png": bytes([5, 0]) + image("PNG"),
        "image-png-gray-alpha": bytes([5, 0]) + image("PNG", "LA"),
        "image-jpeg": bytes([5, 0]) + image("JPEG", quality=80),
        "image-gif": bytes([5, 0]) + image("GIF", "P"),
        "image-bmp": bytes([5, 0]) + image("BMP"),
    }
    for name, data in seeds.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
