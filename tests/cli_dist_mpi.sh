#!/bin/bash
# mpirun -np N moebench run --mpi: each rank runs shard rank/N, rank 0 merges; the merged rows
# are those of the unsharded run. A rank that dies fails the job with a message naming it, and
# the rows written before stay on disk (no merged directory appears).
# Usage: bash cli_dist_mpi.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
source "$SRC/tests/support/mpi_env.sh"
SUITE="$SRC/tests/data/tiny_shard.ini"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }
RUN=(--threads 1 --reps 2 --min-time 0.001 --no-plot --no-roofline --counters none)

"$MB" run "$SUITE" --out "$T/full" "${RUN[@]}" >/dev/null 2>"$T/full.err" || err "unsharded run: $(tail -3 "$T/full.err")"
for np in 2 4; do
    "${MPIRUN[@]}" -np $np "$MB" run "$SUITE" --mpi --out "$T/mpi$np" "${RUN[@]}" >"$T/mpi$np.out" 2>&1 ||
        err "mpirun -np $np: exit $?: $(tail -5 "$T/mpi$np.out")"
    [ -f "$T/mpi$np/results.csv" ] || { err "-np $np: no merged results.csv"; continue; }
    python3 "$SRC/tests/support/same_rows.py" "$T/full/results.csv" "$T/mpi$np/results.csv" ||
        err "-np $np: the merged ranks differ from the unsharded run"
    for ((i = 0; i < np; i++)); do
        [ -f "$T/mpi$np.shard-$i-of-$np/results.csv" ] || err "-np $np: no shard directory of rank $i"
    done
    grep -qi "fork" "$T/mpi$np.out" && err "-np $np: Open MPI warned about fork: $(grep -i fork "$T/mpi$np.out")"
done

# rank 1 dies after its first row: the job fails naming rank 1, its row stays, nothing merged
MOEBENCH_TEST_DIE_RANK=1 MOEBENCH_TEST_DIE_AFTER_ROWS=1 \
    "${MPIRUN[@]}" -x MOEBENCH_TEST_DIE_RANK -x MOEBENCH_TEST_DIE_AFTER_ROWS -np 2 \
    "$MB" run "$SUITE" --mpi --out "$T/die" "${RUN[@]}" >"$T/die.out" 2>&1
rc=$?
[ $rc != 0 ] || err "a dead rank: mpirun exit 0"
grep -q "rank 1" "$T/die.out" || err "a dead rank: the message does not name rank 1: $(tail -5 "$T/die.out")"
[ -e "$T/die" ] && err "a dead rank: a merged directory was written"
n=$(($(wc -l < "$T/die.shard-1-of-2/results.csv") - 1))
[ "$n" = 1 ] || err "a dead rank: $n rows of rank 1 on disk, expected the 1 written before it died"
n0=$(($(wc -l < "$T/die.shard-0-of-2/results.csv") - 1))
[ "$n0" -ge 1 ] || err "a dead rank: rank 0's rows are gone"
exit $fail
