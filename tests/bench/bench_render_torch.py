#!/usr/bin/env python3
"""PyTorch doing what the renderer does: the companion of bench-render.c.

    python3 tests/bench/bench_render_torch.py --width W --height H --map N [--runs R]

The full-resolution path on a W x H 8-bit RGBA image and an N x N map:
  F.interpolate(map, (H, W), bilinear, align_corners=False), min-max with the map's
  range, matplotlib's index rule floor(t * 256) clipped to 255, a 256 x 3 uint8 jet
  lookup, out = round((1 - a) * image + a * heat) on RGB, alpha copied -> uint8 RGBA.
The float path is the same on a float32 RGBA image (0..1) without rounding.
PyTorch at its best: warm-up, best of R runs, the best of two formulations (advanced
indexing with a uint8 table; embedding of a premultiplied float table, in-place ops,
preallocated output), and with --threads 0 the better of 1 thread and every core
(else exactly --threads N, to compare with the engine on as many threads).
The two formulations agree up to one colormap bin where a value sits on a bin
boundary (the order of the normalisation arithmetic differs).
Prints machine-readable lines for bench-render.c:
  RESULT u8_s <seconds>      RESULT f32_s <seconds>      RESULT threads_u8 <n> ...
"""
import argparse
import os
import time

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F


def render_u8(m, img, lut, alpha):
    H, W = img.shape[:2]
    up = F.interpolate(m, size=(H, W), mode="bilinear", align_corners=False)[0, 0]
    lo, hi = m.min(), m.max()
    t = (up - lo) / (hi - lo)
    idx = (t * 256).to(torch.int64).clamp_(0, 255)
    heat = lut[idx]
    rgb = ((1 - alpha) * img[..., :3].float() + alpha * heat.float() + 0.5).floor_().to(torch.uint8)
    return torch.cat([rgb, img[..., 3:]], dim=2)


def render_u8_fast(m, img, lut_a, alpha, out):
    H, W = img.shape[:2]
    up = F.interpolate(m, size=(H, W), mode="bilinear", align_corners=False)[0, 0]
    lo, hi = m.min(), m.max()
    idx = up.sub_(lo).mul_(256.0 / (hi - lo)).clamp_(0, 255).long()
    heat = F.embedding(idx, lut_a)  # alpha * k, float
    rgb = img[..., :3].float().mul_(1 - alpha).add_(heat).add_(0.5)
    out[..., :3] = rgb  # float -> uint8 truncates: floor of a positive value
    out[..., 3] = img[..., 3]
    return out


def render_f32(m, img, lutf, alpha):
    H, W = img.shape[:2]
    up = F.interpolate(m, size=(H, W), mode="bilinear", align_corners=False)[0, 0]
    lo, hi = m.min(), m.max()
    t = (up - lo) / (hi - lo)
    idx = (t * 256).to(torch.int64).clamp_(0, 255)
    heat = lutf[idx]
    rgb = (1 - alpha) * img[..., :3] + alpha * heat
    return torch.cat([rgb, img[..., 3:]], dim=2)


def render_f32_fast(m, img, lutf_a, alpha, out):
    H, W = img.shape[:2]
    up = F.interpolate(m, size=(H, W), mode="bilinear", align_corners=False)[0, 0]
    lo, hi = m.min(), m.max()
    idx = up.sub_(lo).mul_(256.0 / (hi - lo)).clamp_(0, 255).long()
    heat = F.embedding(idx, lutf_a)
    out[..., :3] = img[..., :3] * (1 - alpha) + heat
    out[..., 3] = img[..., 3]
    return out


def best_time(fn, runs):
    fn()  # warm-up
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=6000)
    ap.add_argument("--height", type=int, default=4000)
    ap.add_argument("--map", type=int, default=7)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=0, help="0: the better of 1 and every core")
    a = ap.parse_args()
    g = torch.Generator().manual_seed(1)
    m = torch.randn(1, 1, a.map, a.map, generator=g)
    img = torch.randint(0, 256, (a.height, a.width, 4), dtype=torch.uint8, generator=g)
    lut = torch.from_numpy(matplotlib.colormaps["jet"](np.arange(256), bytes=True)[:, :3].copy())
    lut_a = lut.float() * a.alpha
    lutf = lut.float() / 255
    lutf_a = lutf * a.alpha
    imgf = img.float() / 255
    out8 = torch.empty_like(img)
    outf = torch.empty_like(imgf)
    cores = os.cpu_count() or 1
    thread_choices = sorted({1, cores}) if a.threads <= 0 else [a.threads]
    variants = {
        "u8": [lambda: render_u8(m, img, lut, a.alpha),
               lambda: render_u8_fast(m, img, lut_a, a.alpha, out8)],
        "f32": [lambda: render_f32(m, imgf, lutf, a.alpha),
                lambda: render_f32_fast(m, imgf, lutf_a, a.alpha, outf)],
    }
    # The formulations agree (up to float rounding in the blend).
    with torch.inference_mode():
        d8 = (render_u8(m, img, lut, a.alpha).int() - render_u8_fast(m, img, lut_a, a.alpha, out8).int()).abs().max()
        df = (render_f32(m, imgf, lutf, a.alpha) - render_f32_fast(m, imgf, lutf_a, a.alpha, outf)).abs().max()
    print("RESULT variants_max_diff_u8 %d" % int(d8))
    print("RESULT variants_max_diff_f32 %.2g" % float(df))
    for name, fns in variants.items():
        best, best_setting = float("inf"), ""
        for threads in thread_choices:
            torch.set_num_threads(threads)
            for k, fn in enumerate(fns):
                with torch.inference_mode():
                    t = best_time(fn, a.runs)
                if t < best:
                    best, best_setting = t, "%dthreads/variant%d" % (threads, k)
        print("RESULT %s_s %.6f" % (name, best))
        print("RESULT setting_%s %s" % (name, best_setting))
    print("RESULT torch_version %s" % torch.__version__)


if __name__ == "__main__":
    main()
