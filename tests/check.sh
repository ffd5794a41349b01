# shellcheck shell=bash
# Sourced (not run) by the shell suites tests/test_examples.sh and
# tests/test_example_resume.sh: works from the project root in a scratch
# folder $TMP that is removed on exit, counts with ok NAME and
# bad NAME [LOG] (the log's last lines are shown), and summary prints the
# last line, "N passed, N failed", with the suite's exit status.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "PASS: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; [ -z "${2:-}" ] || sed 's/^/    | /' "$2" | tail -n 15; }
summary() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; }
