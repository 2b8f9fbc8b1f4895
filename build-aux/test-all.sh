#!/usr/bin/env bash
# test-all.sh -- build gimp-cam twice and run the whole test suite in each build:
#   _build           debugoptimized, warnings are errors
#   _build-sanitize  the same with AddressSanitizer + UndefinedBehaviorSanitizer;
#                    any sanitizer report fails the test that triggered it
# and then checks the release artefacts (build-aux/package-check.sh: the meson dist
# tarball built and tested from itself, the Debian packages built once, lintian, and
# the packages installed into a clean Debian 13 root and tested there).
# Run it inside the GIMP 3 environment:  build-aux/gimp3-env.sh build-aux/test-all.sh
# Extra arguments go to `meson test` (e.g. --suite engine); with them, or with
# CAM_PACKAGES=0, the package checks are left out.
# Exit status: 0 when every test of both builds passed (skips allowed), else 1.
set -uo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$src" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)

declare -A setup_args=(
  [_build]="-Dwerror=true"
  [_build-sanitize]="-Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false"
)
status=0
summary=()
for dir in _build _build-sanitize; do
  echo "=== $dir: configure and build (${setup_args[$dir]})"
  # shellcheck disable=SC2086
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" ${setup_args[$dir]} >"$dir.setup.log" 2>&1
  else
    meson setup "$dir" ${setup_args[$dir]} >"$dir.setup.log" 2>&1
  fi || { cat "$dir.setup.log"; echo "=== $dir: meson setup FAILED"; status=1; summary+=("$dir: setup failed"); continue; }
  rm -f "$dir.setup.log"
  meson compile -C "$dir" -j "$jobs" || { echo "=== $dir: build FAILED"; status=1; summary+=("$dir: build failed"); continue; }
  echo "=== $dir: tests"
  meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "$@"
  rc=$?
  line=$(grep -E '^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout):' "$dir/meson-logs/testlog.txt" 2>/dev/null | tr -s ' ' | tr '\n' ' ')
  summary+=("$dir: $line")
  [ $rc -eq 0 ] || status=1
done
if [ $# -gt 0 ] || [ "${CAM_PACKAGES:-1}" = 0 ]; then
  summary+=("packages: not checked (test arguments given or CAM_PACKAGES=0)")
elif [ -f _build/build.ninja ] && [ -x _build/engine/cli/cam-heatmap ]; then
  echo "=== packages: build-aux/package-check.sh"
  build-aux/package-check.sh _build 2>&1 | tee _build-package.log
  rc=${PIPESTATUS[0]}
  summary+=("packages: $(sed -n '/=== package-check summary/,$p' _build-package.log | sed 1d | tr -s ' ' | tr '\n' ';')")
  [ $rc -eq 0 ] || status=1
else
  summary+=("packages: not checked (_build failed)")
  status=1
fi
echo
echo "=== summary"
printf '  %s\n' "${summary[@]}"
if [ $status -eq 0 ]; then echo "=== ALL TESTS PASSED"; else echo "=== SOME TESTS FAILED"; fi
exit $status
