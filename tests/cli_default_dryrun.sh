#!/bin/bash
# The default suite at its real LLaMA-7B shapes, each case x implementation once (--dry-run):
# every implementation is checked against the naive reference (sampled rows where naive is too
# slow) at the sizes users run. Heavy (minutes, ~5 GB): labelled "heavy", so the sanitizer build
# skips it.
# usage: bash cli_default_dryrun.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$MB" run "$SRC/suites/default.ini" --dry-run --out "$T/d" >"$T/o" 2>"$T/e"; rc=$?
if [ $rc -ne 0 ]; then
    echo "FAIL: default suite dry run: exit $rc" >&2
    grep -E ': (mismatch|crashed|timeout|error)' "$T/e" | head -20 >&2
    exit 1
fi
ok=$(grep -c ',ok,' "$T/d/results.csv")
bad=$(grep -c -E ',(mismatch|crashed|timeout|error),' "$T/d/results.csv")
rows=$(($(wc -l < "$T/d/results.csv") - 1))
echo "default suite dry run: $rows rows, $ok ok, $bad failed"
[ "$bad" -eq 0 ] && [ "$ok" -gt 100 ] || { echo "FAIL: expected > 100 ok rows and no failure" >&2; exit 1; }
