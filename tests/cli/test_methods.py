"""cam-heatmap's method options (issue 13): --method takes every method the engine
lists, --target-score, --eigen-smooth, --aug-smooth (and --aug-smooth-mode) and --layers
reach the engine and are recorded in the JSON, and the maps equal the PyTorch formulas of
tests/reference/make_methods.py (float64 autograd on the ONNX file's weights) within 1e-4
of the map's largest magnitude, on a 32x32 image (no resampling) with the cifar10 model.

 - --help lists every method with its summary (names from the engine, cam_method_name);
 - --method fullgrad ignores --layer: its map is the input's, named after the input tensor;
 - bad values (--target-score nope, --aug-smooth-mode nope, an unknown layer in --layers,
   --layer with --layers) are usage errors (exit 2) naming the option.
"""
import copy
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as T  # noqa: E402

import camref  # noqa: E402
import make_methods as MM  # noqa: E402
import networks  # noqa: E402
import onnx  # noqa: E402

model, _ = T.model_path("cifar10")
d = T.workdir("methods")
img = T.test_image(13, 32, 32, 3)
path = os.path.join(d, "img.png")
T.write_png(path, img)
x = img.astype(np.float32).transpose(2, 0, 1) / np.float32(255.0)

proto = onnx.load(model)
net = camref.load_onnx_weights(networks.build("cifar10"), proto).eval()
netd = copy.deepcopy(net).double().eval()
mapping, _ = camref.onnx_tensor_names(net, proto)
index_of = {t: i for i, (_, _, t, _) in enumerate(mapping)}
keras_to_onnx = {lname[:-len("_relu")]: t for lname, _, t, _ in mapping if lname.endswith("_relu")}

# --help: every method, with its summary
rc, so, se = T.run(["--help"])
T.check(rc == 0, f"--help: exit {rc}")
for name in ("cam", "grad-cam", "grad-cam-tutorial", "hires-cam", "grad-cam++", "xgrad-cam",
             "grad-cam-elementwise", "layer-cam", "eigen-cam", "eigen-grad-cam", "kpca-cam",
             "finer-cam", "smooth-grad-cam++", "random", "score-cam", "ss-cam", "is-cam",
             "ablation-cam", "recipro-cam", "fullgrad"):
    T.check(f"\n  {name} " in so, f"--help does not list method {name}")
T.check("forward" in so and "Draelos" in so, "--help: the summaries are missing")

layer8, layer2 = keras_to_onnx["conv2d_8"], keras_to_onnx["conv2d_2"]
CASES = [  # (arguments, method, score, eigen, aug (None, "scales" or "brightness"), layers)
    (["--method", "hires-cam", "--target-score", "probability"], "hires-cam", "probability",
     False, None, [layer8]),
    (["--method", "layer-cam", "--eigen-smooth"], "layer-cam", "logit", True, None, [layer8]),
    (["--method", "grad-cam++", "--layers", f"{layer8},{layer2}"], "grad-cam++", "logit", False,
     None, [layer8, layer2]),
    (["--method", "eigen-cam", "--aug-smooth", "--layer", layer8], "eigen-cam", "logit", False,
     "scales", [layer8]),
    # --aug-smooth-mode implies --aug-smooth
    (["--method", "eigen-cam", "--aug-smooth-mode", "brightness", "--layer", layer8], "eigen-cam",
     "logit", False, "brightness", [layer8]),
    (["--method", "xgrad-cam", "--layer", layer2], "xgrad-cam", "logit", False, None, [layer2]),
    # FullGrad ignores the layer: its map is the input's (32x32), named after the input
    (["--method", "fullgrad", "--layer", layer2], "fullgrad", "logit", False, None,
     [proto.graph.input[0].name]),
]
# FullGrad's gradients cross every ReLU and MaxPool of the network, and on image 13 float32
# may route some of them otherwise than float64 (make_methods.full_grad_map): image 21
# has no value near a kink, so its map is defined to the tolerance
img21 = T.test_image(21, 32, 32, 3)
path21 = os.path.join(d, "img21.png")
T.write_png(path21, img21)
x21 = img21.astype(np.float32).transpose(2, 0, 1) / np.float32(255.0)
for args, method, score, eigen, aug, layers in CASES:
    fullgrad = method == "fullgrad"
    rc, so, se = T.run(["-m", model, "-q", "--json", "-"] + args + [path21 if fullgrad else path])
    T.check(rc == 0, f"{args}: exit {rc}: {se}")
    if rc != 0:
        continue
    doc = json.loads(so)
    s = doc["settings"]
    T.check(s["method"] == method and s["target_score"] == score and s["eigen_smooth"] == eigen
            and s["aug_smooth"] == (aug is not None) and s["aug_smooth_mode"] == aug,
            f"{args}: settings {s}")
    T.check(s["layers"] == (layers if "--layers" in args else None), f"{args}: layers {s['layers']}")
    im = doc["images"][0]
    T.check(im["method"] == method and im["layer"] == ",".join(layers),
            f"{args}: image records {im['method']} {im['layer']}")
    T.check(im["constant_map"] is False, f"{args}: constant map")
    cls = im["class"]["index"]
    lis = [index_of.get(t, 0) for t in layers]
    if fullgrad:
        want, ok = MM.full_grad_map(netd, x21, cls, score)
        T.check(ok, "fullgrad: the reference map of image 21 is not defined")
    elif aug:
        want, ok = MM.aug_map(method, netd, x, lis, cls, score, eigen, 0, aug)
    elif len(lis) > 1:
        want, ok = MM.fused_map(method, netd, x, lis, cls, score, eigen, 0)
    else:
        want, ok = MM.method_map(method, netd, x, lis[0], cls, score, eigen, 0)
    want = want.detach().numpy()
    got = np.array(im["map"]["values"], dtype=np.float64).reshape(im["map"]["height"],
                                                                  im["map"]["width"])
    if not ok:
        print(f"note: {args}: the reference map is not well defined here; values not compared (kink_free)")
        continue
    T.check(got.shape == want.shape, f"{args}: map {got.shape}, PyTorch {want.shape}")
    if got.shape == want.shape:
        err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)
        T.check(err <= 1e-4, f"{args}: map differs from PyTorch by {err:.3g} of its largest value")
        print(f"{' '.join(args)}: map error {err:.2e} of the largest value")

# usage errors
for args, what in ((["--target-score", "nope"], "--target-score"),
                   (["--aug-smooth-mode", "nope"], "--aug-smooth-mode"),
                   (["--layers", f"{layer8},nope"], "nope"),
                   (["--layers", f"{layer8},"], "--layers"),
                   (["--layer", layer8, "--layers", layer8], "--layers"),
                   (["--method", "nope"], "--method")):
    rc, so, se = T.run(["-m", model, "-q"] + args + [path])
    T.check(rc == 2 and what in se, f"{args}: exit {rc}, stderr {se!r}")

T.finish()
