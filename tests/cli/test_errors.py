"""cam-heatmap's exit codes and bad inputs.

 - a batch with a missing file, a truncated PNG, a text file named .png and an empty
   file among good images: exit 1, each bad file named on stderr with a reason, every good
   image still written, the JSON marks each entry ok or error;
 - usage errors (unknown option, method, class, layer, colormap, alpha, output format,
   no images) exit 2 and say what is wrong; a missing model exits 3; --help and --version
   exit 0; a clean run exits 0;
 - a write that fails part-way leaves no partial image and keeps the previous file.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as T  # noqa: E402

model, _ = T.model_path("cifar10")
d = T.workdir("errors")
good = []
for i, (h, w) in enumerate([(32, 32), (20, 50), (64, 48)]):
    p = os.path.join(d, f"good{i}.png")
    T.write_png(p, T.test_image(20 + i, h, w, 3))
    good.append(p)
missing = os.path.join(d, "missing.png")
truncated = os.path.join(d, "truncated.png")
with open(good[2], "rb") as f:
    data = f.read()
with open(truncated, "wb") as f:
    f.write(data[: len(data) // 2])
text = os.path.join(d, "text.png")
with open(text, "w") as f:
    f.write("this is not an image\n")
empty = os.path.join(d, "empty.jpg")
open(empty, "wb").close()
bad = [missing, truncated, text, empty]

inputs = [good[0], missing, good[1], truncated, text, empty, good[2]]
out = os.path.join(d, "out")
jpath = os.path.join(d, "r.json")
rc, so, se = T.run(["-m", model, "-o", out, "--json", jpath, "--jobs", "3"] + inputs)
T.check(rc == 1, f"batch with bad files: exit {rc}, expected 1")
for b in bad:
    lines = [l for l in se.splitlines() if b in l]
    T.check(len(lines) >= 1, f"stderr does not name {b}:\n{se}")
    for l in lines:
        T.check(len(l.split(b, 1)[1].strip(": ")) > 5, f"no reason given for {b}: {l!r}")
for g in good:
    o = os.path.join(out, os.path.splitext(os.path.basename(g))[0] + ".png")
    T.check(os.path.isfile(o) and os.path.getsize(o) > 0, f"good image not written: {o}")
    T.check(g not in se, f"good image {g} reported on stderr")
for b in bad:
    o = os.path.join(out, os.path.splitext(os.path.basename(b))[0] + ".png")
    T.check(not os.path.exists(o), f"output written for bad input {b}")
with open(jpath) as f:
    doc = json.load(f)
status = {img["file"]: img["status"] for img in doc["images"]}
T.check([img["file"] for img in doc["images"]] == inputs, "JSON entries in input order")
for g in good:
    T.check(status.get(g) == "ok", f"JSON status of {g}: {status.get(g)}")
for b in bad:
    T.check(status.get(b) == "error", f"JSON status of {b}: {status.get(b)}")
    e = [img for img in doc["images"] if img["file"] == b][0]
    T.check(b in e.get("error", ""), f"JSON error of {b} does not name it: {e.get('error')}")

# a clean run
rc, so, se = T.run(["-m", model, "-o", os.path.join(d, "one.png"), good[0]])
T.check(rc == 0, f"clean run: exit {rc}: {se}")
T.check(os.path.isfile(os.path.join(d, "one.png")), "clean run wrote nothing")
T.check(good[0] in so, f"summary does not name the image: {so!r}")
# several images, stderr not a terminal: no progress bar, nothing on stderr
rc, so, se = T.run(["-m", model, "-o", os.path.join(d, "many"), "--jobs", "2"] + good)
T.check(rc == 0 and se == "", f"clean batch: exit {rc}, stderr {se!r} (expected empty)")
T.check(all(g in so for g in good), "summary names every image")

# usage errors: exit 2 with a message naming the problem
for args, word in (
        (["--no-such-option", good[0]], "no-such-option"),
        (["--method", "magic", good[0]], "magic"),
        (["--class", "unicorn", good[0]], "unicorn"),
        (["--class", "10", good[0]], "10"),
        (["--layer", "nope", good[0]], "nope"),
        (["--colormap", "rainbow", good[0]], "rainbow"),
        (["--alpha", "1.5", good[0]], "alpha"),
        (["-o", os.path.join(d, "x.xyz"), good[0]], "x.xyz"),
        (["--method", "cam", good[0]], "grad-cam"),   # cifar10 has no CAM structure
        (["--top", "0", good[0]], "top"),
        (["-o", os.path.join(d, "two.png"), good[0], good[1]], "folder"),
        ([], "no input"),
):
    rc, so, se = T.run(["-m", model] + args)
    T.check(rc == 2, f"{args}: exit {rc}, expected 2 (stderr {se!r})")
    T.check(word in se, f"{args}: stderr does not mention {word!r}: {se!r}")
    T.check(not os.path.exists(os.path.join(d, "x.xyz")), "file written on a usage error")

rc, so, se = T.run(["-m", os.path.join(d, "no-model.onnx"), good[0]])
T.check(rc == 3, f"missing model: exit {rc}, expected 3")
T.check("no-model.onnx" in se, f"missing model not named: {se!r}")
rc, so, se = T.run(["-m", text, good[0]])
T.check(rc == 3, f"model that is not ONNX: exit {rc}, expected 3")

# A write that fails part-way (here: a file-size limit of 1 KiB, as a full disk
# would) leaves no half-written image and keeps the file that was there.
import resource  # noqa: E402
import signal  # noqa: E402


def small_files():
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write(), not a killed process


wdir = os.path.join(d, "partial")
os.makedirs(wdir, exist_ok=True)
big = os.path.join(d, "big.png")
T.write_png(big, T.test_image(7, 256, 256, 3))
target = os.path.join(wdir, "result.png")
with open(target, "wb") as f:
    f.write(b"the previous result")
rc, so, se = T.run(["-m", model, "-o", target, big], preexec_fn=small_files)
T.check(rc != 0, f"write over the file-size limit: exit {rc}, expected an error")
T.check(target in se, f"failed write does not name {target}: {se!r}")
kept = open(target, "rb").read() if os.path.isfile(target) else None
T.check(kept == b"the previous result", f"a failed write changed the existing file: {kept!r:.40}")
T.check(sorted(os.listdir(wdir)) == ["result.png"], f"files left behind: {os.listdir(wdir)}")
rc, so, se = T.run(["-m", model, "-o", target, big])
T.check(rc == 0 and T.read_png(target).shape[:2] == (256, 256), f"normal write: exit {rc} {se!r}")
T.check(sorted(os.listdir(wdir)) == ["result.png"], f"files left behind: {os.listdir(wdir)}")

rc, so, se = T.run(["--help-all"])
T.check(rc == 0 and "--evaluate" in so and "Exit status" in so, f"--help-all: exit {rc}")
rc, so, se = T.run(["--help"])
T.check(rc == 0 and "--model" in so, f"--help: exit {rc}")
rc, so, se = T.run(["--version"])
T.check(rc == 0 and so.startswith("cam-heatmap (gimp-cam) "), f"--version: exit {rc}: {so!r}")

# the man page generated by help2man at build time
man = os.path.join(T.BUILD_DIR, "engine", "cli", "cam-heatmap.1")
if os.path.isfile(man):
    with open(man) as f:
        page = f.read()
    T.check(".TH CAM-HEATMAP" in page and "evaluate" in page, "man page content")
else:
    print("note: no man page in the build tree (help2man missing?)")

T.finish()
