#!/bin/bash
# The dtype axis (issue 11, item 2; issue 15): a dtype=bf16 case is valid; naive computes it
# (spec "Precision"), so does avx512 where `moebench list` says it runs bf16 (checked against
# naive like any row), every other implementation gives a skipped row whose reason names bf16
# (the library's own where it has one: OpenBLAS without sbgemm, oneDNN without a bf16 matmul
# on this ISA), never an error, never silently f32, in `moebench case` and in a run, next to
# its f32 twin. `dump` writes bf16 tensors widened to float32 (stored "bf16"); a dtype a case
# cannot be stored in is invalid.
# usage: bash cli_harness_dtype.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }
IMPLS="naive blas onednn avx512 merged"
SKIPPED="blas onednn merged"
# avx512 computes bf16 where the CPU (or the emulated test build) has AVX512_BF16, for the
# variants with a bf16 form: `moebench list` names each precision an ok implementation skips
"$MB" list > "$T/list" 2>&1 || err "moebench list failed"
avx512_bf16() {   # variant -> "run" or "skip"
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$SRC/tests/support" python3 -c '
import sys, moebench_list
_, ok = moebench_list.read(sys.argv[1])
off = moebench_list.precision_skips(sys.argv[1]).get((sys.argv[2], "avx512"), {})
print("run" if ok.get((sys.argv[2], "avx512")) and "bf16" not in off else "skip")' "$T/list" "$1"
}

# moebench case: exit 0, naive's checksum, one skipped line per other implementation naming bf16
for desc in 'lora:T=4,h=32,r=4,dtype=bf16' 'mixlora:T=4,h=32,f=64,r=4,E=4,k=2,dtype=bf16'; do
    out=$("$MB" case "$desc" --impl all 2>&1); rc=$?
    [ $rc -eq 0 ] || err "case $desc: exit $rc: $out"
    echo "$out" | grep -q '^output: \[4, [0-9]*\] bf16$' || err "case $desc: no bf16 output: $out"
    for i in $SKIPPED; do
        echo "$out" | grep -Eq "^$i: skipped: .*(bf16|bfloat16)" \
            || err "case $desc: no skipped line for $i: $out"
    done
    if [ "$(avx512_bf16 "${desc%%:*}")" = skip ]; then
        echo "$out" | grep -Eq "^avx512: skipped: .*(bf16|bfloat16|AVX-512|avx512)" \
            || err "case $desc: no skipped line for avx512: $out"
    else
        echo "$out" | grep -Eq "^avx512: max_abs_err .* pass$" || err "case $desc: avx512 bf16 not checked ok: $out"
    fi
    echo "$out" | grep -q "^blas: skipped: .*\(cblas_sbgemm not exported\|blas implements f32 only\)" \
        || err "case $desc: blas reason: $out"
    echo "$out" | grep -Eq 'error|mismatch|fail' && err "case $desc: failed: $out"
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
python3 - "$T/r/results.csv" "$IMPLS" "$(avx512_bf16 lora)" "$(avx512_bf16 mixlora)" <<'PY' || fail=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
impls = sys.argv[2].split()
avx512_runs = {"lora": sys.argv[3] == "run", "mixlora": sys.argv[4] == "run"}
bad = []
for v in ("lora", "mixlora"):
    for i in impls:
        b = [r for r in rows if r["variant"] == v and r["impl"] == i and r["dtype"] == "bf16"]
        f = [r for r in rows if r["variant"] == v and r["impl"] == i and r["dtype"] == "f32"]
        if i == "naive":
            if len(b) != 1 or b[0]["status"] != "ok" or b[0]["near_ties"] not in ("", "0"):
                bad.append("%s naive bf16: %s" % (v, b))
        elif i == "avx512" and avx512_runs[v]:
            # computed in bf16 and checked against naive with the bf16 rule
            if len(b) != 1 or b[0]["status"] != "ok" or b[0]["max_abs_err"] == "":
                bad.append("%s avx512 bf16 (list says it runs): %s" % (v, b))
        elif (len(b) != 1 or b[0]["status"] != "skipped" or
              ("bf16" not in b[0]["reason"] and "bfloat16" not in b[0]["reason"])):
            bad.append("%s %s bf16: %s" % (v, i, b))
        if b and "dtype=bf16" not in b[0]["case"]:
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

# dump: bf16 tensors widened to float32 (exact), marked stored "bf16"
out=$("$MB" dump 'lora:T=4,h=32,dtype=bf16' "$T/d" 2>&1); rc=$?
[ $rc -eq 0 ] || err "dump bf16: exit $rc: $out"
python3 - "$T/d" <<'PY' || fail=1
import json, struct, sys
d = sys.argv[1]
c = json.load(open(d + "/case.json"))
for t in c["tensors"]:
    if t["name"] in ("W", "A", "B", "X", "Y") and t.get("stored") != "bf16":
        print("FAIL: dump bf16: %s stored %s" % (t["name"], t.get("stored")), file=sys.stderr)
        sys.exit(1)
raw = open(d + "/X.npy", "rb").read()
hl = struct.unpack("<H", raw[8:10])[0]
vals = struct.unpack("<%df" % ((len(raw) - 10 - hl) // 4), raw[10 + hl:])
bad = [v for v in vals if struct.unpack("<I", struct.pack("<f", v))[0] & 0xffff]
if bad:
    print("FAIL: dump bf16: X values not bf16: %s" % bad[:3], file=sys.stderr)
    sys.exit(1)
PY

# a dtype a case cannot be stored in is an invalid case
out=$("$MB" case 'lora:T=4,h=32,dtype=f16' 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "dtype='f16': expected f32|bf16" || err "dtype=f16: exit $rc: $out"

exit $fail
