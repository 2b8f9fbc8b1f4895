"""cam-heatmap's JSON and pixels equal the engine's, and the engine's numbers equal PyTorch's.

For several images (RGB, RGBA, gray; at the model's size and larger) and both models:
 - the JSON parses, has the documented fields and version, canonical labels;
 - class, probabilities, layer and the raw map equal what the engine gives when called
   directly (cli-engine-render: no CLI code) on the same pixels; the top N are the N most
   probable classes in order; min/max/mean are the map's;
 - for images at the model's input size (no resampling), the probabilities and the map
   equal PyTorch's on the same ONNX weights (1e-5; 1e-4 of the map's largest magnitude);
 - the written blend and heatmap PNGs have exactly the engine renderer's pixels;
 - EXIF orientation: a JPEG stored sideways with orientation 6 is processed upright.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as T  # noqa: E402


def torch_reference(name, model, pixels, method, cls, layer):
    """Probabilities and the map by PyTorch autograd on the ONNX file's weights."""
    import onnx
    import torch
    import camref
    import networks
    net = camref.load_onnx_weights(networks.build(name), onnx.load(model)).eval()
    x = torch.from_numpy(pixels.astype(np.float32).transpose(2, 0, 1)[None] / np.float32(255.0))
    h, acts = x, None
    for n, m in net.named_children():
        h = m(h)
        if n == layer + "_relu":
            acts = h
            acts.retain_grad()
    logits = h
    probs = torch.softmax(logits, dim=1)
    if method == "cam":
        w = net.dense.weight.detach()[cls]
        cam = (w[:, None, None] * acts[0].detach()).sum(0)
    else:
        score = logits[0, cls] if method == "grad-cam" else probs[0, cls]
        score.backward()
        alpha = acts.grad[0].mean(dim=(1, 2))
        cam = (alpha[:, None, None] * acts[0].detach()).sum(0)
        cam = torch.relu(cam) if method == "grad-cam" else 1 + cam
    return probs[0].detach().numpy(), cam.numpy()


def check_image(name, model, trained, doc_img, path, pixels, out_blend, out_heat, args_method):
    ex, blend = T.engine_render(model, pixels, method=args_method, kind="blend")
    _, heat = T.engine_render(model, pixels, method=args_method, kind="heatmap")
    f = os.path.basename(path)
    T.check(doc_img["status"] == "ok", f"{f}: status {doc_img.get('status')} {doc_img.get('error')}")
    if doc_img["status"] != "ok":
        return
    T.check(doc_img["width"] == pixels.shape[1] and doc_img["height"] == pixels.shape[0],
            f"{f}: size {doc_img['width']}x{doc_img['height']}")
    cls = doc_img["class"]
    T.check(cls["index"] == ex["class"], f"{f}: class {cls['index']} != engine {ex['class']}")
    T.check(cls["probability"] == ex["probability"], f"{f}: probability differs from the engine")
    T.check(cls["label"] == doc_labels[ex["class"]], f"{f}: label {cls['label']}")
    T.check(doc_img["method"] == ex["method"], f"{f}: method {doc_img['method']} != {ex['method']}")
    T.check(doc_img["layer"] == ex["layer"], f"{f}: layer {doc_img['layer']} != {ex['layer']}")
    m = doc_img["map"]
    T.check(m["height"] == ex["map_height"] and m["width"] == ex["map_width"], f"{f}: map size")
    T.check(m["values"] == ex["map"], f"{f}: map values differ from the engine's")
    v = np.array(m["values"], dtype=np.float64)
    T.check(abs(m["min"] - v.min()) <= 1e-6 * max(1, abs(v.min())), f"{f}: map min")
    T.check(abs(m["max"] - v.max()) <= 1e-6 * max(1, abs(v.max())), f"{f}: map max")
    T.check(abs(m["mean"] - v.mean()) <= 1e-5 * max(1, np.abs(v).max()), f"{f}: map mean")
    probs = np.array(ex["probabilities"])
    order = sorted(range(len(probs)), key=lambda i: (-probs[i], i))[:5]
    top = doc_img["predictions"]
    T.check([p["index"] for p in top] == order, f"{f}: top-5 {[p['index'] for p in top]} != {order}")
    T.check(all(p["probability"] == probs[p["index"]] for p in top), f"{f}: top-5 probabilities")
    T.check(all(p["label"] == doc_labels[p["index"]] for p in top), f"{f}: top-5 labels")
    # pixels
    got_blend = T.read_png(out_blend)
    T.check(doc_img["output"] == out_blend, f"{f}: output {doc_img['output']} != {out_blend}")
    T.check(got_blend.shape == blend.shape and np.array_equal(got_blend, blend),
            f"{f}: blend pixels differ from the engine's renderer "
            f"({got_blend.shape} vs {blend.shape}, "
            f"{int((got_blend != blend).sum()) if got_blend.shape == blend.shape else '-'} values)")
    got_heat = T.read_png(out_heat)
    T.check(got_heat.shape == heat.shape and np.array_equal(got_heat, heat),
            f"{f}: heatmap pixels differ from the engine's renderer")
    # PyTorch, when the image is exactly the model's input (no resampling involved)
    size = {"cifar10": (32, 32, 3), "fashion-mnist": (28, 28, 1)}[name]
    if pixels.shape[:2] == size[:2] and (size[2] == 3 or pixels.shape[2] == 3):
        px = pixels[:, :, :3]
        if size[2] == 1:
            px = px[:, :, :1]  # a gray image loads as R = G = B
        tp, tmap = torch_reference(name, model, px, ex["method"], ex["class"], ex["layer"])
        T.check(np.abs(tp - probs).max() <= 1e-5,
                f"{f}: probabilities differ from PyTorch by {np.abs(tp - probs).max():.3g}")
        emap = np.array(ex["map"]).reshape(tmap.shape)
        scale = max(np.abs(tmap).max(), 1e-12)
        T.check(np.abs(tmap - emap).max() <= 1e-4 * scale,
                f"{f}: map differs from PyTorch by {np.abs(tmap - emap).max() / scale:.3g} (relative)")
        T.check(np.ptp(tmap) > 0, f"{f}: reference map is constant (test too weak)")
        print(f"  {f}: matches PyTorch (probabilities, {ex['method']} map)")


