#!/usr/bin/env python3
"""Write PyTorch reference tensors for test-reference.c.

    python3 tests/reference/make_reference.py OUTDIR

For each case it writes OUTDIR/<case>.camref (format in camref.py) and one line
"<onnx path> <camref path> <case>" of OUTDIR/manifest.txt:
  fashion-random, cifar10-random   both architectures with fixed-seed random weights
                                   (non-trivial BatchNorm statistics), exported to
                                   OUTDIR/<case>.onnx with weights/export.py;
  fashion-trained, cifar10-trained the shipped weights/fashion-mnist.onnx and
                                   weights/cifar10.onnx, when they exist, their weights
                                   copied from the ONNX initializers into the modules.
Images: 3 uniform random images, plus the first 3 official test images when the
datasets are there ($CAM_DATA_DIR, else $CAM_DATA_DIR_DEFAULT).
Everything is computed in float64 (the engine's float32 error is what is tested):
probabilities, logits, every layer's output by ONNX tensor name, gradients of the
logit and of the probability with respect to every layer's output, CAM for three
classes, Grad-CAM (paper: ReLU(sum_k mean(dlogit_c/dA_k) A_k)) and the tutorial's
Grad-CAM (1 + sum_k mean(dp_c/dA_k) A_k) for three classes at several layers, the
explanation-layer list and the automatic layer. Maps that are nearly constant or all
zero (range < camref.NONTRIVIAL of the largest magnitude) are not used as references
(another class is taken).
"""
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import copy
import os

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import camref  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

N_RANDOM = 3
N_REAL = 3
GRADCAM_LAYERS = {  # Keras-style layer names (ReLU outputs); mapped to ONNX names below
    "fashion-mnist": ["conv2d_3", "conv2d_2", "conv2d_1"],
    "cifar10": ["conv2d_8", "conv2d_6", "conv2d_2", "conv2d_1"],
}
GRADIENT_IMAGES = 2


def run_layers(net, x):
    """Forward through the layers; returns the list of every layer's output."""
    outs = []
    for _, m in camref.layers(net):
        x = m(x)
        outs.append(x)
    return outs


