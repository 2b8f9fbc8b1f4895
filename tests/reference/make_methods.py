#!/usr/bin/env python3
"""Write PyTorch references of every explanation method for test-reference.c.

    python3 tests/reference/make_methods.py OUTDIR

Each method is computed here from its formula (camengine.h, above cam_explain),
independently of the engine: the network is the PyTorch module of weights/networks.py
with the ONNX file's weights, run in float64, gradients by autograd. Cases as in
make_reference.py: both bundled architectures with fixed-seed random weights (exported
to OUTDIR) and, when they exist, the shipped weights/fashion-mnist.onnx and
weights/cifar10.onnx. Images: 1 uniform random image, plus the first official test image
when the datasets are there (kept small: the test must stay well under a minute).

A record's kind is "<method>" or "<method>@<option>@...", the options being
eigen-smooth, aug-smooth (aug_smooth 1: flip x zoom), aug-smooth-brightness (aug_smooth 2:
flip x brightness), probability (target_score) and seed=N; its tensor name is the
layer, or the layers joined by ',' (fused). Classes: the top one, then the second and
the last, then the others, until 1 non-trivial map per (method, layer, image).

Maps are kept only where they are defined by the data: principal components (Eigen-CAM,
EigenGrad-CAM, eigen_smooth, KPCA-CAM) when the top eigenvalue exceeds the second by 5%
and the projection's largest magnitude exceeds the opposite extreme's by 1e-3 (the sign
rule); gradients when no ReLU or MaxPool after the layer sits within 2e-6 of its kink
for the input (or a noisy or augmented copy of it: kink_free), where float32 rounding
could send the gradient another way; Grad-CAM++ on ReLU outputs (A >= 0, so no
denominator 2 g^2 + S g^3 comes near 0). FullGrad's gradients go through every ReLU and
MaxPool of the network, and on CIFAR-10 some unit of every image sits near a kink: its
map is kept as float64 routes it, and the near-kink units are recorded with it
(routing_records: "kink-relu" and "kink-pool" records). test-reference.c checks that the
engine's float32 values of those units lie within their window of float64's and route
each one as the map does; where float32 routes one otherwise, the map is recomputed in
float64 with the engine's routing of the recorded units (python3 make_methods.py
--reroute OUTDIR, run by run-reference.sh) and compared then. With aug_smooth (six
inputs) FullGrad keeps the older criterion (full_grad_map).

    python3 tests/reference/make_methods.py --reroute OUTDIR
"""
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import copy  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import camref  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

N_RANDOM = 1
N_REAL = 1
MAPS_PER_KEY = 1
EIGEN_GAP = 0.05
SIGN_MARGIN = 1e-3
LAYERS = {  # Keras-style names (ReLU outputs): the automatic layer first, then an earlier one
    "fashion-mnist": ["conv2d_3", "conv2d_2"],
    "cifar10": ["conv2d_8", "conv2d_6"],
}
FUSED = {"fashion-mnist": ["conv2d_3", "conv2d_1"], "cifar10": ["conv2d_8", "conv2d_2"]}

MASK = (1 << 64) - 1


class Random:
    """splitmix64 and the uniform / normal numbers of camengine.h (RANDOM NUMBERS)."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def normal(self):
        u1 = self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def relu(t):
    return torch.clamp(t, min=0.0)


def sign_rule(p):
    """Flip so the value of largest magnitude (the first on ties) is positive; also
    whether the choice is clear (the opposite extreme smaller by SIGN_MARGIN)."""
    i = int(torch.argmax(p.abs()))
    if p[i] < 0:
        p = -p
    clear = bool(p.max() - (-p.min()) > SIGN_MARGIN * p.abs().max())
    return p, clear


def projection(t):
    """First principal component projection of t (K x H x W): (map, defined?)."""
    k = t.shape[0]
    x = t.reshape(k, -1).T
    x = x - x.mean(dim=0)
    _, s, vt = torch.linalg.svd(x, full_matrices=False)
    p = x @ vt[0]
    p, clear = sign_rule(p)
    ev = s ** 2
    gap = len(ev) < 2 or bool(ev[0] - ev[1] > EIGEN_GAP * ev[0])
    return p.reshape(t.shape[1:]), gap and clear


def kpca(a):
    """KernelPCA(n_components=1, kernel='sigmoid', gamma=1/K, coef0=1) of the centred
    positions, sign as scikit-learn's svd_flip; ReLU. (map, defined?)."""
    k = a.shape[0]
    x = a.reshape(k, -1).T
    x = x - x.mean(dim=0)
    kern = torch.tanh(x @ x.T / k + 1.0)
    n = kern.shape[0]
    one = torch.full((n, n), 1.0 / n, dtype=kern.dtype)
    kc = kern - one @ kern - kern @ one + one @ kern @ one
    evals, evecs = torch.linalg.eigh(kc)
    lam, u = evals[-1], evecs[:, -1]
    u, clear = sign_rule(u)
    gap = bool(evals[-1] - evals[-2] > EIGEN_GAP * abs(evals[-1]))
    m = relu(torch.sqrt(torch.clamp(lam, min=0.0)) * u)
    return m.reshape(a.shape[1:]), gap and clear


