#!/usr/bin/env bash
# Runs every test suite and adds up their "N passed, N failed" lines.
#   bash tests/run_all.sh        (what `make test` runs)
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
mkdir -p build
rm -f build/op_coverage_grad.txt build/op_coverage_device.txt   # written again by test_nn and test_opencl
total_p=0 total_f=0
suite() {  # NAME COMMAND...
    local name=$1 line p f; shift
    echo "=== $name"
    "$@" 2>&1 | tee build/suite.log | grep -v '^PASS' | tail -n 40
    line=$(tail -n 1 build/suite.log)
    if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}
    else
        echo "FAIL: suite '$name' did not finish (last line: $line)"; p=0; f=1
    fi
    total_p=$((total_p + p)); total_f=$((total_f + f))
}
suite "compile checks" bash tests/compile_check.sh
# builds one test program and runs it; a build that fails is a failed suite
built() {  # SOURCE OUTPUT FLAGS... (-I. and -lm added)
    local src=$1 out=$2; shift 2
    if "${CC:-gcc}" "$@" -I. -o "$out" "$src" -lm; then
        "$out"
    else
        echo "FAIL: $src does not build with $*"
        echo "0 passed, 1 failed"
    fi
}
ASAN=("-fsanitize=address,undefined" -fno-sanitize-recover=all -fno-omit-frame-pointer)
suite "unit tests" built tests/test_nn.c build/test_nn -std=c99 -O2 -g
suite "unit tests, OpenMP, -march=native" built tests/test_nn.c build/test_nn_omp -std=c99 -O2 -march=native -fopenmp
suite "unit tests under ASan+UBSan" built tests/test_nn.c build/test_nn_asan -std=c99 -O1 -g "${ASAN[@]}"
suite "the API contract: ownership, frozen graphs, foreign and NULL arguments (ASan+UBSan)" built tests/test_contract.c build/test_contract_asan -std=c99 -pedantic -Wall -Wextra -Werror -O1 -g "${ASAN[@]}"
suite "the cifar10 recipe's helpers (whitening, alternating flips)" built tests/test_cifar10_recipe.c build/test_cifar10_recipe -std=c99 -pedantic -Wall -Wextra -Werror -O2
suite "persistence: safetensors, checkpoints, exact resume" built tests/test_persist.c build/test_persist -std=c99 -O2 -g
suite "persistence under ASan+UBSan" built tests/test_persist.c build/test_persist_asan -std=c99 -O1 -g "${ASAN[@]}"
suite "fuzz regression corpus under ASan+UBSan" bash tests/fuzz/replay.sh
suite "valgrind memcheck: unit, persistence, fuzz corpus" bash tests/valgrind.sh
suite "big-endian (s390x under qemu; skipped without them)" bash tests/bigendian.sh
# The OpenCL backend against the CPU backend on two implementations: PoCL
# and Intel's CPU runtime (tools/intel_opencl.sh installs it from PyPI
# under build/), each alone for the ICD loader.  Skipped only where one is
# not installed or installable, and never in CI.
opencl_tests() {  # ICD_DIRECTORY (empty: the implementation is missing) WHAT_TO_INSTALL
    if ! "${CC:-gcc}" -std=c99 -pedantic -Wall -Wextra -Werror -O2 -g -I. -o build/test_opencl tests/test_opencl.c \
        -lOpenCL -lclblast -lm >build/test_opencl_cc.log 2>&1; then
        if [ "${CI:-}" != true ] && grep -q 'CL/cl.h\|clblast_c.h\|-lOpenCL\|-lclblast' build/test_opencl_cc.log; then
            echo "SKIP: OpenCL is not installed (ocl-icd-opencl-dev opencl-headers libclblast-dev pocl-opencl-icd)"
            echo "0 passed, 0 failed"
        else
            cat build/test_opencl_cc.log
            echo "0 passed, 1 failed"
        fi
    elif [ -z "$1" ]; then
        [ "${CI:-}" = true ] && { echo "FAIL: $2 is missing in CI"; echo "0 passed, 1 failed"; return; }
        echo "SKIP: $2 is not installed"
        echo "0 passed, 0 failed"
    else
        OCL_ICD_VENDORS=$1 build/test_opencl
    fi
}
pocl_icd=
if [ -e /etc/OpenCL/vendors/pocl.icd ]; then
    mkdir -p build/icd-pocl && cp /etc/OpenCL/vendors/pocl.icd build/icd-pocl/ && pocl_icd=$PWD/build/icd-pocl
fi
suite "OpenCL backend on PoCL" opencl_tests "$pocl_icd" "PoCL (pocl-opencl-icd)"
suite "OpenCL backend on Intel's CPU runtime" opencl_tests "$(tools/intel_opencl.sh 2>build/intel_opencl.log)" \
    "Intel's OpenCL runtime (tools/intel_opencl.sh: python3-venv and PyPI)"
# every op of the registry has a gradient check and a device parity case
suite "op coverage" built tests/op_coverage.c build/op_coverage -std=c99 -pedantic -Wall -Wextra -Werror
# ONNX export, run in ONNX Runtime (skipped without Python's onnx and onnxruntime, never in CI)
suite "ONNX export (nn_onnx.h) in ONNX Runtime" bash tests/test_onnx.sh
suite "examples" bash tests/test_examples.sh
suite "data-parallel training on MPI (nn_mpi.h): 2 and 4 ranks, resume, faults" bash tests/test_mpi.sh
suite "examples: --save, --checkpoint, --resume after SIGKILL" bash tests/test_example_resume.sh
# other platforms, one suite each, after the examples have fetched the data
# (skipped without their tools, never in CI)
suite "Windows (MinGW-w64 under Wine)" bash tests/windows.sh
suite "aarch64 under qemu" bash tests/aarch64.sh
suite "32-bit x86 (-m32)" bash tests/m32.sh
suite "tools" bash tests/test_tools.sh
suite "docs/API.md covers the headers and is up to date" python3 tools/api_doc.py --check
# every layer type through PyTorch and back (tools/pytorch_roundtrip.py),
# where PyTorch is installed
pytorch_roundtrip() {
    if python3 -c 'import torch, safetensors, numpy' >/dev/null 2>&1; then
        python3 tools/pytorch_roundtrip.py
    else
        echo "SKIP: PyTorch is not installed (python3 -m pip install --user torch safetensors numpy; from PyPI that is torch with its CUDA libraries, about 2.5 GB)"
        echo "0 passed, 0 failed"
    fi
}
suite "PyTorch round trip of every layer type" pytorch_roundtrip
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
