"""Shared helpers of the plug-in tests (tests/plugin/test_*.py): a real GIMP 3,
headless, with the plug-in from the build tree.

Each test gets a throwaway GIMP profile in the build tree (HOME and GIMP3_DIRECTORY),
whose gimprc adds two folders to GIMP's own search paths:
  plug-in-path   <work>/plug-ins, holding gimp-cam/gimp-cam (a link to the built
                 executable) and gimp-cam/locale (a link to the built translations)
  script-fu-path <source>/plugin, where gimp-cam-batch.scm lives
so nothing is installed and the user's profile is never touched.

Models: the shipped weights/<name>.onnx when they exist, else a fixed-seed random
copy of the same architecture (weights/export.py), put in a folder named by
CAM_MODEL_PATH for both GIMP and cam-heatmap.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from testkit import BUILD_DIR, SOURCE_DIR, check, failures, finish, skip  # noqa: E402,F401
PLUGIN_EXE = os.path.join(BUILD_DIR, "plugin", "gimp-cam")
CAM_HEATMAP = os.path.join(BUILD_DIR, "engine", "cli", "cam-heatmap")
SAMPLE = os.path.join(SOURCE_DIR, "tests", "plugin", "data", "sample.png")
HERE = os.path.dirname(os.path.abspath(__file__))


ALLOCATORS = ("libsanitizer", "libasan", "libc.so", "libglib-2.0.so", " in g_malloc",
              " in g_strdup", " in g_new")
OWN_CODE = ("../plugin/", "../engine/", "libcamengine")


def _leak_is_ours(stack):
    """The leak was allocated by gimp-cam's code: the first stack frame that is not
    an allocation function (malloc, g_malloc, g_strdup...) is the plug-in's or the
    engine's. Memory that libgimp keeps until exit, or that GEGL's modules allocate
    while gegl_init loads them, is not ours to fix.
    Allocations made while a library is being loaded (the stack passes through dlopen,
    from gegl_init's module loader) are a library initialiser's: gimp-cam dlopens
    nothing. LeakSanitizer may name libcamengine for those frames (at offsets beyond
    its size: the GEGL module mapped next to it was unloaded before the report), so
    they are recognised by dlopen, not by the module name."""
    if " in dlopen" in stack or "gegl_module_db_load" in stack:
        return False
    for line in stack.splitlines():
        line = line.strip()
        if not line.startswith("#"):
            continue
        if any(mark in line for mark in OWN_CODE):
            return True
        if not any(mark in line for mark in ALLOCATORS):
            return False
    return False


def check_sanitizers(output):
    """Fails the test on a sanitizer report in a GIMP run's output (sanitizer build:
    the plug-in is the only instrumented process): any memory error or undefined
    behaviour, and leaks allocated by gimp-cam's own code."""
    for marker in ("ERROR: AddressSanitizer", "runtime error:"):
        if marker in output:
            i = output.index(marker)
            check(False, "sanitizer report from the plug-in:\n" + output[max(0, i - 200):i + 4000])
    for block in output.split("leak of ")[1:]:
        stack = block.split("\n\n")[0]
        if _leak_is_ours(stack):
            check(False, "memory leaked by the plug-in:\nleak of " + stack[:4000])


def gimp_console():
    for name in ("gimp-console-3.0", "gimp-console"):
        path = shutil.which(name)
        if path:
            return path
    skip("gimp-console-3.0 not found (GIMP 3 is needed: run the tests in build-aux/gimp3-env.sh)")


def model_dir():
    """A folder with fashion-mnist.onnx and cifar10.onnx for CAM_MODEL_PATH, or None
    when the shipped weights exist (the engine finds them in weights/)."""
    names = ("fashion-mnist", "cifar10")
    if all(os.path.isfile(os.path.join(SOURCE_DIR, "weights", n + ".onnx")) for n in names):
        return None
    d = os.path.join(BUILD_DIR, "tests", "plugin", "models")
    os.makedirs(d, exist_ok=True)
    for n in names:
        path = os.path.join(d, n + ".onnx")
        if os.path.isfile(path):
            continue
        shipped = os.path.join(SOURCE_DIR, "weights", n + ".onnx")
        if os.path.isfile(shipped):
            shutil.copyfile(shipped, path)
            continue
        sys.path.insert(0, os.path.join(SOURCE_DIR, "weights"))
        sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "reference"))
        import torch
        import export
        import networks
        torch.manual_seed(1234 if n == "cifar10" else 4321)
        net = networks.build(n)
        net.eval()
        tmp = path + ".part.onnx"
        export.export(n, net, tmp)
        os.replace(tmp, path)
    return d


