#!/usr/bin/env python3
"""PyTorch's predictions on the official test set, for test-accuracy --torch-predictions.

    python3 tests/weights/torch_predictions.py NETWORK MODEL.onnx OUTPUT

Copies the ONNX file's weights into the PyTorch module of weights/networks.py
(tests/reference/camref.py: load_onnx_weights), runs the test set (pixel/255, as
the model's cam.input.* metadata says) and writes one byte per image: the
predicted class. Exits 77 when the model, the datasets or torch are missing.
"""
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import os

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    network, model_path, output = sys.argv[1:]
    if not os.path.isfile(model_path):
        print(f"SKIP: {model_path} does not exist yet")
        sys.exit(77)
    try:
        import camref
        import numpy as np
        import onnx
        import torch
    except ImportError as e:
        print(f"SKIP: python3 cannot import what the PyTorch reference needs: {e}")
        sys.exit(77)
    d = camref.data_dir()
    if d is None:
        print("SKIP: no datasets (set CAM_DATA_DIR)")
        sys.exit(77)
    try:
        images, labels, _ = camref.datasets.load(network, d, "test")
    except FileNotFoundError as e:
        print(f"SKIP: {e}")
        sys.exit(77)
    proto = onnx.load(model_path)
    meta = {p.key: p.value for p in proto.metadata_props}
    scale = float(meta.get("cam.input.scale", 1.0 / 255.0))
    c = images.shape[1]

    def per_channel(key, default):
        vals = [float(v) for v in meta.get(key, default).split(",")]
        return np.array((vals * c)[:c] if len(vals) == 1 else vals, np.float32)[None, :, None, None]

    mean, std = per_channel("cam.input.mean", "0"), per_channel("cam.input.std", "1")
    net = camref.load_onnx_weights(camref.networks.build(network), proto).eval()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    preds = []
    with torch.inference_mode():
        for i in range(0, len(images), 100):
            x = (images[i:i + 100].astype(np.float32) * np.float32(scale) - mean) / std
            preds.append(net(torch.from_numpy(x)).argmax(1).numpy().astype(np.uint8))
    preds = np.concatenate(preds)
    preds.tofile(output)
    print(f"PyTorch on {model_path}: accuracy {100.0 * (preds == labels).mean():.2f}% "
          f"over {len(labels)} test images -> {output}")


if __name__ == "__main__":
    main()
