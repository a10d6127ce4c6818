#!/bin/bash
# Expert parallelism (ep=N) under mpirun -np 2 and -np 4: every ep row is checked by the run
# against the single-process forward (routing exactly, values within tolerance: a mismatch row
# otherwise), reports its phases and comm_bytes; bad ep input is refused with exit 2.
# Usage: bash cli_dist_ep.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
SUITE="$SRC/tests/data/tiny_ep.ini"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }
RUN=(--threads 1 --reps 3 --min-time 0.001 --no-plot --no-roofline --counters none)

# without MPI at all (no mpirun): refused before anything runs, whichever build
"$MB" run "$SUITE" --filter 'ep=2' --out "$T/nompi" "${RUN[@]}" >/dev/null 2>"$T/nompi.err"
rc=$?
if "$MB" list | grep -q '^MPI .* unavailable'; then
    # a build without MPI: the ep rows are skipped with the reason
    [ $rc = 0 ] || err "ep without MPI built: exit $rc: $(cat "$T/nompi.err")"
    grep -q "built without MPI" "$T/nompi/results.csv" || err "ep rows without MPI: no 'built without MPI' reason"
else
    [ $rc = 2 ] || err "ep=2 without --mpi: exit $rc, expected 2"
    grep -q "ep=2 needs 2 MPI ranks" "$T/nompi.err" || err "ep=2 without --mpi: $(cat "$T/nompi.err")"
    [ -e "$T/nompi" ] && err "ep=2 without --mpi created its output directory"
fi
"$MB" case 'sparse_mlp:T=16,h=32,f=48,E=4,k=2,ep=2' >/dev/null 2>&1
[ $? = 2 ] || err "moebench case with ep=2: not refused with exit 2"
# E % ep and T % ep: the suite's file:line, exit 2
printf '[a]\nvariant = sparse_mlp\nT = 16\nh = 32\nf = 48\nE = 6\nk = 2\nep = 4\n' > "$T/bad_e.ini"
"$MB" run "$T/bad_e.ini" --validate-only >/dev/null 2>"$T/e.err"
[ $? = 2 ] && grep -q "bad_e.ini:.*E=6 % ep=4" "$T/e.err" || err "E % ep: $(cat "$T/e.err")"
printf '[a]\nvariant = sparse_mlp\nT = 15\nh = 32\nf = 48\nE = 4\nk = 2\nep = 2\n' > "$T/bad_t.ini"
"$MB" run "$T/bad_t.ini" --validate-only >/dev/null 2>"$T/t.err"
[ $? = 2 ] && grep -q "T=15 % ep=2" "$T/t.err" || err "T % ep: $(cat "$T/t.err")"

source "$SRC/tests/support/mpi_env.sh"

