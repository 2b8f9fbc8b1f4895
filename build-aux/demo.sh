#!/usr/bin/env bash
# demo.sh -- the main job on a bundled default: build gimp-cam, then run the GIMP 3
# plug-in (plug-in-cam-heatmap) in GIMP batch mode on the bundled sample image
# tests/plugin/data/sample.png with the bundled cifar10 model and its defaults
# (Grad-CAM, jet, alpha 0.4), writing sample-cam.png (the image blended with the
# heatmap) in the source root and printing the prediction.
# Run it inside the GIMP 3 environment:  build-aux/gimp3-env.sh build-aux/demo.sh
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$src"
if [ -f _build/build.ninja ]; then meson setup --reconfigure _build -Dwerror=true >/dev/null
else meson setup _build -Dwerror=true >/dev/null; fi
meson compile -C _build >/dev/null
rm -f sample-cam.png
out=$(build-aux/gimp-uninstalled.sh _build gimp-console-3.0 -i --quit \
      --batch-interpreter=plug-in-script-fu-eval \
      -b '(gimp-cam-heatmap-file "tests/plugin/data/sample.png" "sample-cam.png" "cifar10" "default")' 2>/dev/null) || true
printf '%s\n' "$out" | grep -E 'sample\.png' || true
# GIMP's batch mode exits 0 even when a batch command fails: check the result.
[ -s sample-cam.png ] || { echo "demo: the plug-in did not write sample-cam.png" >&2; exit 1; }
echo "demo: wrote $src/sample-cam.png"
