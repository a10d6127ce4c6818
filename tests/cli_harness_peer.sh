#!/bin/bash
# `moebench run --peer torch`: after the C cases, the PyTorch peer adds one impl=torch row per
# case to the same results.csv (same run_id), samples with the threads/cache columns, a line
# in the summary, exit 0 when every torch row is ok.
# Needs /usr/bin/python3 (or $MOEBENCH_PYTHON) with torch and numpy: without them this test
# FAILS, it never passes silently.
# usage: bash cli_harness_peer.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
PY=${MOEBENCH_PYTHON:-/usr/bin/python3}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive
if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "FAIL: $PY cannot import torch and numpy: --peer torch cannot be tested"
    exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

cat > "$T/tiny.ini" <<'INI'
[lora]
variant = lora
h = 32
r = 2
T = 4
impl = naive, blas
[router]
variant = router
h = 32
E = 4
k = 2
T = 8
impl = blas
INI

"$MB" run "$T/tiny.ini" --out "$T/r" --min-time 0.01 --reps 3 --threads 1 --no-plot --no-roofline --peer torch \
    >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "run --peer torch: exit $rc: $(tail -8 "$T/e") $(tail -3 "$T/o")"
grep -q "torch peer: every torch row ok" "$T/o" || err "summary lacks the peer: $(cat "$T/o")"
grep -q "^  torch " "$T/o" || err "summary lacks the torch rows: $(cat "$T/o")"
python3 - "$T/r" <<'PY' || fail=1
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(f"{d}/results.csv")))
bad = []
torch = [r for r in rows if r["impl"] == "torch"]
if len(torch) != 2: bad.append(f"{len(torch)} torch rows, want 2")
if len({r["run_id"] for r in rows}) != 1: bad.append("torch rows have another run_id")
for r in torch:
    if r["status"] != "ok": bad.append(f"torch {r['case']}: {r['status']} {r['reason']}")
    if r["time_us_median"] == "": bad.append("torch row not timed")
    # its spec columns match ours column by column (unused ones empty in both)
    ours = [x for x in rows if x["impl"] != "torch" and x["case"] == r["case"]]
    spec = "variant B S T h o f r E k share shard alpha act seed".split()
    for x in ours:
        diff = [c for c in spec if x[c] != r[c]]
        if diff: bad.append(f"torch {r['case']}: {[(c, r[c], x[c]) for c in diff]} differ from {x['impl']}")
    if not ours: bad.append(f"torch {r['case']}: no C row of that case")
lora = [r for r in rows if r["variant"] == "lora"]
if any(r[c] != "" for r in lora for c in ("f", "E", "k", "share", "shard")): bad.append("lora row has f/E/k/share/shard")
router = [r for r in rows if r["variant"] == "router"]
if any(r["E"] != "4" or r["k"] != "2" or r["o"] != "" for r in router): bad.append("router rows: want E=4 k=2 and empty o")
s = list(csv.DictReader(open(f"{d}/samples.csv")))
ts = [x for x in s if x["impl"] == "torch"]
if not ts: bad.append("no torch samples")
if any(x["threads"] != "1" or x["cache"] != "warm" for x in ts): bad.append("torch samples lack threads/cache")
run = json.load(open(f"{d}/run.json"))
if "peer" not in run: bad.append("run.json lacks the peer object")
if "result" not in run: bad.append("run.json lost the run's result")
for b in bad: print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# the peer cannot run: exit 2, the C rows stay
MOEBENCH_PYTHON=/nonexistent/python3 "$MB" run "$T/tiny.ini" --out "$T/r2" --min-time 0.01 --reps 3 \
    --threads 1 --no-plot --no-roofline --peer torch >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] || err "peer without python: exit $rc, want 2"
[ "$(grep -c ',blas,ok,' "$T/r2/results.csv")" = 2 ] || err "peer failure lost the moebench rows"
# a peer that never ends is killed at $MOEBENCH_PEER_TIMEOUT: exit 2, reported
printf '#!/bin/sh\nexec sleep 60\n' > "$T/hang"
chmod +x "$T/hang"
MOEBENCH_PYTHON="$T/hang" MOEBENCH_PEER_TIMEOUT=1 "$MB" run "$T/tiny.ini" --out "$T/r3" --min-time 0.01 \
    --reps 3 --threads 1 --no-plot --no-roofline --peer torch >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] || err "hanging peer: exit $rc, want 2"
grep -q "torch peer: still running after 1 s .*killed" "$T/e" || err "hanging peer not reported: $(tail -3 "$T/e")"
"$MB" run "$T/tiny.ini" --peer numpy --validate-only >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] || err "--peer numpy: exit $rc"
exit $fail