def reduce_terms(terms, eigen):
    """sum_k terms_k, or the principal component projection. (map, defined?)."""
    if eigen:
        return projection(terms)
    return terms.sum(dim=0), True


def plus_plus_weights(a, d1, d2, d3):
    s = a.sum(dim=(1, 2))[:, None, None]
    den = 2 * d2 + s * d3
    alpha = torch.where(den != 0, d2 / torch.where(den != 0, den, torch.ones_like(den)),
                        torch.zeros_like(den))
    return (alpha * relu(d1)).sum(dim=(1, 2))


_FORWARDS = {}
_GRADS = {}


def forward_case(netd, x):
    """Forward of input x (C x H x W numpy) with a graph for autograd (cached: the
    same network and input give the same outputs, and autograd.grad keeps the graph)."""
    key = (id(netd), np.asarray(x, dtype=np.float32).tobytes())
    if key in _FORWARDS:
        return _FORWARDS[key]
    if len(_FORWARDS) > 64:
        _FORWARDS.clear()
        _GRADS.clear()
    xt = torch.from_numpy(np.asarray(x, dtype=np.float64))[None].requires_grad_(True)
    if hasattr(netd, "tapped_outputs"):  # make_methods_torchvision.py: [features, logits]
        outs = netd.tapped_outputs(xt)
    else:
        outs = []
        h = xt
        for _, m in camref.layers(netd):
            h = m(h)
            outs.append(h)
    _FORWARDS[key] = outs
    return outs


KINK = 2e-6  # float32 rounding moves these values by about 1e-7 of their scale


def kink_free(netd, x, li):
    """Is the gradient at layer li a smooth function of the float32 rounding of the
    values after it? No ReLU input within KINK (of its tensor's largest magnitude) of 0,
    no MaxPool window whose two largest values are within KINK and positive: else the
    engine's float32 rounding may route the gradient otherwise than float64 does, and
    the reference map is not defined to 1e-4."""
    key = (id(netd), np.asarray(x, dtype=np.float32).tobytes(), li)
    if key not in _KINK_FREE:
        _KINK_FREE[key] = _kink_free(netd, x, li)
    return _KINK_FREE[key]


_KINK_FREE = {}


def _kink_free(netd, x, li):
    if hasattr(netd, "tapped_outputs"):
        return True  # only a global average pool and a linear layer follow the features
    o = forward_case(netd, x)
    layers = camref.layers(netd)
    for i in range(li + 1, len(layers)):
        m = layers[i][1]
        v = o[i - 1][0].detach()
        scale = float(v.abs().max())
        if isinstance(m, nn.ReLU):
            if float(v.abs().min()) < KINK * scale:
                return False
        elif isinstance(m, nn.MaxPool2d):
            u = F.unfold(v[None], m.kernel_size, stride=m.stride)
            u = u.reshape(v.shape[0], -1, u.shape[-1])
            top2 = u.topk(2, dim=1).values
            near = (top2[:, 0] - top2[:, 1] < KINK * scale) & (top2[:, 0] > 0)
            if bool(near.any()):
                return False
    return True


GRADIENT_METHODS = {"grad-cam", "hires-cam", "grad-cam-elementwise", "layer-cam", "grad-cam++",
                    "xgrad-cam", "eigen-grad-cam", "finer-cam"}


def method_map(method, netd, x, li, cls, score, eigen, seed):
    m, ok = method_map_raw(method, netd, x, li, cls, score, eigen, seed)
    if method in GRADIENT_METHODS:
        ok = ok and kink_free(netd, x, li)
    elif method == "smooth-grad-cam++":
        ok = ok and all(kink_free(netd, n, li) for n in noisy_inputs(x, seed))
    return m, ok


