#!/usr/bin/env bash
# make oclgrind: the GEMM and op parity cases of tests/test_opencl.c
# (--parity --small: fewer GEMM shapes, every op case on at most 4
# samples) on Oclgrind (Debian: oclgrind), the only implementation the ICD
# loader sees, with its data-race, uninitialised-value and API checks.
# The kernels are built with -cl-opt-disable: Oclgrind 21.10 aborts on the
# `freeze` instructions of LLVM's optimiser.  Work-groups are capped at 16
# work-items (NN_OPENCL_MAX_WORK_GROUP): the simulator runs every
# work-item, and the cases' small shapes would leave most of 256 idle.
# Any report fails.
# Last line: "N passed, N failed".
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
icd=/usr/lib/oclgrind/liboclgrind-rt-icd.so
if [ ! -e $icd ]; then
    if [ "${CI:-}" = true ]; then echo "FAIL: oclgrind is not installed"; echo "0 passed, 1 failed"; exit 1; fi
    echo "SKIP: oclgrind is not installed (Debian: oclgrind)"; echo "0 passed, 0 failed"; exit 0
fi
mkdir -p build/icd-oclgrind
echo $icd >build/icd-oclgrind/oclgrind.icd
gcc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -g -I. -o build/test_opencl_oclgrind tests/test_opencl.c -lOpenCL -lclblast -lm ||
    { echo "0 passed, 1 failed"; exit 1; }
OCL_ICD_VENDORS=$PWD/build/icd-oclgrind OCLGRIND_DATA_RACES=1 OCLGRIND_UNINITIALIZED=1 OCLGRIND_CHECK_API=1 \
    NN_OPENCL_BUILD_OPTIONS=-cl-opt-disable NN_OPENCL_CACHE_DIR= NN_OPENCL_MAX_WORK_GROUP=16 \
    build/test_opencl_oclgrind --parity --small >build/oclgrind.log 2>&1
status=$?
grep -v '^PASS' build/oclgrind.log | tail -n 40
# Oclgrind's reports name the kernel they were found in
reports=$(grep -c '^	Kernel: ' build/oclgrind.log)
api=$(grep -c 'OpenCL runtime error' build/oclgrind.log)
line=$(tail -n 1 build/oclgrind.log)
p=0 f=1
[[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]] && p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
[ $status -ne 0 ] && [ "$f" -eq 0 ] && f=1
echo "oclgrind: $reports kernel reports, $api API errors (build/oclgrind.log)"
[ $((reports + api)) -gt 0 ] && f=$((f + 1))
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
