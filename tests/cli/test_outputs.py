"""cam-heatmap never replaces an input or another output of the same run, and writes
respecting what is at the output path (issue 17).

 - outputs are planned before any work: a folder run whose inputs share a base name where
   one planned output is another input (-o sd/ sd/x.jpg sd/x.png) is a usage error (exit 2)
   naming both inputs, for --jobs 1 and --jobs 2 alike, and nothing is written; repeated
   base names in different folders get -2, -3 (same bytes for --jobs 1 and 2); two outputs
   that are one file (a link in the output folder) and --json naming an input or an output
   image are usage errors too;
 - a symbolic link at the output or JSON path is followed: its target is replaced, the link
   kept (also a dangling one); a FIFO and a character device are written directly, never
   renamed over (/dev/null and /dev/full through links, a FIFO); a folder is an error;
 - SIGTERM while a large image is being written leaves no temporary file.
"""
import filecmp
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as T  # noqa: E402

model, _ = T.model_path("cifar10")
d = T.workdir("outputs")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def snapshot(folder):
    """{name: (kind, sha256 or link target)} of a folder, to prove nothing changed."""
    out = {}
    for name in sorted(os.listdir(folder)):
        p = os.path.join(folder, name)
        if os.path.islink(p):
            out[name] = ("link", os.readlink(p))
        elif os.path.isfile(p):
            out[name] = ("file", digest(p))
        else:
            out[name] = ("other", None)
    return out


def save_jpeg(path, pixels):
    from PIL import Image
    Image.fromarray(pixels).save(path, quality=90)


# 1. -o sd/ sd/x.jpg sd/x.png: x.png would be overwritten by the heatmap of x.jpg
for jobs in (1, 2):
    sd = os.path.join(d, f"sd{jobs}")
    os.makedirs(sd)
    save_jpeg(os.path.join(sd, "x.jpg"), T.test_image(1, 40, 50, 3))
    T.write_png(os.path.join(sd, "x.png"), T.test_image(2, 40, 50, 3))
    before = snapshot(sd)
    xj, xp = os.path.join(sd, "x.jpg"), os.path.join(sd, "x.png")
    rc, so, se = T.run(["-m", model, "-J", str(jobs), "-o", sd + "/", xj, xp])
    T.check(rc == 2, f"-J {jobs} -o sd/ sd/x.jpg sd/x.png: exit {rc}, expected 2: {se!r}")
    T.check(xj in se and xp in se, f"-J {jobs}: the error does not name both inputs: {se!r}")
    T.check(snapshot(sd) == before, f"-J {jobs}: the folder changed: {snapshot(sd)}")
    # the single-file form: -o x.png x.png
    rc, so, se = T.run(["-m", model, "-J", str(jobs), "-o", xp, xp])
    T.check(rc == 2 and xp in se, f"-o x.png x.png: exit {rc}, expected 2: {se!r}")
    T.check(snapshot(sd) == before, f"-o x.png x.png: the folder changed")

# 2. repeated base names in different folders: -2, -3 in input order, same bytes for -J 1, 2
ins = []
for k, sub in enumerate(("a", "b", "c")):
    os.makedirs(os.path.join(d, "rep", sub))
    p = os.path.join(d, "rep", sub, "x.png" if sub != "c" else "x.jpg")
    (T.write_png if sub != "c" else save_jpeg)(p, T.test_image(10 + k, 30 + k, 40, 3))
    ins.append(p)
outs = {}
for jobs in (1, 2):
    o = os.path.join(d, "rep", f"out{jobs}")
    rc, so, se = T.run(["-m", model, "-q", "-J", str(jobs), "-o", o + "/",
                        "--json", o + ".json"] + ins)
    T.check(rc == 0, f"repeated names -J {jobs}: exit {rc}: {se!r}")
    outs[jobs] = o
    T.check(sorted(os.listdir(o)) == ["x-2.png", "x-3.png", "x.png"],
            f"repeated names -J {jobs}: {sorted(os.listdir(o)) if os.path.isdir(o) else None}")
    with open(o + ".json") as f:
        doc = json.load(f)
    T.check([im.get("output") for im in doc["images"]] ==
            [os.path.join(o, n) for n in ("x.png", "x-2.png", "x-3.png")],
            f"repeated names -J {jobs}: outputs in input order")
for n in ("x.png", "x-2.png", "x-3.png"):
    a, b = os.path.join(outs[1], n), os.path.join(outs[2], n)
    T.check(os.path.isfile(a) and os.path.isfile(b) and filecmp.cmp(a, b, shallow=False),
            f"{n} differs between -J 1 and -J 2")
