#!/usr/bin/env python3
"""Every explanation method of the engine through plug-in-cam-heatmap, in a real GIMP 3,
headless (issue 13; tests/plugin/gimp_checks.py's "methods" part runs inside GIMP):

- plug-in-cam-methods (the dialog's Method list and tooltips) gives "default" and then
  exactly the engine's method names, as cam-heatmap --help lists them (so a method
  added to the engine must appear), each with a distinct display name (Grad-CAM++,
  Score-CAM, ...) and the engine's one-line summary as its description;
- each method runs on fashion-mnist (small: the perturbation methods too) and names
  its layer "<display name>: <label> <probability>%";
- the Score-CAM and Grad-CAM++ layers, and LayerCAM on cifar10 with eigen and
  augmentation smoothing, equal cam-heatmap's --heatmap output pixel for pixel.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gimptest  # noqa: E402
from gimptest import check  # noqa: E402

ENGINE_METHODS = gimptest.engine_methods()
METHOD_NAMES = [n for n, _ in ENGINE_METHODS]
gimp = gimptest.Gimp("methods")
res = gimp.run_python(os.path.join(gimptest.HERE, "gimp_checks.py"),
                      {"part": "methods", "methods": METHOD_NAMES,
                       "dump_methods": ["score-cam", "grad-cam++"]}, timeout=480)
if res is None:
    print("FAIL: the GIMP script wrote no results")
    sys.exit(1)
cases = res["cases"]
for name, c in cases.items():
    if "exception" in c:
        check(False, f"{name}: exception inside GIMP:\n{c['exception']}")
from PIL import Image  # noqa: E402
import numpy as np  # noqa: E402
W, H = Image.open(gimptest.SAMPLE).size
work = gimp.work


def raw(name, w, h):
    return gimptest.read_raw(os.path.join(work, name + ".raw"), w, h, 4, "uint8")


def cli_render(src, *args, name="cli"):
    out = os.path.join(work, name + "-out.png")
    rc, so, se = gimptest.cli(list(args) + ["-q", "-o", out, src])
    if not check(rc == 0, f"cam-heatmap {' '.join(args)} ran (rc {rc}: {se.strip()})"):
        return None
    return gimptest.read_png(out)


def same(a, b, what):
    if a is None or b is None:
        return check(False, what + ": missing pixels")
    if not check(a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"):
        return False
    d = np.abs(a.astype(np.int32) - b.astype(np.int32))
    return check(d.max() == 0, f"{what}: max difference {d.max()} ({(d > 0).sum()} samples)")


def ok(name):
    c = cases.get(name, {})
    return check(c.get("status") == res["success"],
                 f"{name}: success (got {c.get('status')}: {c.get('error')})")


c = cases.get("every_method", {})
if check("choice" in c, "every_method: the case ran"):
    print(f"every_method: {len(c['runs'])} plug-in calls in {c['seconds']:.1f} s")
    check(c["methods_status"] == res["success"], "plug-in-cam-methods: success")
    choice = c["choice"]
    check([n for n, _, _ in choice] == ["default"] + METHOD_NAMES,
          f"the dialog's method list = \"default\" + the engine's methods: {[n for n, _, _ in choice]}")
    for name, label, help_ in choice[1:]:
        summary = dict(ENGINE_METHODS).get(name)
        check(help_ == summary, f"{name}: its tooltip is the engine's summary ({help_!r})")
        check(bool(label) and label != name, f"{name}: a display name ({label!r})")
    labels = dict((n, l) for n, l, _ in choice)
    check(labels.get("grad-cam++") == "Grad-CAM++" and labels.get("score-cam") == "Score-CAM",
          f"display names Grad-CAM++, Score-CAM ({labels.get('grad-cam++')!r}, {labels.get('score-cam')!r})")
    check(len(set(labels.values())) == len(labels), "the display names are distinct")
    for name in METHOD_NAMES:
        r = c["runs"].get(name, {})
        if name == "cam" or check(r.get("status") == res["success"],
                                  f"method {name} on fashion-mnist: success ({r.get('error')})"):
            want = f"{labels.get(name)}: {r.get('label')} {100 * r.get('probability', 0):.1f}%"
            check(r.get("name") == want, f"method {name}: layer name {r.get('name')!r} = {want!r}")
    check(c["runs"].get("cam", {}).get("status") == res["success"],
          "cam on fashion-mnist (it has the CAM structure)")
    for name in ("score-cam", "grad-cam++"):
        if c["runs"].get(name, {}).get("status") == res["success"]:
            same(raw("method_" + name, W, H)[:, :, :3],
                 cli_render(gimptest.SAMPLE, "-m", "fashion-mnist", "-M", name, "--heatmap",
                            name="method-" + name),
                 f"{name} heatmap layer = cam-heatmap -M {name}")

if ok("method_smoothing"):
    c = cases["method_smoothing"]
    check(c["name"].startswith("LayerCAM: "), f"layer name {c['name']!r}")
    same(raw("method_smoothing", W, H)[:, :, :3],
         cli_render(gimptest.SAMPLE, "-m", "cifar10", "-M", "layer-cam", "--eigen-smooth",
                    "--aug-smooth", "--heatmap", name="smoothing"),
         "layer-cam, eigen and aug smoothing = cam-heatmap --eigen-smooth --aug-smooth")
    plain = cli_render(gimptest.SAMPLE, "-m", "cifar10", "-M", "layer-cam", "--heatmap",
                       name="no-smoothing")
    check(plain is None or (raw("method_smoothing", W, H)[:, :, :3] != plain).any(),
          "the smoothing options change the map (they reach the engine)")


gimptest.finish()
