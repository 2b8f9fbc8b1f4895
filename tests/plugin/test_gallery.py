#!/usr/bin/env python3
"""The Script-Fu gallery helper (gimp-cam-heatmap-gallery in plugin/gimp-cam-batch.scm), in a
real GIMP 3 (gimp-console, batch mode):

- a folder of images becomes one new image with one layer per readable image, in file-name
  order from the top of the stack, each named "<file>: <label> <probability>%" with the
  label and probability cam-heatmap gives for that file;
- the layers lie on a grid without overlapping; each layer's pixels (the image merged with
  its heatmap layer) equal cam-heatmap's blend of the same file (+-1, as the batch test);
- an unreadable file is reported ("FAILED") and left out;
- the class argument keeps only the images predicted as that class;
- a missing folder is an error (non-zero exit).
"""
import json
import os
import re
import shutil
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gimptest  # noqa: E402
from gimptest import check  # noqa: E402

gimp = gimptest.Gimp("gallery")
work = gimp.work
photos = os.path.join(work, "photos")
os.makedirs(photos)
shutil.copy(gimptest.SAMPLE, os.path.join(photos, "a-sample.png"))
rng = np.random.default_rng(3)
y, x = np.mgrid[0:28, 0:28]
shoe = ((np.abs(y - 18) < 5) & (x > 4) & (x < 25)) * 220 + rng.integers(0, 30, (28, 28))
Image.fromarray(shoe.astype(np.uint8), "L").save(os.path.join(photos, "b-shoe.png"))
Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(
    os.path.join(photos, "c-noise.png"))
with open(os.path.join(photos, "d-broken.png"), "wb") as f:
    f.write(b"not an image")
files = ["a-sample.png", "b-shoe.png", "c-noise.png"]

LIST = ('(let* ((image (gimp-cam-heatmap-gallery "photos" "%s" "default" %d %s))'
        ' (layers (car (gimp-image-get-layers image))))'
        ' (let loop ((i 0)) (if (< i (vector-length layers))'
        ' (let* ((l (vector-ref layers i)) (o (gimp-drawable-get-offsets l)))'
        ' (display (string-append "LAYER|" (car (gimp-item-get-name l)) "|"'
        ' (number->string (car o)) "|" (number->string (cadr o)) "|"'
        ' (number->string (car (gimp-drawable-get-width l))) "|"'
        ' (number->string (car (gimp-drawable-get-height l))))) (newline) (loop (+ i 1)))))'
        ' (gimp-image-flatten image)'
        ' (gimp-file-save RUN-NONINTERACTIVE image "%s" -1))')


def layers_of(out):
    return [(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)))
            for m in re.finditer(r"^LAYER\|(.*)\|(-?\d+)\|(-?\d+)\|(\d+)\|(\d+)$", out, re.M)]


# cam-heatmap's view of each file: prediction and blend, for both models
cli, cifar = {}, {}
for f in files:
    path = os.path.join(photos, f)
    for model, table in (("fashion-mnist", cli), ("cifar10", cifar)):
        blend = os.path.join(work, f + "." + model + ".png")
        rc, so, se = gimptest.cli(["-m", model, "-q", "-o", blend, "--json", "-", path])
        check(rc == 0, f"cam-heatmap {f}: {se}")
        cls = json.loads(so)["images"][0]["class"]
        table[f] = (cls["label"], cls["probability"], gimptest.read_png(blend)[:, :, :3])

# 1. the whole folder, 2 columns
rc, out = gimp.run(LIST % ("fashion-mnist", 2, '""', "gallery.png"))
print(out[-3000:])
check(rc == 0, f"gallery helper: exit {rc}:\n{out[-2000:]}")
check("d-broken.png: FAILED" in out, "the unreadable file is reported:\n" + out[-1500:])
layers = layers_of(out)
check(len(layers) == 3, f"{len(layers)} layers, expected 3:\n{out[-2000:]}")
sheet = gimptest.read_png(os.path.join(work, "gallery.png"))[:, :, :3] \
    if os.path.isfile(os.path.join(work, "gallery.png")) else None
check(sheet is not None, "the flattened gallery was exported")
for (name, lx, ly, w, h), f in zip(layers, files):
    label, prob, blend = cli[f]
    want = f"{f}: {label} {round(prob * 1000) / 10:g}%"
    m = re.match(r"(.*): (.*) ([0-9.]+)%$", name)
    check(m is not None and m.group(1) == f and m.group(2) == label
          and abs(float(m.group(3)) - prob * 100) <= 0.051,
          f"layer name {name!r}, expected about {want!r}")
    check((w, h) == (blend.shape[1], blend.shape[0]), f"{f}: layer {w}x{h}, image "
          f"{blend.shape[1]}x{blend.shape[0]}")
    if sheet is not None and (w, h) == (blend.shape[1], blend.shape[0]):
        crop = sheet[ly:ly + h, lx:lx + w]
        diff = np.abs(crop.astype(int) - blend.astype(int)).max() if crop.shape == blend.shape \
            else 999
        check(diff <= 1, f"{f}: the layer differs from cam-heatmap's blend by {diff}")
rects = [(lx, ly, lx + w, ly + h) for _, lx, ly, w, h in layers]
for i, a in enumerate(rects):
    for b in rects[i + 1:]:
        check(a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1],
              f"layers {a} and {b} overlap")
if len(rects) == 3:
    # layers are centred in their cells: compare centres
    cx = [(a[0] + a[2]) / 2 for a in rects]
    cy = [(a[1] + a[3]) / 2 for a in rects]
    check(abs(cy[0] - cy[1]) <= 0.5 and cx[0] < cx[1] and cy[2] > cy[0] + 10
          and abs(cx[2] - cx[0]) <= 0.5,
          f"2 columns: the first two layers side by side, the third below the first: {rects}")

# 2. only one class (CIFAR-10, whose predictions of the three images differ)
label = cifar["a-sample.png"][0]
want = [f for f in files if cifar[f][0] == label]
check(len(want) < len(files), f"the class test needs an image of another class: {cifar}")
rc, out = gimp.run(LIST % ("cifar10", 0, '"%s"' % label, "class.png"))
got = [n.split(":")[0] for n, *_ in layers_of(out)]
check(rc == 0 and got == want, f"class {label}: layers {got}, expected {want}:\n{out[-1500:]}")

# 3. a missing folder
rc, out = gimp.run('(gimp-cam-heatmap-gallery "no-such-folder" "cifar10" "default" 0 "")')
check(rc != 0 and "no-such-folder does not exist" in out,
      f"missing folder: exit {rc}:\n{out[-1500:]}")

gimptest.finish()
