#!/usr/bin/env python3
"""The cost of every explanation method on top of the forward pass: the engine beside
the same formulas in PyTorch, in one run, and beside torch-cam's published numbers
(issue 13, item 5).

    python3 tests/bench/bench_methods.py --engine _build/tests/bench/bench-methods-engine
        [--threads 1,2] [--networks fashion-mnist,cifar10,resnet18] [--seconds S]
        [--full] [--workdir DIR] [--markdown FILE]

Not a test: it prints tables and asserts nothing. For each thread count (OpenBLAS
threads of the engine, torch.set_num_threads of PyTorch) and network, at batch 1, on
the model's default layer (Fashion-MNIST conv2d_3, CIFAR-10 conv2d_8, ResNet-18 the
output of layer4) and the top class:

  engine   bench-methods-engine: forward, the backward from the top logit to the
           layer, one pass of the layers after the layer, and cam_explain of every
           method (forward included).
  PyTorch  the formulas of camengine.h written here, pytorch-grad-cam style (a forward
           hook on the target module; autograd for the gradients) at their best:
           parameters frozen (requires_grad False), the forward under no_grad where
           no gradient is needed, the target's output made the only tensor requiring
           grad where one is (autograd records nothing before it), torch.autograd.grad
           to that tensor only; the perturbation passes batched (32 instances per
           forward, as torch-cam's Score-CAM), Ablation-CAM and Recipro-CAM running
           only the layers after the target, Smooth Grad-CAM++'s 4 noisy copies as one
           batch of 4. ResNet-18: BatchNorm folded into the convolutions, as the ONNX
           export has it. PyTorch's OpenBLAS (dense layers, SVD, eigensolver) on one
           thread (see OPENBLAS_NUM_THREADS below); its convolutions (oneDNN) on the
           thread count of the run.

  overhead = method time - forward time (both sides). The ratio column divides the
  engine's overhead by what the method must run on top of the forward:
    gradient methods (and CAM, Eigen-CAM, KPCA-CAM, random): one backward pass from
        the logits to the layer (the engine's, measured here);
    Smooth Grad-CAM++: 4 forward + 4 backward passes;
    Score-CAM, SS-CAM, IS-CAM: their passes x the forward time (the channels whose
        upsampled map is not constant, x 35 samples for SS-CAM, x 10 steps for IS-CAM);
    Ablation-CAM, Recipro-CAM: their passes (channels, positions) x the time of one pass
        of the layers after the layer.

Networks: weights/fashion-mnist.onnx and weights/cifar10.onnx (loaded into the PyTorch
modules of weights/networks.py), and torchvision ResNet-18 at 224x224 with seeded random
weights (exported once into --workdir by weights/import-torchvision.py --weights none;
PyTorch builds the same module with the same seed). SS-CAM and IS-CAM on ResNet-18
(35 x and 10 x Score-CAM's passes, minutes each) run only with --full.

torch-cam's published CPU overheads for ResNet-18 at 224x224 (its README: i7-10750H,
another machine and another PyTorch) are printed beside the ResNet-18 rows as they are.
"""
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import argparse  # noqa: E402
import os  # noqa: E402

# PyTorch's convolutions run on its OpenMP threads (oneDNN), set by torch.set_num_threads;
# its BLAS calls (the dense layers, the SVD and eigensolver of Eigen-CAM and KPCA-CAM) go
# to OpenBLAS, whose own threads, left at every core, spin beside the OpenMP ones and
# stall the next forward pass by up to 100 ms on a 2-core host under real-time priority.
# One OpenBLAS thread on the PyTorch side (before torch is loaded); the engine is given
# its thread count explicitly (cam_set_blas_threads).
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import subprocess  # noqa: E402
import time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

TORCH_CAM_PUBLISHED = {  # ms, ResNet-18, CPU, i7-10750H (torch-cam README)
    "cam": 0.14, "grad-cam": 40.66, "grad-cam++": 41.61, "layer-cam": 40.91,
    "smooth-grad-cam++": 239.27, "score-cam": 6796.89,
}
GRADIENT = {"grad-cam", "grad-cam-tutorial", "hires-cam", "grad-cam++", "xgrad-cam",
            "grad-cam-elementwise", "layer-cam", "eigen-grad-cam", "finer-cam"}
