#!/bin/bash
# --interleave and the stability and roofline columns, end to end on a tiny case with two
# implementations:
# - with --interleave, samples.csv records the samples in the order taken: naive, blas, naive,
#   blas, ... (ABAB); without it, all of naive's before blas's; run.json says which;
# - unstable (0/1) agrees with the reason, ci_rel with the CI columns;
# - with a roofline.json (synthetic numbers), every ok row names the level holding its working
#   set (L1 for a few KiB, DRAM with --cache cold) and its ceiling; pct_peak is against it;
# - a peak far below what rows reach: every ok row is above its own ceiling, flagged in
#   above_roof, the reason and the run's last lines;
# - L1 measured below DRAM: the run warns that the ceilings are implausible and rows say so.
# usage: bash cli_interleave_roof.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

cat > "$T/two.ini" <<'INI'
[lora]
variant = lora
h = 32
r = 2
T = 4
impl = naive, blas
INI
COMMON=(--min-time 0.02 --reps 6 --threads 1 --no-plot)

cat > "$T/good.json" <<'JSON'
{"peak_gflops": 50, "peak_gflops_1t": 40, "l1_gbps": 200, "l1_gbps_1t": 100, "l2_gbps": 150,
 "l2_gbps_1t": 80, "l3_gbps": 100, "l3_gbps_1t": 50, "dram_gbps": 20, "dram_gbps_1t": 10,
 "cache_bytes": {"L1": 32768, "L2": 524288, "L3": 16777216}, "plausible": true}
JSON
cat > "$T/low.json" <<'JSON'
{"peak_gflops": 1e-06, "peak_gflops_1t": 1e-06, "l1_gbps_1t": 100, "dram_gbps_1t": 10,
 "cache_bytes": {"L1": 32768, "L2": 524288, "L3": 16777216}}
JSON
cat > "$T/bad.json" <<'JSON'
{"peak_gflops": 50, "peak_gflops_1t": 40, "l1_gbps_1t": 5, "l2_gbps_1t": 80, "dram_gbps_1t": 10}
JSON

MOEBENCH_ROOFLINE="$T/good.json" "$MB" run "$T/two.ini" --out "$T/i" --interleave "${COMMON[@]}" \
    >"$T/o" 2>"$T/e" || err "--interleave: exit $?: $(tail -5 "$T/e")"
MOEBENCH_ROOFLINE="$T/good.json" "$MB" run "$T/two.ini" --out "$T/s" "${COMMON[@]}" --cache cold \
    >"$T/o2" 2>"$T/e2" || err "sequential: exit $?: $(tail -5 "$T/e2")"
MOEBENCH_ROOFLINE="$T/low.json" "$MB" run "$T/two.ini" --out "$T/l" "${COMMON[@]}" \
    >"$T/o3" 2>"$T/e3" || err "low peak: exit $?: $(tail -5 "$T/e3")"
MOEBENCH_ROOFLINE="$T/bad.json" "$MB" run "$T/two.ini" --out "$T/b" "${COMMON[@]}" \
    >"$T/o4" 2>"$T/e4" || err "implausible: exit $?: $(tail -5 "$T/e4")"

python3 - "$T" <<'PY' || fail=1
import csv, json, math, sys
T = sys.argv[1]
bad = []
def rows(d):
    return list(csv.DictReader(open(f"{T}/{d}/results.csv")))
def order(d):
    return [(r["impl"], int(r["rep"])) for r in csv.DictReader(open(f"{T}/{d}/samples.csv"))]

# sample order: ABAB with --interleave, AA..BB without
o = order("i")
n = min(sum(1 for i, _ in o if i == "naive"), sum(1 for i, _ in o if i == "blas"))
if n < 6:
    bad.append(f"--interleave: only {n} samples of one implementation")
want = [(im, k) for k in range(n) for im in ("naive", "blas")]
if o[:2 * n] != want:
    bad.append(f"--interleave: samples.csv order {o[:8]}..., want naive 0, blas 0, naive 1, ...")
s = [i for i, _ in order("s")]
if s != sorted(s, key=lambda x: x != "naive"):
    bad.append(f"sequential: samples interleaved: {s[:8]}")
