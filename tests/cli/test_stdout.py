#!/usr/bin/env python3
"""cam-heatmap's standard output (issue 17 point 7): summary lines, --list-layers,
--version and --json - that cannot be written give exit 4 with a message on stderr,
never a silent 0:

 - stdout closed (`>&-`): exit 4, "it is closed"; the image is still written, and the
   summary did not end up in it (no file the program opens takes fd 1);
 - stdout is /dev/full, or a pipe whose reader has gone (SIGPIPE ignored, so the write
   fails with EPIPE): exit 4 naming the error; with SIGPIPE at its default the process
   dies of it (non-zero too);
 - nothing to write (-q) with stdout closed: exit 0; a normal run: exit 0.
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as T  # noqa: E402
check = T.check

model, _ = T.model_path("cifar10")
d = T.workdir("stdout")
image = os.path.join(d, "in.png")
T.write_png(image, T.test_image(3, 40, 50, 3))


def run(args, stdout, preexec=None):
    p = subprocess.run([T.CAM_HEATMAP] + args, stdout=stdout, stderr=subprocess.PIPE,
                       text=True, preexec_fn=preexec, timeout=120)
    return p.returncode, p.stderr


def close_stdout():
    os.close(1)


def ignore_sigpipe():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)


# reference: a normal run
ref = os.path.join(d, "ref.png")
rc, err = run(["-m", model, "-o", ref, image], subprocess.PIPE)
check(rc == 0, f"a normal run exits 0 (got {rc}: {err.strip()})")
ref_bytes = open(ref, "rb").read() if os.path.isfile(ref) else b""

# 1. stdout closed
out = os.path.join(d, "closed.png")
rc, err = run(["-m", model, "-o", out, image], None, close_stdout)
check(rc == 4, f"stdout closed: exit {rc}, expected 4 ({err.strip()})")
check("cannot write to standard output: it is closed" in err, "stdout closed: says so:\n" + err)
check(os.path.isfile(out) and open(out, "rb").read() == ref_bytes,
      "stdout closed: the image is written, the same bytes as with stdout open")
for args in (["--version"], ["-m", model, "--list-layers"],
             ["-m", model, "-q", "--json", "-", image]):
    rc, err = run(args, None, close_stdout)
    check(rc == 4 and "standard output" in err,
          f"stdout closed, {' '.join(args[-2:])}: exit {rc}, expected 4 ({err.strip()})")
rc, err = run(["-m", model, "-q", "-o", os.path.join(d, "quiet.png"), image], None, close_stdout)
check(rc == 0, f"stdout closed with -q (nothing to write): exit {rc}, expected 0 ({err.strip()})")

# 2. /dev/full
if os.path.exists("/dev/full"):
    for args in (["-m", model, "-o", os.path.join(d, "full.png"), image], ["--version"],
                 ["-m", model, "--list-layers"]):
        with open("/dev/full", "w") as full:
            rc, err = run(args, full)
        check(rc == 4 and "cannot write to standard output" in err,
              f">/dev/full {' '.join(args[-2:])}: exit {rc}, expected 4 ({err.strip()})")
    check("No space left on device" in err, "/dev/full: the reason is named:\n" + err)

# 3. a pipe whose reader has gone
for preexec, what in ((ignore_sigpipe, "SIGPIPE ignored"), (None, "SIGPIPE default")):
    r, w = os.pipe()
    os.close(r)
    with os.fdopen(w, "w") as wf:
        rc, err = run(["-m", model, "-o", os.path.join(d, "pipe.png"), image], wf, preexec)
    if preexec:
        check(rc == 4 and "cannot write to standard output" in err,
              f"closed pipe, {what}: exit {rc}, expected 4 ({err.strip()})")
    else:
        check(rc != 0, f"closed pipe, {what}: exit {rc}, expected non-zero")

T.finish()
