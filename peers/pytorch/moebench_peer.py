#!/usr/bin/python3
"""moebench's PyTorch peer: the same cases in eager PyTorch, as upstream users write them.

  moebench_peer.py check DIR [DIR ...] [--float64]
      Load each `moebench dump` directory, run the torch module, compare Y (and routing, gate,
      aux loss) with the dump. Exit 0 when everything agrees, 1 on a mismatch, 2 on an error.

  moebench_peer.py bench DIR --results results.csv [--samples samples.csv] [--threads N]
                   [--reps N] [--min-time SEC] [--run-id ID]
      Check the case (when the dump has Y.npy), time the torch forward and append one row in
      moebench's results.csv schema (impl = torch) plus one samples.csv row per repetition.

  moebench_peer.py run-suite RESULTS_DIR --moebench PATH [--threads N] [--ref-max-gflop G]
      For every distinct case of RESULTS_DIR/results.csv: `moebench dump` it into a temporary
      directory, run `bench` on it in a fresh python process, append torch rows, delete the dump.

Threads: --threads N sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS before torch is imported
(torch.set_num_threads alone does not limit OpenBLAS's pool on Debian's build) and calls
torch.set_num_threads(N). Tolerance and everything else: README.md next to this file.
"""

import argparse
import csv
import datetime
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# results.csv columns when the file does not exist yet (harness/results/csv.c, design section 5).
RESULT_COLUMNS = [
    "run_id", "variant", "impl", "status", "reason", "dtype", "threads", "cache", "B", "S", "T",
    "h", "o", "f", "r", "E", "k", "share", "shard", "samples", "time_us_median", "time_us_min",
    "time_us_p95", "time_us_mad", "time_us_ci_lo", "time_us_ci_hi", "prepare_us", "flops",
    "bytes", "gflops", "gbps", "pct_peak", "weights_bytes", "workspace_bytes", "peak_rss_bytes",
    "max_abs_err", "max_rel_err", "expert_load_max", "aux_loss",
    "case", "alpha", "act", "seed", "iters_per_sample", "prepare_bytes", "breakeven_calls",
    "mode", "blas_core", "onednn_isa", "fwd_us", "bwd_us", "saved_bytes", "grad_bytes",
    "optimizer_bytes", "wq"]
SAMPLE_COLUMNS = ["run_id", "case", "impl", "threads", "cache", "rep", "time_ns"]
ROUTED = ("mixlora", "sparse_mlp", "router")


def set_threads_env(n, wait_policy="passive"):
    """Must run before `import torch`. wait_policy: OMP_WAIT_POLICY for torch's OpenMP pool
    ("inherit" keeps the environment's). Passive by default: torch's OpenMP threads spinning
    after an elementwise op steal the cores from OpenBLAS's separate pthread pool during the
    next matmul (measured 5-20x slower lora forwards with 2 threads on 2 cores)."""
    if wait_policy and wait_policy != "inherit":
        os.environ["OMP_WAIT_POLICY"] = wait_policy.upper()
    if n and n > 0:
        os.environ["OMP_NUM_THREADS"] = str(n)
        os.environ["OPENBLAS_NUM_THREADS"] = str(n)
        os.environ["MKL_NUM_THREADS"] = str(n)


def import_torch(threads):
    import torch
    if threads and threads > 0:
        torch.set_num_threads(threads)
    return torch


# ---- loading a dump --------------------------------------------------------------------------

def load_dump(directory):
    import numpy as np
    with open(os.path.join(directory, "case.json")) as fp:
        meta = json.load(fp)
    arrays = {}
    for t in meta["tensors"]:
        a = np.load(os.path.join(directory, t["file"]))
        if list(a.shape) != list(t["shape"]):
            raise ValueError(f"{t['file']}: shape {list(a.shape)}, case.json says {t['shape']}")
        arrays[t["name"]] = a
    dequantise(meta, arrays)
    return meta, arrays


