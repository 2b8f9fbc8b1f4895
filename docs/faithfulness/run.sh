#!/bin/sh
# The README's faithfulness table: cam-heatmap --evaluate, one thread (OPENBLAS_NUM_THREADS=1,
# --jobs 1; the map times in the JSON are thread CPU time), default settings (16 steps,
# black baseline, ROAD at 10..90 % with noise 0.01, seed 1). Run inside build-aux/gimp3-env.sh:
#   build-aux/gimp3-env.sh sh docs/faithfulness/run.sh CAM_HEATMAP DATA_DIR PART
# PART: fm-main, fm-ss, cifar-main, cifar-slow (the slices are the README's).
set -e
exe=$1 data=$2 part=$3
out=docs/faithfulness
export OPENBLAS_NUM_THREADS=1
cheap=grad-cam,grad-cam-tutorial,hires-cam,grad-cam++,xgrad-cam,grad-cam-elementwise,layer-cam,eigen-cam,eigen-grad-cam,kpca-cam,finer-cam,smooth-grad-cam++,ablation-cam,recipro-cam
run() { # name model dataset limit methods
    start=$(date +%s)
    "$exe" -m "$2" --evaluate "$data/$3" --limit "$4" --method "$5" --jobs 1 \
        --json "$out/$1.json" -q
    # the process's CPU time (user, system; second line: children's), and the wall time
    { times; echo "wall $(($(date +%s) - start)) s"; } > "$out/$1.time"
}
case $part in
fm-main) run fashion-mnist-1000 weights/fashion-mnist.onnx fashion-mnist 1000 "cam,$cheap,score-cam,is-cam" ;;
fm-ss) run fashion-mnist-ss-cam-300 weights/fashion-mnist.onnx fashion-mnist 300 ss-cam ;;
cifar-main) run cifar10-40 weights/cifar10.onnx cifar-10 40 "$cheap,score-cam" ;;
cifar-slow) run cifar10-slow-20 weights/cifar10.onnx cifar-10 20 "is-cam,ss-cam" ;;
esac