doc_labels = []

for name, images in (
        ("cifar10", [("rgb32.png", (32, 32, 3), 1), ("rgba50x37.png", (37, 50, 4), 2),
                     ("gray40.png", (40, 40, 1), 3)]),
        ("fashion-mnist", [("gray28.png", (28, 28, 1), 4), ("rgb60x45.png", (45, 60, 3), 5)])):
    model, trained = T.model_path(name)
    print(f"{name}: {model} ({'trained' if trained else 'random weights'})")
    d = T.workdir("json")
    paths, pixels = [], []
    for fname, (h, w, c), seed in images:
        px = T.test_image(seed, h, w, c)
        if name == "fashion-mnist":  # a light object on black, so --invert auto keeps it
            px = (px.astype(np.float32) * np.linspace(0, 1, w)[None, :, None]
                  * np.linspace(0, 1, h)[::-1, None, None]).astype(np.uint8)
            px[:2], px[-2:], px[:, :2], px[:, -2:] = 0, 0, 0, 0
            if c == 4:
                px[:, :, 3] = 255
        p = os.path.join(d, fname)
        T.write_png(p, px)
        paths.append(p)
        # what GdkPixbuf gives: gray -> RGB, gray+alpha -> RGBA
        if c == 1:
            px = np.repeat(px, 3, axis=2)
        pixels.append(px)
    for method in (["default", "grad-cam-tutorial"] if name == "cifar10" else ["default", "grad-cam"]):
        margs = [] if method == "default" else ["--method", method]
        jpath = os.path.join(d, f"out-{method}.json")
        rc, out, err = T.run(["--model", model, "--json", jpath, "-o", os.path.join(d, "blend-" + method) + "/",
                              "--jobs", "2"] + margs + paths)
        T.check(rc == 0, f"{name} {method}: exit {rc}: {err}")
        rc, out, err = T.run(["--model", model, "--heatmap", "-o",
                              os.path.join(d, "heat-" + method) + "/", "-q"] + margs + paths)
        T.check(rc == 0, f"{name} {method} --heatmap: exit {rc}: {err}")
        with open(jpath) as fh:
            doc = json.load(fh)
        T.check(doc["format"] == "cam-heatmap" and doc["version"] == 1, "format and version")
        doc_labels = doc["model"]["classes"]
        import networks
        T.check(doc_labels == networks.build(name).labels, f"canonical labels: {doc_labels}")
        T.check(len(doc["images"]) == len(paths), "one entry per image")
        for p, px, img in zip(paths, pixels, doc["images"]):
            T.check(img["file"] == p, f"file {img['file']} != {p}")
            stem = os.path.splitext(os.path.basename(p))[0] + ".png"
            check_image(name, model, trained, img, p, px,
                        os.path.join(d, "blend-" + method, stem),
                        os.path.join(d, "heat-" + method, stem), method)

