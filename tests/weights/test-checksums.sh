#!/bin/sh
# test-checksums.sh -- the shipped networks match their model cards.
# Every weights/*.onnx that the project ships (fashion-mnist, cifar10) must exist, be
# under 2 MB, and have its sha256 written in weights/README.md as "sha256: <hex>";
# every "sha256:" value in the README must belong to one of the shipped files (no
# stale card). Exits 77 (SKIP) while the weights or the README do not exist yet.
set -u
dir=${CAM_MODEL_DIR:-$(dirname "$0")/../../weights}
readme="$dir/README.md"
for net in fashion-mnist cifar10; do
    if [ ! -f "$dir/$net.onnx" ]; then
        echo "SKIP: $dir/$net.onnx does not exist yet"
        exit 77
    fi
done
if [ ! -f "$readme" ]; then
    echo "SKIP: $readme (the model cards) does not exist yet"
    exit 77
fi
# lines such as "- sha256: <hex>" or "sha256: `<hex>`" (a line that starts with sha256:)
listed=$(grep -iE '^[-*|[:space:]]*sha256[*]*:' "$readme" | grep -oiE '[0-9a-f]{64}' | tr 'A-F' 'a-f' | sort -u)
status=0
hashes=""
for net in fashion-mnist cifar10; do
    f="$dir/$net.onnx"
    size=$(wc -c < "$f")
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    hashes="$hashes $sum"
    if [ "$size" -ge 2097152 ]; then
        echo "FAIL: $f is $size bytes, over 2 MB"
        status=1
    fi
    if printf '%s\n' "$listed" | grep -qx "$sum"; then
        echo "ok: $net.onnx sha256 $sum ($size bytes) is in the model card"
    else
        echo "FAIL: $net.onnx has sha256 $sum, which weights/README.md does not list (sha256: lines: $(echo $listed))"
        status=1
    fi
done
for h in $listed; do
    case " $hashes " in
        *" $h "*) ;;
        *) echo "FAIL: weights/README.md lists sha256 $h, which matches no shipped file"; status=1 ;;
    esac
done
[ -n "$listed" ] || { echo "FAIL: weights/README.md has no 'sha256: <hex>' line"; status=1; }
exit $status
