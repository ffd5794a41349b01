#!/usr/bin/env bash
# Tests for tools/plot.c and tools/fetch_data.sh.
#   bash tests/test_tools.sh          (from the project root)
# Env: CI_OFFLINE_SKIP=1 skips the "no network" test; CC picks the compiler.
# Last line is "N passed, N failed"; exit status is non-zero if anything failed.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0 skipped=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); [ -z "${2:-}" ] || sed 's/^/    | /' "$2" | head -20; }
skip() { echo "SKIP: $1"; skipped=$((skipped + 1)); }
has()  { grep -q -- "$2" "$1"; }   # FILE PATTERN

# ------------------------------------------------------------------ plot.c
PLOT=$TMP/plot
seen=" "
for cc in ${CC:-cc} gcc clang; do
    command -v "$cc" >/dev/null || continue
    real=$(readlink -f "$(command -v "$cc")" 2>/dev/null || echo "$cc")   # cc is often gcc
    case $seen in *" $real "*) continue ;; esac
    seen="$seen$real "
    if "$cc" -std=c99 -Wall -Wextra -pedantic -Werror -O2 -o "$PLOT" tools/plot.c -lm >"$TMP/cc.log" 2>&1 &&
       [ ! -s "$TMP/cc.log" ]; then
        pass "plot.c builds warning-free with $cc"
    else
        fail "plot.c builds warning-free with $cc" "$TMP/cc.log"
    fi
done

cat >"$TMP/sample.csv" <<'EOF'
epoch,train_loss,test_loss,train_accuracy,test_accuracy,seconds
1,1.20,1.31,0.61,0.58,2.1
2,0.85,0.97,0.72,0.69,2.0
3,0.66,0.80,0.79,0.75,2.0
4,0.55,nan,0.83,inf,2.1
5,0.49,0.71,0.85,0.79,2.0
EOF
if [ -x "$PLOT" ] && "$PLOT" -o "$TMP/out.svg" --title "sample run" "$TMP/sample.csv" 2>"$TMP/err" &&
   has "$TMP/out.svg" '<svg' && has "$TMP/out.svg" '</svg>' &&
   has "$TMP/out.svg" 'sample: train_loss' && has "$TMP/out.svg" 'sample: test_accuracy' &&
   has "$TMP/out.svg" '<polyline' && ! grep -qi 'nan\|inf' <(grep -o 'points="[^"]*"' "$TMP/out.svg"); then
    pass "plot writes an SVG with legend and polylines (NaN/inf cells skipped)"
else
    fail "plot writes an SVG with legend and polylines (NaN/inf cells skipped)" "$TMP/err"
fi
if command -v xmllint >/dev/null && [ -f "$TMP/out.svg" ]; then
    if xmllint --noout "$TMP/out.svg" 2>"$TMP/err"; then pass "plot SVG is well-formed XML"
    else fail "plot SVG is well-formed XML" "$TMP/err"; fi
fi

printf 'epoch,train_loss\n1,0.5\n' >"$TMP/one.csv"
if [ -x "$PLOT" ] && "$PLOT" -o "$TMP/one.svg" "$TMP/one.csv" 2>/dev/null && has "$TMP/one.svg" '<circle'; then
    pass "plot handles a single-row log"
else
    fail "plot handles a single-row log"
fi

# expect_error NAME PATTERN CMD...: non-zero exit and PATTERN in stderr
expect_error() {
    local name=$1 pat=$2; shift 2
    if "$@" >/dev/null 2>"$TMP/err"; then fail "$name (exit status 0)"; return; fi
    if grep -qi -- "$pat" "$TMP/err"; then pass "$name"; else fail "$name (no '$pat' message)" "$TMP/err"; fi
}
printf 'epoch,train_loss\n1,0.5\n2,0.4,0.3\n' >"$TMP/bad.csv"
: >"$TMP/empty.csv"
expect_error "plot: missing file is an error" "cannot open" "$PLOT" -o "$TMP/x.svg" "$TMP/nope.csv"
expect_error "plot: malformed CSV is an error" "fields" "$PLOT" -o "$TMP/x.svg" "$TMP/bad.csv"
expect_error "plot: empty CSV is an error" "empty" "$PLOT" -o "$TMP/x.svg" "$TMP/empty.csv"

# ------------------------------------------------------------------ embed_kernels.sh
if bash tools/embed_kernels.sh --check >"$TMP/log" 2>&1; then pass "embed_kernels: nn_opencl.h holds kernels/ as they are"
else fail "embed_kernels: nn_opencl.h holds kernels/ as they are" "$TMP/log"; fi
# on a copy: an edited kernel is noticed, then embedded
mkdir -p "$TMP/emb/tools"
cp -r nn_opencl.h kernels "$TMP/emb/" && cp tools/embed_kernels.sh "$TMP/emb/tools/"
printf '/* "quoted" \\ and ?? survive */\n' >>"$TMP/emb/kernels/optim.cl"
if ! bash "$TMP/emb/tools/embed_kernels.sh" --check >"$TMP/log" 2>&1 && has "$TMP/log" "differs"; then
    pass "embed_kernels --check notices an edited kernel"
else fail "embed_kernels --check notices an edited kernel" "$TMP/log"; fi
if bash "$TMP/emb/tools/embed_kernels.sh" && bash "$TMP/emb/tools/embed_kernels.sh" --check >"$TMP/log" 2>&1 &&
   grep -qF '"/* \"quoted\" \\ and ?\? survive */\n",' "$TMP/emb/nn_opencl.h"; then
    pass "embed_kernels embeds it, escaped"
