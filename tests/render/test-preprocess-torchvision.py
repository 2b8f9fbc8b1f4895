#!/usr/bin/env python3
"""Preprocessing against torchvision.transforms.v2.functional on the same pixels:
Resize(S) + CenterCrop(H, W) (torchvision's ImageNet recipe), Resize((H, W))
(stretch), letterbox (pad) content, bilinear and bicubic with antialias=True on
float tensors, mean/std, and BGR channel order (Caffe: 0..255 values, BGR mean).
Also where the heatmap goes: the source rectangle is exactly the pixels whose
centres lie inside the crop, and the window maps them onto the input.

Drives the C code through render-tool (tests/render/render-tool.c).
usage: test-preprocess-torchvision.py RENDER_TOOL
Exit 0: all checks passed; 1: a check failed; 77: torchvision is missing.
"""
import math
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    from torchvision.transforms import v2
    from torchvision.transforms.v2 import functional as TF
except ImportError as e:  # pragma: no cover
    print("SKIP: %s (needs python3-torchvision)" % e)
    sys.exit(77)

TOOL = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="cam-preprocess-tv-")
FAILURES = []
RNG = np.random.default_rng(2026)
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
# float32 sums in another order than torch's (4 partial sums along x): a few ulp of
# values within about -2.2 .. 2.7 after mean/std
TOL = 1e-5


def fail(msg):
    print("FAIL:", msg)
    FAILURES.append(msg)


def check(cond, msg):
    (print("ok:", msg) if cond else fail(msg))


def c_preprocess(img8, **kw):
    path = os.path.join(TMP, "img.raw")
    img8.tofile(path)
    h, w, c = img8.shape
    out = os.path.join(TMP, "input.f32")
    args = [TOOL, "preprocess", "img=" + path, "iw=%d" % w, "ih=%d" % h, "ic=%d" % c, "it=u8",
            "out=" + out] + ["%s=%s" % (k, v) for k, v in kw.items()]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("render-tool failed: %s" % r.stderr)
    H, W = int(kw["height"]), int(kw["width"])
    data = np.fromfile(out, dtype=np.float32).reshape(3, H, W)
    f = r.stdout.split()
    info = {"source": [int(x) for x in f[3:7]], "content": [int(x) for x in f[8:12]],
            "window": [float(x) for x in f[15:19]]}
    return data, info


