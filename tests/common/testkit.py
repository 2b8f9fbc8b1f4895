"""The check/skip/finish protocol and the tree paths shared by the Python tests
(tests/cli/clitest.py, tests/plugin/gimptest.py import it).

A test records failed checks and goes on; finish() exits 1 if any failed, else 0;
skip() exits 77 (meson's SKIP). SOURCE_DIR and BUILD_DIR come from $CAM_SOURCE_DIR
and $CAM_BUILD_DIR (set by meson), else this file's tree and its _build.
"""
import os
import sys

SOURCE_DIR = os.environ.get("CAM_SOURCE_DIR") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD_DIR = os.environ.get("CAM_BUILD_DIR") or os.path.join(SOURCE_DIR, "_build")

failures = []


def skip(reason):
    print("SKIP:", reason)
    sys.exit(77)


def check(cond, what):
    """Records a failed check; the test goes on and fails at finish()."""
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def finish():
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)
