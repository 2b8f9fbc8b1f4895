#!/usr/bin/env bash
# install-check.sh -- check an installed gimp-cam: the tools, a program built against
# camengine.pc, and GIMP 3 loading the installed plug-in and Script-Fu helper.
# Used by tests/install/run-install-tests.sh (a DESTDIR staging root and a fresh
# prefix) and by build-aux/package-check.sh (the .debs in a clean Debian 13 root).
#
#   install-check.sh [OPTIONS] PREFIX
#
#   --stage DIR      the files were staged with DESTDIR=DIR (meson install --destdir):
#                    check the layout and run the tools from DIR/PREFIX (models given
#                    as files: the library looks for names in PREFIX, not in DIR);
#                    no pkg-config program, no GIMP
#   --home DIR       HOME for the runs (a -Duser-plugin=true install put the plug-in
#                    into DIR/.config/GIMP/3.0); default: a fresh folder
#   --plugin FILE    where the installed plug-in executable must be (default: found
#                    under PREFIX/lib*/gimp/3.0/plug-ins)
#   --scripts DIR    where gimp-cam-batch.scm must be (default PREFIX/share/gimp/3.0/scripts)
#   --no-leak DIR    a source or build tree that must not be used (repeatable): the
#                    model search must not list it, nothing may resolve into it
#   --work DIR       scratch folder (default: a new one under /tmp)
#   --no-plugin      the build has no plug-in (no GIMP 3 development files): skip its checks
#   --env NAME=VAL   add to the environment of the pkg-config program's run (e.g. the
#                    LD_LIBRARY_PATH that README.md gives for a non-system prefix)
#
# Every program runs with a minimal environment (env -i: no LD_LIBRARY_PATH, empty
# CAM_MODEL_PATH, a fresh HOME unless --home). Exit status: 0 all passed, 1 a check
# failed, 2 usage.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stage='' home='' plugin='' scripts='' work='' leaks=() user_env=() with_plugin=1
while [ $# -gt 1 ]; do
  case $1 in
    --stage) stage=$2; shift 2;;
    --home) home=$2; shift 2;;
    --plugin) plugin=$2; shift 2;;
    --scripts) scripts=$2; shift 2;;
    --no-leak) leaks+=("$2"); shift 2;;
    --work) work=$2; shift 2;;
    --env) user_env+=("$2"); shift 2;;
    --no-plugin) with_plugin=0; shift;;
    *) break;;
  esac
