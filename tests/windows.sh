#!/usr/bin/env bash
# Windows: nn.h, the test programs and every example built with MinGW-w64
# (`make windows`), nn_opencl.h compiled (not linked: there are no
# Windows OpenCL/CLBlast import libraries here) against Debian's OpenCL
# headers, and the unit tests, the persistence tests (atomic saves with
# MoveFileExA, a crash during a save, exact resume across processes) and
# the examples' contract run under Wine, headless, in a prefix under
# build/.  Skipped unless x86_64-w64-mingw32-gcc and Wine are installed
# (Debian: gcc-mingw-w64-x86-64 wine64), except in CI.
# Last line: "N passed, N failed".
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
B=build/windows
mkdir -p "$B"
WINE=$(command -v wine64 || command -v wine || { [ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64; })
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || [ -z "$WINE" ]; then
    if [ "${CI:-}" = true ]; then echo "FAIL: no MinGW-w64 or Wine in CI"; echo "0 passed, 1 failed"; exit 1; fi
    echo "SKIP: no MinGW-w64 cross compiler or Wine (apt-get install gcc-mingw-w64-x86-64 wine64)"; echo "0 passed, 0 failed"; exit 0
fi
# headless: no display, no desktop integration, no Mono/Gecko installers
export WINEPREFIX=$PWD/build/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
export WINESERVER=${WINESERVER:-$(command -v wineserver || ls /usr/lib/wine/wineserver64 2>/dev/null)}
export HOME=${HOME:-$PWD/build}
unset DISPLAY WAYLAND_DISPLAY
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
trap '"$WINESERVER" -k 2>/dev/null; rm -rf "$TMP"' EXIT   # the wineserver of this prefix only
run() { timeout 600 "$WINE" "$@"; }   # EXE ARGS...: its stdout, its exit status

if make -s windows >"$B/make.log" 2>&1; then ok "make windows: tests/test_nn.c, tests/test_persist.c and every example, warning-free"
else bad "make windows" "$B/make.log"; echo "$passed passed, $failed failed"; exit 1; fi
# nn_opencl.h with its implementation, for the Windows target: compile only
mkdir -p "$B/clinc"
ln -sfn /usr/include/CL "$B/clinc/CL"
ln -sf /usr/include/clblast_c.h "$B/clinc/clblast_c.h"
printf '#define NN_IMPLEMENTATION\n#include "nn.h"\n#define NN_OPENCL_IMPLEMENTATION\n#include "nn_opencl.h"\nint main(void) { nn_backend *b = nn_opencl_backend(-1, -1); nn_backend_free(b); return 0; }\n' >"$B/cl_impl.c"
if [ -e /usr/include/CL/cl.h ] && [ -e /usr/include/clblast_c.h ]; then
    if x86_64-w64-mingw32-gcc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I. -I"$B/clinc" -c "$B/cl_impl.c" -o "$B/cl_impl.o" >"$B/cc.log" 2>&1 &&
       x86_64-w64-mingw32-gcc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I. -I"$B/clinc" -DNN_OPENCL -c examples/cifar10.c -o "$B/cifar10_cl.o" >>"$B/cc.log" 2>&1
    then ok "nn_opencl.h and cifar10.c -DNN_OPENCL compile for Windows (not linked: no OpenCL.lib/clblast.lib)"
    else bad "nn_opencl.h compiles for Windows" "$B/cc.log"; fi
elif [ "${CI:-}" = true ]; then bad "OpenCL headers missing in CI (opencl-headers libclblast-dev)"
else echo "SKIP: OpenCL headers not installed: nn_opencl.h not compiled for Windows"; fi

"$WINE" wineboot --init >"$B/wineboot.log" 2>&1   # a new prefix takes a few seconds
"$WINESERVER" -w 2>/dev/null
for t in test_nn test_persist; do
    run "$B/$t.exe" >"$B/$t.log" 2>&1   # from the project root: it reads tests/fixtures/
    add "$t.exe under Wine" "$B/$t.log"
done

# the examples' contract
T=$B/tmp
rm -rf "$T"; mkdir -p "$T"
for ex in xor linreg fashion_mnist cifar10 imdb; do
    if run "$B/$ex.exe" --help >"$T/o" 2>&1 && grep -q -- '--epochs' "$T/o"; then ok "$ex.exe --help"; else bad "$ex.exe --help" "$T/o"; fi
    run "$B/$ex.exe" --no-such-flag >"$T/o" 2>&1
    if [ $? -eq 2 ]; then ok "$ex.exe rejects an unknown flag (exit 2)"; else bad "$ex.exe rejects an unknown flag" "$T/o"; fi
    run "$B/$ex.exe" --device opencl >"$T/o" 2>&1
    if [ $? -eq 1 ] && grep -qi opencl "$T/o"; then ok "$ex.exe --device opencl: not built with OpenCL"; else bad "$ex.exe --device opencl" "$T/o"; fi
done
for ex in xor linreg; do
    if run "$B/$ex.exe" --seed 3 --quiet --save "$T/$ex.a" --checkpoint "$T/$ex.ckpt" >"$T/$ex.out" 2>&1 &&
       tr -d '\r' <"$T/$ex.out" | tail -n 1 | grep -q '^RESULT test_accuracy=\(1\.0\|0\.99\)' &&
       run "$B/$ex.exe" --seed 3 --quiet --resume "$T/$ex.ckpt" --save "$T/$ex.b" >"$T/$ex.again" 2>&1 &&
       grep -q 'resuming from' "$T/$ex.again" && cmp -s "$T/$ex.a" "$T/$ex.b"; then
        ok "$ex.exe trains, --save, --checkpoint and --resume give the same weights: $(tr -d '\r' <"$T/$ex.out" | tail -n 1)"
    else bad "$ex.exe trains, saves and resumes" "$T/$ex.out"; fi
done
# CIFAR-10 on synthetic batches in the official layout, then a truncated batch
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
    for ((i = 0; i < 20; i++)); do printf "\\$(printf '%03o' $((i % 10)))"; head -c 3072 /dev/urandom; done >"$T/$f.bin"
done
if run "$B/cifar10.exe" --data "$T" --model small --epochs 2 --tta 2 --seed 4 --quiet >"$T/c.out" 2>&1 &&
   tr -d '\r' <"$T/c.out" | tail -n 1 | grep -q '^RESULT test_accuracy='; then ok "cifar10.exe runs on synthetic batches: $(tr -d '\r' <"$T/c.out" | tail -n 1)"
else bad "cifar10.exe runs on synthetic batches" "$T/c.out"; fi
head -c 5000 "$T/test_batch.bin" >"$T/cut" && mv "$T/cut" "$T/test_batch.bin"
run "$B/cifar10.exe" --data "$T" --model small --epochs 1 >"$T/o" 2>&1
if [ $? -eq 1 ] && grep -q 'test_batch.bin.*truncated' "$T/o"; then ok "cifar10.exe names a truncated batch"; else bad "cifar10.exe names a truncated batch" "$T/o"; fi
# IMDb: a review folder read with FindFirstFileA; a missing folder and an empty review are named
mkdir -p "$T/im/train/pos" "$T/im/train/neg" "$T/im/test/pos"
printf 'A fine film.' >"$T/im/train/pos/0_9.txt"
printf 'Dull.' >"$T/im/train/neg/0_2.txt"
printf 'Good.' >"$T/im/test/pos/0_8.txt"
run "$B/imdb.exe" --data "$T/im" >"$T/o" 2>&1
if [ $? -eq 1 ] && grep -q 'test/neg' "$T/o"; then ok "imdb.exe names a missing folder"; else bad "imdb.exe names a missing folder" "$T/o"; fi
mkdir -p "$T/im/test/neg"; : >"$T/im/test/neg/0_1.txt"
run "$B/imdb.exe" --data "$T/im" >"$T/o" 2>&1
if [ $? -eq 1 ] && grep -q '0_1.txt.*empty' "$T/o"; then ok "imdb.exe names an empty review"; else bad "imdb.exe names an empty review" "$T/o"; fi
# Fashion-MNIST: a short run must learn (the data as tests/test_examples.sh fetched it)
FM=data/fashion-mnist
if [ -f "$FM/t10k-labels-idx1-ubyte" ]; then
    if run "$B/fashion_mnist.exe" --data "$FM" --model mlp --limit 3000 --epochs 1 --quiet >"$T/fm.out" 2>&1 &&
       tr -d '\r' <"$T/fm.out" | tail -n 1 | awk '/^RESULT/ { split($2, a, "="); exit !(a[2] >= 0.65) } END { if (NR == 0) exit 1 }'
    then ok "fashion_mnist.exe --model mlp learns: $(tr -d '\r' <"$T/fm.out" | tail -n 1)"
    else bad "fashion_mnist.exe --model mlp learns" "$T/fm.out"; fi
elif [ "${CI:-}" = true ]; then bad "Fashion-MNIST data is missing in CI (tools/fetch_data.sh fashion-mnist)"
else echo "SKIP: Fashion-MNIST data not found (run tools/fetch_data.sh fashion-mnist)"; fi
rm -rf "$T"
summary
