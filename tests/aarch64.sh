#!/usr/bin/env bash
# AArch64: the GEMM micro-kernel compiles to NEON fmla on its 8 x 12
# register tile (gcc -O3 -S), and the unit and persistence tests, the
# fuzz corpus and a short example run pass under qemu's user-mode
# emulation.  Skipped unless the cross compiler and qemu are installed
# (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user),
# except in CI.  Last line: "N passed, N failed".
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
B=build/aarch64
mkdir -p "$B"
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
    if [ "${CI:-}" = true ]; then echo "FAIL: no aarch64 cross compiler or qemu-aarch64 in CI"; echo "0 passed, 1 failed"; exit 1; fi
    echo "SKIP: no aarch64 cross compiler or qemu-aarch64"; echo "0 passed, 0 failed"; exit 0
fi
CC="aarch64-linux-gnu-gcc -static"
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

# the micro-kernel's k loop: MR x NR/4 = 24 by-element fmla, nothing on the stack
printf '#define NN_IMPLEMENTATION\n#include "nn.h"\n' >"$B/kernel.c"
for march in armv8-a armv8-a+sve; do
    if aarch64-linux-gnu-gcc -O3 -march=$march -I. -S "$B/kernel.c" -o "$B/kernel.s" 2>"$B/cc.log"; then
        # the loop that holds the fmla: from its label to the branch back
        awk '/^nn__sgemm_kernel[.a-z0-9]*:/ { f = 1 } f && /^\t\.size/ { exit } f' "$B/kernel.s" |
            awk '/^\.L[0-9]+:/ { body = "" } { body = body $0 "\n" } /\tb\.?ne\t/ && body ~ /fmla/ { printf "%s", body; exit }' >"$B/loop.s"
        n=$(grep -cE 'fmla\s+v[0-9]+\.4s, v[0-9]+\.4s, v[0-9]+\.s\[' "$B/loop.s")
        spills=$(grep -c '\[sp' "$B/loop.s")
        if [ "$n" -eq 24 ] && [ "$spills" -eq 0 ]; then ok "-O3 -march=$march: the GEMM k loop is 24 fmla v.4s (8 x 12 tile), no spill"
        else bad "-O3 -march=$march: GEMM k loop has $n fmla v.4s and $spills stack accesses (want 24 and 0)" "$B/loop.s"; fi
    else bad "nn.h compiles for aarch64 -march=$march" "$B/cc.log"; fi
done

for t in test_nn test_persist; do
    if $CC -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I. "tests/$t.c" -o "$B/$t" -lm 2>"$B/cc.log"; then
        TEST_RUNNER=qemu-aarch64 qemu-aarch64 "$B/$t" >"$B/$t.log" 2>&1
        add "$t (aarch64)" "$B/$t.log"
    else bad "tests/$t.c builds for aarch64" "$B/cc.log"; fi
done
CC="$CC" REPLAY_FLAGS="-O1 -g" REPLAY_WRAP=qemu-aarch64 bash tests/fuzz/replay.sh >"$B/fuzz.log" 2>&1
add "fuzz corpus (aarch64, no sanitizers)" "$B/fuzz.log"
# the examples build; xor trains and its checkpoint resumes to the same weights
for ex in xor linreg fashion_mnist cifar10 imdb; do
    if $CC -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I. "examples/$ex.c" -o "$B/$ex" -lm 2>"$B/cc.log"; then ok "$ex builds for aarch64"
    else bad "$ex builds for aarch64" "$B/cc.log"; fi
done
rm -f "$B"/xor.*.safetensors "$B"/xor.ckpt
if qemu-aarch64 "$B/xor" --seed 3 --quiet --save "$B/xor.a.safetensors" --checkpoint "$B/xor.ckpt" >"$B/o" 2>&1 &&
   grep -q '^RESULT test_accuracy=1.0' "$B/o" &&
   qemu-aarch64 "$B/xor" --seed 3 --quiet --resume "$B/xor.ckpt" --save "$B/xor.b.safetensors" >>"$B/o" 2>&1 &&
   cmp -s "$B/xor.a.safetensors" "$B/xor.b.safetensors"; then ok "xor trains, saves and resumes on aarch64: $(grep '^RESULT' "$B/o" | head -n 1)"
else bad "xor trains, saves and resumes on aarch64" "$B/o"; fi
summary
