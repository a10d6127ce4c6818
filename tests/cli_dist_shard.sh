#!/bin/bash
# Sharded suites and merge (harness/dist/): shards 0/2 + 1/2 of a tiny suite, merged, hold the
# rows of the unsharded run (same cases, statuses, routing; timing aside); bad --shard values and
# merges of unrelated runs are refused with the reason (exit 2) and leave nothing behind.
# Usage: bash cli_dist_shard.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
SUITE="$SRC/tests/data/tiny_shard.ini"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }
RUN=(--threads 1 --reps 2 --min-time 0.001 --no-plot --no-roofline --counters none)

"$MB" run "$SUITE" --out "$T/full" "${RUN[@]}" >/dev/null 2>"$T/full.err" || err "unsharded run: $(tail -3 "$T/full.err")"
for i in 0 1; do
    "$MB" run "$SUITE" --shard $i/2 --out "$T/s$i" "${RUN[@]}" >/dev/null 2>"$T/s$i.err" ||
        err "shard $i/2: $(tail -3 "$T/s$i.err")"
done
# both shards have work: balanced by cost, not all on one side
for i in 0 1; do
    n=$(($(wc -l < "$T/s$i/results.csv") - 1))
    [ "$n" -gt 0 ] || err "shard $i/2 ran no row"
done
"$MB" merge "$T/merged" "$T/s1" "$T/s0" --no-plot >/dev/null 2>"$T/m.err" || err "merge: $(cat "$T/m.err")"
python3 "$SRC/tests/support/same_rows.py" "$T/full/results.csv" "$T/merged/results.csv" ||
    err "merged shards differ from the unsharded run"
python3 - "$T" <<'PY' || err "merged run.json"
import json, sys
j = json.load(open(sys.argv[1] + "/merged/run.json"))
assert len(j["shards"]) == 2, j.keys()
assert {s["index"] for s in j["shards"]} == {0, 1}
assert all(s["host"] and s["run"]["git"] is not None for s in j["shards"])
assert j["shard"]["merged"] is True and j["shard"]["count"] == 2
full = json.load(open(sys.argv[1] + "/full/run.json"))
assert j["result"]["ok"] == full["result"]["ok"], (j["result"], full["result"])
PY
# the two shards' samples, one header
[ "$(grep -c '^run_id,' "$T/merged/samples.csv")" = 1 ] || err "samples.csv: not one header"

# --- the same split every time: shard 0 of a second split has the same cases
"$MB" run "$SUITE" --shard 0/2 --out "$T/again0" "${RUN[@]}" >/dev/null 2>&1
[ "$(cut -d, -f2,3 "$T/again0/results.csv" | md5sum)" = "$(cut -d, -f2,3 "$T/s0/results.csv" | md5sum)" ] ||
    err "shard 0/2 is not deterministic"

# --- bad --shard values: exit 2 with the reason, nothing run
for bad in 2/2 -1/2 1/0 a/b 1 "1/2x" "/2"; do
    "$MB" run "$SUITE" --shard "$bad" --out "$T/bad" "${RUN[@]}" >/dev/null 2>"$T/bad.err"
    rc=$?
    [ $rc = 2 ] || err "--shard $bad: exit $rc, expected 2"
    grep -q -- "--shard" "$T/bad.err" || err "--shard $bad: the message does not name --shard: $(cat "$T/bad.err")"
    [ -e "$T/bad" ] && { err "--shard $bad created its output directory"; rm -rf "$T/bad"; }
done

# --- merges that are refused (exit 2), OUT never created
expect_refused() {   # what, pattern, args...
    local what="$1" pat="$2"
    shift 2
    "$MB" merge "$T/out" "$@" --no-plot >/dev/null 2>"$T/r.err"
    local rc=$?
    [ $rc = 2 ] || err "merge $what: exit $rc, expected 2"
    grep -q -- "$pat" "$T/r.err" || err "merge $what: no '$pat' in: $(cat "$T/r.err")"
    [ -e "$T/out" ] && { err "merge $what left $T/out"; rm -rf "$T/out"; }
    ls -a "$T" | grep -q merging && err "merge $what left a staging directory"
}
expect_refused "of one shard of two" "missing: 1/2\|missing:" "$T/s0"
expect_refused "of a shard twice" "both shard 0/2" "$T/s0" "$T/again0"
expect_refused "of an unsharded run" "is not a shard" "$T/full" "$T/s0"
# another split of the same suite
"$MB" run "$SUITE" --shard 0/3 --out "$T/t0" "${RUN[@]}" >/dev/null 2>&1
expect_refused "of shards of different counts" "another shard count\|shard 0/3" "$T/s0" "$T/t0"
# another suite
sed 's/T = 4, 8/T = 4, 12/' "$SUITE" > "$T/other.ini"
"$MB" run "$T/other.ini" --shard 1/2 --out "$T/o1" "${RUN[@]}" >/dev/null 2>&1
expect_refused "of shards of another suite" "suite" "$T/s0" "$T/o1"
# other settings
"$MB" run "$SUITE" --shard 1/2 --reps 3 --out "$T/r1" --threads 1 --min-time 0.001 --no-plot --no-roofline --counters none >/dev/null 2>&1
expect_refused "of shards with other settings" "reps\|--reps" "$T/s0" "$T/r1"
# a row lost from a shard: named as missing; a row twice: named as duplicated
cp -r "$T/s1" "$T/s1cut"
sed -i '$d' "$T/s1cut/results.csv"
expect_refused "with a row missing" "missing: " "$T/s0" "$T/s1cut"
cp -r "$T/s1" "$T/s1dup"
tail -1 "$T/s1/results.csv" >> "$T/s1dup/results.csv"
expect_refused "with a row twice" "duplicated: " "$T/s0" "$T/s1dup"
# a shard that stopped half-way is finished with --resume and the same --shard, then merges;
# --resume with another shard is refused
cp -r "$T/s1" "$T/s1half"
sed -i '$d' "$T/s1half/results.csv"
"$MB" run "$SUITE" --resume "$T/s1half" --shard 0/2 "${RUN[@]}" >/dev/null 2>"$T/rs.err"
[ $? != 0 ] && grep -q "shard 1/2, this one shard 0/2" "$T/rs.err" || err "--resume of shard 1/2 as 0/2: $(cat "$T/rs.err")"
"$MB" run "$SUITE" --resume "$T/s1half" --shard 1/2 "${RUN[@]}" >/dev/null 2>"$T/rs.err" || err "--resume --shard 1/2: $(tail -3 "$T/rs.err")"
"$MB" merge "$T/merged2" "$T/s0" "$T/s1half" --no-plot >/dev/null 2>"$T/m2.err" || err "merge after resume: $(cat "$T/m2.err")"
[ -f "$T/merged2/results.csv" ] && { python3 "$SRC/tests/support/same_rows.py" "$T/full/results.csv" "$T/merged2/results.csv" ||
    err "merged shards after a resume differ from the unsharded run"; }
# OUT that exists
mkdir "$T/exists"
"$MB" merge "$T/exists" "$T/s0" "$T/s1" --no-plot >/dev/null 2>&1
[ $? = 2 ] || err "merge into an existing OUT: not refused with exit 2"
exit $fail
