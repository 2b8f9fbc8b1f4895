#!/usr/bin/env python3
"""Export torchvision classifiers and old-style "model zoo" files with their references.

    python3 tests/models/export_models.py [--full] [--manifest PATH] [OUTDIR] [ID...]

OUTDIR defaults to $CAM_BUILD_DIR/test-models, so that the tests of one build share one
export. IDs (see --list) restrict the run to some models. --full (or CAM_MODELS_FULL=1)
adds every family at its standard input size (224x224, Inception v3 at 299x299, vit_b_16).

Models (all with seeded random weights, see randomize()):
  torchvision 0.21, torch.onnx.export(dynamo=False), input 'input' with a dynamic batch,
  output 'logits': every classification family, at opset 17, and the cheap ones also at
  opset 11 (ViT at 14: its attention needs opset 13); at small inputs (the architecture's adaptive pooling allows it), VGG-11 and
  AlexNet with a narrower classifier (the standard one needs 224x224: their adaptive
  pooling to 7x7 / 6x6 cannot be exported from a smaller feature map), ViT as a small
  VisionTransformer ('vit_tiny': 64x64, 2 blocks, width 64; vit_b_16 in --full); one
  ResNet-18 exported with BatchNormalization kept (TrainingMode.PRESERVE: torch.onnx
  otherwise folds BatchNorm into the Conv before it).
  "Model zoo" style, built with onnx.helper: a Caffe-converter style net at opset 8
  (IR version 3, every initializer also a graph input, fixed batch 1, LRN, BatchNorm
  with 'spatial', Dropout, Gemm, Softmax) and a TensorFlow-converter style net at
  opset 9 (NHWC input with a symbolic batch followed by a Transpose, asymmetric
  'SAME' pads, LRN, ReduceMean over H,W, MatMul + Add), each with and without a final
  Softmax. Their maps come from a PyTorch re-implementation of the graph (run_graph()).

For each model, with one fixed seeded input (N(0,1) values; written as raw float32 in
the layout the engine takes, C x H x W, also for the NHWC model), it writes into OUTDIR:
  <id>.onnx, <id>.input.f32
  <id>.probs.f32, <id>.logits.f32   ONNX Runtime 1.21: the logits (float32) and their
                                    softmax (computed in float64); for a graph that ends
                                    with a Softmax, its output and the Softmax's input
  <id>.<method>-<role>.f32          maps at feature resolution (float64 PyTorch autograd,
                                    stored as float32): Grad-CAM (alpha_k = spatial mean
                                    of d logit_c / d A_k, map = ReLU(sum_k alpha_k A_k))
                                    at the automatic layer ('auto') and at one earlier
                                    layer ('early'), and CAM (sum_k W[c,k] A_k) at the
                                    automatic layer where the graph is conv -> global
                                    average pool -> (flatten) -> linear -> logits
  <id>.txt                          the manifest lines of the model (format below)
  <id>.stamp                        the script version the files were made with
and, for the models of this run, the manifest (default OUTDIR/manifest-default.txt, or
manifest-full.txt with --full). A model whose stamp matches this script (its text and the
torch, torchvision, onnx and onnxruntime versions) is not exported again; an exclusive
lock on OUTDIR/.lock lets several tests share the folder.

Which tensor (the layer of the map, recorded by its ONNX tensor name):
  auto   the issue's automatic layer: the last tensor that every path from the input
         to the logits passes through (a cut of the graph, shape-only subgraphs
         ignored), laid out N x C x H x W (made by Conv, pooling, LRN, BatchNorm, or by
         an element-wise op, Concat or Split from such a tensor; a Transpose's output is
         not), with H x W above 1x1 and a gradient that is not identically zero. ViT: the
         output of the last encoder block's first LayerNorm (1 x (1 + g*g) x C), whose
         class token is dropped and the rest laid out as g x g (pytorch-grad-cam's
         vit_reshape_transform).
  early  one of the four last such tensors whose H x W is larger than the automatic
         layer's (e.g. ResNet's layer3 output; where there is none, one of the four last
         at the automatic layer's size). ViT: the first LayerNorm of the middle encoder
         block (or of another one).
The tensor is found in the ONNX graph (ONNX Runtime with every intermediate output
exposed), then in the PyTorch module by value (torch.fx, every node of the traced
module); the PyTorch node is what autograd differentiates.

Conditioning. With random weights the gradients at an early layer largely cancel in
Grad-CAM's spatial mean, and a ReLU whose input lies within float32 noise of 0 may be
on either side in a float32 engine: one such element can move the map by 1e-3 of its
maximum. For each map the exporter measures its "spread", how far float32 arithmetic may
move it (PyTorch float32 runs, and float64 runs whose ReLUs switch side with the
probability that float32 noise gives them, see KinkActivation), and picks, among the
candidate layers (in the order above) and the top CLASSES_TRIED classes, the first map
whose spread is at most WELL_CONDITIONED (1e-5), else the one with the smallest spread.
The checker's tolerance for a map is max(1e-4, 3 x spread).

Manifest lines (whitespace separated; tensor names hold no spaces):
  model  ID ONNX INPUT COUNT N_CLASSES DYNAMIC_BATCH DESCRIPTION...
  probs  ID FILE ORT_ERROR
  logits ID FILE
  auto   ID TENSOR
  map    ID METHOD ROLE CLASS TENSOR H W FILE SPREAD
METHOD is grad-cam or cam; SPREAD is how far float32 arithmetic may move the map
(max |map - reference| / max |reference| over PyTorch float32 runs and over float64
runs whose ReLUs take either side near their kinks, see export_one): the error a
float32 engine can be expected to have. ORT_ERROR is the largest difference between
ONNX Runtime's probabilities and PyTorch's in float64.
"""
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import argparse  # noqa: E402
import copy  # noqa: E402
import fcntl  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
import zlib  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402

# oneDNN (mkldnn) dies with SIGFPE in the float32 backward of grouped convolutions on some
# AMD CPUs (seen on a Zen 5 EPYC with ResNeXt-50; pytorch/pytorch#177227 is the forward of
# the same bug); PyTorch's own kernels give the same references, only slower.
torch.backends.mkldnn.enabled = False
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from torch import nn  # noqa: E402
from torchvision.models.feature_extraction import (create_feature_extractor,  # noqa: E402
                                                   get_graph_node_names)

