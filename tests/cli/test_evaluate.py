"""cam-heatmap --evaluate on a slice of each test set agrees with an independent computation.

The reference: the official files read by weights/datasets.py (not the CLI's readers), the
network in PyTorch with the ONNX file's weights (tests/reference/camref.py), the maps by
autograd, upsampling by torch.nn.functional.interpolate, and the metrics as documented in
engine/cli/cam-heatmap-evaluate.c, written again here:
 - predictions, accuracy, per-class accuracy and the confusion matrix: equal (an image whose
   two best probabilities are within 1e-5 in PyTorch may go either way and is excused);
 - per image: the masked probability, deletion and insertion AUC of every method and of the
   random baseline (its map re-generated here from the documented splitmix64 rule);
 - the summary: Average Drop, Increase in Confidence, mean AUCs;
 - ROAD (Rong et al. 2022): the noisy linear imputation solved again here as a sparse
   linear system (scipy.sparse.linalg.spsolve, as the paper's code does, not the CLI's banded
   Cholesky), with the CLI's documented seeded noise re-generated here (numpy splitmix64 and
   Box-Muller), so the per-image MoRF/LeRF scores are compared with the noise on; the
   summary ROAD scores and curves are their means.
Then the other data set layouts (uncompressed IDX and CIFAR files, the official
cifar-10-batches-bin folder, a folder per class of PNG files) give the same predictions.
Needs the data sets ($CAM_DATA_DIR, else $CAM_DATA_DIR_DEFAULT); exits 77 without them.
"""
import gzip
import json
import os
import struct
import sys

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as T  # noqa: E402

data = None
for cand in (os.environ.get("CAM_DATA_DIR"), os.environ.get("CAM_DATA_DIR_DEFAULT")):
    if cand and os.path.isdir(os.path.join(cand, "fashion-mnist")) and \
            os.path.isdir(os.path.join(cand, "cifar-10")):
        data = cand
        break
if data is None:
    T.skip("no data sets: neither $CAM_DATA_DIR nor $CAM_DATA_DIR_DEFAULT has fashion-mnist/ "
           "and cifar-10/")

import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import camref  # noqa: E402
import datasets  # noqa: E402
import networks  # noqa: E402

torch.set_num_threads(1)
M64 = (1 << 64) - 1


def splitmix_map(seed, index, n):
    state = (seed + (index + 1) * 0x9E3779B97F4A7C15) & M64
    out = np.empty(n, dtype=np.float32)
    for p in range(n):
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z = z ^ (z >> 31)
        out[p] = np.float32(z >> 40) * np.float32(1.0 / 16777216.0)
    return out


# three of the default nine removed shares keep the test cheap (the default list is checked
# in method_lists)
ROAD_PERCENTILES = (10, 50, 90)
ROAD_NOISE = 0.01
U = np.uint64


def splitmix_stream(state, n):
    # the n draws after `state`, vectorised (numpy uint64 arithmetic wraps modulo 2^64)
    with np.errstate(over="ignore"):
        s = U(state) + np.arange(1, n + 1, dtype=U) * U(0x9E3779B97F4A7C15)
        z = (s ^ (s >> U(30))) * U(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> U(27))) * U(0x94D049BB133111EB)
        return z ^ (z >> U(31))


