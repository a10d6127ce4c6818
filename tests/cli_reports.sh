#!/bin/bash
# The reports of issue 13 (items 6 and 8) from the command line, on the fixed runs
# tests/data/results_a and results_b: compare in every --format (parsed back: csv and json with
# python3's std lib, LaTeX's booktabs rules, Markdown's pipe table), a run compared with itself,
# `table` in every format and pivot, `export --format gbench` validated against Google
# Benchmark's schema and read by its compare.py (Debian's libbenchmark-tools), `time` on a tiny
# case, and a --filter that matches nothing (exit 2, with a message) for every command taking one.
# usage: bash cli_reports.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB=$1
SRC=$2
DATA=$SRC/tests/data
TMP=$(mktemp -d /tmp/mb_cli_reports_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }
cp -r "$DATA/results_a" "$TMP/a"
cp -r "$DATA/results_b" "$TMP/b"
A=$TMP/a
B=$TMP/b

# --- compare -----------------------------------------------------------------------------------
"$MB" compare "$A" "$B" --no-plot >"$TMP/c.txt" 2>"$TMP/e" || err "compare text: $(cat "$TMP/e")"
grep -q '^95% CI: percentile bootstrap of the ratio of medians, 2000 resamples' "$TMP/c.txt" \
    || err "compare text: the CI method is not said"
grep -Eq '^lora:T=16,h=4096,o=4096,r=16 +blas +2 warm .* 1\.250 +\[1\.[0-9]{3}, 1\.[0-9]{3}\] ' "$TMP/c.txt" \
    || err "compare text: no CI on the blas line"
grep -q 'same run' "$TMP/c.txt" && err "compare A B: says the runs are the same"

"$MB" compare "$A" "$B" --no-plot --format csv >"$TMP/c.csv" 2>"$TMP/e" || err "compare csv: $(cat "$TMP/e")"
python3 - "$TMP/c.csv" <<'PY' || err "compare csv does not parse as expected"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 48, len(rows)
need = "case variant impl threads cache a_median_us b_median_us ratio ci_lo ci_hi p p_holm significant n_a n_b".split()
assert list(rows[0].keys()) == need, list(rows[0].keys())
for r in rows:
    lo, x, hi = float(r["ci_lo"]), float(r["ratio"]), float(r["ci_hi"])
    assert lo <= x <= hi, r
    if r["impl"] == "blas":
        assert lo > 1 and r["significant"] == "1", r
    if r["impl"] == "avx512":
        assert hi < 1, r
PY

"$MB" compare "$A" "$B" --no-plot --format json >"$TMP/c.json" 2>"$TMP/e" || err "compare json: $(cat "$TMP/e")"
python3 - "$TMP/c.json" <<'PY' || err "compare json does not parse as expected"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["same_run"] is False and d["n_matched"] == 48 and len(d["entries"]) == 48
assert abs(d["geomean"] - 1.022559) < 1e-5, d["geomean"]
assert "bootstrap" in d["ci_method"] and d["ci_level"] == 0.95
assert d["provenance_differs"] and "compiler" in d["provenance_differs"][0]
e = [x for x in d["entries"] if x["impl"] == "blas"][0]
assert e["ci_lo"] > 1 and e["significant"] is True and e["n_a"] == 10 and isinstance(e["threads"], int)
PY

"$MB" compare "$A" "$B" --no-plot --format latex >"$TMP/c.tex" 2>"$TMP/e" || err "compare latex: $(cat "$TMP/e")"
for w in '\\toprule' '\\midrule' '\\bottomrule' '\\begin{tabular}' 'sparse\\_mlp' '95\\% CI'; do
    grep -q "$w" "$TMP/c.tex" || err "compare latex: no $w"
done
grep -v '^%' "$TMP/c.tex" | grep -q 'sparse_mlp' && err "compare latex: an unescaped underscore"

"$MB" compare "$A" "$B" --no-plot --format md >"$TMP/c.md" 2>"$TMP/e" || err "compare md: $(cat "$TMP/e")"
grep -q '^| case | impl | threads | cache | A median (us) | B median (us) | B/A | 95% CI |' "$TMP/c.md" \
    || err "compare md: no header"
grep -q '^|---|---|---:|' "$TMP/c.md" || err "compare md: no separator line"
[ "$(grep -c '^| ' "$TMP/c.md")" -eq 49 ] || err "compare md: want 48 rows and a header"

"$MB" compare "$A" "$B" --no-plot --format xml >/dev/null 2>"$TMP/e"
[ $? -eq 2 ] && grep -q "format 'xml'" "$TMP/e" || err "compare --format xml: not refused"

# a run compared with itself: said in text, Markdown, JSON (and on stderr beside CSV)
"$MB" compare "$A" "$A" --no-plot >"$TMP/s.txt" 2>&1 || err "self compare failed"
grep -q '^note: A and B are the same run (same run_id default-20261123T220000Z)' "$TMP/s.txt" \
    || err "self compare: no note: $(head -5 "$TMP/s.txt")"
