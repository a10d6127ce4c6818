#!/bin/bash
# Results are never overwritten or mixed (issue 12, item 2): an existing --out DIR is refused
# (--force moves it aside, never deletes it); runs without --out never share a directory, not
# even when started in the same second; --out '' is refused before anything runs; --resume
# refuses a directory of another suite, other row-shaping settings or another commit, naming
# every difference with the old and the new value.
# usage: bash cli_run_outdirs.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
T=$(mktemp -d)
# the default output directory is SOURCE_DIR/results/<suite>-<UTC second>: a suite name of
# this test's own, so only its directories are removed at the end
NAME="clitest-outdirs-$$-$RANDOM"
trap 'rm -rf "$T" "$SRC/results/$NAME"-*' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }
OPTS=(--min-time 0.01 --reps 3 --threads 1 --no-plot --no-roofline --counters none)

cat > "$T/$NAME.ini" <<'INI'
[a]
variant = lora
h = 32
r = 2
T = 1, 4
impl = naive
INI
cat > "$T/other.ini" <<'INI'
[b]
variant = lora
h = 48
r = 2
T = 2
impl = naive
INI

# rows(CSV) -> number of data rows, after checking every line parses with the header's width
# and carries one run id
rows() {
    python3 - "$1" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f:
    lines = list(csv.reader(f))
hdr, data = lines[0], lines[1:]
bad = [i + 2 for i, r in enumerate(data) if len(r) != len(hdr)]
ids = {r[hdr.index("run_id")] for r in data if len(r) == len(hdr)}
if bad or len(ids) > 1:
    print(f"{sys.argv[1]}: malformed lines {bad}, run ids {sorted(ids)}", file=sys.stderr)
    print(-1)
else:
    print(len(data))
PY
}

# ---- 1. a second run into the same --out ------------------------------------------------------
"$MB" run "$T/$NAME.ini" --out "$T/r" "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "first run: exit $rc: $(tail -3 "$T/e")"
cp "$T/r/results.csv" "$T/r1.csv"
"$MB" run "$T/$NAME.ini" --out "$T/r" "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] || err "second run into an existing --out: exit 0"
grep -q "$T/r" "$T/e" && grep -q -- "--resume" "$T/e" && grep -q -- "--force" "$T/e" \
    || err "existing --out: the message names neither the directory nor --resume/--force: $(cat "$T/e")"
grep -q "\[1/" "$T/e" && err "existing --out: a case ran"
cmp -s "$T/r/results.csv" "$T/r1.csv" || err "existing --out: results.csv changed ($(rows "$T/r/results.csv") rows)"

# --force: the old directory moved aside (never deleted), a fresh one in its place
"$MB" run "$T/$NAME.ini" --out "$T/r" --force "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "--force: exit $rc: $(tail -3 "$T/e")"
aside=$(ls -d "$T"/r.old-* 2>/dev/null)
[ "$(echo "$aside" | grep -c .)" -eq 1 ] || err "--force: want one r.old-* directory, got '$aside'"
if [ -n "$aside" ]; then
    cmp -s "$aside/results.csv" "$T/r1.csv" || err "--force: the moved-aside results.csv differs"
    grep -q "$aside" "$T/e" || err "--force: stderr does not say where the old directory went: $(cat "$T/e")"
fi
[ "$(rows "$T/r/results.csv")" = 2 ] || err "--force: new results.csv has $(rows "$T/r/results.csv") rows"
# twice in a row: a second aside name, the first one kept
"$MB" run "$T/$NAME.ini" --out "$T/r" --force "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "--force again: exit $rc: $(tail -3 "$T/e")"
[ "$(ls -d "$T"/r.old-* | wc -l)" -eq 2 ] || err "--force again: $(ls -d "$T"/r.old-*)"
"$MB" run "$T/$NAME.ini" --resume "$T/r" --force "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] || err "--force with --resume: exit $rc"

# an existing file is no output directory, with or without --force
touch "$T/file"
"$MB" run "$T/$NAME.ini" --out "$T/file" --force "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] && grep -q "not a directory" "$T/e" || err "--out FILE --force: exit $rc: $(cat "$T/e")"
[ -f "$T/file" ] && ! ls -d "$T"/file.old-* >/dev/null 2>&1 || err "--out FILE --force: the file was moved"

# ---- 2. --out '' and other unusable paths: refused before anything runs ---------------------
for bad in "" "$T/$(printf 'x%.0s' $(seq 1 5000))"; do
    "$MB" run "$T/$NAME.ini" --out "$bad" "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
    [ $rc -eq 2 ] || err "--out '${bad:0:20}...': exit $rc, want 2"
    grep -q -- "--out" "$T/e" || err "--out '${bad:0:20}...': message does not name --out: $(head -c 300 "$T/e")"
    grep -q "\[1/" "$T/e" && err "--out '${bad:0:20}...': a case ran"
done
"$MB" run "$T/$NAME.ini" --resume "" "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] || err "--resume '': exit $rc, want 2"

# ---- 3. no --out: a fresh directory each time, never a shared one ---------------------------
# deterministic: the names of the next seconds are taken already; the run must not use them
now=$(date -u +%s)
for i in $(seq 0 15); do
    d="$SRC/results/$NAME-$(date -u -d "@$((now + i))" +%Y%m%dT%H%M%SZ)"
    mkdir -p "$d" && echo keep > "$d/sentinel"
done
"$MB" run "$T/$NAME.ini" "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "default out: exit $rc: $(tail -3 "$T/e")"
out=$(sed -n 's/^results: //p' "$T/o")
[ -n "$out" ] && [ -s "$out/results.csv" ] || err "default out: no results line / results.csv: $(cat "$T/o")"
for d in "$SRC/results/$NAME"-*; do
    [ -e "$d/sentinel" ] || continue
    [ "$(ls "$d")" = sentinel ] || err "default out: wrote into an existing directory $d: $(ls "$d")"