SCORE_FAMILY = {"score-cam": 1, "ss-cam": 35, "is-cam": 10}
HEAD_PASSES = {"ablation-cam", "recipro-cam"}
BATCH = 32
LAYER = {"fashion-mnist": "conv2d_3_relu", "cifar10": "conv2d_8_relu"}


MIN_CALLS = 8


def timed_ms(fn, seconds):
    """Best ms: one warm-up call, then calls for `seconds` (8..200); a first call slower
    than `seconds` is the measure by itself (as bench-methods-engine)."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first > seconds:
        return 1e3 * first
    best = float("inf")
    n = 0
    start = time.perf_counter()
    while n < 200 and (n < MIN_CALLS or time.perf_counter() - start < seconds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        n += 1
    return 1e3 * best


def paired_ms(method, forward, seconds, forward_ms):
    """(total, overhead) in ms: one warm-up call, then pairs (forward, method) for
    `seconds` (8..200): the method's best time, minus the forward's best in the same
    pairs; a first call slower than `seconds` is the measure by itself, against
    forward_ms (as bench-methods-engine)."""
    t0 = time.perf_counter()
    method()
    first = time.perf_counter() - t0
    if first > seconds:
        return 1e3 * first, 1e3 * first - forward_ms
    best_m = best_f = float("inf")
    n = 0
    start = time.perf_counter()
    while n < 200 and (n < MIN_CALLS or time.perf_counter() - start < seconds):
        t0 = time.perf_counter()
        forward()
        t1 = time.perf_counter()
        method()
        t2 = time.perf_counter()
        best_m = min(best_m, t2 - t1)
        best_f = min(best_f, t1 - t0)
        n += 1
    return 1e3 * best_m, 1e3 * (best_m - best_f)


def engine_results(engine, path, threads, seconds, methods):
    args = [engine, path, str(threads), str(seconds)]
    if methods:
        args.append(",".join(methods))
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)
    r = subprocess.run(args, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
    out = {"methods": {}}
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) < 3 or f[0] != "RESULT":
            continue
        if f[1] == "method":
            out["methods"][f[2]] = (float(f[3]), float(f[4]), int(f[5]), float(f[6]))
        elif f[1] == "layer":
            out["layer"] = (f[2], int(f[3]), int(f[4]), int(f[5]))
        else:
            out[f[1]] = float(f[2])
    return out


def engine_input(shape):
    """bench-methods-engine's input: the same pseudo-random values (the same class and
    the same channels without a mask, hence the same number of passes)."""
    import numpy as np
    n = int(np.prod(shape))
    out = np.empty(n, dtype=np.float32)
    s = 12345
    for i in range(n):
        s = (s * 1103515245 + 12345) & 0xFFFFFFFF
        out[i] = ((s >> 16) & 0x7FFF) / 32768.0
    return out.reshape(shape)


# ---- the networks, PyTorch side ------------------------------------------------------

class Net:
    """model(x) -> logits; target: the module whose output is explained; head(a) ->
    logits from that output; fc: the dense layer of CAM (or None)."""


def bundled(name, path):
    import camref
    import onnx
    import torch
    from torch import nn
    net = camref.load_onnx_weights(camref.networks.build(name), onnx.load(path)).eval()
    mods = camref.layers(net)
    k = [n for n, _ in mods].index(LAYER[name]) + 1
    n = Net()
    n.model = net
    n.target = mods[k - 1][1]
    n.head = nn.Sequential(*[m for _, m in mods[k:]])
    n.fc = n.head[-1] if isinstance(n.head[0], nn.AdaptiveAvgPool2d) and len(n.head) <= 3 else None
    n.input_shape = tuple(net.input_shape)
    n.torch = torch
    return n


def resnet18():
    import torch
    import torchvision
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    torch.manual_seed(0)  # as weights/import-torchvision.py --weights none
    m = torchvision.models.get_model("resnet18", weights=None).eval()
    m.conv1, m.bn1 = fuse_conv_bn_eval(m.conv1, m.bn1), nn.Identity()
    for layer in (m.layer1, m.layer2, m.layer3, m.layer4):
        for b in layer:
            b.conv1, b.bn1 = fuse_conv_bn_eval(b.conv1, b.bn1), nn.Identity()
            b.conv2, b.bn2 = fuse_conv_bn_eval(b.conv2, b.bn2), nn.Identity()
            if b.downsample is not None:
                b.downsample = nn.Sequential(fuse_conv_bn_eval(b.downsample[0], b.downsample[1]))
    n = Net()
    n.model = m
    n.target = m.layer4
    n.head = lambda a: m.fc(torch.flatten(m.avgpool(a), 1))
    n.fc = m.fc
    n.input_shape = (3, 224, 224)
    n.torch = torch
    return n


# ---- the formulas (camengine.h, above cam_explain) in PyTorch ---------------------------

class Methods:
    def __init__(self, net, x):
        import torch
        self.t = torch
        self.F = torch.nn.functional
        self.net = net
        self.x = x
        for p in net.model.parameters():
            p.requires_grad_(False)
        self.store = {"grad": False}

        def hook(module, inputs, out):  # registered once, as pytorch-grad-cam does
            if self.store["grad"]:
                out = out.detach().requires_grad_(True)
            self.store["a"] = out
            return out

        net.target.register_forward_hook(hook)

    # forward passes
    def forward(self):
        with self.t.no_grad():
            return self.net.model(self.x)

    def acts(self):
        """A and the logits, no gradient."""
        self.store["grad"] = False
        with self.t.no_grad():
            z = self.net.model(self.x)
        return self.store["a"], z

    def acts_grad(self, x=None):
        """A (requiring grad; nothing before it recorded) and the logits."""
        self.store["grad"] = True
        with self.t.enable_grad():
            z = self.net.model(self.x if x is None else x)
        self.store["grad"] = False
        return self.store["a"], z

    def gradient(self, y, a):
        (g,) = self.t.autograd.grad(y, a)
        return g

    def backward_only(self):
        a, z = self.acts_grad()
        c = int(z[0].argmax())
        return lambda: self.t.autograd.grad(z[0, c], a, retain_graph=True)

    # pieces
    def weighted(self, w, a):
        return self.t.relu((w[:, :, None, None] * a).sum(1))

    def projection(self, t3):
        k = t3.shape[0]
        x = t3.reshape(k, -1).T.double()
        x = x - x.mean(0)
        _, _, vt = self.t.linalg.svd(x, full_matrices=False)
        p = x @ vt[0]
        if p[p.abs().argmax()] < 0:
            p = -p
        return p.reshape(t3.shape[1:])

    def plus_plus(self, a, d1, d2, d3):
        s = a.sum((2, 3), keepdim=True)
        den = 2 * d2 + s * d3
        alpha = self.t.where(den != 0, d2 / self.t.where(den != 0, den, self.t.ones_like(den)),
                             self.t.zeros_like(den))
        w = (alpha * self.t.relu(d1)).sum((2, 3))
        return self.weighted(w, a)

    # the methods
    def cam(self):
        a, z = self.acts()
        c = int(z[0].argmax())
        return self.t.einsum("k,khw->hw", self.net.fc.weight[c], a[0])

    def _grad(self, score="logit"):
        a, z = self.acts_grad()
        c = int(z[0].argmax())
        y = self.t.softmax(z, 1)[0, c] if score == "probability" else z[0, c]
        return a.detach(), self.gradient(y, a), z.detach(), c

    def grad_cam(self):
        a, g, _, _ = self._grad()
        return self.weighted(g.mean((2, 3)), a)

    def grad_cam_tutorial(self):
        a, g, _, _ = self._grad("probability")
        return 1 + (g.mean((2, 3))[:, :, None, None] * a).sum(1)

    def hires_cam(self):
        a, g, _, _ = self._grad()
        return self.t.relu((g * a).sum(1))

    def grad_cam_pp(self):
        a, g, _, _ = self._grad()
        g2 = g * g
        return self.plus_plus(a, g, g2, g2 * g)

    def xgrad_cam(self):
        a, g, _, _ = self._grad()
        s = a.sum((2, 3))
        w = self.t.where(s != 0, (g * a).sum((2, 3)) / self.t.where(s != 0, s, self.t.ones_like(s)),
                         self.t.zeros_like(s))
        return self.weighted(w, a)

    def grad_cam_elementwise(self):
        a, g, _, _ = self._grad()
        return self.t.relu(self.t.relu(g * a).sum(1))

    def layer_cam(self):
        a, g, _, _ = self._grad()
        return self.t.relu((self.t.relu(g) * a).sum(1))

    def eigen_cam(self):
        a, _ = self.acts()
        return self.t.relu(self.projection(a[0]))

    def eigen_grad_cam(self):
        a, g, _, _ = self._grad()
        return self.t.relu(self.projection((g * a)[0]))

    def kpca_cam(self):
        a, _ = self.acts()
        k = a.shape[1]
        x = a[0].reshape(k, -1).T.double()
        x = x - x.mean(0)
        kern = self.t.tanh(x @ x.T / k + 1.0)
        n = kern.shape[0]
        one = self.t.full((n, n), 1.0 / n, dtype=kern.dtype)
        kc = kern - one @ kern - kern @ one + one @ kern @ one
        vals, vecs = self.t.linalg.eigh(kc)
        lam, u = vals[-1], vecs[:, -1]
        if u[u.abs().argmax()] < 0:
            u = -u
        return self.t.relu(self.t.sqrt(self.t.clamp(lam, min=0)) * u).reshape(a.shape[2:])

    def finer_cam(self):
        a, z = self.acts_grad()
        zd = z.detach()[0]
        c = int(zd.argmax())
        d = (zd - zd[c]).abs()
        d[c] = float("inf")
        j = self.t.argsort(d, stable=True)[:3]
        p = self.t.softmax(z, 1)[0, j]
        y = (p * (z[0, c] - z[0, j])).sum() / (p.sum() + 1e-9)
        g = self.gradient(y, a)
        return self.weighted(g.mean((2, 3)), a.detach())

    def smooth_grad_cam_pp(self):
        a, z = self.acts()
        c = int(z[0].argmax())
        noisy = self.x + 0.3 * self.t.randn((4,) + tuple(self.x.shape[1:]))
        an, zn = self.acts_grad(noisy)  # the 4 copies as one batch
        g = self.gradient(zn[:, c].sum(), an)
        d1, d2, d3 = g.mean(0, keepdim=True), (g * g).mean(0, keepdim=True), (g ** 3).mean(0, keepdim=True)
        return self.plus_plus(a, d1, d2, d3)

    def random(self):
        self.acts()
        return self.t.rand(self.store["a"].shape[2:])

    def _masks(self, a):
        u = self.F.interpolate(a, size=self.x.shape[2:], mode="bilinear", align_corners=False)[0]
        lo = u.amin((1, 2), keepdim=True)
        rng = u.amax((1, 2), keepdim=True) - lo
        keep = (rng.flatten() > 0).nonzero().flatten()
        return (u[keep] - lo[keep]) / rng[keep], keep

    def _score_family(self, samples, kind):
        a, z = self.acts()
        c = int(z[0].argmax())
        m, keep = self._masks(a)
        n = m.shape[0] * samples
        scores = self.t.empty(n)
        with self.t.no_grad():
            for first in range(0, n, BATCH):
                idx = self.t.arange(first, min(n, first + BATCH))
                mk = m[idx // samples]
                i = (idx % samples).float()
                if kind == "noisy":
                    mk = mk + 2.0 * self.t.randn(mk.shape)
                xb = self.x * mk[:, None]
                if kind == "integrated":
                    xb = xb * ((i + 1) * (i + 2) / (2 * samples))[:, None, None, None]
                scores[first:first + len(idx)] = self.net.model(xb)[:, c]
        w = self.t.zeros(a.shape[1])
        w[keep] = scores.reshape(-1, samples).mean(1)
        return self.weighted(w[None], a)

    def score_cam(self):
        return self._score_family(1, "plain")

    def ss_cam(self):
        return self._score_family(35, "noisy")

    def is_cam(self):
        return self._score_family(10, "integrated")

    def ablation_cam(self):
        a, z = self.acts()
        c = int(z[0].argmax())
        y = float(z[0, c])
        k = a.shape[1]
        scores = self.t.empty(k)
        with self.t.no_grad():
            for first in range(0, k, BATCH):
                ks = self.t.arange(first, min(k, first + BATCH))
                ab = a.repeat(len(ks), 1, 1, 1)
                ab[self.t.arange(len(ks)), ks] = 0
                scores[first:first + len(ks)] = self.net.head(ab)[:, c]
        w = (y - scores) / y if y != 0 else y - scores
        return self.weighted(w[None], a)

    def recipro_cam(self):
        a, z = self.acts()
        c = int(z[0].argmax())
        h, w = a.shape[2:]
        n = h * w
        scores = self.t.empty(n)
        with self.t.no_grad():
            for first in range(0, n, BATCH):
                q = self.t.arange(first, min(n, first + BATCH))
                onehot = self.t.zeros(len(q), 1, n)
                onehot[self.t.arange(len(q)), 0, q] = 1
                scores[first:first + len(q)] = self.net.head(a * onehot.reshape(len(q), 1, h, w))[:, c]
        return scores.reshape(h, w)

    def head_only(self):
        a, _ = self.acts()
        return lambda: self.net.head(a)

    def table(self):
        return {
            "cam": self.cam, "grad-cam": self.grad_cam, "grad-cam-tutorial": self.grad_cam_tutorial,
            "hires-cam": self.hires_cam, "grad-cam++": self.grad_cam_pp, "xgrad-cam": self.xgrad_cam,
            "grad-cam-elementwise": self.grad_cam_elementwise, "layer-cam": self.layer_cam,
            "eigen-cam": self.eigen_cam, "eigen-grad-cam": self.eigen_grad_cam,
            "kpca-cam": self.kpca_cam, "finer-cam": self.finer_cam,
            "smooth-grad-cam++": self.smooth_grad_cam_pp, "random": self.random,
            "score-cam": self.score_cam, "ss-cam": self.ss_cam, "is-cam": self.is_cam,
            "ablation-cam": self.ablation_cam, "recipro-cam": self.recipro_cam,
        }


def torch_results(net, threads, seconds, methods):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.from_numpy(engine_input(net.input_shape))[None]
    m = Methods(net, x)
    res = {"methods": {}}
    res["forward_ms"] = timed_ms(m.forward, seconds)
    res["backward_ms"] = timed_ms(m.backward_only(), seconds)
    head = m.head_only()
    with torch.no_grad():
        res["head_ms"] = timed_ms(head, seconds)
    table = m.table()
    for name in methods:
        if name == "cam" and net.fc is None:
            continue
        res["methods"][name] = paired_ms(table[name], m.forward, seconds, res["forward_ms"])
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", required=True, help="bench-methods-engine")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--networks", default="fashion-mnist,cifar10,resnet18")
    ap.add_argument("--seconds", type=float, default=0.3, help="time per measure (the best of the calls)")
    ap.add_argument("--full", action="store_true", help="SS-CAM and IS-CAM on ResNet-18 too")
    ap.add_argument("--methods", help="a comma-separated subset")
    ap.add_argument("--workdir", default="_build/tests/bench/bench-methods")
    ap.add_argument("--markdown")
    a = ap.parse_args()
    import torch
    os.makedirs(a.workdir, exist_ok=True)
    lines = []

    def out(s=""):
        print(s, flush=True)
        lines.append(s)

    all_methods = [
        "cam", "grad-cam", "grad-cam-tutorial", "hires-cam", "grad-cam++", "xgrad-cam",
        "grad-cam-elementwise", "layer-cam", "eigen-cam", "eigen-grad-cam", "kpca-cam",
        "finer-cam", "smooth-grad-cam++", "random", "score-cam", "ss-cam", "is-cam",
        "ablation-cam", "recipro-cam"]
    wanted = a.methods.split(",") if a.methods else all_methods
    nets = []
    for name in a.networks.split(","):
        if name == "resnet18":
            path = os.path.join(a.workdir, "resnet18-224.onnx")
            if not os.path.exists(path):
                subprocess.run([sys.executable, os.path.join(SOURCE, "weights", "import-torchvision.py"),
                                "resnet18", "--weights", "none", "-o", path], check=True)
        else:
            path = os.path.join(SOURCE, "weights", name + ".onnx")
        methods = [m for m in wanted if name != "resnet18" or a.full or m not in ("ss-cam", "is-cam")]
        nets.append((name, path, methods))

    out("Cores: %d. PyTorch %s. Batch 1, the top class, the default layer; times "
        "(ms): the best of repeated calls after a warm-up (8 or more calls, %.1f s per measure; "
        "one call, no warm-up, for calls longer than that). overhead = the method's best - the "
        "forward's best, over the same pairs of calls (forward, method)." % (os.cpu_count(), torch.__version__, a.seconds))
    for threads in [int(t) for t in a.threads.split(",")]:
        out()
        out("### %d thread%s (engine: OpenBLAS threads; PyTorch: torch.set_num_threads)" %
            (threads, "s" if threads > 1 else ""))
        for name, path, methods in nets:
            sys.stderr.write("bench_methods: %s, %d thread(s)\n" % (name, threads))
            e = engine_results(a.engine, path, threads, a.seconds, methods)
            net = resnet18() if name == "resnet18" else bundled(name, path)
            t = torch_results(net, threads, a.seconds, methods)
            lname, k, h, w = e.get("layer", ("?", 0, 0, 0))
            out()
            out("**%s**, layer %s (%d x %d x %d; %d channels not constant). engine: forward %.3f, "
                "backward logits -> layer %.3f, layers after the layer %.4f. PyTorch: forward "
                "%.3f, backward %.3f, layers after the layer %.4f." % (
                    name, lname, k, h, w, int(e.get("nonconstant", 0)), e.get("forward_ms", 0),
                    e.get("backward_ms", 0), e.get("head_ms", 0), t["forward_ms"],
                    t["backward_ms"], t["head_ms"]))
            out()
            pub = name == "resnet18"
            out("| method | engine | engine overhead | engine: the method alone | what it must run on top "
                "(engine) | engine cost / that | engine cost beyond that | PyTorch | PyTorch overhead "
                "| PyTorch overhead / the same in PyTorch | engine / PyTorch overhead |%s" %
                (" torch-cam published overhead (i7-10750H, not this machine) |" if pub else ""))
            out("|---|---|---|---|---|---|---|---|---|---|---|%s" % ("---|" if pub else ""))

            def unit(side, mname, passes):
                if mname in SCORE_FAMILY:
                    return passes * side["forward_ms"], "%d forward" % passes
                if mname in HEAD_PASSES:
                    return passes * side["head_ms"], "%d x the layers after" % passes
                if mname == "smooth-grad-cam++":
                    return 4 * (side["forward_ms"] + side["backward_ms"]), "4 forward + 4 backward"
                return side["backward_ms"], "1 backward"

            for mname in methods:
                if mname not in e["methods"]:
                    continue
                ms, over, passes, alone = e["methods"][mname]
                u, what = unit(e, mname, passes)
                cost = alone if alone == alone else over  # the method alone where measured
                tr = t["methods"].get(mname)
                tu, _ = unit(t, mname, passes)
                row = "| %s | %.3f | %.3f | %s | %s: %.3f | %.2f | %.3f | %s | %s | %s | %s |" % (
                    mname, ms, over, "%.3f" % alone if alone == alone else "-", what, u,
                    cost / u if u > 0 else float("nan"), cost - u,
                    "%.3f" % tr[0] if tr else "n/a", "%.3f" % tr[1] if tr else "n/a",
                    "%.2f" % (tr[1] / tu) if tr and tu > 0 else "n/a",
                    "%.2f" % (over / tr[1]) if tr and tr[1] > 0 else "n/a")
                if pub:
                    row += " %s |" % ("%.2f" % TORCH_CAM_PUBLISHED[mname] if mname in TORCH_CAM_PUBLISHED else "")
                out(row)
    if a.markdown:
        with open(a.markdown, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