def make_case(case, arch, net, onnx_path, proto, outdir, rng):
    mapping, softmax_out = camref.onnx_tensor_names(net, proto)
    names = [t for _, _, t, _ in mapping]
    layer_of = {lname: i for i, (lname, _, _, _) in enumerate(mapping)}
    netd = copy.deepcopy(net).double().eval()
    c, h, w = net.input_shape

    images = [rng.random((c, h, w), dtype=np.float32) for _ in range(N_RANDOM)]
    kinds = ["random"] * N_RANDOM
    real = camref.test_images(arch, N_REAL)
    if real is not None:
        images += list(real[0])
        kinds += ["official test image %d" % i for i in range(N_REAL)]

    # Explanation layers: the output of each conv's ReLU; automatic: the last with H*W > 1.
    records = []
    candidates = []
    for i, (lname, m, tname, _) in enumerate(mapping):
        if isinstance(m, nn.ReLU) and i > 0 and isinstance(mapping[i - 1][1], nn.Conv2d):
            candidates.append(i)
    shapes = {}
    with torch.no_grad():
        outs = run_layers(netd, torch.zeros(1, c, h, w, dtype=torch.float64))
    for i, o in enumerate(outs):
        shapes[i] = tuple(o.shape[1:])
    for i in candidates:
        records.append(("layer", names[i], -1, -1, np.array(shapes[i], dtype=np.float32)))
    auto = [i for i in candidates if shapes[i][1] * shapes[i][2] > 1][-1]
    records.append(("auto-layer", names[auto], -1, -1, np.zeros(0, np.float32)))

    # CAM structure: last conv (+ReLU) -> global average pool -> (flatten) -> dense -> softmax.
    types = [type(m) for _, m, _, _ in mapping]
    has_cam = (types[-4:] == [nn.ReLU, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear]
               and types[-5] == nn.Conv2d)
    records.append(("supports-cam", "", -1, -1, np.array([1.0 if has_cam else 0.0], np.float32)))

    last_linear = mapping[-1][1]
    gradcam_layers = [layer_of[n + "_relu"] for n in GRADCAM_LAYERS[arch]]
    n_maps = 0
    for img, (x, kind) in enumerate(zip(images, kinds)):
        xt = torch.from_numpy(np.asarray(x, dtype=np.float64))[None].requires_grad_(True)
        outs = run_layers(netd, xt)
        logits = outs[-1]
        probs = torch.softmax(logits, dim=1)
        p = probs[0].detach().numpy()
        # float32 module as a sanity check of the float64 copy
        with torch.no_grad():
            p32 = torch.softmax(net(torch.from_numpy(np.asarray(x, np.float32))[None]), 1)[0].numpy()
        assert np.abs(p32 - p).max() < 1e-4, (case, img, np.abs(p32 - p).max())
        records.append(("input", "", img, -1, np.asarray(x, np.float32)))
        records.append(("probs", softmax_out, img, -1, p))
        records.append(("logits", names[-1], img, -1, logits[0].detach().numpy()))
        for i, o in enumerate(outs):
            records.append(("tensor", names[i], img, -1, o[0].detach().numpy()))

        order = list(np.argsort(-p, kind="stable"))
        grads = {}  # (score, class) -> list of gradients (one per layer), float64

        def grad(score, cls):
            key = (score, cls)
            if key not in grads:
                y = logits[0, cls] if score == "logit" else probs[0, cls]
                g = torch.autograd.grad(y, outs[:-1], retain_graph=True)
                grads[key] = [t[0].detach().numpy() for t in g] + [None]
            return grads[key]

        # Gradients of every tensor (except the logits themselves).
        if img < GRADIENT_IMAGES or (real is not None and img == N_RANDOM):
            for cls in (order[0], order[-1]):
                for score in ("logit", "prob"):
                    g = grad(score, cls)
                    for i in range(len(outs) - 1):
                        records.append(("grad-" + score, names[i], img, int(cls), g[i]))

        # CAM: sum_k W[c,k] A_k on the last conv's ReLU output.
        if has_cam:
            a = outs[-4][0].detach().numpy()
            W = last_linear.weight.detach().double().numpy()
            taken = 0
            for cls in [order[0], order[1], order[-1]] + order[2:-1]:
                cam = np.einsum("k,khw->hw", W[cls], a)
                if taken < 3 and camref.nontrivial(cam):
                    records.append(("cam", names[-4], img, int(cls), cam))
                    taken += 1
                    n_maps += 1

        # Grad-CAM, paper and tutorial variants.
        for li in gradcam_layers:
            a = outs[li][0].detach().numpy()
            for method, score in (("grad-cam", "logit"), ("grad-cam-tutorial", "prob")):
                taken = 0
                for cls in [order[0], order[1], order[-1]] + order[2:-1]:
                    g = grad(score, cls)[li]
                    alpha = g.mean(axis=(1, 2))
                    s = np.einsum("k,khw->hw", alpha, a)
                    m = np.maximum(s, 0.0) if method == "grad-cam" else 1.0 + s
                    if taken < 3 and camref.nontrivial(m):
                        records.append((method, names[li], img, int(cls), m))
                        taken += 1
                        n_maps += 1
                if taken == 0:
                    print(f"{case}: image {img}: no non-trivial {method} map at {names[li]}")

    ref = os.path.join(outdir, case + ".camref")
    camref.write_records(ref, records)
    print(f"{case}: {len(images)} images ({', '.join(sorted(set(kinds)))}), "
          f"{len(records)} records, {n_maps} maps -> {ref}")
    return f"{os.path.abspath(onnx_path)} {os.path.abspath(ref)} {case}\n"


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    if camref.references_kept(outdir):
        return
    camref.forget_references(outdir)
    torch.manual_seed(0)
    rng = np.random.default_rng(20240601)
    lines = []
    for case, arch, net, path, proto in camref.bundled_networks(outdir):
        lines.append(make_case(case, arch, net, path, proto, outdir, rng))
    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.writelines(lines)
    camref.keep_references(outdir)


if __name__ == "__main__":
    main()
