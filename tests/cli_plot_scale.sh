#!/bin/bash
# Plotting a run with many cases (issue 12, item 7): 462 cases failed with "Cairo is unhappy:
# invalid value" because the memory chart grew one bar group wider per case without bound.
# Charts with a panel or an x position per case are split into pages of bounded width
# (NAME-1.png, NAME-2.png, ...; one PDF with a page each), at most MOEBENCH_PLOT_MAX_PAGES of
# them, and say so on stdout. The time to plot is measured, not asserted (see the README).
# usage: bash cli_plot_scale.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB=$1
SRC=$2
TMP=$(mktemp -d /tmp/mb_cli_plot_scale_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }

# width of a PNG (IHDR, big-endian, bytes 16..19)
png_w() { python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); assert d[:8]==b"\x89PNG\r\n\x1a\n"; print(struct.unpack(">I", d[16:20])[0])' "$1"; }

# 462 shapes x 1 token count x 5 implementations
python3 "$SRC/scripts/make_big_results.py" "$TMP/run" 2310 1 >/dev/null || { echo "FAIL: generator"; exit 1; }
MOEBENCH_PLOT_MAX_PAGES=3 "$MB" plot "$TMP/run" >"$TMP/out" 2>"$TMP/err"
rc=$?
cat "$TMP/out"
[ $rc -eq 0 ] || err "plot exit $rc: $(cat "$TMP/err")"
C=$TMP/run/charts
for c in latency speedup_over_naive speedup_over_blas memory expert_load counters; do
    [ -s "$C/$c-1.png" ] && [ -s "$C/$c-3.png" ] || err "$c: pages 1..3 missing: $(ls "$C")"
    [ ! -e "$C/$c-4.png" ] || err "$c: more pages than MOEBENCH_PLOT_MAX_PAGES=3"
    [ ! -e "$C/$c.png" ] || err "$c: an unpaged $c.png as well"
    [ -s "$C/$c.pdf" ] || err "$c: no PDF"
    for p in "$C/$c"-*.png; do
        w=$(png_w "$p")
        [ "$w" -ge 1400 ] && [ "$w" -le 4000 ] || err "$p: width $w outside 1400..4000"
    done
    grep -q "^moebench plot: $c: .* on [0-9]* pages; drew the first 3" "$TMP/out" || err "$c: no note about the pages left out"
done
if command -v pdfinfo >/dev/null; then
    pages=$(pdfinfo "$C/memory.pdf" | awk '/^Pages:/ {print $2}')
    [ "$pages" = 3 ] || err "memory.pdf has $pages pages, expected 3"
fi
[ -s "$C/roofline.png" ] || err "roofline: not drawn"
# the kept script draws every page when asked
(cd "$C" && gnuplot -e 'max_pages=0' expert_load.gp 2>/dev/null) || err "expert_load.gp with max_pages=0 fails"
n=$(ls "$C"/expert_load-*.png | wc -l)
[ "$n" -gt 3 ] || err "gnuplot -e max_pages=0 drew $n pages"

# compare draws one x position per matched case: pages as well
mkdir -p "$TMP/run2"
cp "$TMP/run/results.csv" "$TMP/run/run.json" "$TMP/run2/"
MOEBENCH_PLOT_MAX_PAGES=2 "$MB" compare "$TMP/run" "$TMP/run2" >"$TMP/out" 2>"$TMP/err" \
    || err "compare exit $?: $(cat "$TMP/err")"
[ -s "$TMP/run2/charts/compare-2.png" ] && [ ! -e "$TMP/run2/charts/compare-3.png" ] \
    || err "compare: want pages 1..2: $(ls "$TMP/run2/charts" 2>&1) $(cat "$TMP/err")"
for p in "$TMP/run2/charts"/compare-*.png; do
    w=$(png_w "$p")
    [ "$w" -le 4000 ] || err "$p: width $w"
done

[ $fail -eq 0 ] && echo "cli_plot_scale: all ok"
exit $fail
