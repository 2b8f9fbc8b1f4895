#!/usr/bin/env python3
"""weights/import-torchvision.py and the README's "Use your own model" commands.

- The importer with --weights none (no download) for several torchvision families:
  the file loads, cam-model info shows the metadata of torchvision's weights
  (labels = meta["categories"], resize/crop/interpolation/mean/std of
  weights.transforms()), no notice, the engine's automatic layer; cam-heatmap
  explains an image with it. An unknown name is refused (exit 2).
- The README: every command between the readme-test markers runs as written
  (in a fresh folder with its own HOME, the built tools first on PATH, a cat.jpg),
  except that --weights none is added to the import.

usage: test_import.py readme|TORCHVISION_NAME
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import BUILD_DIR, SOURCE_DIR, check, finish, run, skip, test_image, workdir  # noqa: E402

try:
    import onnx  # noqa: F401
    import torch  # noqa: F401
    import torchvision
    from PIL import Image
except ImportError as e:
    skip("%s (needs python3-torch, python3-torchvision, python3-onnx, python3-pil)" % e)

IMPORTER = os.path.join(SOURCE_DIR, "weights", "import-torchvision.py")
CAM_MODEL = os.path.join(BUILD_DIR, "engine", "cli", "cam-model")
TOOLS = os.path.join(BUILD_DIR, "engine", "cli")


def importer(*args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    p = subprocess.run([sys.executable, IMPORTER] + list(args), capture_output=True, text=True,
                       cwd=cwd, env=env)
    return p.returncode, p.stdout, p.stderr


def check_family(d, name):
    rc, out, err = importer(name, "--weights", "none", "-o", name + ".onnx", cwd=d)
    path = os.path.join(d, name + ".onnx")
    if not check(rc == 0 and os.path.isfile(path), "%s: imported (%d %s)" % (name, rc, err[-300:])):
        return
    weights = torchvision.models.get_model_weights(name).DEFAULT
    t = weights.transforms()
    p = subprocess.run([CAM_MODEL, "info", path], capture_output=True, text=True)
    info = p.stdout
    cats = weights.meta["categories"]
    check(p.returncode == 0 and "labels:      1000 (%s ... %s)" % (cats[0], cats[-1]) in info,
          "%s: cam-model info: the 1000 labels of torchvision's metadata (%s)" % (name, p.stderr))
    check("shorter side to %d, then centre crop %dx%d" % (t.resize_size[0], t.crop_size[0], t.crop_size[0]) in info
          and "interpolation   %s" % t.interpolation.value in info
          and "mean            %s" % ", ".join("%g" % v for v in t.mean) in info
          and "notice" not in info and "(automatic)" in info,
          "%s: preprocessing from weights.transforms() (%s), automatic layer" % (name, t))
    img = os.path.join(d, "photo.png")
    Image.fromarray(test_image(3, 180, 240, 3)).save(img)
    rc, o, err = run(["-m", path, "--json", "-", "-q", img])
    doc = json.loads(o) if rc == 0 else {}
    im = doc.get("images", [{}])[0] if doc else {}
    check(rc == 0 and im.get("class", {}).get("label") in cats and "notice" not in err,
          "%s: cam-heatmap explains an image (%d %s)" % (name, rc, err[-300:]))


def readme_commands():
    with open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- readme-test: begin -->\s*```sh\n(.*?)```\s*<!-- readme-test: end -->",
                  text, re.S)
    if not m:
        return []
    return [l for l in m.group(1).splitlines() if l.strip() and not l.lstrip().startswith("#")]


def main():
    if not os.path.exists(CAM_MODEL):
        skip("cam-model not built")
    part = sys.argv[1] if len(sys.argv) > 1 else "readme"
    d = workdir("import")
    if part == "readme":
        readme(d)
        rc, out, err = importer("no_such_net", "--weights", "none", cwd=d)
        check(rc == 2 and "unknown model 'no_such_net'" in err, "an unknown name: exit 2 naming it")
    else:
        check_family(d, part)
    finish()


def readme(d):
    """The README, command by command."""
    cmds = readme_commands()
    check(len(cmds) >= 5, "the README's tested block is there (%d commands)" % len(cmds))
    home = os.path.join(d, "home")
    os.makedirs(home, exist_ok=True)
    os.symlink(os.path.join(SOURCE_DIR, "weights"), os.path.join(d, "weights"))
    Image.fromarray(test_image(5, 240, 320, 3)).save(os.path.join(d, "cat.jpg"), quality=92)
    env = dict(os.environ, HOME=home, PATH=TOOLS + os.pathsep + os.environ.get("PATH", ""),
               OMP_NUM_THREADS="2")
    env.pop("XDG_DATA_HOME", None)
    env.pop("CAM_MODEL_PATH", None)
    for cmd in cmds:
        if "import-torchvision.py" in cmd:
            cmd += " --weights none"
        p = subprocess.run(["bash", "-e", "-c", cmd], cwd=d, env=env, capture_output=True,
                           text=True)
        check(p.returncode == 0, "README: `%s` (exit %d: %s)" % (cmd, p.returncode,
                                                                  (p.stderr or p.stdout)[-300:]))
    out = os.path.join(d, "cat-heatmap.png")
    check(os.path.isfile(out) and Image.open(out).size == (320, 240),
          "README: the heatmap was written at the photo's size")
    check(os.path.isfile(os.path.join(home, ".local", "share", "gimp-cam", "models",
                                      "resnet18.onnx")), "README: the model is in the user's folder")


if __name__ == "__main__":
    main()
