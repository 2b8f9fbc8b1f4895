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
# What makes the picture right (a 1000-class model once gave a black box in it):
#  - The pointer is moved to the screen's bottom right corner once the X server
#    answers, and checked there: Xvfb starts with it in the middle of the screen,
#    over a wide dialog, whose tooltip then covered part of it (black: grabbed
#    before GTK painted it). Without a window manager or compositor, xwd reads the
#    screen, so any window above the dialog would be in the picture.
#  - The dialog is grabbed once it is idle: two grabs CAM_SCREENSHOT_INTERVAL
#    seconds apart (default 2), at least CAM_SCREENSHOT_DELAY seconds (default 4)
#    after it appeared, that are identical (the progress bar moves while it
#    computes), up to 5 minutes: a large model that loads slowly is waited for.
#  - Any window that is mapped above the dialog and overlaps it (a tooltip, a
#    popup, a message box) makes the script fail, naming it.
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
# GTK without animations or a blinking text cursor: the dialog settles
mkdir -p "$work/home/.config/gtk-3.0"
printf '[Settings]\ngtk-enable-animations=false\ngtk-cursor-blink=false\n' \
    >"$work/home/.config/gtk-3.0/settings.ini"
cat >"$work/profile/gimprc" <<EOF
(plug-in-path "\${gimp_plug_in_dir}/plug-ins:$work/plug-ins")
(show-welcome-dialog no)
(show-tips no)
(restore-session no)
EOF

display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1280x1024x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
    DISPLAY=$display xwininfo -root >/dev/null 2>&1 && break
    sleep 0.5
done
DISPLAY=$display xwininfo -root >/dev/null 2>&1 || { cat "$work/xvfb.log" >&2; die "Xvfb did not start"; }
# warp X Y: moves the pointer there and checks it (Xlib through ctypes: no extra
# tool needed).
warp() {
    DISPLAY=$display python3 - "$1" "$2" <<'PY'
import ctypes, sys
tx, ty = int(sys.argv[1]), int(sys.argv[2])
x = ctypes.cdll.LoadLibrary("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XDefaultRootWindow.restype = ctypes.c_ulong
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XWarpPointer.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong] + [ctypes.c_int] * 6
x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
x.XQueryPointer.argtypes = [ctypes.c_void_p, ctypes.c_ulong] + [ctypes.c_void_p] * 7
w, i, u = ctypes.c_ulong(), ctypes.c_int(), ctypes.c_uint()
rx, ry = ctypes.c_int(), ctypes.c_int()
d = x.XOpenDisplay(None)
if not d:
    sys.exit("cannot open the display")
root = x.XDefaultRootWindow(d)
x.XWarpPointer(d, 0, root, 0, 0, 0, 0, tx, ty)
x.XSync(d, 0)
x.XQueryPointer(d, root, ctypes.byref(w), ctypes.byref(w), ctypes.byref(rx), ctypes.byref(ry),
                ctypes.byref(i), ctypes.byref(i), ctypes.byref(u))
if (rx.value, ry.value) != (tx, ty):
    sys.exit("the pointer is at %d,%d, not %d,%d" % (rx.value, ry.value, tx, ty))
PY
}
# The pointer to the bottom right corner, away from the dialog (at 0,0 without a
# window manager), so that no tooltip covers it.
warp 1275 1019 || die "could not move the pointer off the dialog"

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

# Wait for the dialog (up to 3 minutes), then until it is idle (predictions and
# preview drawn, nothing moving): two identical grabs in a row.
for _ in $(seq 180); do
    if xwd -silent -name "$title" -out "$work/dialog.xwd" 2>/dev/null; then break; fi
    sleep 1
done
[ -s "$work/dialog.xwd" ] || { tail -20 "$work/gimp.log" >&2; die "the dialog did not appear"; }
sleep "${CAM_SCREENSHOT_DELAY:-4}"
interval=${CAM_SCREENSHOT_INTERVAL:-2}

# wait_idle: grabs the dialog into $work/dialog.xwd once two grabs in a row are
# identical (up to 5 minutes).
wait_idle() {
    xwd -silent -name "$title" -out "$work/dialog.xwd"
    for _ in $(seq $((300 / interval))); do
        sleep "$interval"
        xwd -silent -name "$title" -out "$work/next.xwd"
        if cmp -s "$work/dialog.xwd" "$work/next.xwd"; then return 0; fi
        mv "$work/next.xwd" "$work/dialog.xwd"
    done
    return 1
}

geometry() {
    awk '/Absolute upper-left X/ {x=$4} /Absolute upper-left Y/ {y=$4}
         /Width:/ {w=$2} /Height:/ {h=$2} END {print x, y, w, h}'
}

# covering: prints the first window mapped above the dialog that overlaps it
# (xwininfo lists the root's children from the top of the stack down).
covering() {
    local dialog_id dx dy dw dh id info wx wy ww wh type
    dialog_id=$(xwininfo -name "$title" | awk '/Window id:/ {print $4}')
    read -r dx dy dw dh < <(xwininfo -id "$dialog_id" | geometry)
    for id in $(xwininfo -root -children | awk '/^ +0x/ {print $1}'); do
        [ "$id" = "$dialog_id" ] && break
        info=$(xwininfo -id "$id")
        grep -q 'Map State: IsViewable' <<<"$info" || continue
        read -r wx wy ww wh < <(geometry <<<"$info")
        if [ $((wx < dx + dw && dx < wx + ww && wy < dy + dh && dy < wy + wh)) = 1 ]; then
            type=$(xprop -id "$id" _NET_WM_WINDOW_TYPE 2>/dev/null | sed 's/.*= //')
            echo "window $id (${type:-no type}, ${ww}x${wh}+${wx}+${wy})"
            return
        fi
    done
}

# GTK may still place a tooltip where Xvfb started the pointer (the middle of the
# screen: the pointer moved before GTK had a window, so it saw no event): then the
# pointer goes into the dialog's bottom left corner (its border: no widget, no
# tooltip) and out again, and the dialog is grabbed again.
for attempt in 1 2 3; do
    wait_idle || die "the dialog did not settle within 5 minutes (still computing?)"
    cover=$(covering)
    [ -z "$cover" ] && break
    [ "$attempt" = 3 ] && die "$cover covers the dialog"
    echo "screenshot-dialog: $cover covers the dialog; moving the pointer over it and out" >&2
    read -r _ _ _ dh < <(xwininfo -name "$title" | geometry)
    warp 2 $((dh - 3)) && sleep 1 && warp 1275 1019 || die "could not move the pointer"
done
mkdir -p "$(dirname "$output")"
python3 "$src/tests/plugin/xwd2png.py" "$work/dialog.xwd" "$output"
echo "$output"