NONTRIVIAL = 1e-3  # a reference map must vary by more than this fraction of its magnitude
LOGIT_STD = 1.0    # the head is scaled so that the logits of the test input have this std
CLASSES_TRIED = 5  # classes (top first) tried for a well-conditioned map
WELL_CONDITIONED = 1e-5  # a map whose float32 runs all lie this close (relative) is preferred
SIGMA_FACTOR = 4   # a float32 engine's error taken as this many times PyTorch's (RMS) ...
KINK_RUNS = 6      # ... in these float64 backward passes with ReLUs flipped at random


def script_version():
    with open(os.path.abspath(__file__), "rb") as f:
        text = f.read()
    versions = f"{torch.__version__} {torchvision.__version__} {onnx.__version__} {ort.__version__}"
    return hashlib.sha256(text + versions.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------
# The models
# --------------------------------------------------------------------------------------

class Spec:
    def __init__(self, family, size, opsets, build=None, suffix="", full=False, keep_bn=False,
                 note="", zoo=None):
        self.family, self.size, self.opsets = family, size, opsets
        self.build = build or (lambda: getattr(torchvision.models, family)(weights=None))
        self.suffix, self.full, self.keep_bn, self.note, self.zoo = suffix, full, keep_bn, note, zoo

    def ids(self):
        return [(f"{self.family}{self.suffix}-op{o}", o) for o in self.opsets]


def vgg11_small():
    """torchvision's VGG-11 (its features unchanged) with the pooling and the classifier
    of a 64x64 input: AdaptiveAvgPool2d to the 2x2 feature map, classifier 512 wide."""
    m = torchvision.models.VGG(torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["A"]),
                               init_weights=True)
    m.avgpool = nn.AdaptiveAvgPool2d((2, 2))
    m.classifier = nn.Sequential(nn.Linear(512 * 2 * 2, 512), nn.ReLU(True), nn.Dropout(),
                                 nn.Linear(512, 512), nn.ReLU(True), nn.Dropout(),
                                 nn.Linear(512, 1000))
    return m


def alexnet_small():
    """torchvision's AlexNet (its features unchanged) for a 128x128 input: pooling to the
    3x3 feature map, classifier 512 wide."""
    m = torchvision.models.AlexNet()
    m.avgpool = nn.AdaptiveAvgPool2d((3, 3))
    m.classifier = nn.Sequential(nn.Dropout(), nn.Linear(256 * 3 * 3, 512), nn.ReLU(True),
                                 nn.Dropout(), nn.Linear(512, 512), nn.ReLU(True),
                                 nn.Linear(512, 1000))
    return m


def vit_tiny():
    return torchvision.models.VisionTransformer(image_size=64, patch_size=16, num_layers=2,
                                                num_heads=2, hidden_dim=64, mlp_dim=128)


def tv(name, **kw):
    return lambda: getattr(torchvision.models, name)(weights=None, **kw)


CHEAP = [11, 17]
SPECS = [
    Spec("resnet18", 96, CHEAP),
    Spec("resnet18", 96, [17], suffix="-bn", keep_bn=True,
         note="BatchNormalization kept (TrainingMode.PRESERVE)"),
    Spec("resnet50", 96, [17]),
    Spec("resnext50_32x4d", 96, [17]),
    Spec("wide_resnet50_2", 64, [17]),
    Spec("mobilenet_v2", 96, CHEAP),
    Spec("mobilenet_v3_small", 96, CHEAP),
    Spec("efficientnet_b0", 96, CHEAP),
    Spec("densenet121", 96, CHEAP),
    Spec("squeezenet1_1", 96, CHEAP),
    Spec("vgg11", 64, [17], build=vgg11_small, note="classifier 512 wide, pooled to 2x2"),
    Spec("alexnet", 128, [17], build=alexnet_small, note="classifier 512 wide, pooled to 3x3"),
    Spec("googlenet", 96, CHEAP, build=tv("googlenet", aux_logits=False, init_weights=False)),
    Spec("inception_v3", 139, [17], build=tv("inception_v3", aux_logits=False, init_weights=False)),
    Spec("shufflenet_v2_x0_5", 96, CHEAP),
    Spec("regnet_y_400mf", 96, CHEAP),
    Spec("mnasnet0_5", 96, CHEAP),
    Spec("convnext_tiny", 64, [17]),
    Spec("vit_tiny", 64, [14, 17], build=vit_tiny,
         note="VisionTransformer(image_size=64, patch_size=16, num_layers=2, num_heads=2, "
              "hidden_dim=64, mlp_dim=128)"),
    # the standard sizes (--full / CAM_MODELS_FULL=1)
    Spec("resnet50", 224, [17], suffix="-224", full=True),
    Spec("resnext50_32x4d", 224, [17], suffix="-224", full=True),
    Spec("wide_resnet50_2", 224, [17], suffix="-224", full=True),
    Spec("densenet121", 224, [17], suffix="-224", full=True),
    Spec("efficientnet_b0", 224, [17], suffix="-224", full=True),
    Spec("mobilenet_v3_small", 224, [17], suffix="-224", full=True),
    Spec("vgg11", 224, [17], suffix="-224", full=True),
    Spec("alexnet", 224, [17], suffix="-224", full=True),
    Spec("googlenet", 224, [17], suffix="-224", full=True,
         build=tv("googlenet", aux_logits=False, init_weights=False)),
    Spec("inception_v3", 299, [17], suffix="-299", full=True,
         build=tv("inception_v3", aux_logits=False, init_weights=False)),
    Spec("convnext_tiny", 224, [17], suffix="-224", full=True),
    Spec("vit_b_16", 224, [17], full=True),
    # old-style model zoo files
    Spec("zoo_caffe", 32, [8], zoo="caffe", note="Caffe-converter style, ends with Softmax"),
    Spec("zoo_caffe", 32, [8], suffix="-nosoftmax", zoo="caffe-nosoftmax",
         note="Caffe-converter style, no Softmax"),
    Spec("zoo_tf", 32, [9], zoo="tf", note="TensorFlow-converter style NHWC input, ends with Softmax"),
    Spec("zoo_tf", 32, [9], suffix="-nosoftmax", zoo="tf-nosoftmax",
         note="TensorFlow-converter style NHWC input, no Softmax"),
]


