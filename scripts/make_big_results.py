#!/usr/bin/env python3
"""Writes a synthetic results directory (results.csv + run.json) with about ROWS rows, for
measuring `moebench plot` at scale (issue 12, item 7): lora/moe/mixlora cases over a T sweep and
many shapes, five implementations, two counters; a few skipped rows.
usage: make_big_results.py DIR [ROWS [TOKEN_COUNTS]]  (TOKEN_COUNTS: how many T values, 1..12)"""
import csv, json, os, sys

out = sys.argv[1]
want = int(sys.argv[2]) if len(sys.argv) > 2 else 50520
os.makedirs(out, exist_ok=True)
cols = ("run_id,variant,impl,status,reason,dtype,threads,cache,B,S,T,h,o,f,r,E,k,share,shard,"
        "samples,time_us_median,time_us_min,time_us_p95,time_us_mad,time_us_ci_lo,time_us_ci_hi,"
        "prepare_us,flops,bytes,gflops,gbps,pct_peak,weights_bytes,workspace_bytes,"
        "peak_rss_bytes,max_abs_err,max_rel_err,expert_load_max,aux_loss,ctr_perf__task_clock,"
        "ctr_perf__page_faults,case,alpha,act,seed,prepare_bytes").split(",")
impls = ["naive", "blas", "onednn", "avx512", "merged"]
Ts = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]
Ts = Ts[:int(sys.argv[3])] if len(sys.argv) > 3 else Ts
rows = []
shape = 0
while len(rows) < want:
    variant = ["lora", "moe", "mixlora"][shape % 3]
    h = 64 * (1 + shape % 64) + shape // 1024   # every shape distinct
    r = 4 * (1 + (shape // 64) % 16)
    f = 2 * h + shape // 64
    E, k = 8, 2
    for T in Ts:
        for impl in impls:
            if len(rows) >= want:
                break
            spec = {"lora": "T=%d,h=%d,o=%d,r=%d" % (T, h, h, r),
                    "moe": "T=%d,h=%d,f=%d,E=%d,k=%d" % (T, h, f, E, k),
                    "mixlora": "T=%d,h=%d,f=%d,r=%d,E=%d,k=%d,share=all" % (T, h, f, r, E, k)}
            case = variant + ":" + spec[variant]
            ok = not (impl == "merged" and variant == "moe")
            med = 1.0 * T * h * (1 + impls.index(impl)) / 100.0
            row = dict.fromkeys(cols, "")
            row.update(run_id="big-run", variant=variant, impl=impl,
                       status="ok" if ok else "skipped",
                       reason="" if ok else "merged needs adapters", dtype="f32", threads=2,
                       cache="warm", B=1, S=T, T=T, h=h, case=case, alpha=32, act="silu", seed=42)
            if variant != "moe":
                row["r"] = r
            if variant == "lora":
                row["o"] = h
            else:
                row.update(f=f, E=E, k=k)
            if variant == "mixlora":
                row["share"] = "all"
            if ok:
                fl = 2.0 * T * h * h
                row.update(samples=10, time_us_median=med, time_us_min=med * 0.9,
                           time_us_p95=med * 1.2, time_us_mad=med * 0.02,
                           time_us_ci_lo=med * 0.97, time_us_ci_hi=med * 1.03, prepare_us=15,
                           flops=fl, bytes=4.0 * h * h, gflops=fl / med / 1e3, gbps=1, pct_peak=1,
                           weights_bytes=4 * h * h, workspace_bytes=4 * T * h,
                           peak_rss_bytes=8 * h * h + 1 << 20, max_abs_err=1e-6,
                           max_rel_err=1e-7, ctr_perf__task_clock=med * 1e3,
                           ctr_perf__page_faults=12, prepare_bytes=0)
                if variant != "lora":
                    row.update(expert_load_max=1.5, aux_loss=2.1)
            rows.append(row)
    shape += 1
with open(os.path.join(out, "results.csv"), "w", newline="") as fp:
    w = csv.DictWriter(fp, cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
json.dump({"run_id": "big-run", "build": {"compiler": "GNU 12.2.0"},
           "machine": {"cpu_model": "synthetic", "hostname": "gen"}},
          open(os.path.join(out, "run.json"), "w"), indent=1)
print("%d rows, %d shapes" % (len(rows), shape))
