#!/usr/bin/env bash
# run-install-tests.sh -- the 'install' test suite (issue 16): gimp-cam installed, not
# just built. Two installs, each checked by install-check.sh (tools, a program built
# with pkg-config camengine, GIMP 3 loading the installed plug-in and helper):
#
#  1. staged: this build tree installed with DESTDIR into a scratch root (as packagers
#     do): the layout, and the tools run from the staging root;
#  2. a fresh prefix: the source tree configured anew with meson's defaults as on a
#     Debian/Ubuntu machine without dpkg-dev (meson then guesses libdir=lib64),
#     --prefix=<scratch>/prefix and -Duser-plugin=true with HOME=<scratch>/home,
#     built, installed and used from there only; a program built against the
#     installed camengine.pc runs with the LD_LIBRARY_PATH that README.md gives.
#
# Nothing may come from the source or build trees: scratch folders are under /tmp,
# CAM_MODEL_PATH is empty, and install-check.sh hides the installed models to show
# that the library does not fall back to the trees.
#
#   tests/install/run-install-tests.sh SOURCE_DIR BUILD_DIR
#   (meson test --suite install passes them through CAM_SOURCE_DIR, CAM_BUILD_DIR)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "${1:-${CAM_SOURCE_DIR:?}}" && pwd)
build=$(cd "${2:-${CAM_BUILD_DIR:?}}" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

tmp=$(mktemp -d /tmp/cam-install-test.XXXXXX)
case $tmp/ in "$src"/* | "$build"/*) echo "scratch folder $tmp is inside the trees" >&2; exit 1;; esac
status=0
noplugin=()
[ -x "$build/plugin/gimp-cam" ] || noplugin=(--no-plugin)   # configured without GIMP 3
say() { printf '\n=== install test: %s\n' "$*"; }
finish() {
  if [ $status -eq 0 ]; then rm -rf "$tmp"; else echo "(scratch files kept in $tmp)"; fi
}
trap finish EXIT

option() { # $1 = build dir, $2 = option name: its value
  meson introspect "$1" --buildoptions | python3 -c '
import json, sys
print(next(str(o["value"]) for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$2"
}

# 1. DESTDIR staging of this build tree.
say "1. meson install --destdir (this build tree, prefix $(option "$build" prefix))"
prefix=$(option "$build" prefix)
if meson install -C "$build" --no-rebuild --destdir "$tmp/stage" >"$tmp/stage.log" 2>&1; then
  "$here/install-check.sh" "${noplugin[@]}" --stage "$tmp/stage" --work "$tmp/work-stage" \
    --no-leak "$src" --no-leak "$build" "$prefix" || status=1
else
  cat "$tmp/stage.log"; echo "meson install --destdir FAILED"; status=1
fi

# 2. A fresh prefix, meson's defaults without dpkg-dev, a per-user plug-in.
say "2. a fresh prefix: meson setup --prefix=$tmp/prefix -Duser-plugin=true, no dpkg-architecture"
mkdir -p "$tmp/nodpkg" "$tmp/home"
printf '#!/bin/sh\n# stands in for a missing dpkg-dev\nexit 127\n' >"$tmp/nodpkg/dpkg-architecture"
chmod +x "$tmp/nodpkg/dpkg-architecture"
fresh=(env PATH="$tmp/nodpkg:$PATH" HOME="$tmp/home")
if "${fresh[@]}" meson setup "$tmp/build" "$src" --prefix="$tmp/prefix" -Duser-plugin=true \
     -Dtests=false >"$tmp/setup.log" 2>&1 \
   && "${fresh[@]}" meson compile -C "$tmp/build" -j "$jobs" >"$tmp/compile.log" 2>&1 \
   && "${fresh[@]}" meson install -C "$tmp/build" --no-rebuild >"$tmp/install.log" 2>&1; then
  guess=$(option "$tmp/build" libdir)
  echo "meson's libdir: $guess; $(grep -E 'library dir|tools rpath' "$tmp/setup.log" | tr -s ' ' | tr '\n' ';')"
  if [ -d /usr/lib64 ] && [ ! -L /usr/lib64 ] && [ -f /etc/debian_version ] && [ "$guess" != lib64 ]; then
    echo "FAIL: without dpkg-architecture meson should guess lib64 here (got $guess): the case is not exercised"
    status=1
  fi
  libdir=$(dirname "$(find "$tmp/prefix" -name libcamengine.so.0 | head -1)")
  "$here/install-check.sh" "${noplugin[@]}" --home "$tmp/home" --work "$tmp/work-prefix" \
    --plugin "$tmp/home/.config/GIMP/3.0/plug-ins/gimp-cam/gimp-cam" \
    --scripts "$tmp/home/.config/GIMP/3.0/scripts" \
    --env "LD_LIBRARY_PATH=$libdir" \
    --no-leak "$src" --no-leak "$build" --no-leak "$tmp/build" "$tmp/prefix" || status=1
else
  cat "$tmp"/setup.log "$tmp"/compile.log "$tmp"/install.log 2>/dev/null | tail -40
  echo "FAIL: configure/build/install into the fresh prefix"
  status=1
fi

say "$([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status
