#!/usr/bin/env python3
"""PyTorch's predictions on the official test set, for test-accuracy --torch-predictions.

    python3 tests/weights/torch_predictions.py NETWORK MODEL.onnx OUTPUT

Copies the ONNX file's weights into the PyTorch module of weights/networks.py
(tests/reference/camref.py: load_onnx_weights), runs the test set (pixel/255, as
the model's cam.input.* metadata says) and writes one byte per image: the
predicted class. Exits 77 when the model, the datasets or torch are missing.

OUTPUT is kept with OUTPUT.digest (the SHA-256 of the model file, this script,
weights/networks.py and the torch version) and reused while that digest holds, so that
the builds of build-aux/test-all.sh share one run (tests/weights/meson.build puts it
in _build-references/ of the source tree); one process at a time (OUTPUT.lock).
"""
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import fcntl
import hashlib
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
    digest = inputs_digest(model_path, torch.__version__)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(output + ".digest") as f:
                kept = f.read().strip() == digest and os.path.getsize(output) == len(labels)
        except OSError:
            kept = False
        if kept:
            preds = np.fromfile(output, np.uint8)
            print(f"PyTorch on {model_path}: accuracy {100.0 * (preds == labels).mean():.2f}% "
                  f"over {len(labels)} test images (kept from an earlier run: {output})")
            return
        if os.path.exists(output + ".digest"):
            os.remove(output + ".digest")
        preds = predict(network, model_path, images)
        preds.tofile(output + ".tmp")
        os.replace(output + ".tmp", output)
        with open(output + ".digest", "w") as f:
            f.write(digest + "\n")
    print(f"PyTorch on {model_path}: accuracy {100.0 * (preds == labels).mean():.2f}% "
          f"over {len(labels)} test images -> {output}")


def inputs_digest(model_path, torch_version):
    h = hashlib.sha256()
    for path in (model_path, os.path.abspath(__file__),
                 os.path.join(HERE, "..", "..", "weights", "networks.py")):
        with open(path, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    h.update(torch_version.encode())
    return h.hexdigest()


def predict(network, model_path, images):
    """One predicted class (uint8) per image."""
    import camref
    import numpy as np
    import onnx
    import torch

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
    return np.concatenate(preds)


if __name__ == "__main__":
    main()