def method_map_raw(method, netd, x, li, cls, score, eigen, seed):
    """The map of `method` at layer index li for class cls: (H x W float64 tensor,
    defined?)."""
    outs = forward_case(netd, x)
    logits = outs[-1][0]
    probs = torch.softmax(outs[-1], dim=1)[0]
    a = outs[li][0].detach()

    def y_of(o_logits, o_probs):
        return o_logits[cls] if score == "logit" else o_probs[cls]

    def grad():
        key = (id(outs), li, cls, score)
        if key not in _GRADS:
            _GRADS[key] = torch.autograd.grad(y_of(logits, probs), outs[li],
                                              retain_graph=True)[0][0]
        return _GRADS[key]

    if method == "grad-cam":
        g = grad()
        m, ok = reduce_terms(g.mean(dim=(1, 2))[:, None, None] * a, eigen)
        return relu(m), ok
    if method == "hires-cam":
        m, ok = reduce_terms(grad() * a, eigen)
        return relu(m), ok
    if method == "grad-cam-elementwise":
        m, ok = reduce_terms(relu(grad() * a), eigen)
        return relu(m), ok
    if method == "layer-cam":
        m, ok = reduce_terms(relu(grad()) * a, eigen)
        return relu(m), ok
    if method == "grad-cam++":
        g = grad()
        w = plus_plus_weights(a, g, g * g, g * g * g)
        m, ok = reduce_terms(w[:, None, None] * a, eigen)
        return relu(m), ok
    if method == "xgrad-cam":
        g = grad()
        s = a.sum(dim=(1, 2))
        ga = (g * a).sum(dim=(1, 2))
        w = torch.where(s != 0, ga / torch.where(s != 0, s, torch.ones_like(s)), torch.zeros_like(s))
        m, ok = reduce_terms(w[:, None, None] * a, eigen)
        return relu(m), ok
    if method == "eigen-cam":
        m, ok = projection(a)
        return relu(m), ok
    if method == "eigen-grad-cam":
        m, ok = projection(grad() * a)
        return relu(m), ok
    if method == "kpca-cam":
        return kpca(a)
    if method == "finer-cam":
        z = logits.detach()
        order = sorted((j for j in range(len(z)) if j != cls),
                       key=lambda j: (abs(float(z[j]) - float(z[cls])), j))[:3]
        p = torch.softmax(logits, dim=0)
        num = sum(p[j] * (logits[cls] - logits[j]) for j in order)
        den = sum(p[j] for j in order) + 1e-9
        g = torch.autograd.grad(num / den, outs[li], retain_graph=True)[0][0]
        m, ok = reduce_terms(g.mean(dim=(1, 2))[:, None, None] * a, eigen)
        return relu(m), ok
    if method == "smooth-grad-cam++":
        gs = []
        for noisy in noisy_inputs(x, seed):
            o = forward_case(netd, noisy)
            y = y_of(o[-1][0], torch.softmax(o[-1], dim=1)[0])
            gs.append(torch.autograd.grad(y, o[li], retain_graph=True)[0][0])
        d1 = sum(gs) / 4
        d2 = sum(g * g for g in gs) / 4
        d3 = sum(g * g * g for g in gs) / 4
        w = plus_plus_weights(a, d1, d2, d3)
        m, ok = reduce_terms(w[:, None, None] * a, eigen)
        return relu(m), ok
    if method == "fullgrad":
        return full_grad_map(netd, x, cls, score)
    if method == "random":
        rng = Random(seed)
        h, w = a.shape[1:]
        v = np.array([rng.uniform() for _ in range(h * w)], dtype=np.float32)
        return torch.from_numpy(v.astype(np.float64)).reshape(h, w), True
    raise ValueError(method)


class _Routed(torch.autograd.Function):
    """y (given) with the gradient mask * dy sent to z: a ReLU whose routing is chosen."""

    @staticmethod
    def forward(ctx, z, y, mask):
        ctx.save_for_backward(mask)
        return y.clone()

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask, None, None


def full_grad_map(netd, x, cls, score, routed=False):
    """FullGrad (camengine.h): |dy/dx x| and |dy/dO_l b_l| of every Conv2d with a bias
    and every BatchNorm2d (implicit bias beta - mean gamma / sqrt(var + eps)), each
    channel rescaled by psi(v) = (v - min) / (max - min + 1e-7), resized to the input by
    torch's bilinear interpolate (align_corners=False), summed, min-max rescaled. The
    networks checked have no Conv2d with a bias of its own right before a BatchNorm2d,
    so pytorch-grad-cam's counting used here and the engine's folded one agree.
    (map, defined?): every gradient goes through every ReLU, ReLU6 and MaxPool, so
    float32 rounding may route some otherwise than float64 where an input sits within
    KINK of a kink. Defined: no MaxPool window with its two largest values that close,
    and the map with every such ReLU / ReLU6 unit routed the other way differs from the
    map by at most 1e-5 of its largest value (a tenth of the test's tolerance).
    routed: the map is defined as it is, float64's routing being recorded for the
    engine to check (routing_records); what make_case uses on one input (aug-smooth,
    on six, keeps the criterion above)."""
    m0, near = _full_grad(netd, x, cls, score, None)
    if routed:
        return m0, True
    if near is None:
        return m0, False
    if not near:
        return m0, True
    m1, _ = _full_grad(netd, x, cls, score, near)
    return m0, float((m1 - m0).abs().max()) <= 1e-5 * float(m0.abs().max())


class _RoutedPool(torch.autograd.Function):
    """y (given) with the gradient of each output sent to the input element idx names
    (flat over C x H x W, one image): a MaxPool whose winners are chosen."""

    @staticmethod
    def forward(ctx, z, y, idx):
        ctx.save_for_backward(idx)
        ctx.shape = z.shape
        return y.clone()

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        gz = torch.zeros(ctx.shape[1:].numel(), dtype=g.dtype)
        gz.index_add_(0, idx.reshape(-1), g[0].reshape(-1))
        return gz.reshape(ctx.shape), None, None


