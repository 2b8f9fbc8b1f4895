#!/usr/bin/env python3
"""The engine on ImageNet-size models beside ONNX Runtime and PyTorch, in one run (issue 14).

    python3 tests/bench/bench_models.py --engine _build/tests/bench/bench-models-engine
        [--models resnet18,resnet50,...] [--repeats N] [--workdir DIR] [--markdown FILE]
        [--resume]

Not a test: it prints tables of times, memory and ratios and asserts nothing.

For each torchvision 0.21 classifier (seeded random weights: speed and memory do not
depend on the values; exported once into --workdir at 224x224, opset 17, dynamic batch):
  engine        bench-models-engine: load time (best of 3), per-image latency (median)
                of forward, Grad-CAM (forward + backward to the automatic layer + map)
                and CAM, with 1 and with 2 OpenBLAS threads; Grad-CAM throughput with
                2 workers of 1 thread; peak resident memory of a process that loads the
                model and makes one Grad-CAM.
  ONNX Runtime  forward only (CPU provider, all graph optimisations), 1 and 2 intra-op
                threads, batch 1 latency (median); throughput at the best of batch
                sizes 1/2/4/8 and 1/2 threads; peak memory of a process that makes one
                session and runs one image.
  PyTorch       forward (no_grad, 1 and 2 threads, the better; oneDNN on, the backward
                passes below without it: it dies with SIGFPE on some AMD CPUs); Grad-CAM at its best
                (parameters frozen, the target layer's output made to require grad in a
                forward hook, torch.autograd.grad of the logit to it only); Grad-CAM as
                pytorch-grad-cam users run it (parameters requiring grad, input
                requiring grad, loss.backward() through the whole network).
  floor         the model's multiply-adds (torch.utils.flop_counter) x 2 / the OpenBLAS
                sgemm rate on the model's own GEMM shapes (im2col shapes of its three
                largest non-depthwise convolutions and linear layers, weighted by their
                multiply-adds), 1 and 2 threads, measured in the same run.
The target layers (PyTorch side): ResNet layer4, MobileNet/EfficientNet features,
DenseNet features (norm5), ViT the last encoder block's ln_1 (pytorch-grad-cam's
recommendation); the engine uses its automatic layer, the same tensor up to the
DenseNet ReLU that follows norm5.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

MODELS = ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "densenet121", "vit_b_16"]


def target_module(name, model):
    if name.startswith("resnet") or name.startswith("resnext") or name.startswith("wide_"):
        return model.layer4
    if name.startswith("vit"):
        return model.encoder.layers[-1].ln_1
    return model.features


def to_map(act):
    """Activation as N x C x H x W (ViT tokens: class token dropped, g x g grid)."""
    if act.dim() == 3:
        n, t, c = act.shape
        g = int(round((t - 1) ** 0.5))
        return act[:, 1:, :].reshape(n, g, g, c).permute(0, 3, 1, 2)
    return act


def export(name, path):
    import torch
    import torchvision
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    tmp = path + ".tmp"
    torch.onnx.export(model, x, tmp, input_names=["input"], output_names=["logits"],
                      opset_version=17, dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}},
                      dynamo=False)
    os.replace(tmp, path)


def torch_model(name):
    import torch
    import torchvision
    torch.manual_seed(0)
    return getattr(torchvision.models, name)(weights=None).eval()


def median_ms(fn, repeats):
    for _ in range(3):
        fn()
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(t)


def gemm_shapes_and_flops(name):
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    model = torch_model(name)
    shapes = []

    def conv_hook(m, inp, out):
        if m.groups == m.in_channels and m.groups > 1:
            return  # depthwise: memory-bound, no GEMM
        k = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        M, N = m.out_channels // m.groups, out.shape[2] * out.shape[3]
        shapes.append((M, N, k, M * N * k * m.groups))

    def linear_hook(m, inp, out):
        rows = inp[0].numel() // m.in_features
        shapes.append((m.out_features, rows, m.in_features, m.out_features * rows * m.in_features))

    hooks = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    x = torch.randn(1, 3, 224, 224)
    # Not under no_grad: there nn.MultiheadAttention takes its fused fast path, whose
    # projections and attention products the counter does not see (ViT-B/16 counted
    # 11.27 G instead of 16.85 G multiply-adds before this).
    with FlopCounterMode(display=False) as fc:
        model(x)
    for h in hooks:
        h.remove()
    return shapes, fc.get_total_flops()


def engine_results(engine, *args):
    r = subprocess.run([engine, *args], capture_output=True, text=True)
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            _, key, value = line.split(" ", 2)
            out[key] = value
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
    return out


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_peak(path):
    """In a child process: the peak memory of one session and one image."""
    import numpy as np
    s = ort_session(path, 1)
    s.run(None, {"input": np.random.rand(1, 3, 224, 224).astype(np.float32)})
    print("RESULT peak_mb %.1f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def ort_results(path, repeats):
    import numpy as np
    res = {}
    x1 = np.random.rand(1, 3, 224, 224).astype(np.float32)
    best_tp = 0.0
    for threads in (1, 2):
        s = ort_session(path, threads)
        res["forward_%d" % threads] = median_ms(lambda: s.run(None, {"input": x1}), repeats)
        for batch in (1, 2, 4, 8):
            xb = np.random.rand(batch, 3, 224, 224).astype(np.float32)
            ms = median_ms(lambda: s.run(None, {"input": xb}), max(3, repeats // batch))
            best_tp = max(best_tp, 1e3 * batch / ms)
    res["throughput"] = best_tp
    r = subprocess.run([sys.executable, __file__, "--ort-peak", path], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.startswith("RESULT peak_mb"):
            res["peak_mb"] = float(line.split()[2])
    return res


def torch_results(name, repeats):
    import torch
    model = torch_model(name)
    layer = target_module(name, model)
    x = torch.randn(1, 3, 224, 224)
    res = {}

    def forward():
        with torch.no_grad():
            model(x)

    def gradcam_best():
        store = {}

        def hook(m, inp, out):
            a = out.detach().requires_grad_(True)
            store["a"] = a
            return a.clone()  # not a leaf: the model may change it in place (DenseNet's ReLU)

        h = layer.register_forward_hook(hook)
        try:
            logits = model(x)
            c = int(logits[0].argmax())
            (g,) = torch.autograd.grad(logits[0, c], store["a"])
            a, g = to_map(store["a"]), to_map(g)
            torch.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1)).detach()
        finally:
            h.remove()

    def gradcam_pgc():
        store = {}

        def hook(m, inp, out):
            store["a"] = out
            out.register_hook(lambda g: store.__setitem__("g", g))

        h = layer.register_forward_hook(hook)
        try:
            xi = x.clone().requires_grad_(True)
            model.zero_grad()
            logits = model(xi)
            c = int(logits[0].argmax())
            logits[0, c].backward()
            a, g = to_map(store["a"]), to_map(store["g"])
            torch.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1)).detach()
        finally:
            h.remove()

    for key, fn, grad in (("forward", forward, False), ("gradcam_best", gradcam_best, False),
                          ("gradcam_pgc", gradcam_pgc, True)):
        for p in model.parameters():
            p.requires_grad_(grad)
        best = None
        for threads in (1, 2):
            torch.set_num_threads(threads)
            # the backward passes without oneDNN: its convolution backward dies with
            # SIGFPE on some AMD CPUs (a Zen 5 EPYC here; pytorch/pytorch#177227)
            with torch.backends.mkldnn.flags(enabled=key == "forward"):
                ms = median_ms(fn, repeats)
            if best is None or ms < best[0]:
                best = (ms, threads)
        res[key] = best
    return res


def tables(rows, header, markdown, final=False):
    """Prints the three tables of the rows so far; writes them with the header to markdown."""
    lines = [header]

    def out(s=""):
        if final:
            print(s, flush=True)
        lines.append(s)

    def f(v, fmt="%.1f"):
        try:
            return fmt % float(v)
        except (TypeError, ValueError):
            return "n/a"

    def ratio(x, y):
        try:
            return "%.2f" % (float(x) / float(y))
        except (TypeError, ValueError, ZeroDivisionError):
            return "n/a"

    out()
    out("| model | engine forward, 1 / 2 threads (ms) | engine Grad-CAM, 1 / 2 (ms) | engine CAM, 1 / 2 (ms) "
        "| ONNX Runtime forward, 1 / 2 (ms) | Grad-CAM / ORT forward, 1 / 2 |")
    out("|---|---|---|---|---|---|")
    for name, e, o, t, flops, rate, size in rows:
        out("| %s | %s / %s | %s / %s | %s / %s | %s / %s | %s / %s |" % (
            name, f(e.get("forward_1")), f(e.get("forward_2")), f(e.get("gradcam_1")),
            f(e.get("gradcam_2")), f(e.get("cam_1")), f(e.get("cam_2")),
            f(o.get("forward_1")), f(o.get("forward_2")),
            ratio(e.get("gradcam_1"), o.get("forward_1")), ratio(e.get("gradcam_2"), o.get("forward_2"))))
    out()
    out("| model | PyTorch forward (ms, threads) | PyTorch Grad-CAM best (ms) | pytorch-grad-cam style (ms) "
        "| engine Grad-CAM / pytorch-grad-cam style | engine Grad-CAM throughput (img/s, 2 workers) "
        "| ONNX Runtime forward throughput (img/s, best batch) | ratio |")
    out("|---|---|---|---|---|---|---|---|")
    for name, e, o, t, flops, rate, size in rows:
        best_e = min(float(e.get("gradcam_1", "inf")), float(e.get("gradcam_2", "inf")))
        out("| %s | %s (%d) | %s (%d) | %s (%d) | %s | %s | %s | %s |" % (
            name, f(t["forward"][0]), t["forward"][1], f(t["gradcam_best"][0]), t["gradcam_best"][1],
            f(t["gradcam_pgc"][0]), t["gradcam_pgc"][1], ratio(best_e, t["gradcam_pgc"][0]),
            f(e.get("gradcam_throughput")), f(o.get("throughput")),
            ratio(o.get("throughput"), e.get("gradcam_throughput"))))
    out()
    out("| model | multiply-adds | sgemm rate on its shapes, 1 / 2 threads (GFLOP/s) | floor, 1 / 2 (ms) "
        "| engine forward / floor, 1 / 2 | ORT forward / floor, 1 / 2 | file (MB) | engine load (ms) "
        "| peak memory, engine / ORT (MB) | engine / ORT |")
    out("|---|---|---|---|---|---|---|---|---|---|")
    for name, e, o, t, flops, rate, size in rows:
        floor = {th: flops / (rate[str(th)] * 1e9) * 1e3 for th in (1, 2)}
        out("| %s | %.2f G | %s / %s | %s / %s | %s / %s | %s / %s | %.0f | %s | %s / %s | %s |" % (
            name, flops / 2e9, f(rate["1"]), f(rate["2"]), f(floor[1]), f(floor[2]),
            ratio(e.get("forward_1"), floor[1]), ratio(e.get("forward_2"), floor[2]),
            ratio(o.get("forward_1"), floor[1]), ratio(o.get("forward_2"), floor[2]),
            size, f(e.get("load_ms"), "%.0f"), f(e.get("peak_mb"), "%.0f"), f(o.get("peak_mb"), "%.0f"),
            ratio(e.get("peak_mb"), o.get("peak_mb"))))
    if markdown:
        with open(markdown + ".tmp", "w") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(markdown + ".tmp", markdown)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", help="bench-models-engine")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--workdir", default="_build/tests/bench/bench-models-224")
    ap.add_argument("--markdown", help="the tables, rewritten after each model")
    ap.add_argument("--resume", action="store_true",
                    help="take a model's results from WORKDIR/NAME.results.json where an earlier "
                    "run left them")
    ap.add_argument("--ort-peak", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.ort_peak:
        ort_peak(a.ort_peak)
        return 0
    if not a.engine:
        ap.error("--engine is required")
    import onnxruntime
    import torch
    os.makedirs(a.workdir, exist_ok=True)
    header = ("Cores: %d. ONNX Runtime %s, PyTorch %s. Batch 1, 224x224, medians of %d runs; "
              "ratios below 1 = the engine is faster." % (os.cpu_count(), onnxruntime.__version__,
                                                        torch.__version__, a.repeats))
    print(header, flush=True)
    rows = []
    for name in a.models.split(","):
        path = os.path.join(a.workdir, name + ".onnx")
        saved = os.path.join(a.workdir, name + ".results.json")
        if a.resume and os.path.exists(saved):
            with open(saved) as fh:
                rows.append(tuple(json.load(fh)))
            sys.stderr.write("bench_models: %s: results of an earlier run (%s)\n" % (name, saved))
            continue
        if not os.path.exists(path):
            export(name, path)
        repeats = a.repeats if os.path.getsize(path) < 150e6 else max(5, a.repeats // 3)
        sys.stderr.write("bench_models: %s\n" % name)
        e = engine_results(a.engine, "time", path, str(repeats))
        e.update(engine_results(a.engine, "peak", path))
        o = ort_results(path, repeats)
        t = torch_results(name, repeats)
        shapes, flops = gemm_shapes_and_flops(name)
        top = sorted(shapes, key=lambda s: -s[3])[:3]
        rate = {}
        for threads in (1, 2):
            total_macs = sum(s[3] for s in top)
            inv = 0.0
            for (m, n, k, macs) in top:
                g = float(engine_results(a.engine, "sgemm", str(m), str(n), str(k),
                                         str(threads)).get("sgemm_gflops", "nan"))
                inv += macs / total_macs / g
            rate[str(threads)] = 1.0 / inv
        row = (name, e, o, t, flops, rate, os.path.getsize(path) / 2**20)
        # one model's results as soon as they exist: a long run can resume (--resume)
        with open(saved, "w") as fh:
            json.dump(row, fh)
        rows.append(row)
        tables(rows, header, a.markdown)
    tables(rows, header, a.markdown, final=True)
    return 0



if __name__ == "__main__":
    sys.exit(main())