def model_seed(model_id):
    return int(hashlib.sha256(model_id.encode()).hexdigest()[:8], 16) % (2 ** 31)


# --------------------------------------------------------------------------------------
# Random weights
# --------------------------------------------------------------------------------------

def randomize(model, seed, size):
    """Seeded random weights that keep the activations of a random N(0,1) input at a
    reasonable scale, with no normalisation that is an identity:
      - every parameter that the constructor left all zero (ViT's head and class token,
        zero biases) gets N(0, 0.05) values; ConvNeXt's layer scale (1e-6) U(0.2, 0.6);
      - BatchNorm / LayerNorm affine weights U(0.5, 1.5), biases N(0, 0.1);
      - BatchNorm running statistics measured on two random batches in training mode,
        then perturbed: mean += N(0, 0.1) * std, var *= U(0.8, 1.25) (wider factors
        compound along depthwise chains: U(0.5, 1.5) grows EfficientNet-B0's activations
        to ~5e4, where float32 itself is off by 1e-2);
      - the classifier (the last Linear, or SqueezeNet's last Conv) scaled so that the
        logits of the test input have a standard deviation of LOGIT_STD."""
    g = torch.Generator().manual_seed(seed)
    norms = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_scale"):
                p.copy_(torch.empty(p.shape).uniform_(0.2, 0.6, generator=g))
            elif not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
        for m in model.modules():
            if isinstance(m, norms) and getattr(m, "weight", None) is not None:
                m.weight.copy_(torch.empty(m.weight.shape).uniform_(0.5, 1.5, generator=g))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
        bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if bns:
            for bn in bns:
                bn.reset_running_stats()
                bn.momentum = None  # cumulative average
            model.eval()  # BatchNorm alone in training mode (no dropout, no stochastic depth)
            for bn in bns:
                bn.train()
            for _ in range(2):
                model(torch.randn(4, 3, size, size, generator=g))
            for bn in bns:
                bn.momentum = 0.1
                std = bn.running_var.sqrt()
                bn.running_mean.add_(torch.randn(bn.running_mean.shape, generator=g) * 0.1 * std)
                bn.running_var.mul_(torch.empty(bn.running_var.shape).uniform_(0.8, 1.25, generator=g))
        model.eval()
        head = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
        x = test_input(seed, (1, 3, size, size))
        std = model(torch.from_numpy(x)).double().std().item()
        if std > 0:
            head.weight.mul_(LOGIT_STD / std)
            if head.bias is not None:
                head.bias.mul_(LOGIT_STD / std)
    return model


def test_input(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# --------------------------------------------------------------------------------------
# The ONNX graph: cuts, layouts, the CAM structure
# --------------------------------------------------------------------------------------

NCHW_MAKERS = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LRN",
               "BatchNormalization", "InstanceNormalization", "ConvTranspose"}
NCHW_KEEPERS = {"Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
                "Erf", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Max", "Min", "Concat", "Split",
                "Pad", "Identity", "Dropout", "Elu", "Selu", "Softplus", "Neg", "Abs"}


def graph_cuts(graph, input_name, logits_name, shapes):
    """The tensors every path from the input to the logits passes through, in graph
    order, and which tensors are laid out N x C x H x W (see the module docstring)."""
    nodes = list(graph.node)
    dep = {input_name}
    for n in nodes:  # data-dependent tensors (shape computations excluded)
        if n.op_type in ("Shape", "Size"):
            continue
        if any(i in dep for i in n.input if i):
            dep.update(o for o in n.output if o)
    rel = {logits_name}
    rel_nodes = []
    for n in reversed(nodes):  # data tensors on a path to the logits
        if any(o in rel for o in n.output):
            rel_nodes.append(n)
            rel.update(i for i in n.input if i in dep)
    rel_nodes.reverse()
    uses = {}
    for n in rel_nodes:
        for i in n.input:
            if i in rel:
                uses[i] = uses.get(i, 0) + 1
    live, cuts = {input_name}, [input_name]
    for n in rel_nodes:
        for i in n.input:
            if i in rel:
                uses[i] -= 1
                if uses[i] == 0:
                    live.discard(i)
        live.update(o for o in n.output if o in rel)
        if len(live) == 1:
            cuts.append(next(iter(live)))
    nchw = set()
    for n in nodes:
        for o in n.output:
            if len(shapes.get(o, ())) != 4:
                continue
            if n.op_type in NCHW_MAKERS or (
                    n.op_type in NCHW_KEEPERS and any(i in nchw for i in n.input)):
                nchw.add(o)
    return cuts, nchw


def consumers(graph, name):
    return [n for n in graph.node if name in n.input]


def initializer(graph, name):
    for t in graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    for n in graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            return numpy_helper.to_array(n.attribute[0].t)
    return None


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def cam_weight(graph, a_name, logits_name):
    """W (classes x K) when a_name -> global average pool -> (Flatten, Reshape, Squeeze,
    Dropout, Identity) -> Gemm or MatMul (+Add) -> logits, else None."""
    c = consumers(graph, a_name)
    if len(c) != 1:
        return None
    n = c[0]
    if n.op_type == "ReduceMean":
        if sorted(int(a) % 4 for a in attr(n, "axes", [])) != [2, 3]:
            return None
    elif n.op_type != "GlobalAveragePool":
        return None
    t = n.output[0]
    while True:
        c = consumers(graph, t)
        if len(c) != 1:
            return None
        n = c[0]
        if n.op_type in ("Flatten", "Reshape", "Squeeze", "Dropout", "Identity"):
            t = n.output[0]
            continue
        break
    if n.op_type == "Gemm":
        b = initializer(graph, n.input[1])
        if b is None or attr(n, "transA", 0):
            return None
        w = b if attr(n, "transB", 0) else b.T
        out = n.output[0]
    elif n.op_type == "MatMul":
        b = initializer(graph, n.input[1])
        if b is None:
            return None
        w = b.T
        out = n.output[0]
        c = consumers(graph, out)
        if len(c) == 1 and c[0].op_type == "Add":
            out = c[0].output[0]
    else:
        return None
    return w.astype(np.float64) if out == logits_name else None


