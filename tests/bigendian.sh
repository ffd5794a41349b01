#!/usr/bin/env bash
# The unit and persistence tests on a big-endian machine: built for s390x
# and run under qemu's user-mode emulation, nn.h reads the little-endian
# safetensors fixture written by Python, writes files byte-identical to
# the reference writer's, and resumes exactly.  Skipped unless the cross
# compiler and qemu are installed (Debian: apt-get install
# gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user).
# Last line: "N passed, N failed".
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
mkdir -p build
if ! command -v s390x-linux-gnu-gcc >/dev/null || ! command -v qemu-s390x >/dev/null; then
    echo "SKIP: no s390x cross compiler or qemu-s390x"; echo "0 passed, 0 failed"; exit 0
fi
passed=0 failed=0
for t in test_nn test_persist; do
    if ! s390x-linux-gnu-gcc -std=c99 -O1 -static -I. "tests/$t.c" -o "build/${t}_s390x" -lm; then
        echo "FAIL: tests/$t.c does not build for s390x"; failed=$((failed + 1)); continue
    fi
    TEST_RUNNER=qemu-s390x qemu-s390x "build/${t}_s390x" | tee build/bigendian.log | grep -v '^PASS'
    if [[ $(tail -n 1 build/bigendian.log) =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
    else
        echo "FAIL: $t did not finish on s390x"; failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
