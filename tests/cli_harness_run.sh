#!/bin/bash
# moebench run end to end on tiny shapes: results.csv (every required column, counter columns),
# samples.csv, run.json; --resume skips rows already done; check's exit code; the smoke suite
# in --dry-run mode (every variant x implementation once).
# usage: bash cli_harness_run.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

cat > "$T/tiny.ini" <<'INI'
[defaults]
h = 32
r = 2
impl = naive, blas
[lora]
variant = lora
T = 1, 4
INI

"$MB" run "$T/tiny.ini" --out "$T/r1" --min-time 0.02 --reps 3 --threads 1 --no-plot --no-roofline >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "run: exit $rc: $(tail -5 "$T/e")"
for f in results.csv samples.csv run.json; do
    [ -s "$T/r1/$f" ] || err "run: $f missing"
done
grep -q "\[4/4\]" "$T/e" || err "run: no progress line [4/4]"

python3 - "$T/r1" <<'PY' || fail=1
import csv, json, sys
d = sys.argv[1]
req = ("run_id variant impl status reason dtype threads cache B S T h o f r E k share shard samples "
       "time_us_median time_us_min time_us_p95 time_us_mad time_us_ci_lo time_us_ci_hi prepare_us flops "
       "bytes gflops gbps pct_peak weights_bytes workspace_bytes peak_rss_bytes max_abs_err max_rel_err "
       "expert_load_max aux_loss").split()
rows = list(csv.DictReader(open(f"{d}/results.csv")))
hdr = open(f"{d}/results.csv").readline().strip().split(",")
bad = []
if hdr[:len(req)] != req: bad.append(f"header {hdr[:len(req)]}")
if len(rows) != 4: bad.append(f"{len(rows)} rows, want 4")
run = json.load(open(f"{d}/run.json"))
for k in ("git", "build", "libraries", "machine", "environment", "suite_files", "counters", "command_line"):
    if k not in run: bad.append(f"run.json lacks {k}")
avail = {e["column"]: e["available"] for e in run["counters"]["events"]}
for c in avail:
    if c not in hdr: bad.append(f"counter column {c} missing")
for r in rows:
    if r["status"] != "ok": bad.append(f"{r['impl']}: {r['status']} {r['reason']}")
    for c in ("time_us_median", "flops", "gflops", "weights_bytes", "peak_rss_bytes", "max_abs_err"):
        if r[c] == "": bad.append(f"{r['impl']} {c} empty")
    # a CI needs >= 6 samples: required then, and must be empty (not invented) below that
    for c in ("time_us_ci_lo", "time_us_ci_hi"):
        if int(r["samples"]) >= 6 and r[c] == "": bad.append(f"{r['impl']} {c} empty with {r['samples']} samples")
        if int(r["samples"]) < 6 and r[c] != "": bad.append(f"{r['impl']} {c} set with only {r['samples']} samples")
    if int(r["samples"]) < 3: bad.append("fewer than 3 samples")
    for c, ok in avail.items():
        # the kernels' work counts (ctr_moebench_*) are empty for naive, which counts nothing
        work = c.startswith("ctr_moebench_")
        if ok and r[c] == "" and not (work and r["impl"] == "naive"):
            bad.append(f"{c} empty although available")
        if work and r["impl"] == "naive" and r[c] != "": bad.append(f"naive {c} = {r[c]}, want empty")
# every available counter names its source
for e in run["counters"]["events"]:
    if e["available"] and e.get("source") not in ("papi", "sde", "perf_event_open", "getrusage", "libmoebench"):
        bad.append(f"{e['column']}: source {e.get('source')}")
    if not e["available"] and not e.get("reason"): bad.append(f"{e['column']}: no reason")
blas = [r for r in rows if r["impl"] == "blas"]
for r in blas:   # lora's counted FLOPs are its cost model's (test_lib_work checks every variant)
    if r["ctr_moebench_flops"] == "" or abs(float(r["ctr_moebench_flops"]) - float(r["flops"])) > 0.01 * float(r["flops"]):
        bad.append(f"blas T={r['T']}: ctr_moebench_flops {r['ctr_moebench_flops']} vs flops {r['flops']}")
        if not ok and r[c] != "": bad.append(f"{c} filled although unavailable")
samples = list(csv.DictReader(open(f"{d}/samples.csv")))
if len(samples) < 12: bad.append(f"{len(samples)} samples")
if any(int(s["time_ns"]) <= 0 for s in samples): bad.append("non-positive sample")
for b in bad: print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# resume: drop the last two rows; resume runs only those
mkdir -p "$T/r2"
head -n 3 "$T/r1/results.csv" > "$T/r2/results.csv"
# plus half a row, as a run killed while writing leaves it
sed -n 4p "$T/r1/results.csv" | head -c 40 >> "$T/r2/results.csv"
cp "$T/r1/run.json" "$T/r2/run.json"
"$MB" run "$T/tiny.ini" --resume "$T/r2" --min-time 0.02 --reps 3 --threads 1 --no-plot --no-roofline >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "resume: exit $rc: $(tail -5 "$T/e")"
grep -q "2 rows already done, 2 to run" "$T/e" || err "resume: wrong plan: $(grep resum "$T/e")"
python3 - "$T/r2/results.csv" <<'PY' || fail=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
keys = [(r["case"], r["impl"]) for r in rows]
ok = len(rows) == 4 and len(set(keys)) == 4 and len({r["run_id"] for r in rows}) == 1
if not ok: print("FAIL: resume rows", keys, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
ls "$T/r2"/run-resume-*.json >/dev/null 2>&1 || err "resume: original run.json overwritten or no resume provenance"

# check: exit 0 when everything matches
"$MB" check "$T/tiny.ini" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "check: exit $rc: $(tail -3 "$T/e")"

# the smoke suite, dry run: every variant x implementation forward once and compared
"$MB" run "$SRC/suites/smoke.ini" --dry-run --threads 1 --out "$T/smoke" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "smoke dry run: exit $rc: $(grep -E 'mismatch|crashed|error|timeout' "$T/e" | head -5)"
"$MB" list >"$T/list" 2>&1 || err "list: exit $?"
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$SRC/tests/support" python3 - "$T/smoke/results.csv" "$T/list" <<'PY' || fail=1
import csv, sys
import moebench_list
rows = list(csv.DictReader(open(sys.argv[1])))
variants = {r["variant"] for r in rows}
# every registered variant (the variant table, as `moebench list` prints it)
want = set(moebench_list.read(sys.argv[2])[0])
if len(want) < 8: print(f"FAIL: moebench list names only {sorted(want)}", file=sys.stderr); sys.exit(1)
bad = [f"{r['case']} {r['impl']}: {r['status']} {r['reason']}" for r in rows if r["status"] not in ("ok", "skipped")]
if variants != want: bad.append(f"variants {sorted(variants)}")
for b in bad: print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

exit $fail
