"""Evaluate a trained network on the official test set (PyTorch) and add the
figures to its training report.

    python3 weights/evaluate.py NETWORK STATE.pt --report NETWORK-training.json

Used when training ran with --skip-test (the recipe search): the test set is
touched once, for the chosen recipe. The C engine's own figures on the shipped
ONNX files are checked by tests/weights.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402
import networks  # noqa: E402
from train import predict  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("network", choices=sorted(networks.NETWORKS))
    ap.add_argument("state")
    ap.add_argument("--report", required=True)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    net = networks.build(args.network)
    net.load_state_dict(torch.load(args.state, map_location="cpu"))
    test_x, test_y, digests = datasets.load(args.network, args.data_dir or datasets.default_data_dir(), "test")
    pred = predict(net, test_x, torch.device("cpu"))
    n = len(net.labels)
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (test_y, pred), 1)
    acc = float((pred == test_y).mean())
    with open(args.report) as f:
        report = json.load(f)
    report.update(test_images=int(len(test_y)), test_accuracy=acc,
                  per_class_accuracy={net.labels[i]: float(confusion[i, i] / confusion[i].sum()) for i in range(n)},
                  confusion_matrix=confusion.tolist())
    report["datasets"].update(dict(digests))
    with open(args.report, "w") as f:
        json.dump(report, f, indent=1)
    print(f"{args.network}: test accuracy {acc:.4f} on {len(test_y)} images")


if __name__ == "__main__":
    main()
