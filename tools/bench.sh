#!/usr/bin/env bash
# Builds and runs tools/bench.c against OpenBLAS (Debian: libopenblas-dev).
# Installs nothing; without OpenBLAS the reference columns read 0.
#   tools/bench.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
flags=(-O3 -march=native -fopenmp -I.)
if printf '#include <cblas.h>\nint main(void){return 0;}\n' | ${CC:-cc} -x c - -o /dev/null -lopenblas 2>/dev/null; then
    flags+=(-DNN_BENCH_OPENBLAS)
    libs=(-lopenblas -lm)
else
    echo "bench: OpenBLAS not found (apt-get install libopenblas-dev); measuring nn.h alone" >&2
    libs=(-lm)
fi
${CC:-cc} "${flags[@]}" tools/bench.c -o build/bench "${libs[@]}"
exec build/bench "$@"
