"""cam-heatmap --evaluate DATASET --report DIR: the static HTML report.

- every number on the page (data-key / data-value beside the shown text) equals the JSON
  written by the same run (--json), and the shown text is that value rounded; every
  number the JSON has for the summary, the classes, the confusion matrix and the methods
  is on the page; the charts' data are the JSON's mean curves;
- the mean curves are consistent with the per-image data: their trapezoidal area is the
  mean AUC, deletion starts and insertion ends at the mean probability of the prediction;
- the page is self-contained: no script, nothing from the network, and every file it
  refers to exists (the gallery PNGs, one per predicted class plus the mistakes);
- the galleries show what they say (class-NN.png: the first images predicted as NN);
- a real browser (Debian's chromium, --headless --screenshot) loads and draws it;
- --report without --evaluate, and a report path that is a file, are usage errors.
Needs the data sets ($CAM_DATA_DIR); exits 77 without them.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as T  # noqa: E402

data = None
for cand in (os.environ.get("CAM_DATA_DIR"), os.environ.get("CAM_DATA_DIR_DEFAULT")):
    if cand and os.path.isdir(os.path.join(cand, "fashion-mnist")):
        data = cand
        break

d = T.workdir("report")
FASHION, _ = T.model_path("fashion-mnist")

# usage errors first (no data needed)
rc, so, se = T.run(["-m", FASHION, "--report", os.path.join(d, "r0")])
T.check(rc == 2 and "--report" in se, f"--report without --evaluate: exit {rc}: {se}")
afile = os.path.join(d, "afile")
open(afile, "w").close()
if data:
    rc, so, se = T.run(["-m", FASHION, "--evaluate", os.path.join(data, "fashion-mnist"),
                        "--limit", "5", "--report", afile])
    T.check(rc == 2 and "afile" in se and os.path.getsize(afile) == 0,
            f"--report to a file: exit {rc}: {se}")
else:
    T.skip("no data sets in $CAM_DATA_DIR")


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values = {}     # data-key -> (data-value, shown text)
        self.curves = {}     # data-key -> [floats]
        self.refs = []       # src / href values
        self.tags = set()
        self._open = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        for k in ("src", "href"):
            if k in a:
                self.refs.append(a[k])
        if "data-values" in a:
            self.curves[a["data-key"]] = [float(v) for v in a["data-values"].split()]
        elif "data-key" in a:
            self._open = (a["data-key"], a["data-value"])
            self._text = ""

    def handle_data(self, text):
        if self._open:
            self._text += text

    def handle_endtag(self, tag):
        if self._open and tag in ("td", "span"):
            key, value = self._open
            T.check(key not in self.values, f"data-key {key} twice")
            self.values[key] = (value, self._text.strip())
            self._open = None


def run_report(model, folder, limit, steps, extra=()):
    rep = os.path.join(d, os.path.basename(folder) + "-report")
    j = rep + ".json"
    rc, so, se = T.run(["-m", model, "--evaluate", folder, "--limit", str(limit), "--steps",
                        str(steps), "--per-image", "--json", j, "--report", rep, "--jobs", "2"]
                       + list(extra))
    T.check(rc == 0, f"report of {folder}: exit {rc}: {se}")
    T.check(f"{rep}/index.html" in so, f"the summary names the report: {so[-300:]}")
    with open(j) as f:
        doc = json.load(f)
    page = Page()
    with open(os.path.join(rep, "index.html"), encoding="utf-8") as f:
        html = f.read()
    page.feed(html)
    return rep, doc, page, html


def number(page, key, expect, shown=None):
    if not T.check(key in page.values, f"{key} is not on the page"):
        return
    value, text = page.values[key]
    if expect is None:
        T.check(value == "null", f"{key}: {value}, JSON null")
        return
    T.check(float(value) == float(expect), f"{key}: page {value}, JSON {expect}")
    if shown is not None:
        T.check(text == shown, f"{key}: shown as {text!r}, expected {shown!r}")


def pct(v):
    return f"{100.0 * v:.2f}%"


def check_report(name, model, folder, limit, steps, faithfulness=True):
    extra = () if faithfulness else ("--no-faithfulness",)
    rep, doc, page, html = run_report(model, folder, limit, steps, extra)
    ds = doc["dataset"]
    number(page, "dataset.images", ds["images"])
    number(page, "dataset.evaluated", ds["evaluated"], str(ds["evaluated"]))
    number(page, "dataset.failed", ds["failed"], str(ds["failed"]))
    number(page, "correct", doc["correct"], str(doc["correct"]))
    number(page, "accuracy", doc["accuracy"], pct(doc["accuracy"]))
    for c in doc["classes"]:
        i = c["index"]
        number(page, f"classes.{i}.images", c["images"], str(c["images"]))
        number(page, f"classes.{i}.correct", c["correct"], str(c["correct"]))
        acc = c["accuracy"]
        number(page, f"classes.{i}.accuracy", acc, None if acc is None else pct(acc))
    for r, row in enumerate(doc["confusion_matrix"]):
        for c, v in enumerate(row):
            number(page, f"confusion_matrix.{r}.{c}", v, str(v))
    n_keys = 5 + 3 * len(doc["classes"]) + len(doc["classes"]) ** 2
    if faithfulness:
        f = doc["faithfulness"]
        for m in f["methods"]:
            k = "methods." + m["method"]
            number(page, k + ".images", m["images"], str(m["images"]))
            number(page, k + ".average_drop", m["average_drop"], pct(m["average_drop"]))
            number(page, k + ".increase_in_confidence", m["increase_in_confidence"],
                   pct(m["increase_in_confidence"]))
            number(page, k + ".deletion_auc", m["deletion_auc"], f"{m['deletion_auc']:.4f}")
            number(page, k + ".insertion_auc", m["insertion_auc"], f"{m['insertion_auc']:.4f}")
            number(page, k + ".road_morf", m["road_morf"], f"{m['road_morf']:.4f}")
            number(page, k + ".road_lerf", m["road_lerf"], f"{m['road_lerf']:.4f}")
            number(page, k + ".map_cpu_ms", m["map_cpu_ms"], f"{m['map_cpu_ms']:.3f}")
            n_keys += 8
            for curve in ("deletion", "insertion"):
                ref = m[curve + "_curve"]
                got = page.curves.get(f"{k}.{curve}_curve")
                T.check(len(ref) == steps + 1, f"{k}: {len(ref)} points in the JSON's {curve}")
                T.check(got == [float(v) for v in ref], f"{k}.{curve}_curve: page {got}, "
                        f"JSON {ref}")
                # the area under the mean curve is the mean of the areas
                area = sum((ref[i] + ref[i + 1]) / 2 for i in range(steps)) / steps
                auc = m[curve + "_auc"]
                T.check(abs(area - auc) <= 1e-5, f"{k}: area under the mean {curve} curve "
                        f"{area} vs mean AUC {auc}")
            # deletion starts, insertion ends, at the image itself: mean probability Y
            mean_y = np.mean([p["probability"] for p in doc["per_image"]])
            T.check(abs(m["deletion_curve"][0] - mean_y) <= 1e-5 and
                    abs(m["insertion_curve"][-1] - mean_y) <= 1e-5,
                    f"{k}: curve ends {m['deletion_curve'][0]}, {m['insertion_curve'][-1]} vs "
                    f"mean probability {mean_y}")
        T.check("<svg" in html and "deletion-chart" in html and "insertion-chart" in html,
                "the two charts are on the page")
    else:
        T.check(not page.curves, "no curves without faithfulness")
    T.check(len(page.values) == n_keys, f"{len(page.values)} numbers on the page, "
            f"expected {n_keys}: {sorted(page.values)[:5]}...")

    # self-contained: no script, no network, every referenced file exists
    T.check("script" not in page.tags, "the page has a script")
    T.check(not re.search(r"(https?:)?//[a-z]", html.replace("http://www.w3.org/2000/svg", "")),
            "the page refers to the network")
    files = [r for r in page.refs if not r.startswith("#")]
    for r in files:
        T.check(os.path.isfile(os.path.join(rep, r)), f"{r} is referenced but missing")
    for r in page.refs:
        if r.startswith("#"):
            T.check(f'id="{r[1:]}"' in html, f"anchor {r} has no target")
    pred = [p["predicted"] for p in doc["per_image"]]
    wrong = [p for p in doc["per_image"] if p["predicted"] != p["label"]]
    expect = {f"class-{c:02d}.png" for c in set(pred)} | ({"mistakes.png"} if wrong else set())
    T.check(set(files) == expect, f"images {sorted(files)}, expected {sorted(expect)}")
    T.check(sorted(os.path.basename(p) for p in glob.glob(os.path.join(rep, "*"))) ==
            sorted(expect | {"index.html"}), f"files in the report: {os.listdir(rep)}")
    # a class gallery is the --gallery of that class (same tiles, same captions)
    c = max(set(pred), key=pred.count)
    label = doc["model"]["classes"][c]
    g = os.path.join(d, f"{name}-gallery.png")
    gj = g + ".json"
    rc, so, se = T.run(["-m", model, "--gallery", g, "--dataset", folder, "--class", label,
                        "--limit", "8", "--tile-size", "96", "--columns", "8", "--json", gj, "-q"])
    T.check(rc == 0, f"--gallery of {label}: {se}")
    with open(gj) as f:
        tiles = json.load(f)["tiles"]
    first = [i for i, p in enumerate(pred) if p == c][:8]
    T.check([t["name"] for t in tiles] == [f"#{i}" for i in first],
            f"{label}: the gallery's samples {[t['name'] for t in tiles]} vs the report's {first}")
    sheet, gal = T.read_png(os.path.join(rep, f"class-{c:02d}.png")), T.read_png(g)
    # same tiles: the report's sheet has no title, so compare tile by tile, shifted
    dy = None
    for t in tiles:
        crop = gal[t["y"]:t["y"] + t["height"], t["x"]:t["x"] + t["width"]]
        if dy is None:
            ys = [y for y in range(sheet.shape[0] - t["height"] + 1)
                  if np.array_equal(sheet[y:y + t["height"], t["x"]:t["x"] + t["width"]], crop)]
            if not T.check(ys, f"{label}: the first tile is not in class-{c:02d}.png"):
                break
            dy = t["y"] - ys[0]
        y = t["y"] - dy
        T.check(np.array_equal(sheet[y:y + t["height"], t["x"]:t["x"] + t["width"]], crop),
                f"{label}: tile {t['name']} differs between the report and --gallery")
    return rep


rep = check_report("fashion", FASHION, os.path.join(data, "fashion-mnist"), 150, 8)
if os.path.isdir(os.path.join(data, "cifar-10")):
    CIFAR, _ = T.model_path("cifar10")
    check_report("cifar", CIFAR, os.path.join(data, "cifar-10"), 60, 4, faithfulness=False)

# A real browser draws the page.
browser = shutil.which("chromium") or shutil.which("chromium-browser")
if not browser:
    print("SKIP (partly): chromium is not installed (build-aux/debian-packages.txt lists it)")
else:
    shot = os.path.join(d, "shot.png")
    profile = os.path.join(d, "chromium-profile")
    p = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
                        f"--user-data-dir={profile}", "--window-size=1200,2400",
                        f"--screenshot={shot}", "file://" + os.path.join(rep, "index.html")],
                       capture_output=True, text=True, timeout=80,
                       env=dict(os.environ, HOME=d))
    if T.check(p.returncode == 0 and os.path.isfile(shot),
               f"chromium: exit {p.returncode}: {p.stderr[-1500:]}"):
        img = T.read_png(shot)[:, :, :3].astype(int)
        T.check(img.shape[:2] == (2400, 1200), f"screenshot {img.shape}")
        # drawn, not blank: dark text, the green diagonal and red mistakes of the matrix,
        # the charts' coloured lines
        dark = (img.sum(axis=2) < 150).mean()
        greens = ((img[:, :, 1] > img[:, :, 0] + 60) & (img[:, :, 1] > img[:, :, 2] + 40)).sum()
        reds = ((img[:, :, 0] > img[:, :, 1] + 80) & (img[:, :, 0] > img[:, :, 2] + 80)).sum()
        T.check(dark > 0.003, f"the screenshot has almost no text ({dark:.4f} dark)")
        T.check(greens > 2000 and reds > 200,
                f"the confusion matrix is not drawn in colour ({greens} green, {reds} red)")
        # the gallery images are loaded (a broken image would be a small icon)
        print(f"chromium screenshot {img.shape[1]}x{img.shape[0]}: {dark:.3f} dark, "
              f"{greens} green, {reds} red pixels")

T.finish()
