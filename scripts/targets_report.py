#!/usr/bin/env python3
"""Prints the performance targets of the library, AVX-512 and PyTorch-peer issues as Markdown
tables, computed from moebench results directories (results.csv + run.json). Every ratio is taken
between rows of the SAME run (same machine state), never across runs.

    scripts/targets_report.py RESULTS_DIR [RESULTS_DIR ...]

Which tables appear depends on the rows present:
  - suites/targets.ini rows give the library targets (adapter overhead over the bare base layer,
    cold T=1 bandwidth, mixlora sharing, mixtures at the same total rank, sparse_mlp routing
    overhead) and the AVX-512 GEMM/GEMV targets;
  - suites/default.ini rows (optionally with `--peer torch`) give the AVX-512 mixture targets and
    ours-vs-PyTorch;
  - suites/routing.ini rows give the routing targets (issue 16): time(route=hot:0.9) /
    time(route=balanced), cap=1 against dropless, shared=1 against its FLOP share;
  - mode=train rows (suites/targets.ini's train sections, suites/train.ini, optionally with
    `--peer torch`) give the training targets (issue 14): step / forward of the same
    implementation, mixlora share=all step / mlp_lora step, ours against the PyTorch peer's step
    and saved_bytes, avx512 step against the best library for the mixtures.
  - every run gives the roof report (issue 18): every ok row's fraction of its own cache-aware
    ceiling (gflops / roof_gflops at roof_level), worst first, with the level and whether the
    ceiling is memory- or compute-bound; rows without a ceiling apart with the reason; and the
    80 % target evaluated per implementation (rows below it counted and named);
  - suites/default.ini rows (with `--peer torch` for the last) and suites/targets.ini's
    [i18_*] sections give issue 18's cost targets: molora, moelora and mor1e / lora at equal
    total rank at every T, mixlora share=all / mlp_lora at every T, avx512 against the best
    library in every cell, ours against PyTorch for every mixture (per implementation; an
    implementation that did not run is "not measured" with its reason, never a pass).
The forward tables read only forward rows; a train row is matched only with rows of the same
mode and the same train settings (p, opt, aux, zloss from the case descriptor).
Only the standard library is used.
"""
import csv
import json
import math
import os
import sys
from collections import defaultdict

OURS = ("blas", "onednn", "avx512", "merged")
MIXTURES = ("molora", "moelora", "mixlora", "mor1e", "sparse_mlp")


def load(d):
    with open(os.path.join(d, "results.csv"), newline="") as f:
        rows = [r for r in csv.DictReader(f)]
    try:
        with open(os.path.join(d, "run.json")) as f:
            run = json.load(f)
    except OSError:
        run = {}
    return rows, run


def num(x):
    try:
        v = float(x)
        return v if math.isfinite(v) else None
    except (TypeError, ValueError):
        return None


TRAIN_KEYS = ("p", "opt", "aux", "zloss")


def train_settings(r):
    """The train settings of a row that are not the defaults, from its case descriptor (they have
    no column): "" for a plain step (p=0, opt=none, the variant's default aux and zloss) and for
    every forward row; else e.g. "p=0.1" or "opt=adamw"."""
    items = []
    for item in r.get("case", "").split(":", 1)[-1].split(","):
        a, _, b = item.partition("=")
        if a in TRAIN_KEYS:
            v = num(b)
            items.append(f"{a}={v:.3g}" if v is not None else f"{a}={b}")
    return ",".join(items)


def mode(r):
    """forward or train; runs before the mode column are all forward."""
    return r.get("mode") or "forward"


def key(r, **over):
    """Identity of a case without its implementation: the shape and harness settings."""
    k = {c: r.get(c, "") for c in ("variant", "threads", "cache", "T", "B", "h", "o", "f", "r",
                                  "E", "k", "share", "shard", "cap", "shared", "topp", "route",
                                  "dtype", "wq")}
    k["mode"] = mode(r)
    k["train"] = r.get("_train", "")
    k.update({a: str(b) for a, b in over.items()})
    return tuple(sorted(k.items()))


