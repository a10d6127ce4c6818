#!/bin/bash
# Every shipped suite parses and validates (--validate-only: nothing probed, written or run);
# threads and cache are sweep keys (one case each, in progress lines, results.csv and
# samples.csv); --resume refuses a directory without results.csv, --out with --resume, and
# other settings than the run it continues.
# usage: bash cli_harness_suites.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

n=0
for s in "$SRC"/suites/*.ini; do
    n=$((n + 1))
    out=$("$MB" run "$s" --validate-only 2>&1); rc=$?
    [ $rc -eq 0 ] || err "$(basename "$s") does not validate (exit $rc): $out"
    echo "$out" | grep -Eq '^[1-9][0-9]* cases, [1-9][0-9]* rows' || err "$(basename "$s"): no case count: $out"
done
[ $n -ge 8 ] || err "only $n suites found in $SRC/suites"
# every variant has a T=1 cold row per implementation in targets.ini
"$MB" run "$SRC/suites/targets.ini" --validate-only --filter '^sparse_mlp:.*E=1,' 2>&1 | grep -q '^1 cases, 3 rows' \
    || err "targets.ini: no [sparse_mlp_one_expert] case"

# a bad suite: exit 2 with file:line, nothing written
printf '[a]\nvariant = lora\nh = 32\nr = 2\n[a]\nT = 4\n' > "$T/dup.ini"
out=$("$MB" run "$T/dup.ini" --validate-only 2>&1); rc=$?
[ $rc -eq 2 ] || err "duplicate section: exit $rc"
echo "$out" | grep -q "dup.ini:5: duplicate section \[a\]" || err "duplicate section: $out"

# issue 12: unbounded inputs are refused at once with file:line (timeout: the old code blocked
# on a FIFO and read /dev/zero for gigabytes), and a self-include is an include cycle
printf '[a]\nvariant = lora\ninclude = /dev/zero\n' > "$T/zero.ini"
out=$(timeout 60 "$MB" check --validate-only "$T/zero.ini" 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "zero.ini:3: included file '/dev/zero': is a character device" \
    || err "include = /dev/zero (exit $rc): $out"
mkfifo "$T/fifo.ini"
out=$(timeout 60 "$MB" check --validate-only "$T/fifo.ini" 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "fifo.ini: is a FIFO" || err "suite is a FIFO (exit $rc): $out"
printf '[a]\nvariant = lora\ninclude = self.ini\n' > "$T/self.ini"
out=$("$MB" check --validate-only "$T/self.ini" 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "self.ini:3: include cycle: .*self.ini -> .*self.ini" \
    || err "self-include (exit $rc): $out"
python3 - "$T/big.ini" <<'PY'
import sys
L = lambda k, v: k + "=" + ",".join(map(str, v)) + "\n"
open(sys.argv[1], "w").write("[a]\nvariant=lora\nh=64\nr=1\n" + L("T", range(1, 65)) +
                             L("o", range(8, 48)) + L("seed", range(1, 41)))
PY
out=$(timeout 60 "$MB" check --validate-only "$T/big.ini" 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "big.ini:1: section \[a\] expands to 102400 cases" \
    || err "102400 cases (exit $rc): $out"
# silent overrides are errors (item 6)
printf '[a]\nvariant = lora\nh = 32\nr = 2\nT = 1, 16\nT = 512\n' > "$T/twice.ini"
out=$("$MB" check --validate-only "$T/twice.ini" 2>&1)
echo "$out" | grep -q "twice.ini:6: 'T' is given twice" || err "T given twice: $out"
printf '[a]\nvariant = lora\nh = 32\nr = 2\nT = 1, 2\n  16\n' > "$T/cont.ini"
out=$("$MB" check --validate-only "$T/cont.ini" 2>&1)
echo "$out" | grep -q "cont.ini:6: indented line" || err "continuation line: $out"
for d in 'lora:B=4294967296,S=4294967296,B=2' 'mor1e:T=2,h=16,o=16,r=4,k=4294967296,f=99999999999' \
         'lora:r=9223372036854775807'; do
    out=$("$MB" case "$d" 2>&1); rc=$?
    [ $rc -eq 2 ] && echo "$out" | grep -q "invalid case" || err "case '$d' (exit $rc): $out"
done

# threads = 1, 2 and cache = warm, cold: 4 cases of the same shape
cat > "$T/sweep.ini" <<'INI'
[s]
variant = lora
h = 32
r = 2
T = 4
threads = 1, 2
cache = warm, cold
impl = blas
INI
out=$("$MB" run "$T/sweep.ini" --validate-only 2>&1)
echo "$out" | grep -q '^4 cases, 4 rows' || err "threads x cache sweep: $out"
"$MB" run "$T/sweep.ini" --out "$T/r1" --min-time 0.01 --reps 3 --no-plot >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "sweep run: exit $rc: $(tail -5 "$T/e")"
grep -q "\[4/4\] lora:.* T2 cold blas: ok" "$T/e" || err "progress lacks threads/cache: $(grep '\[' "$T/e")"
python3 - "$T/r1" <<'PY' || fail=1
import csv, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(f"{d}/results.csv")))
keys = sorted((r["threads"], r["cache"]) for r in rows)
bad = []
if keys != [("1", "cold"), ("1", "warm"), ("2", "cold"), ("2", "warm")]: bad.append(f"rows {keys}")
hdr = open(f"{d}/samples.csv").readline().strip()
if hdr != "run_id,case,impl,threads,cache,rep,time_ns": bad.append(f"samples header {hdr}")
s = list(csv.DictReader(open(f"{d}/samples.csv")))
sk = sorted({(x["threads"], x["cache"]) for x in s})
if sk != [("1", "cold"), ("1", "warm"), ("2", "cold"), ("2", "warm")]: bad.append(f"samples keys {sk}")
for b in bad: print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# --resume: the same settings resume (nothing left to run); others are refused
"$MB" run "$T/sweep.ini" --resume "$T/r1" --min-time 0.01 --reps 3 --no-plot >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "resume, same settings: exit $rc: $(tail -3 "$T/e")"
grep -q "4 rows already done, 0 to run" "$T/e" || err "resume: rows keyed on threads/cache: $(grep resum "$T/e")"
"$MB" run "$T/sweep.ini" --resume "$T/r1" --min-time 0.01 --reps 5 --no-plot >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] && grep -q -- "--reps 3" "$T/e" || err "resume with other --reps accepted (exit $rc): $(cat "$T/e")"
"$MB" run "$T/sweep.ini" --resume "$T/r1" --min-time 0.01 --reps 3 --threads 1 --no-plot >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] && grep -q "threads" "$T/e" || err "resume with other --threads accepted (exit $rc)"
cp -r "$T/r1" "$T/old"
printf 'run_id,case,impl,rep,time_ns\n' > "$T/old/samples.csv"
"$MB" run "$T/sweep.ini" --resume "$T/old" --min-time 0.01 --reps 3 --no-plot >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] && grep -q "samples.csv has other columns" "$T/e" || err "resume onto an old samples.csv (exit $rc): $(cat "$T/e")"
mkdir -p "$T/empty"
"$MB" run "$T/sweep.ini" --resume "$T/empty" --no-plot >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] && grep -q "no .*results.csv" "$T/e" || err "resume without results.csv (exit $rc): $(cat "$T/e")"
[ ! -e "$T/empty/results.csv" ] || err "resume without results.csv created one"
"$MB" run "$T/sweep.ini" --resume "$T/r1" --out "$T/r2" --no-plot >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--out and --resume" "$T/e" || err "--out with --resume (exit $rc): $(cat "$T/e")"

exit $fail
