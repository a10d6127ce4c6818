#!/bin/bash
# `moebench roofline --quick --out DIR` (a few seconds): roofline.json holds the ceilings the
# charts read (positive, sane keys), roofline.png/.pdf are drawn, and bad options exit 2.
# No measured value is compared with a threshold of speed: only sanity (positive, finite).
# usage: bash cli_plot_roofline.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB=$1
TMP=$(mktemp -d /tmp/mb_cli_plot_roofline_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }

OMP_WAIT_POLICY=passive "$MB" roofline --quick --out "$TMP/rl" >"$TMP/out" 2>"$TMP/err" || err "roofline failed: $(cat "$TMP/err")"
cat "$TMP/out"
python3 - "$TMP/rl/roofline.json" <<'PY' || fail=1
import json, math, sys
d = json.load(open(sys.argv[1]))
for k in ("peak_gflops", "peak_gflops_1t", "dram_gbps", "dram_gbps_1t", "l1_gbps", "l2_gbps", "threads"):
    v = d.get(k)
    if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
        print(f"FAIL: roofline.json: {k} = {v!r}")
        sys.exit(1)
for lvl in ("L1", "L2", "DRAM"):
    if lvl not in d.get("levels", {}):
        print(f"FAIL: roofline.json: levels.{lvl} missing")
        sys.exit(1)
# the best peak is at least the one-thread peak, by construction
if d["peak_gflops"] < d["peak_gflops_1t"]:
    print("FAIL: peak_gflops < peak_gflops_1t")
    sys.exit(1)
print("roofline.json ok:", {k: d[k] for k in ("peak_gflops", "peak_gflops_1t", "dram_gbps")})
PY
if command -v identify >/dev/null; then
    got=$(identify -format '%m %wx%h' "$TMP/rl/roofline.png" 2>/dev/null)
    [ "$got" = "PNG 1100x750" ] || err "roofline.png: '$got'"
fi
head -c 5 "$TMP/rl/roofline.pdf" | grep -q '%PDF-' || err "roofline.pdf is not a PDF"
ls -d "$TMP"/rl.tmp.* >/dev/null 2>&1 && err "staging directory left behind"

"$MB" roofline --bogus >/dev/null 2>&1
[ $? -eq 2 ] || err "an unknown option should exit 2"

[ $fail -eq 0 ] && echo "cli_plot_roofline: all ok"
exit $fail
