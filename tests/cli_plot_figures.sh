#!/bin/bash
# Figures for a paper (issue 13, item 7): `moebench plot --size --units --variant --impl
# --threads` on the fixed results. The scripts carry the Okabe-Ito palette, one line type per
# implementation (the same in every selection) with distinct dash types and point shapes, fonts
# of at least 8 pt at the figure's size, 10^k log ticks, roofline labels by T and a cut bar
# marked as cut; the selection reaches every chart; the charts render (PNG of the size at 300
# dpi, PDF of the size); a selection of nothing exits 2 and draws nothing.
# usage: bash cli_plot_figures.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB=$1
SRC=$2
DATA=$SRC/tests/data
TMP=$(mktemp -d /tmp/mb_cli_plot_figures_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }

png_size() {   # prints WxH of a complete PNG, or "bad"
    python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
ok = d[:8] == b"\x89PNG\r\n\x1a\n" and d[-8:-4] == b"IEND"
print("%dx%d" % struct.unpack(">II", d[16:24]) if ok else "bad")' "$1" 2>/dev/null || echo bad
}
pdf_size() {   # prints the page size in points, "W x H"
    if command -v pdfinfo >/dev/null; then
        pdfinfo "$1" 2>/dev/null | sed -n 's/^Page size: *\([0-9.]* x [0-9.]*\) pts.*/\1/p'
    else
        head -c 5 "$1" | grep -q '%PDF-' && echo "unknown"
    fi
}

mkdir -p "$TMP/a"
cp "$DATA/results_a/results.csv" "$DATA/results_a/run.json" "$DATA/results_a/samples.csv" "$TMP/a/"

# 1. one column, milliseconds, a selection
C=$TMP/col
"$MB" plot "$TMP/a" --out "$C" --size 3.3in --units ms --variant lora,router \
    --impl naive,blas,avx512 --threads 2 >"$TMP/out" 2>"$TMP/err" \
    || err "plot --size 3.3in failed: $(cat "$TMP/err")"
for c in latency speedup_over_naive speedup_over_blas roofline memory expert_load counters; do
    [ -s "$C/$c.gp" ] || { err "$c: no script"; continue; }
    # every page's PNG is a raster of the figure: 3.3 in at 300 dpi
    for p in "$C/$c".png "$C/$c"-[0-9]*.png; do
        [ -e "$p" ] || continue
        s=$(png_size "$p")
        case $s in 990x*) ;; *) err "$p: want a 990 px wide PNG, got $s" ;; esac
    done
    [ -e "$C/$c.png" ] || [ -e "$C/$c-1.png" ] || err "$c: no PNG"
    ps=$(pdf_size "$C/$c.pdf")
    # (cairo rounds the page to whole points)
    case $ps in "237 x "*|"237.6 x "*|"238 x "*|unknown) ;; *) err "$c.pdf: want 3.3 in (237.6 pt) wide, got '$ps'" ;; esac
    # the palette, and no colour of the old one
    for col in E69F00 56B4E9 009E73 F0E442 0072B2 D55E00 CC79A7 000000; do
        grep -q "#$col" "$C/$c.gp" || err "$c.gp: Okabe-Ito #$col missing"
    done
    grep -qi '#1f77b4\|#d62728\|#2ca02c' "$C/$c.gp" && err "$c.gp: a colour outside the palette"
    # fonts: every size named is at least 8 pt; the PDF's base font is 8 pt at 3.30 in; the
    # PNG scales points by 300/96 (pngcairo draws a point as 96/72 px)
    small=$(grep -o 'font "[A-Za-z]*,[0-9.]*"\|font_[a-z]* = ",[0-9.]*"\|font ",[0-9.]*"' "$C/$c.gp" \
        | grep -o '[0-9.]*"$' | tr -d '"' | awk '$1 < 8')
    [ -z "$small" ] || err "$c.gp: fonts below 8 pt: $small"
    grep -q 'set terminal pdfcairo enhanced size 3.30in,[0-9.]*in font "Sans,8"' "$C/$c.gp" \
        || err "$c.gp: no 3.30 in PDF with 8 pt text"
    grep -q 'set terminal pngcairo enhanced size 990,[0-9]* font "Sans,8" fontscale 3.125' "$C/$c.gp" \
        || err "$c.gp: no 300 dpi PNG with 8 pt text"
