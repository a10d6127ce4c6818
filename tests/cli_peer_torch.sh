#!/bin/bash
# The PyTorch peer agrees with moebench's naive reference on every variant (small shapes), and
# the check can fail: a perturbed Y.npy and a perturbed routing must be reported as mismatch.
# Usage: bash cli_peer_torch.sh MOEBENCH_BINARY SOURCE_DIR
# Needs /usr/bin/python3 with torch and numpy (Debian python3-torch): without them this test
# FAILS, it never passes silently.
set -u
MB=${1:?moebench binary}
SRC=${2:?source dir}
PY=${MOEBENCH_PYTHON:-/usr/bin/python3}
PEER="$SRC/peers/pytorch/moebench_peer.py"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive

if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "FAIL: $PY cannot import torch and numpy: the PyTorch peer cannot be tested"
    echo "      (install python3-torch and python3-numpy, or point MOEBENCH_PYTHON at a python that has them)"
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moebench-cli-peer.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail=0

# One line per case: variant coverage incl. every mixlora share mode, sparse_mlp shard 0/1,
# moelora with B > 1 (several sequences, several tasks), activations other than SiLU.
CASES=(
  "lora:T=7,h=48,o=40,r=4,alpha=8"
  "lora:B=2,S=3,h=64,r=8,seed=3"
  "mlp_lora:T=5,h=32,f=80,r=4"
  "mlp_lora:T=4,h=24,f=40,r=2,act=gelu"
  "molora:T=6,h=40,o=24,r=4,E=5"
  "moelora:B=3,S=4,h=40,o=32,r=8,E=4,tasks=5,te=16"
  "moelora:B=1,S=5,h=32,r=4,E=2,tasks=2,te=8"
  "mixlora:B=2,S=6,h=32,f=64,r=4,E=4,k=2,share=none"
  "mixlora:B=2,S=6,h=32,f=64,r=4,E=4,k=2,share=gate_up"
  "mixlora:B=2,S=6,h=32,f=64,r=4,E=4,k=2,share=all"
  "mixlora:T=9,h=40,f=56,r=4,E=3,k=1,act=relu"
  "mor1e:B=2,S=4,h=48,o=40,r=8"
  "sparse_mlp:T=10,h=32,f=48,E=4,k=2,shard=0"
  "sparse_mlp:T=10,h=32,f=64,E=4,k=2,shard=1"
  "sparse_mlp:T=6,h=24,f=40,E=8,k=3,act=gelu"
  "router:T=16,h=64,E=8,k=2"
  # routing options (spec "Routing options"), appended so the indices above keep their cases:
  # capacity with drops, shared experts, top-p, hot, balanced, zipf (case16 .. case29)
  "sparse_mlp:T=40,h=32,f=48,E=4,k=2,cap=1"
  "sparse_mlp:T=12,h=32,f=48,E=4,k=2,shared=1"
  "sparse_mlp:T=12,h=32,f=48,E=4,topp=0.5"
  "sparse_mlp:T=20,h=32,f=48,E=4,k=2,route=hot:0.5"
  "sparse_mlp:T=20,h=32,f=48,E=4,k=2,route=balanced"
  "sparse_mlp:T=30,h=32,f=48,E=4,k=2,route=zipf:1.5,shard=1,shared=2,cap=1.25"
  "mixlora:B=2,S=10,h=32,f=64,r=4,E=4,k=2,cap=1,share=none"
  "mixlora:T=12,h=32,f=64,r=4,E=4,k=2,shared=2"
  "mixlora:T=12,h=32,f=64,r=4,E=4,topp=0.5,share=gate_up"
  "mixlora:T=20,h=32,f=64,r=4,E=4,k=2,route=hot:0.5"
  "mixlora:T=20,h=32,f=64,r=4,E=4,k=2,route=balanced,shared=1"
  "router:T=40,h=32,E=4,k=2,cap=1"
  "router:T=16,h=32,E=8,topp=0.5"
  "router:T=30,h=32,E=8,k=2,route=zipf:1.0"
)