for d, want_il in (("i", True), ("s", False)):
    st = json.load(open(f"{T}/{d}/run.json"))["settings"]
    if st.get("interleave") is not want_il:
        bad.append(f"{d}: run.json settings.interleave = {st.get('interleave')}, want {want_il}")

def num(x):
    return float(x) if x != "" else math.nan
for d in ("i", "s", "l", "b"):
    rs = rows(d)
    if len(rs) != 2 or any(r["status"] != "ok" for r in rs):
        bad.append(f"{d}: rows {[(r['impl'], r['status'], r['reason']) for r in rs]}")
        continue
    for r in rs:
        for col in ("roof_level", "roof_gflops", "above_roof", "unstable", "ci_rel"):
            if col not in r:
                bad.append(f"{d}: no column {col}")
        # stability: the flag agrees with the reason, ci_rel with the CI
        if r["unstable"] not in ("0", "1") or (r["unstable"] == "1") != ("unstable" in r["reason"]):
            bad.append(f"{d} {r['impl']}: unstable={r['unstable']!r} reason {r['reason']!r}")
        med, lo, hi, ci = (num(r[k]) for k in ("time_us_median", "time_us_ci_lo", "time_us_ci_hi", "ci_rel"))
        if int(r["samples"]) >= 6:
            exp = max(med - lo, hi - med) / med
            if not abs(ci - exp) <= 1e-6 * max(1, exp):
                bad.append(f"{d} {r['impl']}: ci_rel {ci} but the CI says {exp}")
        elif r["ci_rel"] != "":
            bad.append(f"{d} {r['impl']}: ci_rel {r['ci_rel']!r} with {r['samples']} samples")
        # the row's own ceiling
        g, roof, pct = num(r["gflops"]), num(r["roof_gflops"]), num(r["pct_peak"])
        if not (roof > 0 and abs(pct - 100 * g / roof) <= 1e-6 * pct):
            bad.append(f"{d} {r['impl']}: pct_peak {pct} is not 100 * {g} / {roof}")
        if r["above_roof"] != ("1" if pct > 110 else "0"):
            bad.append(f"{d} {r['impl']}: above_roof {r['above_roof']!r} at {pct} %")
        if (r["above_roof"] == "1") != ("above its own ceiling" in r["reason"]):
            bad.append(f"{d} {r['impl']}: above_roof {r['above_roof']} reason {r['reason']!r}")
        if d == "i" and "interleaved" not in r["reason"]:
            bad.append(f"i {r['impl']}: reason does not say interleaved: {r['reason']!r}")
        ai = num(r["flops"]) / num(r["bytes"])
        if d == "i":   # a few KiB, warm: L1 at 1 thread, 100 GB/s, peak 40
            if r["roof_level"] != "L1" or abs(roof - min(40, ai * 100)) > 1e-6 * roof:
                bad.append(f"i {r['impl']}: roof {r['roof_level']} {roof}, want L1 {min(40, ai * 100)}")
        if d == "s":   # cold: DRAM, 10 GB/s
            if r["roof_level"] != "DRAM" or abs(roof - min(40, ai * 10)) > 1e-6 * roof:
                bad.append(f"s {r['impl']}: roof {r['roof_level']} {roof}, want DRAM {min(40, ai * 10)}")
        if d == "l" and r["above_roof"] != "1":
            bad.append(f"l {r['impl']}: {pct} % of a 1e-6 GFLOP/s peak and not above_roof")
        if d == "b" and "implausible" not in r["reason"]:
            bad.append(f"b {r['impl']}: reason does not say the ceilings are implausible: {r['reason']!r}")
    if d == "b":
        j = json.load(open(f"{T}/b/run.json"))["roofline"]
        if j.get("plausible") is not False or "L1" not in j.get("implausible_reason", ""):
            bad.append(f"b: run.json roofline {j}")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
grep -q "2 ok rows above their own ceiling" "$T/e3" || err "low peak: no warning at the end: $(tail -3 "$T/e3")"
grep -q "implausible" "$T/e4" || err "implausible ceilings: no warning: $(head -5 "$T/e4")"
[ $fail -eq 0 ] && echo "cli_interleave_roof: ok"
exit $fail