class Run:
    def __init__(self, d):
        self.dir = d
        self.rows, self.run = load(d)
        self.t = {}
        self.any = {}   # every row, ok or not (a skipped row's reason)
        for r in self.rows:
            r["mode"] = mode(r)
            r["_train"] = train_settings(r)
            self.any[(key(r), r["impl"])] = r
            if r["status"] == "ok" and num(r["time_us_median"]):
                self.t[(key(r), r["impl"])] = r
        roof = self.run.get("roofline") or {}
        self.dram = {1: num(roof.get("dram_gbps_1t")), 2: num(roof.get("dram_gbps"))}
        self.peak = {1: num(roof.get("peak_gflops_1t")), 2: num(roof.get("peak_gflops"))}

    def get(self, r, impl, **over):
        return self.t.get((key(r, **over), impl))

    def time(self, r, impl, **over):
        x = self.get(r, impl, **over)
        return num(x["time_us_median"]) if x else None

    def find(self, impl, **want):
        """Median time of the ok row of impl whose listed columns equal want (other columns,
        e.g. the suite defaults a variant does not use, are ignored). Forward rows unless want
        names the mode; plain steps unless it names the train settings (_train)."""
        want.setdefault("mode", "forward")
        want.setdefault("_train", "")
        for (_, im), x in self.t.items():
            if im == impl and all(x.get(a) == str(b) for a, b in want.items()):
                return num(x["time_us_median"])
        return None

    def cases(self, **want):
        """The first row of each case whose listed columns equal want; forward rows unless want
        names the mode."""
        want.setdefault("mode", "forward")
        seen = set()
        for r in self.rows:
            if all(r.get(a) == str(b) for a, b in want.items()):
                k = key(r)
                if k not in seen:
                    seen.add(k)
                    yield r


def ratio(a, b):
    return a / b if a and b else None


def fmt(x, target=None, le=True):
    if x is None:
        return "n/a"
    s = f"{x:.2f}"
    if target is not None:
        ok = x <= target if le else x >= target
        s += " ✓" if ok else f" ✗ (target {'≤' if le else '≥'} {target})"
    return s


def table(title, header, lines):
    if not lines:
        return
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for l in lines:
        print("| " + " | ".join(str(c) for c in l) + " |")


def library_targets(R):
    out = []
    for r in R.cases(variant="lora"):
        if r["cache"] == "warm" and int(r["T"]) >= 512:
            out.append(("lora", r["T"], r["threads"], "blas / bare base GEMM (merged)",
                        fmt(ratio(R.time(r, "blas"), R.time(r, "merged")), 1.05)))
    for r in R.cases(variant="mlp_lora"):
        if r["cache"] == "warm" and int(r["T"]) >= 512:
            out.append(("mlp_lora", r["T"], r["threads"], "blas / bare base MLP (merged)",
                        fmt(ratio(R.time(r, "blas"), R.time(r, "merged")), 1.05)))
    for r in R.cases(variant="mixlora"):
        if int(r["T"]) >= 128 and r["cache"] == "warm":
            for impl in ("blas", "onednn", "avx512"):
                t_mlp = R.find(impl, variant="mlp_lora", T=r["T"], threads=r["threads"],
                               h=r["h"], f=r["f"], r=r["r"], cache="warm")
                out.append((f"mixlora share={r['share']}", r["T"], r["threads"],
                            f"{impl}: mixlora / mlp_lora",
                            fmt(ratio(R.time(r, impl), t_mlp), 1.10 if r["share"] == "all" else None)))
    for v, tgt in (("molora", 1.10), ("moelora", 1.05)):
        for r in R.cases(variant=v):
            if int(r["T"]) < 128 or r["cache"] != "warm":
                continue
            total_rank = int(r["r"]) * (int(r["E"]) if v == "molora" else 1)
            for impl in ("blas", "onednn", "avx512"):
                t_lora = R.find(impl, variant="lora", T=r["T"], threads=r["threads"], h=r["h"],
                                o=r["o"], r=total_rank, cache="warm")
                out.append((f"{v} (total rank {total_rank})", r["T"], r["threads"],
                            f"{impl}: {v} / lora", fmt(ratio(R.time(r, impl), t_lora), tgt)))
    for r in R.cases(variant="sparse_mlp", E=8, T=512):
        for impl in ("blas", "onednn", "avx512"):
            t8 = R.time(r, impl)
            t1 = R.time(r, impl, E=1, k=1, T=128)
            over = 1 - 8 * t1 / t8 if t1 and t8 else None
            out.append(("sparse_mlp f=%s" % r["f"], r["T"], r["threads"],
                        f"{impl}: routing+gather+scatter share (1 - 8 t(E=1,T=128) / t)",
                        fmt(over, 0.10)))
    for r in R.cases(cache="cold", T=1):
        best = None
        for impl in OURS:
            x = R.get(r, impl)
            if x and (best is None or num(x["time_us_median"]) < num(best["time_us_median"])):
                best = x
        if best:
            bw = R.dram.get(int(r["threads"]))
            frac = num(best["gbps"]) / bw if bw and num(best["gbps"]) else None
            out.append((r["variant"], "1 (cold)", r["threads"],
                        f"best ({best['impl']}) weight bytes / DRAM read bandwidth", fmt(frac, 0.75, le=False)))
    table("Library targets (ratios within one run)", ["case", "T", "threads", "ratio", "value"], out)