i=0
dirs=()
for c in "${CASES[@]}"; do
    d="$TMP/case$i"; i=$((i + 1))
    if ! "$MB" dump "$c" "$d" > "$TMP/dump.out" 2>&1; then
        echo "FAIL: moebench dump '$c':"; cat "$TMP/dump.out"; fail=1; continue
    fi
    for f in X.npy Y.npy case.json; do
        [ -s "$d/$f" ] || { echo "FAIL: dump of '$c' has no $f"; fail=1; }
    done
    dirs+=("$d")
done
# One python process checks every dump (importing torch costs seconds); it prints one line per
# case and exits with the worst result, so a single disagreeing case fails the test.
"$PY" "$PEER" check "${dirs[@]}" > "$TMP/check.out" 2>&1; rc=$?
cat "$TMP/check.out"
if [ $rc -ne 0 ]; then
    echo "FAIL: the torch peer disagrees with naive (exit $rc; see the MISMATCH / ERROR lines above)"; fail=1
fi
n_ok=$(grep -c '^ok ' "$TMP/check.out")
[ "$n_ok" -eq "${#CASES[@]}" ] || { echo "FAIL: $n_ok of ${#CASES[@]} cases checked ok"; fail=1; }

# float64 run of the torch module on one routed case.
"$PY" "$PEER" check --float64 "$TMP/case7" > "$TMP/f64.out" 2>&1 || { echo "FAIL: float64 check"; cat "$TMP/f64.out"; fail=1; }
grep -q "torch float64" "$TMP/f64.out" || { echo "FAIL: float64 check did not run"; cat "$TMP/f64.out"; fail=1; }

# The check must be able to fail: perturb Y (one element by 1 % of rms) and expect exit 1.
d="$TMP/bad"
cp -r "$TMP/case2" "$d"
"$PY" - "$d" <<'EOF'
import sys, numpy as np
p = sys.argv[1] + "/Y.npy"
y = np.load(p)
y[1, 3] += 0.01 * np.sqrt(np.mean(y.astype(np.float64) ** 2))
np.save(p, y)
EOF
"$PY" "$PEER" check "$d" > "$TMP/bad.out" 2>&1; rc=$?
if [ $rc -ne 1 ] || ! grep -q MISMATCH "$TMP/bad.out"; then
    echo "FAIL: a perturbed Y.npy was not reported as a mismatch (exit $rc):"; cat "$TMP/bad.out"; fail=1
else
    echo "ok: perturbed Y detected: $(head -c 200 "$TMP/bad.out")"
fi

# ... and a routing that names another expert.
d="$TMP/badroute"
cp -r "$TMP/case12" "$d"
"$PY" - "$d" <<'EOF'
import sys, numpy as np
p = sys.argv[1] + "/route_idx.npy"
idx = np.load(p)
E = 4
row = idx[0]
row[1] = [e for e in range(E) if e not in row][0]
np.save(p, idx)
EOF
"$PY" "$PEER" check "$d" > "$TMP/badroute.out" 2>&1; rc=$?
if [ $rc -ne 1 ] || ! grep -q "routing differs" "$TMP/badroute.out"; then
    echo "FAIL: a wrong routing was not reported (exit $rc):"; cat "$TMP/badroute.out"; fail=1
else
    echo "ok: wrong routing detected"
fi

# ... which the same routing difference on a token the dump flags as a near tie (moebench's
# rule, route_near_ties.npy) is not: excused and counted, as the run excuses it.
[ -s "$TMP/case12/route_near_ties.npy" ] || { echo "FAIL: the routed dump has no route_near_ties.npy"; fail=1; }
d="$TMP/nearroute"
cp -r "$TMP/badroute" "$d"
"$PY" - "$d" <<'EOF'
import sys, numpy as np
p = sys.argv[1] + "/route_near_ties.npy"
near = np.load(p)
near[0] = 1
np.save(p, near)
EOF
"$PY" "$PEER" check "$d" > "$TMP/nearroute.out" 2>&1; rc=$?
if [ $rc -ne 0 ] || ! grep -q "1 token(s) within a near tie" "$TMP/nearroute.out"; then
    echo "FAIL: a routing difference on a flagged near tie was not excused (exit $rc):"
    cat "$TMP/nearroute.out"; fail=1
