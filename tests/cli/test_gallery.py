"""cam-heatmap --gallery: contact sheets of blended maps.

- every tile is, pixel for pixel, the image `cam-heatmap -o` writes for the same image,
  magnified by whole-pixel replication (the tile's rectangle comes from --json, and the
  crop must equal np.repeat of the single-image output exactly);
- image lists: all images, or only those predicted as --class; an unreadable file is
  reported (exit 1) and the others are shown;
- data sets (skipped without $CAM_DATA_DIR): --class picks the first images *predicted* as
  the class (checked against --evaluate --per-image's predictions), --true-class the first
  *labelled* with it; wrong predictions get a red frame, right ones none; the tiles equal
  the single-image outputs of the same samples written as PNG (--invert off, as for IDX);
- the sheet's bytes do not depend on --jobs;
- usage errors (exit 2) and an empty selection (exit 1) write nothing.
"""
import filecmp
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as T  # noqa: E402

d = T.workdir("gallery")
FASHION, _ = T.model_path("fashion-mnist")
CIFAR, _ = T.model_path("cifar10")


def single(model, path, *extra):
    out = path + ".single.png"
    rc, so, se = T.run(["-m", model, "-q", "-o", out] + list(extra) + [path])
    T.check(rc == 0, f"single output of {path}: exit {rc}: {se}")
    return T.read_png(out)


def gallery(args, name):
    out = os.path.join(d, name + ".png")
    j = os.path.join(d, name + ".json")
    rc, so, se = T.run(["--gallery", out, "--json", j, "-q"] + args)
    doc = None
    if os.path.exists(j):
        with open(j) as f:
            doc = json.load(f)
    return rc, se, out, doc


def check_tile(sheet, tile, expect, what):
    """The sheet's rectangle of `tile` is `expect` magnified by tile['scale']."""
    f = tile["scale"]
    if not T.check(float(f).is_integer() and f >= 1, f"{what}: scale {f} is not a whole number"):
        return
    f = int(f)
    x, y, w, h = tile["x"], tile["y"], tile["width"], tile["height"]
    T.check((w, h) == (expect.shape[1] * f, expect.shape[0] * f),
            f"{what}: tile {w}x{h}, single output {expect.shape[1]}x{expect.shape[0]} x{f}")
    crop = sheet[y:y + h, x:x + w, :3]
    big = np.repeat(np.repeat(expect[:, :, :3], f, axis=0), f, axis=1)
    if T.check(crop.shape == big.shape, f"{what}: crop {crop.shape} vs {big.shape}"):
        diff = np.abs(crop.astype(int) - big.astype(int)).max()
        T.check(diff == 0, f"{what}: the tile differs from the single-image output by {diff}")


def check_no_overlap(doc, sheet):
    rects = [(t["x"], t["y"], t["x"] + t["width"], t["y"] + t["height"]) for t in doc["tiles"]]
    for i, a in enumerate(rects):
        T.check(a[0] >= 0 and a[1] >= 0 and a[2] <= sheet.shape[1] and a[3] <= sheet.shape[0],
                f"tile {i} {a} outside the sheet {sheet.shape}")
        for b in rects[i + 1:]:
            T.check(a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1],
                    f"tiles {a} and {b} overlap")


# 1. A list of images of several sizes and layouts (fashion-mnist: greens-reds).
files = []
for i, (h, w, c) in enumerate([(28, 28, 1), (40, 30, 3), (28, 28, 3), (56, 28, 1), (33, 47, 3)]):
    p = os.path.join(d, f"img{i}.png")
    T.write_png(p, T.test_image(300 + i, h, w, c))
    files.append(p)
rc, se, out, doc = gallery(["-m", FASHION, "--columns", "3"] + files, "list")
T.check(rc == 0, f"list gallery: exit {rc}: {se}")
if doc:
    sheet = T.read_png(out)
    T.check(doc["format"] == "cam-heatmap-gallery" and len(doc["tiles"]) == len(files),
            f"list gallery: {len(doc['tiles'])} tiles")
    check_no_overlap(doc, sheet)
    for t, p in zip(doc["tiles"], files):
        T.check(t["name"] == p, f"tile order: {t['name']} vs {p}")
        T.check(t["label"] is None, "an image file has no true label")
        check_tile(sheet, t, single(FASHION, p), f"list {os.path.basename(p)}")
    # the same sheet for --jobs 1 and 3
    rc1, _, out1, _ = gallery(["-m", FASHION, "--columns", "3", "--jobs", "1"] + files, "list-j1")
    rc3, _, out3, _ = gallery(["-m", FASHION, "--columns", "3", "--jobs", "3"] + files, "list-j3")
    T.check(rc1 == 0 and rc3 == 0 and filecmp.cmp(out1, out3, shallow=False),
            "list gallery: --jobs 1 and --jobs 3 give different bytes")
    T.check(filecmp.cmp(out, out1, shallow=False), "list gallery: two runs differ")

    # --class: only the images predicted as that class, in order; explained for it
    cls = doc["tiles"][0]["predicted"]["label"]
    want = [t["name"] for t in doc["tiles"] if t["predicted"]["label"] == cls]
    rc, se, out2, doc2 = gallery(["-m", FASHION, "--class", cls] + files, "list-class")
    T.check(rc == 0, f"--class {cls}: exit {rc}: {se}")
    if doc2:
        T.check([t["name"] for t in doc2["tiles"]] == want,
                f"--class {cls}: {[t['name'] for t in doc2['tiles']]}, expected {want}")