def position(R, r, impl="avx512"):
    """Where the implementation's row sits on the roofline: arithmetic intensity (cost model's
    FLOPs per byte of compulsory traffic) against the ridge point (peak / DRAM bandwidth of the
    row's thread count), and the share of the attainable roof it reaches (pct_peak)."""
    x = R.get(r, impl)
    if not x:
        return ""
    fl, by, pct = num(x["flops"]), num(x["bytes"]), num(x["pct_peak"])
    th = int(r["threads"])
    bw, pk = R.dram.get(th), R.peak.get(th)
    parts = []
    if fl and by:
        ai = fl / by
        if bw and pk:
            ridge = pk / bw
            parts.append(f"AI {ai:.1f} vs ridge {ridge:.1f} F/B "
                         f"({'compute' if ai > ridge else 'memory'}-bound)")
        else:
            parts.append(f"AI {ai:.1f} F/B")
    if pct:
        parts.append(f"{impl} at {pct:.0f} % of the roof")
    return "; ".join(parts)


def avx512_targets(R):
    out = []
    for r in R.cases(variant="lora"):
        if r["cache"] == "warm" and int(r["T"]) >= 512:
            out.append(("lora GEMM", r["T"], r["threads"], "avx512 speed / blas speed",
                        fmt(ratio(R.time(r, "blas"), R.time(r, "avx512")), 0.95, le=False),
                        position(R, r)))
    for r in R.cases(cache="cold", T=1):
        if R.get(r, "avx512"):
            x = R.get(r, "avx512")
            bw = R.dram.get(int(r["threads"]))
            out.append((r["variant"], "1 (cold)", r["threads"], "avx512 bytes / DRAM read bw",
                        fmt(num(x["gbps"]) / bw if bw else None, 0.80, le=False), ""))
            out.append((r["variant"], "1 (cold)", r["threads"], "avx512 speed / blas (sgemv) speed",
                        fmt(ratio(R.time(r, "blas"), R.time(r, "avx512")), 1.0, le=False),
                        position(R, r)))
    for v in ("mixlora", "molora", "moelora", "sparse_mlp"):
        for r in R.cases(variant=v, cache="warm"):
            if r["T"] not in ("1", "16", "128", "512"):
                continue
            libs = [R.time(r, i) for i in ("blas", "onednn")]
            libs = [t for t in libs if t]
            a = R.time(r, "avx512")
            if not libs or not a:
                continue
            tgt = 1.10 if int(r["T"]) >= 16 else 1.0
            best = min(("blas", "onednn"), key=lambda i: R.time(r, i) or math.inf)
            bp = num(R.get(r, best)["pct_peak"])
            pos = position(R, r) + (f"; {best} at {bp:.0f} %" if bp else "")
            out.append((f"{v} share={r['share']}" if v == "mixlora" else v, r["T"], r["threads"],
                        "best library / avx512", fmt(min(libs) / a, tgt, le=False), pos))
    table("AVX-512 targets (ratios within one run; > 1 means avx512 is faster)",
          ["case", "T", "threads", "ratio", "value", "roofline position"], out)


