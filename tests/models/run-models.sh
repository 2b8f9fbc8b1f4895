#!/bin/sh
# run-models.sh TEST-PROGRAM OUTDIR [MEMORY-PROGRAM] -- export the models and their
# references into OUTDIR with export_models.py (models already there from the same
# script are kept), then check the engine against them (test-torchvision MANIFEST),
# then (MEMORY-PROGRAM: test-memory) the peak memory of the largest ones.
# CAM_MODELS_FULL=1 adds every family at its standard input size.
# Exits 77 (meson SKIP) when python3 with torch, torchvision, onnx and onnxruntime is missing.
set -u
program=$1
outdir=$2
here=$(dirname "$0")
py=${PYTHON3:-python3}
if ! command -v "$py" >/dev/null 2>&1; then
    echo "SKIP: python3 is missing (the references need torch, torchvision, onnx and onnxruntime)"
    exit 77
fi
if ! missing=$("$py" -c 'import torch, torchvision, onnx, onnxruntime, numpy' 2>&1); then
    echo "SKIP: python3 cannot import torch, torchvision, onnx, onnxruntime and numpy: $missing"
    exit 77
fi
set=default
[ "${CAM_MODELS_FULL:-0}" = 1 ] && set=full
start=$(date +%s)
"$py" "$here/export_models.py" "$outdir" || { echo "export_models.py failed"; exit 1; }
echo "export: $(( $(date +%s) - start )) s"
start=$(date +%s)
"$program" "$outdir/manifest-$set.txt"
status=$?
echo "check: $(( $(date +%s) - start )) s"
if [ $# -ge 3 ]; then
    # the largest files of the default set: weights held once
    "$3" "$outdir/resnet50-op17.onnx" "$outdir/wide_resnet50_2-op17.onnx" \
         "$outdir/convnext_tiny-op17.onnx" "$outdir/inception_v3-op17.onnx" \
         "$outdir/densenet121-op17.onnx" || status=1
fi
exit $status