else
    echo "ok: flagged near tie excused"
fi

# ... and a capacity drop the peer did not make (case16: cap=1 drops 4 assignments).
d="$TMP/baddrop"
cp -r "$TMP/case16" "$d"
"$PY" - "$d" <<'EOF'
import sys, numpy as np
p = sys.argv[1] + "/route_dropped.npy"
m = np.load(p)
assert m.sum() > 0, "the cap=1 case drops nothing: the test would not test the drops"
m[0, 0] = 1 - m[0, 0]
np.save(p, m)
EOF
"$PY" "$PEER" check "$d" > "$TMP/baddrop.out" 2>&1; rc=$?
if [ $rc -ne 1 ] || ! grep -q "capacity drops differ" "$TMP/baddrop.out"; then
    echo "FAIL: a wrong capacity drop was not reported (exit $rc):"; cat "$TMP/baddrop.out"; fail=1
else
    echo "ok: wrong capacity drop detected"
fi

# A broken dump is an error (exit 2), not a pass.
d="$TMP/broken"
cp -r "$TMP/case0" "$d"
rm "$d/A.npy"
"$PY" "$PEER" check "$d" > "$TMP/broken.out" 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: a dump missing A.npy gave exit $rc, want 2"; cat "$TMP/broken.out"; fail=1; }

# dump: invalid case -> one line, exit 2; --no-output writes no Y but the peer still checks routing-free.
"$MB" dump "moelora:T=4,h=32,r=6,E=4" "$TMP/inv" > "$TMP/inv.out" 2>&1; rc=$?
if [ $rc -ne 2 ] || [ "$(wc -l < "$TMP/inv.out")" -ne 1 ]; then
    echo "FAIL: invalid case gave exit $rc with:"; cat "$TMP/inv.out"; fail=1
fi
"$MB" dump "lora:T=4,h=32,r=4" "$TMP/noout" --no-output > /dev/null 2>&1 || { echo "FAIL: dump --no-output"; fail=1; }
[ -e "$TMP/noout/Y.npy" ] && { echo "FAIL: --no-output wrote Y.npy"; fail=1; }
"$PY" "$PEER" check "$TMP/noout" > "$TMP/noout.out" 2>&1 || { echo "FAIL: check of a dump without Y"; cat "$TMP/noout.out"; fail=1; }

# Big-case path: no full Y, naive recomputes sampled rows (--ref-rows); moelora maps each sampled
# row to its sequence's task. The check uses them, and a perturbed Y_rows.npy must fail.
"$MB" dump "moelora:B=4,S=8,h=32,r=4,E=2,tasks=3,te=8" "$TMP/rows" --no-output --ref-rows 5 > /dev/null 2>&1 \
    || { echo "FAIL: dump --ref-rows"; fail=1; }
[ -e "$TMP/rows/Y.npy" ] && { echo "FAIL: --no-output --ref-rows wrote Y.npy"; fail=1; }
"$PY" "$PEER" check "$TMP/rows" > "$TMP/rows.out" 2>&1 || { echo "FAIL: check on sampled rows"; cat "$TMP/rows.out"; fail=1; }
grep -q "values checked on 5 of 32 rows" "$TMP/rows.out" || { echo "FAIL: sampled rows not used:"; cat "$TMP/rows.out"; fail=1; }
"$PY" -c "
import sys, numpy as np
p = sys.argv[1] + '/Y_rows.npy'; y = np.load(p); y[2, 0] += 0.01 * np.sqrt(np.mean(y.astype(np.float64) ** 2)); np.save(p, y)
" "$TMP/rows"
"$PY" "$PEER" check "$TMP/rows" > "$TMP/rows2.out" 2>&1; rc=$?
[ $rc -eq 1 ] || { echo "FAIL: a perturbed Y_rows.npy gave exit $rc, want 1"; cat "$TMP/rows2.out"; fail=1; }

