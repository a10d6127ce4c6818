#!/bin/bash
# The dtype axis (issue 11, item 2): a dtype=bf16 case is valid, and every implementation,
# naive included, gives a skipped row whose reason is the unsupported dtype (not an error, not
# silently f32), in `moebench case` and in a run, next to its f32 twin that still runs.
# `dump` refuses it (no reference to write); a dtype a case cannot be stored in is invalid.
# usage: bash cli_harness_dtype.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }
IMPLS="naive blas onednn avx512 merged"

# moebench case: exit 0, one skipped line per implementation with the dtype reason
for desc in 'lora:T=4,h=32,r=4,dtype=bf16' 'mixlora:T=4,h=32,f=64,r=4,E=4,k=2,dtype=bf16'; do
    out=$("$MB" case "$desc" --impl all 2>&1); rc=$?
    [ $rc -eq 0 ] || err "case $desc: exit $rc: $out"
    for i in $IMPLS; do
        echo "$out" | grep -q "^$i: skipped: unsupported dtype bf16: $i implements f32 only (issue 15)$" \
            || err "case $desc: no skipped line for $i: $out"
    done
    echo "$out" | grep -Eq 'error|checksum|pass|fail' && err "case $desc: ran or failed: $out"
done

# a run: the bf16 rows are skipped with the reason, the f32 twins are checked as before
cat > "$T/dtype.ini" <<'INI'
[dtype]
variant = lora, mixlora
T = 4
h = 32
f = 64
r = 4
E = 4
k = 2
dtype = f32, bf16
impl = all
INI
out=$("$MB" run "$T/dtype.ini" --out "$T/r" --dry-run 2>&1); rc=$?
[ $rc -eq 0 ] || err "run: exit $rc: $out"
python3 - "$T/r/results.csv" "$IMPLS" <<'PY' || fail=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
impls = sys.argv[2].split()
bad = []
for v in ("lora", "mixlora"):
    for i in impls:
        b = [r for r in rows if r["variant"] == v and r["impl"] == i and r["dtype"] == "bf16"]
        f = [r for r in rows if r["variant"] == v and r["impl"] == i and r["dtype"] == "f32"]
        want = "unsupported dtype bf16: %s implements f32 only (issue 15)" % i
        if len(b) != 1 or b[0]["status"] != "skipped" or b[0]["reason"] != want:
            bad.append("%s %s bf16: %s" % (v, i, b))
        elif "dtype=bf16" not in b[0]["case"]:
            bad.append("%s %s bf16: case column %s" % (v, i, b[0]["case"]))
        if len(f) != 1 or f[0]["status"] not in ("ok", "skipped") or "dtype" in f[0]["reason"]:
            bad.append("%s %s f32: %s" % (v, i, f))
        if i != "avx512" and f and f[0]["status"] != "ok":
            bad.append("%s %s f32 not ok: %s" % (v, i, f))
if len(rows) != 20:
    bad.append("%d rows, want 20" % len(rows))
for b in bad:
    print("FAIL: results.csv: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# dump: nothing honest to write without a reference
out=$("$MB" dump 'lora:T=4,h=32,dtype=bf16' "$T/d" 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "unsupported dtype bf16: naive implements f32 only" \
    || err "dump bf16: exit $rc: $out"
[ -e "$T/d" ] && err "dump bf16 created $T/d"

# a dtype a case cannot be stored in is an invalid case
out=$("$MB" case 'lora:T=4,h=32,dtype=f16' 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "dtype='f16': expected f32|bf16" || err "dtype=f16: exit $rc: $out"

exit $fail