def ort_session(model_bytes):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def ort_all_tensors(proto, input_name, x):
    """Every float tensor of the graph, computed by ONNX Runtime."""
    m = onnx.ModelProto()
    m.CopyFrom(proto)
    inferred = onnx.shape_inference.infer_shapes(m)
    types = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        types[vi.name] = vi.type.tensor_type.elem_type
    known = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in known and types.get(o) == TensorProto.FLOAT:
                m.graph.output.append(helper.make_tensor_value_info(o, TensorProto.FLOAT, None))
                known.add(o)
    sess = ort_session(m.SerializeToString())
    names = [o.name for o in sess.get_outputs()]
    values = sess.run(names, {input_name: x})
    return dict(zip(names, values))


# --------------------------------------------------------------------------------------
# Kinks: where a float32 engine may take the other side of a ReLU
# --------------------------------------------------------------------------------------
# A ReLU (ReLU6, Hardswish, Hardsigmoid) whose input lies within float32 noise of a kink
# may be on the other side in a float32 engine, and its gradient then differs by a finite
# amount: in a random network one such element can move Grad-CAM at an early layer by
# 1e-3 of the map's maximum. The references run every such activation through
# KinkActivation, whose backward can (KINK_FLIP) take the other side of the kink for each
# element with the probability that float32 noise puts it there: Phi(-|x - kink| / sigma),
# sigma = SIGMA_FACTOR x the RMS float32 error of that activation's input. The exporter
# compares maps made so with the ordinary one.

KIND_FUNCTIONS = {
    "relu": F.relu,
    "relu6": lambda x: F.hardtanh(x, 0.0, 6.0),
    "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid,
}
KINK_POINTS = {"relu": (0.0,), "relu6": (0.0, 6.0), "hardswish": (-3.0, 3.0), "hardsigmoid": (-3.0, 3.0)}
KINK_FLIP = {"seed": None, "sigma": {}}  # seed None: the ordinary gradient


def _derivative(fn, x):
    xx = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        g, = torch.autograd.grad(fn(xx).sum(), xx)
    return g


class KinkActivation(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kind, name):
        ctx.save_for_backward(x)
        ctx.kind, ctx.name = kind, name
        return KIND_FUNCTIONS[kind](x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        fn = KIND_FUNCTIONS[ctx.kind]
        d = _derivative(fn, x)
        sigma = KINK_FLIP["sigma"].get(ctx.name, 0.0)
        if KINK_FLIP["seed"] is not None and sigma > 0:
            g = torch.Generator().manual_seed(KINK_FLIP["seed"] * 1000003 + zlib.crc32(ctx.name.encode()))
            u = torch.rand(x.shape, generator=g, dtype=x.dtype)
            for k in KINK_POINTS[ctx.kind]:
                flip = u < torch.special.ndtr(-(x - k).abs() / sigma)
                if flip.any():
                    other = k - torch.sign(x - k) * 1e-3 * sigma
                    d = torch.where(flip, _derivative(fn, other), d)
        return gy * d, None, None


def kink_activation(x, kind, name):
    return KinkActivation.apply(x, kind, name)


def activation_kind(gm, node):
    """The KIND_FUNCTIONS key of an FX node, or None."""
    if node.op == "call_module":
        m = gm.get_submodule(node.target)
        if isinstance(m, nn.ReLU6):
            return "relu6"
        if isinstance(m, nn.Hardtanh) and m.min_val == 0.0 and m.max_val == 6.0:
            return "relu6"
        for cls, kind in ((nn.ReLU, "relu"), (nn.Hardswish, "hardswish"), (nn.Hardsigmoid, "hardsigmoid")):
            if isinstance(m, cls):
                return kind
    elif node.op == "call_function":
        return {F.relu: "relu", torch.relu: "relu", torch.relu_: "relu", F.relu6: "relu6",
                F.hardswish: "hardswish", F.hardsigmoid: "hardsigmoid"}.get(node.target)
    elif node.op == "call_method" and node.target in ("relu", "relu_"):
        return "relu"
    return None


# --------------------------------------------------------------------------------------
# The PyTorch side: every intermediate tensor, and the maps
# --------------------------------------------------------------------------------------

class TorchvisionSide:
    """Every node of the module traced with torch.fx, in float64 (or float32)."""

    def __init__(self, model, dtype):
        model = copy.deepcopy(model).to(dtype).eval()
        train_nodes, eval_nodes = get_graph_node_names(model)
        self.model = model
        self.fx = create_feature_extractor(model, train_return_nodes=[train_nodes[-1]],
                                           eval_return_nodes=eval_nodes).eval()
        self.dtype = dtype
        # every ReLU-like activation through KinkActivation (not in place, so that its
        # input node keeps the pre-activation values)
        self.act_inputs = {}
        graph = self.fx.graph
        for node in list(graph.nodes):
            kind = activation_kind(self.fx, node)
            if kind is None or not isinstance(node.args[0], torch.fx.Node):
                continue
            source, name = node.args[0], node.name
            with graph.inserting_after(node):
                new = graph.call_function(kink_activation, (source, kind, name))
            node.replace_all_uses_with(new)
            graph.erase_node(node)
            self.act_inputs[name] = source.name
        self.fx.recompile()
        output = [n for n in graph.nodes if n.op == "output"][0]
        key_of = {}
        for key, n in output.args[0].items():
            key_of.setdefault(n.name, key)
        self.act_inputs = {a: key_of[i] for a, i in self.act_inputs.items() if i in key_of}

    def run(self, x):
        """(logits, {node: tensor}) with autograd; x is a numpy float32 array."""
        xt = torch.from_numpy(x).to(self.dtype).requires_grad_(True)
        out = self.fx(xt)
        tensors = {k: v for k, v in out.items() if isinstance(v, torch.Tensor) and v.is_floating_point()}
        logits = list(tensors.values())[-1]
        return logits, tensors


class GraphSide:
    """A PyTorch re-implementation of the small zoo graphs: every ONNX tensor by name."""

    def __init__(self, proto, dtype):
        self.graph = proto.graph
        self.dtype = dtype
        self.consts = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()).to(dtype)
                       for t in proto.graph.initializer}
        self.logits_name = logits_of(proto)
        self.act_inputs = {n.output[0]: n.input[0] for n in proto.graph.node if n.op_type == "Relu"}

    def run(self, x):
        t = dict(self.consts)
        inp = [i.name for i in self.graph.input if i.name not in t][0]
        t[inp] = torch.from_numpy(x).to(self.dtype).requires_grad_(True)
        for n in self.graph.node:
            a = [t[i] if i else None for i in n.input]
            op = n.op_type
            if op == "Transpose":
                y = a[0].permute(*attr(n, "perm"))
            elif op == "Conv":
                pads = attr(n, "pads", [0, 0, 0, 0])
                xp = F.pad(a[0], (pads[1], pads[3], pads[0], pads[2]))
                y = F.conv2d(xp, a[1], a[2] if len(a) > 2 else None, stride=attr(n, "strides", [1, 1]),
                             dilation=attr(n, "dilations", [1, 1]), groups=attr(n, "group", 1))
            elif op == "Relu":
                y = kink_activation(a[0], "relu", n.output[0])
            elif op == "LRN":
                y = F.local_response_norm(a[0], attr(n, "size"), attr(n, "alpha", 1e-4),
                                          attr(n, "beta", 0.75), attr(n, "bias", 1.0))
            elif op in ("MaxPool", "AveragePool"):
                pads = attr(n, "pads", [0, 0, 0, 0])
                assert pads[:2] == pads[2:]
                k, s = attr(n, "kernel_shape"), attr(n, "strides", [1, 1])
                if op == "MaxPool":
                    y = F.max_pool2d(a[0], k, s, pads[:2])
                else:
                    y = F.avg_pool2d(a[0], k, s, pads[:2], count_include_pad=bool(attr(n, "count_include_pad", 0)))
            elif op == "BatchNormalization":
                y = F.batch_norm(a[0], a[3], a[4], a[1], a[2], False, 0.0, attr(n, "epsilon", 1e-5))
            elif op == "GlobalAveragePool":
                y = a[0].mean(dim=(2, 3), keepdim=True)
            elif op == "ReduceMean":
                y = a[0].mean(dim=tuple(attr(n, "axes")), keepdim=bool(attr(n, "keepdims", 1)))
            elif op == "Flatten":
                y = a[0].flatten(attr(n, "axis", 1))
            elif op in ("Dropout", "Identity"):
                y = a[0]
            elif op == "Gemm":
                b = a[1].T if attr(n, "transB", 0) else a[1]
                y = attr(n, "alpha", 1.0) * a[0] @ b + attr(n, "beta", 1.0) * a[2]
            elif op == "MatMul":
                y = a[0] @ a[1]
            elif op == "Add":
                y = a[0] + a[1]
            elif op == "Softmax":
                y = torch.softmax(a[0], dim=attr(n, "axis", 1))
            else:
                raise ValueError(f"GraphSide: op {op} not re-implemented")
            t[n.output[0]] = y
        return t[self.logits_name], t