def peer_table(R):
    out = []
    for r in R.rows:
        if r["impl"] != "torch" or r["status"] != "ok" or r["mode"] != "forward":
            continue
        tt = num(r["time_us_median"])
        best, bi = None, None
        for impl in OURS:
            t = R.time(r, impl)
            if t and (best is None or t < best):
                best, bi = t, impl
        if not best:
            continue
        T = int(r["T"])
        v = r["variant"]
        if v in MIXTURES:
            tgt = 3.0 if T == 1 else 2.0 if T == 16 else 1.4
        else:
            tgt = 3.0 if T == 1 else 1.0
        name = f"{v} share={r['share']}" if v == "mixlora" else v
        out.append((name, r["T"], r["threads"], f"{tt:.0f}", f"{best:.0f} ({bi})",
                    fmt(tt / best, tgt, le=False)))
    table("Ours (best implementation) against the PyTorch peer, same run",
          ["case", "T", "threads", "torch µs", "ours µs", "torch / ours"], out)


def routing_targets(R):
    """Issue 16: load-imbalance robustness, capacity and shared experts, per implementation
    (avx512, the best library of blas/onednn, and the PyTorch peer when its rows are there)."""
    out = []

    def best_lib(r, **over):
        ts = [(R.time(r, i, **over), i) for i in ("blas", "onednn")]
        ts = [x for x in ts if x[0]]
        return min(ts) if ts else (None, None)

    def per_impl(r, name, over_a, over_b, target, note=""):
        for impl in ("avx512", "best library", "torch"):
            if impl == "best library":
                a, ia = best_lib(r, **over_a)
                b, ib = best_lib(r, **over_b)
                label = f"best library ({ia}/{ib})" if ia else impl
            else:
                a, b, label = R.time(r, impl, **over_a), R.time(r, impl, **over_b), impl
            if a is None and b is None:
                continue
            out.append((name, r["T"], r["threads"], label, fmt(ratio(a, b), target) + note))

    for v in ("sparse_mlp", "mixlora"):
        for r in R.cases(variant=v, route="balanced", shared="0"):
            if int(r["T"]) < 512 or r.get("cap") not in ("0", ""):
                continue
            tag = f"{v} shard={r['shard']}" if v == "sparse_mlp" else f"{v} share={r['share']}"
            per_impl(r, f"{tag}: hot:0.9 / balanced", {"route": "hot:0.9"}, {}, 1.10)
        for r in R.cases(variant=v, cap="1", shared="0"):
            tag = f"{v} shard={r['shard']}" if v == "sparse_mlp" else f"{v} share={r['share']}"
            per_impl(r, f"{tag} route={r['route']}: cap=1 / dropless", {}, {"cap": "0"}, 1.0)
        for r in R.cases(variant=v, shared="1", cap="0"):
            tag = f"{v} shard={r['shard']}" if v == "sparse_mlp" else f"{v} share={r['share']}"
            base = R.get(r, "blas", shared="0") or R.get(r, "onednn", shared="0")
            f1, f0 = num(r["flops"]), num(base["flops"]) if base else None
            share = (f1 - f0) / f0 if f1 and f0 else None
            if share is None:
                continue
            per_impl(r, f"{tag} route={r['route']}: shared=1 / shared=0", {}, {"shared": "0"},
                     round(1.0 + share + 0.05, 3), f" (FLOP share {share:.3f})")
    table("Routing targets (issue 16; ratios within one run)",
          ["case", "T", "threads", "implementation", "ratio"], out)


TRAIN_LIBS = ("blas", "onednn", "avx512")


def case_name(r):
    name = f"{r['variant']} share={r['share']}" if r["variant"] == "mixlora" else r["variant"]
    return name + (f" {r['_train']}" if r["_train"] else "")


def why_missing(R, r, impl, **over):
    """"skipped: reason" of a row that is there but not ok, "no row" when there is none."""
    x = R.any.get((key(r, **over), impl))
    if x is None:
        return "no row"
    return f"{x['status']}: {x['reason']}" if x["reason"] else x["status"]


