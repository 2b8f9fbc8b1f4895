#!/bin/sh
# A smoke run of the training program (weights/train.py): a few hundred images, one
# epoch, for each network; the ONNX file it writes must carry gimp-cam's metadata and
# load in the engine (cam-heatmap --list-layers), whose layer list must name the
# network's default explanation layer. Never touches the shipped weights.
# Usage: test-smoke-train.sh CAM_HEATMAP_EXE OUTPUT_DIR
set -eu
cli=$1; out=$2
data=${CAM_DATA_DIR:-${CAM_DATA_DIR_DEFAULT:-}}
if [ -z "$data" ] || [ ! -d "$data" ]; then
    echo "SKIP: no datasets (set CAM_DATA_DIR or put them in ../shared/data)"; exit 77
fi
python3 -c 'import torch, onnx' 2>/dev/null || { echo "SKIP: python3 with torch and onnx is missing"; exit 77; }
mkdir -p "$out"
for net in fashion-mnist:conv2d_3 cifar10:conv2d_8; do
    name=${net%%:*}; layer=${net#*:}
    rm -f "$out/$name.onnx"
    python3 "$CAM_SOURCE_DIR/weights/train.py" "$name" --data-dir "$data" --limit 300 --val 100 \
        --epochs 1 --test-limit 200 --threads 1 --output "$out/$name.onnx" --report "$out/$name-training.json"
    python3 - "$out/$name.onnx" "$name" <<'PY'
import sys, onnx
m = onnx.load(sys.argv[1])
meta = {p.key: p.value for p in m.metadata_props}
for key in ("cam.name", "cam.labels", "cam.default.layer", "cam.input.scale", "cam.input.background",
            "cam.display.alpha", "cam.display.colormap", "cam.provenance.dataset_sha256",
            "cam.provenance.epochs", "cam.provenance.test_accuracy", "cam.provenance.command"):
    assert key in meta, f"{sys.argv[1]}: metadata {key} missing"
assert meta["cam.name"] == sys.argv[2], meta["cam.name"]
assert len(meta["cam.labels"].split("\n")) == 10
print(f"{sys.argv[1]}: metadata ok")
PY
    layers=$("$cli" --model "$out/$name.onnx" --list-layers)
    echo "$layers"
    echo "$layers" | grep -q "$layer" || { echo "FAIL: $layer not in the engine's layer list"; exit 1; }
done
echo "smoke training: both networks trained, exported and loaded"
