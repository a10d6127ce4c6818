"""Whether two results.csv hold the same rows apart from what timing decides: exit 0 when the
same cases, implementations, statuses, routing statistics and errors appear in the same order.
Usage: python3 same_rows.py A/results.csv B/results.csv"""
import csv
import sys

# columns a second run of the same case legitimately changes
TIMING = {"run_id", "samples", "time_us_median", "time_us_min", "time_us_p95", "time_us_mad",
          "time_us_ci_lo", "time_us_ci_hi", "prepare_us", "gflops", "gbps", "pct_peak",
          "peak_rss_bytes", "workspace_bytes", "iters_per_sample", "breakeven_calls",
          "route_us", "dispatch_us", "expert_us", "combine_us", "unstable", "ci_rel",
          "above_roof"}
# parts of a reason that timing writes: the verdict on the samples and notes on outliers
TIMING_NOTES = ("unstable", "close other programs", "raise --reps", "outliers:",
                "above its own ceiling")


def rows(path):
    with open(path, newline="") as f:
        r = list(csv.DictReader(f))
    out = []
    for row in r:
        keep = {k: v for k, v in row.items() if k not in TIMING and not k.startswith("ctr_")}
        keep["reason"] = "; ".join(p for p in keep.get("reason", "").split("; ")
                                   if not p.startswith(TIMING_NOTES))
        out.append(keep)
    return out


a, b = rows(sys.argv[1]), rows(sys.argv[2])
if len(a) != len(b):
    print(f"FAIL: {len(a)} rows in {sys.argv[1]}, {len(b)} in {sys.argv[2]}", file=sys.stderr)
    sys.exit(1)
bad = 0
for i, (x, y) in enumerate(zip(a, b)):
    for k in x:
        if x[k] != y.get(k):
            print(f"FAIL: row {i + 1} ({x.get('case')} {x.get('impl')}): {k} = {x[k]!r} vs "
                  f"{y.get(k)!r}", file=sys.stderr)
            bad = 1
sys.exit(bad)