for p in ins:
    T.check(os.path.getsize(p) > 0, "input kept")

# 3. two planned outputs that are one file: out/x.png is a link to out/y.png
lk = os.path.join(d, "linked")
os.makedirs(os.path.join(lk, "in"))
os.makedirs(os.path.join(lk, "out"))
xi, yi = os.path.join(lk, "in", "x.png"), os.path.join(lk, "in", "y.png")
T.write_png(xi, T.test_image(3, 32, 32, 3))
T.write_png(yi, T.test_image(4, 32, 32, 3))
with open(os.path.join(lk, "out", "y.png"), "wb") as f:
    f.write(b"old y")
os.symlink("y.png", os.path.join(lk, "out", "x.png"))
before = snapshot(os.path.join(lk, "out"))
rc, so, se = T.run(["-m", model, "-o", os.path.join(lk, "out") + "/", xi, yi])
T.check(rc == 2 and xi in se and yi in se,
        f"two outputs that are one file: exit {rc}, expected 2 naming both inputs: {se!r}")
T.check(snapshot(os.path.join(lk, "out")) == before, "two outputs one file: folder changed")
# an input reached through a link: out/x.png -> ../in/x.png is the input itself
os.unlink(os.path.join(lk, "out", "x.png"))
os.symlink(os.path.join("..", "in", "x.png"), os.path.join(lk, "out", "x.png"))
h = digest(xi)
rc, so, se = T.run(["-m", model, "-o", os.path.join(lk, "out") + "/", xi])
T.check(rc == 2 and digest(xi) == h, f"output linked to its input: exit {rc}: {se!r}")

# 4. --json naming an image of the run
jd = os.path.join(d, "json")
os.makedirs(jd)
a = os.path.join(jd, "a.png")
T.write_png(a, T.test_image(5, 32, 32, 3))
ha = digest(a)
for args, what in ((["--json", a, a], "the input"),
                   (["-o", os.path.join(jd, "o.png"), "--json", os.path.join(jd, "o.png"), a],
                    "the output"),
                   (["-o", os.path.join(jd, "out") + "/", "--json",
                     os.path.join(jd, "out", "a.png"), a], "an output in a folder")):
    rc, so, se = T.run(["-m", model] + args)
    T.check(rc == 2, f"--json is {what}: exit {rc}, expected 2: {se!r}")
    T.check("--json" in se, f"--json is {what}: message does not name --json: {se!r}")
    T.check(digest(a) == ha, f"--json is {what}: the input changed")
    T.check(sorted(os.listdir(jd)) == ["a.png"], f"--json is {what}: {os.listdir(jd)}")
os.symlink("a.png", os.path.join(jd, "alias.json"))
rc, so, se = T.run(["-m", model, "--json", os.path.join(jd, "alias.json"), a])
T.check(rc == 2 and digest(a) == ha, f"--json link to the input: exit {rc}: {se!r}")
T.check(os.path.islink(os.path.join(jd, "alias.json")), "--json link to the input: link kept")

# 5. symbolic links are followed: target replaced, link kept (also dangling)
sl = os.path.join(d, "symlinks")
os.makedirs(os.path.join(sl, "real"))
src = os.path.join(sl, "src.png")
T.write_png(src, T.test_image(6, 32, 32, 3))
with open(os.path.join(sl, "real", "r.json"), "w") as f:
    f.write("old")
with open(os.path.join(sl, "real", "img.png"), "wb") as f:
    f.write(b"old")
os.chmod(os.path.join(sl, "real", "img.png"), 0o640)
os.symlink(os.path.join("real", "r.json"), os.path.join(sl, "r.json"))
os.symlink(os.path.join("real", "img.png"), os.path.join(sl, "img.png"))
os.symlink(os.path.join("real", "new.png"), os.path.join(sl, "dangling.png"))
rc, so, se = T.run(["-m", model, "-q", "-o", os.path.join(sl, "img.png"),
                    "--json", os.path.join(sl, "r.json"), src])
T.check(rc == 0, f"links: exit {rc}: {se!r}")
for name in ("r.json", "img.png"):
    T.check(os.path.islink(os.path.join(sl, name)), f"the link {name} was replaced by a file")
with open(os.path.join(sl, "real", "r.json")) as f:
    T.check(f.read().startswith("{"), "the JSON link's target was not written")
T.check(T.read_png(os.path.join(sl, "real", "img.png")).shape[:2] == (32, 32),
        "the image link's target was not written")
