#!/usr/bin/env bash
# package-check.sh -- the release artefacts, checked the way users get them (issue 16):
#
#  1. meson dist: the release tarball (git's tracked files) from BUILD_DIR;
#  2. the tarball, unpacked, builds and passes tests from itself: a fresh meson
#     setup of it with the tests (warnings as errors), and the suites that need no
#     GIMP ($CAM_DIST_SUITES, default: engine render cli) but the tests named in
#     $CAM_DIST_SKIP (default cli-evaluate, minutes on the data sets);
#  3. the Debian packages, built from that unpacked tarball (debian/ is part of it):
#     DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b (the upstream suite ran
#     already);
#  4. lintian on them: no errors (warnings are shown);
#  5. apt install ./*.deb in a clean Debian 13 root (build-aux/clean-root.sh), then
#     the install test (tests/install/install-check.sh) for prefix /usr there.
#
# Run it inside build-aux/gimp3-env.sh, after BUILD_DIR is configured:
#   build-aux/gimp3-env.sh build-aux/package-check.sh [BUILD_DIR]   (default _build)
# build-aux/test-all.sh runs it after its two builds. Work files: _build-package/.
# Step 5 needs root (CI is root); without it, it is reported as skipped.
# Exit status: 0 all passed (or step 5 skipped for want of root), 1 a step failed.
set -uo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$src" || exit 1
build=$(cd "${1:-_build}" && pwd) || { echo "no build folder ${1:-_build}"; exit 1; }
out=$src/_build-package
jobs=$(nproc 2>/dev/null || echo 2)
suites=${CAM_DIST_SUITES:-engine render cli}
skip=${CAM_DIST_SKIP:-cli-evaluate}   # minutes on the data sets; the full suite runs it
status=0
results=()
t0=$SECONDS
step() { printf '\n=== package-check: %s (at %ds)\n' "$*" $((SECONDS - t0)); }
result() { results+=("$1"); case $1 in *FAIL*) status=1;; esac; }
finish() {
  printf '\n=== package-check summary (%ds)\n' $((SECONDS - t0))
  printf '  %s\n' "${results[@]}"
  exit $status
}

rm -rf "$out"
mkdir -p "$out"

# 1. The release tarball.
step "1. meson dist"
dirty=()
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && dirty=(--allow-dirty)
if ! meson dist -C "$build" --no-tests --formats xztar "${dirty[@]}" >"$out/dist.log" 2>&1; then
  cat "$out/dist.log"; result "dist: FAILED (meson dist)"; finish
fi
tarball=$(ls "$build"/meson-dist/gimp-cam-*.tar.xz | head -1)
name=$(basename "$tarball" .tar.xz)
cp "$tarball" "$out/"
tar -C "$out" -xf "$tarball" || { result "dist: FAILED (unpacking $tarball)"; finish; }
tree=$out/$name
echo "$tarball: $(du -h "$tarball" | cut -f1), $(tar -tf "$tarball" | wc -l) entries${dirty:+ (uncommitted changes are not in it)}"
result "dist: ok ($(basename "$tarball"))"

# 2. It builds and passes tests from itself.
step "2. build and test the tarball (suites: $suites; not: $skip)"
if meson setup "$out/dist-build" "$tree" -Dwerror=true -Dfuzz-seconds=0 >"$out/dist-setup.log" 2>&1 \
   && meson compile -C "$out/dist-build" -j "$jobs" >"$out/dist-compile.log" 2>&1; then
  suite_args=()
  for s in $suites; do suite_args+=(--suite "$s"); done
  mapfile -t tests < <(meson test -C "$out/dist-build" --list "${suite_args[@]}" 2>/dev/null \
                       | sed -n 's|^[^ ]* / ||p' | grep -vxF -f <(printf '%s\n' $skip))
  meson test -C "$out/dist-build" --print-errorlogs --num-processes "$jobs" "${tests[@]}" \
    >"$out/dist-test.log" 2>&1
  rc=$?
  grep -E '^ *[0-9]+/[0-9]+ ' "$out/dist-test.log" | tail -40
  line=$(grep -E '^(Ok|Fail|Skipped|Timeout):' "$out/dist-build/meson-logs/testlog.txt" | tr -s ' ' | tr '\n' ' ')
  if [ $rc -eq 0 ]; then result "dist tests: ok ($line)"; else
    grep -A30 -E '^Summary of Failures' "$out/dist-test.log" | head -60; result "dist tests: FAILED ($line)"; fi
