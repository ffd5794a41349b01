#!/usr/bin/env bash
# Replays the regression corpus tests/fuzz/corpus/<target>/ through every
# fuzz target tests/fuzz/fuzz_<target>.c, built with ASan+UBSan and the
# replay driver (no libFuzzer needed).  ok-* files must load, all others
# must be rejected with a reason, nothing may crash.
#   bash tests/fuzz/replay.sh            (make test runs it)
#   REPLAY_WRAP="valgrind -q" REPLAY_FLAGS="-O0 -g" bash tests/fuzz/replay.sh
# Last line: "N passed, N failed".
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
mkdir -p build
# -O0: the replay is quick, the build is what takes time
FLAGS=${REPLAY_FLAGS:--O0 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer}
passed=0 failed=0
for src in tests/fuzz/fuzz_*.c; do
    t=${src#tests/fuzz/fuzz_}; t=${t%.c}
    exe=build/fuzz_replay_$t
    if ! ${CC:-gcc} -std=c99 $FLAGS -I. "$src" tests/fuzz/replay.c -o "$exe" -lm 2>build/fuzz_replay.log; then
        echo "FAIL: $t: the replay driver does not build"; sed 's/^/    | /' build/fuzz_replay.log | head; failed=$((failed + 1)); continue
    fi
    files=(tests/fuzz/corpus/"$t"/*)
    if [ ! -e "${files[0]}" ]; then echo "FAIL: $t: no corpus in tests/fuzz/corpus/$t"; failed=$((failed + 1)); continue; fi
    read -ra wrap <<<"${REPLAY_WRAP:-}"   # words, never globs
    "${wrap[@]}" "$exe" "${files[@]}" >build/fuzz_replay.log 2>&1
    rc=$?
    line=$(tail -n 1 build/fuzz_replay.log)
    grep '^FAIL' build/fuzz_replay.log
    if [ $rc -eq 0 ] && [[ $line =~ ^([0-9]+)\ passed,\ 0\ failed ]]; then
        echo "PASS: $t: ${BASH_REMATCH[1]} corpus files, each accepted or rejected as expected, no sanitizer report"
        passed=$((passed + 1))
    else
        echo "FAIL: $t (exit status $rc, last line: $line)"; tail -n 20 build/fuzz_replay.log | sed 's/^/    | /'
        failed=$((failed + 1))
    fi
    [ -z "${REPLAY_VERBOSE:-}" ] || cat build/fuzz_replay.log
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
