#!/usr/bin/env bash
# gimp-uninstalled.sh -- run GIMP 3 with the plug-in from a build tree, nothing installed.
#
#   build-aux/gimp-uninstalled.sh BUILD_DIR COMMAND [ARGS...]
#
# COMMAND is gimp or gimp-console-3.0 with its arguments, for example:
#
#   build-aux/gimp-uninstalled.sh _build gimp-console-3.0 -i --quit \
#     --batch-interpreter=plug-in-script-fu-eval \
#     -b '(gimp-cam-heatmap-file "tests/plugin/data/sample.png" "sample-cam.png" "cifar10" "default")'
#
# It uses a GIMP profile of its own in BUILD_DIR/gimp-profile (your ~/.config/GIMP is
# not read or written) whose gimprc adds BUILD_DIR/gimp-profile/plug-ins (holding
# gimp-cam/gimp-cam and gimp-cam/locale, links into the build tree) to the plug-in
# path and the source tree's plugin/ folder (gimp-cam-batch.scm) to the Script-Fu
# path. The profile is kept, so later runs start faster. Models are found in the
# source tree's weights/ (and $CAM_MODEL_PATH).
set -euo pipefail

die() { printf 'gimp-uninstalled: %s\n' "$*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: build-aux/gimp-uninstalled.sh BUILD_DIR COMMAND [ARGS...]"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "$1" && pwd) || die "no build folder $1"
shift
[ -x "$build/plugin/gimp-cam" ] || die "no plug-in in $build/plugin/gimp-cam (build first: meson compile -C $build)"

profile=$build/gimp-profile
mkdir -p "$profile/config" "$profile/plug-ins/gimp-cam"
ln -sfn "$build/plugin/gimp-cam" "$profile/plug-ins/gimp-cam/gimp-cam"
ln -sfn "$build/po" "$profile/plug-ins/gimp-cam/locale"
cat >"$profile/config/gimprc" <<EOF
(plug-in-path "\${gimp_plug_in_dir}/plug-ins:$profile/plug-ins")
(script-fu-path "\${gimp_data_dir}/scripts:$src/plugin")
(show-welcome-dialog no)
EOF

export GIMP3_DIRECTORY=$profile/config
exec "$@"