"$MB" compare "$A" "$A" --no-plot --format md 2>/dev/null | grep -q 'A and B are the same run' \
    || err "self compare md: no note"
"$MB" compare "$A" "$A" --no-plot --format json 2>/dev/null | python3 -c \
    'import json,sys; d=json.load(sys.stdin); assert d["same_run"] and all(e["ratio"] == 1 for e in d["entries"])' \
    || err "self compare json: same_run not set"
"$MB" compare "$A" "$A" --no-plot --format csv 2>"$TMP/e" >/dev/null
grep -q 'note: A and B are the same run' "$TMP/e" || err "self compare csv: no note on stderr"
# the same directory under two names, a run_id aside: also the same run
mkdir -p "$TMP/noid"
cp "$A/results.csv" "$A/samples.csv" "$TMP/noid/"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("run_id"); json.dump(d, open(sys.argv[2], "w"))' "$A/run.json" "$TMP/noid/run.json"
"$MB" compare "$TMP/noid" "$TMP/noid/../noid" --no-plot 2>&1 | grep -q 'same run (same directory)' \
    || err "self compare by directory: no note"

# the chart: CI whiskers in the data, a chart per variant
"$MB" compare "$A" "$B" >/dev/null 2>"$TMP/e" || err "compare with chart: $(cat "$TMP/e")"
[ -s "$B/charts/compare.png" ] || err "no compare.png"
for v in lora mixlora sparse_mlp router; do
    [ -s "$B/charts/compare_$v.png" ] || err "no compare_$v.png"
done
grep -q 'yerrorbars' "$B/charts/compare.gp" || err "compare.gp draws no CI bars"
python3 - "$B/charts/compare.dat" <<'PY' || err "compare.dat: no interval, or a ratio outside it"
import shlex, sys
rows = [shlex.split(l) for l in open(sys.argv[1]) if not l.startswith("#")]
assert len(rows) == 48 and all(len(r) == 7 for r in rows)
assert all(float(r[5]) <= float(r[2]) <= float(r[6]) for r in rows)
PY

# --- table -------------------------------------------------------------------------------------
"$MB" table "$A" >"$TMP/t.txt" 2>"$TMP/e" || err "table text: $(cat "$TMP/e")"
grep -q 'Median time per forward (us) \[95% CI of the median\]' "$TMP/t.txt" || err "table text: no caption"
"$MB" table "$A" --format latex -o "$TMP/t.tex" 2>"$TMP/e" || err "table latex: $(cat "$TMP/e")"
for w in '\\toprule' '\\midrule' '\\bottomrule' 'sparse\\_mlp' '\\begin{tabular}{llrrrrr}'; do
    grep -q "$w" "$TMP/t.tex" || err "table latex: no $w"
done
"$MB" table "$A" --format md --value speedup --baseline naive >"$TMP/t.md" 2>"$TMP/e" || err "table md: $(cat "$TMP/e")"
grep -q '^| case | threads | naive | blas | onednn | avx512 | merged |$' "$TMP/t.md" || err "table md: header: $(head -3 "$TMP/t.md")"
grep -q '^| router:T=1,h=4096,E=8,k=2 | 2 | 1.00× | 3.89× | skipped | 3.89× | skipped |$' "$TMP/t.md" \
    || err "table md: the router T=1 speedups"
"$MB" table "$A" --format csv --pivot threads --error mad >"$TMP/t.csv" 2>"$TMP/e" || err "table csv: $(cat "$TMP/e")"
python3 - "$TMP/t.csv" <<'PY' || err "table csv (pivot threads) does not parse as expected"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
h = list(rows[0].keys())
assert h[:3] == ["case", "variant", "impl"] and "threads_2_median_us" in h and "threads_1_mad_us" in h, h
r = [r for r in rows if r["case"] == "lora:T=16,h=4096,o=4096,r=16" and r["impl"] == "blas"][0]
assert abs(float(r["threads_1_median_us"]) / float(r["threads_2_median_us"]) - 1.8) < 0.01, r
PY
"$MB" table "$A" --pivot nosuch >/dev/null 2>&1
[ $? -eq 2 ] || err "table --pivot nosuch: not exit 2"
"$MB" table "$A" --value speedup --baseline nosuch >/dev/null 2>"$TMP/e"
[ $? -eq 2 ] && grep -q "baseline 'nosuch'" "$TMP/e" || err "table: an unknown baseline is not refused"

# --- export: Google Benchmark JSON ---------------------------------------------------------------
"$MB" export "$A" -o "$TMP/a.json" 2>"$TMP/e" || err "export A: $(cat "$TMP/e")"
"$MB" export "$B" --format gbench >"$TMP/b.json" 2>"$TMP/e" || err "export B: $(cat "$TMP/e")"
python3 - "$TMP/a.json" "$A/results.csv" <<'PY' || err "export: not Google Benchmark's schema"
import csv, json, sys
d = json.load(open(sys.argv[1]))
ctx = d["context"]
for k in ("date", "host_name", "executable", "num_cpus", "caches", "library_build_type"):
    assert k in ctx, k
