#!/bin/bash
# Bad input to `moebench plot` / `compare`: each gives a one-line message naming the file or
# column, a non-zero exit, and leaves no charts (nor staging directories) behind.
# usage: bash cli_plot_errors.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB=$1
SRC=$2
DATA=$SRC/tests/data
TMP=$(mktemp -d /tmp/mb_cli_plot_errors_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }

# expect_fail NAME NEEDLE CMD...: non-zero exit, a single stderr line containing NEEDLE
expect_fail() {
    local name=$1 needle=$2
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ $rc -ne 0 ] || err "$name: exit 0"
    grep -qF -- "$needle" "$TMP/err" || err "$name: stderr lacks '$needle': $(cat "$TMP/err")"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || err "$name: not one line: $(cat "$TMP/err")"
    echo "ok ($name, exit $rc): $(cat "$TMP/err")"
}

# no_output DIR: nothing was left behind in DIR by a failed plot
no_output() {
    if ls -d "$1"/charts "$1"/charts.tmp.* >/dev/null 2>&1; then
        err "partial output left in $1: $(ls "$1")"
    fi
}

mkrun() { # mkrun DIR: a copy of results_a
    mkdir -p "$1"
    cp "$DATA/results_a/results.csv" "$DATA/results_a/run.json" "$DATA/results_a/samples.csv" "$1/"
}

# 1. not a results directory
mkdir -p "$TMP/empty"
expect_fail "missing results.csv" "$TMP/empty/results.csv: missing" "$MB" plot "$TMP/empty"
no_output "$TMP/empty"

# 2. truncated CSV (a run killed mid-row)
mkrun "$TMP/trunc"
head -c 3000 "$DATA/results_a/results.csv" >"$TMP/trunc/results.csv"
expect_fail "truncated CSV" "results.csv: truncated" "$MB" plot "$TMP/trunc"
no_output "$TMP/trunc"

# 3. a required column missing (time_us_p95 removed from header and rows)
mkrun "$TMP/nocol"
python3 - "$DATA/results_a/results.csv" "$TMP/nocol/results.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
i = rows[0].index("time_us_p95")
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    for r in rows:
        w.writerow(r[:i] + r[i + 1:])
PY
expect_fail "missing column" "required column 'time_us_p95' is missing" "$MB" plot "$TMP/nocol"
no_output "$TMP/nocol"

# 3b. the CSV reader names the real reason and the line (issue 12, item 8: these said "No such
# file or directory", "Input/output error" and "line longer than 198 characters")
mkrun "$TMP/csvdir"
rm "$TMP/csvdir/results.csv"
mkdir "$TMP/csvdir/results.csv"
expect_fail "results.csv a directory" "$TMP/csvdir/results.csv: is a directory" "$MB" plot "$TMP/csvdir"
mkrun "$TMP/quote"
n=$(($(wc -l <"$TMP/quote/results.csv") + 1))
printf 'r1,lora,"naive,ok\n' >>"$TMP/quote/results.csv"
expect_fail "unterminated quote" "$TMP/quote/results.csv:$n: unterminated quoted field" "$MB" plot "$TMP/quote"
no_output "$TMP/quote"
mkrun "$TMP/nul"
sed -i '7s/,lora,/,lo\x00ra,/' "$TMP/nul/results.csv"
expect_fail "NUL byte" "$TMP/nul/results.csv:7: NUL byte" "$MB" plot "$TMP/nul"
mkrun "$TMP/ragged"
sed -i '9s/,lora,/,lora,x,/' "$TMP/ragged/results.csv"
expect_fail "extra field" "$TMP/ragged/results.csv:9: 48 fields, the header (line 1) has 47" "$MB" plot "$TMP/ragged"

# 4. no run.json
mkrun "$TMP/nojson"
rm "$TMP/nojson/run.json"
expect_fail "no run.json" "$TMP/nojson/run.json: missing" "$MB" plot "$TMP/nojson"
no_output "$TMP/nojson"

# 5. gnuplot absent from PATH
mkrun "$TMP/nognuplot"
expect_fail "gnuplot absent" "gnuplot not found in PATH" env PATH="$TMP/empty" "$MB" plot "$TMP/nognuplot"
no_output "$TMP/nognuplot"

# 6. gnuplot failing on one chart (issue 12, item 7): that chart is named on stderr with
# gnuplot's message and leaves no file; the others are kept; exit status 3
mkrun "$TMP/badtemplate"
cp -r "$SRC/plots" "$TMP/plots"
echo "plot this is not gnuplot" >>"$TMP/plots/memory.gp"
expect_fail "broken template" "chart memory failed: gnuplot failed on memory.gp: \"memory.gp\" line" \
    env MOEBENCH_PLOTS_DIR="$TMP/plots" "$MB" plot "$TMP/badtemplate"
