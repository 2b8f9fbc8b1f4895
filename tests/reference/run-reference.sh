#!/bin/sh
# run-reference.sh TEST-PROGRAM OUTDIR [SCRIPT [once]] -- write the PyTorch references into
# OUTDIR with SCRIPT (default make_reference.py; make_methods.py: every explanation method),
# then compare the engine with them (test-reference MANIFEST; its exit status 3: FullGrad
# maps to recompute with the engine's routing of near-kink units, make_methods.py
# --reroute, then compared by a second run), on
# the default kernels and again on the portable ones.
# Exits 77 (meson SKIP) when python3 with torch and onnx is missing.
set -u
program=$1
outdir=$2
script=${3:-make_reference.py}
passes=${4:-both}
here=$(dirname "$0")
py=${PYTHON3:-python3}
if ! command -v "$py" >/dev/null 2>&1; then
    echo "SKIP: python3 is missing (the PyTorch references need python3 with torch and onnx)"
    exit 77
fi
modules="torch, onnx, numpy"
case $script in *torchvision*) modules="$modules, torchvision, onnxruntime" ;; esac
if ! missing=$("$py" -c "import $modules" 2>&1); then
    echo "SKIP: python3 cannot import $modules: $missing"
    exit 77
fi
# OUTDIR is shared by the builds (_build-references/): one run at a time writes or reroutes it
mkdir -p "$outdir" || exit 1
if command -v flock >/dev/null 2>&1; then
    exec 9>"$outdir.lock"
    flock 9
fi
"$py" "$here/$script" "$outdir" || { echo "$script failed"; exit 1; }
"$program" "$outdir/manifest.txt"
rc=$?
if [ $rc = 3 ]; then
    # FullGrad: the engine's float32 forward routes some near-kink units otherwise than
    # float64 (test-reference.c wrote which): the maps of those images recomputed in
    # float64 with the engine's routing of those units, then compared
    echo "--- FullGrad maps rerouted as the engine routes their near-kink units"
    "$py" "$here/make_methods.py" --reroute "$outdir" || { echo "make_methods.py --reroute failed"; exit 1; }
    "$program" "$outdir/manifest.txt" fullgrad
    rc=$?
fi
[ $rc = 0 ] || exit 1
# "once": the default kernels only (the methods sit on the layers, whose two kernel
# paths pytorch-reference already checks)
[ "$passes" = once ] && exit 0
# The same references on the portable kernels (im2col + OpenBLAS everywhere), the path
# of CPUs without AVX-512; on such CPUs both runs take it.
echo "--- again with CAM_NO_AVX512=1 CAM_NO_AVX2=1"
CAM_NO_AVX512=1 CAM_NO_AVX2=1 exec "$program" "$outdir/manifest.txt"