def train_targets(R):
    """Issue 14's targets of the training step, within one run."""
    out = []
    # step / forward of the same implementation (the forward row of the same case, same run)
    for r in R.cases(mode="train"):
        if r["variant"] not in ("lora", "mlp_lora") or int(r["T"]) < 512:
            continue
        for impl in TRAIN_LIBS:
            step, fwd = R.time(r, impl), R.time(r, impl, mode="forward", train="")
            if step is None and fwd is None:
                continue
            val = fmt(ratio(step, fwd), None if r["_train"] else 2.15)
            if step is None:
                val = f"n/a (step: {why_missing(R, r, impl)})"
            elif fwd is None:
                val = f"n/a (no forward row of {impl}: run the case with mode = forward, train)"
            out.append((case_name(r), r["T"], r["threads"], f"{impl}: step / forward", val))
    # mixlora share=all step / mlp_lora step (same shapes)
    for r in R.cases(mode="train", variant="mixlora", share="all", _train=""):
        if int(r["T"]) < 128:
            continue
        for impl in TRAIN_LIBS:
            step = R.time(r, impl)
            base = R.find(impl, variant="mlp_lora", T=r["T"], threads=r["threads"], h=r["h"],
                          f=r["f"], r=r["r"], cache=r["cache"], mode="train")
            if step is None and base is None:
                continue
            val = fmt(ratio(step, base), 1.15)
            if step is None:
                val = f"n/a (step: {why_missing(R, r, impl)})"
            elif base is None:
                val = "n/a (no mlp_lora train row of the same shape)"
            out.append((case_name(r), r["T"], r["threads"], f"{impl}: mixlora step / mlp_lora step",
                        val))
    # avx512 step against the best library, for the mixtures at T >= 128
    for r in R.cases(mode="train"):
        if r["variant"] not in MIXTURES or int(r["T"]) < 128:
            continue
        libs = [(R.time(r, i), i) for i in ("blas", "onednn")]
        libs = [x for x in libs if x[0]]
        if not libs:
            continue
        a = R.time(r, "avx512")
        best, bi = min(libs)
        if a is None:
            val = f"n/a (avx512 {why_missing(R, r, 'avx512')})"
            pos = ""
        else:
            val = fmt(best / a, 1.0, le=False)
            pos = position(R, r)
        bp = num(R.get(r, bi)["pct_peak"])
        pos += (("; " if pos else "") + f"{bi} at {bp:.0f} % of the roof") if bp else ""
        out.append((case_name(r), r["T"], r["threads"], f"best library ({bi}) step / avx512 step",
                    val, pos))
    table("Training-step targets (issue 14; ratios within one run)",
          ["case", "T", "threads", "ratio", "value", "roofline position"],
          [l if len(l) == 6 else l + ("",) for l in out])
    if not any(x["mode"] == "train" for x in R.rows):
        return
    # against the PyTorch peer's step: time and saved activations
    peer = []
    for r in R.rows:
        if r["impl"] != "torch" or r["status"] != "ok" or r["mode"] != "train":
            continue
        tt = num(r["time_us_median"])
        ours = [(R.time(r, i), i) for i in TRAIN_LIBS if R.time(r, i)]
        if not tt or not ours:
            continue
        best, bi = min(ours)
        T = int(r["T"])
        tgt = 2.0 if T <= 128 else 1.3 if T >= 512 else 1.0
        ts = num(r.get("saved_bytes"))
        saved = [(num(R.get(r, i).get("saved_bytes")), i) for _, i in ours]
        saved = [x for x in saved if x[0] is not None]
        if ts and saved:
            worst, wi = max(saved)
            sv = f"{worst / 2**20:.2f} MiB ({wi}) / {ts / 2**20:.2f} MiB = " + fmt(worst / ts, 1.0)
        else:
            sv = "n/a (no saved_bytes" + (" in the torch row)" if not ts else " in our rows)")
        peer.append((case_name(r), r["T"], r["threads"], f"{tt:.0f}", f"{best:.0f} ({bi})",
                     fmt(tt / best, tgt, le=False), sv))
    if peer:
        table("Training step: ours (best implementation) against the PyTorch peer, same run "
              "(saved: our largest saved_bytes / torch's, target ≤ 1)",
              ["case", "T", "threads", "torch µs", "ours µs", "torch / ours", "saved bytes"], peer)
    else:
        print("\n### Training step against the PyTorch peer\n\nno torch rows in mode=train "
              "(run with `--peer torch`): speed and saved_bytes targets not evaluated")


