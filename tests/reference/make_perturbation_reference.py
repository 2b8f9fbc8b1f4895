#!/usr/bin/env python3
"""Write PyTorch references of the perturbation methods for test-reference.c.

    python3 tests/reference/make_perturbation_reference.py OUTDIR

Both bundled networks (weights/fashion-mnist.onnx and weights/cifar10.onnx, their
weights copied into the PyTorch modules of weights/networks.py), two images each (the
first official test images when the datasets are there, else uniform random ones).
Every map is computed in float64 from the formulas of
engine/src/methods/cam-method-perturbation.h, with PyTorch's own bilinear
interpolation (F.interpolate, align_corners=False) for the Score-CAM masks:

  score-cam     w_k = s(x * M_k), M_k = minmax(U_k), U_k = interpolate(A_k);
                constant U_k: w_k = 0; map = ReLU(sum_k w_k A_k)
  ss-cam        w_k = mean over N = 35 samples of s(x * (M_k + d)), d = 2 * the
                normal numbers of camengine.h's RANDOM NUMBERS, seed 0 (splitmix64 read
                at place ((k N + i) H + y) W + x, Box-Muller; written again here)
  is-cam        w_k = mean over i = 1..10 of s(c_i x * M_k), c_i = i (i + 1) / 20
  ablation-cam  w_k = (y - y_k) / y, y_k: the network after the layer on A with
                channel k zeroed; map = ReLU(sum_k w_k A_k)
  recipro-cam   map(p) = s(the network after the layer on A kept at position p only)

s is the class logit (kind "<method>") or the softmax probability (kind
"<method>@probability": options.target_score). Records (format in camref.py): "input",
"probs" and "logits" per image, then the maps: kind, the layer's ONNX tensor name, the
image and the class, the map (h x w); test-reference.c explains each with cam_explain. Layers: the network's
explanation layer (all five methods; SS-CAM on image 0 and IS-CAM on image 1 only,
they cost 35 and 10 forward passes per channel) and an earlier, larger one
(Score-CAM, Ablation-CAM, Recipro-CAM). Classes: the top one, and the second for the
cheap methods. Maps that are constant or all zero are left out (another is not
looked for). CAM_REFERENCE_TIMES=1 prints the time of each method.
"""
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import copy
import os
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import camref  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

N_IMAGES = 2
EARLIER = {"fashion-mnist": "conv2d_1", "cifar10": "conv2d_6"}
SS_SAMPLES, SS_STD, SS_SEED = 35, 2.0, 0
IS_STEPS = 10
BATCH = 256


GAMMA = np.uint64(0x9E3779B97F4A7C15)