[ $rc -eq 3 ] || err "broken template: exit $rc, expected 3"
for c in latency speedup_over_naive speedup_over_blas roofline expert_load counters; do
    [ -s "$TMP/badtemplate/charts/$c.png" ] && [ -s "$TMP/badtemplate/charts/$c.pdf" ] \
        || err "broken template: chart $c was not kept"
done
ls "$TMP/badtemplate/charts" | grep -q '^memory' && err "broken template: memory files left: $(ls "$TMP/badtemplate/charts")"
ls -d "$TMP/badtemplate"/charts.tmp.* >/dev/null 2>&1 && err "broken template: staging directory left"

# 6b. a hung gnuplot is killed at the deadline (MOEBENCH_GNUPLOT_TIMEOUT): every chart is named,
# and as none was drawn no charts directory is left
mkrun "$TMP/hung"
mkdir -p "$TMP/fakebin"
printf '#!/bin/sh\nexec sleep 60\n' >"$TMP/fakebin/gnuplot"
chmod +x "$TMP/fakebin/gnuplot"
env PATH="$TMP/fakebin:$PATH" MOEBENCH_GNUPLOT_TIMEOUT=0.5 "$MB" plot "$TMP/hung" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 3 ] || err "hung gnuplot: exit $rc, expected 3"
[ "$(grep -c 'did not finish .* killed' "$TMP/err")" -eq 7 ] || err "hung gnuplot: $(cat "$TMP/err")"
no_output "$TMP/hung"

# 6c. one routed row whose aux_loss is empty: expert_load.gp read STATS_max of a column with no
# number ("undefined variable: STATS_max") and, all-or-nothing, no chart was left
mkdir -p "$TMP/onerouted"
cp "$DATA/results_a/run.json" "$TMP/onerouted/"
python3 - "$DATA/results_a/results.csv" "$TMP/onerouted/results.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
one = [r for r in rows if r["status"] == "ok" and r["expert_load_max"]][0]
one["aux_loss"] = ""
with open(sys.argv[2], "w", newline="") as f:
    w = csv.DictWriter(f, list(one.keys()), lineterminator="\n")
    w.writeheader()
    w.writerow(one)
PY
"$MB" plot "$TMP/onerouted" >"$TMP/out" 2>"$TMP/err" || err "one routed row: exit $?: $(cat "$TMP/err")"
[ -s "$TMP/onerouted/charts/expert_load.png" ] || err "one routed row: no expert_load.png"
[ -s "$TMP/onerouted/charts/latency.png" ] || err "one routed row: no latency.png"

# 6d. paths that are not regular files: a run.json whose roofline "source" names a fifo (a
# shared results directory names any path it likes) blocked plot forever in fopen; a run.json
# that is itself a fifo, or /dev/zero, likewise. Each is read no further, and plot ends.
mkdir -p "$TMP/fifo_src" "$TMP/fifo_json" "$TMP/zero_json"
mkfifo "$TMP/a_fifo"
cp "$DATA/results_a/results.csv" "$TMP/fifo_src/"
python3 - "$DATA/results_a/run.json" "$TMP/fifo_src/run.json" "$TMP/a_fifo" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["roofline"]["source"] = sys.argv[3]
json.dump(d, open(sys.argv[2], "w"))
PY
timeout 60 "$MB" plot "$TMP/fifo_src" >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 0 ] || err "roofline source is a fifo: exit $rc (124: blocked): $(tail -2 "$TMP/err")"
cp "$DATA/results_a/results.csv" "$TMP/fifo_json/"
mkfifo "$TMP/fifo_json/run.json"
timeout 60 "$MB" plot "$TMP/fifo_json" >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] || err "run.json is a fifo: exit $rc, wanted 1 (124: blocked)"
cp "$DATA/results_a/results.csv" "$TMP/zero_json/"
ln -s /dev/zero "$TMP/zero_json/run.json"
timeout 60 "$MB" plot "$TMP/zero_json" >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] || err "run.json is /dev/zero: exit $rc, wanted 1 (124: blocked)"

# 7. compare with a bad side names that side's file; usage errors exit 2
expect_fail "compare missing B" "$TMP/empty/results.csv: missing" "$MB" compare "$DATA/results_a" "$TMP/empty"
expect_fail "compare truncated A" "truncated" "$MB" compare "$TMP/trunc" "$DATA/results_b"
"$MB" compare "$DATA/results_a" >/dev/null 2>&1
[ $? -eq 2 ] || err "compare with one argument should exit 2"
"$MB" plot >/dev/null 2>&1
[ $? -eq 2 ] || err "plot without argument should exit 2"

[ $fail -eq 0 ] && echo "cli_plot_errors: all ok"
exit $fail