def precision_targets(R):
    """Issue 15's targets, within one run: each precision against the same implementation's f32
    twin (the same case without dtype and wq), and avx512 against onednn in bf16."""
    out = []
    for r in R.rows:
        if r["status"] != "ok" or r["mode"] != "forward" or r["impl"] in ("naive", "torch"):
            continue
        dt, wq = r.get("dtype") or "f32", r.get("wq") or ""
        if dt == "f32" and not wq:
            continue
        t, f32 = num(r["time_us_median"]), R.time(r, r["impl"], dtype="f32", wq="")
        T = int(r["T"])
        prec = dt + (f"+{wq}" if wq else "")
        if T == 1:   # weights streamed: bytes halved (bf16) or quartered (int8 levels)
            tgt = 3.0 if wq == "int8" else 1.8 if dt == "bf16" and not wq else None
        else:        # compute-bound: the AVX512-BF16 path
            tgt = 1.6 if T >= 128 and dt == "bf16" and not wq and r["impl"] == "avx512" else None
        val = fmt(ratio(f32, t), tgt, le=False) if f32 else \
            f"n/a (no f32 row of {r['impl']}: run the case with dtype = f32, {dt})"
        out.append((case_name(r), r["T"], r["threads"], f"{r['impl']}: f32 / {prec}", val))
    for r in R.cases(dtype="bf16"):
        if r["variant"] not in MIXTURES or int(r["T"]) < 16 or (r.get("wq") or ""):
            continue
        a, o = R.time(r, "avx512"), R.time(r, "onednn")
        if a is None and o is None:
            continue
        if a is None:
            val = f"n/a (avx512 {why_missing(R, r, 'avx512')})"
        elif o is None:
            val = f"n/a (onednn {why_missing(R, r, 'onednn')})"
        else:
            val = fmt(o / a, 1.0, le=False)
        out.append((case_name(r), r["T"], r["threads"], "onednn bf16 / avx512 bf16", val))
    if out:
        table("Precision targets (issue 15; ratios within one run; the AMX-BF16 targets need the "
              "AMX kernels, not built)", ["case", "T", "threads", "ratio", "value"], out)


ROOF_TARGET = 0.80   # issue 18: every ok row at >= 80 % of its own ceiling


def roof_bound(R, r):
    """compute or memory: whether the row's ceiling is the peak (the bandwidth slope lies above
    it at this intensity) or the level's bandwidth x intensity. "" when the run has no peak."""
    if r.get("roof_level") == "peak":
        return "compute (no bandwidth)"
    th = num(r.get("threads"))
    pk = R.peak.get(1) if th == 1 and R.peak.get(1) else R.peak.get(2)
    roof = num(r.get("roof_gflops"))
    if not pk or not roof:
        return ""
    return "compute" if roof >= pk * (1 - 1e-4) else "memory"


def no_ceiling_reason(R, r):
    """Why a row has no ceiling to be ranked against."""
    if r["status"] != "ok":
        return f"{r['status']}: {r['reason']}" if r.get("reason") else r["status"]
    if "roof_gflops" not in r:
        return "no roof_gflops column: the run predates the cache-aware roofline"
    if not num(r.get("gflops")):
        return "no FLOP count for this row (or a peer row: no GFLOP/s recorded)"
    if not R.peak.get(1) and not R.peak.get(2):
        return "no roofline measured for the run (run.json roofline has no peak)"
    if r["impl"] == "torch":
        return ("a PyTorch peer row without roof_gflops (the peer copies its case's ceiling "
                "since issue 18; rerun --peer torch)")
    return "no ceiling recorded for this row"


def roof_fraction(r):
    g, roof = num(r.get("gflops")), num(r.get("roof_gflops"))
    return g / roof if g and roof and r["status"] == "ok" else None