# --offset and --limit count the files
rc, se, out, doc = gallery(["-m", FASHION, "--offset", "1", "--limit", "2"] + files, "slice")
T.check(rc == 0 and doc and [t["name"] for t in doc["tiles"]] == files[1:3],
        f"--offset 1 --limit 2: {doc and [t['name'] for t in doc['tiles']]} {se}")

# CIFAR-10 (jet), a tile size that reduces a large image
big = os.path.join(d, "big.png")
T.write_png(big, T.test_image(7, 150, 200, 3))
rc, se, out, doc = gallery(["-m", CIFAR, "--tile-size", "96", files[1], files[2]], "cifar")
T.check(rc == 0, f"cifar gallery: exit {rc}: {se}")
if doc:
    sheet = T.read_png(out)
    for t, p in zip(doc["tiles"], files[1:3]):
        check_tile(sheet, t, single(CIFAR, p), f"cifar {os.path.basename(p)}")
rc, se, out, doc = gallery(["-m", CIFAR, "--tile-size", "64", big], "reduced")
T.check(rc == 0 and doc and doc["tiles"][0]["width"] == 64 and doc["tiles"][0]["height"] == 48,
        f"a 200x150 image in 64-pixel tiles is 64x48: {doc and doc['tiles'][0]} {se}")

# an unreadable file: reported, the others shown, exit 1
broken = os.path.join(d, "broken.png")
with open(broken, "wb") as f:
    f.write(b"not a png")
rc, se, out, doc = gallery(["-m", FASHION, files[0], broken, files[1]], "with-broken")
T.check(rc == 1 and "broken.png" in se, f"unreadable file: exit {rc}: {se}")
T.check(doc is not None and [t["name"] for t in doc["tiles"]] == [files[0], files[1]],
        "unreadable file: the two others are in the gallery")

# 2. Usage errors and an empty selection: nothing written
for args, code, what in [
        (["--gallery", os.path.join(d, "x.txt"), files[0]], 2, "unknown format"),
        (["--gallery", os.path.join(d, "no", "such", "g.png"), files[0]], 2, "missing folder"),
        (["--gallery", os.path.join(d, "e.png"), "--true-class", "Bag", files[0]], 2,
         "--true-class without a data set"),
        (["--gallery", os.path.join(d, "e.png"), "--tile-size", "3", files[0]], 2, "tile size"),
        (["--gallery", os.path.join(d, "e.png"), "--class", "nosuch", files[0]], 2,
         "unknown class"),
        (["--gallery", files[0], files[0]], 2, "the gallery is an input"),
        (["--gallery", os.path.join(d, "e.png"), "--dataset", d, files[0]], 2, "both"),
        (["--dataset", d], 2, "--dataset without --gallery")]:
    before = open(files[0], "rb").read()
    rc, so, se = T.run(["-m", FASHION] + args)
    T.check(rc == code, f"{what}: exit {rc}, expected {code}: {se}")
    T.check(se.strip() != "", f"{what}: no message")
    T.check(not os.path.exists(os.path.join(d, "e.png")), f"{what}: a gallery was written")
    T.check(open(files[0], "rb").read() == before, f"{what}: the input changed")

# 3. Data sets
data = None
for cand in (os.environ.get("CAM_DATA_DIR"), os.environ.get("CAM_DATA_DIR_DEFAULT")):
    if cand and os.path.isdir(os.path.join(cand, "fashion-mnist")):
        data = cand
        break
if data is None:
    print("SKIP (partly): no data sets in $CAM_DATA_DIR: the data set galleries are not checked")
    T.finish()

sys.path.insert(0, os.path.join(T.SOURCE_DIR, "weights"))
import datasets  # noqa: E402

