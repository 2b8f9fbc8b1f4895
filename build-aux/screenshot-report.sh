#!/usr/bin/env bash
# screenshot-report.sh -- the README's gallery and report pictures, made by cam-heatmap.
#
#   build-aux/screenshot-report.sh [BUILD_DIR]
#   (default: _build; on Debian 12 run it inside build-aux/gimp3-env.sh, which has the
#    data sets in $CAM_DATA_DIR and chromium)
#
# docs/gallery.png: `cam-heatmap --gallery` of the first Fashion-MNIST test images
#   labelled Pullover: green maps above 95%, red below,
#   wrong predictions framed in red.
# docs/report.png: headless chromium's screenshot of the top of the HTML report of
#   `cam-heatmap --evaluate --report` on the first 500 Fashion-MNIST test images.
# Both are written to a temporary name and renamed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${1:-$src/_build}" && pwd)
data=${CAM_DATA_DIR:-$src/../shared/data}
cli=$build/engine/cli/cam-heatmap

die() { printf 'screenshot-report: %s\n' "$*" >&2; exit 1; }
[ -x "$cli" ] || die "no cam-heatmap in $cli (build first)"
[ -d "$data/fashion-mnist" ] || die "no Fashion-MNIST in $data (set CAM_DATA_DIR)"
browser=$(command -v chromium || command -v chromium-browser) ||
    die "chromium not found (run inside build-aux/gimp3-env.sh)"

work=$(mktemp -d "$build/screenshot-report-XXXXXX")
trap 'rm -rf "$work"' EXIT

"$cli" -m fashion-mnist --gallery "$src/docs/gallery.png" --dataset "$data/fashion-mnist" \
       --true-class Pullover --limit 12 --columns 6 -q
"$cli" -m fashion-mnist --evaluate "$data/fashion-mnist" --limit 500 --report "$work/report" -q
HOME=$work "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --hide-scrollbars --user-data-dir="$work/profile" --window-size=1200,2230 --virtual-time-budget=3000 \
    --screenshot="$work/report.png" "file://$work/report/index.html" 2>"$work/chromium.log" ||
    { cat "$work/chromium.log" >&2; die "chromium failed"; }
mv "$work/report.png" "$src/docs/.report.png.tmp"
mv "$src/docs/.report.png.tmp" "$src/docs/report.png"
printf 'screenshot-report: wrote %s and %s\n' "$src/docs/gallery.png" "$src/docs/report.png"
