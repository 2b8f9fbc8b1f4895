#!/usr/bin/env bash
# screenshot-dialog.sh -- a screenshot of the plug-in's dialog for the README.
#
#   build-aux/screenshot-dialog.sh [BUILD_DIR [OUTPUT.png]]
#   (default: _build and docs/screenshot-dialog.png; on Debian 12 run it inside
#    build-aux/gimp3-env.sh, which has GIMP 3, Xvfb and xwd)
#
# Starts a virtual X server (Xvfb), runs GIMP with a throwaway profile whose
# plug-in path holds BUILD_DIR's plug-in, opens tests/plugin/data/sample.png and
# calls plug-in-cam-heatmap interactively, waits until the dialog shows its
# predictions and preview, grabs the dialog window with xwd and converts it to
# PNG (tests/plugin/xwd2png.py). Everything it starts is stopped at the end.
#
# CAM_SCREENSHOT_ARGS adds keyword arguments to the call (the dialog starts with
# them), for example '#:model "resnet18-demo"' with CAM_MODEL_PATH naming the folder
# that holds resnet18-demo.onnx. docs/screenshot-dialog-error.png was made with
#   CAM_SCREENSHOT_ARGS='#:model "file" #:model-file "'$PWD'/README.md"'
#   build-aux/screenshot-dialog.sh _build docs/screenshot-dialog-error.png
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${1:-$src/_build}" && pwd)
output=${2:-$src/docs/screenshot-dialog.png}
title=${CAM_DIALOG_TITLE:-Class Activation Map}

die() { printf 'screenshot-dialog: %s\n' "$*" >&2; exit 1; }
for tool in Xvfb xwd gimp python3; do
    command -v "$tool" >/dev/null || die "$tool not found (run inside build-aux/gimp3-env.sh)"
done
[ -x "$build/plugin/gimp-cam" ] || die "no plug-in in $build/plugin/gimp-cam (build first)"

work=$(mktemp -d "$build/screenshot-XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

mkdir -p "$work/home" "$work/profile" "$work/plug-ins/gimp-cam"
ln -s "$build/plugin/gimp-cam" "$work/plug-ins/gimp-cam/gimp-cam"
ln -s "$build/po" "$work/plug-ins/gimp-cam/locale"
cat >"$work/profile/gimprc" <<EOF
(plug-in-path "\${gimp_plug_in_dir}/plug-ins:$work/plug-ins")
(show-welcome-dialog no)
(show-tips no)
(restore-session no)
EOF

display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1280x1024x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
sleep 2
# The pointer to the bottom right corner, away from the dialog (at 0,0 without a
# window manager), so that no tooltip covers it (Xlib through ctypes:
# no extra tool needed).
DISPLAY=$display python3 -c '
import ctypes
x = ctypes.cdll.LoadLibrary("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XDefaultRootWindow.restype = ctypes.c_ulong
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XWarpPointer.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong] + [ctypes.c_int] * 6
d = x.XOpenDisplay(None)
if d:
    x.XWarpPointer(d, 0, x.XDefaultRootWindow(d), 0, 0, 0, 0, 1275, 1019)
    x.XFlush.argtypes = [ctypes.c_void_p]
    x.XFlush(d)
' || true

export DISPLAY=$display HOME=$work/home GIMP3_DIRECTORY=$work/profile
export XDG_CONFIG_HOME=$work/home/.config XDG_DATA_HOME=$work/home/.local/share
export LANG=${LANG:-C.UTF-8}
sample=$src/tests/plugin/data/sample.png
gimp --no-splash --batch-interpreter=plug-in-script-fu-eval -b "
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE \"$sample\")))
         (layer (vector-ref (car (gimp-image-get-selected-layers image)) 0)))
    (gimp-image-scale image 384 288)
    (gimp-display-new image)
    (plug-in-cam-heatmap #:run-mode RUN-INTERACTIVE #:image image #:drawables (vector layer)
                         ${CAM_SCREENSHOT_ARGS:-}))" \
    >"$work/gimp.log" 2>&1 &
pids+=($!)

# Wait for the dialog (up to 3 minutes), then for its predictions and preview.
for _ in $(seq 180); do
    if xwd -silent -name "$title" -out "$work/dialog.xwd" 2>/dev/null; then break; fi
    sleep 1
done
[ -s "$work/dialog.xwd" ] || { tail -20 "$work/gimp.log" >&2; die "the dialog did not appear"; }
sleep "${CAM_SCREENSHOT_DELAY:-8}"
xwd -silent -name "$title" -out "$work/dialog.xwd"
mkdir -p "$(dirname "$output")"
python3 "$src/tests/plugin/xwd2png.py" "$work/dialog.xwd" "$output"
echo "$output"