done
[ -e "$out/sentinel" ] && err "default out: used the taken directory $out"
rm -rf "$SRC/results/$NAME"-*

# the reproducer: two runs started together
"$MB" run "$T/$NAME.ini" "${OPTS[@]}" >"$T/o1" 2>"$T/e1" & p1=$!
"$MB" run "$T/$NAME.ini" "${OPTS[@]}" >"$T/o2" 2>"$T/e2" & p2=$!
wait $p1; rc1=$?
wait $p2; rc2=$?
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] || err "parallel runs: exit $rc1 and $rc2: $(tail -2 "$T/e1" "$T/e2")"
d1=$(sed -n 's/^results: //p' "$T/o1")
d2=$(sed -n 's/^results: //p' "$T/o2")
[ -n "$d1" ] && [ "$d1" != "$d2" ] || err "parallel runs share a directory: '$d1' and '$d2'"
n=$(ls -d "$SRC/results/$NAME"-* | wc -l)
[ "$n" -eq 2 ] || err "parallel runs: $n directories, want 2"
for d in "$SRC/results/$NAME"-*; do
    [ "$(rows "$d/results.csv")" = 2 ] || err "parallel runs: $d/results.csv has $(rows "$d/results.csv") rows, want 2"
done

# ---- 4. --resume checks suite, settings and commit --------------------------------------------
"$MB" run "$T/$NAME.ini" --out "$T/s" "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "run for resume: exit $rc: $(tail -3 "$T/e")"
head -n 2 "$T/s/results.csv" > "$T/s/results.tmp" && mv "$T/s/results.tmp" "$T/s/results.csv"
cp "$T/s/results.csv" "$T/s1.csv"
unchanged() { cmp -s "$T/s/results.csv" "$T/s1.csv" || err "$1: results.csv changed"; }

# another suite's directory
"$MB" run "$T/other.ini" --resume "$T/s" "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] || err "resume with another suite: accepted"
grep -q "suite" "$T/e" && grep -q "other.ini" "$T/e" || err "resume with another suite: message: $(cat "$T/e")"
unchanged "resume with another suite"

# other threads: named with the old and the new value
"$MB" run "$T/$NAME.ini" --resume "$T/s" "${OPTS[@]}" --threads 2 >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] || err "resume with other --threads: accepted"
grep -q -- "--threads: 1 .*, 2 " "$T/e" || err "resume with other --threads: message: $(cat "$T/e")"
unchanged "resume with other --threads"

# several differences: every one is named, not only the first
"$MB" run "$T/$NAME.ini" --resume "$T/s" "${OPTS[@]}" --threads 2 --reps 5 --impl naive --timeout 7 \
    --dry-run >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] || err "resume with other settings: accepted"
for what in "--threads: 1" "--reps: 3" "--impl: " "--timeout: 300" "mode: run"; do
    grep -q -- "$what" "$T/e" || err "resume with other settings: '$what' not named: $(cat "$T/e")"
done
unchanged "resume with other settings"

# another commit
python3 - "$T/s/run.json" "$T/c" <<'PY'
import json, os, shutil, sys
d = os.path.dirname(sys.argv[1])
shutil.copytree(d, sys.argv[2])
j = json.load(open(sys.argv[1]))
j["git"]["commit"] = "0123456789abcdef0123456789abcdef01234567"
json.dump(j, open(os.path.join(sys.argv[2], "run.json"), "w"))
PY
"$MB" run "$T/$NAME.ini" --resume "$T/c" "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] && grep -q "commit.*0123456789abcdef" "$T/e" || err "resume at another commit (exit $rc): $(cat "$T/e")"

# no run.json: nothing to compare with, refused
cp -r "$T/s" "$T/n" && rm "$T/n/run.json"
"$MB" run "$T/$NAME.ini" --resume "$T/n" "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] && grep -q "run.json" "$T/e" || err "resume without run.json (exit $rc): $(cat "$T/e")"

# a directory a run is still writing into: neither resumed nor moved aside by another process
"$MB" run "$T/$NAME.ini" --out "$T/busy" "${OPTS[@]}" --min-time 600 >"$T/ob" 2>"$T/eb" & busy=$!
for _ in $(seq 1 600); do
    [ -s "$T/busy/results.csv" ] && break
    kill -0 $busy 2>/dev/null || break
    sleep 0.1
done
[ -s "$T/busy/results.csv" ] || err "busy run did not start: $(cat "$T/eb")"
"$MB" run "$T/$NAME.ini" --resume "$T/busy" "${OPTS[@]}" --min-time 600 >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] && grep -q "in use by a running moebench (pid $busy)" "$T/e" \
    || err "resume of a directory in use (exit $rc): $(cat "$T/e")"
"$MB" run "$T/$NAME.ini" --out "$T/busy" --force "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -ne 0 ] && grep -q "in use" "$T/e" || err "--force on a directory in use (exit $rc): $(cat "$T/e")"
ls -d "$T"/busy.old-* >/dev/null 2>&1 && err "--force moved a directory in use aside"
kill -0 $busy 2>/dev/null || err "the busy run ended before the checks: they proved nothing"
{ kill -9 $busy; wait $busy; } 2>/dev/null

# the same suite and settings still resume
"$MB" run "$T/$NAME.ini" --resume "$T/s" "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 0 ] || err "resume, same settings: exit $rc: $(cat "$T/e")"
[ "$(rows "$T/s/results.csv")" = 2 ] || err "resume, same settings: $(rows "$T/s/results.csv") rows, want 2"

exit $fail
