#!/bin/bash
# The smoke suite keeps its rows through refactors: the (case, impl, status) set of
# `moebench run suites/smoke.ini --dry-run` and, per routed case, a digest of the naive
# reference's routing (expert ids per token and expert counts from `moebench dump`) must equal
# tests/data/smoke_golden.csv, which was written from the code before issue 11's refactor.
# avx512 rows run only where the CPU executes AVX-512, so the golden says "ok|skipped" for them
# and the expectation comes from `moebench list` on this machine (as cli_default_dryrun.sh does).
# usage: bash cli_smoke_golden.sh MOEBENCH_BINARY SOURCE_DIR [--write]
#   --write regenerates the golden file (only for a deliberate change of results).
set -u
MB="$1"
SRC="$2"
MODE="${3:-check}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$MB" list >"$T/list" 2>&1 || { echo "FAIL: moebench list: exit $?" >&2; exit 1; }
"$MB" run "$SRC/suites/smoke.ini" --dry-run --threads 1 --no-plot --out "$T/run" >"$T/o" 2>"$T/e"
rc=$?
if [ $rc -ne 0 ]; then
    echo "FAIL: smoke dry run: exit $rc" >&2
    tail -20 "$T/e" >&2
    exit 1
fi
# the routing of every case whose naive forward reports one
python3 - "$T/run/results.csv" >"$T/cases" <<'PY'
import csv, sys
seen = []
for r in csv.DictReader(open(sys.argv[1])):
    if r["case"] not in seen:
        seen.append(r["case"])
print("\n".join(seen))
PY
i=0
while IFS= read -r c; do
    i=$((i + 1))
    # a train step routes as its forward does (spec "Training step": top-k is not
    # differentiated; aux, zloss, p and opt change only the loss and the update), so a train
    # case's routing digest is its forward's
    fc=$(printf '%s' "$c" | sed -E 's/,(mode|p|opt|aux|zloss)=[^,]*//g')
    "$MB" dump "$fc" "$T/dump$i" >/dev/null 2>"$T/dump$i.err" ||
        { echo "FAIL: moebench dump '$c': $(cat "$T/dump$i.err")" >&2; exit 1; }
    echo "$c	$T/dump$i" >>"$T/dumps"
done <"$T/cases"

PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$SRC/tests/support" python3 - "$T/list" "$T/run/results.csv" "$T/dumps" "$SRC/tests/data/smoke_golden.csv" "$MODE" <<'PY'
import csv, hashlib, os, sys
import moebench_list
listing, results, dumps, golden, mode = sys.argv[1:]
_, avail = moebench_list.read(listing)
prec_skips = moebench_list.precision_skips(listing)

def digest(d):
    # the .npy files hold a header then the raw array: the digest covers both (shape and ids)
    p = os.path.join(d, "route_idx.npy")
    if not os.path.exists(p):
        return "-"
    h = hashlib.sha256()
    for name in ("route_idx.npy", "route_counts.npy"):
        h.update(open(os.path.join(d, name), "rb").read())
    return h.hexdigest()[:16]

routing = {}
for line in open(dumps):
    c, d = line.rstrip("\n").split("\t")
    routing[c] = digest(d)

rows = {}
for r in csv.DictReader(open(results)):
    key = (r["case"], r["impl"])
    if key in rows:
        print(f"FAIL: {key} twice in results.csv", file=sys.stderr)
        sys.exit(1)
    status = "ok|skipped" if r["impl"] == "avx512" else r["status"]
    rows[key] = (r["variant"], status, r["status"], routing[r["case"]])

if mode == "--write":
    with open(golden, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case", "impl", "status", "routing"])
        for (c, i), (_, st, _, rt) in rows.items():
            w.writerow([c, i, st, rt])
    print(f"wrote {golden}: {len(rows)} rows")
    sys.exit(0)

bad = []
want = {}
for g in csv.DictReader(open(golden)):
    want[(g["case"], g["impl"])] = (g["status"], g["routing"])
for key in want.keys() - rows.keys():
    bad.append(f"{key[0]} {key[1]}: in the golden file, not in the run")
for key in rows.keys() - want.keys():
    bad.append(f"{key[0]} {key[1]}: in the run, not in the golden file")
for key in rows.keys() & want.keys():
    v, st, actual, rt = rows[key]
    wst, wrt = want[key]
    if st != wst:
        bad.append(f"{key[0]} {key[1]}: status {st}, golden {wst}")
    if rt != wrt:
        bad.append(f"{key[0]} {key[1]}: routing digest {rt}, golden {wrt}")
    if key[1] == "avx512":
        expect = "ok" if avail.get((v, "avx512")) else "skipped"
        off = prec_skips.get((v, "avx512"), {})
        if any(p in off for p in moebench_list.case_precisions(key[0])):
            expect = "skipped"
        if actual != expect:
            bad.append(f"{key[0]} avx512: {actual}, `moebench list` says {expect}")
routed = sum(1 for k, x in want.items() if x[1] != "-")
print(f"smoke golden: {len(rows)} rows, {routed} with a routing digest, {len(bad)} differences")
if routed == 0:
    bad.append("no routed case in the golden file")
for b in bad[:30]:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