check_rows() {   # results.csv, ranks
    python3 - "$1" "$2" "$MB" "$T" <<'PY'
import csv, os, re, struct, subprocess, sys
rows = list(csv.DictReader(open(sys.argv[1])))
n = int(sys.argv[2])
mb, tmp = sys.argv[3], sys.argv[4]


def route_idx(desc):
    """The single-process routing [T, k] of the case (moebench dump), read from its .npy."""
    one = re.sub(r",ep=\d+", "", desc)
    d = os.path.join(tmp, "dump-" + re.sub(r"[^a-z0-9]", "_", one))
    if not os.path.isdir(d):
        subprocess.run([mb, "dump", one, d], check=True, capture_output=True)
    raw = open(os.path.join(d, "route_idx.npy"), "rb").read()
    hlen = struct.unpack("<H", raw[8:10])[0]
    hdr = raw[10:10 + hlen].decode()
    assert "<i4" in hdr, hdr
    data = raw[10 + hlen:]
    return list(struct.unpack("<%di" % (len(data) // 4), data))


def row_floats(r):
    """Floats per dispatched and per returned row (kernels/include/moebench/ep.h): x; mixlora
    with a shared base also x Wg^T and x Wu^T out, and share=all H_e back."""
    h = int(r["h"])
    if r["variant"] == "mixlora" and r["share"] != "none":
        f = int(r["f"])
        return h + 2 * f, (h + f if r["share"] == "all" else h)
    return h, h


def comm_model(r, T, E, k):
    """Payload bytes the busiest rank sends: rows to experts of other ranks (dispatch) and
    rows other ranks' tokens sent it (combine), f32 each."""
    idx = route_idx(r["case"])
    win, wout = row_floats(r)
    tl, ne = T // n, E // n
    out = [0] * n
    for t in range(T):
        src = t // tl
        for j in range(k):
            dst = idx[t * k + j] // ne
            if dst != src:
                out[src] += win   # dispatch: src sends the row
                out[dst] += wout  # combine: dst sends the result back
    return max(out) * 4


listing = subprocess.run([mb, "list"], check=True, capture_output=True, text=True).stdout
block = next((b for b in listing.split("\n\n") if b.startswith("sparse_mlp:")), "")
avx512_runs = re.search(r"^  avx512\s+ok", block, re.M) is not None
bad = []
ep_rows = [r for r in rows if r["ep"]]
if not ep_rows:
    bad.append("no ep row")
for r in ep_rows:
    what = f"{r['case']} {r['impl']}"
    if r["ep"] != str(n):
        bad.append(f"{what}: ep={r['ep']}")
    # naive has no ep form; avx512 has one and runs wherever the CPU (or the emulated test
    # build) executes AVX-512: skipped elsewhere, with the probe's reason
    if r["impl"] == "naive" or (r["impl"] == "avx512" and r["status"] == "skipped"):
        if r["status"] != "skipped" or not r["reason"]:
            bad.append(f"{what}: {r['status']} ({r['reason']}), expected skipped with a reason")
        elif r["impl"] == "avx512" and avx512_runs:
            bad.append(f"{what}: skipped ({r['reason']}) where `moebench list` says avx512 runs")
        continue
    if r["status"] != "ok":
        bad.append(f"{what}: {r['status']}: {r['reason']}")
        continue
    # the single-process check ran: its errors are recorded (and the routing statistics)
    if r["max_abs_err"] == "" or float(r["max_abs_err"]) > 1e-4:
        bad.append(f"{what}: max_abs_err {r['max_abs_err']!r}")
    if r["expert_load_max"] == "":
        bad.append(f"{what}: no expert_load_max")
    phases = ("route_us", "dispatch_us", "expert_us", "combine_us", "time_us_median")
    for c in phases:
        if c == "expert_us" and r["variant"] == "router":
            # dispatch only: no expert compute, so no value (never a 0)
            if r[c] != "":
                bad.append(f"{what}: router expert_us = {r[c]!r}, expected empty")
            continue
        if r[c] == "" or float(r[c]) <= 0:
            bad.append(f"{what}: {c} = {r[c]!r}")
    T, k = int(r["T"]), int(r["k"])
    # what the routing makes the busiest rank send, counted here from the dumped routing
    cb = int(r["comm_bytes"] or -1)
    want = comm_model(r, T, int(r["E"]), k)
    if cb != want:
        bad.append(f"{what}: comm_bytes {cb}, the routing says {want}")
# the rows without ep are untouched
for r in rows:
    if not r["ep"] and r["status"] != "ok":
        bad.append(f"{r['case']} {r['impl']}: {r['status']}")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

for np in 2 4; do
    "${MPIRUN[@]}" -np $np "$MB" run "$SUITE" --mpi --filter "ep=$np|^lora" --out "$T/ep$np" "${RUN[@]}" \
        >"$T/ep$np.out" 2>&1 || err "-np $np: exit $?: $(tail -5 "$T/ep$np.out")"
    [ -f "$T/ep$np/results.csv" ] && { check_rows "$T/ep$np/results.csv" $np || err "-np $np: ep rows"; }
done

# ep=2 in a job of 4 ranks: refused, exit 2, the reason named
"${MPIRUN[@]}" -np 4 "$MB" run "$SUITE" --mpi --filter "ep=2" --out "$T/wrong" "${RUN[@]}" >"$T/wrong.out" 2>&1
rc=$?
[ $rc = 2 ] || err "ep=2 under -np 4: exit $rc, expected 2"
grep -q "ep=2 needs 2 MPI ranks" "$T/wrong.out" || err "ep=2 under -np 4: $(tail -3 "$T/wrong.out")"
ls "$T" | grep -q "^wrong$\|^wrong\.shard" && err "ep=2 under -np 4 created output directories"
exit $fail