# bench appends valid rows in the results.csv schema (tiny timing budget).
R="$TMP/res"; mkdir -p "$R"
"$PY" "$PEER" bench "$TMP/case7" --results "$R/results.csv" --reps 3 --min-time 0.05 --threads 1 > "$TMP/bench.out" 2>&1 \
    || { echo "FAIL: bench"; cat "$TMP/bench.out"; fail=1; }
"$PY" "$PEER" bench "$TMP/bad" --results "$R/results.csv" --reps 3 --min-time 0.05 --threads 1 > "$TMP/bench2.out" 2>&1
"$PY" - "$R" <<'EOF' || fail=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/results.csv")))
samples = list(csv.DictReader(open(sys.argv[1] + "/samples.csv")))
ok = True
def need(cond, msg):
    global ok
    if not cond:
        print("FAIL: bench rows:", msg, rows); ok = False
need(len(rows) == 2, "want 2 rows")
if len(rows) == 2:
    a, b = rows
    need(a["impl"] == "torch" and a["status"] == "ok", "first row ok")
    need(a["variant"] == "mixlora" and a["case"].startswith("mixlora:"), "variant/case")
    need(float(a["time_us_median"]) > 0 and int(a["samples"]) == 3, "timing columns")
    need(float(a["time_us_min"]) <= float(a["time_us_median"]) <= float(a["time_us_p95"]), "min <= median <= p95")
    need(a["threads"] == "1" and "OPENBLAS_NUM_THREADS=1" in a["reason"], "threads recorded")
    need(b["status"] == "mismatch" and b["time_us_median"] == "", "mismatch row is not timed")
need(len(samples) == 3 and all(int(s["time_ns"]) > 0 for s in samples), "3 samples")
sys.exit(0 if ok else 1)
EOF

# run-suite over a results directory holding moebench rows (header as harness/results/csv.c writes it):
# one torch row per distinct case, same run_id, the moebench rows untouched; a second run-suite
# adds nothing (cases with a torch row are skipped).
S="$TMP/suite"; mkdir -p "$S"
H="run_id,variant,impl,status,reason,dtype,threads,cache,B,S,T,h,o,f,r,E,k,share,shard,samples,time_us_median,time_us_min,time_us_p95,time_us_mad,time_us_ci_lo,time_us_ci_hi,prepare_us,flops,bytes,gflops,gbps,pct_peak,weights_bytes,workspace_bytes,peak_rss_bytes,max_abs_err,max_rel_err,expert_load_max,aux_loss,ctr_perf__task_clock,case,alpha,act,seed,iters_per_sample,prepare_bytes,roof_level,roof_gflops,above_roof"
{
  echo "$H"
  echo 'RUN1,lora,blas,ok,,f32,1,warm,1,4,4,32,32,11008,4,8,2,all,0,3,10,9,11,1,9,11,1,20000,9000,2,0.9,0.5,4608,0,1,0,0,,,5,"lora:T=4,h=32,o=32,r=4",8,silu,42,1,0,L2,4,0'
  echo 'RUN1,lora,naive,ok,,f32,1,warm,1,4,4,32,32,11008,4,8,2,all,0,3,10,9,11,1,9,11,1,20000,9000,2,0.9,0.5,4608,0,1,0,0,,,5,"lora:T=4,h=32,o=32,r=4",8,silu,42,1,0,L2,4,0'
  echo 'RUN1,sparse_mlp,blas,ok,,f32,1,warm,1,8,8,32,32,48,16,4,2,all,0,3,10,9,11,1,9,11,1,20000,9000,2,0.9,0.5,4608,0,1,0,0,,,5,"sparse_mlp:T=8,h=32,f=48,E=4,k=2",32,silu,42,1,0,,,'
} > "$S/results.csv"
echo '{"command": "test"}' > "$S/run.json"
for pass in 1 2; do
    "$PY" "$PEER" run-suite "$S" --moebench "$MB" --threads 1 --reps 2 --min-time 0.02 > "$TMP/suite$pass.out" 2>&1 \
        || { echo "FAIL: run-suite (pass $pass)"; cat "$TMP/suite$pass.out"; fail=1; }