def roof_report(R):
    """Issue 18 item 4: every row against its own ceiling, worst first, and the 80 % target."""
    ranked, apart = [], []
    for r in R.rows:
        f = roof_fraction(r)
        (ranked if f is not None else apart).append((f, r))
    ranked.sort(key=lambda x: (x[0], x[1]["variant"], int(x[1]["T"] or 0), x[1]["impl"]))
    lines = []
    for f, r in ranked:
        fl, by = num(r.get("flops")), num(r.get("bytes"))
        ai = f"{fl / by:.1f}" if fl and by else "n/a"
        note = " (above its ceiling)" if r.get("above_roof") == "1" else ""
        lines.append((r["variant"], r["impl"], r["T"], r["threads"], r["cache"], r["mode"],
                      r["roof_level"], ai, f"{num(r['gflops']):.2f}",
                      f"{num(r['roof_gflops']):.2f}", f"{100 * f:.1f} %{note}", roof_bound(R, r)))
    table("Roof: each row's fraction of its own ceiling (gflops / roof_gflops), worst first",
          ["variant", "impl", "T", "threads", "cache", "mode", "level", "AI F/B", "GFLOP/s",
           "ceiling GFLOP/s", "of ceiling", "bound"], lines)
    table("Rows without a ceiling (not ranked)",
          ["variant", "impl", "T", "threads", "cache", "mode", "why no ceiling"],
          [(r["variant"], r["impl"], r["T"], r["threads"], r["cache"], r["mode"],
            no_ceiling_reason(R, r)) for _, r in apart])
    # the target: every ok row at >= 80 % of its own ceiling, per implementation; naive is the
    # reference (plain loops), not a target
    out = []
    impls = []
    for r in R.rows:
        if r["impl"] not in impls and r["impl"] != "naive":
            impls.append(r["impl"])
    for impl in impls:
        rows = [r for r in R.rows if r["impl"] == impl]
        ok = [(roof_fraction(r), r) for r in rows if r["status"] == "ok"]
        have = sorted(((f, r) for f, r in ok if f is not None),
                      key=lambda x: (x[0], x[1]["variant"], int(x[1]["T"] or 0)))
        if not have:
            why = sorted({no_ceiling_reason(R, r) for r in rows})
            out.append((impl, len(rows), 0, "n/a", "not measured: " + "; ".join(why)[:300]))
            continue
        below = [(f, r) for f, r in have if f < ROOF_TARGET]
        named = ", ".join(f"{r['variant']} T={r['T']} t={r['threads']}"
                          f"{' cold' if r['cache'] == 'cold' else ''}"
                          f"{' train' if r['mode'] == 'train' else ''} {100 * f:.0f} %"
                          for f, r in below)
        unranked, notok = len(ok) - len(have), len(rows) - len(ok)
        verdict = "✓" if not below else f"✗ {len(below)} below"
        if unranked:
            verdict += f" ({unranked} ok rows without a ceiling not evaluated)"
        if notok:
            verdict += f" ({notok} rows not ok: not measured)"
        out.append((impl, len(rows), len(have), verdict, named or "none"))
    table(f"Issue 18 target: every ok row at >= {100 * ROOF_TARGET:.0f} % of its own ceiling "
          "(per implementation; naive, the reference, is not a target)",
          ["implementation", "rows", "with a ceiling", "target", f"below {100 * ROOF_TARGET:.0f} % "
           "(worst first)"], out)


I18_IMPLS = ("blas", "onednn", "avx512")


def i18_value(R, r, impl, target, le, base_t, base_what):
    """One cell of an issue-18 ratio: impl's time on row r over base_t (le) or base_t over it,
    or "not measured: ..." with the reason; a ratio whose base is missing names that row."""
    t = R.time(r, impl)
    if t is None:
        return f"not measured: {impl} {why_missing(R, r, impl)}"
    if base_t is None:
        return f"n/a (no {base_what})"
    return fmt(t / base_t if le else base_t / t, target, le)


def verdict(lines, col=-1):
    """(met, not met, not measured) over the value column of lines."""
    met = sum("✓" in l[col] for l in lines)
    bad = sum("✗" in l[col] for l in lines)
    return met, bad, len(lines) - met - bad