else fail "embed_kernels embeds it, escaped" "$TMP/log"; fi

# bench.c (make bench) builds warning-free, with and without OpenMP, and rejects unknown flags
if ${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I. tools/bench.c -o "$TMP/bench" -lm >"$TMP/cc.log" 2>&1 &&
   ${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror -O2 -fopenmp -I. tools/bench.c -o "$TMP/bench_omp" -lm >>"$TMP/cc.log" 2>&1 &&
   { "$TMP/bench" --bad-flag >/dev/null 2>&1; [ $? -eq 2 ]; }; then
    pass "bench.c builds warning-free and rejects unknown flags"
else fail "bench.c builds warning-free and rejects unknown flags" "$TMP/cc.log"; fi

# the PyTorch reference for the CIFAR-10 example is valid Python (running it needs torch and the data)
if python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' tools/airbench_pytorch.py >"$TMP/py.log" 2>&1; then
    pass "airbench_pytorch.py parses"
else fail "airbench_pytorch.py parses" "$TMP/py.log"; fi

# bench_opencl.c builds warning-free where OpenCL is installed
if printf '#include <CL/cl.h>\n#include <clblast_c.h>\n' | ${CC:-cc} -E -x c - >/dev/null 2>&1 || [ "${CI:-}" = true ]; then
    if ${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror -O2 -fopenmp -I. tools/bench_opencl.c -o "$TMP/bench_opencl" \
        -lOpenCL -lclblast -lm >"$TMP/cc.log" 2>&1 && { "$TMP/bench_opencl" --bad-flag >/dev/null 2>&1; [ $? -eq 2 ]; }; then
        pass "bench_opencl.c builds warning-free and rejects unknown flags"
    else fail "bench_opencl.c builds warning-free and rejects unknown flags" "$TMP/cc.log"; fi
else
    skip "bench_opencl.c (OpenCL headers not installed)"
fi

# ------------------------------------------------------------------ fetch_data.sh
FETCH=tools/fetch_data.sh
mkdir -p "$TMP/fake" "$TMP/emptymirror"
head -c 4096 /dev/zero | gzip >"$TMP/fake/cifar-10-binary.tar.gz"   # right name, wrong bytes
expect_error "fetch_data: mirror archive with wrong checksum is rejected" "checksum mismatch" \
    bash "$FETCH" cifar10 --mirror "$TMP/fake" --dest "$TMP/d1"
if [ -e "$TMP/d1/cifar-10-batches-bin" ]; then fail "fetch_data: nothing unpacked after a checksum error"
else pass "fetch_data: nothing unpacked after a checksum error"; fi
expect_error "fetch_data: mirror without the data set is an error" "has none of" \
    env NN_DATA_MIRROR="$TMP/emptymirror" bash "$FETCH" imdb --dest "$TMP/d1"

# "No network" made deterministic: a dead proxy refuses every connection, so
# this passes (quickly) even on a machine that is online.
if [ -n "${CI_OFFLINE_SKIP:-}" ]; then
    skip "fetch_data: offline without mirror (CI_OFFLINE_SKIP is set)"
else
    start=$SECONDS
    expect_error "fetch_data: offline without mirror fails with a clear message" "NN_DATA_MIRROR" \
        env -u NN_DATA_MIRROR -u no_proxy -u NO_PROXY http_proxy=http://127.0.0.1:9 \
        https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NN_CONNECT_TIMEOUT=5 \
        timeout 60 bash "$FETCH" cifar10 --dest "$TMP/d2"
    if grep -q "download failed: https://www.cs.toronto.edu" "$TMP/err" && [ $((SECONDS - start)) -lt 30 ]; then
        pass "fetch_data: offline failure names the URL and is quick ($((SECONDS - start)) s)"
    else
        fail "fetch_data: offline failure names the URL and is quick ($((SECONDS - start)) s)" "$TMP/err"
    fi
fi

# Real data from the shared mirror (some seconds: 25 MB archive, 50k files).
MIRROR=../shared/data
if [ ! -d "$MIRROR" ]; then
    skip "fetch_data imdb from $MIRROR (directory not present)"
elif NN_DATA_MIRROR=$MIRROR bash "$FETCH" imdb --dest "$TMP/d3" >"$TMP/log" 2>&1; then
    ok=1
    for d in train/pos train/neg test/pos test/neg; do
        n=$(find "$TMP/d3/aclImdb/$d" -name '*.txt' 2>/dev/null | wc -l)
        [ "$n" -eq 12500 ] || { ok=0; echo "    $d has $n files"; }
    done
    if [ $ok = 1 ]; then pass "fetch_data imdb from $MIRROR unpacks 4 x 12500 reviews"
    else fail "fetch_data imdb from $MIRROR unpacks 4 x 12500 reviews" "$TMP/log"; fi
    if NN_DATA_MIRROR=$MIRROR bash "$FETCH" imdb --dest "$TMP/d3" >"$TMP/log" 2>&1 && has "$TMP/log" "skipping"; then
        pass "fetch_data imdb re-run is a no-op"
    else
        fail "fetch_data imdb re-run is a no-op" "$TMP/log"
    fi
else
    fail "fetch_data imdb from $MIRROR" "$TMP/log"
fi

[ $skipped -eq 0 ] || echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
