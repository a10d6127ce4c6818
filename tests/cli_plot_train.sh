#!/bin/bash
# The training-step charts (issue 14, item 8) on results with known train rows
# (tests/support/add_train_rows.py): train_time stacks forward, backward and the rest of each
# bar, divided by the case's fastest step; torch's unsplit step is one segment; train_memory
# stacks weights, saved activations, gradients and optimizer state; naive is left out; both
# are drawn at screen size and as a 3.3 in figure; a run without train rows draws neither.
# usage: bash cli_plot_train.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB=$1
SRC=$2
DATA=$SRC/tests/data
TMP=$(mktemp -d /tmp/mb_cli_plot_train_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }

mkdir -p "$TMP/t"
cp "$DATA/results_a/run.json" "$TMP/t/"
python3 "$SRC/tests/support/add_train_rows.py" "$DATA/results_a/results.csv" "$TMP/t/results.csv" ||
    { echo "FAIL: generator"; exit 1; }

"$MB" plot "$TMP/t" --out "$TMP/c" >"$TMP/out" 2>"$TMP/err" || err "plot failed: $(cat "$TMP/err")"
for c in train_time train_memory; do
    [ -s "$TMP/c/$c.png" ] && [ -s "$TMP/c/$c.pdf" ] && [ -s "$TMP/c/$c.gp" ] &&
        [ -s "$TMP/c/$c.dat" ] || err "$c: not drawn ($(ls "$TMP/c" | tr '\n' ' '))"
done
python3 - "$TMP/t/results.csv" "$TMP/c" <<'PY' || fail=1
import csv, math, shlex, sys
res, charts = sys.argv[1:]
bad = []
def bars(name):
    out = []
    for line in open(f"{charts}/{name}.dat"):
        if line.startswith("#") or not line.strip():
            continue
        f = shlex.split(line)
        out.append((float(f[0]), f[1], int(f[2]), [float(x) for x in f[3:7]], f[7]))
    return out
rows = [r for r in csv.DictReader(open(res)) if r["mode"] == "train"]
want_bars = sum(1 for r in rows if r["impl"] != "naive")
tb = bars("train_time")
if len(tb) != want_bars:
    bad.append(f"train_time: {len(tb)} bars, want {want_bars} (every train row but naive)")
if any(b[1] == "naive" for b in tb):
    bad.append("train_time: naive drawn")
# groups: consecutive x; the fastest bar of each group tops at 1
groups, last = [], None
for b in tb:
    if last is None or b[0] != last + 1:
        groups.append([])
    groups[-1].append(b)
    last = b[0]
if len(groups) != len({(r["case"], r["threads"], r["cache"]) for r in rows}):
    bad.append(f"train_time: {len(groups)} groups, want one per train case")
for g in groups:
    top = min(b[3][3] for b in g)
    if abs(top - 1) > 1e-6:
        bad.append(f"train_time: fastest bar of {g[0][1]} tops at {top}, want 1")
    for b in g:
        t = b[3]
        if b[1] == "torch":
            # unsplit: no forward, backward or other; 3x the fastest step
            if t[0] or t[1] or t[2] or abs(t[3] - 3) > 1e-4:
                bad.append(f"train_time: torch bar {b[1]}: {t}")
        elif not (abs(t[0] / t[3] - 0.4) < 1e-4 and abs(t[1] / t[3] - 0.9) < 1e-4
                  and abs(t[2] - t[3]) < 1e-9):
            bad.append(f"train_time: {b[1]}: tops {t}, want 40 % / 90 % / 100 % / 100 %")
mb = bars("train_memory")
if len(mb) != want_bars:
    bad.append(f"train_memory: {len(mb)} bars, want {want_bars}")
by_label = {}
for r in rows:
    if r["impl"] == "naive":
        continue
    MiB = 1 << 20
    w = float(r["weights_bytes"]) / MiB
    s = float(r["saved_bytes"]) / MiB if r["saved_bytes"] else 0
    g = float(r["grad_bytes"]) / MiB
    o = float(r["optimizer_bytes"]) / MiB
    by_label.setdefault((r["impl"], round(w + s + g + o, 4)), 0)
    by_label[(r["impl"], round(w + s + g + o, 4))] += 1
got = {}
for b in mb:
    t = b[3]
    if not (t[0] <= t[1] <= t[2] <= t[3]):
        bad.append(f"train_memory: {b[1]}: tops not cumulative: {t}")
    impl = b[1]   # the bar's tic names its implementation
    got.setdefault((impl, round(t[3], 4)), 0)
    got[(impl, round(t[3], 4))] += 1
if got != by_label:
    bad.append(f"train_memory: totals per implementation {sorted(got.items())[:6]}..., "
               f"want {sorted(by_label.items())[:6]}...")
gp = open(f"{charts}/train_memory.gp").read()
for s in ("weights", "saved activations", "gradients", "optimizer", "not drawn"):
    if s not in gp:
        bad.append(f"train_memory.gp: no '{s}' (key or the note on torch's empty saved_bytes)")
gp = open(f"{charts}/train_time.gp").read()
if "glabel[1] = 'lora threads=2 T=16'" not in gp:
    bad.append("train_time.gp: the first group is not labelled with its case")
for s in ("'forward'", "'backward'", "'other'", "'step (not split)'"):
    if s not in gp:
        bad.append(f"train_time.gp: no key entry {s}")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

# a paper figure: both charts at 3.3 in (990 px wide at 300 dpi)
"$MB" plot "$TMP/t" --out "$TMP/p" --size 3.3in >"$TMP/out" 2>"$TMP/err" ||
    err "plot --size 3.3in failed: $(cat "$TMP/err")"
for c in train_time train_memory; do
    png="$TMP/p/$c.png"
    [ -e "$png" ] || png="$TMP/p/$c-1.png"   # a figure holds fewer groups: pages
    w=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(struct.unpack(">I", d[16:20])[0])' "$png" 2>/dev/null)
    [ "$w" = 990 ] || err "$c --size 3.3in: width '$w', want 990"
done

# no train rows: no train charts
mkdir -p "$TMP/f"
cp "$DATA/results_a/results.csv" "$DATA/results_a/run.json" "$TMP/f/"
"$MB" plot "$TMP/f" --out "$TMP/fc" >"$TMP/out" 2>"$TMP/err" || err "plot forward-only failed"
ls "$TMP/fc" | grep -q '^train_' && err "train charts drawn for a run without train rows"

[ $fail -eq 0 ] && echo "cli_plot_train: all ok"
exit $fail
