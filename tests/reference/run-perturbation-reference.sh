#!/bin/sh
# run-perturbation-reference.sh TEST-PROGRAM OUTDIR -- write the PyTorch references of
# the perturbation methods into OUTDIR with make_perturbation_reference.py, then compare
# the engine with them (test-perturbation-reference MANIFEST).
# Exits 77 (meson SKIP) when python3 with torch and onnx is missing.
set -u
program=$1
outdir=$2
here=$(dirname "$0")
py=${PYTHON3:-python3}
if ! command -v "$py" >/dev/null 2>&1; then
    echo "SKIP: python3 is missing (the PyTorch references need python3 with torch and onnx)"
    exit 77
fi
if ! missing=$("$py" -c 'import torch, onnx, numpy' 2>&1); then
    echo "SKIP: python3 cannot import torch, onnx and numpy: $missing"
    exit 77
fi
"$py" "$here/make_perturbation_reference.py" "$outdir" || {
    echo "make_perturbation_reference.py failed"
    exit 1
}
exec "$program" "$outdir/manifest.txt"
