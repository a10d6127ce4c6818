#!/bin/bash
# The precision chart (speedup_over_f32): every bf16 / wq row over the same implementation's f32
# twin, one panel per shape and precision; and the speedup charts over blas keep working when
# blas skipped the bf16 rows (a panel without a base row is left out, not an empty log axis).
# usage: bash cli_plot_precision.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }
cat > "$T/p.ini" <<'INI'
[p]
variant = lora
T = 1, 8
h = 64
o = 48
r = 4
dtype = f32, bf16
impl = naive, blas
reps = 3
min_time = 0.01
[q]
variant = lora
T = 8
h = 64
o = 48
r = 4
wq = int8
impl = naive
reps = 3
min_time = 0.01
INI
"$MB" run "$T/p.ini" --out "$T/r" --threads 1 --no-roofline --counters none >"$T/run.log" 2>&1 \
    || err "run: $(tail -3 "$T/run.log")"
out=$("$MB" plot "$T/r" 2>&1) || err "plot: $out"
echo "$out" | grep -q "failed" && err "a chart failed: $out"
for c in speedup_over_f32 speedup_over_blas speedup_over_naive; do
    [ -s "$T/r/charts/$c.png" ] || err "no $c.png"
done
python3 - "$T/r/results.csv" "$T/r/charts/speedup_over_f32.dat" <<'PY' || fail=1
import csv, re, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["status"] == "ok"]
med = {(r["impl"], r["case"]): float(r["time_us_median"]) for r in rows}
want = {}
for (impl, case), t in med.items():
    if "dtype=bf16" in case or "wq=" in case:
        twin = re.sub(r",(dtype|wq)=[a-z0-9]+", "", case)
        if (impl, twin) in med:
            T = int(re.search(r"T=(\d+)", case).group(1))
            prec = "bf16" if "dtype=bf16" in case else "int8"
            want[(prec, impl, T)] = med[(impl, twin)] / t
got, panel, impl = {}, None, None
for line in open(sys.argv[2]):
    m = re.match(r"# panel \d+ \((.*)\) series (\S+)", line)
    if m:
        panel, impl = m.group(1), m.group(2).strip('"')
        continue
    if line.strip() and not line.startswith("#") and "NaN" not in line:
        T, y = line.split()
        got[(panel.split()[-1], impl, int(float(T)))] = float(y)
bad = []
if set(got) != set(want):
    bad.append(f"points {sorted(got)} want {sorted(want)}")
for k, v in want.items():
    if k in got and abs(got[k] - v) > 1e-4 * v:
        bad.append(f"{k}: {got[k]} want {v}")
if ("bf16", "blas", 8) in got:
    bad.append("blas has no bf16 row here: no point")
for b in bad:
    print("FAIL: speedup_over_f32.dat:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
exit $fail
