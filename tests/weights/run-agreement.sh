#!/bin/sh
# run-agreement.sh TEST-ACCURACY NETWORK MIN_ACCURACY MIN_AGREEMENT OUTFILE
# PyTorch's predictions on the test set (torch_predictions.py), then the engine's
# (test-accuracy), which must agree on at least MIN_AGREEMENT percent of images.
set -u
program=$1 network=$2 min_accuracy=$3 min_agreement=$4 out=$5
here=$(dirname "$0")
model="${CAM_MODEL_DIR:-$here/../../weights}/$network.onnx"
if [ ! -f "$model" ]; then
    echo "SKIP: $model does not exist yet (the trained weights are committed by the weights work)"
    exit 77
fi
py=${PYTHON3:-python3}
command -v "$py" >/dev/null 2>&1 || { echo "SKIP: python3 is missing"; exit 77; }
mkdir -p "$(dirname "$out")"
"$py" "$here/torch_predictions.py" "$network" "$model" "$out"
rc=$?
[ $rc -eq 0 ] || exit $rc
exec "$program" "$network" "$min_accuracy" --torch-predictions "$out" "$min_agreement"
