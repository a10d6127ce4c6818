#!/bin/bash
# `moebench plot` and `moebench compare` from the command line on the fixed results: every
# chart is a PNG of the declared size (identify) and a PDF that pdfinfo reads; compare prints
# the known answer built into results_b and draws compare.png.
# usage: bash cli_plot_charts.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB=$1
SRC=$2
DATA=$SRC/tests/data
TMP=$(mktemp -d /tmp/mb_cli_plot_charts_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }

# png_is FILE WxH
png_is() {
    if command -v identify >/dev/null; then
        local got
        got=$(identify -format '%m %wx%h' "$1" 2>/dev/null)
        [ "$got" = "PNG $2" ] || err "$1: identify says '$got', expected 'PNG $2'"
    else
        # IHDR width/height, big-endian, bytes 16..23
        local got
        got=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); assert d[:8]==b"\x89PNG\r\n\x1a\n"; print("%dx%d" % struct.unpack(">II", d[16:24]))' "$1" 2>/dev/null)
        [ "$got" = "$2" ] || err "$1: size '$got', expected $2"
    fi
}
pdf_ok() {
    if command -v pdfinfo >/dev/null; then
        pdfinfo "$1" >/dev/null 2>&1 || err "$1: pdfinfo fails"
    else
        head -c 5 "$1" | grep -q '%PDF-' || err "$1: not a PDF"
        tail -c 64 "$1" | grep -q '%%EOF' || err "$1: no %%EOF"
    fi
}

mkdir -p "$TMP/a"
cp "$DATA/results_a/results.csv" "$DATA/results_a/run.json" "$DATA/results_a/samples.csv" "$TMP/a/"
"$MB" plot "$TMP/a" --out "$TMP/charts" >"$TMP/out" 2>"$TMP/err" || err "plot failed: $(cat "$TMP/err")"
cat "$TMP/out"

# a counter of small values with a 0 (page faults of warm runs) is a linear panel without a cut: its y range must be automatic, not an undefined bound (gnuplot: "undefined
# value", the whole counters chart lost)
mkdir -p "$TMP/flat"
cp "$DATA/results_a/run.json" "$DATA/results_a/samples.csv" "$TMP/flat/"
python3 - "$DATA/results_a/results.csv" "$TMP/flat/results.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
n = 0   # 0, 1, 2, 1, 2, ...: a 0 makes the panel linear, no value stands out to cut the axis
for r in rows:
    if r["ctr_perf__page_faults"] != "":
        r["ctr_perf__page_faults"] = str(1 + n % 2) if n else "0"
        n += 1
w = csv.DictWriter(open(sys.argv[2], "w", newline=""), fieldnames=list(rows[0].keys()))
w.writeheader()
w.writerows(rows)
PY
"$MB" plot "$TMP/flat" --out "$TMP/flat_charts" >/dev/null 2>"$TMP/err" || err "plot of a flat counter failed: $(cat "$TMP/err")"
[ -s "$TMP/flat_charts/counters.png" ] || [ -s "$TMP/flat_charts/counters-1.png" ] || err "flat counter: no counters chart"
for c in latency speedup_over_naive speedup_over_blas memory expert_load counters; do
    png_is "$TMP/charts/$c.png" 1400x1000
    pdf_ok "$TMP/charts/$c.pdf"
    [ -s "$TMP/charts/$c.gp" ] && [ -s "$TMP/charts/$c.dat" ] || err "$c: .gp/.dat missing"
done
png_is "$TMP/charts/roofline.png" 1100x750
pdf_ok "$TMP/charts/roofline.pdf"
# the kept script re-draws the chart by itself
(cd "$TMP/charts" && rm latency.png && gnuplot latency.gp 2>/dev/null) || err "latency.gp does not re-run"
png_is "$TMP/charts/latency.png" 1400x1000
[ ! -e "$TMP/a/charts" ] || err "--out ignored: $TMP/a/charts exists"

# plot accepts the CSV path as well
"$MB" plot "$TMP/a/results.csv" >/dev/null 2>&1 || err "plot RESULTS/results.csv failed"
[ -s "$TMP/a/charts/latency.png" ] || err "plot of a CSV path: no $TMP/a/charts/latency.png"