done

# line types: distinct dash types and point shapes, an implementation keeps its type
python3 - "$C/latency.gp" "$C/roofline.gp" <<'PY' || fail=1
import re, sys
for path in sys.argv[1:]:
    t = open(path).read()
    lt = {int(n): (dt, pt) for n, dt, pt in
          re.findall(r'set linetype (\d+) lc rgb "#[0-9A-Fa-f]{6}" dt (\(.*?\)|\d+) pt (\d+)', t)}
    impls = dict(re.findall(r"impl\[(\d+)\] = '([^']*)'", t))
    style = {impls[k]: int(v) for k, v in re.findall(r'implstyle\[(\d+)\] = (\d+)', t)}
    want = {"naive": 1, "blas": 2, "avx512": 4}
    if style != want:
        print("FAIL: %s: implementations and line types %s, want %s" % (path, style, want))
        sys.exit(1)
    used = [lt.get(40 + s) for s in style.values()]
    if None in used or len({d for d, p in used}) != len(used) or len({p for d, p in used}) != len(used):
        print("FAIL: %s: dash types / point shapes not distinct: %s" % (path, used))
        sys.exit(1)
    if "lt (40 + implstyle[s])" not in t:
        print("FAIL: %s: the plot does not draw with the implementation's line type" % path)
        sys.exit(1)
PY

# the selection reached the data: lora and router at 2 threads, three implementations
grep -q '^# panel .*impl onednn\|^# panel .*impl merged\|mixlora\|sparse_mlp\|threads=1' "$C/latency.dat" \
    && err "latency.dat holds rows outside the selection: $(grep '^# panel' "$C/latency.dat" | head -3)"
[ "$(grep -c '^# panel' "$C/latency.dat")" -eq 6 ] \
    || err "latency.dat: want 2 panels x 3 implementations: $(grep '^# panel' "$C/latency.dat")"
grep -q '^# impl onednn' "$C/roofline.dat" && err "roofline.dat: onednn was not selected"
grep -q '"mixlora\|"sparse_mlp' "$C/memory.dat" && err "memory.dat: other variants"
# units: the data stay in us, the axis divides by 1000 and says ms
grep -q '^unit_div = 1000$' "$C/latency.gp" && grep -q "^unit_name = 'ms'$" "$C/latency.gp" \
    || err "latency.gp: --units ms not applied"
# 10^k ticks on log axes
grep -q "10^{%%T}" "$C/latency.gp" && grep -q 'eval logfmt("y"' "$C/latency.gp" \
    || err "latency.gp: no 10^k tick format"
# roofline: one T label per case column (lora and router at T = 1, 16, 128), drawn as T=...
python3 - "$C/roofline.dat" <<'PY' || fail=1
import sys
blocks = open(sys.argv[1]).read().split("\n\n\n")
labels = [l.split() for l in blocks[-1].splitlines() if l and not l.startswith("#")]
ts = sorted({float(l[2]) for l in labels if l[0] != "NaN"})
if ts != [1.0, 16.0, 128.0]:
    print("FAIL: roofline.dat: T labels %s, want 1, 16, 128" % ts)
    sys.exit(1)
PY
grep -q 'sprintf("T=%g", $3)) with labels' "$C/roofline.gp" || err "roofline.gp: points not labelled by T"

# 2. a bar beyond the axis is cut and marked: one expert load far above the others
mkdir -p "$TMP/cut"
cp "$DATA/results_a/run.json" "$TMP/cut/"
python3 - "$DATA/results_a/results.csv" "$TMP/cut/results.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    if r["variant"] == "router" and r["T"] == "128" and r["expert_load_max"]:
        r["expert_load_max"] = "30"
