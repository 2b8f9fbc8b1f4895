"""Shared helpers of the PyTorch reference scripts (tests/reference, tests/weights, tests/bench).

- the two reference networks come from weights/networks.py (the modules the shipped
  weights were trained with) and are exported with weights/export.py (the exporter
  the shipped files came from);
- load_onnx_weights() copies the weights of any ONNX file of those architectures into
  the PyTorch module (by node order: Conv, Gemm/MatMul, BatchNormalization), so the
  reference runs the very numbers the engine loads;
- onnx_tensor_names() maps every layer of the module to the ONNX tensor it produces;
- write_records() writes the reference file read by test-reference.c.

Reference file format (little-endian), "*.camref":
    8 bytes  magic "CAMREF01"
    u32      number of records
    records: u32 len + kind (ASCII), u32 len + tensor name (UTF-8, may be empty),
             i32 image, i32 class (-1 when not applicable),
             u32 ndim, u32 dims[ndim], f32 data[prod(dims)]
(kinds: make_reference.py, make_methods.py; FullGrad's "kink-relu" / "kink-pool" records
of near-kink units: make_methods.routing_records)
"""
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("CAM_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "weights"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import datasets  # noqa: E402  (weights/datasets.py)
import export  # noqa: E402  (weights/export.py)
import networks  # noqa: E402  (weights/networks.py)

MODULE_OPS = {  # PyTorch module type -> ONNX op sequences it may export as
    nn.Conv2d: [("Conv",)],
    nn.ReLU: [("Relu",)],
    nn.MaxPool2d: [("MaxPool",)],
    nn.BatchNorm2d: [("BatchNormalization",)],
    nn.AdaptiveAvgPool2d: [("GlobalAveragePool",), ("ReduceMean",)],
    nn.Flatten: [("Flatten",), ("Reshape",)],
    nn.Linear: [("Gemm",), ("MatMul", "Add")],
}
IGNORED_OPS = {"Dropout", "Identity", "Constant", "Shape", "Gather", "Unsqueeze", "Concat", "Cast"}


def data_dir():
    """The dataset folder, or None when there is none."""
    for d in (os.environ.get("CAM_DATA_DIR"), os.environ.get("CAM_DATA_DIR_DEFAULT"),
              os.path.join(SOURCE_DIR, "..", "shared", "data")):
        if d and os.path.isdir(d):
            return d
    return None


def layers(net):
    """The module's layers in order, without Dropout (absent from an eval-mode export)."""
    return [(name, m) for name, m in net.named_children() if not isinstance(m, nn.Dropout)]


def _initializers(graph):
    import onnx.numpy_helper as nh
    init = {t.name: nh.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    init[node.output[0]] = nh.to_array(a.t)
    return init


def _significant_nodes(graph):
    return [n for n in graph.node if n.op_type not in IGNORED_OPS]


def onnx_tensor_names(net, model_proto):
    """[(layer name, module, ONNX output tensor name, [nodes])] in order, plus the
    name of the final Softmax output. Raises ValueError when the graph does not
    have the module's structure."""
    nodes = _significant_nodes(model_proto.graph)
    out, i = [], 0
    for name, m in layers(net):
        for seq in MODULE_OPS[type(m)]:
            ops = tuple(n.op_type for n in nodes[i:i + len(seq)])
            if ops == seq:
                out.append((name, m, nodes[i + len(seq) - 1].output[0], nodes[i:i + len(seq)]))
                i += len(seq)
                break
        else:
            raise ValueError(f"ONNX node {i} ({nodes[i].op_type if i < len(nodes) else 'end'}) "
                             f"does not match layer {name} ({type(m).__name__})")
    if i != len(nodes) - 1 or nodes[i].op_type != "Softmax":
        raise ValueError("the ONNX graph does not end with exactly one Softmax after the layers")
    return out, nodes[i].output[0]


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return a.i if a.type == a.INT else a.f
    return default


def load_onnx_weights(net, model_proto):
    """Copy the ONNX file's weights into net (in place), in node order."""
    init = _initializers(model_proto.graph)
    mapping, _ = onnx_tensor_names(net, model_proto)

    def t(a):
        return torch.from_numpy(np.array(a, dtype=np.float32, copy=True))

    with torch.no_grad():
        for name, m, _, nodes in mapping:
            n = nodes[0]
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(t(init[n.input[1]]))
                if len(n.input) > 2:
                    m.bias.copy_(t(init[n.input[2]]))
                else:
                    m.bias.zero_()
            elif isinstance(m, nn.Linear):
                if n.op_type == "Gemm":
                    if _attr(n, "alpha", 1.0) != 1.0 or _attr(n, "beta", 1.0) != 1.0 or _attr(n, "transA", 0):
                        raise ValueError(f"Gemm of {name}: alpha/beta/transA not supported here")
                    w = init[n.input[1]]
                    m.weight.copy_(t(w if _attr(n, "transB", 0) else w.T))
                    m.bias.copy_(t(init[n.input[2]]) if len(n.input) > 2 else torch.zeros_like(m.bias))
                else:  # MatMul + Add
                    m.weight.copy_(t(init[n.input[1]].T))
                    add = nodes[1]
                    b = add.input[1] if add.input[1] in init else add.input[0]
                    m.bias.copy_(t(init[b]))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(t(init[n.input[1]]))
                m.bias.copy_(t(init[n.input[2]]))
                m.running_mean.copy_(t(init[n.input[3]]))
                m.running_var.copy_(t(init[n.input[4]]))
                m.eps = float(_attr(n, "epsilon", 1e-5))
    return net


def randomize(net, seed):
    """Fixed-seed random weights, with non-trivial BatchNorm statistics."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                bound = (6.0 / fan_in) ** 0.5
                m.weight.copy_((torch.rand(m.weight.shape, generator=g) * 2 - 1) * bound)
                m.bias.copy_((torch.rand(m.bias.shape, generator=g) * 2 - 1) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_((torch.rand(n, generator=g) * 2 - 1) * 0.5)
                m.running_mean.copy_((torch.rand(n, generator=g) * 2 - 1) * 0.5)
                m.running_var.copy_(0.25 + torch.rand(n, generator=g) * 2)
    return net.eval()


# A reference map must vary by more than this fraction of its largest magnitude, well
# above the 1e-4 tolerance (the tutorial's "1 +" dwarfs the maps of early layers).
NONTRIVIAL = 1e-3


def nontrivial(m):
    """True when the map is worth comparing: not all zero, not constant."""
    m = np.asarray(m, dtype=np.float64)
    big = np.abs(m).max()
    return big > 0 and (m.max() - m.min()) > NONTRIVIAL * big


BUNDLED = (  # architecture, module class, short name, seed of the random weights
    ("fashion-mnist", networks.FashionCNN, "fashion", 1),
    ("cifar10", networks.Cifar10CNN, "cifar10", 2),
)


def bundled_networks(outdir, random=True):
    """The reference cases of the two bundled architectures, in a fixed order:
    yields (case, arch, net, onnx_path, model_proto) for seeded random weights
    exported to outdir/<short>-random.onnx (with random=True; the file is loaded
    back into a fresh module to check it holds exactly the module's weights), then
    for the trained weights shipped in weights/ when they are there."""
    import onnx  # only the generators need it

    for arch, cls, short, seed in BUNDLED:
        if random:
            net = randomize(cls(), seed)
            path = os.path.join(outdir, short + "-random.onnx")
            export.export(arch, net, path, {"note": "random weights for tests/reference"})
            proto = onnx.load(path)
            net2 = load_onnx_weights(cls(), proto).eval()
            for (n1, t1), (n2, t2) in zip(net.state_dict().items(), net2.state_dict().items()):
                assert n1 == n2 and torch.equal(t1, t2), f"load_onnx_weights: {n1} differs"
            yield short + "-random", arch, net, path, proto
        shipped = os.path.join(SOURCE_DIR, "weights", arch + ".onnx")
        if os.path.isfile(shipped):
            proto = onnx.load(shipped)
            yield short + "-trained", arch, load_onnx_weights(cls(), proto).eval(), shipped, proto
        else:
            print(f"{shipped} does not exist: case skipped")


def test_images(name, count, first=0):
    """count official test images (float32 N x C x H x W, pixel/255) and labels, or None."""
    d = data_dir()
    if d is None:
        return None
    try:
        images, labels, _ = datasets.load(name, d, "test")
    except (FileNotFoundError, OSError):
        return None
    x = images[first:first + count].astype(np.float32) / np.float32(255.0)
    return x, labels[first:first + count]


def read_records(path):
    """The records of a reference file, as write_records takes them (float64 arrays)."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != b"CAMREF01":
        raise ValueError(f"{path}: not a reference file")
    (n,), pos, out = struct.unpack_from("<I", blob, 8), 12, []

    def string():
        nonlocal pos
        (k,) = struct.unpack_from("<I", blob, pos)
        pos += 4 + k
        return blob[pos - k:pos].decode()

    for _ in range(n):
        kind, name = string(), string()
        image, cls, ndim = struct.unpack_from("<iiI", blob, pos)
        pos += 12
        dims = struct.unpack_from("<%dI" % ndim, blob, pos)
        pos += 4 * ndim
        count = int(np.prod(dims)) if ndim else 1
        arr = np.frombuffer(blob, dtype="<f4", count=count, offset=pos).reshape(dims)
        pos += 4 * count
        out.append((kind, name, image, cls, arr.astype(np.float64)))
    return out


def write_records(path, records):
    """records: (kind, tensor name, image, class, ndarray)."""
    with open(path + ".tmp", "wb") as f:
        f.write(b"CAMREF01")
        f.write(struct.pack("<I", len(records)))
        for kind, name, image, cls, arr in records:
            arr = np.ascontiguousarray(arr, dtype="<f4")
            k, n = kind.encode(), name.encode()
            f.write(struct.pack("<I", len(k)) + k + struct.pack("<I", len(n)) + n)
            f.write(struct.pack("<iiI", image, cls, arr.ndim))
            f.write(struct.pack("<%dI" % arr.ndim, *arr.shape))
            f.write(arr.tobytes())
    os.replace(path + ".tmp", path)


# ---- Keeping references between runs -----------------------------------------------
# The reference suites write into _build-references/NAME in the source tree (shared by
# both builds of build-aux/test-all.sh, as _build-test-models is): a script whose inputs
# did not change since it last wrote OUTDIR keeps what is there (the engine is compared
# with it on every run).

def inputs_digest(*extra):
    """sha256 of what a reference depends on: every script of tests/reference and weights/,
    the shipped weights (weights/*.onnx), the files in extra, and the versions of torch,
    torchvision, onnx and numpy (whether or not the script imported them yet)."""
    import glob
    import hashlib
    h = hashlib.sha256()
    paths = sorted(glob.glob(os.path.join(HERE, "*.py")) +
                   glob.glob(os.path.join(SOURCE_DIR, "weights", "*.py")) +
                   glob.glob(os.path.join(SOURCE_DIR, "weights", "*.onnx"))) + list(extra)
    for path in paths:
        h.update(os.path.basename(path).encode() + b"\0")
        with open(path, "rb") as f:
            h.update(f.read())
    from importlib import metadata
    versions = [torch.__version__]
    for package in ("torchvision", "onnx", "numpy"):
        try:
            versions.append(package + " " + metadata.version(package))
        except metadata.PackageNotFoundError:
            versions.append(package + " none")
    h.update(" ".join(versions).encode())
    return h.hexdigest()


def references_kept(outdir, *extra):
    """True when OUTDIR holds a complete set written from the same inputs (its stamp, written
    by keep_references after the manifest, matches inputs_digest)."""
    stamp = os.path.join(outdir, "stamp")
    if not (os.path.isfile(stamp) and os.path.isfile(os.path.join(outdir, "manifest.txt"))):
        return False
    with open(stamp) as f:
        if f.read().strip() != inputs_digest(*extra):
            return False
    print(f"references in {outdir} kept from a previous run (inputs unchanged)")
    return True


def forget_references(outdir):
    """Before writing: a run stopped half-way leaves no stamp behind."""
    stamp = os.path.join(outdir, "stamp")
    if os.path.isfile(stamp):
        os.remove(stamp)


def keep_references(outdir, *extra):
    """After the manifest is written: the stamp that lets the next run keep them."""
    with open(os.path.join(outdir, "stamp"), "w") as f:
        f.write(inputs_digest(*extra) + "\n")