def _full_grad(netd, x, cls, score, flip, winners=None):
    """The map, and the near-kink masks per ReLU / ReLU6 call ({} if none; None when a
    MaxPool has a near tie); flip: such masks, routed the other way; winners: {MaxPool
    call: {window (flat over C x windows): the flat input index that takes its
    gradient}}, the other windows taking their first largest value."""
    taps, hooks, near, calls = [], [], {}, [0]
    tied = [False]
    pool_calls = [0]

    def routed_pool(mod, inp, out):
        k = pool_calls[0]
        pool_calls[0] += 1
        if not winners or k not in winners:
            return None
        z = inp[0]
        flat = _pool_winners(z.detach()[0], mod).reshape(-1).clone()
        for window, j in winners[k].items():
            flat[window] = j
        return _RoutedPool.apply(z, out.detach(), flat.reshape(out.shape[1:]))

    def tap(bias):
        return lambda mod, inp, out: taps.append((out, bias))

    def relu_hook(mod, inp, out):
        z = inp[0]
        k = calls[0]
        calls[0] += 1
        v = z.detach()
        scale = float(v.abs().max())
        close = v.abs() < KINK * scale
        base = v > 0
        if isinstance(mod, nn.ReLU6):
            close = close | ((v - 6).abs() < KINK * scale)
            base = base & (v < 6)
        if bool(close.any()):
            near[k] = close
        if flip is None or k not in flip:
            return None
        mask = flip[k]
        if not torch.is_tensor(mask):  # flat indices (one image)
            mask = torch.zeros_like(base)
            mask.view(-1)[list(flip[k])] = True
        return _Routed.apply(z, out.detach(), (base ^ mask).to(v.dtype))

    def pool_hook(mod, inp):
        v = inp[0].detach()
        scale = float(v.abs().max())
        u = F.unfold(v, mod.kernel_size, stride=mod.stride, padding=mod.padding)
        u = u.reshape(v.shape[1], -1, u.shape[-1])
        top2 = u.topk(2, dim=1).values
        tied[0] |= bool(((top2[:, 0] - top2[:, 1] < KINK * scale) & (top2[:, 0] > 0)).any())

    for mod in netd.modules():
        if isinstance(mod, nn.Conv2d) and mod.bias is not None:
            hooks.append(mod.register_forward_hook(tap(mod.bias.detach())))
        elif isinstance(mod, nn.BatchNorm2d):
            b = mod.bias - mod.running_mean * mod.weight / torch.sqrt(mod.running_var + mod.eps)
            hooks.append(mod.register_forward_hook(tap(b.detach())))
        elif isinstance(mod, (nn.ReLU, nn.ReLU6)):
            mod.inplace = False  # the hooks keep the inputs and outputs
            hooks.append(mod.register_forward_hook(relu_hook))
        elif isinstance(mod, nn.MaxPool2d):
            hooks.append(mod.register_forward_pre_hook(pool_hook))
            hooks.append(mod.register_forward_hook(routed_pool))
    xt = torch.from_numpy(np.asarray(x, dtype=np.float64))[None].requires_grad_(True)
    try:
        if hasattr(netd, "tapped_outputs"):
            outs = netd.tapped_outputs(xt)
        else:
            outs, h = [], xt
            for _, m in camref.layers(netd):
                h = m(h)
                outs.append(h)
    finally:
        for hk in hooks:
            hk.remove()
    logits = outs[-1][0]
    y = logits[cls] if score == "logit" else torch.softmax(logits, dim=0)[cls]
    grads = torch.autograd.grad(y, [xt] + [t for t, _ in taps])
    size = tuple(xt.shape[2:])

    def psi(v):  # C x h x w -> the sum over channels of the rescaled channels, resized
        v = v.abs()
        lo = v.amin(dim=(1, 2), keepdim=True)
        hi = v.amax(dim=(1, 2), keepdim=True)
        r = (v - lo) / (hi - lo + 1e-7)
        return F.interpolate(r[None], size=size, mode="bilinear", align_corners=False)[0].sum(0)

    total = psi(grads[0][0] * xt[0].detach())
    for g, (_, b) in zip(grads[1:], taps):
        total = total + psi(g[0] * b[:, None, None])
    return normalise(total.detach()), (None if tied[0] else near)



# FullGrad's routing, checked by the engine. Every gradient of FullGrad goes through every
# ReLU, ReLU6 and MaxPool of the network, and with random weights or deep networks some of
# their inputs sit close enough to a kink that a float32 forward may route the gradient
# otherwise than float64 does: one such unit moves the map by up to ~1e-3 of its maximum
# (the per-channel min-max rescale of each bias-gradient term amplifies a small channel).
# Rather than guessing which maps float32 leaves alone, the reference records every unit
# whose float64 input lies within KINK_WINDOW times PyTorch's largest float32 error of
# that tensor (measured here on the input and on two copies changed by about one ulp; at
# least KINK of the tensor's largest magnitude) of a kink: ReLU / ReLU6 inputs near 0 or
# 6, and MaxPool windows whose winner has a competitor that close. test-reference.c reads
# the engine's own float32 values of those tensors and compares a FullGrad map only where
# the engine routes every recorded unit as float64 does; the units left out are farther
# from their kink than KINK_WINDOW times PyTorch's float32 error.
KINK_WINDOW = 20


