"""Shared helpers of the cam-heatmap tests (tests/cli/test_*.py).

- the programs: cam-heatmap and cli-engine-render (the engine called directly, no CLI
  code) from the build tree ($CAM_BUILD_DIR);
- models: the shipped weights/<name>.onnx when they exist, else a fixed-seed random
  copy of the same architecture exported with weights/export.py (cached in the build
  tree);
- PyTorch references through tests/reference/camref.py (weights copied from the ONNX
  file into the PyTorch modules of weights/networks.py).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from testkit import BUILD_DIR, SOURCE_DIR, check, failures, finish, skip  # noqa: E402,F401
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "reference"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "weights"))

CAM_HEATMAP = os.path.join(BUILD_DIR, "engine", "cli", "cam-heatmap")
ENGINE_RENDER = os.path.join(BUILD_DIR, "tests", "cli", "cli-engine-render")


def workdir(name):
    d = os.path.join(BUILD_DIR, "tests", "cli", "work", name)
    os.makedirs(d, exist_ok=True)
    return tempfile.mkdtemp(dir=d)


def model_path(name):
    """(path, trained): the shipped model, else a random-weight copy of its architecture."""
    shipped = os.path.join(SOURCE_DIR, "weights", name + ".onnx")
    if os.path.isfile(shipped):
        return shipped, True
    cache = os.path.join(BUILD_DIR, "tests", "cli", "models")
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, "random-" + name + ".onnx")
    if not os.path.isfile(path):
        import camref
        import export
        import networks
        net = camref.randomize(networks.build(name), 1234 if name == "cifar10" else 4321)
        export.export(name, net, path)  # writes path.tmp, then renames: safe in parallel
    return path, False


def run(args, **kw):
    """Runs cam-heatmap; returns (exit code, stdout, stderr)."""
    p = subprocess.run([CAM_HEATMAP] + list(args), capture_output=True, text=True, **kw)
    return p.returncode, p.stdout, p.stderr


def engine_render(model, rgb, method="default", cls=-1, kind="blend", alpha="default",
                  colormap="default"):
    """The engine directly on raw pixels (H x W x C uint8): (explanation dict, output)."""
    h, w, c = rgb.shape
    d = tempfile.mkdtemp(dir=workdir("engine"))
    raw, out = os.path.join(d, "in.raw"), os.path.join(d, "out.raw")
    np.ascontiguousarray(rgb, dtype=np.uint8).tofile(raw)
    p = subprocess.run([ENGINE_RENDER, model, raw, str(w), str(h), str(c), method, str(cls),
                        kind, out, str(alpha), colormap], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("cli-engine-render failed: " + p.stderr)
    ex = json.loads(p.stdout)
    oc = 4 if kind == "blend" and c in (2, 4) else 3
    return ex, np.fromfile(out, dtype=np.uint8).reshape(h, w, oc)


def read_png(path):
    """Pixels of an image file as PIL decodes it (H x W x C uint8)."""
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im).copy()


def write_png(path, pixels):
    from PIL import Image
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[pixels.shape[2] if pixels.ndim == 3 else 1]
    Image.fromarray(pixels if pixels.ndim == 2 or pixels.shape[2] > 1 else pixels[:, :, 0],
                    mode).save(path)


def test_image(seed, h, w, c):
    """A deterministic image with structure (gradients, a blob) and noise."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([(x / max(w - 1, 1)) * 255, (y / max(h - 1, 1)) * 255,
                     255 * np.exp(-((x - w * 0.6) ** 2 + (y - h * 0.4) ** 2) / (0.05 * w * h))],
                    axis=2)
    img = np.clip(base + rng.normal(0, 30, size=(h, w, 3)), 0, 255).astype(np.uint8)
    if c == 1:
        return img[:, :, 1:2]
    if c == 4:
        a = np.clip(rng.uniform(0, 300, size=(h, w, 1)), 0, 255).astype(np.uint8)
        return np.concatenate([img, a], axis=2)
    return img