done
[ $# -eq 1 ] && [[ $1 == /* ]] || { echo "usage: install-check.sh [OPTIONS] PREFIX (absolute)" >&2; exit 2; }
prefix=${1%/}
root=$stage$prefix   # where the files are on this machine
[ -n "$work" ] || work=$(mktemp -d /tmp/cam-install-check.XXXXXX)
mkdir -p "$work"
[ -n "$home" ] || { home=$work/home; mkdir -p "$home"; }

failures=0
pass() { printf 'install-check: ok   %s\n' "$*"; }
fail() { printf 'install-check: FAIL %s\n' "$*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
clean_env=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" LANG=C.UTF-8 CAM_MODEL_PATH=)
no_leak() { # $1 = text: must not name a source or build tree
  local d
  for d in "${leaks[@]}"; do
    [ -n "$d" ] && [[ $1 == *"$d"* ]] && { echo "  mentions $d: $1" | head -c 2000; echo; return 1; }
  done
  return 0
}
png() { [ "$(head -c 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

echo "install-check: $prefix${stage:+ (staged in $stage)}, work $work"

# --- layout -----------------------------------------------------------------------
mapfile -t libs < <(find "$root" -name 'libcamengine.so.0' 2>/dev/null)
if [ ${#libs[@]} -ne 1 ]; then
  fail "exactly one libcamengine.so.0 under $root (found: ${libs[*]:-none})"
  exit 1
fi
libdir=$(dirname "${libs[0]}")
pass "library in ${libdir#"$stage"}"
if [ -f /etc/debian_version ]; then
  check "Debian: nothing of gimp-cam under a lib64 folder" \
    test -z "$(find "$root" -path '*/lib64/*' \( -name 'libcamengine*' -o -name camengine.pc -o -path '*gimp-cam*' \) 2>/dev/null | head -1)"
fi
pc=$libdir/pkgconfig/camengine.pc
check "camengine.pc next to the library" test -f "$pc"
version=$(sed -n 's/^Version: *//p' "$pc" 2>/dev/null)
check "camengine.pc: its libdir is the library's folder" \
  test "$(sed -n 's/^libdir=//p' "$pc" | sed "s|\${prefix}|$prefix|")" = "${libdir#"$stage"}"
for h in camengine.h camengine-render.h camengine-version.h; do
  check "header $h" test -f "$root/include/camengine/$h"
done
for m in cifar10 fashion-mnist; do
  check "bundled model $m" test -f "$root/share/gimp-cam/models/$m.onnx"
done
check "man page cam-heatmap.1" compgen -G "$root/share/man/man1/cam-heatmap.1*" >/dev/null
check "man page cam-model.1" compgen -G "$root/share/man/man1/cam-model.1*" >/dev/null
check "ImageNet labels (1000 lines)" \
  test "$(wc -l < "$root/share/gimp-cam/labels/imagenet.txt" 2>/dev/null)" = 1000
if [ $with_plugin = 1 ]; then
if [ -z "$plugin" ]; then
  plugin=$(find "$root"/lib* -path '*/gimp/3.0/plug-ins/gimp-cam/gimp-cam' 2>/dev/null | head -1)
  plugin=${plugin#"$stage"}
fi
check "plug-in executable ${plugin:-(none found)}" test -x "$stage$plugin"
for lang in de fr; do
  check "translation $lang next to the plug-in" \
    test -f "$stage$(dirname "$plugin")/locale/$lang/LC_MESSAGES/gimp-cam.mo"
done
[ -n "$scripts" ] || scripts=$prefix/share/gimp/3.0/scripts
check "Script-Fu helper in $scripts" test -f "$stage$scripts/gimp-cam-batch.scm"
fi

# --- the tools ----------------------------------------------------------------------
cp "$here/sample.png" "$work/sample.png" 2>/dev/null || cp "$here/../plugin/data/sample.png" "$work/sample.png"
cam=$root/bin/cam-heatmap
tool_env=()
if command -v readelf >/dev/null; then
  runpath=$(readelf -d "$cam" 2>/dev/null | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  case ${libdir#"$stage"} in
    /usr/lib | /usr/lib64 | /usr/lib/*-linux-gnu*)
      check "cam-heatmap has no RUNPATH (the library is in a system folder)" test -z "$runpath";;
    *)
      check "cam-heatmap has a relative RUNPATH: $runpath" test "${runpath#\$ORIGIN/}" != "$runpath";;
  esac
  # staged for a system prefix: nothing points the loader into the staging root
  [ -n "$stage" ] && [ -z "$runpath" ] && tool_env=(LD_LIBRARY_PATH="$libdir")
fi
clean_env+=("${tool_env[@]}")
out=$("${clean_env[@]}" "$cam" --version 2>&1)
check "cam-heatmap --version runs (${tool_env[*]:-no LD_LIBRARY_PATH}): ${out%%$'\n'*}" \
  grep -q "^cam-heatmap (gimp-cam) $version\$" <<<"$out"
check "cam-heatmap --version: the installed library is $version" grep -q "^libcamengine $version\$" <<<"$out"
if [ -n "$stage" ]; then
  model=$root/share/gimp-cam/models/cifar10.onnx   # by file: PREFIX is not there yet
else
  model=cifar10                                    # by name: the installed copy
fi
out=$(cd "$work" && "${clean_env[@]}" "$cam" -m "$model" -o sample-cam.png --json sample.json sample.png 2>&1)
rc=$?
check "cam-heatmap on the sample (exit $rc): ${out%%$'\n'*}" \
  test $rc -eq 0 -a -n "$(grep -E '^sample\.png: automobile [0-9.]+% .* -> sample-cam\.png$' <<<"$out")"
check "cam-heatmap wrote a PNG" png "$work/sample-cam.png"
used=$(sed -n 's/.*"model": {"name": "[^"]*", "path": "\([^"]*\)".*/\1/p' "$work/sample.json" 2>/dev/null)
if [ -z "$stage" ]; then
  check "the model came from the install: $used" test "$used" = "$prefix/share/gimp-cam/models/cifar10.onnx"
fi
# cam-model, and the installed label set by name (not the source tree's: see below)
out=$(cd "$work" && "${clean_env[@]}" "$root/bin/cam-model" info "$model" 2>&1)
rc=$?
check "cam-model info on the installed model (exit $rc): ${out%%$'\n'*}" \
  test $rc -eq 0 -a -n "$(grep -E '^sha256: +[0-9a-f]{64}$' <<<"$out")"
if [ -z "$stage" ]; then
  mv "$root/share/gimp-cam/labels" "$root/share/gimp-cam/labels.hidden"
  out=$(cd "$work" && "${clean_env[@]}" "$root/bin/cam-model" set "$model" -o hidden.onnx \
        --labels imagenet 2>&1)
  rc=$?
  mv "$root/share/gimp-cam/labels.hidden" "$root/share/gimp-cam/labels"
  check "labels hidden: imagenet is not found in the source tree (exit $rc: ${out:0:200})" \
    test $rc -eq 2 -a -n "$(grep -F "no such label set in $prefix/share/gimp-cam/labels" <<<"$out")"
  out=$(cd "$work" && "${clean_env[@]}" "$root/bin/cam-model" set "$model" -o labelled.onnx \
        --labels imagenet 2>&1)
  check "cam-model set --labels imagenet finds the installed set (1000 labels vs 10 classes)" \
    grep -qF "1000 labels, but the model has 10 classes" <<<"$out"
fi
# No source-tree fallback: with the installed models hidden the name must not resolve
# anywhere (the library runs installed, so it must not search the build or source
# tree), and the error lists only installed and per-user folders.
if [ -z "$stage" ]; then
  mv "$root/share/gimp-cam/models" "$root/share/gimp-cam/models.hidden"
  out=$(cd "$work" && "${clean_env[@]}" "$cam" -m cifar10 sample.png 2>&1)
  rc=$?
  mv "$root/share/gimp-cam/models.hidden" "$root/share/gimp-cam/models"
  check "models hidden: cifar10 is not found anywhere else (exit $rc: ${out:0:300})" \
    test $rc -eq 3 -a -n "$(grep -F "looked for cifar10.onnx in: $prefix/share/gimp-cam/models" <<<"$out")"
else
  out=$(cd "$work" && "${clean_env[@]}" "$cam" -m cifar10-not-there sample.png 2>&1)
fi
check "the model search names no source or build tree" no_leak "$out"

[ -n "$stage" ] && { echo "install-check: staged: $failures failure(s)"; [ $failures -eq 0 ]; exit $?; }

# --- a program built against the installed camengine.pc ------------------------------
pcpath=$(dirname "$pc")
cflags=$(PKG_CONFIG_PATH=$pcpath pkg-config --cflags camengine 2>&1) \
  && libs_=$(PKG_CONFIG_PATH=$pcpath pkg-config --libs camengine 2>&1)
check "pkg-config camengine: ${cflags:-} ${libs_:-}" test $? -eq 0
if cc -Wall -Wextra -Werror -o "$work/camengine-user" "$here/camengine-user.c" $cflags $libs_ 2>"$work/cc.log"; then
  pass "compiled camengine-user.c with pkg-config's flags"
  out=$("${clean_env[@]}" "${user_env[@]}" "$work/camengine-user" cifar10 "$version" 2>&1)
  rc=$?
  check "camengine-user runs${user_env[*]:+ (with ${user_env[*]})}: $(tr '\n' ' ' <<<"$out")" test $rc -eq 0
  check "camengine-user found the installed model" \
    grep -qx "model: $prefix/share/gimp-cam/models/cifar10.onnx" <<<"$out"
else
  fail "compile camengine-user.c with pkg-config's flags: $(head -c 2000 "$work/cc.log")"
fi

# --- GIMP 3: the installed plug-in and helper, nothing else ---------------------------
console=$(command -v gimp-console-3.0 || command -v gimp-console || true)
if [ $with_plugin = 0 ]; then
  echo "install-check: (no plug-in in this build: GIMP not checked)"
elif [ -z "$console" ]; then
  fail "gimp-console-3.0 not found"
else
  gimp_env=("${clean_env[@]}" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share"
            XDG_CACHE_HOME="$home/.cache")
  gimp() { (cd "$work" && timeout 300 "${gimp_env[@]}" "$console" -i --quit \
             --batch-interpreter=plug-in-script-fu-eval -b "$1" 2>&1); }
  out=$(gimp '(gimp-cam-heatmap-file "sample.png" "gimp-cam.png" "cifar10" "default")')
  check "GIMP: Script-Fu helper gimp-cam-heatmap-file: $(grep -F 'sample.png:' <<<"$out")" \
    grep -qE '^sample\.png: automobile [0-9.]+% \(class 1\) -> gimp-cam\.png$' <<<"$out"
  check "GIMP: the helper wrote a PNG" png "$work/gimp-cam.png"
  [ -s "$work/gimp-cam.png" ] || printf '%s\n' "$out" | tail -20
  out=$(gimp '(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE "sample.png"))) (layer (vector-ref (car (gimp-image-get-selected-layers image)) 0))) (display (plug-in-cam-heatmap #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer) #:model "fashion-mnist" #:method "grad-cam" #:output "blend")))')
  check "GIMP: procedure plug-in-cam-heatmap returns (class label probability layer path): $(grep -o '([0-9].*)' <<<"$out" | head -1)" \
    grep -qE '\([0-9] "?[A-Za-z/ -]+"? 0?\.[0-9]+ [0-9]+ -1\)' <<<"$out"
  rc_file=$(find "$home" -name pluginrc 2>/dev/null | head -1)
  # pluginrc names the plug-in as "${gimp_dir}/plug-ins/..." (the profile) or
  # "${gimp_plug_in_dir}/plug-ins/..." (GIMP's own folder, <libgimp's libdir>/gimp/3.0)
  registered=$(grep -o '"[^"]*plug-ins/gimp-cam/gimp-cam"' "${rc_file:-/dev/null}" | head -1 | tr -d '"')
  gimp_own=$(dirname "$(ldconfig -p 2>/dev/null | grep -o '/[^ ]*/libgimp-3\.0\.so\.0$' | head -1)")/gimp/3.0
  registered=${registered/'${gimp_dir}'/$home/.config/GIMP/3.0}
  registered=${registered/'${gimp_plug_in_dir}'/$gimp_own}
  check "GIMP registered the plug-in from $plugin (pluginrc: $registered)" \
    test -n "$registered" -a "$(readlink -f "$registered")" = "$(readlink -f "$plugin")"
  check "GIMP registered no other gimp-cam" \
    test "$(grep -c 'plug-ins/gimp-cam/gimp-cam"' "${rc_file:-/dev/null}")" -eq 1
  check "GIMP output names no source or build tree" no_leak "$out"
fi

echo "install-check: $failures failure(s)"
[ $failures -eq 0 ]