T.check(stat.S_IMODE(os.stat(os.path.join(sl, "real", "img.png")).st_mode) == 0o640,
        "the replaced file did not keep its permissions")
rc, so, se = T.run(["-m", model, "-q", "-o", os.path.join(sl, "dangling.png"), src])
T.check(rc == 0 and os.path.islink(os.path.join(sl, "dangling.png")) and
        os.path.isfile(os.path.join(sl, "real", "new.png")),
        f"dangling link: exit {rc}, link kept and target created: {se!r}")
T.check(not [n for n in os.listdir(sl) + os.listdir(os.path.join(sl, "real"))
             if n.startswith(".")], "temporary files left behind")

# 6. FIFOs and character devices are written directly
dev = os.path.join(d, "devices")
os.makedirs(dev)
fifo = os.path.join(dev, "fifo.json")
os.mkfifo(fifo)
reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so the writer's open works
rc, so, se = T.run(["-m", model, "-q", "--json", fifo, src])
data = b""
try:
    while True:
        chunk = os.read(reader, 65536)
        if not chunk:
            break
        data += chunk
except BlockingIOError:
    pass
os.close(reader)
T.check(rc == 0, f"--json FIFO: exit {rc}: {se!r}")
T.check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced by a file")
T.check(data.startswith(b"{") and json.loads(data)["images"][0]["status"] == "ok",
        f"the JSON did not go through the FIFO: {data[:60]!r}")
os.symlink("/dev/null", os.path.join(dev, "null.json"))
os.symlink("/dev/null", os.path.join(dev, "null.png"))
rc, so, se = T.run(["-m", model, "-q", "--json", os.path.join(dev, "null.json"),
                    "-o", os.path.join(dev, "null.png"), src])
T.check(rc == 0, f"--json and -o to /dev/null through links: exit {rc}: {se!r}")
T.check(os.readlink(os.path.join(dev, "null.json")) == "/dev/null" and
        os.readlink(os.path.join(dev, "null.png")) == "/dev/null", "links to /dev/null kept")
T.check(stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null is no longer a device")
if os.path.exists("/dev/full"):
    os.symlink("/dev/full", os.path.join(dev, "full.json"))
    rc, so, se = T.run(["-m", model, "-q", "--json", os.path.join(dev, "full.json"), src])
    T.check(rc == 4 and "space" in se.lower(),
            f"--json /dev/full: exit {rc}, expected 4 and 'No space left': {se!r}")
    T.check(os.path.islink(os.path.join(dev, "full.json")), "the link to /dev/full was replaced")
    T.check(stat.S_ISCHR(os.stat("/dev/full").st_mode), "/dev/full is no longer a device")
T.check(not [n for n in os.listdir(dev) if n.startswith(".")], "temporary files in devices/")

# 7. a folder at an output path is an error, before any work
fo = os.path.join(d, "folders")
os.makedirs(os.path.join(fo, "out", "src.png"))
os.makedirs(os.path.join(fo, "j.json"))
rc, so, se = T.run(["-m", model, "--json", os.path.join(fo, "j.json"), src])
T.check(rc == 2 and "folder" in se, f"--json FOLDER: exit {rc}, expected 2: {se!r}")
rc, so, se = T.run(["-m", model, "-o", os.path.join(fo, "out") + "/", src])
T.check(rc == 2 and "folder" in se and src in se,
        f"output that is a folder: exit {rc}, expected 2: {se!r}")
T.check(os.listdir(os.path.join(fo, "out", "src.png")) == [], "the folder changed")

# 8. SIGTERM while a large image is written: no temporary file is left behind
sg = os.path.join(d, "signal")
os.makedirs(sg)
big = os.path.join(sg, "big.png")
import numpy as np  # noqa: E402
T.write_png(big, np.random.RandomState(9).randint(0, 256, (2400, 3200, 4), dtype=np.uint8))
target = os.path.join(sg, "out.png")
caught = False
for attempt in range(5):
    p = subprocess.Popen([T.CAM_HEATMAP, "-m", model, "-q", "-J", "1", "-o", target, big],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = None
    while p.poll() is None and not seen:
        seen = [n for n in os.listdir(sg) if n.startswith(".out.png.")]
    if seen and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        p.wait()
        caught = p.returncode == -signal.SIGTERM
    else:
        p.wait()
    left = [n for n in os.listdir(sg) if n.startswith(".")]
    T.check(not left, f"temporary files left after SIGTERM: {left}")
    if os.path.exists(target):
        os.unlink(target)
    if caught:
        break
T.check(caught, "never caught cam-heatmap while it wrote its temporary file")

T.finish()