# --class by label and by index, --alpha and --colormap overrides, --json - on stdout
model, _ = T.model_path("cifar10")
d = T.workdir("json")
p = os.path.join(d, "x.png")
px = T.test_image(7, 32, 32, 3)
T.write_png(p, px)
for spec, index in (("cat", 3), ("9", 9), ("Truck", 9)):
    rc, out, err = T.run(["-m", model, "--class", spec, "--alpha", "0.7", "--colormap", "viridis",
                          "-o", os.path.join(d, "c.png"), "--json", "-", p])
    T.check(rc == 0, f"--class {spec}: exit {rc}: {err}")
    doc = json.loads(out)
    img = doc["images"][0]
    T.check(img["class"]["index"] == index, f"--class {spec}: class {img['class']['index']}")
    T.check(img["colormap"] == "viridis", f"--colormap viridis: {img['colormap']}")
    ex, blend = T.engine_render(model, px, cls=index, kind="blend", alpha=0.7, colormap="viridis")
    T.check(img["map"]["values"] == ex["map"], f"--class {spec}: map differs from the engine")
    T.check(np.array_equal(T.read_png(os.path.join(d, "c.png")), blend),
            f"--class {spec} --alpha 0.7 --colormap viridis: pixels differ from the engine")

# other formats read through GdkPixbuf (lossless, so the pixels are known exactly): TIFF and
# WebP (webp-pixbuf-loader, in build-aux/debian-packages.txt)
from PIL import Image  # noqa: E402
for ext, kw in (("tif", {}), ("webp", {"lossless": True, "quality": 100})):
    px = T.test_image(31, 30, 41, 3)
    src = os.path.join(d, "fmt." + ext)
    Image.fromarray(px).save(src, **kw)
    dst = os.path.join(d, "fmt-" + ext + ".png")
    rc, out, err = T.run(["-m", model, "-o", dst, "-q", src])
    T.check(rc == 0, f"reading .{ext}: exit {rc}: {err}")
    if rc == 0:
        _, blend = T.engine_render(model, px, kind="blend")
        got = T.read_png(dst)
        if got.shape[2] == 4 and (got[:, :, 3] == 255).all():
            got = got[:, :, :3]  # GdkPixbuf's TIFF loader always adds an (opaque) alpha
        T.check(np.array_equal(got, blend), f".{ext}: pixels differ from the engine")
# writing other formats: the extension decides
for ext in ("jpg", "tif", "webp", "bmp"):
    dst = os.path.join(d, "written." + ext)
    rc, out, err = T.run(["-m", model, "-o", dst, "-q", p])
    T.check(rc == 0 and os.path.isfile(dst), f"writing .{ext}: exit {rc}: {err}")
    if rc == 0:
        with Image.open(dst) as im:
            T.check(im.size == (32, 32), f"written .{ext}: size {im.size}")
            want = {"jpg": "JPEG", "tif": "TIFF", "webp": "WEBP", "bmp": "BMP"}[ext]
            T.check(im.format == want, f"written .{ext}: format {im.format}")

# EXIF orientation: a sideways JPEG with orientation 6 (rotate 90 degrees clockwise to view)
from PIL import Image  # noqa: E402
upright = T.test_image(11, 40, 24, 3)             # 24 wide, 40 tall as viewed
stored = np.rot90(upright, k=1)                    # stored 40 wide, 24 tall
jpg = os.path.join(d, "sideways.jpg")
exif = Image.Exif()
exif[0x0112] = 6
Image.fromarray(np.ascontiguousarray(stored)).save(jpg, quality=100, exif=exif.tobytes())
rc, out, err = T.run(["-m", model, "--json", "-", "-o", os.path.join(d, "sideways.png"), jpg])
T.check(rc == 0, f"EXIF JPEG: exit {rc}: {err}")
img = json.loads(out)["images"][0]
T.check((img["width"], img["height"]) == (24, 40),
        f"EXIF orientation 6: size {img['width']}x{img['height']}, expected 24x40 (upright)")
with Image.open(jpg) as im:
    from PIL import ImageOps
    viewed = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
ex, blend = T.engine_render(model, viewed, kind="blend")
got = T.read_png(os.path.join(d, "sideways.png"))
T.check(got.shape == blend.shape, f"EXIF output shape {got.shape} != {blend.shape}")
if got.shape == blend.shape:
    # PIL and GdkPixbuf both decode with libjpeg; allow a 1-level difference from IDCT variants
    T.check(np.abs(got.astype(int) - blend.astype(int)).max() <= 1,
            "EXIF output differs from the engine's render of the upright pixels")

T.finish()