# compare: the answer built into results_b (tests/data/results_a/make_test_results.py)
mkdir -p "$TMP/b"
cp "$DATA/results_b/"*.csv "$DATA/results_b/run.json" "$TMP/b/"
"$MB" compare "$TMP/a" "$TMP/b" >"$TMP/cmp" 2>"$TMP/err" || err "compare failed: $(cat "$TMP/err")"
cat "$TMP/cmp"
grep -q '^warning: provenance differs: build.compiler: A .GNU 12.2.0. vs B .GNU 13.2.0.' "$TMP/cmp" || err "no compiler warning"
grep -q 'geometric mean B/A over 48 matched cases: 1.0226 (10 significantly faster, 14 significantly slower at p < 0.05: two-sided Mann-Whitney U on the raw samples, Holm-corrected over the 48 tested cases)' "$TMP/cmp" || err "wrong summary"
# p = 2/C(20,10) = 1.1e-05; Holm over 48: 48 p = 0.00052
grep -Eq '^lora:T=16,h=4096,o=4096,r=16 +blas +2 warm .* 1\.250 +\[1\.[0-9]{3}, 1\.[0-9]{3}\] +1\.1e-05 +0\.00052 \* slower$' "$TMP/cmp" || err "wrong blas line"
grep -Eq '^lora:T=16,h=4096,o=4096,r=16 +blas +1 warm .* 1\.250 +\[1\.[0-9]{3}, 1\.[0-9]{3}\] +1\.1e-05 +0\.00052 \* slower$' "$TMP/cmp" || err "wrong blas threads=1 line"
grep -Eq '^lora:T=16,h=4096,o=4096,r=16 +avx512 +2 warm .* 0\.800 +\[0\.[0-9]{3}, 0\.[0-9]{3}\] +1\.1e-05 +0\.00052 \* faster$' "$TMP/cmp" || err "wrong avx512 line"
grep -Eq '^lora:T=16,h=4096,o=4096,r=16 +onednn +2 warm .* 1\.020 +\[0\.[0-9]{3}, 1\.[0-9]{3}\] +0\.[0-9]+ +(0\.[0-9]+|1) *$' "$TMP/cmp" || err "wrong onednn line"
grep -q '1 matched pair left out: empty or non-positive median' "$TMP/cmp" || err "zero median not reported"
grep -q 'unmatched ok rows: 2 only in A, 4 only in B' "$TMP/cmp" || err "wrong unmatched count"
png_is "$TMP/b/charts/compare.png" 1400x1000
pdf_ok "$TMP/b/charts/compare.pdf"

# memory: a zero workspace cannot show on the log axis, so the title says it is not drawn;
# without a prepare_bytes column (older runs) there is no prepared bar and no note about it
mkdir -p "$TMP/z"
cp "$DATA/results_a/run.json" "$DATA/results_a/samples.csv" "$TMP/z/"
python3 - "$DATA/results_a/results.csv" "$TMP/z/results.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cols = [c for c in rows[0].keys() if c != "prepare_bytes"]
with open(sys.argv[2], "w", newline="") as f:
    w = csv.DictWriter(f, cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        if r["variant"] == "router" and r["workspace_bytes"]:
            r["workspace_bytes"] = "0"
        w.writerow(r)
PY
"$MB" plot "$TMP/z" >/dev/null 2>"$TMP/err" || err "plot without prepare_bytes failed: $(cat "$TMP/err")"
png_is "$TMP/z/charts/memory.png" 1400x1000
grep -q '(log axis: zero workspace not drawn)' "$TMP/z/charts/memory.gp" \
    || err "memory title does not say zero workspace is not drawn: $(grep title_text "$TMP/z/charts/memory.gp")"
grep -q '"router T=128 blas" 0.125 0 NaN ' "$TMP/z/charts/memory.dat" \
    || err "memory.dat: want zero workspace and no prepared value: $(grep router "$TMP/z/charts/memory.dat")"

[ $fail -eq 0 ] && echo "cli_plot_charts: all ok"
exit $fail