else
  tail -30 "$out"/dist-setup.log "$out"/dist-compile.log 2>/dev/null; result "dist build: FAILED"
fi

# 3. Debian packages from the unpacked tarball.
step "3. dpkg-buildpackage -us -uc -b (nocheck)"
if (cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=$jobs" DEB_BUILD_PROFILES=nocheck dpkg-buildpackage -us -uc -b) \
     >"$out/deb-build.log" 2>&1; then
  grep -E 'dpkg-deb: building package' "$out/deb-build.log"
  result "debs: ok ($(cd "$out" && ls ./*.deb | tr '\n' ' '))"
else
  tail -40 "$out/deb-build.log"; result "debs: FAILED (dpkg-buildpackage; log $out/deb-build.log)"; finish
fi

# 4. lintian: no errors.
step "4. lintian"
changes=$(ls "$out"/*.changes | head -1)
lintian --fail-on error --tag-display-limit 0 "$changes" >"$out/lintian.log" 2>&1
rc=$?
cat "$out/lintian.log"
errors=$(grep -c '^E: ' "$out/lintian.log")
warnings=$(grep -c '^W: ' "$out/lintian.log")
if [ $rc -eq 0 ] && [ "$errors" -eq 0 ]; then result "lintian: ok (0 errors, $warnings warnings)"
else result "lintian: FAILED ($errors errors, exit $rc)"; fi

# 5. apt install ./*.deb in a clean Debian 13 root, and the install test there.
step "5. apt install ./*.deb in a clean Debian 13 root, then the install test"
if [ "$(id -u)" -ne 0 ]; then
  result "clean-root install: SKIPPED (needs root for the chroot; CI runs it)"
  finish
fi
run=$out/clean-run
mkdir -p "$run/install"
cp "$out"/*.deb "$run/"
cp tests/install/install-check.sh tests/install/camengine-user.c tests/plugin/data/sample.png "$run/install/"
cat >"$run/in-clean-root.sh" <<'EOF'
# runs inside the clean root (build-aux/clean-root.sh), in /mnt/run
set -u
echo "clean root: $(. /etc/os-release && echo "$PRETTY_NAME"), $(dpkg-query -W | wc -l) packages"
# this copy is thrown away: no fsync per file, no man-db index (minutes on a VM disk)
echo force-unsafe-io >/etc/dpkg/dpkg.cfg.d/gimp-cam-unsafe-io
rm -f /var/lib/man-db/auto-update
apt-get update -qq || exit 90
echo "--- apt install ./*.deb (at ${SECONDS}s)"
apt-get install -y -q --no-install-recommends ./*.deb >apt-debs.log 2>&1 \
  || { tail -30 apt-debs.log; echo "apt install ./*.deb FAILED"; exit 91; }
grep -E '^(Setting up|Unpacking) (libcamengine|cam-heatmap|gimp-plugin-cam)' apt-debs.log
echo "$(grep -c '^Setting up' apt-debs.log) packages set up"
echo "--- test tools: a C compiler and pkg-config for the pkg-config program (at ${SECONDS}s)"
apt-get install -y -q --no-install-recommends gcc libc6-dev pkgconf >apt-tools.log 2>&1 \
  || { tail -30 apt-tools.log; exit 92; }
echo "--- install test (at ${SECONDS}s)"
bash install/install-check.sh --no-leak "$1" /usr
rc=$?
echo "--- done (at ${SECONDS}s)"
exit $rc
EOF
build-aux/clean-root.sh "$run" in-clean-root.sh "$src" 2>&1 | tee "$out/clean-root.log"
rc=${PIPESTATUS[0]}
case $rc in
  0) result "clean-root install + install test: ok";;
  90) result "clean-root install: FAILED (apt-get update: no network to the archive?)";;
  91) result "clean-root install: FAILED (apt install ./*.deb)";;
  *) result "clean-root install + install test: FAILED (exit $rc)";;
esac
finish
