#!/bin/sh
# run-reference.sh TEST-PROGRAM OUTDIR -- write the PyTorch references into OUTDIR with
# make_reference.py, then compare the engine with them (test-reference MANIFEST), on
# the default kernels and again on the portable ones.
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
"$py" "$here/make_reference.py" "$outdir" || { echo "make_reference.py failed"; exit 1; }
"$program" "$outdir/manifest.txt" || exit 1
# The same references on the portable kernels (im2col + OpenBLAS everywhere), the path
# of CPUs without AVX-512; on such CPUs both runs take it.
echo "--- again with CAM_NO_AVX512=1"
CAM_NO_AVX512=1 exec "$program" "$outdir/manifest.txt"
