#!/usr/bin/env bash
# 32-bit x86 (gcc -m32, a 32-bit size_t and long): the unit and
# persistence tests, the fuzz corpus under ASan+UBSan, and files larger
# than the address space refused with a reason by the examples.
# Needs gcc-12-multilib (Debian; not gcc-multilib, which conflicts with
# the s390x and aarch64 cross compilers over /usr/include/asm: the
# symlink it would add is made under build/ instead).  Skipped without
# it, except in CI.  Last line: "N passed, N failed".
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
B=build/m32
mkdir -p "$B/include"
ln -sfn /usr/include/x86_64-linux-gnu/asm "$B/include/asm"
CC32="gcc -m32 -isystem $B/include"
if ! printf '#include <errno.h>\nint main(void) { return 0; }\n' | $CC32 -x c - -o "$B/hello" 2>/dev/null; then
    if [ "${CI:-}" = true ]; then echo "FAIL: gcc -m32 cannot build (apt-get install gcc-12-multilib)"; echo "0 passed, 1 failed"; exit 1; fi
    echo "SKIP: gcc -m32 cannot build (apt-get install gcc-12-multilib)"; echo "0 passed, 0 failed"; exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
for t in test_nn test_persist; do
    if $CC32 -std=c99 -pedantic -Wall -Wextra -Werror -O2 -g -I. "tests/$t.c" -o "$B/$t" -lm 2>"$B/cc.log"; then
        "$B/$t" >"$B/$t.log" 2>&1
        add "$t (-m32)" "$B/$t.log"
    else bad "tests/$t.c builds with -m32" "$B/cc.log"; fi
done
CC="$CC32" bash tests/fuzz/replay.sh >"$B/fuzz.log" 2>&1
add "fuzz corpus (-m32, ASan+UBSan)" "$B/fuzz.log"

# sparse files past 2 GiB (no disk used): refused with a reason naming the file
big=$B/big
rm -rf "$big"; mkdir -p "$big"
for ex in cifar10 fashion_mnist; do
    $CC32 -O2 -I. "examples/$ex.c" -o "$B/$ex" -lm || bad "examples/$ex.c builds with -m32"
done
$CC32 -O2 -D_FILE_OFFSET_BITS=64 -I. examples/cifar10.c -o "$B/cifar10_lfs" -lm || bad "examples/cifar10.c builds with -m32 -D_FILE_OFFSET_BITS=64"
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do truncate -s 3073 "$big/$f.bin"; done
truncate -s 3G "$big/data_batch_1.bin"
for exe in cifar10 cifar10_lfs; do   # open() refuses it; with large-file support, ftell() does
    "$B/$exe" --data "$big" --epochs 1 --quiet >"$B/o" 2>&1
    if [ $? -eq 1 ] && grep -q "data_batch_1.bin.*\(too large\|Value too large\)" "$B/o"; then ok "$exe refuses a 3 GiB batch: $(head -n 1 "$B/o")"
    else bad "$exe refuses a 3 GiB batch" "$B/o"; fi
done
for f in train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do truncate -s 16 "$big/$f"; done
truncate -s 5G "$big/train-images-idx3-ubyte"
"$B/fashion_mnist" --data "$big" --epochs 1 --quiet >"$B/o" 2>&1
if [ $? -eq 1 ] && grep -q "train-images-idx3-ubyte.*too large" "$B/o"; then ok "fashion_mnist refuses a 5 GiB IDX file: $(head -n 1 "$B/o")"
else bad "fashion_mnist refuses a 5 GiB IDX file" "$B/o"; fi
rm -rf "$big"
summary