def logits_of(proto):
    """The logits tensor: the graph output, or the input of a final Softmax."""
    out = proto.graph.output[0].name
    for n in proto.graph.node:
        if n.output[0] == out and n.op_type == "Softmax":
            return n.input[0]
    return out


def match(tensors, value):
    """The node whose tensor equals `value` (an ONNX Runtime float32 tensor); among equal
    ones (identity-like ops) the last. Returns (name, relative difference)."""
    best, best_d = None, None
    scale = max(float(np.abs(value).max()), 1e-30)
    ds = []
    for k, v in tensors.items():
        if tuple(v.shape) != tuple(value.shape):
            continue
        d = float(np.abs(v.detach().double().numpy() - value).max()) / scale
        ds.append((k, d))
        if best_d is None or d < best_d:
            best, best_d = k, d
    if best is None:
        return None, None
    for k, d in ds:  # the last of the (nearly) equal best ones
        if d <= best_d * (1 + 1e-6) + 1e-12:
            best = k
    return best, best_d


def token_grid(a):
    """(1, 1 + g*g, C) -> (C, g, g) without the class token (vit_reshape_transform)."""
    t = a[0, 1:, :]
    g = int(round(t.shape[0] ** 0.5))
    return t.reshape(g, g, t.shape[1]).permute(2, 0, 1)


def nontrivial(m):
    big = np.abs(m).max()
    return big > 0 and (m.max() - m.min()) > NONTRIVIAL * big


def gradcam_map(a, g, tokens):
    """ReLU(sum_k mean(g_k) A_k), in float64 (the engine sums over k in double)."""
    a, g = a.detach().double(), g.detach().double()
    if tokens:
        a3, g3 = token_grid(a), token_grid(g)
    else:
        a3, g3 = a[0], g[0]
    alpha = g3.mean(dim=(1, 2))
    return torch.relu(torch.einsum("k,khw->hw", alpha, a3)).numpy()


def cam_map(w_c, a):
    """sum_k W[c,k] A_k in float64."""
    return np.einsum("k,khw->hw", w_c, a[0].detach().double().numpy())


def grad_is_zero(logits, a, cls):
    g, = torch.autograd.grad(logits[0, cls], a, retain_graph=True)
    return not bool(g.any())


# --------------------------------------------------------------------------------------
# Zoo graphs (onnx.helper)
# --------------------------------------------------------------------------------------

