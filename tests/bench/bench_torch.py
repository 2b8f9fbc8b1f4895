#!/usr/bin/env python3
"""PyTorch at its best on the same ONNX weights: the companion of bench-engine.c.

    python3 tests/bench/bench_torch.py --images N [--export DIR] NETWORK=MODEL.onnx ...

For each network (fashion-mnist, cifar10) the ONNX file's weights are copied into
the PyTorch module of weights/networks.py and PyTorch is timed as well as it can do:
parameters frozen (requires_grad False), warm-up before timing, the better of 1 and
2 threads (and of every core), and for throughput its best batch size. Grad-CAM
differentiates only the head: the trunk up to the explanation layer runs under
no_grad, then the layer's output A gets requires_grad and only the rest is
differentiated (Grad-CAM needs d score / d A, nothing earlier).
  forward    per-image latency (batch of 1), inference_mode
  cam        forward + sum_k W[c,k] A_k for the top class (CAM networks only)
  gradcam    trunk under no_grad, head with grad, d logit_top / d A, the map
  gradcam throughput: images/s of full Grad-CAM over N official test images
Prints machine-readable lines for bench-engine.c:
  RESULT <network> <key> <value>
keys: macs (forward multiply-adds per image), head_macs (multiply-adds after the
explanation layer, which the backward repeats), forward_ms, cam_ms, gradcam_ms,
gradcam_ips, and *_setting (the threads / batch size that won).
With --export DIR, networks given as NETWORK=random are first exported with
fixed-seed random weights to DIR/NETWORK.onnx (timings do not depend on the weights).
"""
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import argparse
import os
import statistics
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

import camref  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

LAYER = {"fashion-mnist": "conv2d_3_relu", "cifar10": "conv2d_8_relu"}


def split(net, layer):
    mods = camref.layers(net)
    k = [n for n, _ in mods].index(layer) + 1
    return nn.Sequential(*[m for _, m in mods[:k]]), nn.Sequential(*[m for _, m in mods[k:]])


def count_macs(net, shape):
    macs = []

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            macs.append(out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, nn.Linear):
            macs.append(m.in_features * m.out_features * out.shape[0])
        else:
            macs.append(0)

    hooks = [m.register_forward_hook(hook) for _, m in camref.layers(net)]
    with torch.no_grad():
        net(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    return macs


def timed(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def thread_counts():
    cores = os.cpu_count() or 1
    return sorted({1, min(2, cores), cores})


def bench(name, path, images, repeats):
    proto = onnx.load(path)
    net = camref.load_onnx_weights(camref.networks.build(name), proto).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    trunk, head = split(net, LAYER[name])
    shape = net.input_shape
    macs = count_macs(net, shape)
    k = len(trunk)
    print(f"RESULT {name} macs {sum(macs)}")
    print(f"RESULT {name} head_macs {sum(macs[k:])}")
    linear = head[-1]
    has_cam = isinstance(head[0], nn.AdaptiveAvgPool2d)
    x1 = torch.from_numpy(images[:1])

    def forward():
        with torch.inference_mode():
            return net(x1)

    def cam():
        with torch.inference_mode():
            a = trunk(x1)
            c = head(a).argmax(1)
            return torch.einsum("nk,nkhw->nhw", linear.weight[c], a)

    def gradcam(x):
        with torch.no_grad():
            a = trunk(x)
        a.requires_grad_(True)
        with torch.enable_grad():
            logits = head(a)
            top = logits.argmax(1, keepdim=True)
            g, = torch.autograd.grad(logits.gather(1, top).sum(), a)
        alpha = g.mean((2, 3), keepdim=True)
        return torch.relu((alpha * a.detach()).sum(1))

    tests = [("forward", forward), ("gradcam", lambda: gradcam(x1))]
    if has_cam:
        tests.insert(1, ("cam", cam))
    for key, fn in tests:
        best = None
        for t in thread_counts():
            torch.set_num_threads(t)
            ms = 1e3 * timed(fn, repeats, max(10, repeats // 5))
            if best is None or ms < best[0]:
                best = (ms, t)
        print(f"RESULT {name} {key}_ms {best[0]:.6f}")
        print(f"RESULT {name} {key}_ms_setting {best[1]}")

    # Throughput of full Grad-CAM: choose threads and batch size on a sample, then run all
    # (best of 3 passes).
    data = torch.from_numpy(images)
    sample = data[:min(len(data), 1024)]
    best = None
    for t in thread_counts():
        torch.set_num_threads(t)
        for bs in (16, 64, 256, 1024):
            if bs > len(sample):
                continue

            def run(d=sample, b=bs):
                for i in range(0, len(d), b):
                    gradcam(d[i:i + b])

            run(sample[:bs])  # warm-up
            s = timed(run, 2, 0)
            ips = len(sample) / s
            if best is None or ips > best[0]:
                best = (ips, t, bs)
    _, t, bs = best
    torch.set_num_threads(t)
    ips = 0.0
    for _ in range(3):  # best of 3 passes over all images, as the engine's side
        t0 = time.perf_counter()
        for i in range(0, len(data), bs):
            gradcam(data[i:i + bs])
        ips = max(ips, len(data) / (time.perf_counter() - t0))
    print(f"RESULT {name} gradcam_ips {ips:.3f}")
    print(f"RESULT {name} gradcam_ips_setting {t} thread{'s' if t > 1 else ''}, batch {bs}")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--export")
    ap.add_argument("models", nargs="+", help="NETWORK=MODEL.onnx or NETWORK=random")
    args = ap.parse_args()
    print(f"RESULT torch version {torch.__version__}")
    for spec in args.models:
        name, path = spec.split("=", 1)
        if path == "random":
            path = os.path.join(args.export, name + ".onnx")
            net = camref.randomize(camref.networks.build(name), 7)
            camref.export.export(name, net, path, {"note": "random weights for tests/bench"})
            print(f"RESULT {name} exported {path}")
        real = camref.test_images(name, args.images)
        if real is not None and len(real[0]) == args.images:
            images = np.ascontiguousarray(real[0])
            print(f"RESULT {name} images official test set, first {args.images}")
        else:
            c, h, w = camref.networks.NETWORKS[name].input_shape
            images = np.random.default_rng(0).random((args.images, c, h, w), dtype=np.float32)
            print(f"RESULT {name} images {args.images} random images (no datasets)")
        sys.stdout.flush()
        bench(name, path, images, args.repeats)


if __name__ == "__main__":
    main()
