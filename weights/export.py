"""Export a trained network to ONNX with gimp-cam's metadata (see engine/include/camengine.h).

    python3 weights/export.py NETWORK STATE.pt OUTPUT.onnx [--report NETWORK-training.json]

The graph: input "input" (N x C x H x W float, pixel/255), Conv/Relu/MaxPool/
GlobalAveragePool/BatchNormalization/Flatten/Gemm nodes, the class scores in
"logits" and a final Softmax giving "probabilities". The output of each conv's
ReLU is renamed after its Keras layer ("conv2d_3"), so layers can be named as in
the tutorials; conv outputs before the ReLU are "conv2d_3/conv", dense outputs
before their ReLU "dense/linear", other tensors are named after their layer
("max_pooling2d", "batch_normalization", "flatten").
"""
import argparse
import io
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import networks  # noqa: E402

META = {
    "fashion-mnist": {
        "cam.description": "Fashion-MNIST clothing classifier (10 classes), explained with CAM",
        "cam.input.scale": repr(1.0 / 255.0),
        "cam.input.mean": "0.0",
        "cam.input.std": "1.0",
        "cam.input.background": "black",
        "cam.input.description": "28x28 grayscale, pixel/255, a light object on a black background",
        "cam.default.method": "cam",
        "cam.display.alpha": "0.5",
        "cam.display.colormap": "greens-reds",
        "cam.display.threshold": "0.95",
    },
    "cifar10": {
        "cam.description": "CIFAR-10 photo classifier (10 classes), explained with Grad-CAM",
        "cam.input.scale": repr(1.0 / 255.0),
        "cam.input.mean": "0.0,0.0,0.0",
        "cam.input.std": "1.0,1.0,1.0",
        "cam.input.background": "none",
        "cam.input.description": "32x32 RGB photo, pixel/255",
        "cam.default.method": "grad-cam",
        "cam.display.alpha": "0.4",
        "cam.display.colormap": "jet",
    },
}


class _WithSoftmax(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.softmax(self.net(x), dim=1)


def _rename_tensors(graph, mapping):
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in mapping:
                node.input[i] = mapping[name]
        for i, name in enumerate(node.output):
            if name in mapping:
                node.output[i] = mapping[name]
    for vi in list(graph.output) + list(graph.value_info):
        if vi.name in mapping:
            vi.name = mapping[vi.name]


def provenance_from_report(report):
    """The cam.provenance.* values for a training report written by train.py."""
    prov = {
        "dataset_sha256": " ".join(f"{n}={d}" for n, d in report["datasets"].items()),
        "epochs": len(report["epochs"]), "seed": report["seed"],
        "validation_accuracy": f"{report['epochs'][-1]['val_accuracy']:.4f}",
        "command": report["command"],
        "trained_on": f"{report['device']}, torch {report['torch']}",
    }
    if "test_accuracy" in report:
        prov["test_accuracy"] = f"{report['test_accuracy']:.4f} (PyTorch, {report['test_images']} test images)"
    return prov


def export(name, net, path, provenance=None):
    """Write net (a networks.* module, trained) to path as ONNX with metadata."""
    import onnx

    net = net.cpu().eval()
    model = _WithSoftmax(net).eval()
    c, h, w = net.input_shape
    buf = io.BytesIO()
    kwargs = dict(input_names=["input"], output_names=["probabilities"],
                  dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
                  opset_version=13, do_constant_folding=True)
    try:
        torch.onnx.export(model, torch.zeros(1, c, h, w), buf, dynamo=False, **kwargs)
    except TypeError:  # older torch without the dynamo argument
        torch.onnx.export(model, torch.zeros(1, c, h, w), buf, **kwargs)
    proto = onnx.load_from_string(buf.getvalue())
    graph = proto.graph

    # Keras-like tensor names: "/net/conv2d_3_relu/Relu" output -> "conv2d_3".
    mapping = {}
    last_gemm_out = None
    for node in graph.node:
        parts = node.name.strip("/").split("/")
        module = parts[-2] if len(parts) >= 2 else ""
        if node.op_type == "Relu" and module.endswith("_relu"):
            mapping[node.output[0]] = module[: -len("_relu")]
        elif node.op_type == "Conv":
            mapping[node.output[0]] = module + "/conv"
        elif node.op_type in ("Gemm", "MatMul", "Add"):
            mapping[node.output[0]] = module + "/linear"
            last_gemm_out = node.output[0]
        elif module and node.op_type != "Softmax":
            mapping[node.output[0]] = module
    softmax = [n for n in graph.node if n.op_type == "Softmax"]
    if softmax and last_gemm_out == softmax[0].input[0]:
        mapping[last_gemm_out] = "logits"
    _rename_tensors(graph, mapping)
    graph.name = name

    labels = "\n".join(net.labels)
    meta = {"cam.name": name, "cam.labels": labels, "cam.default.layer": net.cam_layer}
    meta.update(META[name])
    for k, v in (provenance or {}).items():
        meta["cam.provenance." + k] = str(v)
    del proto.metadata_props[:]
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.producer_name = "gimp-cam weights/export.py"
    proto.doc_string = META[name]["cam.description"]
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("network", choices=sorted(networks.NETWORKS))
    ap.add_argument("state", help="state_dict saved by train.py (--state)")
    ap.add_argument("output")
    ap.add_argument("--report", help="training report (NETWORK-training.json) for the provenance metadata")
    args = ap.parse_args()
    net = networks.build(args.network)
    net.load_state_dict(torch.load(args.state, map_location="cpu"))
    prov = {}
    if args.report:
        with open(args.report) as f:
            report = json.load(f)
        prov = provenance_from_report(report)
        report["onnx"] = os.path.basename(args.output)
    size = export(args.network, net, args.output, prov)
    if args.report:
        report["onnx_bytes"] = size
        report["provenance"] = prov
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1)
    print(f"wrote {args.output} ({size} bytes)")


if __name__ == "__main__":
    main()