def road_noise(seed, index, o, q, count):
    state = (seed + (index + 1) * 0x9E3779B97F4A7C15 + (2 * q + o + 1) * 0xD1B54A32D192ED03) & M64
    d = splitmix_stream(state, 2 * count)
    u1 = ((d[0::2] >> U(11)).astype(np.float64) + 1.0) * 2.0 ** -53
    u2 = (d[1::2] >> U(11)).astype(np.float64) * 2.0 ** -53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def road_impute(img, removed, sigma, noise_state):
    # the paper's system: each removed pixel = weighted mean of its neighbours inside the
    # image (1/6 direct, 1/12 diagonal), removed neighbours unknown too
    C, H, W = img.shape
    flat = img.reshape(C, -1).astype(np.float64)
    rem = removed.reshape(-1)
    idx = np.flatnonzero(rem)
    n = len(idx)
    var = np.full(H * W, -1)
    var[idx] = np.arange(n)
    ys, xs = idx // W, idx % W
    rows, cols, vals = [np.arange(n)], [np.arange(n)], []
    diag = np.zeros(n)
    b = np.zeros((n, C))
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            w = 1.0 / 12 if dy and dx else 1.0 / 6
            yy, xx = ys + dy, xs + dx
            inside = (yy >= 0) & (yy < H) & (xx >= 0) & (xx < W)
            q = np.where(inside, yy * W + xx, 0)
            diag += w * inside
            known = inside & ~rem[q]
            b[known] += w * flat[:, q[known]].T
            unknown = inside & rem[q]
            rows.append(np.arange(n)[unknown])
            cols.append(var[q[unknown]])
            vals.append(np.full(int(unknown.sum()), -w))
    A = scipy.sparse.csc_matrix((np.concatenate([diag] + vals),
                                 (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    x = scipy.sparse.linalg.spsolve(A, b).reshape(n, C)
    if sigma > 0:
        x = x + sigma * noise_state.reshape(n, C)
    out = flat.copy()
    out[:, idx] = x.T
    return out.reshape(C, H, W).astype(np.float32)


def road_scores(ref, x, e, cls, seed, index):
    # mean probability of cls over the percentiles, most- and least-relevant-first
    C, H, W = x.shape
    P = H * W
    q = np.floor(e.reshape(-1).astype(np.float64) * 65536.0 + 0.5)
    order = np.argsort(-q, kind="stable")
    imgs = []
    for o in (0, 1):
        for qi, pct in enumerate(ROAD_PERCENTILES):
            nq = (2 * pct * P + 100) // 200
            removed = np.zeros(P, bool)
            removed[order[:nq] if o == 0 else order[P - nq:]] = True
            noise = road_noise(seed, index, o, qi, nq * C)
            imgs.append(road_impute(x, removed.reshape(H, W), ROAD_NOISE, noise))
    p = ref.probs(np.stack(imgs))[:, cls]
    n = len(ROAD_PERCENTILES)
    return float(p[:n].mean()), float(p[n:].mean()), p


class Reference:
    def __init__(self, name, model):
        self.net = camref.load_onnx_weights(networks.build(name), onnx.load(model)).eval()
        self.name = name

    def probs(self, x):
        with torch.no_grad():
            return torch.softmax(self.net(torch.from_numpy(x)), dim=1).numpy()

    def map(self, x, method, cls, layer):
        h, acts = torch.from_numpy(x[None]), None
        for n, m in self.net.named_children():
            h = m(h)
            if n == layer + "_relu":
                acts = h
                acts.retain_grad()
        if method == "cam":
            w = self.net.dense.weight.detach()[cls]
            return (w[:, None, None] * acts[0].detach()).sum(0)
        score = h[0, cls] if method == "grad-cam" else torch.softmax(h, dim=1)[0, cls]
        score.backward()
        alpha = acts.grad[0].mean(dim=(1, 2))
        cam = (alpha[:, None, None] * acts[0].detach()).sum(0)
        return torch.relu(cam) if method == "grad-cam" else 1 + cam


def normalised(raw, H, W, relu):
    e = F.interpolate(raw[None, None].float(), size=(H, W), mode="bilinear",
                      align_corners=False)[0, 0]
    if relu:
        e = torch.relu(e)
    lo, hi = e.min(), e.max()
    return ((e - lo) / (hi - lo)).numpy() if hi > lo else np.zeros((H, W), np.float32)


def curves(ref, x, e, cls, K):
    C, H, W = x.shape
    P = H * W
    q = np.floor(e.reshape(-1).astype(np.float64) * 65536.0 + 0.5)
    order = np.argsort(-q, kind="stable")
    dele, ins = [], []
    for k in range(K + 1):
        nk = (2 * k * P + K) // (2 * K)
        d = x.reshape(C, P).copy()
        d[:, order[:nk]] = 0
        i = np.zeros_like(d)
        i[:, order[:nk]] = x.reshape(C, P)[:, order[:nk]]
        dele.append(d.reshape(C, H, W))
        ins.append(i.reshape(C, H, W))
    pd = ref.probs(np.stack(dele))[:, cls]
    pi = ref.probs(np.stack(ins))[:, cls]
    auc = lambda p: float(sum((p[k] + p[k + 1]) / 2 for k in range(K)) / K)  # noqa: E731
    return auc(pd), auc(pi)


def evaluate_slice(name, folder, offset, count, steps, seed, jobs):
    model, trained = T.model_path(name)
    print(f"{name}: {model} ({'trained' if trained else 'random weights'}), images "
          f"{offset}..{offset + count - 1}, {steps} steps")
    d = T.workdir("evaluate")
    j = os.path.join(d, name + ".json")
    rc, so, se = T.run(["--evaluate", os.path.join(data, folder), "-m", model, "--offset",
                        str(offset), "--limit", str(count), "--steps", str(steps), "--seed",
                        str(seed), "--per-image", "--json", j, "--jobs", str(jobs),
                        "--road-percentiles", ",".join(map(str, ROAD_PERCENTILES))])
    T.check(rc == 0, f"{name}: exit {rc}: {se}")
    print(so)
    with open(j) as f:
        doc = json.load(f)
    T.check(doc["format"] == "cam-heatmap-evaluate" and doc["version"] == 1, "format/version")
    T.check(doc["dataset"]["images"] == count and doc["dataset"]["evaluated"] == count,
            f"{name}: {doc['dataset']}")

    images, labels, _ = datasets.load(name, data, "test")
    x = images[offset:offset + count].astype(np.float32) / np.float32(255.0)
    y = labels[offset:offset + count]
    ref = Reference(name, model)
    probs = ref.probs(x)
    pred = probs.argmax(axis=1)
    srt = np.sort(probs, axis=1)
    near_tie = (srt[:, -1] - srt[:, -2]) < 1e-5
    per = doc["per_image"]
    T.check([p["index"] for p in per] == list(range(offset, offset + count)), "per_image indices")
    cli_pred = np.array([p["predicted"] for p in per])
    T.check(np.array_equal(np.array([p["label"] for p in per]), y), f"{name}: labels differ")
    bad = np.nonzero((cli_pred != pred) & ~near_tie)[0]
    T.check(len(bad) == 0, f"{name}: predictions differ from PyTorch at {bad[:10]}")
    cli_prob = np.array([p["probability"] for p in per])
    T.check(np.abs(cli_prob - probs[np.arange(count), cli_pred]).max() <= 1e-5,
            f"{name}: probabilities differ from PyTorch")
    nc = probs.shape[1]
    conf = np.zeros((nc, nc), int)
    for t, p in zip(y, cli_pred if len(bad) == 0 else pred):
        conf[t, p] += 1
    T.check(doc["confusion_matrix"] == conf.tolist(), f"{name}: confusion matrix")
    T.check(doc["correct"] == int(np.trace(conf)), f"{name}: correct {doc['correct']}")
    T.check(abs(doc["accuracy"] - np.trace(conf) / count) < 1e-9, f"{name}: accuracy")
    for c, cl in enumerate(doc["classes"]):
        n_c = int(conf[c].sum())
        T.check(cl["images"] == n_c and cl["correct"] == int(conf[c, c]), f"{name}: class {c}")
        if n_c:
            T.check(abs(cl["accuracy"] - conf[c, c] / n_c) < 1e-9, f"{name}: class {c} accuracy")
    if not trained:
        print(f"  (random weights: accuracy {np.trace(conf) / count:.3f} is not meaningful)")

    # faithfulness
    T.check(doc["faithfulness"]["road"] == {"imputation": "noisy-linear", "noise": ROAD_NOISE,
                                            "percentiles": list(ROAD_PERCENTILES)},
            f"{name}: ROAD settings {doc['faithfulness']['road']}")
    methods = doc["faithfulness"]["methods"]
    names = [m["method"] for m in methods]
    expect = (["cam"] if name == "fashion-mnist" else []) + ["grad-cam", "grad-cam-tutorial",
                                                              "random"]
    T.check(names == expect, f"{name}: methods {names}, expected {expect}")
    C, H, W = x.shape[1:]
    for mi, m in enumerate(methods):
        meth = m["method"]
        drops, incs, dels, inss, roads, rcurves = [], [], [], [], [], []
        worst = [0.0, 0.0, 0.0, 0.0]
        for i in range(count):
            if near_tie[i]:
                continue
            c = int(pred[i])
            if meth == "random":
                e = splitmix_map(seed, offset + i, H * W).reshape(H, W)
            else:
                raw = ref.map(x[i], meth, c, m["layer"])
                e = normalised(raw.detach(), H, W, meth == "grad-cam-tutorial")
            o = float(ref.probs((x[i] * e[None])[None])[0, c])
            dl, il = curves(ref, x[i], e, c, steps)
            morf, lerf, rcurve = road_scores(ref, x[i], e, c, seed, offset + i)
            roads.append((morf, lerf))
            rcurves.append(rcurve)
            yv = float(probs[i, c])
            drops.append(max(0.0, yv - o) / yv)
            incs.append(1.0 if o > yv else 0.0)
            dels.append(dl)
            inss.append(il)
            got = per[i]["methods"][meth]
            worst[0] = max(worst[0], abs(got["masked_probability"] - o))
            worst[1] = max(worst[1], abs(got["deletion_auc"] - dl))
            worst[2] = max(worst[2], abs(got["insertion_auc"] - il))
            worst[3] = max(worst[3], abs(got["road_morf"] - morf), abs(got["road_lerf"] - lerf))
        tol = 1e-4 if meth == "random" else 2e-3
        T.check(worst[0] <= tol and worst[1] <= tol * 5 and worst[2] <= tol * 5 and
                worst[3] <= tol * 5,
                f"{name} {meth}: per-image differences from PyTorch {worst} (tolerance {tol})")
        summary = (np.mean(drops), np.mean(incs), np.mean(dels), np.mean(inss))
        got = (m["average_drop"], m["increase_in_confidence"], m["deletion_auc"],
               m["insertion_auc"])
        diff = max(abs(a - b) for a, b in zip(summary, got))
        T.check(diff <= (1e-4 if meth == "random" else 5e-3) + (1.0 / count) * (got[1] != summary[1]),
                f"{name} {meth}: summary {got} vs PyTorch {summary}")
        T.check(m["images"] == count, f"{name} {meth}: {m['images']} images")
        rmean = np.mean(roads, axis=0)
        rcurve = np.mean(rcurves, axis=0)
        n_road = len(ROAD_PERCENTILES)
        rdiff = max(abs(m["road_morf"] - rmean[0]), abs(m["road_lerf"] - rmean[1]),
                    np.abs(np.array(m["road_morf_curve"]) - rcurve[:n_road]).max(),
                    np.abs(np.array(m["road_lerf_curve"]) - rcurve[n_road:]).max())
        T.check(rdiff <= (1e-4 if meth == "random" else 5e-3),
                f"{name} {meth}: ROAD {m['road_morf']}, {m['road_lerf']} vs PyTorch {rmean} "
                f"(curves differ by up to {rdiff})")
        print(f"  {meth:18s} drop {summary[0]:.4f} inc {summary[1]:.3f} del {summary[2]:.4f} "
              f"ins {summary[3]:.4f} ROAD MoRF {rmean[0]:.4f} LeRF {rmean[1]:.4f}; worst "
              f"per-image difference {max(worst):.2e}")
    return model, doc, images, labels


def same_predictions(tag, doc, ref_doc):
    n = len(doc["per_image"])
    ref_doc = dict(ref_doc, per_image=ref_doc["per_image"][:n])
    a = [(p["label"], p["predicted"]) for p in doc["per_image"]]
    b = [(p["label"], p["predicted"]) for p in ref_doc["per_image"]]
    T.check(a == b, f"{tag}: labels/predictions differ from the gzipped official files")
    pa = np.array([p["probability"] for p in doc["per_image"]])
    pb = np.array([p["probability"] for p in ref_doc["per_image"]])
    T.check(np.abs(pa - pb).max() <= 1e-5, f"{tag}: probabilities differ")


def layouts(name, model, images, labels, ref_doc, count):
    from PIL import Image
    d = T.workdir("layouts")
    base = ["-m", model, "--limit", str(count), "--no-faithfulness", "--per-image", "-q"]
    runs = []
    if name == "fashion-mnist":
        imgs = os.path.join(d, "t10k-images-idx3-ubyte")
        with open(imgs, "wb") as f:
            f.write(struct.pack(">IIII", 0x803, count, 28, 28) + images[:count, 0].tobytes())
        with open(os.path.join(d, "t10k-labels-idx1-ubyte"), "wb") as f:
            f.write(struct.pack(">II", 0x801, count) + labels[:count].astype(np.uint8).tobytes())
        runs.append(("uncompressed IDX file", imgs))
        runs.append(("folder of IDX files", d))
    else:
        rec = np.concatenate([labels[:count, None].astype(np.uint8),
                              images[:count].reshape(count, -1)], axis=1)
        inner = os.path.join(d, "cifar-10-batches-bin")
        os.makedirs(inner)
        with open(os.path.join(inner, "test_batch.bin"), "wb") as f:
            f.write(rec.tobytes())
        with gzip.open(os.path.join(d, "batch.bin.gz"), "wb") as f:
            f.write(rec.tobytes())
        runs.append(("official cifar-10-batches-bin folder", d))
        runs.append(("gzipped .bin file", os.path.join(d, "batch.bin.gz")))
    classes = os.path.join(d, "by-class")
    labels_text = networks.build(name).labels
    for i in range(count):
        # folder names: the canonical label (with '/' replaced, it cannot be a file name), or
        # the class index
        lab = labels_text[labels[i]]
        sub = os.path.join(classes, str(int(labels[i])) if "/" in lab else lab)
        os.makedirs(sub, exist_ok=True)
        px = images[i].transpose(1, 2, 0)
        Image.fromarray(px[:, :, 0] if px.shape[2] == 1 else px).save(
            os.path.join(sub, f"{i:05d}.png"))
    runs.append(("folder per class", classes))
    for tag, path in runs:
        j = os.path.join(d, "r.json")
        extra = ["--invert", "off"] if tag == "folder per class" else []
        rc, so, se = T.run(["--evaluate", path, "--json", j] + base + extra)
        T.check(rc == 0, f"{name} {tag}: exit {rc}: {se}")
        if rc != 0:
            continue
        with open(j) as f:
            doc = json.load(f)
        if tag == "folder per class":
            # files are read in class-folder order: compare as a multiset keyed by file name
            order = sorted(range(count), key=lambda i: (
                str(int(labels[i])) if "/" in labels_text[labels[i]] else labels_text[labels[i]],
                f"{i:05d}.png"))
            ref_doc = dict(ref_doc, per_image=[ref_doc["per_image"][i] for i in order])
        else:
            ref_doc = dict(ref_doc, per_image=ref_doc["per_image"][:count])
        same_predictions(f"{name} {tag}", doc, ref_doc)
        print(f"  {tag}: same predictions")


def method_lists(model, folder):
    # --method all / a list: a row per method (and random), each timed; bad lists refused
    d = T.workdir("methods")
    j = os.path.join(d, "all.json")
    rc, so, se = T.run(["--evaluate", os.path.join(data, folder), "-m", model, "--limit", "2",
                        "--steps", "2", "--road-percentiles", "50", "--method", "all",
                        "--json", j, "-q"])
    T.check(rc == 0, f"--method all: exit {rc}: {se}")
    if rc == 0:
        with open(j) as f:
            got = [m["method"] for m in json.load(f)["faithfulness"]["methods"]]
        T.check(got[-1] == "random" and len(got) == len(set(got)) and len(got) >= 18,
                f"--method all gave {got}")
        print(f"  --method all: {len(got)} rows ({', '.join(got)})")
    j = os.path.join(d, "list.json")
    rc, so, se = T.run(["--evaluate", os.path.join(data, folder), "-m", model, "--limit", "2",
                        "--steps", "2", "--method", "layer-cam,grad-cam", "--layers",
                        "conv2d_1,conv2d_3", "--json", j, "-q"])
    T.check(rc == 0, f"--method list: exit {rc}: {se}")
    if rc == 0:
        with open(j) as f:
            doc = json.load(f)
        got = [m["method"] for m in doc["faithfulness"]["methods"]]
        T.check(got == ["layer-cam", "grad-cam", "random"], f"--method list gave {got}")
        layers = [m["layer"] for m in doc["faithfulness"]["methods"]]
        T.check(layers == ["conv2d_1,conv2d_3", "conv2d_1,conv2d_3", None],
                f"--layers recorded as {layers}")
        T.check(doc["faithfulness"]["road"] == {"imputation": "noisy-linear", "noise": 0.01,
                                                "percentiles": list(range(10, 100, 10))},
                f"default ROAD settings: {doc['faithfulness']['road']}")
        T.check(all(m["map_cpu_ms"] >= 0 for m in doc["faithfulness"]["methods"]), "map_cpu_ms")
    for bad in (["--method", "grad-cam,nope"], ["--method", "grad-cam,grad-cam"],
                ["--road-percentiles", "0"], ["--road-percentiles", "50,40"],
                ["--road-noise", "-1"]):
        rc, so, se = T.run(["--evaluate", os.path.join(data, folder), "-m", model, "--limit",
                            "1", "-q"] + bad)
        T.check(rc == 2 and se.strip(), f"{bad}: exit {rc}, stderr {se!r}")


for name, folder, offset, count, steps, jobs in (
        ("fashion-mnist", "fashion-mnist", 0, 200, 16, 2),
        ("cifar10", "cifar-10", 100, 40, 8, 2)):
    model, doc, images, labels = evaluate_slice(name, folder, offset, count, steps, seed=7,
                                                jobs=jobs)
    if name == "fashion-mnist":
        method_lists(model, folder)
    # the layouts test compares with the first `n` images of the same run: use offset 0
    if offset == 0:
        layouts(name, model, images, labels, doc, 50)
    else:
        d = T.workdir("layouts")
        j = os.path.join(d, "ref.json")
        rc, so, se = T.run(["--evaluate", os.path.join(data, folder), "-m", model, "--limit", "50",
                            "--no-faithfulness", "--per-image", "--json", j, "-q"])
        T.check(rc == 0, f"{name}: exit {rc}: {se}")
        with open(j) as f:
            layouts(name, model, images, labels, json.load(f), 50)

T.finish()
