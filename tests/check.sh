# shellcheck shell=bash
# Sourced (not run) by the shell suites (tests/test_examples.sh,
# tests/test_example_resume.sh, tests/test_onnx.sh and the platform suites):
# works from the project root in a scratch folder $TMP that is removed on
# exit, counts with ok NAME, bad NAME [LOG] (the log's last lines are
# shown) and add NAME LOG (the counts of a test program's last line, CRs
# dropped for Windows programs), and summary prints the last line,
# "N passed, N failed", with the suite's exit status.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "PASS: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; [ -z "${2:-}" ] || sed 's/^/    | /' "$2" | tail -n 15; }
add() {  # NAME LOG
    local last
    grep '^FAIL' "$2"
    last=$(tr -d '\r' <"$2" | tail -n 1)
    if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
        echo "$1: $last"
    else bad "$1 did not finish" "$2"; fi
}
summary() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; }