def _routing_capture(net, x, dtype):
    """The inputs of every ReLU / ReLU6 call (with its kind) and MaxPool call (with the
    module), in call order, for input x run in dtype."""
    relus, pools, hooks = [], [], []

    def relu_hook(mod, inp, out):
        relus.append((inp[0].detach()[0], isinstance(mod, nn.ReLU6)))

    def pool_hook(mod, inp):
        pools.append((inp[0].detach()[0], mod))

    for mod in net.modules():
        if isinstance(mod, (nn.ReLU, nn.ReLU6)):
            mod.inplace = False
            hooks.append(mod.register_forward_hook(relu_hook))
        elif isinstance(mod, nn.MaxPool2d):
            hooks.append(mod.register_forward_pre_hook(pool_hook))
    xt = torch.from_numpy(np.asarray(x, dtype=np.float64))[None].to(dtype)
    try:
        with torch.no_grad():
            if hasattr(net, "tapped_outputs"):
                net.tapped_outputs(xt)
            else:
                h = xt
                for _, m in camref.layers(net):
                    h = m(h)
    finally:
        for hk in hooks:
            hk.remove()
    return relus, pools


def _pool_winners(v, mod):
    """PyTorch's MaxPool winner of every window (the element its backward sends the
    gradient to): flat indices over C x H x W, C x windows."""
    c, h, w = v.shape
    _, idx = F.max_pool2d(v[None], mod.kernel_size, mod.stride, mod.padding, mod.dilation,
                          mod.ceil_mode, return_indices=True)
    idx = idx[0].reshape(c, -1)
    return idx + torch.arange(c)[:, None] * (h * w)


def _pool_windows(v, mod):
    """(values, flat input indices) of every MaxPool window: C x K x L, -inf and -1 where
    the window hangs over the padding."""
    c, h, w = v.shape
    args = dict(kernel_size=mod.kernel_size, stride=mod.stride, padding=mod.padding,
                dilation=mod.dilation)
    if mod.ceil_mode:
        raise ValueError("MaxPool2d with ceil_mode: windows not handled here")
    idx = torch.arange(1, c * h * w + 1, dtype=torch.float64).reshape(1, c, h, w)
    u = F.unfold(v[None].double(), **args).reshape(c, -1, F.unfold(idx, **args).shape[-1])
    ui = F.unfold(idx, **args).reshape(u.shape).long() - 1
    return torch.where(ui >= 0, u, torch.full_like(u, -math.inf)), ui


def routing_records(netd, x, relu_names, pool_names, image):
    """The near-kink units of input x (see KINK_WINDOW) as camref records:
      kink-relu  <ReLU / ReLU6 input tensor>  N x 6: flat index (one image), the kink
                 (0 or 6), the float64 value, the window, 1 if the maps route it as
                 above the kink (float64's side, unless rerouted), 0;
      kink-pool  <MaxPool input tensor>  N x 6: the float64 winner's flat index (the
                 first largest), a competitor's, their float64 difference, the window,
                 the flat index the maps route the window's gradient to (float64's
                 winner unless rerouted), the window's flat index over C x windows.
    relu_names / pool_names: the ONNX tensor names of the calls' inputs, in call order.
    Also returns a one-line summary: the units recorded and the closest one in units of
    PyTorch's float32 error."""
    r64, p64 = _routing_capture(netd, x, torch.float64)
    if len(r64) != len(relu_names) or len(p64) != len(pool_names):
        raise ValueError(f"{len(r64)} ReLU calls and {len(p64)} MaxPool calls, but "
                         f"{len(relu_names)} and {len(pool_names)} ONNX tensors")
    net32 = copy.deepcopy(netd).float()
    rng = np.random.default_rng(5)
    xs = [x] + [(x.astype(np.float64) * (1 + 1e-7 * rng.standard_normal(x.shape))).astype(np.float32)
                for _ in range(2)]
    runs = [_routing_capture(net32, xi, torch.float32) for xi in xs]
    records, closest, n_units = [], math.inf, 0

    def err_of(k, which):
        v = (r64 if which == 0 else p64)[k][0]
        return max(float((run[which][k][0].double() - v).abs().max()) for run in runs)

    for k, ((v, six), name) in enumerate(zip(r64, relu_names)):
        scale = float(v.abs().max())
        err = err_of(k, 0)
        window = max(KINK * scale, KINK_WINDOW * err)
        rows = []
        for kink in ((0.0, 6.0) if six else (0.0,)):
            flat = v.reshape(-1)
            for i in ((flat - kink).abs() < window).nonzero().flatten().tolist():
                rows.append((i, kink, float(flat[i]), window, float(flat[i] > kink), 0))
                closest = min(closest, abs(float(flat[i]) - kink) / max(err, 1e-300))
        if rows:
            records.append(("kink-relu", name, image, -1, np.array(rows, dtype=np.float64)))
            n_units += len(rows)
    for k, ((v, mod), name) in enumerate(zip(p64, pool_names)):
        scale = float(v.abs().max())
        err = err_of(k, 1)
        window = max(KINK * scale, KINK_WINDOW * err)
        vals, ids = _pool_windows(v, mod)
        win = _pool_winners(v, mod)  # the first largest, as the engine's MaxPool
        top = v.reshape(-1)[win]
        near = (top[:, None] - vals < window) & (ids != win[:, None]) & (top[:, None] > 0)
        rows = []
        for c, j, l in near.nonzero().tolist():
            d = float(top[c, l] - vals[c, j, l])
            rows.append((int(win[c, l]), int(ids[c, j, l]), d, window, int(win[c, l]),
                         c * vals.shape[2] + l))
            closest = min(closest, d / max(2 * err, 1e-300))
        if rows:
            records.append(("kink-pool", name, image, -1, np.array(rows, dtype=np.float64)))
            n_units += len(rows)
    summary = (f"{n_units} near-kink units recorded"
               + (f", the closest at {closest:.2g} x PyTorch's largest float32 error" if n_units else ""))
    return records, summary


