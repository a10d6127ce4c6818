#!/bin/bash
# The default suite at its real LLaMA-7B shapes, each case x implementation once (--dry-run):
# every implementation is checked against the naive reference (sampled rows where naive is too
# slow) at the sizes users run. Heavy (minutes, ~5 GB): labelled "heavy", so the sanitizer build
# skips it.
# Which rows must be ok depends on the machine (avx512 runs only where the CPU executes it), so
# the expectation comes from `moebench list` on this machine: a (variant, impl) pair that list
# calls ok must give ok rows (but naive, skipped above its FLOP budget), one it calls unavailable
# must give skipped rows with a reason.
# usage: bash cli_default_dryrun.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$MB" list >"$T/list" 2>&1 || { echo "FAIL: moebench list: exit $?" >&2; exit 1; }
"$MB" run "$SRC/suites/default.ini" --dry-run --out "$T/d" >"$T/o" 2>"$T/e"; rc=$?
if [ $rc -ne 0 ]; then
    echo "FAIL: default suite dry run: exit $rc" >&2
    grep -E ': (mismatch|crashed|timeout|error)' "$T/e" | head -20 >&2
    exit 1
fi
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$SRC/tests/support" python3 - "$T/list" "$T/d/results.csv" <<'PY'
import csv, sys
import moebench_list
_, avail = moebench_list.read(sys.argv[1])
rows = list(csv.DictReader(open(sys.argv[2])))
bad, ok, skipped = [], 0, 0
for r in rows:
    key = (r["variant"], r["impl"])
    if key not in avail:
        bad.append(f"{r['case']} {r['impl']}: not in `moebench list`")
    elif (r["impl"] == "naive" and r["status"] == "skipped"
          and r["reason"].startswith("naive is too slow")):
        pass  # by design: naive is timed only on request above a FLOP budget
    elif avail[key] and r["status"] != "ok":
        bad.append(f"{r['case']} {r['impl']}: {r['status']} {r['reason']} (list says ok)")
    elif not avail[key] and (r["status"] != "skipped" or not r["reason"]):
        bad.append(f"{r['case']} {r['impl']}: {r['status']} '{r['reason']}' (list says unavailable)")
    ok += r["status"] == "ok"
    skipped += r["status"] == "skipped"
print(f"default suite dry run: {len(rows)} rows, {ok} ok, {skipped} skipped, {len(bad)} unexpected")
if len(rows) < 100 or ok == 0:
    bad.append(f"only {len(rows)} rows, {ok} ok")
for b in bad[:20]:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