class Gimp:
    """A throwaway GIMP profile with the build tree's plug-in; run() starts
    gimp-console in batch mode."""

    def __init__(self, name, lang=None):
        if not os.path.isfile(PLUGIN_EXE):
            skip("the plug-in was not built: " + PLUGIN_EXE)
        self.console = gimp_console()
        base = os.path.join(BUILD_DIR, "tests", "plugin", "work")
        os.makedirs(base, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix=name + "-", dir=base)
        self.home = os.path.join(self.work, "home")
        self.profile = os.path.join(self.work, "profile")
        plugdir = os.path.join(self.work, "plug-ins", "gimp-cam")
        for d in (self.home, self.profile, plugdir):
            os.makedirs(d, exist_ok=True)
        os.symlink(PLUGIN_EXE, os.path.join(plugdir, "gimp-cam"))
        os.symlink(os.path.join(BUILD_DIR, "po"), os.path.join(plugdir, "locale"))
        with open(os.path.join(self.profile, "gimprc"), "w") as f:
            f.write('(plug-in-path "${gimp_plug_in_dir}/plug-ins:%s")\n'
                    % os.path.join(self.work, "plug-ins"))
            f.write('(script-fu-path "${gimp_data_dir}/scripts:%s")\n'
                    % os.path.join(SOURCE_DIR, "plugin"))
        self.env = dict(os.environ)
        self.env.update(HOME=self.home, GIMP3_DIRECTORY=self.profile,
                        XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
                        XDG_DATA_HOME=os.path.join(self.home, ".local", "share"),
                        XDG_CACHE_HOME=os.path.join(self.home, ".cache"),
                        CAM_TEST_WORK=self.work, CAM_TEST_SAMPLE=SAMPLE)
        self.env.pop("DISPLAY", None)
        if lang:
            self.env.update(LANG=lang, LANGUAGE=lang.split(".")[0].split("_")[0], LC_ALL=lang)
        models = model_dir()
        if models:
            self.env["CAM_MODEL_PATH"] = models
        self.models = models
        # Sanitizer build: full leak stacks, so that check_sanitizers() can tell the
        # plug-in's own allocations from those of libgimp and GEGL's modules.
        asan = self.env.get("ASAN_OPTIONS", "")
        self.env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "fast_unwind_on_malloc=0"

    def run(self, batch, interpreter="plug-in-script-fu-eval", timeout=240):
        """Runs gimp-console with the batch commands; returns (rc, output)."""
        if isinstance(batch, str):
            batch = [batch]
        args = [self.console, "-i", "--quit", "--batch-interpreter=" + interpreter]
        for b in batch:
            args += ["-b", b]
        p = subprocess.run(args, env=self.env, cwd=self.work, capture_output=True, text=True,
                           timeout=timeout)
        out = p.stdout + p.stderr
        check_sanitizers(out)
        return p.returncode, out

    def run_python(self, script, params=None, timeout=240):
        """Runs a Python-Fu script inside GIMP; it writes results.json into the work
        folder (its CAM_TEST_WORK), which is returned (None if missing)."""
        with open(os.path.join(self.work, "params.json"), "w") as f:
            json.dump(params or {}, f)
        rc, out = self.run('exec(open(%r).read())' % script, interpreter="python-fu-eval",
                           timeout=timeout)
        path = os.path.join(self.work, "results.json")
        if not os.path.isfile(path):
            print(out)
            return None
        with open(path) as f:
            return json.load(f)


def engine_methods():
    """The engine's methods as cam-heatmap --help lists them: [(name, summary)], in the
    order of the engine's table (the CLI reads cam_method_name / cam_method_summary)."""
    rc, out, err = cli(["--help"])
    check(rc == 0, f"cam-heatmap --help: {err.strip()}")
    lines = out.split("\nMethods (", 1)[-1].split("\n\n", 1)[0].splitlines()[1:]
    methods = [tuple(line.split(None, 1)) for line in lines
               if line.startswith("  ") and len(line.split(None, 1)) == 2]
    check(len(methods) >= 19 and ("score-cam" in dict(methods)),
          f"the engine's methods read from cam-heatmap --help: {methods}")
    return methods


def cli(args, env=None):
    """Runs cam-heatmap; returns (rc, stdout, stderr)."""
    if not os.path.isfile(CAM_HEATMAP):
        skip("cam-heatmap was not built: " + CAM_HEATMAP)
    e = dict(os.environ)
    models = model_dir()
    if models:
        e["CAM_MODEL_PATH"] = models
    e.update(env or {})
    p = subprocess.run([CAM_HEATMAP] + list(args), capture_output=True, text=True, env=e)
    return p.returncode, p.stdout, p.stderr


def read_png(path):
    import numpy as np
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im).copy()


def read_raw(path, width, height, channels=4, dtype="uint8"):
    import numpy as np
    return np.fromfile(path, dtype=dtype).reshape(height, width, channels)