def relu_pool_names(net, proto):
    """The bundled networks: the ONNX tensor names of the inputs of every ReLU and
    MaxPool layer, in order."""
    mapping, _ = camref.onnx_tensor_names(net, proto)
    relu = [mapping[i - 1][2] for i, (_, m, _, _) in enumerate(mapping) if isinstance(m, nn.ReLU)]
    pool = [mapping[i - 1][2] for i, (_, m, _, _) in enumerate(mapping) if isinstance(m, nn.MaxPool2d)]
    return relu, pool


_NOISY = {}


def noisy_inputs(x, seed):
    """Smooth Grad-CAM++'s 4 noisy copies of x: x + 0.3 * normal, rounded to float32."""
    key = (seed, np.asarray(x, dtype=np.float32).tobytes())
    if key not in _NOISY:
        rng = Random(seed)
        flat = np.asarray(x, dtype=np.float32).ravel()
        out = []
        for _ in range(4):
            noisy = np.array([float(v) + 0.3 * rng.normal() for v in flat], dtype=np.float64)
            out.append(noisy.astype(np.float32).reshape(np.shape(x)))
        _NOISY.clear()
        _NOISY[key] = out
    return _NOISY[key]


def normalise(m):
    lo, hi = m.min(), m.max()
    return (m - lo) / (hi - lo) if hi > lo else torch.zeros_like(m)


def fused_map(method, netd, x, lis, cls, score, eigen, seed):
    """Several layers: normalised, upsampled to the largest, averaged, normalised."""
    maps, ok = [], True
    for li in lis:
        m, d = method_map(method, netd, x, li, cls, score, eigen, seed)
        maps.append(normalise(m))
        ok = ok and d
    sizes = [m.shape[0] * m.shape[1] for m in maps]
    big = maps[sizes.index(max(sizes))].shape
    up = [F.interpolate(m[None, None], size=tuple(big), mode="bilinear", align_corners=False)[0, 0]
          for m in maps]
    return normalise(sum(up) / len(up)), ok


AUG_SCALES = (0.9, 1.0, 1.1)


def _centre_grid(h, w, sy, sx):
    """grid_sample's (1, h, w, 2) grid of pixel centres, scaled by (sy, sx) about the centre
    (normalised coordinates, align_corners=False)."""
    gy = (2 * torch.arange(h, dtype=torch.float64) + 1) / h - 1
    gx = (2 * torch.arange(w, dtype=torch.float64) + 1) / w - 1
    yy, xx = torch.meshgrid(gy * sy, gx * sx, indexing="ij")
    return torch.stack([xx, yy], dim=-1)[None]


def zoom_view(x, flip, s):
    """camengine.h CAM_AUG_SMOOTH_SCALES: the preprocessed input zoomed by s about its centre
    at the same size (torch grid_sample, zeros outside), then flipped left-right if flip."""
    t = torch.from_numpy(np.asarray(x, dtype=np.float32).astype(np.float64))[None]
    _, _, h, w = t.shape
    v = F.grid_sample(t, _centre_grid(h, w, 1 / s, 1 / s), mode="bilinear",
                      padding_mode="zeros", align_corners=False)[0]
    if flip:
        v = torch.flip(v, dims=[2])
    return v.numpy().astype(np.float32)


def map_back(m, flip, s):
    """A view's map back on the original's cells: flipped back, sampled at the zoomed places
    (grid_sample, border clamped), and where each cell is seen (its place inside the view)."""
    h, w = m.shape
    if flip:
        m = torch.flip(m, dims=[1])
    grid = _centre_grid(h, w, s, s)
    back = F.grid_sample(m[None, None], grid, mode="bilinear", padding_mode="border",
                         align_corners=False)[0, 0]
    seen = (grid[0].abs() <= 1 + 1e-9).all(dim=-1).to(torch.float64)
    return back * seen, seen


def aug_map(method, netd, x, lis, cls, score, eigen, seed, mode="scales"):
    """Augmentation smoothing (camengine.h): flip x zoom(0.9, 1, 1.1), maps mapped back and
    averaged where seen ("scales", aug_smooth = 1), or pytorch-grad-cam's ttach transforms
    flip x multiply(0.9, 1, 1.1), maps flipped back ("brightness", aug_smooth = 2)."""
    total, count, ok = None, None, True
    for flip in (False, True):
        for f in AUG_SCALES:
            if mode == "scales":
                xa = zoom_view(x, flip, f)
            else:
                xa = np.asarray(x, dtype=np.float32)
                if flip:
                    xa = xa[:, :, ::-1]
                xa = (xa.astype(np.float64) * f).astype(np.float32)
            if len(lis) == 1:
                m, d = method_map(method, netd, xa, lis[0], cls, score, eigen, seed)
                m = normalise(m)
            else:
                m, d = fused_map(method, netd, xa, lis, cls, score, eigen, seed)
            ok = ok and d
            if mode == "scales":
                m, seen = map_back(m, flip, f)
            else:
                if flip:
                    m = torch.flip(m, dims=[1])
                seen = torch.ones_like(m)
            total = m if total is None else total + m
            count = seen if count is None else count + seen
    return total / count, ok