fm = os.path.join(data, "fashion-mnist")
images, labels, _ = datasets.load("fashion-mnist", data, "test")
j = os.path.join(d, "eval.json")
rc, so, se = T.run(["-m", FASHION, "--evaluate", fm, "--limit", "300", "--no-faithfulness",
                    "--per-image", "--json", j, "-q"])
T.check(rc == 0, f"evaluate: {se}")
with open(j) as f:
    per = json.load(f)["per_image"]
pred = [p["predicted"] for p in per]


def sample_png(i):
    p = os.path.join(d, f"fm-{i}.png")
    if not os.path.exists(p):
        T.write_png(p, images[i].transpose(1, 2, 0))
    return p


for cls, opt, limit in [(7, "--class", 6), (6, "--true-class", 12)]:
    label = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
             "Bag", "Ankle boot"][cls]
    args = ["-m", FASHION, "--dataset", fm, opt, label, "--limit", str(limit), "--columns", "4"]
    rc, se, out, doc = gallery(args, f"ds-{cls}")
    T.check(rc == 0, f"{opt} {label}: exit {rc}: {se}")
    if not doc:
        continue
    if opt == "--class":
        want = [i for i in range(len(pred)) if pred[i] == cls][:limit]
    else:
        want = [i for i in range(len(labels)) if labels[i] == cls][:limit]
    got = [int(t["name"].lstrip("#")) for t in doc["tiles"]]
    T.check(got == want, f"{opt} {label}: samples {got}, expected {want}")
    sheet = T.read_png(out)
    check_no_overlap(doc, sheet)
    wrong_seen = 0
    for t, i in zip(doc["tiles"], got):
        T.check(t["label"]["index"] == int(labels[i]), f"#{i}: true label")
        if i < len(pred):
            T.check(t["predicted"]["index"] == pred[i], f"#{i}: prediction differs from --evaluate")
        check_tile(sheet, t, single(FASHION, sample_png(i), "--invert", "off"), f"sample #{i}")
        # the frame round the tile: red when wrong, white when right
        x, y = t["x"], t["y"]
        ring = sheet[y - 2, x + 2:x + t["width"] - 2, :3].astype(int)
        red = (ring[:, 0] > 150) & (ring[:, 1] < 80) & (ring[:, 2] < 80)
        white = (ring == 255).all(axis=1)
        if t["label"]["index"] != t["predicted"]["index"]:
            wrong_seen += 1
            T.check(red.all(), f"#{i}: a wrong prediction without a red frame")
        else:
            T.check(white.all(), f"#{i}: a right prediction with a frame")
    if opt == "--true-class":
        T.check(wrong_seen > 0, "Shirt is often mistaken: expected a wrong tile among 12")
    # --jobs does not change the bytes
    rc1, _, o1, _ = gallery(args + ["--jobs", "1"], f"ds-{cls}-j1")
    rc2, _, o2, _ = gallery(args + ["--jobs", "2"], f"ds-{cls}-j2")
    T.check(rc1 == 0 and rc2 == 0 and filecmp.cmp(o1, o2, shallow=False)
            and filecmp.cmp(o1, out, shallow=False), f"{opt} {label}: --jobs changes the bytes")

# no match within the slice (the last test image, labelled otherwise): exit 1, nothing written
empty = os.path.join(d, "none.png")
other = ["T-shirt/top", "Trouser"][1 if int(labels[9999]) == 0 else 0]
rc, so, se = T.run(["-m", FASHION, "--gallery", empty, "--dataset", fm, "--offset", "9999",
                    "--true-class", other, "-q"])
T.check(rc == 1 and other in se and not os.path.exists(empty),
        f"empty selection: exit {rc}: {se}")

# CIFAR-10: RGB samples, jet
if os.path.isdir(os.path.join(data, "cifar-10")):
    cimages, clabels, _ = datasets.load("cifar10", data, "test")
    rc, se, out, doc = gallery(["-m", CIFAR, "--dataset", os.path.join(data, "cifar-10"),
                                "--true-class", "cat", "--limit", "3"], "cifar-cat")
    T.check(rc == 0, f"cifar cat: exit {rc}: {se}")
    if doc:
        sheet = T.read_png(out)
        for t in doc["tiles"]:
            i = int(t["name"].lstrip("#"))
            T.check(int(clabels[i]) == 3, f"cifar #{i} is not a cat")
            p = os.path.join(d, f"c-{i}.png")
            T.write_png(p, cimages[i].transpose(1, 2, 0))
            check_tile(sheet, t, single(CIFAR, p, "--invert", "off"), f"cifar #{i}")

T.finish()
