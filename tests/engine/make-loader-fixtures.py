#!/usr/bin/env python3
"""Writes the small ONNX files the loader tests use (tests/engine/data/).

    python3 tests/engine/make-loader-fixtures.py tests/engine/data

Valid tiny networks (every op the loader maps, both weight encodings) and
malformed files, one fault each. The outputs are committed (a few KB); re-run
this script after changing it. Weights are deterministic (no random numbers),
so the C tests can recompute expected values by hand.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def ramp(shape, scale=0.01, offset=0.0):
    """Deterministic weights: offset + scale * (0, 1, 2, ...) alternating in sign."""
    n = int(np.prod(shape))
    v = (np.arange(n, dtype=np.float64) * scale + offset) * np.where(np.arange(n) % 3 == 2, -1, 1)
    return v.astype(np.float32).reshape(shape)


def init(name, array, raw=True):
    t = numpy_helper.from_array(np.asarray(array), name)
    if not raw and t.data_type == TensorProto.FLOAT:
        t = helper.make_tensor(name, TensorProto.FLOAT, array.shape, array.flatten().tolist())
    return t


def model(nodes, inits, inputs, outputs, opset=OPSET, metadata=None, ir_version=8):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir_version
    for k, v in (metadata or {}).items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    return m


def image_input(name="input", c=1, h=6, w=6, batch="N"):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, c, h, w])


def out(name="probs", n=3):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", n])


def tiny_cam(**kw):
    """conv(4) relu pool conv(8) relu GAP flatten gemm(3) softmax: the CAM structure."""
    nodes = [
        helper.make_node("Conv", ["input", "c1.w", "c1.b"], ["c1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "c2.w", "c2.b"], ["c2"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["features"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["features"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
    ]
    inits = [init("c1.w", ramp([4, 1, 3, 3])), init("c1.b", ramp([4], 0.1)),
             init("c2.w", ramp([8, 4, 3, 3], 0.001)), init("c2.b", ramp([8], 0.05)),
             init("fc.w", ramp([3, 8], 0.02)), init("fc.b", np.array([0.1, -0.2, 0.3], np.float32))]
    meta = {"cam.name": "tiny-cam", "cam.labels": "Alpha\nBeta\nGamma\n",
            "cam.display.alpha": "0.5", "cam.display.colormap": "greens-reds",
            "cam.input.background": "black", "cam.input.mean": "0.5", "cam.input.std": "0.25",
            "cam.description": "test network", "x.custom": "kept"}
    meta.update(kw.pop("metadata", {}))
    return model(nodes, inits, [image_input()], [out()], metadata=meta, **kw)


def tiny_gradcam():
    """Every other op: BatchNorm, Dropout, ceil-mode pool, Reshape with a Constant shape,
    MatMul + Add (fused), Gemm transB=0, float_data weights, initializers as inputs,
    Constant value_floats, Identity of an initializer."""
    nodes = [
        # torch.onnx.export shares equal initializers through Identity nodes
        helper.make_node("Identity", ["bn.v.shared"], ["bn.v"], name="share"),
        helper.make_node("Constant", [], ["bn.b"], name="bn_b_const",
                         value_floats=[0.1, 0.0, -0.1, 0.2]),
        helper.make_node("Conv", ["x", "c1.w"], ["c1"], name="conv1", auto_pad="SAME_UPPER",
                         strides=[2, 2], group=1),
        helper.make_node("BatchNormalization", ["c1", "bn.s", "bn.b", "bn.m", "bn.v"], ["bn"],
                         name="bn1", epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["act1"], name="relu1"),
        helper.make_node("Conv", ["act1", "c2.w", "c2.b"], ["c2"], name="conv2",
                         pads=[0, 0, 0, 0], dilations=[1, 1], group=2),
        helper.make_node("MaxPool", ["c2"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2],
                         ceil_mode=1),
        helper.make_node("Dropout", ["p"], ["d", "mask"], name="drop"),
        helper.make_node("Constant", [], ["shape"], name="shape_const",
                         value=helper.make_tensor("shape_value", TensorProto.INT64, [2], [0, -1])),
        helper.make_node("Reshape", ["d", "shape"], ["flat"], name="reshape"),
        helper.make_node("MatMul", ["flat", "fc1.w"], ["mm"], name="fc1"),
        helper.make_node("Add", ["fc1.b", "mm"], ["fc1.out"], name="fc1_add"),
        helper.make_node("Relu", ["fc1.out"], ["h"], name="relu_fc"),
        helper.make_node("Identity", ["h"], ["h2"], name="ident"),
        helper.make_node("Gemm", ["h2", "fc2.w", "fc2.b"], ["logits"], name="fc2", transB=0,
                         alpha=0.5, beta=2.0),
        helper.make_node("Softmax", ["logits"], ["prob"], name="softmax"),
    ]
    # x: 2x7x7 -> conv1 (3, 3x3, s2, SAME) 3x4x4 -> conv2 (4, 2x2, group... 
    # conv2 with group 2 needs in 3 -> use 4 channels in conv1
    inits = [init("c1.w", ramp([4, 2, 3, 3], 0.01), raw=False),
             init("bn.s", np.array([1.0, 0.5, 2.0, 1.5], np.float32)),
             init("bn.m", np.array([0.0, 0.1, 0.2, -0.1], np.float32)),
             init("bn.v.shared", np.array([1.0, 0.25, 4.0, 0.999], np.float32)),
             init("c2.w", ramp([6, 2, 2, 2], 0.02)), init("c2.b", ramp([6], 0.1), raw=False),
             init("fc1.w", ramp([6 * 2 * 2, 5], 0.01)),
             init("fc1.b", np.array([[0.5, 0.4, 0.3, 0.2, 0.1]], np.float32)),
             init("fc2.w", ramp([5, 4], 0.1)), init("fc2.b", np.array(0.25, np.float32))]
    inputs = [image_input("x", c=2, h=7, w=7, batch=1)]
    # older exporters list the initializers as graph inputs too
    inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits]
    return model(nodes, inits, inputs, [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 4])],
                 opset=13)


def tiny_reducemean():
    """opset 18 ReduceMean (axes as input, keepdims 0) -> MatMul -> Add, no Softmax."""
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["conv"], name="conv", kernel_shape=[3, 3]),
        helper.make_node("Relu", ["conv"], ["act"], name="relu"),
        helper.make_node("ReduceMean", ["act", "axes"], ["mean"], name="mean", keepdims=0),
        helper.make_node("MatMul", ["mean", "fc.w"], ["mm"], name="fc"),
        helper.make_node("Add", ["mm", "fc.b"], ["scores"], name="fc_add"),
    ]
    inits = [init("w", ramp([5, 3, 3, 3], 0.01)), init("axes", np.array([-1, 2], np.int64)),
             init("fc.w", ramp([5, 2], 0.1)), init("fc.b", np.array([1.0, -1.0], np.float32))]
    return model(nodes, inits, [image_input(c=3, h=5, w=4)], [out("scores", 2)], opset=18,
                 metadata={"cam.default.layer": "conv", "cam.default.method": "cam"})


def tiny_pool():
    """Pooling edge cases: padded ceil-mode MaxPool whose last window would start in the
    right padding (PyTorch drops it, and so does the ONNX spec's text since 1.16: 5x5 -> 3x3;
    onnx 1.17's shape inference still says 4x4), a dilated conv, SAME_LOWER."""
    nodes = [
        helper.make_node("MaxPool", ["input"], ["pool"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
        helper.make_node("Conv", ["pool", "w"], ["conv"], name="conv", kernel_shape=[2, 2],
                         dilations=[2, 2], auto_pad="SAME_LOWER"),
        helper.make_node("Relu", ["conv"], ["act"], name="relu"),
        helper.make_node("GlobalAveragePool", ["act"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
    ]
    inits = [init("w", ramp([2, 1, 2, 2], 0.1))]
    return model(nodes, inits, [image_input(c=1, h=5, w=5)], [out("flat", 2)])


def replace_init(m, name, tensor):
    for i, t in enumerate(m.graph.initializer):
        if t.name == name:
            m.graph.initializer[i].CopyFrom(tensor)
            return m
    raise KeyError(name)


def node(m, name):
    return next(n for n in m.graph.node if n.name == name)


def malformed():
    """name -> (ModelProto or bytes)"""
    files = {}
    files["empty"] = b""
    files["garbage"] = b"This is not an ONNX file, just some text.\n" * 3
    good = tiny_cam().SerializeToString()
    files["truncated"] = good[: len(good) * 2 // 3]

    m = tiny_cam()
    replace_init(m, "c1.w", numpy_helper.from_array(ramp([4, 1, 3, 3]).astype(np.float64), "c1.w"))
    files["double-weights"] = m
    m = tiny_cam()
    replace_init(m, "fc.b", numpy_helper.from_array(np.array([1, 2, 3], np.int64), "fc.b"))
    files["int64-weights"] = m

    m = tiny_cam()
    m.graph.input[0].type.tensor_type.shape.dim[2].dim_value = 3000000000
    files["huge-input-dim"] = m
    m = tiny_cam()
    t = TensorProto()
    t.name, t.data_type = "c1.w", TensorProto.FLOAT
    t.dims.extend([4, 1, 1 << 20, 1 << 20])
    replace_init(m, "c1.w", t)
    files["huge-weight-dim"] = m
    m = tiny_cam()
    t = TensorProto()
    t.name, t.data_type = "c1.b", TensorProto.FLOAT
    t.dims.extend([-4])
    replace_init(m, "c1.b", t)
    files["negative-dim"] = m
    m = tiny_cam()
    m.graph.input[0].type.tensor_type.shape.dim[1].dim_value = -1
    files["negative-input-dim"] = m
    m = tiny_cam()
    t = TensorProto()
    t.name, t.data_type = "c1.b", TensorProto.FLOAT
    t.dims.extend([0])
    replace_init(m, "c1.b", t)
    files["zero-dim"] = m

    m = tiny_cam()
    del m.graph.initializer[2]  # c2.w
    files["missing-initializer"] = m

    m = tiny_cam()
    r = node(m, "relu1")
    r.input[0] = "features"  # relu1 <- relu2's output: a cycle through conv2
    files["cycle"] = m

    m = tiny_cam()
    node(m, "relu2").op_type = "Sigmoid"
    files["unsupported-sigmoid"] = m
    m = tiny_cam()
    n = node(m, "relu1")
    n.op_type = "LSTM"
    files["unsupported-lstm"] = m
    m = tiny_cam()
    node(m, "relu1").domain = "com.microsoft"
    files["unsupported-domain"] = m

    m = tiny_cam()
    w = ramp([8, 4, 3, 3], 0.001)
    w[1, 2, 0, 1] = np.nan
    replace_init(m, "c2.w", numpy_helper.from_array(w, "c2.w"))
    files["nan-weight"] = m
    m = tiny_cam()
    w = ramp([3, 8], 0.02)
    w[2, 7] = np.inf
    replace_init(m, "fc.w", numpy_helper.from_array(w, "fc.w"))
    files["inf-weight"] = m

    m = tiny_cam()
    n = node(m, "conv1")
    for a in n.attribute:
        if a.name == "strides":
            n.attribute.remove(a)
            break
    n.attribute.append(helper.make_attribute("strides", [1.0, 1.0]))
    files["wrong-attribute-type"] = m
    m = tiny_cam()
    node(m, "conv1").attribute.append(helper.make_attribute("frobnicate", 3))
    files["unknown-attribute"] = m
    m = tiny_cam()
    n = node(m, "pool1")
    for a in n.attribute:
        if a.name == "kernel_shape":
            n.attribute.remove(a)
            break
    files["missing-attribute"] = m

    m = tiny_cam()
    t = numpy_helper.from_array(ramp([8, 4, 3, 3], 0.001), "c2.w")
    t.raw_data = t.raw_data[:-4]
    replace_init(m, "c2.w", t)
    files["short-weights"] = m
    m = tiny_cam()
    replace_init(m, "c2.w", numpy_helper.from_array(ramp([8, 3, 3, 3], 0.001), "c2.w"))
    files["shape-mismatch"] = m
    m = tiny_cam()
    replace_init(m, "fc.w", numpy_helper.from_array(ramp([3, 7], 0.02), "fc.w"))
    files["dense-mismatch"] = m
    m = tiny_cam()
    n = node(m, "pool1")
    for a in n.attribute:
        if a.name == "kernel_shape":
            a.ints[:] = [9, 9]
    files["window-too-large"] = m

    m = tiny_cam()
    node(m, "relu2").output[0] = "c1"
    files["produced-twice"] = m
    m = tiny_cam()
    node(m, "pool1").input[0] = ""  # a required input left out (found by the loader fuzzer)
    files["empty-required-input"] = m
    m = tiny_cam()
    m.graph.output[0].name = "nowhere"
    files["dangling-output"] = m
    m = tiny_cam(metadata={"cam.labels": "one\ntwo"})
    files["label-count"] = m
    m = tiny_cam(metadata={"cam.display.alpha": "1.5"})
    files["alpha-out-of-range"] = m
    m = tiny_cam(metadata={"cam.default.layer": "no-such-tensor"})
    files["unknown-default-layer"] = m
    # metadata values that cannot be used (issue 17): each refused at load, naming the key
    files["unknown-colormap"] = tiny_cam(metadata={"cam.display.colormap": "rainbow"})
    files["unknown-method"] = tiny_cam(metadata={"cam.default.method": "gradcam"})
    files["unknown-background"] = tiny_cam(metadata={"cam.input.background": "grey"})
    files["unexplainable-default-layer"] = tiny_cam(metadata={"cam.default.layer": "logits"})
    files["threshold-out-of-range"] = tiny_cam(metadata={"cam.display.threshold": "-0.5"})
    # a std that is not zero but so small that 1/std overflows: every input is infinite
    files["tiny-std"] = tiny_cam(metadata={"cam.input.std": "1e-45"})
    # a finite mean whose mean/std overflows float
    files["huge-mean"] = tiny_cam(metadata={"cam.input.mean": "1e38", "cam.input.std": "0.001"})
    # a scale that is in range but 255 * scale / std overflows
    files["huge-scale"] = tiny_cam(metadata={"cam.input.scale": "1e30", "cam.input.std": "1e-10"})
    m = tiny_cam()
    m.opset_import[0].version = 99
    files["future-opset"] = m
    m = tiny_cam()
    m.graph.input[0].type.tensor_type.elem_type = TensorProto.UINT8
    files["uint8-input"] = m
    m = tiny_cam()
    t = numpy_helper.from_array(ramp([4], 0.1), "c1.b")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "weights.bin"
    replace_init(m, "c1.b", t)
    files["external-data"] = m
    return files


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "data")
    os.makedirs(outdir, exist_ok=True)
    valid = {"tiny-cam": tiny_cam(), "tiny-gradcam": tiny_gradcam(),
             "tiny-reducemean": tiny_reducemean(), "tiny-pool": tiny_pool()}
    for name, m in valid.items():
        onnx.checker.check_model(m, full_check=True)
    for name, m in list(valid.items()) + [("bad-" + k, v) for k, v in malformed().items()]:
        data = m if isinstance(m, bytes) else m.SerializeToString()
        with open(os.path.join(outdir, name + ".onnx"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