done
"$PY" - "$S" <<'EOF' || fail=1
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/results.csv")))
torch_rows = [r for r in rows if r["impl"] == "torch"]
ok = len(rows) == 5 and len(torch_rows) == 2
ok = ok and all(r["status"] == "ok" and r["run_id"] == "RUN1" for r in torch_rows)
ok = ok and [r["case"] for r in torch_rows] == ["lora:T=4,h=32,o=32,r=4", "sparse_mlp:T=8,h=32,f=48,E=4,k=2"]
ok = ok and torch_rows[0]["pct_peak"] != "" and torch_rows[0]["flops"] == "20000"
# the case's own ceiling, copied from its row of the same threads and cache (none: left empty)
t0 = torch_rows[0]
ok = ok and t0["roof_level"] == "L2" and t0["roof_gflops"] == "4"
ok = ok and abs(float(t0["pct_peak"]) - 100 * float(t0["gflops"]) / 4) < 1e-3 * float(t0["pct_peak"])
ok = ok and t0["above_roof"] == str(int(float(t0["pct_peak"]) > 110))
ok = ok and torch_rows[1]["roof_gflops"] == "" and torch_rows[1]["roof_level"] == ""
run = json.load(open(d + "/run.json"))
peer = run.get("peer", {})
ok = ok and peer.get("OPENBLAS_NUM_THREADS") == "1" and run.get("command") == "test"
if not ok:
    print("FAIL: run-suite rows / run.json:", torch_rows, peer)
sys.exit(0 if ok else 1)
EOF

# mode=train (spec "Training step"): every variant tiny, one step of the upstream forms with
# requires_grad on the trainable tensors; Y, routing, dX and every trainable gradient against the
# dump's (naive's), LoRA dropout with moebench's mask, AdamW against the dump's upd_*.npy.
TCASES=(
  "lora:T=5,h=12,o=10,r=4,mode=train"
  "lora:T=5,h=12,r=4,p=0.5,mode=train,opt=adamw"
  "mlp_lora:T=5,h=16,f=24,r=4,p=0.2,mode=train"
  "molora:T=6,h=16,o=12,r=4,E=3,p=0.1,mode=train"
  "moelora:B=3,S=2,h=16,o=12,r=4,E=2,tasks=3,te=8,mode=train"
  "mixlora:B=2,S=5,h=16,f=24,r=4,E=4,k=2,p=0.1,aux=0.3,zloss=0.2,mode=train,opt=adamw"
  "mor1e:B=2,S=3,h=16,o=12,r=4,mode=train"
  "sparse_mlp:T=10,h=16,f=32,E=4,k=2,shard=1,zloss=0.1,mode=train"
  "router:T=12,h=16,E=8,k=2,aux=0.3,zloss=0.2,mode=train"
)
tdirs=()
i=0
for c in "${TCASES[@]}"; do
    d="$TMP/train$i"; i=$((i + 1))
    "$MB" dump "$c" "$d" > "$TMP/dump.out" 2>&1 || { echo "FAIL: moebench dump '$c':"; cat "$TMP/dump.out"; fail=1; continue; }
    tdirs+=("$d")
done
"$PY" "$PEER" check "${tdirs[@]}" > "$TMP/tcheck.out" 2>&1; rc=$?
cat "$TMP/tcheck.out"
[ $rc -eq 0 ] || { echo "FAIL: the torch peer's train step disagrees with naive (exit $rc)"; fail=1; }
n_ok=$(grep -c '^ok .*train\]' "$TMP/tcheck.out")
[ "$n_ok" -eq "${#TCASES[@]}" ] || { echo "FAIL: $n_ok of ${#TCASES[@]} train cases checked ok"; fail=1; }
grep -q 'AdamW update agrees' "$TMP/tcheck.out" || { echo "FAIL: no AdamW update was checked"; fail=1; }