assert ctx["date"] == "2026-11-23T22:00:00+00:00" and ctx["library_build_type"] == "release"
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
ok = [r for r in rows if r["status"] == "ok"]
assert len(ctx["moebench_rows_not_ok"]) == len(rows) - len(ok)
it = {}
for b in d["benchmarks"]:
    for k in ("name", "run_name", "run_type", "iterations", "real_time", "cpu_time", "time_unit", "repetitions", "threads"):
        assert k in b, (k, b)
    assert b["time_unit"] == "us" and b["real_time"] > 0
    if b["run_type"] == "iteration":
        assert b["name"] == b["run_name"]
        it.setdefault(b["name"], []).append(b["repetition_index"])
    else:
        assert b["run_type"] == "aggregate" and b["aggregate_name"] in ("mean", "median", "stddev")
        assert b["name"] == b["run_name"] + "_" + b["aggregate_name"]
assert len(it) == len(ok), (len(it), len(ok))
assert all(sorted(v) == list(range(10)) for v in it.values())
assert "lora/T=16,h=4096,o=4096,r=16/blas/threads:2" in it
med = {b["run_name"]: b["real_time"] for b in d["benchmarks"] if b.get("aggregate_name") == "median"}
for r in ok:
    assert r["case"].split(":")[0] == r["variant"]
PY
CMP=/usr/share/benchmark/compare.py
if [ -f "$CMP" ]; then
    # Debian's python3 (with python3-scipy, which compare.py imports), not a venv's
    PY=/usr/bin/python3
    [ -x "$PY" ] || PY=python3
    "$PY" "$CMP" --no-color benchmarks "$TMP/a.json" "$TMP/b.json" >"$TMP/gb.txt" 2>"$TMP/e" \
        || err "compare.py failed (python3-scipy installed? scripts/setup.sh installs it): $(tail -3 "$TMP/e")"
    grep -Eq '^lora/T=16,h=4096,o=4096,r=16/blas/threads:2_median +\+0\.2500 ' "$TMP/gb.txt" \
        || err "compare.py: blas median not +25%: $(grep 'T=16,h=4096,o=4096,r=16/blas/threads:2_median' "$TMP/gb.txt")"
    grep -Eq '^lora/T=16,h=4096,o=4096,r=16/avx512/threads:2_median +-0\.2000 ' "$TMP/gb.txt" \
        || err "compare.py: avx512 median not -20%"
    grep -Eq '^lora/T=16,h=4096,o=4096,r=16/blas/threads:2_pvalue +0\.0002 .*U Test, Repetitions: 10 vs 10' "$TMP/gb.txt" \
        || err "compare.py: no U test on the samples"
else
    echo "SKIP: compare.py: $CMP missing (Debian's libbenchmark-tools; scripts/setup.sh installs it)"
fi

# --- time ----------------------------------------------------------------------------------------
"$MB" time 'lora:T=2,h=32,o=32,r=2' --impl blas,naive --threads 1 --min-time 0.01 --reps 3 >"$TMP/tm" 2>"$TMP/e" \
    || err "time: exit $?: $(cat "$TMP/e")"
grep -q '^case: lora:T=2,h=32,o=32,r=2  threads 1, warm cache' "$TMP/tm" || err "time: no case line"
grep -Eq '^blas +ok +[0-9.e+-]+ ' "$TMP/tm" || err "time: no blas timing: $(cat "$TMP/tm")"
grep -Eq '^naive +ok ' "$TMP/tm" || err "time: no naive timing"
"$MB" time 'lora:T=2,h=32' --impl nosuch >/dev/null 2>&1
[ $? -eq 2 ] || err "time --impl nosuch: not exit 2"
"$MB" time 'lora:T=2,h=32,zz=1' >/dev/null 2>&1
[ $? -eq 2 ] || err "time with a bad descriptor: not exit 2"

# --- a --filter that matches nothing ------------------------------------------------------------
for cmd in "compare $A $B --no-plot" "table $A" "export $A"; do
    out=$("$MB" $cmd --filter '^nomatch$' 2>&1 >/dev/null)
    rc=$?
    [ $rc -eq 2 ] || err "$cmd --filter ^nomatch$: exit $rc, want 2"
    echo "$out" | grep -q "filter" || err "$cmd --filter ^nomatch$: no message: $out"
done
"$MB" table "$A" --filter '(' >/dev/null 2>&1
[ $? -eq 2 ] || err "table --filter '(': a bad regex is not refused"

[ $fail -eq 0 ] && echo "cli_reports: all ok"
exit $fail
