#!/usr/bin/env bash
# ONNX export (nn_onnx.h).  tests/test_onnx.c, built as C99 with -Werror
# and run under ASan+UBSan, checks the error cases and exports every case
# of tests/op_cases.h, a DCGAN generator, the Fashion-MNIST CNN and the
# airbench network into build/onnx/; tests/test_onnx.py runs those files in ONNX Runtime against
# nn.h's outputs.  The second half needs Python's onnx, onnxruntime and
# numpy (pip install onnx onnxruntime numpy; .ci/run installs them): it is
# skipped without them, except in CI (CI=true), where that fails.
# Last line: "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
OUT=build/onnx
rm -rf "$OUT"
mkdir -p "$OUT"
tally() {  # LOG: shows it and adds its "N passed, N failed" line to the counts
    local line
    cat "$1"
    line=$(tail -n 1 "$1")
    if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
    else bad "$2 did not finish"; fi
}
if gcc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
       -I. tests/test_onnx.c -o build/test_onnx -lm >"$TMP/cc.log" 2>&1; then
    build/test_onnx "$OUT" >"$TMP/c.log" 2>&1
    tally "$TMP/c.log" tests/test_onnx.c
else bad "tests/test_onnx.c builds" "$TMP/cc.log"; fi
if python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
    python3 tests/test_onnx.py "$OUT/manifest.txt" >"$TMP/py.log" 2>&1
    tally "$TMP/py.log" tests/test_onnx.py
elif [ "${CI:-}" = true ]; then
    bad "Python's onnx and onnxruntime are not installed in CI (.ci/run installs them)"
else
    echo "SKIP: Python's onnx and onnxruntime are not installed (pip install onnx onnxruntime numpy): not run in ONNX Runtime"
fi
summary
