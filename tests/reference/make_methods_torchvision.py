#!/usr/bin/env python3
"""Every explanation method on torchvision ResNet-18, MobileNet V2 and DenseNet-121,
against the formulas of make_methods.py (PyTorch autograd, float64).

    python3 tests/reference/make_methods_torchvision.py OUTDIR

Each model (torchvision 0.21, 10 classes, 96x96 input, seeded random weights with
non-trivial BatchNorm statistics: tests/models/export_models.py's randomize()) is exported
with a second graph output, "activation": the last feature map (ResNet-18: layer4;
MobileNet V2: features, after its ReLU6; DenseNet-121: ReLU(features)), so the engine
explains exactly the tensor the reference differentiates (the engine reads the first
output as the logits and ignores the second). Only a global average pool and the linear
classifier follow that tensor: no ReLU or MaxPool whose float32 rounding could route a
gradient otherwise. Records as make_methods.py writes them (OUTDIR/<model>.camref and
OUTDIR/manifest.txt for test-reference): the input, probabilities, logits and the maps of
the top class for every method and for Grad-CAM with eigen_smooth, the probability as
score and aug_smooth. FullGrad differentiates the whole network (hooks on every Conv2d,
BatchNorm2d, ReLU, ReLU6 and MaxPool2d; its map is the input's); every network has units
near a ReLU / ReLU6 kink or a MaxPool tie for its input (MobileNet V2's deep layers have
float32 errors of several 1e-6 of their tensors' scale, and PyTorch's own float32 forward
routes one of them otherwise), so the map is kept as float64 routes it, with the
near-kink units (make_methods.routing_records; the ONNX tensors are the inputs of the
graph's Relu / Clip and MaxPool nodes, in the order of the module's calls) and the
weights (OUTDIR/<model>.camref.net.pt, for make_methods.py --reroute): test-reference.c
compares it where the engine's float32 forward routes every one of those units as the map
does, and after the map is recomputed with the engine's routing of them where it does
not (run-reference.sh; here MobileNet V2 has 2 such units, DenseNet-121 1).
"""
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import copy  # noqa: E402
import os  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import camref  # noqa: E402,F401  (sets up the weights/ path)
import export_models as EM  # noqa: E402
import make_methods as MM  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402
from torch import nn  # noqa: E402

SIZE = 96
CLASSES = 10


class Tapped(nn.Module):
    """A torchvision classifier returning (logits, the last feature map)."""

    def __init__(self, name, model):
        super().__init__()
        self.name = name
        self.model = model
        self.relu = nn.ReLU()  # DenseNet-121's ReLU(features), a module so hooks see it

    def features(self, x):
        m = self.model
        if self.name == "resnet18":
            x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
            return m.layer4(m.layer3(m.layer2(m.layer1(x))))
        if self.name == "mobilenet_v2":
            return m.features(x)
        return self.relu(m.features(x))  # densenet121

    def head(self, a):
        m = self.model
        pooled = torch.flatten(F.adaptive_avg_pool2d(a, (1, 1)), 1)
        return m.fc(pooled) if self.name == "resnet18" else m.classifier(pooled)

    def forward(self, x):
        a = self.features(x)
        return self.head(a), a

    def tapped_outputs(self, x):
        """make_methods.forward_case's list: [the feature map, the logits]."""
        a = self.features(x)
        return [a, self.head(a)]


PLAN = [(m, ()) for m in ("grad-cam", "hires-cam", "grad-cam++", "xgrad-cam",
                          "grad-cam-elementwise", "layer-cam", "eigen-cam", "eigen-grad-cam",
                          "kpca-cam", "finer-cam", "smooth-grad-cam++", "random")]
PLAN += [("grad-cam", ("eigen-smooth",)), ("grad-cam", ("probability",)),
         ("grad-cam", ("aug-smooth",)), ("layer-cam", ("aug-smooth",)),
         ("grad-cam", ("aug-smooth-brightness",)), ("fullgrad", ())]


