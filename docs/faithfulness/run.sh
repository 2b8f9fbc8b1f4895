#!/bin/sh
# The README's faithfulness table: cam-heatmap --evaluate, one thread (OPENBLAS_NUM_THREADS=1,
# --jobs 1; the map times in the JSON are thread CPU time), default settings (16 steps,
# black baseline, ROAD at 10..90 % with noise 0.01, seed 1). Run inside build-aux/gimp3-env.sh:
#   build-aux/gimp3-env.sh sh docs/faithfulness/run.sh CAM_HEATMAP DATA_DIR PART
# PART: fm-a, fm-b, fm-ss, fm-fg, c1 .. c4, c1b .. c4b (images 8..15), cslow, cmore (the slices are the README's; the machine was
# shared with other jobs, so the methods were split over several one-thread processes).
set -e
exe=$1 data=$2 part=$3
out=docs/faithfulness
export OPENBLAS_NUM_THREADS=1
run() { # name model dataset limit methods [offset]
    start=$(date +%s)
    "$exe" -m "$2" --evaluate "$data/$3" --offset "${6:-0}" --limit "$4" --method "$5" --jobs 1 \
        --json "$out/$1.json" -q
    # the process's CPU time (user, system; second line: children's), and the wall time
    { times; echo "wall $(($(date +%s) - start)) s"; } > "$out/$1.time"
}
case $part in
fm-a) run fashion-mnist-a-200 weights/fashion-mnist.onnx fashion-mnist 200 cam,grad-cam,grad-cam-tutorial,hires-cam,grad-cam++,xgrad-cam,grad-cam-elementwise,layer-cam,eigen-cam,eigen-grad-cam,kpca-cam ;;
fm-b) run fashion-mnist-b-200 weights/fashion-mnist.onnx fashion-mnist 200 finer-cam,smooth-grad-cam++,ablation-cam,recipro-cam,score-cam,is-cam ;;
fm-ss) run fashion-mnist-ss-cam-100 weights/fashion-mnist.onnx fashion-mnist 100 ss-cam ;;
c1) run cifar10-1-8 weights/cifar10.onnx cifar-10 8 grad-cam,grad-cam-tutorial,hires-cam,grad-cam++ ;;
c2) run cifar10-2-8 weights/cifar10.onnx cifar-10 8 xgrad-cam,grad-cam-elementwise,layer-cam,eigen-cam ;;
c3) run cifar10-3-8 weights/cifar10.onnx cifar-10 8 eigen-grad-cam,kpca-cam,finer-cam,smooth-grad-cam++ ;;
c4) run cifar10-4-8 weights/cifar10.onnx cifar-10 8 ablation-cam,recipro-cam,score-cam ;;
c1b) run cifar10-1-8b weights/cifar10.onnx cifar-10 8 grad-cam,grad-cam-tutorial,hires-cam,grad-cam++ 8 ;;
c2b) run cifar10-2-8b weights/cifar10.onnx cifar-10 8 xgrad-cam,grad-cam-elementwise,layer-cam,eigen-cam 8 ;;
c3b) run cifar10-3-8b weights/cifar10.onnx cifar-10 8 eigen-grad-cam,kpca-cam,finer-cam,smooth-grad-cam++ 8 ;;
c4b) run cifar10-4-8b weights/cifar10.onnx cifar-10 8 ablation-cam,recipro-cam,score-cam 8 ;;
cslow) run cifar10-slow-4 weights/cifar10.onnx cifar-10 4 is-cam,ss-cam ;;
# added later (images 16..99 of CIFAR-10 with FullGrad; FullGrad on Fashion-MNIST); these ran
# with --jobs 2 on a quieter machine (the map times are per-thread CPU times either way)
cmore) run cifar10-more-84 weights/cifar10.onnx cifar-10 84 grad-cam,grad-cam-tutorial,hires-cam,grad-cam++,xgrad-cam,grad-cam-elementwise,layer-cam,eigen-cam,eigen-grad-cam,kpca-cam,finer-cam,smooth-grad-cam++,ablation-cam,recipro-cam,score-cam,fullgrad 16 ;;
fm-fg) run fashion-mnist-fullgrad-200 weights/fashion-mnist.onnx fashion-mnist 200 fullgrad ;;
esac