def i18_targets(R):
    """Issue 18's cost targets, ratios within one run, per implementation present."""
    out = []
    # molora, moelora, mor1e / lora at equal total rank, every T
    for v in ("molora", "moelora", "mor1e"):
        for r in R.cases(variant=v):
            total = int(r["r"]) * (int(r["E"]) if v == "molora" else 1)
            for impl in I18_IMPLS:
                if (key(r), impl) not in R.any:
                    continue
                base = R.find(impl, variant="lora", T=r["T"], threads=r["threads"], h=r["h"],
                              o=r["o"], r=total, cache=r["cache"])
                what = (f"{impl} lora row at total rank {total}" +
                        (" (molora's total rank is r x E: suites/targets.ini [i18_molora_same_rank]"
                         " runs r=2)" if v == "molora" else ""))
                out.append((f"{v} / lora (total rank {total})", r["T"], r["threads"], r["cache"],
                            impl, i18_value(R, r, impl, 1.10, True, base, what)))
    # mixlora share=all / mlp_lora, every T
    for r in R.cases(variant="mixlora", share="all"):
        for impl in I18_IMPLS:
            if (key(r), impl) not in R.any:
                continue
            base = R.find(impl, variant="mlp_lora", T=r["T"], threads=r["threads"], h=r["h"],
                          f=r["f"], r=r["r"], cache=r["cache"])
            out.append(("mixlora share=all / mlp_lora", r["T"], r["threads"], r["cache"], impl,
                        i18_value(R, r, impl, 1.10, True, base, f"{impl} mlp_lora row")))
    met, bad, nm = verdict(out)
    table(f"Issue 18 targets: mixture cost (ratio ≤ 1.10; {met} met, {bad} not met, {nm} not "
          "measured)", ["ratio", "T", "threads", "cache", "implementation", "value"], out)

    # avx512 >= the best library in every cell
    cells = []
    for r in R.cases():
        # a cell: a case that asked for avx512 and has a library time to hold it against
        libs = [(R.time(r, i), i) for i in ("blas", "onednn") if R.time(r, i)]
        if not libs or (key(r), "avx512") not in R.any:
            continue
        best, bi = min(libs)
        a = R.time(r, "avx512")
        name = f"{r['variant']} share={r['share']}" if r["variant"] == "mixlora" else r["variant"]
        val = (fmt(best / a, 1.0, le=False) if a else
               f"not measured: avx512 {why_missing(R, r, 'avx512')}")
        cells.append((name, r["T"], r["threads"], r["cache"], f"{bi} / avx512", val))
    met, bad, nm = verdict(cells)
    table(f"Issue 18 target: avx512 ≥ the best library in every cell (best library time / "
          f"avx512 time ≥ 1; {met} met, {bad} not met, {nm} not measured)",
          ["case", "T", "threads", "cache", "ratio", "value"], cells)

    # ours against PyTorch, every mixture: >= 2x at T=16, >= 1.4x at T >= 128, never slower
    peer = []
    torch_rows = [r for r in R.rows if r["impl"] == "torch" and r["mode"] == "forward" and
                  r["variant"] in MIXTURES]
    for r in torch_rows:
        T = int(r["T"])
        tgt = 2.0 if T == 16 else 1.4 if T >= 128 else 1.0
        name = f"{r['variant']} share={r['share']}" if r["variant"] == "mixlora" else r["variant"]
        tt = R.time(r, "torch")
        for impl in I18_IMPLS:
            if (key(r), impl) not in R.any:
                continue
            val = (f"not measured: torch {r['status']}: {r['reason']}" if tt is None else
                   i18_value(R, r, impl, tgt, False, tt, "torch time"))
            peer.append((name, r["T"], r["threads"], r["cache"], impl, val))
    if not torch_rows:
        print("\n### Issue 18 target: ours against PyTorch\n\nnot measured: no torch rows of "
              "a mixture in the run (run the default suite with `--peer torch`)")
    else:
        met, bad, nm = verdict(peer)
        table(f"Issue 18 target: torch time / ours, every mixture (≥ 2 at T=16, ≥ 1.4 at "
              f"T ≥ 128, ≥ 1 elsewhere; {met} met, {bad} not met, {nm} not measured)",
              ["case", "T", "threads", "cache", "implementation", "torch / ours"], peer)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    for d in sys.argv[1:]:
        R = Run(d)
        print(f"\n## {d} (run {R.run.get('run_id', '?')})")
        library_targets(R)
        avx512_targets(R)
        routing_targets(R)
        peer_table(R)
        train_targets(R)
        precision_targets(R)
        i18_targets(R)
        roof_report(R)
    return 0


if __name__ == "__main__":
    sys.exit(main())
