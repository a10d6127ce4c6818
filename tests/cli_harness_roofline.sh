#!/bin/bash
# moebench run without any roofline.json: it measures the ceilings once (the quick roofline),
# stores DIR/roofline.json, says so in one line, and uses them for pct_peak and run.json;
# --no-roofline and --dry-run measure nothing. MOEBENCH_ROOFLINE=none hides the source tree's
# results/roofline.json (which developer machines may have), and then nothing is written there.
# usage: bash cli_harness_roofline.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }
export MOEBENCH_ROOFLINE=none
src_before=$(stat -c %Y "$SRC/results/roofline.json" 2>/dev/null || echo absent)

cat > "$T/tiny.ini" <<'INI'
[lora]
variant = lora
h = 32
r = 2
T = 4
impl = naive

; enough tokens that the children enter OpenMP parallel regions: if the parent had measured the
; roofline itself, its OpenMP pool would not survive fork() and these children would hang
[router]
variant = router
h = 32
E = 4
k = 2
T = 600
impl = naive, blas
INI

# --no-roofline: nothing measured, pct_peak empty
"$MB" run "$T/tiny.ini" --out "$T/n" --min-time 0.01 --reps 3 --threads 1 --no-plot --no-roofline \
    >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "--no-roofline: exit $rc: $(tail -5 "$T/e")"
[ -e "$T/n/roofline.json" ] && err "--no-roofline: roofline.json written"
grep -q "measuring" "$T/e" && err "--no-roofline: measured: $(grep measuring "$T/e")"

# --dry-run: nothing measured either
"$MB" run "$T/tiny.ini" --out "$T/d" --dry-run --threads 1 >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "--dry-run: exit $rc: $(tail -5 "$T/e")"
[ -e "$T/d/roofline.json" ] && err "--dry-run: roofline.json written"

# a real run: measured once, stored in the output directory, used; on 2 threads with a time
# limit, so a child hung in OpenMP after fork becomes a timeout row and fails the test
"$MB" run "$T/tiny.ini" --out "$T/r" --min-time 0.01 --reps 3 --threads 2 --timeout 60 --no-plot \
    >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "run: exit $rc: $(tail -5 "$T/e")"
[ -s "$T/r/roofline.json" ] || err "run: no roofline.json in the output directory"
n=$(grep -c "no roofline.json found" "$T/e")
[ "$n" -eq 1 ] || err "run: $n 'no roofline.json found' lines, want 1: $(cat "$T/e")"
grep "no roofline.json found" "$T/e" | grep -q "GFLOP/s.* -> $T/r/roofline.json" \
    || err "run: the line does not say what was measured and where: $(grep roofline "$T/e")"
python3 - "$T" <<'PY' || fail=1
import csv, json, math, sys
t = sys.argv[1]
bad = []
def pos(x): return isinstance(x, (int, float)) and math.isfinite(x) and x > 0
rl = json.load(open(f"{t}/r/roofline.json"))
for k in ("peak_gflops", "dram_gbps"):
    if not pos(rl.get(k)): bad.append(f"roofline.json {k} = {rl.get(k)!r}")
run = json.load(open(f"{t}/r/run.json"))["roofline"]
for k in ("peak_gflops", "dram_gbps", "peak_gflops_1t", "dram_gbps_1t"):
    if not pos(run.get(k)): bad.append(f"run.json roofline {k} = {run.get(k)!r}")
if not run.get("source", "").endswith("/r/roofline.json"): bad.append(f"run.json source {run.get('source')!r}")
for r in csv.DictReader(open(f"{t}/r/results.csv")):
    if r["status"] == "ok" and (r["pct_peak"] == "" or float(r["pct_peak"]) <= 0):
        bad.append(f"{r['impl']}: pct_peak {r['pct_peak']!r}")
for r in csv.DictReader(open(f"{t}/n/results.csv")):
    if r["pct_peak"] != "": bad.append(f"--no-roofline: pct_peak {r['pct_peak']!r}")
if json.load(open(f"{t}/n/run.json"))["roofline"].get("peak_gflops") is not None:
    bad.append("--no-roofline: run.json has a peak")
for b in bad: print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# resuming that directory finds its roofline.json: no second measurement
head -n 1 "$T/r/results.csv" > "$T/r/results.tmp" && mv "$T/r/results.tmp" "$T/r/results.csv"
"$MB" run "$T/tiny.ini" --resume "$T/r" --min-time 0.01 --reps 3 --threads 2 --timeout 60 --no-plot \
    >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "resume: exit $rc: $(tail -5 "$T/e")"
grep -q "measuring" "$T/e" && err "resume: measured again although DIR/roofline.json exists"

src_after=$(stat -c %Y "$SRC/results/roofline.json" 2>/dev/null || echo absent)
[ "$src_before" = "$src_after" ] || err "MOEBENCH_ROOFLINE=none but results/roofline.json was written"
exit $fail