def image(h, w):
    """Smooth gradients plus noise: both the filter's shape and its reach show."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / max(w - 1, 1), y / max(h - 1, 1), ((x + y) % 17) / 16.0], axis=-1)
    noise = RNG.random((h, w, 3))
    return np.clip((0.6 * base + 0.4 * noise) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def as_tensor(img8):
    return torch.from_numpy(img8).permute(2, 0, 1).to(torch.float32) / 255.0


MODES = {"bilinear": v2.InterpolationMode.BILINEAR, "bicubic": v2.InterpolationMode.BICUBIC}


def check_crop(h, w, size, crop, mode):
    img8 = image(h, w)
    t = TF.resize(as_tensor(img8), [size], interpolation=MODES[mode], antialias=True)
    t = TF.center_crop(t, [crop, crop])
    ref = TF.normalize(t, list(MEAN), list(STD)).numpy()
    ours, info = c_preprocess(img8, channels=3, width=crop, height=crop, aspect="crop",
                              resize=size, resample=mode, mean="%g,%g,%g" % MEAN,
                              std="%g,%g,%g" % STD)
    err = float(np.max(np.abs(ours - ref)))
    check(err <= TOL, "%dx%d Resize(%d)+CenterCrop(%d) %s vs torchvision: max |diff| %.2e"
          % (w, h, size, crop, mode, err))
    # The heatmap's place: the pixels whose centres lie inside the crop.
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    left, top = int(round((nw - crop) / 2.0)), int(round((nh - crop) / 2.0))
    sx, sy = w / nw, h / nh

    def inside(n, scale, first, count):
        return [i for i in range(n) if first * scale <= i + 0.5 < (first + count) * scale]
    xs, ys = inside(w, sx, left, crop), inside(h, sy, top, crop)
    expect = [xs[0], ys[0], len(xs), len(ys)]
    check(info["source"] == expect, "%dx%d crop: source rect %s, expected %s"
          % (w, h, info["source"], expect))
    win = [xs[0] / sx - left, ys[0] / sy - top, len(xs) / sx, len(ys) / sy]
    werr = max(abs(a - b) for a, b in zip(info["window"], win))
    check(werr <= 1e-4 and info["content"] == [0, 0, crop, crop],
          "%dx%d crop: window %s vs %s" % (w, h, info["window"], win))


def check_stretch(h, w, H, W, mode):
    img8 = image(h, w)
    t = TF.resize(as_tensor(img8), [H, W], interpolation=MODES[mode], antialias=True)
    ref = TF.normalize(t, list(MEAN), list(STD)).numpy()
    ours, info = c_preprocess(img8, channels=3, width=W, height=H, aspect="stretch",
                              resample=mode, mean="%g,%g,%g" % MEAN, std="%g,%g,%g" % STD)
    err = float(np.max(np.abs(ours - ref)))
    check(err <= TOL, "%dx%d -> %dx%d Resize((H, W)) %s vs torchvision: max |diff| %.2e"
          % (w, h, W, H, mode, err))


def check_pad(h, w, S, mode):
    img8 = image(h, w)
    ours, info = c_preprocess(img8, channels=3, width=S, height=S, aspect="pad", resample=mode)
    x, y, cw, ch = info["content"]
    ref = TF.resize(as_tensor(img8), [ch, cw], interpolation=MODES[mode], antialias=True).numpy()
    err = float(np.max(np.abs(ours[:, y:y + ch, x:x + cw] - ref)))
    rest = ours.copy()
    rest[:, y:y + ch, x:x + cw] = 0
    check(err <= TOL and not rest.any() and info["source"] == [0, 0, w, h],
          "%dx%d letterboxed into %dx%d (%s): content %s vs torchvision %.2e, pad zero"
          % (w, h, S, S, mode, info["content"], err))


def check_bgr():
    img8 = image(120, 90)
    caffe_mean = (103.939, 116.779, 123.68)  # B, G, R on 0..255 values
    t = TF.resize(as_tensor(img8), [64], interpolation=MODES["bilinear"], antialias=True)
    t = TF.center_crop(t, [56, 56]) * 255.0
    ref = t.flip(0).numpy() - np.array(caffe_mean, dtype=np.float32)[:, None, None]
    ours, _ = c_preprocess(img8, channels=3, width=56, height=56, aspect="crop", resize=64,
                           resample="bilinear", order="bgr", scale=1,
                           mean="%g,%g,%g" % caffe_mean)
    err = float(np.max(np.abs(ours - ref)))
    # values up to 255: the same relative error as above
    check(err <= TOL * 128, "BGR, 0..255, Caffe mean vs torchvision flipped: max |diff| %.2e" % err)
    rgb, _ = c_preprocess(img8, channels=3, width=56, height=56, aspect="crop", resize=64,
                          resample="bilinear", order="rgb", scale=1)
    back = ours + np.array(caffe_mean, dtype=np.float32)[:, None, None]
    err = float(np.max(np.abs(back - rgb[::-1])))
    check(err <= 1e-4, "BGR planes are the RGB planes reversed: max |diff| %.2e" % err)


def main():
    try:
        for h, w in ((300, 400), (400, 300), (257, 231), (100, 80), (224, 224)):
            for mode in ("bilinear", "bicubic"):
                check_crop(h, w, 256, 224, mode)
        check_crop(61, 97, 36, 32, "bilinear")  # upscaling before the crop
        for mode in ("bilinear", "bicubic"):
            check_stretch(333, 517, 224, 224, mode)
            check_stretch(40, 30, 64, 48, mode)    # both axes grow
            check_pad(150, 400, 96, mode)
        check_bgr()
    except RuntimeError as e:
        fail(str(e))
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
