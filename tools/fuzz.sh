#!/usr/bin/env bash
# Builds one libFuzzer target and runs it for a given time.
#   tools/fuzz.sh TARGET SECONDS     e.g. tools/fuzz.sh safetensors 60
# TARGET is NAME of a tests/fuzz/fuzz_NAME.c (a new target is one file
# there plus its seed corpus in tests/fuzz/corpus/NAME/).  The fuzzer starts
# from that corpus, keeps what it finds in build/fuzz/NAME/corpus and puts
# any crashing input in build/fuzz/NAME/crashes; add such a file to the
# regression corpus (as bad-... or ok-...) once it is fixed.
# Needs clang with libFuzzer (Debian: clang, libclang-rt-14-dev).
# Prints one line: target, seconds, executions, crashes, corpus size.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
targets=$(ls tests/fuzz/fuzz_*.c | sed 's|tests/fuzz/fuzz_||; s|\.c$||' | tr '\n' ' ')
if [ $# -ne 2 ] || [ ! -f "tests/fuzz/fuzz_$1.c" ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
    echo "usage: tools/fuzz.sh TARGET SECONDS   (targets: $targets)" >&2; exit 2
fi
target=$1 seconds=$2
out=build/fuzz/$target
mkdir -p "$out/corpus" "$out/crashes"
if ! ${CLANG:-clang} -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. \
        "tests/fuzz/fuzz_$target.c" -o "$out/fuzzer" -lm 2>"$out/build.log"; then
    cat "$out/build.log" >&2; echo "cannot build the $target fuzzer (clang with libFuzzer needed)" >&2; exit 2
fi
cp tests/fuzz/corpus/"$target"/* "$out/corpus/"
# -max_len: room for the largest seed; -timeout: a hang is a finding too
nice "$out/fuzzer" "$out/corpus" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/crashes/" -print_final_stats=1 >"$out/log" 2>&1
status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log")
crashes=$(find "$out/crashes" -type f | wc -l)
echo "target=$target seconds=$seconds executions=${runs:-?} crashes=$crashes corpus=$(ls "$out/corpus" | wc -l) exit=$status"
if [ "$crashes" -gt 0 ] || [ $status -ne 0 ]; then
    grep -m 5 -E 'ERROR|SUMMARY|runtime error' "$out/log" >&2
    find "$out/crashes" -type f >&2
    exit 1
fi
