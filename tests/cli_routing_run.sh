#!/bin/bash
# A run with routing options fills the routing columns consistently (dropped, the per-expert
# counts after dropping, experts_per_token_mean, expert_load_max / mean / imbalance) and the
# expert-load chart gets every expert's load of each case (expert_counts.dat, one point each).
# usage: bash cli_routing_run.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat > "$T/r.ini" <<'INI'
[defaults]
h = 32
f = 48
E = 4
k = 2
T = 64
reps = 2
min_time = 0.001
impl = blas
[sparse]
variant = sparse_mlp
route = hot:0.5, balanced
cap = 0, 1.0
[topp]
variant = router
topp = 0.5
k = 4
[lora]
variant = lora
r = 2
INI
"$MB" run "$T/r.ini" --out "$T/out" --no-roofline > "$T/o" 2>&1 || { cat "$T/o"; echo "FAIL: run"; exit 1; }
python3 - "$T/out" <<'PY'
import csv, sys, os
d = sys.argv[1]
rows = [r for r in csv.DictReader(open(os.path.join(d, "results.csv")))]
fail = 0
def bad(msg):
    global fail
    print("FAIL:", msg)
    fail = 1
n_routed = 0
for r in rows:
    if r["variant"] == "lora":
        for c in ("cap", "shared", "topp", "route", "dropped", "experts_per_token_mean",
                  "expert_load_mean", "load_imbalance", "expert_counts"):
            if r[c] != "":
                bad(f"lora row has {c}={r[c]!r} (want empty)")
        continue
    if r["status"] != "ok":
        bad(f"{r['case']}: {r['status']} {r['reason']}")
        continue
    n_routed += 1
    T, k, E = int(r["T"]), int(r["k"]), int(r["E"])
    counts = [int(x) for x in r["expert_counts"].split(";")]
    if len(counts) != E:
        bad(f"{r['case']}: {len(counts)} counts for E={E}")
    dropped = int(r["dropped"])
    chosen = float(r["experts_per_token_mean"]) * T
    if abs(sum(counts) + dropped - chosen) > 1e-6:
        bad(f"{r['case']}: counts {sum(counts)} + dropped {dropped} != chosen {chosen}")
    bal = T * k / E
    lmax, lmean = float(r["expert_load_max"]), float(r["expert_load_mean"])
    if abs(lmax - max(counts) / bal) > 1e-6 or abs(lmean - sum(counts) / E / bal) > 1e-6:
        bad(f"{r['case']}: load max/mean {lmax}/{lmean} vs counts {counts}")
    if abs(float(r["load_imbalance"]) - lmax / lmean) > 1e-6:
        bad(f"{r['case']}: load_imbalance {r['load_imbalance']}")
    if "cap=1" in r["case"]:
        C = -(-T * k // E)
        if max(counts) > C or (r["route"].startswith("hot") and dropped == 0):
            bad(f"{r['case']}: capacity {C}: counts {counts}, dropped {dropped}")
    elif dropped != 0:
        bad(f"{r['case']}: dropless case dropped {dropped}")
    if r["variant"] == "router" and not float(r["experts_per_token_mean"]) < 4:
        bad(f"{r['case']}: topp=0.5 took every expert")
if n_routed != 5:
    bad(f"{n_routed} routed rows, want 5")
pts = [l.split() for l in open(os.path.join(d, "charts", "expert_counts.dat")) if not l.startswith("#")]
if len(pts) != 5 * 4:
    bad(f"expert_counts.dat has {len(pts)} points, want 20 (5 cases x 4 experts)")
if not os.path.getsize(os.path.join(d, "charts", "expert_load.png")):
    bad("no expert_load.png")
sys.exit(fail)
PY
