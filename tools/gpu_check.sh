#!/usr/bin/env bash
# Everything worth knowing about nn_opencl.h on a real GPU in one run of at
# most 8 minutes, ending in RESULT lines: the OpenCL devices (clinfo), the
# OpenCL test suite, short runs of the three examples with --device opencl,
# tools/bench_opencl.c's counted steps and its nn_gemm against CLBlast, and,
# where PyTorch is installed, the same networks' training steps in PyTorch
# fp32 (TF32 off) for a ratio.
#
# Here, with a compiler and network (once):
#   tools/gpu_check.sh --build    the programs into build/gpu/, the run-time
#                                 .deb files into .debs/ (both ignored by git)
# On the GPU machine, given this repository, build/gpu/ and .debs/ (as root):
#   tools/gpu_check.sh            [NN_DATA_MIRROR=DIR: data archives for the
#                                 examples, see tools/fetch_data.sh; without
#                                 data an example is skipped]
# Tested on PoCL (no GPU here); README.md "Running on a GPU" has the driver
# set-up for NVIDIA, AMD and Intel GPUs.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
out=build/gpu
if [ "${1:-}" = --build ]; then
    set -e
    mkdir -p $out .debs
    CC=${CC:-gcc}
    $CC -O2 -I. tests/test_opencl.c -o $out/test_opencl -lOpenCL -lclblast -lm
    $CC -O3 -I. tools/bench_opencl.c -o $out/bench_opencl -lOpenCL -lclblast -lm
    for ex in cifar10 imdb fashion_mnist; do $CC -O3 -I. -DNN_OPENCL examples/$ex.c -o $out/$ex -lOpenCL -lclblast -lm; done
    (cd .debs && apt-get download ocl-icd-libopencl1 libclblast1 clinfo)
    ls -l $out .debs
    exit 0
fi

start=$(date +%s)
for f in .debs/*.deb; do dpkg -x $f /; done; ldconfig; mkdir -p /etc/OpenCL/vendors; ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1 || echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd; clinfo -l
clinfo 2>/dev/null | grep -E 'Platform Name|Device Name|Driver Version|Max compute units|Global memory size|Max work group size' | sort -u
elapsed() { echo $(($(date +%s) - start)); }
# each step within its share of the 8 minutes
step() {  # SECONDS LOG COMMAND...
    local limit=$1 log=$2; shift 2
    timeout "$limit" "$@" >"$log" 2>&1
    local rc=$?
    [ $rc -eq 124 ] && echo "(stopped after ${limit}s)" >>"$log"
    return $rc
}
mkdir -p $out/logs

echo "=== OpenCL test suite"
step 120 $out/logs/test_opencl.log $out/test_opencl
grep -v '^PASS' $out/logs/test_opencl.log | tail -n 20
suite=$(tail -n 1 $out/logs/test_opencl.log)
echo "RESULT suite=opencl_tests last_line=\"$suite\" seconds=$(elapsed)"

echo "=== examples, --device opencl"
# data: data/ as the examples expect it, else unpacked from NN_DATA_MIRROR
for set in cifar10 imdb fashion-mnist; do
    [ -n "${NN_DATA_MIRROR:-}" ] && timeout 60 tools/fetch_data.sh $set >/dev/null 2>&1
done
example() {  # NAME DATA_DIR FLAGS...
    local name=$1 data=$2; shift 2
    if [ ! -e "$data" ]; then echo "RESULT example=$name skipped=\"no $data (NN_DATA_MIRROR)\""; return; fi
    local t0=$(date +%s)
    step 45 $out/logs/$name.log $out/$name --device opencl --epochs 1 "$@"
    local rc=$? t=$(($(date +%s) - t0))
    tail -n 3 $out/logs/$name.log
    echo "RESULT example=$name status=$rc seconds=$t last_line=\"$(tail -n 1 $out/logs/$name.log | tr -d '"')\""
}
example cifar10 data/cifar-10-batches-bin --limit 5000
example imdb data/aclImdb --limit 2000 --test-limit 1000
example fashion_mnist data/fashion-mnist --limit 10000

echo "=== bench_opencl: counted training steps on every device"
step 120 $out/logs/bench_opencl.log $out/bench_opencl --steps-only --quick
grep -v '^RESULT' $out/logs/bench_opencl.log | tail -n 12
grep '^RESULT' $out/logs/bench_opencl.log

echo "=== bench_opencl: nn_gemm against CLBlast (NN_OPENCL_CLBLAST_MIN_MNK)"
step 30 $out/logs/bench_gemm.log $out/bench_opencl --gemm-only --quick
grep -A 12 '^GEMM' $out/logs/bench_gemm.log | grep -v '^RESULT'
grep '^RESULT' $out/logs/bench_gemm.log

if python3 -c 'import torch' 2>/dev/null; then
    echo "=== PyTorch fp32 (TF32 off), the same steps"
    step 60 $out/logs/torch.log python3 tools/gpu_torch_steps.py
    cat $out/logs/torch.log
    ours=$(grep '^RESULT device=' $out/logs/bench_opencl.log | head -n 1)
    theirs=$(grep '^RESULT torch' $out/logs/torch.log)
    val() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
    echo "$ours $theirs" | awk -v c="$(val "$ours" cnn_step_ms)" -v g="$(val "$ours" gru_step_ms)" \
        -v tc="$(val "$theirs" torch_cnn_step_ms)" -v tg="$(val "$theirs" torch_gru_step_ms)" \
        'END { if (tc > 0 && tg > 0) printf "RESULT nn_over_torch_cnn_step=%.2f nn_over_torch_gru_step=%.2f\n", c / tc, g / tg }' </dev/null
else
    echo "RESULT torch=not_installed"
fi
echo "RESULT gpu_check_seconds=$(elapsed)"