def zoo_model(kind, rng):
    """A small old-style classifier (10 classes, 32x32x3 input)."""
    inits = []

    def const(name, shape, scale=None, positive=False):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        s = scale if scale is not None else (2.0 / fan_in) ** 0.5
        v = rng.uniform(0.5, 1.5, shape) if positive else rng.standard_normal(shape) * s
        inits.append(numpy_helper.from_array(v.astype(np.float32), name))
        return name

    def bn(name, c):
        return [const(name + "_scale", (c,), positive=True), const(name + "_bias", (c,), 0.1),
                const(name + "_mean", (c,), 0.1), const(name + "_var", (c,), positive=True)]

    nodes = []
    softmax = not kind.endswith("nosoftmax")
    if kind.startswith("caffe"):
        opset, ir = 8, 3
        x = helper.make_tensor_value_info("data_0", TensorProto.FLOAT, [1, 3, 32, 32])
        nodes += [
            helper.make_node("Conv", ["data_0", const("conv1_w_0", (16, 3, 5, 5)), const("conv1_b_0", (16,), 0.1)],
                             ["conv1_1"], kernel_shape=[5, 5], pads=[2, 2, 2, 2], strides=[1, 1]),
            helper.make_node("Relu", ["conv1_1"], ["conv1_2"]),
            helper.make_node("LRN", ["conv1_2"], ["norm1_1"], size=5, alpha=0.3, beta=0.75, bias=2.0),
            helper.make_node("MaxPool", ["norm1_1"], ["pool1_1"], kernel_shape=[3, 3], strides=[2, 2]),
            helper.make_node("Conv", ["pool1_1", const("conv2_w_0", (32, 16, 3, 3)), const("conv2_b_0", (32,), 0.1)],
                             ["conv2_1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization", ["conv2_1"] + bn("bn2", 32), ["bn2_1"],
                             epsilon=1e-5, spatial=1),
            helper.make_node("Relu", ["bn2_1"], ["conv2_2"]),
            helper.make_node("Conv", ["conv2_2", const("conv3_w_0", (32, 32, 3, 3)), const("conv3_b_0", (32,), 0.1)],
                             ["conv3_1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
            helper.make_node("Relu", ["conv3_1"], ["conv3_2"]),
            helper.make_node("GlobalAveragePool", ["conv3_2"], ["pool3_1"]),
            helper.make_node("Flatten", ["pool3_1"], ["flat_1"], axis=1),
            helper.make_node("Dropout", ["flat_1"], ["drop_1"], ratio=0.5),
            helper.make_node("Gemm", ["drop_1", const("fc_w_0", (10, 32), 0.6), const("fc_b_0", (10,), 0.1)],
                             ["fc_1"], transB=1),
        ]
        last = "fc_1"
        if softmax:
            nodes.append(helper.make_node("Softmax", ["fc_1"], ["prob_1"], axis=1))
            last = "prob_1"
        out = helper.make_tensor_value_info(last, TensorProto.FLOAT, [1, 10])
    else:
        opset, ir = 9, 4
        x = helper.make_tensor_value_info("input:0", TensorProto.FLOAT, ["unk__0", 32, 32, 3])
        nodes += [
            helper.make_node("Transpose", ["input:0"], ["conv1/Conv2D__6:0"], perm=[0, 3, 1, 2]),
            helper.make_node("Conv", ["conv1/Conv2D__6:0", const("conv1/kernel:0", (16, 3, 3, 3)),
                                      const("conv1/bias:0", (16,), 0.1)],
                             ["conv1/BiasAdd:0"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1]),
            helper.make_node("Relu", ["conv1/BiasAdd:0"], ["conv1/Relu:0"]),
            helper.make_node("LRN", ["conv1/Relu:0"], ["lrn1:0"], size=5, alpha=0.3, beta=0.75, bias=2.0),
            helper.make_node("Conv", ["lrn1:0", const("conv2/kernel:0", (32, 16, 3, 3))],
                             ["conv2/Conv2D:0"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization", ["conv2/Conv2D:0"] + bn("bn2", 32), ["bn2/FusedBatchNorm:0"],
                             epsilon=1e-3),
            helper.make_node("Relu", ["bn2/FusedBatchNorm:0"], ["conv2/Relu:0"]),
            helper.make_node("Conv", ["conv2/Relu:0", const("conv3/kernel:0", (24, 32, 3, 3)),
                                      const("conv3/bias:0", (24,), 0.1)],
                             ["conv3/BiasAdd:0"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1]),
            helper.make_node("Relu", ["conv3/BiasAdd:0"], ["conv3/Relu:0"]),
            helper.make_node("ReduceMean", ["conv3/Relu:0"], ["gap/Mean:0"], axes=[2, 3], keepdims=0),
            helper.make_node("MatMul", ["gap/Mean:0", const("dense/kernel:0", (24, 10), 0.6)], ["dense/MatMul:0"]),
            helper.make_node("Add", ["dense/MatMul:0", const("dense/bias:0", (10,), 0.1)], ["dense/BiasAdd:0"]),
        ]
        last = "dense/BiasAdd:0"
        if softmax:
            nodes.append(helper.make_node("Softmax", [last], ["dense/Softmax:0"], axis=1))
            last = "dense/Softmax:0"
        out = helper.make_tensor_value_info(last, TensorProto.FLOAT, ["unk__0", 10])
    inputs = [x]
    if ir == 3:  # IR 3: every initializer is also a graph input
        inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits]
    graph = helper.make_graph(nodes, "zoo_" + kind, inputs, [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="gimp-cam tests/models (%s style)" % kind.split("-")[0])
    model.ir_version = ir
    onnx.checker.check_model(model)
    return model, (1, 32, 32, 3) if kind.startswith("tf") else (1, 3, 32, 32)


# --------------------------------------------------------------------------------------
# One model
# --------------------------------------------------------------------------------------

class quiet_schema_errors:
    """With both onnx and onnxruntime (or torch.onnx) loaded, the first use registers the
    ONNX op schemas a second time and prints one "Schema error: ... already registered"
    per op to the C stderr (Debian 13): keep everything else that reaches fd 2."""

    def __enter__(self):
        import tempfile
        sys.stderr.flush()
        self.saved = os.dup(2)
        self.tmp = tempfile.TemporaryFile()
        os.dup2(self.tmp.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.tmp.seek(0)
        for line in self.tmp.read().decode(errors="replace").splitlines():
            if line.strip() and not line.startswith("Schema error: Trying to register schema"):
                print(line, file=sys.stderr)
        self.tmp.close()
        return False


def f32(path, a):
    np.ascontiguousarray(a, dtype="<f4").tofile(path)


def softmax64(z):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def export_one(spec, model_id, opset, outdir, log):
    t0 = time.time()
    seed = model_seed(model_id)
    onnx_path = os.path.join(outdir, model_id + ".onnx")
    desc = f"{spec.family} {spec.size}x{spec.size} opset {opset}" + (f", {spec.note}" if spec.note else "")
    if spec.zoo:
        proto, shape = zoo_model(spec.zoo, np.random.default_rng(seed))
        onnx.save(proto, onnx_path)
        model = None
        dynamic = 0 if spec.zoo.startswith("caffe") else 1
        nhwc = spec.zoo.startswith("tf")
    else:
        torch.manual_seed(seed)
        shape = (1, 3, spec.size, spec.size)
        model = randomize(spec.build(), seed, spec.size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.from_numpy(test_input(seed, shape)),), onnx_path, dynamo=False,
                              opset_version=opset, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                              training=(torch.onnx.TrainingMode.PRESERVE if spec.keep_bn
                                        else torch.onnx.TrainingMode.EVAL))
        proto = onnx.load(onnx_path)
        dynamic, nhwc = 1, False
    t_export = time.time() - t0
    x = test_input(seed, shape)
    input_name = [i.name for i in proto.graph.input
                  if i.name not in {t.name for t in proto.graph.initializer}][0]
    out_name = proto.graph.output[0].name
    logits_name = logits_of(proto)

    # ONNX Runtime: the reference probabilities, and every tensor of the graph
    sess = ort_session(onnx_path)
    out = sess.run([out_name], {input_name: x})[0][0]
    values = ort_all_tensors(proto, input_name, x)
    logits = values[logits_name][0]
    probs = out.astype(np.float64) if logits_name != out_name else softmax64(logits)
    n_classes = probs.shape[0]
    shapes = {k: v.shape for k, v in values.items()}

    # PyTorch, float64 and float32
    sides = {}
    for dtype in (torch.float64, torch.float32):
        sides[dtype] = TorchvisionSide(model, dtype) if model is not None else GraphSide(proto, dtype)
    t_logits, t_tensors = sides[torch.float64].run(x)
    p_torch = torch.softmax(t_logits[0], 0).detach().numpy()
    torch_vs_ort = float(np.abs(p_torch - probs).max())
    if torch_vs_ort > 1e-4:
        raise RuntimeError(f"{model_id}: PyTorch float64 and ONNX Runtime probabilities differ by {torch_vs_ort:.3g}")
    order = list(np.argsort(-p_torch, kind="stable"))

    # the layers: the automatic one, and candidates for the earlier one (best first)
    cuts, nchw = graph_cuts(proto.graph, input_name, logits_name, shapes)
    spatial = [c for c in cuts if c in nchw and shapes[c][2] * shapes[c][3] > 1]

    def torch_node(c):
        node, d = match(t_tensors, values[c])
        return node if node is not None and d <= 1e-3 else None

    if spec.family.startswith("vit"):
        model64 = sides[torch.float64].model
        blocks = model64.encoder.layers

        def first_layernorm(block):
            captured = []
            hook = block.ln_1.register_forward_hook(lambda m, i, o: captured.append(o.detach()))
            with torch.no_grad():
                model64(torch.from_numpy(x).double())
            hook.remove()
            v = captured[0].numpy()
            node, d = match(t_tensors, v)
            d_onnx, name = min((float(np.abs(values[k] - v).max()), k)
                               for k in values if values[k].shape == v.shape)
            if node is None or d > 1e-12 or d_onnx > 1e-3 * np.abs(v).max():
                raise RuntimeError(f"{model_id}: the first LayerNorm of an encoder block not found "
                                   f"(PyTorch node {node}, ONNX {name} at {d_onnx:.3g})")
            return (name, node, True)

        auto = first_layernorm(blocks[-1])
        middle = max(len(blocks) // 2 - 1, 0)
        early = [first_layernorm(blocks[i])
                 for i in ([middle] + [j for j in range(len(blocks) - 2, -1, -1) if j != middle])[:4]]
    else:
        auto = None
        for c in reversed(spatial):
            node = torch_node(c)
            if node is None:
                log(f"  {model_id}: cut {c} has no PyTorch counterpart; skipped")
            elif not grad_is_zero(t_logits, t_tensors[node], order[0]):
                auto = (c, node, False)
                break
        if auto is None:
            raise RuntimeError(f"{model_id}: no automatic layer found")
        hw = shapes[auto[0]][2] * shapes[auto[0]][3]
        before = list(reversed(spatial[:spatial.index(auto[0])]))
        larger = [(c, torch_node(c), False) for c in before if shapes[c][2] * shapes[c][3] > hw]
        same = [(c, torch_node(c), False) for c in before if shapes[c][2] * shapes[c][3] == hw]
        early = [e for e in larger if e[1]][:4] or [e for e in same if e[1]][:4]

    # the maps, and how well float32 can reproduce them (their "spread"): the largest of
    #  - three PyTorch float32 runs (the input, and the input changed by about one ulp,
    #    which moves the rounding errors), each against the float64 map;
    #  - KINK_RUNS float64 maps whose ReLU-like activations take the other side of a kink
    #    with the probability that float32 noise puts them there (KinkActivation).
    # One such element can change Grad-CAM at an early layer of a random network by 1e-3
    # of its maximum (its gradients largely cancel in the spatial mean), so a map is chosen
    # (layer first, then class among the top CLASSES_TRIED) whose spread is at most
    # WELL_CONDITIONED; otherwise the one with the smallest spread.
    rng = np.random.default_rng(seed + 1)
    xs = [x] + [(x.astype(np.float64) * (1 + 1e-7 * rng.standard_normal(x.shape))).astype(np.float32)
                for _ in range(2)]
    runs32 = [sides[torch.float32].run(xi) for xi in xs]
    cache = {}
    sigmas = {}  # per activation: SIGMA_FACTOR x the RMS float32 error of its input
    for act, inp in sides[torch.float64].act_inputs.items():
        if inp in t_tensors:
            x64 = t_tensors[inp].detach()
            rms = max(float((t[inp].detach().double() - x64).pow(2).mean().sqrt()) for lg, t in runs32)
            sigmas[act] = SIGMA_FACTOR * max(rms, 1e-8 * float(x64.abs().max()))

    def spread_of(m64, m32s):
        big = np.abs(m64).max()
        return max(float(np.abs(m - m64).max()) for m in m32s) / big if big > 0 else np.inf

    def gradcam_maps(cls, entries):
        key = ("grad-cam", cls, tuple(e[0] for e in entries))
        if key not in cache:
            nodes = [e[1] for e in entries]
            g64 = torch.autograd.grad(t_logits[0, cls], [t_tensors[n] for n in nodes], retain_graph=True)
            g32 = [torch.autograd.grad(lg[0, cls], [t[n] for n in nodes], retain_graph=True)
                   for lg, t in runs32]
            gk = []
            try:
                for r in range(KINK_RUNS):
                    KINK_FLIP.update(seed=r + 1, sigma=sigmas)
                    gk.append(torch.autograd.grad(t_logits[0, cls], [t_tensors[n] for n in nodes],
                                                  retain_graph=True))
            finally:
                KINK_FLIP.update(seed=None, sigma={})
            out = []
            for i, (name, node, tokens) in enumerate(entries):
                m64 = gradcam_map(t_tensors[node], g64[i], tokens)
                m32s = [gradcam_map(t[node], g[i], tokens) for (lg, t), g in zip(runs32, g32)]
                kinked = [gradcam_map(t_tensors[node], g[i], tokens) for g in gk]
                out.append((m64, max(spread_of(m64, m32s), spread_of(m64, kinked))))
            cache[key] = out
        return cache[key]

    def cam_maps(cls, entries, w):
        out = []
        for name, node, tokens in entries:
            m64 = cam_map(w[cls], t_tensors[node])
            out.append((m64, spread_of(m64, [cam_map(w[cls], t[node]) for lg, t in runs32])))
        return out

    def choose(entries, method, w=None):
        best = None
        for i, e in enumerate(entries):
            for cls in order[:CLASSES_TRIED]:
                m64, spread = (gradcam_maps(cls, entries) if method == "grad-cam"
                               else cam_maps(cls, entries, w))[i]
                if not nontrivial(m64):
                    continue
                if spread <= WELL_CONDITIONED:
                    return e, cls, m64, spread
                if best is None or spread < best[3]:
                    best = (e, cls, m64, spread)
        return best

    maps, chosen_layers = [], []
    w = None if auto[2] else cam_weight(proto.graph, auto[0], logits_name)
    plan = [("auto", "grad-cam", [auto])] + ([("auto", "cam", [auto])] if w is not None else [])
    if early:
        plan.append(("early", "grad-cam", early))
    else:
        log(f"  {model_id}: no earlier layer")
    for role, method, entries in plan:
        picked = choose(entries, method, w)
        if picked is None:
            raise RuntimeError(f"{model_id}: no non-trivial {method} map at {entries[0][0]}")
        (name, node, tokens), cls, m64, spread = picked
        if spread > WELL_CONDITIONED:
            log(f"  {model_id}: {method} {role}: no well-conditioned map; the best, class {cls} at "
                f"{name}, has a float32 spread of {spread:.2g}")
        path = os.path.join(outdir, f"{model_id}.{method}-{role}.f32")
        f32(path, m64)
        maps.append(f"map {model_id} {method} {role} {cls} {name} {m64.shape[0]} {m64.shape[1]} "
                    f"{path} {spread:.3g}\n")
        chosen_layers.append(f"{method} {role} {name} [{node}] class {cls} (spread {spread:.2g})")

    # the engine takes an NHWC model's input in its NCHW form (camengine.h, cam_model_load)
    f32(os.path.join(outdir, model_id + ".input.f32"), x.transpose(0, 3, 1, 2) if nhwc else x)
    f32(os.path.join(outdir, model_id + ".probs.f32"), probs)
    f32(os.path.join(outdir, model_id + ".logits.f32"), logits)
    lines = [f"model {model_id} {onnx_path} {os.path.join(outdir, model_id + '.input.f32')} {x.size} "
             f"{n_classes} {dynamic} {desc}\n",
             f"probs {model_id} {os.path.join(outdir, model_id + '.probs.f32')} {torch_vs_ort:.3g}\n",
             f"logits {model_id} {os.path.join(outdir, model_id + '.logits.f32')}\n",
             f"auto {model_id} {auto[0]}\n"] + maps
    with open(os.path.join(outdir, model_id + ".txt"), "w") as f:
        f.writelines(lines)
    size_mb = os.path.getsize(onnx_path) / 1e6
    log(f"{model_id}: {desc}; {size_mb:.1f} MB, export {t_export:.1f} s, references "
        f"{time.time() - t0 - t_export:.1f} s; top class {order[0]} p={p_torch[order[0]]:.4f} "
        f"(PyTorch vs ONNX Runtime {torch_vs_ort:.2g}); "
        + "; ".join(chosen_layers))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", default=None)
    ap.add_argument("ids", nargs="*")
    ap.add_argument("--full", action="store_true", default=os.environ.get("CAM_MODELS_FULL") == "1")
    ap.add_argument("--manifest", default=None)
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    all_ids = [(spec, i, o) for spec in SPECS for i, o in spec.ids()]
    if args.list:
        for spec, i, _ in all_ids:
            print(i, "(--full)" if spec.full else "")
        return
    if args.ids:
        unknown = set(args.ids) - {i for _, i, _ in all_ids}
        if unknown:
            raise SystemExit(f"unknown model ids: {' '.join(sorted(unknown))} (see --list)")
        chosen = [t for t in all_ids if t[1] in args.ids]
    else:
        chosen = [t for t in all_ids if args.full or not t[0].full]
    outdir = args.outdir or os.path.join(os.environ.get("CAM_BUILD_DIR", "."), "test-models")
    os.makedirs(outdir, exist_ok=True)
    outdir = os.path.abspath(outdir)
    manifest = args.manifest or os.path.join(
        outdir, "manifest-%s.txt" % ("custom" if args.ids else "full" if args.full else "default"))
    version = script_version()
    t0 = time.time()
    n_made = 0
    with open(os.path.join(outdir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lines = []
        for spec, model_id, opset in chosen:
            stamp = os.path.join(outdir, model_id + ".stamp")
            part = os.path.join(outdir, model_id + ".txt")
            made = [stamp, part, os.path.join(outdir, model_id + ".onnx")]
            if all(os.path.isfile(f) for f in made) and open(stamp).read().strip() == version:
                with open(part) as f:
                    lines += f.readlines()
                continue
            if os.path.exists(stamp):
                os.remove(stamp)
            with quiet_schema_errors():
                lines += export_one(spec, model_id, opset, outdir, lambda s: print(s, flush=True))
            with open(stamp, "w") as f:
                f.write(version + "\n")
            n_made += 1
        with open(manifest + ".tmp", "w") as f:
            f.writelines(lines)
        os.replace(manifest + ".tmp", manifest)
    print(f"{len(chosen)} models ({n_made} exported now, {len(chosen) - n_made} cached) in "
          f"{time.time() - t0:.0f} s -> {manifest}")


if __name__ == "__main__":
    main()