def tapped_model(name):
    """The torchvision model, untrained, in its Tapped wrapper."""
    return Tapped(name, getattr(torchvision.models, name)(weights=None, num_classes=CLASSES))


def make_model(name, seed, outdir):
    tapped = tapped_model(name)
    EM.randomize(tapped.model, seed, SIZE)
    tapped.eval()
    path = os.path.join(outdir, name + ".onnx")
    x = EM.test_input(seed, (1, 3, SIZE, SIZE))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(tapped, (torch.from_numpy(x),), path, dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["logits", "activation"])
    return tapped, path, x[0]


def relu_pool_names(path):
    """The ONNX tensor names of the inputs of every Relu / Clip (ReLU6) and MaxPool node,
    in graph order: the order of the PyTorch module's calls (the export traces them)."""
    import onnx
    graph = onnx.load(path).graph
    relu = [n.input[0] for n in graph.node if n.op_type in ("Relu", "Clip")]
    pool = [n.input[0] for n in graph.node if n.op_type == "MaxPool"]
    return relu, pool


def make_case(name, seed, outdir):
    tapped, path, x = make_model(name, seed, outdir)
    netd = copy.deepcopy(tapped).double().eval()
    for p in netd.parameters():
        p.requires_grad_(False)
    o = MM.forward_case(netd, x)
    logits = o[-1][0].detach()
    probs = torch.softmax(logits, dim=0).numpy()
    cls = int(np.argmax(probs))
    records = [("input", "", 0, -1, x), ("probs", "", 0, -1, probs.astype(np.float32)),
               ("logits", "", 0, -1, logits.numpy().astype(np.float32))]
    n_maps, skipped = 0, []
    for method, opts in PLAN:
        score = "probability" if "probability" in opts else "logit"
        eigen = "eigen-smooth" in opts
        kind = "@".join([method] + list(opts))
        if "aug-smooth" in opts or "aug-smooth-brightness" in opts:
            m, ok = MM.aug_map(method, netd, x, [0], cls, score, eigen, 0,
                               "scales" if "aug-smooth" in opts else "brightness")
        elif method == "fullgrad":  # test-reference checks float64's routing in the engine
            m, ok = MM.full_grad_map(netd, x, cls, score, routed=True)
        else:
            m, ok = MM.method_map(method, netd, x, 0, cls, score, eigen, 0)
        m = m.detach().numpy()
        if not ok or not camref.nontrivial(m):
            skipped.append(kind)
            continue
        # FullGrad: the map is the input's, whatever layer is named
        records.append((kind, "input" if method == "fullgrad" else "activation", 0, cls, m))
        n_maps += 1
    ref = os.path.join(outdir, name + ".camref")
    if any(r[0] == "fullgrad" for r in records):
        names = relu_pool_names(path)
        kinks, summary = MM.routing_records(netd, x, *names, 0)
        records += kinks
        print(f"{name}: FullGrad's routing: {summary}")
        MM.save_net(ref + ".net.pt", ("torchvision", name), tapped)
        MM.with_names(ref + ".net.pt", *names)
    camref.write_records(ref, records)
    print(f"{name}: {SIZE}x{SIZE}, class {cls}, activation {tuple(o[0].shape[1:])}, {n_maps} maps"
          + (f"; not defined here: {', '.join(skipped)}" if skipped else "") + f" -> {ref}")
    return f"{os.path.abspath(path)} {os.path.abspath(ref)} {name}\n"


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    # Exporting and differentiating DenseNet-121 in float64 takes most of a minute: the
    # references are kept while the scripts and the torch versions are the same (the
    # engine is compared with them on every run).
    if camref.references_kept(outdir, EM.__file__):
        return
    camref.forget_references(outdir)
    torch.manual_seed(0)
    lines = [make_case(name, seed, outdir)
             for name, seed in (("resnet18", 11), ("mobilenet_v2", 12), ("densenet121", 13))]
    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.writelines(lines)
    camref.keep_references(outdir, EM.__file__)


if __name__ == "__main__":
    main()