# (method, options): what is checked on every case, at every layer of LAYERS unless
# "fused"/"aug-smooth" say otherwise (those on the first image only)
PLAN = [
    ("grad-cam", ()), ("grad-cam", ("probability",)), ("grad-cam", ("eigen-smooth",)),
    ("hires-cam", ()), ("hires-cam", ("probability",)),
    ("grad-cam++", ()), ("grad-cam++", ("eigen-smooth",)),
    ("xgrad-cam", ()),
    ("grad-cam-elementwise", ()),
    ("layer-cam", ()), ("layer-cam", ("eigen-smooth",)),
    ("eigen-cam", ()), ("eigen-grad-cam", ()), ("kpca-cam", ()),
    ("finer-cam", ()),
    ("smooth-grad-cam++", ()), ("smooth-grad-cam++", ("seed=7",)),
    ("random", ()), ("random", ("seed=7",)),
    ("grad-cam", ("fused",)), ("layer-cam", ("fused",)),
    ("grad-cam", ("aug-smooth",)), ("eigen-cam", ("aug-smooth",)),
    ("grad-cam++", ("aug-smooth", "fused")), ("grad-cam", ("aug-smooth-brightness",)),
    ("fullgrad", ("input",)), ("fullgrad", ("input", "probability")),
    ("fullgrad", ("input", "aug-smooth")),
]


def make_case(case, arch, net, onnx_path, proto, outdir, rng):
    mapping, _ = camref.onnx_tensor_names(net, proto)
    names = [t for _, _, t, _ in mapping]
    layer_of = {lname: i for i, (lname, _, _, _) in enumerate(mapping)}
    netd = copy.deepcopy(net).double().eval()
    c, h, w = net.input_shape
    images = [rng.random((c, h, w), dtype=np.float32) for _ in range(N_RANDOM)]
    real = camref.test_images(arch, N_REAL)
    if real is not None:
        images += list(real[0])
    layers = [layer_of[n + "_relu"] for n in LAYERS[arch]]
    fused = [layer_of[n + "_relu"] for n in FUSED[arch]]
    records = []
    counts = {}
    skipped = {}
    routed = set()  # images with a FullGrad map: their near-kink units are recorded
    relu_names, pool_names = relu_pool_names(net, proto)
    for img, x in enumerate(images):
        x = np.asarray(x, dtype=np.float32)
        records.append(("input", "", img, -1, x))
        o = forward_case(netd, x)
        p = torch.softmax(o[-1], dim=1)[0].detach().numpy()
        records.append(("probs", "", img, -1, p.astype(np.float32)))
        records.append(("logits", "", img, -1, o[-1][0].detach().numpy().astype(np.float32)))
        order = list(np.argsort(-p, kind="stable"))
        classes = [order[0], order[1], order[-1]] + order[2:-1]
        for method, opts in PLAN:
            aug = next((o for o in opts if o.startswith("aug-smooth")), None)
            if img > 0 and ("fused" in opts or aug):
                continue  # 6 or 12 passes each: the first image only
            score = "probability" if "probability" in opts else "logit"
            eigen = "eigen-smooth" in opts
            seed = next((int(o.split("=")[1]) for o in opts if o.startswith("seed=")), 0)
            kind = "@".join([method] + [o for o in opts if o not in ("fused", "input")])
            if "input" in opts:  # FullGrad: the map is the input's (any layer index)
                layer_sets = [[0]]
            elif "fused" in opts:
                layer_sets = [fused]
            elif aug:
                layer_sets = [layers[:1]]
            else:
                layer_sets = [[li] for li in layers]
            for lis in layer_sets:
                taken = 0
                for cls in classes:
                    if taken >= MAPS_PER_KEY:
                        break
                    if aug:
                        m, ok = aug_map(method, netd, x, lis, cls, score, eigen, seed,
                                        "brightness" if aug == "aug-smooth-brightness"
                                        else "scales")
                    elif method == "fullgrad":  # the engine checks float64's routing
                        m, ok = full_grad_map(netd, x, cls, score, routed=True)
                        routed.add(img)
                    elif len(lis) > 1:
                        m, ok = fused_map(method, netd, x, lis, cls, score, eigen, seed)
                    else:
                        m, ok = method_map(method, netd, x, lis[0], cls, score, eigen, seed)
                    m = m.detach().numpy()
                    if not ok or not camref.nontrivial(m):
                        skipped[kind] = skipped.get(kind, 0) + 1
                        continue
                    name = (proto.graph.input[0].name if "input" in opts
                            else ",".join(names[li] for li in lis))
                    records.append((kind, name, img, int(cls), m))
                    counts[kind] = counts.get(kind, 0) + 1
                    taken += 1
        if img in routed:
            kinks, summary = routing_records(netd, x, relu_names, pool_names, img)
            records += kinks
            print(f"{case}: image {img}: FullGrad's routing: {summary}")
    ref = os.path.join(outdir, case + ".camref")
    camref.write_records(ref, records)
    if routed:
        save_net(ref + ".net.pt", ("bundled", arch), net)
        with_names(ref + ".net.pt", relu_names, pool_names)
    print(f"{case}: {len(images)} images, {sum(counts.values())} maps -> {ref}")
    for kind in sorted(set(counts) | set(skipped)):
        print(f"  {kind:34s} {counts.get(kind, 0):3d} maps, {skipped.get(kind, 0):3d} "
              "candidates left out (undefined or trivial)")
    return f"{os.path.abspath(onnx_path)} {os.path.abspath(ref)} {case}\n"