# ... and the train check can fail: a gradient (train2: mlp_lora with dropout, grad_Bd) moved by
# 1 % of its rms, an AdamW update (train1: upd_A) moved by lr, a dump whose mask the peer does not
# draw (train1 with p changed in case.json: the mask is the spec's, not torch's RNG).
bad_train() {   # DIR WHAT EXPECT PYCODE
    local d="$TMP/tbad_$2"
    cp -r "$1" "$d"
    "$PY" -c "$4" "$d" || { echo "FAIL: could not perturb $2"; fail=1; return; }
    "$PY" "$PEER" check "$d" > "$TMP/tbad.out" 2>&1; local rc=$?
    if [ $rc -ne 1 ] || ! grep -q "$3" "$TMP/tbad.out"; then
        echo "FAIL: a perturbed $2 was not reported (exit $rc):"; cat "$TMP/tbad.out"; fail=1
    else
        echo "ok: perturbed $2 detected"
    fi
}
bad_train "$TMP/train2" grad_Bd "grad_Bd mismatch" "
import sys, numpy as np
p = sys.argv[1] + '/grad_Bd.npy'; g = np.load(p); g[3, 1] += 0.01 * np.sqrt(np.mean(g.astype(np.float64) ** 2)); np.save(p, g)"
bad_train "$TMP/train1" upd_A "upd_A (AdamW) mismatch" "
import sys, numpy as np
p = sys.argv[1] + '/upd_A.npy'; u = np.load(p); u[1, 2] += 1e-4; np.save(p, u)"
bad_train "$TMP/train1" mask "MISMATCH" "
import sys, json
p = sys.argv[1] + '/case.json'; m = json.load(open(p)); m['spec']['p'] = 0.25; json.dump(m, open(p, 'w'))"

# bench of a train dump: a row with mode=train, the step's median, fwd_us and bwd_us, saved /
# grad / optimizer bytes (adamw: the two moments, 8 bytes per trainable element).
R2="$TMP/tres"; mkdir -p "$R2"
for d in "$TMP/train0" "$TMP/train1" "$TMP/train5"; do
    "$PY" "$PEER" bench "$d" --results "$R2/results.csv" --reps 3 --min-time 0.05 --threads 1 > "$TMP/tbench.out" 2>&1 \
        || { echo "FAIL: bench of $d"; cat "$TMP/tbench.out"; fail=1; }
done
"$PY" - "$R2" "$TMP/train1" <<'EOF' || fail=1
import csv, json, math, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/results.csv")))
meta = json.load(open(sys.argv[2] + "/case.json"))
n_trainable = sum(math.prod(t["shape"]) for t in meta["tensors"] if t["name"] in ("A", "B"))
bad = []
if len(rows) != 3:
    bad.append(f"{len(rows)} rows, want 3")
for r in rows:
    if r["status"] != "ok" or r["mode"] != "train" or r["impl"] != "torch":
        bad.append(f"{r['case']}: {r['status']} mode '{r['mode']}' ({r['reason']})")
        continue
    med, f, b = float(r["time_us_median"]), float(r["fwd_us"]), float(r["bwd_us"])
    if not (f > 0 and b > 0 and med > 0):
        bad.append(f"{r['case']}: fwd_us {f} bwd_us {b} median {med}")
    if not (int(r["saved_bytes"]) > 0 and int(r["grad_bytes"]) > 0):
        bad.append(f"{r['case']}: saved_bytes {r['saved_bytes']} grad_bytes {r['grad_bytes']}")
    if "gradients within" not in r["reason"] or "saved_tensors_hooks" not in r["reason"]:
        bad.append(f"{r['case']}: reason '{r['reason']}'")
if len(rows) == 3:
    if rows[0]["optimizer_bytes"] != "0":
        bad.append(f"opt=none: optimizer_bytes {rows[0]['optimizer_bytes']}")
    if int(rows[1]["optimizer_bytes"]) != 8 * n_trainable:
        bad.append(f"adamw: optimizer_bytes {rows[1]['optimizer_bytes']}, want {8 * n_trainable}")
for b in bad:
    print("FAIL: train bench:", b)
sys.exit(1 if bad else 0)
EOF

if [ $fail -ne 0 ]; then echo "cli_peer_torch: FAILED"; exit 1; fi
echo "cli_peer_torch: all passed"
