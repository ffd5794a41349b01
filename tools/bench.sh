#!/usr/bin/env bash
# Builds and runs tools/bench.c against OpenBLAS (Debian: libopenblas-dev)
# and PyTorch (tools/bench_torch.py, with build/torch-venv's Python where
# that exists, else python3), and a copy without OpenMP for the small-GRU
# comparison.  Installs nothing; without OpenBLAS the reference columns read
# 0, without PyTorch its ratios read "absent".
#   tools/bench.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
flags=(-O3 -march=native -I.)
if printf '#include <cblas.h>\nint main(void){return 0;}\n' | ${CC:-cc} -x c - -o /dev/null -lopenblas 2>/dev/null; then
    blas=(-DNN_BENCH_OPENBLAS)
    libs=(-lopenblas -lm)
else
    echo "bench: OpenBLAS not found (apt-get install libopenblas-dev); measuring nn.h alone" >&2
    blas=()
    libs=(-lm)
fi
${CC:-cc} "${flags[@]}" -fopenmp "${blas[@]}" tools/bench.c -o build/bench "${libs[@]}" &
${CC:-cc} "${flags[@]}" tools/bench.c -o build/bench_serial -lm &
wait %1 && wait %2
python=python3
[ -x build/torch-venv/bin/python ] && python=build/torch-venv/bin/python
exec build/bench --serial build/bench_serial --python "$python" "$@"