def with_names(path, relu, pool):
    saved = torch.load(path, weights_only=True)
    saved["relu"], saved["pool"] = relu, pool
    torch.save(saved, path)


def save_net(path, builder, net):
    """What reroute() needs to rebuild the network: builder ("bundled", arch) or
    ("torchvision", name) and the float32 weights."""
    torch.save({"builder": builder, "state": net.state_dict()}, path)


def load_net(path):
    saved = torch.load(path, weights_only=True)
    kind, name = saved["builder"]
    if kind == "bundled":
        net = next(cls for arch, cls, _, _ in camref.BUNDLED if arch == name)()
    else:
        import make_methods_torchvision as TV
        net = TV.tapped_model(name)
    net.load_state_dict(saved["state"])
    netd = net.double().eval()
    for p in netd.parameters():
        p.requires_grad_(False)
    return netd


def reroute(outdir):
    """The second stage of run-reference.sh: where test-reference.c found the engine's
    float32 forward routing a recorded near-kink unit otherwise than float64 (it writes
    <reference>.routing: "kind tensor image row value-a value-b", the engine's values of
    the record's elements, for every recorded unit of such an image), recompute that
    image's FullGrad maps in float64 with those units routed as the engine routes them,
    and mark the records' expected routing so. Only recorded units (within their window
    of a kink) may be rerouted; test-reference.c checks the engine's values are within
    the window of float64's."""
    with open(os.path.join(outdir, "manifest.txt")) as f:
        cases = [line.split() for line in f if line.strip()]
    for _, ref, case in cases:
        rfile = ref + ".routing"
        if not os.path.isfile(rfile):
            continue
        records = camref.read_records(ref)
        netd = load_net(ref + ".net.pt")
        saved = torch.load(ref + ".net.pt", weights_only=True)
        relu_names, pool_names = saved["relu"], saved["pool"]
        engine = {}
        with open(rfile) as f:
            for line in f:
                kind, name, image, row, va, vb = line.split()
                engine[(kind, name, int(image), int(row))] = (float(va), float(vb))
        images = sorted({k[2] for k in engine})
        for img in images:
            flip, winners, moved = {}, {}, 0
            for r in records:
                kind, name, image, _, data = r
                if image != img or kind not in ("kink-relu", "kink-pool"):
                    continue
                if kind == "kink-relu":
                    k = relu_names.index(name)
                    for row in range(data.shape[0]):
                        va, _ = engine[(kind, name, img, row)]
                        above = va > data[row, 1]
                        data[row, 4] = float(above)
                        if above != (data[row, 2] > data[row, 1]):
                            flip.setdefault(k, set()).add(int(data[row, 0]))
                            moved += 1
                else:
                    k = pool_names.index(name)
                    best = {}  # window -> (engine value, index)
                    for row in range(data.shape[0]):
                        va, vb = engine[(kind, name, img, row)]
                        w = int(data[row, 5])
                        for v, i in ((va, int(data[row, 0])), (vb, int(data[row, 1]))):
                            if w not in best or v > best[w][0] or (v == best[w][0] and i < best[w][1]):
                                best[w] = (v, i)
                    for row in range(data.shape[0]):
                        w = int(data[row, 5])
                        data[row, 4] = best[w][1]
                        if best[w][1] != int(data[row, 0]):
                            winners.setdefault(k, {})[w] = best[w][1]
                    moved += sum(len(v) for v in winners.values())
            x = next(r[4] for r in records if r[0] == "input" and r[2] == img)
            for i, (kind, name, image, cls, data) in enumerate(records):
                if image == img and kind.split("@")[0] == "fullgrad" and "@aug-smooth" not in kind:
                    score = "probability" if "@probability" in kind else "logit"
                    m, _ = _full_grad(netd, x, cls, score, flip, winners)
                    records[i] = (kind, name, image, cls, m.detach().numpy())
            print(f"{case}: image {img}: FullGrad's maps recomputed with {moved} near-kink "
                  "units routed as the engine's float32 forward routes them")
        camref.write_records(ref, records)
        os.remove(rfile)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--reroute":
        reroute(sys.argv[2])
        return
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    if camref.references_kept(outdir):
        return
    camref.forget_references(outdir)
    torch.manual_seed(0)
    rng = np.random.default_rng(20251201)
    lines = []
    for case, arch, net, path, proto in camref.bundled_networks(outdir):
        lines.append(make_case(case, arch, net, path, proto, outdir, rng))
    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.writelines(lines)
    camref.keep_references(outdir)


if __name__ == "__main__":
    main()