def dequantise(meta, arrays):
    """wq (spec "Precision"): the dump holds each base weight's levels (int32, "stored" int8 or
    int4) and <name>_scale [..., rows, groups]. torch has no weight-only int8/int4 matmul on
    CPU, so the peer builds the layer from q * scale (exact in float64; the module then casts
    to its dtype): a full dequantised copy, said in the row's reason."""
    import numpy as np
    wq = meta["spec"].get("wq", "none")
    if wq == "none":
        return
    for t in meta["tensors"]:
        if t.get("stored") not in ("int8", "int4"):
            continue
        q = arrays[t["name"]].astype(np.float64)
        sc = arrays[t["name"] + "_scale"].astype(np.float64)
        groups = sc.shape[-1]
        K = q.shape[-1]
        w = q.reshape(q.shape[:-1] + (groups, K // groups)) * sc[..., None]
        arrays[t["name"]] = w.reshape(q.shape)
    meta["dequantised"] = (f"torch runs wq={wq} as dequantised {meta['spec']['dtype']} weights "
                           "(q * scale, a full copy: no weight-only quantised matmul)")


# ---- comparison --------------------------------------------------------------------------------

class Check:
    """Result of comparing a torch forward with the dump."""

    def __init__(self):
        self.ok = True
        self.messages = []
        self.max_abs_err = float("nan")
        self.max_rel_err = float("nan")
        self.checked_values = False
        self.near_ties = None   # routing differences excused as near ties (None: not routed)

    def fail(self, msg):
        self.ok = False
        self.messages.append(msg)

    def note(self, msg):
        self.messages.append(msg)


def compare(meta, arrays, y, extras):
    """Compares the torch outputs (numpy, float64) with the dump's reference arrays. Without a
    full Y.npy but with Y_rows.npy (dump --ref-rows), the rows naive recomputed are compared."""
    if "Y" not in arrays and "Y_rows" in arrays:
        rows = arrays["rows"].astype("int64")
        sub = {"Y": arrays["Y_rows"]}
        for name in ("route_idx", "route_w", "route_dropped", "route_near_ties"):
            if name + "_rows" in arrays:
                sub[name] = arrays[name + "_rows"]
        per_token = {k: v[rows] for k, v in extras.items()
                     if k in ("route_idx", "route_w", "router_logits", "route_dropped")}
        res = _compare(meta, sub, y[rows], per_token)   # indices in messages: sample numbers
        res.note(f"values checked on {len(rows)} of {y.shape[0]} rows recomputed by naive"
                 " (no full reference)")
        return res
    return _compare(meta, arrays, y, extras)


def by_expert(d, name, E):
    """[T, E] of the per-slot array d[name] [T, k] placed at the chosen experts (route_idx; the
    empty top-p slots, -1, are left out); zeros when d has no such array."""
    import numpy as np
    idx = d["route_idx"].astype(np.int64)
    out = np.zeros((idx.shape[0], E))
    if name not in d:
        return out
    val = np.asarray(d[name], dtype=np.float64)
    for j in range(idx.shape[1]):
        ok = idx[:, j] >= 0
        out[np.nonzero(ok)[0], idx[ok, j]] = val[ok, j]
    return out


def _compare(meta, arrays, y, extras):
    import numpy as np
    from moebench_layers import tolerance
    spec = meta["spec"]
    res = Check()
    skip_rows = np.zeros(y.shape[0], dtype=bool)
    # bf16 (spec "Precision"): torch routes on bf16 logits, so near ties and weights are judged
    # at bf16's scale (4u, u = 2^-8) instead of fp32's
    bf16 = spec.get("dtype") == "bf16"
    tie_gap, w_tol, g_tol = (4 * 2.0 ** -8,) * 3 if bf16 else (1e-6, 1e-5, 1e-4)

    # Routing first (as moebench does): same experts per token, as sets (order within a token
    # can differ only on exact ties). A token may differ only where the dump flags a near tie
    # (route_near_ties: moebench's own rule, compare.h mb_routing_near_ties, so the peer
    # excuses exactly what the run excuses); such tokens are counted in near_ties and not
    # value-checked. A dump without the flags (older moebench): a probability gap under
    # tie_gap excuses the token instead.
    if "route_idx" in arrays and "route_idx" in extras:
        ref_idx = np.sort(arrays["route_idx"].astype(np.int64), axis=1)
        got_idx = np.sort(extras["route_idx"].astype(np.int64), axis=1)
        bad = np.nonzero((ref_idx != got_idx).any(axis=1))[0]
        near = arrays.get("route_near_ties")
        res.near_ties = 0
        if len(bad) and near is not None:
            near = np.asarray(near).astype(bool).reshape(-1)
            for t in bad:
                if near[t]:
                    skip_rows[t] = True
                else:
                    res.fail(f"routing differs at token {t}: naive {arrays['route_idx'][t].tolist()}"
                             f" torch {extras['route_idx'][t].tolist()}, not a near tie of the "
                             "top-k choice")
                    break
            if skip_rows.any():
                res.near_ties = int(skip_rows.sum())
                res.note(f"{res.near_ties} token(s) within a near tie of the top-k choice "
                         "(column near_ties): routing differs there, values not checked")
        elif len(bad):
            logits = extras["router_logits"].astype(np.float64)
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            for t in bad:
                only_ref = sorted(set(ref_idx[t]) - set(got_idx[t]))
                only_got = sorted(set(got_idx[t]) - set(ref_idx[t]))
                gap = max(abs(p[t, a] - p[t, b]) for a in only_ref for b in only_got)
                if gap <= tie_gap:
                    skip_rows[t] = True
                else:
                    res.fail(f"routing differs at token {t}: naive {arrays['route_idx'][t].tolist()}"
                             f" torch {extras['route_idx'][t].tolist()} (p gap {gap:.3g})")
                    break
            if skip_rows.any():
                res.near_ties = int(skip_rows.sum())
                res.note(f"{res.near_ties} token(s) with a near-tie in routing not value-checked")
        if res.ok and "route_dropped" in arrays:
            # the capacity's drops (routing options), matched by expert id like the weights
            ref_d, got_d = by_expert(arrays, "route_dropped", spec["E"]), by_expert(extras, "route_dropped", spec["E"])
            bad = np.nonzero((ref_d != got_d).any(axis=1) & ~skip_rows)[0]
            if len(bad):
                res.fail(f"capacity drops differ at token {int(bad[0])}: naive "
                         f"{arrays['route_dropped'][bad[0]].tolist()} torch "
                         f"{extras.get('route_dropped', np.zeros(1))[bad[0]].tolist()}")
        if res.ok and "route_w" in arrays:
            # compare the weight of each chosen expert, matched by expert id
            ref_w, got_w = by_expert(arrays, "route_w", spec["E"]), by_expert(extras, "route_w", spec["E"])
            d = np.abs(ref_w - got_w)[~skip_rows]
            if d.size and d.max() > w_tol:
                t = int(np.argmax(d.max(axis=1)))
                res.fail(f"routing weights differ by {d.max():.3g} (> {w_tol:g}) at token {t}")

    # Per-sequence / per-token gate (moelora [B,E], mor1e [T,r], molora [T,E]).
    if res.ok and "gate" in arrays and "gate" in extras:
        ref_g = arrays["gate"].astype(np.float64)
        got_g = extras["gate"].reshape(ref_g.shape)
        rms = math.sqrt(float(np.mean(ref_g ** 2))) or 1.0
        d = np.abs(ref_g - got_g)
        if d.max() > g_tol * rms + g_tol * np.abs(ref_g).max():
            res.fail(f"gate differs: max |diff| {d.max():.3g} (rms {rms:.3g})")

    # Values.
    if "Y" in arrays:
        ref = arrays["Y"].astype(np.float64)
        if ref.shape != y.shape:
            res.fail(f"Y shape {list(y.shape)} vs reference {list(ref.shape)}")
            return res
        keep = ~skip_rows
        rms = math.sqrt(float(np.mean(ref ** 2))) if ref.size else 0.0
        atol, rtol = tolerance(spec, rms)
        d = np.abs(y - ref)[keep]
        r = ref[keep]
        res.checked_values = True
        if not np.all(np.isfinite(y[keep])):
            res.fail("torch output has NaN/Inf")
            return res
        res.max_abs_err = float(d.max()) if d.size else 0.0
        denom = np.maximum(np.abs(r), rms if rms > 0 else 1.0)
        res.max_rel_err = float((d / denom).max()) if d.size else 0.0
        bad = d > atol + rtol * np.abs(r)
        if bad.any():
            rows = np.nonzero(keep)[0]
            i, j = np.unravel_index(int(np.argmax(bad)), bad.shape)
            res.fail(f"Y mismatch at [{int(rows[i])},{int(j)}]: torch {y[rows[i], j]:.9g} naive "
                     f"{ref[rows[i], j]:.9g}; max |diff| {res.max_abs_err:.3g} > atol {atol:.3g}"
                     f" + rtol {rtol:g}*|ref| ({int(bad.sum())} of {bad.size} elements)")
    else:
        res.note("values not checked (no reference Y.npy in the dump)")

    # Aux loss of the routed variants (informational unless clearly off).
    if res.ok and "aux_loss" in extras and meta.get("aux_loss") is not None:
        ref_aux = meta["aux_loss"]
        aux_tol = 4 * 2.0 ** -8 if spec.get("dtype") == "bf16" else 1e-4   # bf16 logits
        if abs(extras["aux_loss"] - ref_aux) > aux_tol * max(1.0, abs(ref_aux)):
            res.fail(f"aux loss {extras['aux_loss']:.9g} vs naive {ref_aux:.9g}")
    return res


def run_module(meta, arrays, dtype_name="float32", threads=0):
    """Builds the module, runs it once; returns (module, inputs, y numpy f64, extras numpy, build_s)."""
    torch = import_torch(threads)
    import numpy as np
    from moebench_layers import build
    # the case's dtype: bf16 runs as .to(torch.bfloat16) of the dump's (exactly widened) values
    dtype = torch.float64 if dtype_name == "float64" else \
        torch.bfloat16 if meta["spec"].get("dtype") == "bf16" else torch.float32
    t0 = time.perf_counter_ns()
    module, inputs = build(meta["spec"], arrays, dtype)
    build_ns = time.perf_counter_ns() - t0
    with torch.inference_mode():
        y, extras = module(*inputs)
    out = {k: v.detach().to(torch.float64 if v.is_floating_point() else v.dtype).numpy()
           for k, v in extras.items()}
    if "route_idx" in out:
        out["aux_loss"] = aux_loss(out["router_logits"], out["route_idx"], meta["spec"]["E"])
        # counts of what the experts compute: empty top-p slots and capacity drops left out
        live = out["route_idx"].reshape(-1)
        if "route_dropped" in out:
            live = live[out["route_dropped"].reshape(-1) == 0]
        counts = np.bincount(live[live >= 0], minlength=meta["spec"]["E"])
        T, k, E = out["route_idx"].shape[0], out["route_idx"].shape[1], meta["spec"]["E"]
        out["load_max"] = float(counts.max()) / (T * k / E) if T * k else float("nan")
    return module, inputs, y.detach().to(torch.float64).numpy(), out, build_ns


def aux_loss(logits, idx, E):
    """HF Mixtral / MixLoRA load-balancing loss: E * sum_e F_e P_e (balanced value k)."""
    import numpy as np
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    T = z.shape[0]
    F = np.zeros(E)
    for e in range(E):
        F[e] = np.count_nonzero((idx == e).any(axis=1)) / T
    return float(E * np.sum(F * p.mean(axis=0)))


# ---- check -----------------------------------------------------------------------------------

def check_one(directory, float64, threads):
    """Checks one dump; returns 0 ok, 1 mismatch, 2 error (messages on stdout / stderr)."""
    try:
        meta, arrays = load_dump(directory)
        if is_train(meta):
            return check_train_one(meta, arrays, threads)
        for dt in ["float32"] + (["float64"] if float64 else []):
            _, _, y, extras, _ = run_module(meta, arrays, dt, threads)
            res = compare(meta, arrays, y, extras)
            shown = "bfloat16" if dt == "float32" and meta["spec"].get("dtype") == "bf16" else dt
            tag = f"{meta['case']} [torch {shown}]"
            if not res.ok:
                print(f"MISMATCH {tag}: " + "; ".join(res.messages), flush=True)
                return 1
            extra = (" (" + "; ".join(res.messages) + ")") if res.messages else ""
            if res.checked_values:
                print(f"ok {tag}: max_abs_err {res.max_abs_err:.3g} max_rel_err "
                      f"{res.max_rel_err:.3g}{extra}", flush=True)
            else:
                print(f"ok {tag}: " + "; ".join(res.messages), flush=True)
        return 0
    except Exception as exc:   # a broken dump or peer is an error, not a pass
        print(f"ERROR {directory}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 2


def is_train(meta):
    return meta["spec"].get("mode", "forward") == "train"


def check_train_one(meta, arrays, threads):
    """A mode=train dump: one torch step (float32) against naive's Y, routing and gradients."""
    import_torch(threads)
    from moebench_train import check_train
    res, _ = check_train(meta, arrays, Check, compare)
    tag = f"{meta['case']} [torch float32 train]"
    if not res.ok:
        print(f"MISMATCH {tag}: " + "; ".join(res.messages), flush=True)
        return 1
    print(f"ok {tag}: max_abs_err {res.max_abs_err:.3g} max_rel_err {res.max_rel_err:.3g} ("
          + "; ".join(res.messages) + ")", flush=True)
    return 0


def cmd_check(args):
    """Exit code: the worst over the directories (0 ok, 1 mismatch, 2 error)."""
    return max(check_one(d, args.float64, args.threads) for d in args.dirs)


# ---- statistics (same definitions as harness/exec/stats.c) ------------------------------------------

def quantile_sorted(x, q):
    n = len(x)
    if n == 0:
        return float("nan")
    if q <= 0:
        return x[0]
    if q >= 1:
        return x[-1]
    pos = q * (n - 1)
    i = int(pos)
    if i + 1 >= n:
        return x[-1]
    return x[i] + (pos - i) * (x[i + 1] - x[i])


def median_ci_ranks(n, conf=0.95):
    """0-based ranks of the distribution-free CI of the median (binomial order statistics);
    (0, n-1, False) when n is too small for the coverage."""
    tail = (1 - conf) / 2
    best, cdf = 0, 0.0
    for j in range(1, (n + 1) // 2 + 1):
        cdf += math.comb(n, j - 1) / 2.0 ** n
        if cdf <= tail:
            best = j
        else:
            break
    if best == 0:
        return 0, n - 1, False
    return best - 1, n - best, True


def summarize(samples):
    x = sorted(samples)
    med = quantile_sorted(x, 0.5)
    mad = quantile_sorted(sorted(abs(v - med) for v in x), 0.5)
    lo, hi, ci_ok = median_ci_ranks(len(x))
    mean = sum(x) / len(x)
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (len(x) - 1)) if len(x) > 1 else 0.0
    return {"median": med, "min": x[0], "p95": quantile_sorted(x, 0.95), "mad": mad,
            "ci_lo": x[lo], "ci_hi": x[hi], "ci_ok": ci_ok, "n": len(x),
            "cv": sd / mean if mean else 0.0}


def stability_verdict(st, ci_target=0.05):
    """The harness's verdict (harness/exec/timing.c mb_timing_verdict): '' when stable."""
    med = st["median"]
    half = max(med - st["ci_lo"], st["ci_hi"] - med) / med if med > 0 else 0.0
    if not st["ci_ok"]:
        return (f"unstable: only {st['n']} samples, too few for a 95% CI; raise --reps or"
                " --min-time")
    if half > ci_target:
        return (f"unstable: CI \u00b1{100 * half:.0f}% of the median (target {100 * ci_target:.0f}%);"
                " close other programs / raise --min-time")
    if st["cv"] > 0.25:
        return f"unstable: CV {100 * st['cv']:.0f}% (outliers); close other programs / raise --min-time"
    return ""


# ---- bench -------------------------------------------------------------------------------------

def time_forward(torch, module, inputs, reps, min_time):
    """Warm-up, then `reps` samples of `iters` calls each, iters chosen so a sample lasts about
    min_time / reps (Google Benchmark style). Returns (per-call times in ns, iters)."""
    def call():
        module(*inputs)

    with torch.inference_mode():
        t0 = time.perf_counter_ns()
        call()                                   # warm-up (first call: allocations, caches)
        warm_end = t0 + int(0.1 * min_time * 1e9)
        one = time.perf_counter_ns() - t0
        while time.perf_counter_ns() < warm_end:
            t1 = time.perf_counter_ns()
            call()
            one = time.perf_counter_ns() - t1
        target = min_time * 1e9 / max(reps, 1)
        iters = max(1, min(1000000, int(math.ceil(target / max(one, 1)))))
        times = []
        for _ in range(reps):
            t1 = time.perf_counter_ns()
            for _ in range(iters):
                call()
            times.append((time.perf_counter_ns() - t1) / iters)
    return times, iters


def read_header(path, default):
    if os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path, newline="") as fp:
            header = next(csv.reader(fp), None)
        if header:
            return header, False
    return list(default), True


def same_case_row(results_path, case):
    """A non-torch row of results.csv with the same case descriptor (run_id, cost columns)."""
    if not os.path.exists(results_path):
        return None
    first = None
    with open(results_path, newline="") as fp:
        for row in csv.DictReader(fp):
            if row.get("case") == case and row.get("impl") != "torch":
                if row.get("status") == "ok":
                    return row
                first = first or row
    return first


def append_row(path, row, default_columns):
    header, new = read_header(path, default_columns)
    with open(path, "a", newline="") as fp:
        w = csv.writer(fp, lineterminator="\n")
        if new:
            w.writerow(header)
        w.writerow(["" if row.get(c) is None else row.get(c) for c in header])


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.9g}"
    return str(v)


# results.csv spec columns filled only when the variant uses them (B, S, T, h always are)
SPEC_OPTIONAL_COLUMNS = ("o", "f", "r", "E", "k", "share", "shard")


def loaded_openblas_core():
    """openblas_get_corename() of the OpenBLAS torch loaded (Debian's torch uses the system BLAS,
    OpenBLAS through libblas.so.3), for the blas_core column; "" when none is loaded. The core
    follows the OPENBLAS_CORETYPE the harness passed on (moebench --openblas-core)."""
    import ctypes
    try:
        with open("/proc/self/maps") as fp:
            paths = sorted({ln.split()[-1] for ln in fp if "openblas" in ln and "/" in ln})
    except OSError:
        return ""
    for path in paths:
        try:
            fn = ctypes.CDLL(path).openblas_get_corename
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_char_p
        name = fn()
        return name.decode() if name else ""
    return ""


def base_row(meta, args, threads):
    spec = meta["spec"]
    cost = meta.get("cost", {})
    row = {
        "run_id": args.run_id, "variant": spec["variant"], "impl": "torch", "dtype": spec["dtype"],
        "threads": threads, "cache": "warm", "B": spec["B"], "S": spec["S"], "T": spec["T"],
        "h": spec["h"], "o": spec["o"], "f": spec["f"], "r": spec["r"], "E": spec["E"],
        "k": spec["k"], "share": spec["share"], "shard": spec["shard"],
        "case": meta["case"], "alpha": spec["alpha"], "act": spec["act"], "seed": spec["seed"],
        "flops": cost.get("flops"), "bytes": cost.get("bytes"),
        "weights_bytes": meta.get("weights_bytes"), "mode": spec.get("mode", "forward"),
        "wq": "" if spec.get("wq", "none") == "none" else spec["wq"],
    }
    # like the harness's rows: spec columns the variant does not use stay empty (case.json's
    # "fields", from mb_variant_fields; an older dump without it keeps every column)
    if "fields" in spec:
        used = set(spec["fields"].split(","))
        for c in SPEC_OPTIONAL_COLUMNS:
            if c not in used:
                row[c] = ""
    # routing options (routed variants; dumps before issue 16 have none): the same keys as the
    # harness's rows, so a torch row pairs with moebench's rows of its case
    if "route" in spec:
        used = set(spec.get("fields", "cap,shared,topp,route").split(","))
        row["cap"] = fmt(float(spec["cap"])) if "cap" in used else ""
        row["shared"] = spec["shared"] if "shared" in used else ""
        row["topp"] = fmt(float(spec["topp"])) if spec["topp"] else ""
        row["route"] = spec["route"]
    return row


class _Done(Exception):
    """cmd_bench's train path has filled the row."""


def timing_columns(row, st, times, iters):
    row.update({"samples": len(times), "iters_per_sample": iters,
                "time_us_median": st["median"] / 1e3, "time_us_min": st["min"] / 1e3,
                "time_us_p95": st["p95"] / 1e3, "time_us_mad": st["mad"] / 1e3,
                "time_us_ci_lo": st["ci_lo"] / 1e3, "time_us_ci_hi": st["ci_hi"] / 1e3})


def write_samples(samples_path, args, meta, row, times):
    sheader, header_new = read_header(samples_path, SAMPLE_COLUMNS)
    with open(samples_path, "a", newline="") as fp:
        w = csv.writer(fp, lineterminator="\n")
        if header_new:
            w.writerow(sheader)
        for i, t in enumerate(times):   # by name: older files lack threads/cache
            sample = {"run_id": args.run_id, "case": meta["case"], "impl": "torch",
                      "threads": row["threads"], "cache": row["cache"], "rep": i,
                      "time_ns": int(round(t))}
            w.writerow([sample.get(c, "") for c in sheader])


def bench_train(meta, arrays, args, row, notes, samples_path):
    """mode=train: check one step against the dump's gradients (when it has them), then time
    steps (forward + L + backward + AdamW), fwd_us / bwd_us as the medians of the two phases
    within the same samples, saved / grad / optimizer bytes. Returns the row status."""
    import moebench_train as mt
    t0 = time.perf_counter_ns()
    if "train" in meta:
        res, case = mt.check_train(meta, arrays, Check, compare)
        row["prepare_us"] = (time.perf_counter_ns() - t0) / 1e3   # includes the checked step
        if res.checked_values:
            row["max_abs_err"], row["max_rel_err"] = res.max_abs_err, res.max_rel_err
        if getattr(res, "grad_rel", None) is not None and res.grad_rel > (row.get("max_rel_err") or 0):
            row["max_abs_err"], row["max_rel_err"] = res.grad_abs, res.grad_rel
        notes[:0] = res.messages
        if not res.ok:
            return "mismatch"          # never timed as if it were right
    else:
        case = mt.TrainCase(meta, arrays)
        row["prepare_us"] = (time.perf_counter_ns() - t0) / 1e3
        notes.insert(0, "gradients not checked (the dump has no train step: "
                     + meta.get("output_skipped", "no gradients") + ")")
    saved, saved_all = case.saved_bytes()
    row["saved_bytes"] = saved
    row["grad_bytes"], row["optimizer_bytes"] = case.memory()
    if case.opt is None:
        row["optimizer_bytes"] = 0
    notes.append(f"saved_bytes: autograd's saved tensors (saved_tensors_hooks, unique storages) "
                 f"less the weights, X and dY ({saved_all} bytes with them)")
    times, fwd, bwd, iters = mt.time_steps(case, args.reps, args.min_time)
    st = summarize(times)
    timing_columns(row, st, times, iters)
    row["fwd_us"] = summarize(fwd)["median"] / 1e3
    row["bwd_us"] = summarize(bwd)["median"] / 1e3
    verdict = stability_verdict(st)
    if verdict:
        notes.insert(0, verdict)
    med_s = st["median"] / 1e9
    if row.get("flops") not in (None, ""):
        row["gflops"] = float(row["flops"]) / med_s / 1e9
    if row.get("bytes") not in (None, ""):
        row["gbps"] = float(row["bytes"]) / med_s / 1e9
    write_samples(samples_path, args, meta, row, times)
    return "ok"


def cmd_bench(args):
    threads = args.threads
    samples_path = args.samples or os.path.join(os.path.dirname(os.path.abspath(args.results)),
                                                "samples.csv")
    try:
        meta, arrays = load_dump(args.dir)
    except Exception as exc:
        print(f"ERROR {args.dir}: cannot load dump: {exc}", file=sys.stderr)
        return 2
    ref_row = same_case_row(args.results, meta["case"])
    if not args.run_id:
        args.run_id = (ref_row or {}).get("run_id") or \
            "torch-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    row = base_row(meta, args, threads)
    if ref_row:   # the cost model of moebench's own row (experts hit as its routing saw them)
        for c in ("flops", "bytes", "weights_bytes"):
            if ref_row.get(c):
                row[c] = ref_row[c]
    torch = None
    status, notes = "ok", []
    try:
        torch = import_torch(threads)
        row["threads"] = threads if threads > 0 else torch.get_num_threads()
        row["blas_core"] = loaded_openblas_core()
        notes.append(f"torch {torch.__version__} threads={torch.get_num_threads()}"
                     f" OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
                     f" OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
        if is_train(meta):
            status = bench_train(meta, arrays, args, row, notes, samples_path)
            raise _Done()
        module, inputs, y, extras, build_ns = run_module(meta, arrays, "float32", threads)
        row["prepare_us"] = build_ns / 1e3
        res = compare(meta, arrays, y, extras)
        if res.checked_values:
            row["max_abs_err"], row["max_rel_err"] = res.max_abs_err, res.max_rel_err
        if res.near_ties is not None:
            row["near_ties"] = res.near_ties
        if "aux_loss" in extras:
            row["aux_loss"] = extras["aux_loss"]
            row["expert_load_max"] = extras["load_max"]
            if "route_dropped" in extras:
                row["dropped"] = int(extras["route_dropped"].sum())
        notes = res.messages + notes
        if meta.get("dequantised"):
            notes.insert(0, meta["dequantised"])
        if not res.ok:
            status = "mismatch"          # never timed as if it were right
        else:
            times, iters = time_forward(torch, module, inputs, args.reps, args.min_time)
            st = summarize(times)
            row.update({"samples": len(times), "iters_per_sample": iters,
                        "time_us_median": st["median"] / 1e3, "time_us_min": st["min"] / 1e3,
                        "time_us_p95": st["p95"] / 1e3, "time_us_mad": st["mad"] / 1e3,
                        "time_us_ci_lo": st["ci_lo"] / 1e3, "time_us_ci_hi": st["ci_hi"] / 1e3})
            verdict = stability_verdict(st)
            if verdict:
                notes.insert(0, verdict)
            med_s = st["median"] / 1e9
            if row.get("flops") not in (None, ""):
                row["gflops"] = float(row["flops"]) / med_s / 1e9
                if ref_row and ref_row.get("pct_peak") and ref_row.get("gflops"):
                    peak_ratio = float(ref_row["pct_peak"]) / float(ref_row["gflops"])
                    row["pct_peak"] = row["gflops"] * peak_ratio
                # the case's own ceiling (cache-aware roofline: the same working set, FLOPs and
                # bytes), so `table --roof` ranks torch rows too; only from a row of the same
                # threads and cache, whose ceilings these are
                roof = ref_row.get("roof_gflops") if ref_row else None
                if roof and str(ref_row.get("threads")) == str(row.get("threads")) and \
                        ref_row.get("cache") == row.get("cache"):
                    row["roof_level"], row["roof_gflops"] = ref_row.get("roof_level", ""), roof
                    row["pct_peak"] = 100 * row["gflops"] / float(roof)
                    row["above_roof"] = int(row["pct_peak"] > 110)
            if row.get("bytes") not in (None, ""):
                row["gbps"] = float(row["bytes"]) / med_s / 1e9
            sheader, header_new = read_header(samples_path, SAMPLE_COLUMNS)
            with open(samples_path, "a", newline="") as fp:
                w = csv.writer(fp, lineterminator="\n")
                if header_new:
                    w.writerow(sheader)
                for i, t in enumerate(times):   # by name: older files lack threads/cache
                    sample = {"run_id": args.run_id, "case": meta["case"], "impl": "torch",
                              "threads": row["threads"], "cache": row["cache"], "rep": i,
                              "time_ns": int(round(t))}
                    w.writerow([sample.get(c, "") for c in sheader])
    except _Done:
        pass
    except Exception as exc:
        status = "error"
        notes.insert(0, f"{type(exc).__name__}: {exc}".replace("\n", " "))
    row["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    row["status"] = status
    row["reason"] = "; ".join(notes)
    append_row(args.results, {k: fmt(v) for k, v in row.items()}, RESULT_COLUMNS)
    print(f"{status:8s} torch {meta['case']}"
          + (f"  median {row['time_us_median']:.1f} us" if "time_us_median" in row else "")
          + (f"  ({row['reason']})" if row["reason"] else ""))
    return {"ok": 0, "mismatch": 1}.get(status, 2)


# ---- run-suite ---------------------------------------------------------------------------------

def write_peer_provenance(results_dir, threads):
    """Adds a "peer" entry to RESULTS_DIR/run.json (peer.json when there is none) describing the
    torch setup; False when this python cannot import torch (nothing is run then)."""
    path = os.path.join(results_dir, "run.json")
    entry = {"impl": "torch", "python": sys.version.split()[0], "script": os.path.abspath(__file__),
             "threads": threads, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
             "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
             "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")}
    out = None
    try:
        out = subprocess.run([sys.executable, "-c",
                              "import torch, numpy; print(torch.__version__, numpy.__version__,"
                              " torch.get_num_threads())"],
                             capture_output=True, text=True, timeout=120)
        tv, nv, nt = out.stdout.split()
        entry.update({"torch": tv, "numpy": nv, "torch_threads": int(nt)})
    except Exception:
        why = (out.stderr.strip().splitlines() or ["?"])[-1] if out is not None else "timed out"
        print(f"moebench_peer: {sys.executable} cannot import torch and numpy: {why}",
              file=sys.stderr)
        return False
    if not os.path.exists(path):
        with open(os.path.join(results_dir, "peer.json"), "w") as fp:
            json.dump({"peer": entry}, fp, indent=2)
        return True
    try:
        with open(path) as fp:
            run = json.load(fp)
        run["peer"] = entry
        tmp = path + ".tmp"
        with open(tmp, "w") as fp:
            json.dump(run, fp, indent=2)
        os.replace(tmp, path)
    except Exception as exc:
        print(f"moebench_peer: could not update {path}: {exc}", file=sys.stderr)
    return True


def cmd_run_suite(args):
    results = os.path.join(args.results_dir, "results.csv")
    if not os.path.exists(results):
        print(f"moebench_peer: {results} does not exist", file=sys.stderr)
        return 2
    with open(results, newline="") as fp:
        rows = list(csv.DictReader(fp))
    if rows and "case" not in rows[0]:
        print(f"moebench_peer: {results} has no 'case' column", file=sys.stderr)
        return 2
    cases, done = [], set()
    for r in rows:
        if r.get("impl") == "torch":
            done.add(r["case"])
    for r in rows:
        c = r.get("case")
        if c and c not in done and c not in [x[0] for x in cases]:
            cases.append((c, r))
    if not write_peer_provenance(args.results_dir, args.threads):
        return 2
    tmp_root = args.tmp or tempfile.gettempdir()
    worst = 0
    for i, (case, ref) in enumerate(cases):
        threads = args.threads if args.threads > 0 else int(ref.get("threads") or 1)
        dump_dir = tempfile.mkdtemp(prefix="moebench-peer-", dir=tmp_root)
        try:
            print(f"[{i + 1}/{len(cases)}] torch {case}", flush=True)
            cmd = [args.moebench, "dump", case, dump_dir, "--ref-max-gflop", str(args.ref_max_gflop),
                   "--ref-rows", str(args.ref_rows)]
            try:
                d = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                error_row(results, ref, threads, f"moebench dump took more than {args.timeout:g} s",
                          status="timeout")
                worst = max(worst, 2)
                continue
            if d.returncode != 0:
                msg = (d.stderr.strip().splitlines() or ["(no message)"])[-1]
                error_row(results, ref, threads, f"moebench dump failed ({d.returncode}): {msg}")
                worst = max(worst, 2)
                continue
            if d.stderr.strip():
                print(d.stderr.strip(), file=sys.stderr)
            cmd = [sys.executable, os.path.abspath(__file__), "bench", dump_dir,
                   "--results", results, "--samples", os.path.join(args.results_dir, "samples.csv"),
                   "--threads", str(threads), "--reps", str(args.reps),
                   "--min-time", str(args.min_time), "--omp-wait-policy", args.omp_wait_policy]
            if ref.get("run_id"):
                cmd += ["--run-id", ref["run_id"]]
            try:
                b = subprocess.run(cmd, timeout=args.timeout)
            except subprocess.TimeoutExpired:   # run() has killed the child: its row is missing
                error_row(results, ref, threads, f"torch peer took more than {args.timeout:g} s",
                          status="timeout")
                worst = max(worst, 2)
                continue
            if b.returncode not in (0, 1, 2):     # killed / crashed before writing its row
                error_row(results, ref, threads, f"torch peer process died (exit {b.returncode})",
                          status="crashed")
            worst = max(worst, b.returncode if b.returncode in (0, 1, 2) else 2)
        finally:
            if args.keep_dumps:
                print(f"  dump kept in {dump_dir}")
            else:
                shutil.rmtree(dump_dir, ignore_errors=True)
    counts = {}
    with open(results, newline="") as fp:
        for r in csv.DictReader(fp):
            if r.get("impl") == "torch":
                counts[r["status"]] = counts.get(r["status"], 0) + 1
    print("torch peer: " + (", ".join(f"{n} {st}" for st, n in sorted(counts.items())) or "no rows")
          + f" in {results}")
    return worst


def error_row(results, ref, threads, reason, status="error"):
    row = {c: ref.get(c, "") for c in ("run_id", "variant", "dtype", "cache", "B", "S", "T", "h",
                                       "o", "f", "r", "E", "k", "share", "shard", "case", "alpha",
                                       "act", "seed", "flops", "bytes", "weights_bytes")}
    row.update({"impl": "torch", "status": status, "reason": reason, "threads": threads})
    append_row(results, row, RESULT_COLUMNS)
    print(f"{status:8s} torch {ref.get('case')}  ({reason})")


# ---- main --------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(prog="moebench_peer.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="compare the torch peer with a moebench dump")
    c.add_argument("dirs", nargs="+", metavar="DIR")
    c.add_argument("--float64", action="store_true", help="also run the module in float64")
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--omp-wait-policy", default="passive", choices=["passive", "active", "inherit"])
    b = sub.add_parser("bench", help="check and time one dumped case, append a results row")
    b.add_argument("dir")
    b.add_argument("--results", required=True, help="results.csv to append to (created if absent)")
    b.add_argument("--samples", help="samples.csv (default: next to --results)")
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--reps", type=int, default=10)
    b.add_argument("--min-time", type=float, default=0.5, help="seconds of timed calls in all")
    b.add_argument("--run-id", default="")
    b.add_argument("--omp-wait-policy", default="passive", choices=["passive", "active", "inherit"],
                   help="OMP_WAIT_POLICY for torch's OpenMP pool (default passive; see README)")
    s = sub.add_parser("run-suite", help="add torch rows for every case of a results directory")
    s.add_argument("results_dir")
    s.add_argument("--moebench", required=True, help="path of the moebench executable")
    s.add_argument("--threads", type=int, default=0, help="0: the threads column of each case")
    s.add_argument("--reps", type=int, default=10)
    s.add_argument("--min-time", type=float, default=0.5)
    s.add_argument("--ref-max-gflop", type=float, default=5.0,
                   help="dump the naive output Y only when the case costs at most this much")
    s.add_argument("--ref-rows", type=int, default=8,
                   help="above --ref-max-gflop, naive recomputes this many rows for the check")
    s.add_argument("--tmp", help="directory for the temporary dumps (default: $TMPDIR or /tmp)")
    s.add_argument("--keep-dumps", action="store_true")
    s.add_argument("--timeout", type=float, default=1800,
                   help="seconds allowed for each dump and each bench process (status timeout)")
    s.add_argument("--omp-wait-policy", default="passive", choices=["passive", "active", "inherit"])
    args = ap.parse_args(argv)
    if args.cmd in ("check", "bench"):
        set_threads_env(args.threads, args.omp_wait_policy)   # before torch is imported
        sys.path.insert(0, HERE)
        return cmd_check(args) if args.cmd == "check" else cmd_bench(args)
    set_threads_env(args.threads, args.omp_wait_policy)       # inherited by the bench processes
    return cmd_run_suite(args)


if __name__ == "__main__":
    sys.exit(main())