def mix(z):
    """splitmix64's output function (numpy uint64 arrays, wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def normal_stream(seed, m):
    """The normal numbers at places m (uint64 array) of the stream of RANDOM NUMBERS
    (camengine.h) from seed: output n of splitmix64 is mix(seed + (n + 1) gamma), a
    uniform is output >> 11 times 2^-53, normal number m takes outputs 2m and 2m + 1
    as u1, u2: sqrt(-2 ln(1 - u1)) cos(2 pi u2)."""
    with np.errstate(over="ignore"):
        a = mix(np.uint64(seed) + (np.uint64(2) * m + np.uint64(1)) * GAMMA) >> np.uint64(11)
        b = mix(np.uint64(seed) + (np.uint64(2) * m + np.uint64(2)) * GAMMA) >> np.uint64(11)
    u1 = a.astype(np.float64) / 9007199254740992.0
    u2 = b.astype(np.float64) / 9007199254740992.0
    return np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)


def scores(run, inputs):
    """{"logit": logits, "prob": probabilities} (batch x classes) of a batch, run in
    chunks of BATCH."""
    logit = []
    with torch.no_grad():
        for i in range(0, inputs.shape[0], BATCH):
            logit.append(run(inputs[i:i + BATCH]))
    z = torch.cat(logit)
    return {"logit": z.numpy(), "prob": torch.softmax(z, dim=1).numpy()}


def weighted(w, a):
    return np.maximum(np.einsum("k,khw->hw", w, a), 0.0)


def make_case(case, arch, net, onnx_path, proto, outdir, rng):
    mapping, softmax_out = camref.onnx_tensor_names(net, proto)
    index = {lname: i for i, (lname, _, _, _) in enumerate(mapping)}
    netd = copy.deepcopy(net).double().eval()
    mods = [m for _, m in camref.layers(netd)]
    assert len(mods) == len(mapping)

    def run_from(first):
        def run(x):
            for m in mods[first:]:
                x = m(x)
            return x
        return run

    c, h, w = net.input_shape
    real = camref.test_images(arch, N_IMAGES)
    if real is not None:
        images = list(real[0])
    else:
        images = [rng.random((c, h, w), dtype=np.float32) for _ in range(N_IMAGES)]
    records = []
    layers = [(type(net).cam_layer, True), (EARLIER[arch], False)]
    n_maps = 0
    for img, x in enumerate(images):
        x32 = np.asarray(x, np.float32)
        records.append(("input", "", img, -1, x32))
        xt = torch.from_numpy(x32.astype(np.float64))[None]
        with torch.no_grad():
            z = run_from(0)(xt)[0].numpy()
        p = np.exp(z - z.max())
        p /= p.sum()
        records.append(("probs", softmax_out, img, -1, p))
        records.append(("logits", mapping[-1][2], img, -1, z))
        order = list(np.argsort(-p, kind="stable"))
        for lname, full in layers:
            li = index[lname + "_relu"]
            tname = mapping[li][2]
            with torch.no_grad():
                act = xt
                for m in mods[:li + 1]:
                    act = m(act)
            a = act[0].numpy()  # K x h x w
            k_all, lh, lw = a.shape
            tail = run_from(li + 1)

            # Score-CAM family masks: U_k, min-max per channel (constant ones: no mask)
            u = F.interpolate(act, size=(h, w), mode="bilinear", align_corners=False)[0].numpy()
            lo = u.reshape(k_all, -1).min(axis=1)
            hi = u.reshape(k_all, -1).max(axis=1)
            masked = [k for k in range(k_all) if hi[k] > lo[k]]
            masks = {k: (u[k] - lo[k]) / (hi[k] - lo[k]) for k in masked}
            x64 = x32.astype(np.float64)

            def score_family(kind):
                n = {"score-cam": 1, "ss-cam": SS_SAMPLES, "is-cam": IS_STEPS}[kind]
                batch = []
                for k in masked:
                    for i in range(n):
                        m = masks[k]
                        if kind == "ss-cam":
                            cnt = (np.uint64(k * n + i) * np.uint64(h * w)
                                   + np.arange(h * w, dtype=np.uint64))
                            d = (SS_STD * normal_stream(SS_SEED, cnt)).astype(np.float32)
                            m = m + d.astype(np.float64).reshape(h, w)
                        coeff = (i + 1) * (i + 2) / (2.0 * n) if kind == "is-cam" else 1.0
                        batch.append(coeff * (x64 * m[None]))
                s = scores(run_from(0), torch.from_numpy(np.stack(batch)))

                def maps(cls):
                    out = {}
                    for sname in ("logit", "prob"):
                        wk = np.zeros(k_all)
                        for j, k in enumerate(masked):
                            wk[k] = s[sname][j * n:(j + 1) * n, cls].mean()
                        out[sname] = weighted(wk, a)
                    return out
                return maps

            def ablation():
                batch = np.repeat(a[None], k_all, axis=0)
                for k in range(k_all):
                    batch[k, k] = 0.0
                s = scores(tail, torch.from_numpy(batch))

                def maps(cls):
                    out = {}
                    for sname, y in (("logit", z[cls]), ("prob", p[cls])):
                        wk = (y - s[sname][:, cls]) / y if y != 0 else y - s[sname][:, cls]
                        out[sname] = weighted(wk, a)
                    return out
                return maps

            def recipro():
                batch = np.zeros((lh * lw, k_all, lh, lw))
                for q in range(lh * lw):
                    i, j = divmod(q, lw)
                    batch[q, :, i, j] = a[:, i, j]
                s = scores(tail, torch.from_numpy(batch))
                return lambda cls: {sname: s[sname][:, cls].reshape(lh, lw)
                                    for sname in ("logit", "prob")}

            methods = [("score-cam", lambda: score_family("score-cam")),
                       ("ablation-cam", ablation), ("recipro-cam", recipro)]
            if full:  # the expensive ones on one image each
                methods += [("ss-cam", lambda: score_family("ss-cam"))] if img == 0 else \
                    [("is-cam", lambda: score_family("is-cam"))]
            for method, fn in methods:
                expensive = method in ("ss-cam", "is-cam")
                started = time.time()
                maps_of = fn()
                if os.environ.get("CAM_REFERENCE_TIMES"):
                    print(f"{case}: image {img} {method} at {tname}: {time.time() - started:.1f} s")
                for cls in order[:1] if expensive else order[:2]:
                    for sname, m in maps_of(int(cls)).items():
                        if not camref.nontrivial(m):
                            print(f"{case}: image {img} {method}/{sname} class {cls} at {tname}: "
                                  f"trivial map, left out")
                            continue
                        kind = method if sname == "logit" else method + "@probability"
                        records.append((kind, tname, img, int(cls), m))
                        n_maps += 1
    ref = os.path.join(outdir, case + ".camref")
    camref.write_records(ref, records)
    print(f"{case}: {len(images)} images, {n_maps} maps -> {ref}")
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
    rng = np.random.default_rng(20261201)
    lines = []
    for _, arch, net, path, proto in camref.bundled_networks(outdir, random=False):
        lines.append(make_case(arch, arch, net, path, proto, outdir, rng))
    if not lines:
        raise SystemExit("no bundled network found")
    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.writelines(lines)
    camref.keep_references(outdir)


if __name__ == "__main__":
    main()
