#!/usr/bin/env python3
"""cam-model (info, set) and the model-describing flags of cam-heatmap.

- set writes gimp-cam's metadata into a copy of an ONNX file and nothing else
  changes: python onnx reads every other field equal, and the bytes with every
  metadata_props record (field 14) cut out, by an independent wire reader here,
  are identical; the edited entries are what was asked; setting the same values
  again gives the same bytes; --remove removes;
- info shows the file's SHA-256, the preprocessing (and what was assumed), labels,
  layers and defaults;
- bad values are refused naming the option, exit 2, and no file is written (an
  existing OUT keeps its bytes; no temporary file is left);
- cam-heatmap --labels / --mean / --resize ...: labels in the JSON, counts checked,
  a crop's heatmap covers exactly the pixels whose centres lie in the crop, the
  rest transparent; the notice about assumed preprocessing is printed once.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import (BUILD_DIR, SOURCE_DIR, check, finish, model_path, read_png,  # noqa: E402
                     run, skip, test_image, workdir, write_png)

try:
    import onnx
except ImportError:
    skip("python3-onnx is missing")

CAM_MODEL = os.path.join(BUILD_DIR, "engine", "cli", "cam-model")
TINY = os.path.join(SOURCE_DIR, "tests", "engine", "data", "tiny-gradcam.onnx")


def cam_model(*args):
    p = subprocess.run([CAM_MODEL] + [str(a) for a in args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def read_varint(b, pos):
    v, shift = 0, 0
    while True:
        c = b[pos]
        pos += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, pos


def without_metadata(b):
    """The ModelProto bytes with every field-14 record cut out (an independent reader)."""
    out, pos = bytearray(), 0
    while pos < len(b):
        start = pos
        tag, pos = read_varint(b, pos)
        wt = tag & 7
        if wt == 0:
            _, pos = read_varint(b, pos)
        elif wt == 1:
            pos += 8
        elif wt == 5:
            pos += 4
        elif wt == 2:
            n, pos = read_varint(b, pos)
            pos += n
        else:
            raise ValueError("wire type %d" % wt)
        if tag >> 3 != 14:
            out += b[start:pos]
    return bytes(out)


def metadata(path):
    return {p.key: p.value for p in onnx.load(path).metadata_props}


def same_outside_metadata(a, b, what):
    ma, mb = onnx.load(a), onnx.load(b)
    del ma.metadata_props[:]
    del mb.metadata_props[:]
    check(ma.SerializeToString() == mb.SerializeToString(),
          "%s: every field but metadata_props equal (python onnx)" % what)
    with open(a, "rb") as f:
        ba = f.read()
    with open(b, "rb") as f:
        bb = f.read()
    check(without_metadata(ba) == without_metadata(bb),
          "%s: bytes outside metadata_props identical" % what)


def main():
    if not os.path.exists(CAM_MODEL):
        skip("cam-model not built")
    d = workdir("cam-model")
    cifar, _ = model_path("cifar10")
    fashion, _ = model_path("fashion-mnist")

    # info on a model with metadata
    rc, out, err = cam_model("info", cifar)
    with open(cifar, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    check(rc == 0 and ("sha256:      " + digest) in out, "info: sha256 of the file (%d %s)" % (rc, err))
    check("N x 3 x 32 x 32" in out and "N x 10" in out, "info: input and output shapes")
    check("labels:      10 (airplane ... truck)" in out, "info: the labels")
    rc2, layers, _ = run(["-m", cifar, "--list-layers"])
    names = [l.split()[0] for l in layers.splitlines() if l.startswith("  ")]
    check(names and all(n in out for n in names), "info: every explainable layer is listed")
    check("default layer:" in out and "default method:" in out, "info: defaults")

    # a model without any metadata: the notice, '(assumed)'
    bare = os.path.join(d, "bare.onnx")
    m = onnx.load(cifar)
    del m.metadata_props[:]
    onnx.save(m, bare)
    rc, out, err = cam_model("info", bare)
    check(rc == 0 and "notice: model bare has no preprocessing metadata" in out
          and "(assumed)" in out and "labels:      none" in out,
          "info: a model without metadata says what was assumed")

    # set: round trip and byte identity
    labels = os.path.join(d, "labels.txt")
    with open(labels, "w") as f:
        f.write("\n".join("thing %d" % i for i in range(10)) + "\n")
    layer = names[-2] if len(names) > 1 else names[0]
    out1 = os.path.join(d, "edited.onnx")
    args = ["set", bare, "-o", out1, "--labels", labels, "--mean", "0.5,0.4,0.3",
            "--std", "0.2", "--scale", "1/255", "--channel-order", "bgr", "--resize", "36",
            "--crop", "32", "--interpolation", "bicubic", "--layer", layer, "--method",
            "grad-cam", "--colormap", "turbo", "--alpha", "0.3", "--name", "mine",
            "--description", "my model", "--set", "cam.provenance.note=hello"]
    rc, o, err = cam_model(*args)
    check(rc == 0 and os.path.isfile(out1), "set: writes the copy (%d %s)" % (rc, err))
    same_outside_metadata(bare, out1, "set on a file without metadata")
    md = metadata(out1)
    want = {"cam.labels": "\n".join("thing %d" % i for i in range(10)),
            "cam.input.mean": "0.5,0.4,0.3", "cam.input.std": "0.2",
            "cam.input.channel-order": "bgr", "cam.input.resize-policy": "crop",
            "cam.input.resize": "36", "cam.input.crop": "32",
            "cam.input.interpolation": "bicubic", "cam.default.layer": layer,
            "cam.default.method": "grad-cam", "cam.display.colormap": "turbo",
            "cam.display.alpha": "0.3", "cam.name": "mine", "cam.description": "my model",
            "cam.provenance.note": "hello"}
    check(all(md.get(k) == v for k, v in want.items()) and abs(float(md["cam.input.scale"]) - 1 / 255) < 1e-15,
          "set: the metadata asked for (%s)" % {k: md.get(k) for k in want if md.get(k) != want[k]})
    rc, info, _ = cam_model("info", out1)
    check(rc == 0 and "bgr" in info and "shorter side to 36, then centre crop 32x32" in info
          and "bicubic" in info and "labels:      10 (thing 0 ... thing 9)" in info
          and "notice" not in info and "(assumed)" not in info.split("default method")[0],
          "info shows what set wrote")
    # the same edit again on the edited file: identical bytes (entries replaced in place)
    out2 = os.path.join(d, "edited-again.onnx")
    rc, _, err = cam_model(*(["set", out1, "-o", out2] + args[4:]))
    with open(out1, "rb") as f1, open(out2, "rb") as f2:
        check(rc == 0 and f1.read() == f2.read(), "set twice with the same values: same bytes")
    # an edit of a model that has metadata keeps the other entries, in place
    out3 = os.path.join(d, "cifar-turbo.onnx")
    rc, _, err = cam_model("set", cifar, "-o", out3, "--colormap", "turbo", "--remove",
                           "cam.description")
    before, after = metadata(cifar), metadata(out3)
    expect = dict(before)
    expect["cam.display.colormap"] = "turbo"
    expect.pop("cam.description", None)
    check(rc == 0 and after == expect, "set on a model with metadata: one key changed, one removed")
    same_outside_metadata(cifar, out3, "set on the bundled cifar10")
    # in place
    inplace = os.path.join(d, "inplace.onnx")
    shutil.copy(cifar, inplace)
    rc, _, err = cam_model("set", inplace, "-o", inplace, "--alpha", "0.25")
    check(rc == 0 and metadata(inplace).get("cam.display.alpha") == "0.25", "set in place")
    leftovers = [f for f in os.listdir(d) if ".tmp-" in f]
    check(not leftovers, "no temporary files left (%s)" % leftovers)

    # errors: exit 2 naming the option, nothing written, an existing OUT untouched
    short = os.path.join(d, "three.txt")
    with open(short, "w") as f:
        f.write("a\nb\nc\n")
    blank = os.path.join(d, "blank.txt")
    with open(blank, "w") as f:
        f.write("a\n\nb\n")
    keep = os.path.join(d, "keep.onnx")
    shutil.copy(bare, keep)
    with open(keep, "rb") as f:
        keep_bytes = f.read()
    cases = [
        (["--layer", "no-such-tensor"], "--layer no-such-tensor", "cam.default.layer"),
        (["--colormap", "rainbow"], "--colormap rainbow", "unknown colormap"),
        (["--mean", "0.1,0.2"], "--mean 0.1,0.2", "2 values, but the model's input has 3 channels"),
        (["--std", "0,1,1"], "--std 0,1,1", "not a positive number"),
        (["--labels", short], "--labels", "3 labels, but the model has 10 classes"),
        (["--labels", blank], "--labels", "line 2 is empty"),
        (["--labels", "imagenet"], "--labels imagenet", "1000 labels, but the model has 10 classes"),
        (["--resize", "20"], "--resize 20", "cam.input.resize"),
        (["--crop", "30"], "--crop 30", "cam.input.crop"),
        (["--method", "score-cam"], "--method score-cam", "unknown method"),
        (["--alpha", "1.5"], "--alpha 1.5", "cam.display.alpha"),
        (["--resize-policy", "zoom"], "--resize-policy zoom", "stretch, crop, pad"),
        (["--scale", "0"], "--scale 0", "positive"),
        (["--layout", "nhwc"], "--layout nhwc", "cam.input.layout"),
    ]
    for extra, flag, reason in cases:
        rc, o, err = cam_model(*(["set", bare, "-o", keep] + extra))
        with open(keep, "rb") as f:
            kept = f.read() == keep_bytes
        check(rc == 2 and flag in err and reason in err and kept,
              "set %s: exit 2 naming the option and why, OUT untouched (%d: %s)"
              % (" ".join(extra), rc, err.strip()))
    rc, _, err = cam_model("set", fashion, "-o", os.path.join(d, "f.onnx"), "--channel-order", "bgr")
    check(rc == 2 and "channel-order" in err and not os.path.exists(os.path.join(d, "f.onnx")),
          "set --channel-order bgr on a gray model is refused (%s)" % err.strip())
    rc, _, err = cam_model("set", os.path.join(d, "missing.onnx"), "-o", os.path.join(d, "x.onnx"), "--alpha", "0.5")
    check(rc == 3 and "missing.onnx" in err, "a missing model: exit 3 naming it")
    garbage = os.path.join(d, "garbage.onnx")
    with open(garbage, "wb") as f:
        f.write(b"\xff" * 100)
    rc, _, err = cam_model("info", garbage)
    check(rc == 3 and "garbage.onnx" in err, "a garbage model: exit 3 naming it")
    rc, _, err = cam_model("set", bare, "-o", os.path.join(d, "no", "such", "dir.onnx"), "--alpha", "0.5")
    check(rc == 4 and "dir.onnx" in err and not os.path.exists(os.path.join(d, "no")),
          "an OUT in a missing folder: exit 4 naming it (%s)" % err.strip())
    rc, _, err = cam_model("set", bare, "--alpha", "0.5")
    check(rc == 2 and "--output" in err, "set without -o: usage error")
    rc, _, err = cam_model("frobnicate", bare)
    check(rc == 2 and "unknown command" in err, "an unknown command: usage error")
    check(not [f for f in os.listdir(d) if ".tmp-" in f], "no temporary files after errors")

    # an NHWC input read through its Transpose (TensorFlow converters): info says so,
    # --layout nhwc is accepted, nchw refused
    from onnx import TensorProto, helper
    rng = np.random.default_rng(3)

    def init(name, shape):
        return helper.make_tensor(name, TensorProto.FLOAT, shape,
                                  rng.standard_normal(shape).astype(np.float32).ravel().tolist())
    g = helper.make_graph(
        [helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
         helper.make_node("Conv", ["nchw", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["features"]),
         helper.make_node("GlobalAveragePool", ["features"], ["gap"]),
         helper.make_node("Flatten", ["gap"], ["flat"]),
         helper.make_node("Gemm", ["flat", "fw", "fb"], ["logits"], transB=1)],
        "nhwc", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 8, 8, 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 4])],
        initializer=[init("w", [5, 3, 3, 3]), init("b", [5]), init("fw", [4, 5]), init("fb", [4])])
    nhwc = os.path.join(d, "nhwc.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), nhwc)
    rc, out, err = cam_model("info", nhwc)
    check(rc == 0 and "input:       image  N x 8 x 8 x 3 (N x H x W x C, read through its Transpose)" in out,
          "info: an NHWC input (%d %s)" % (rc, err))
    rc, _, err = cam_model("set", nhwc, "-o", os.path.join(d, "nhwc-ok.onnx"), "--layout", "nhwc")
    check(rc == 0 and metadata(os.path.join(d, "nhwc-ok.onnx")).get("cam.input.layout") == "nhwc",
          "set --layout nhwc on an NHWC model (%s)" % err.strip())
    rc, _, err = cam_model("set", nhwc, "-o", os.path.join(d, "nhwc-bad.onnx"), "--layout", "nchw")
    check(rc == 2 and "--layout nchw" in err and not os.path.exists(os.path.join(d, "nhwc-bad.onnx")),
          "set --layout nchw on an NHWC model is refused (%s)" % err.strip())

    # an NHWC input normalised before its Transpose (Keras Rescaling): --layout nhwc puts
    # a Transpose in front; the probabilities equal ONNX Runtime's on the NHWC pixels
    g2 = helper.make_graph(
        [helper.make_node("Mul", ["image", "k"], ["scaled"]),
         helper.make_node("Transpose", ["scaled"], ["nchw"], perm=[0, 3, 1, 2]),
         helper.make_node("Conv", ["nchw", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["features"]),
         helper.make_node("GlobalAveragePool", ["features"], ["gap"]),
         helper.make_node("Flatten", ["gap"], ["flat"]),
         helper.make_node("Gemm", ["flat", "fw", "fb"], ["logits"], transB=1)],
        "nhwc2", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 8, 8, 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 4])],
        initializer=[helper.make_tensor("k", TensorProto.FLOAT, [1], [2.0]), init("w", [5, 3, 3, 3]),
                     init("b", [5]), init("fw", [4, 5]), init("fb", [4])])
    scaled = os.path.join(d, "nhwc-scaled.onnx")
    onnx.save(helper.make_model(g2, opset_imports=[helper.make_opsetid("", 13)]), scaled)
    pix = test_image(11, 8, 8, 3)
    small = os.path.join(d, "small.png")
    write_png(small, pix)
    rc, o, err = run(["-m", scaled, "-q", small])
    check(rc != 0 and "cam.input.layout to nhwc" in err,
          "an NHWC input read as NCHW: the error suggests --layout nhwc (%s)" % err.strip())
    fixed = os.path.join(d, "nhwc-scaled-fixed.onnx")
    rc, o, err = cam_model("set", scaled, "-o", fixed, "--layout", "nhwc")
    rc2, info, _ = cam_model("info", fixed)
    check(rc == 0 and "N x 8 x 8 x 3 (N x H x W x C" in info,
          "set --layout nhwc on an NHWC model normalised before its Transpose (%s)" % err.strip())
    rc, o, err = run(["-m", fixed, "--top", "4", "--json", "-", "-q", small])
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(scaled, providers=["CPUExecutionProvider"])
        logits = sess.run(None, {"image": (pix[None].astype(np.float32) / 255.0)})[0][0]
        ref = np.exp(logits - logits.max())
        ref /= ref.sum()
        preds = json.loads(o)["images"][0]["predictions"] if rc == 0 else []
        ours = np.zeros(4)
        for p in preds:
            ours[p["index"]] = p["probability"]
        check(len(preds) == 4 and float(np.abs(ours - ref).max()) <= 1e-5,
              "NHWC model with --layout nhwc: probabilities equal ONNX Runtime's (%s vs %s, %s)"
              % (ours, ref, err.strip()))
    except ImportError:
        print("SKIP: onnxruntime missing: NHWC probabilities not compared")

    # cam-heatmap with the same flags
    img = os.path.join(d, "wide.png")
    write_png(img, test_image(7, 32, 64, 3))
    rc, o, err = run(["-m", cifar, "--labels", labels, "--json", "-", "-q", img])
    doc = json.loads(o) if rc == 0 else {}
    top = doc.get("images", [{}])[0].get("predictions", []) if doc else []
    check(rc == 0 and top and all(t["label"].startswith("thing ") for t in top),
          "cam-heatmap --labels FILE: the JSON uses the labels (%d %s)" % (rc, err))
    inp = doc.get("model", {}).get("input", {}) if doc else {}
    check(inp.get("channel_order") == "rgb" and inp.get("resize_policy") == "stretch"
          and "resize_policy" in inp.get("assumed", []) and "scale" not in inp.get("assumed", ["scale"]),
          "cam-heatmap --json: the model's preprocessing and what was assumed (%s)" % inp)
    rc, o, err = run(["-m", bare, "--resize", "36", "--mean", "0.5", "--json", "-", "-q", img])
    inp = json.loads(o).get("model", {}).get("input", {}) if rc == 0 else {}
    check(inp.get("resize_policy") == "crop" and inp.get("resize") == 36
          and inp.get("mean") == [0.5, 0.5, 0.5] and inp.get("assumed") == ["scale", "channel_order"],
          "cam-heatmap --json with --resize and --mean (%s)" % inp)
    rc, o, err = run(["-m", cifar, "--labels", short, img])
    check(rc == 2 and "--labels" in err and "3 labels, but the model has 10 classes" in err,
          "cam-heatmap --labels with the wrong count: exit 2 (%s)" % err.strip())
    rc, o, err = run(["-m", cifar, "--mean", "1,2", img])
    check(rc == 2 and "--mean" in err, "cam-heatmap --mean with the wrong count: exit 2")
    # crop: the heatmap covers the pixels whose centres lie in the crop, the rest clear
    heat = os.path.join(d, "heat.png")
    rc, o, err = run(["-m", cifar, "--resize", "36", "--interpolation", "bilinear", "--heatmap",
                      "-o", heat, img])
    px = read_png(heat) if rc == 0 else None
    ok = px is not None and px.shape == (32, 64, 4)
    if ok:
        inside = np.zeros((32, 64), bool)
        inside[2:30, 18:46] = True  # Resize(36): 72x36, crop 32 at (20, 2); centres in [17.8, 46.2) x [1.8, 30.2)
        ok = bool((px[..., 3][inside] == 255).all() and (px[..., 3][~inside] == 0).all())
    check(ok, "cam-heatmap --resize 36: heatmap exactly on the crop, transparent elsewhere (%d %s)"
          % (rc, err))
    # the notice: once, on stderr, for a model without preprocessing metadata
    rc, o, err = run(["-m", bare, "-q", img, img])
    check(rc == 0 and err.count("notice: model bare has no preprocessing metadata") == 1,
          "cam-heatmap: the notice about assumed preprocessing, once (%s)" % err.strip())
    rc, o, err = run(["-m", cifar, "-q", img])
    check(rc == 0 and "notice" not in err, "no notice for a model with preprocessing metadata")
    rc, o, err = run(["-m", bare, "--mean", "0.5", "-q", img])
    check(rc == 0 and "notice" not in err, "no notice once --mean describes the input")
    finish()


if __name__ == "__main__":
    main()
