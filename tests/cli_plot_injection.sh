#!/bin/bash
# Text from a results directory never reaches gnuplot as code (issue 12, item 1). Every text
# field of results.csv (and a counter column's name) and every string of run.json gets a
# payload that gnuplot would execute if it were pasted into its script: backquotes, system(),
# a double quote that closes a string, a single quote, a line break, a macro. Plotting must
# still draw the charts and must create no file anywhere (cwd, results dir, charts dir).
# usage: bash cli_plot_injection.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB=$1
SRC=$2
DATA=$SRC/tests/data
TMP=$(mktemp -d /tmp/mb_cli_plot_injection_XXXXXX)
trap 'rm -rf "$TMP" "$TMP.before" "$TMP.after"' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }

mkdir -p "$TMP/run" "$TMP/cwd" "$TMP/src"
# train rows too (issue 14): their case and implementation reach the train charts' labels
python3 "$SRC/tests/support/add_train_rows.py" "$DATA/results_a/results.csv" "$TMP/src/results.csv"
python3 - "$DATA/results_a" "$TMP/run" "$TMP/src" <<'PY'
import csv, json, sys
src, dst, train = sys.argv[1], sys.argv[2], sys.argv[3]
# each payload names its own file, so a failure says which vector got through
payloads = [
    " `touch pwned_bq`",
    ' system("touch pwned_sys")',
    ' "; system("touch pwned_dq") ;"',
    " ' ; system('touch pwned_sq') ; '",
    "\nsystem(\"touch pwned_nl\")\n",
    "\r\n!touch pwned_bang\n",
    " @pwned_macro",
]
def pay(j):
    return payloads[j % len(payloads)]
rows = list(csv.reader(open(train + "/results.csv")))
head = rows[0]
numeric = {"threads", "B", "S", "T", "h", "o", "f", "r", "E", "k", "shard", "samples", "seed",
           "alpha", "prepare_bytes"}
keep = {"status", "mode"}   # a status outside ok/skipped/... is (rightly) refused; mode=train
                            # selects the train charts' rows
text = [i for i, c in enumerate(head)
        if c not in numeric and c not in keep and not c.startswith(("time_", "ctr_"))
        and c not in ("prepare_us", "flops", "bytes", "gflops", "gbps", "pct_peak",
                      "weights_bytes", "workspace_bytes", "peak_rss_bytes", "max_abs_err",
                      "max_rel_err", "expert_load_max", "aux_loss", "fwd_us", "bwd_us",
                      "saved_bytes", "grad_bytes", "optimizer_bytes")]
assert len(text) >= 8, text
ctr = [i for i, c in enumerate(head) if c.startswith("ctr_")]
head[ctr[0]] = head[ctr[0]] + pay(0)   # a counter's name is a panel title
for r in rows[1:]:
    for n, i in enumerate(text):
        if head[i] == "impl" and r[i] in ("naive", "blas"):
            continue   # the bases of the speedup charts; the other implementations carry it
        if r[i] or head[i] in ("reason", "share"):
            r[i] = r[i] + pay(n)
with open(dst + "/results.csv", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows(rows)
run = json.load(open(src + "/run.json"))
count = [0]
def walk(o):
    if isinstance(o, dict):
        return {k: walk(v) for k, v in o.items()}
    if isinstance(o, str):
        count[0] += 1
        return o + pay(count[0])
    return o
run = walk(run)
run["roofline"]["source"] = "/nonexistent" + pay(1)
json.dump(run, open(dst + "/run.json", "w"), indent=1)
PY
[ -s "$TMP/run/results.csv" ] || { echo "FAIL: generator"; exit 1; }
find "$TMP" | sort >"$TMP.before"

(cd "$TMP/cwd" && "$MB" plot "$TMP/run" >"$TMP/out" 2>"$TMP/err")
rc=$?
[ $rc -eq 0 ] || err "plot exit $rc: $(cat "$TMP/err")"
pwned=$(find "$TMP" -name 'pwned*')
[ -z "$pwned" ] || err "gnuplot ran commands from the results: $pwned"
# no file appeared outside the charts directory, and in it only charts
find "$TMP" | sort >"$TMP.after"
new=$(comm -13 "$TMP.before" "$TMP.after" | grep -v "^$TMP/run/charts\(/[a-z_0-9-]*\.\(png\|pdf\|gp\|dat\)\)\?\$" | grep -v "^$TMP/\(out\|err\)\$")
[ -z "$new" ] || err "unexpected files: $new"
for c in latency speedup_over_naive speedup_over_blas roofline memory expert_load counters \
         train_time train_memory; do
    [ -s "$TMP/run/charts/$c.png" ] && [ -s "$TMP/run/charts/$c.pdf" ] || err "$c: no chart drawn"
done
# the text is still shown: the payload is a label, quoted for gnuplot
grep -qF "'" "$TMP/run/charts/latency.gp" || err "latency.gp: no single-quoted labels"
grep -q 'touch pwned_bq' "$TMP/run/charts/latency.gp" || err "latency.gp: impl label lost"

# compare draws labels and both run ids too
cp -r "$TMP/run" "$TMP/run2"
rm -rf "$TMP/run2/charts"
(cd "$TMP/cwd" && "$MB" compare "$TMP/run" "$TMP/run2" >"$TMP/out" 2>"$TMP/err")
[ -s "$TMP/run2/charts/compare.png" ] || err "compare: no chart: $(cat "$TMP/err")"
pwned=$(find "$TMP" -name 'pwned*')
[ -z "$pwned" ] || err "compare: gnuplot ran commands from the results: $pwned"

[ $fail -eq 0 ] && echo "cli_plot_injection: all ok"
exit $fail
