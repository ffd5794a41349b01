#!/usr/bin/env bash
# The unit tests, the persistence tests (with the processes they start)
# and the fuzz regression corpus under valgrind's memcheck: no invalid
# access, no use of uninitialised memory, no definitely lost block.
#   bash tests/valgrind.sh     (make valgrind; make test runs it too)
# Last line: "N passed, N failed".
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
mkdir -p build
if ! command -v valgrind >/dev/null; then
    echo "SKIP: valgrind is not installed (apt-get install valgrind)"; echo "0 passed, 0 failed"; exit 0
fi
# the crash test's child dies on purpose in the middle of a save: its
# memory is lost by design, so valgrind does not follow it
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --trace-children=yes --trace-children-skip='*python*,*/rm' --trace-children-skip-by-arg='*--die-while-saving*')
passed=0 failed=0
run() {  # NAME COMMAND...: passes if the command and valgrind are happy
    local name=$1; shift
    if "$@" >build/valgrind.log 2>&1; then
        passed=$((passed + 1)); echo "PASS: $name: $(tail -n 1 build/valgrind.log)"
    else
        failed=$((failed + 1)); echo "FAIL: $name"; grep -v '^PASS' build/valgrind.log | tail -n 30 | sed 's/^/    | /'
    fi
}
for t in test_nn test_persist; do
    if ${CC:-gcc} -std=c99 -O1 -g -I. -o "build/valgrind_$t" "tests/$t.c" -lm; then
        run "$t under valgrind" nice "${VG[@]}" "build/valgrind_$t"
    else
        failed=$((failed + 1)); echo "FAIL: tests/$t.c does not build"
    fi
done
run "fuzz regression corpus under valgrind" env REPLAY_FLAGS="-O0 -g" REPLAY_WRAP="nice ${VG[*]}" bash tests/fuzz/replay.sh
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