with open(sys.argv[2], "w", newline="") as f:
    w = csv.DictWriter(f, list(rows[0].keys()), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
PY
"$MB" plot "$TMP/cut" --size 7in --threads 2 >/dev/null 2>"$TMP/err" || err "plot of a cut bar failed: $(cat "$TMP/err")"
G=$TMP/cut/charts/expert_load.gp
# the other loads are at most 4: the axis stops at 1.5 x 4 and the bar of 30 is cut
grep -q '^load_cap = 6$' "$G" || err "expert_load.gp: want load_cap = 6: $(grep load_cap "$G" | head -1)"
grep -q "with boxxyerror fs solid 1.0 noborder lc rgb 'white'" "$G" && grep -q "sprintf('%.3g', \$2)) with labels" "$G" \
    || err "expert_load.gp: no break mark and value for a cut bar"
case $(png_size "$TMP/cut/charts/expert_load.png") in 2100x*) ;; *) err "expert_load.png at 7in: not 2100 px wide" ;; esac
# the same results without the outlier: no cut
"$MB" plot "$TMP/a" --out "$TMP/nocut" --size 7in >/dev/null 2>&1
grep -q '^load_cap = 0$' "$TMP/nocut/expert_load.gp" || err "expert_load.gp: a cut without an outlier"

# 3. WxH, and the size for compare from MOEBENCH_PLOT_SIZE
"$MB" plot "$TMP/a" --out "$TMP/wxh" --size 3.3inx2.2in --variant lora >/dev/null 2>"$TMP/err" \
    || err "--size 3.3inx2.2in failed: $(cat "$TMP/err")"
[ "$(png_size "$TMP/wxh/roofline.png")" = 990x660 ] || err "roofline at 3.3inx2.2in: $(png_size "$TMP/wxh/roofline.png")"
mkdir -p "$TMP/b"
cp "$DATA/results_b/"*.csv "$DATA/results_b/run.json" "$TMP/b/"
MOEBENCH_PLOT_SIZE=7in "$MB" compare "$TMP/a" "$TMP/b" --out "$TMP/cmp" >/dev/null 2>"$TMP/err" \
    || err "compare with MOEBENCH_PLOT_SIZE failed: $(cat "$TMP/err")"
p=$TMP/cmp/compare.png
[ -e "$p" ] || p=$TMP/cmp/compare-1.png
case $(png_size "$p") in 2100x*) ;; *) err "compare at 7in: $(png_size "$p"), want 2100 px wide" ;; esac
"$MB" compare "$TMP/a" "$TMP/b" --size 3.3in --out "$TMP/cmp33" >/dev/null 2>"$TMP/err" \
    || err "compare --size 3.3in failed: $(cat "$TMP/err")"
p=$TMP/cmp33/compare.png
[ -e "$p" ] || p=$TMP/cmp33/compare-1.png
case $(png_size "$p") in 990x*) ;; *) err "compare --size 3.3in: $(png_size "$p"), want 990 px wide" ;; esac
"$MB" compare "$TMP/a" "$TMP/b" --size 3x --out "$TMP/cmpbad" >/dev/null 2>&1 && err "compare --size 3x accepted"

# 4. a selection of nothing: exit 2, the reason, and no charts directory
expect2() {   # NAME PATTERN ARGS...
    local name=$1 pat=$2
    shift 2
    rm -rf "$TMP/none"
    "$MB" plot "$TMP/a" --out "$TMP/none" "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    [ $rc -eq 2 ] || err "$name: exit $rc, want 2"
    grep -q -- "$pat" "$TMP/err" || err "$name: stderr lacks '$pat': $(cat "$TMP/err")"
    [ ! -e "$TMP/none" ] || err "$name: a charts directory was made"
}
expect2 "unknown impl" "no row of .* has impl 'nosuch'" --impl blas,nosuch
expect2 "unknown variant" "no row of .* has variant 'mixlorra'" --variant mixlorra
expect2 "unknown threads" "no row of .* has threads '64'" --threads 64
expect2 "no ok row" "leaves no ok row" --variant router --impl merged
expect2 "bad size" "size '9ft'" --size 9ft
expect2 "bad units" "units 'ns'" --units ns

[ $fail -eq 0 ] && echo "cli_plot_figures: all ok"
exit $fail
