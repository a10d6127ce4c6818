"""The PyTorch peer's train step (mode=train, spec Part 1 "Training step").

The upstream modules of moebench_layers.py with ``requires_grad`` on exactly the trainable
tensors of the variant (the spec's list; moebench's ``mb_variant_trainable``) and on X, the
scalar ``L = sum(Y * dY) + aux * L_aux + zloss * L_z`` (the last two for the routed variants;
L_aux = E * sum_e F_e P_e with the counts F_e constant, as HF's load_balancing_loss_func;
L_z = mean_t logsumexp(z_t)^2), ``L.backward()``, and with opt=adamw one
``torch.optim.AdamW`` step (lr 1e-4, betas 0.9/0.999, eps 1e-8, weight decay 0.01).

LoRA dropout uses moebench's mask, not torch's RNG: the counter hash of
kernels/include/moebench/dropout.h (ported from tests/make_reference.py, vectorised in numpy),
keyed by (seed, which LoRA, expert, token row, feature) and applied to each LoRA's input as
peft's ``lora_dropout`` is (kept elements scaled by float32 1/(1-p)). The mask is built once
per case, so the timed step costs one multiply per element where nn.Dropout would draw.
"""

import math
import time

import numpy as np
import torch

from moebench_layers import build, reduction_depth, tolerance

LORA_MAIN, LORA_GATE, LORA_UP, LORA_DOWN = 0, 1, 2, 3
ROUTED = ("mixlora", "sparse_mlp", "router")
_U = np.uint64


def _mix(z):
    """SplitMix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    z = (z ^ (z >> _U(30))) * _U(0xbf58476d1ce4e5b9)
    z = (z ^ (z >> _U(27))) * _U(0x94d049bb133111eb)
    return z ^ (z >> _U(31))


def dropout_mask(seed, lora, expert, rows, K, p):
    """[rows, K] float32 mask: 0 (dropped) or float32(1/(1-p)); all ones when p == 0.
    kernels/include/moebench/dropout.h exactly (mb_dropout_scale for rows 0..rows-1)."""
    if p == 0:
        return np.ones((rows, K), dtype=np.float32)
    with np.errstate(over="ignore"):
        k = _mix(np.array([(seed + 0xd1b54a32d192ed03) & ((1 << 64) - 1)], dtype=np.uint64))
        k = _mix(k ^ _U((lora << 32) | expert))
        rowkey = _mix(k + np.arange(rows, dtype=np.uint64) * _U(0x9e3779b97f4a7c15))
        feat = (np.arange(K, dtype=np.uint64) + _U(1)) * _U(0xbf58476d1ce4e5b9)
        u = _mix(rowkey[:, None] + feat[None, :]) >> _U(40)
    thr = math.ceil(float(np.float32(p)) * 16777216.0)
    kept = np.float32(1) / (np.float32(1) - np.float32(p))
    return np.where(u >= thr, kept, np.float32(0)).astype(np.float32)


class MaskDropout(torch.nn.Module):
    """peft's ``lora_dropout`` with moebench's fixed mask [T, K]. ``rows`` (set by MixLoRA's
    expert loop) selects the expert's token rows; the mask is reshaped to the input's shape."""

    def __init__(self, mask, dtype):
        super().__init__()
        self.mask = torch.from_numpy(mask).to(dtype)
        self.rows = None

    def forward(self, x):
        m = self.mask if self.rows is None else self.mask[self.rows]
        return x * m.reshape(x.shape)


def _stack(grads):
    return torch.stack(grads)


def trainables(spec, module):
    """{dump name: (params, to_dump)}: the torch parameters of each trainable tensor and the
    function turning their grads (or values) into the dump's layout (moebench/weights.h)."""
    v = spec["variant"]
    m = getattr(module, "inner", module)
    one = lambda t: t[0]                      # noqa: E731
    if v == "lora":
        return {"A": ([m.layer.lora_A.weight], one), "B": ([m.layer.lora_B.weight], one)}
    if v == "mlp_lora":
        out = {}
        for p, lin in (("g", m.mlp.gate_proj), ("u", m.mlp.up_proj), ("d", m.mlp.down_proj)):
            out["A" + p] = ([lin.lora_A.weight], one)
            out["B" + p] = ([lin.lora_B.weight], one)
        return out
    if v == "molora":   # upstream layouts [E, d_in, r] and [E, r, d_out]
        tr = lambda t: t[0].permute(0, 2, 1)  # noqa: E731
        return {"A": ([m.lora_a], tr), "B": ([m.lora_b], tr), "Wr": ([m.router.weight], one)}
    if v == "moelora":
        return {"A": ([l.weight for l in m.lora_A], _stack), "B": ([l.weight for l in m.lora_B], _stack),
                "Wg": ([m.lora_gate[0].weight], one), "Emb": ([m.lora_task_embedding.weight], one)}
    if v == "mixlora":
        E, out = spec["E"], {}
        for p, proj in (("g", "gate_proj"), ("u", "up_proj"), ("d", "down_proj")):
            ex = [m.experts_[f"experts_{e}_{proj}"] for e in range(E)]
            out["A" + p] = ([x.lora_A.weight for x in ex], _stack)
            out["B" + p] = ([x.lora_B.weight for x in ex], _stack)
        out["Wr"] = ([m.gate_], one)
        return out
    if v == "mor1e":
        flat = lambda t: t[0].reshape(1)      # noqa: E731
        return {"A": ([m.lora_A.weight], one), "B": ([m.lora_B.weight], one),
                "Wr": ([m.router.weight], one), "w_omega": ([m.omg.weight], flat),
                "w_beta": ([m.binary_main_gate_weight.weight], flat)}
    if v == "sparse_mlp":
        return {"Wr": ([m.gate.weight], one), "Wg": ([x.w1.weight for x in m.experts], _stack),
                "Wu": ([x.w3.weight for x in m.experts], _stack),
                "Wd": ([x.w2.weight for x in m.experts], _stack)}
    if v == "router":
        return {"Wr": ([m.gate.weight], one)}
    raise ValueError(f"unknown variant {v!r}")


def _install_dropout(spec, module, dtype):
    p = float(spec.get("p", 0) or 0)
    if p == 0:
        return
    v, T, h, f = spec["variant"], spec["T"], spec["h"], spec["f"]
    seed = int(spec.get("seed_str", spec["seed"]))
    m = getattr(module, "inner", module)
    mk = lambda lora, e, K: MaskDropout(dropout_mask(seed, lora, e, T, K, p), dtype)  # noqa: E731
    if v == "lora":
        m.layer.lora_dropout = mk(LORA_MAIN, 0, h)
    elif v == "mlp_lora":
        m.mlp.gate_proj.lora_dropout = mk(LORA_GATE, 0, h)
        m.mlp.up_proj.lora_dropout = mk(LORA_UP, 0, h)
        m.mlp.down_proj.lora_dropout = mk(LORA_DOWN, 0, f)
    elif v in ("molora", "moelora", "mor1e"):   # one mask shared by the experts (dropout.h)
        m.lora_dropout = mk(LORA_MAIN, 0, h)
    elif v == "mixlora":
        for e in range(spec["E"]):
            m.experts_[f"experts_{e}_gate_proj"].dropout_ = mk(LORA_GATE, e, h)
            m.experts_[f"experts_{e}_up_proj"].dropout_ = mk(LORA_UP, e, h)
            m.experts_[f"experts_{e}_down_proj"].dropout_ = mk(LORA_DOWN, e, f)


class TrainCase:
    """One case's train step in torch: module, X leaf, dY, trainable parameters, optimiser."""

    def __init__(self, meta, arrays, dtype=torch.float32):
        spec = self.spec = meta["spec"]
        self.dtype = dtype
        # the parameters are views of the loaded arrays (no copy): AdamW's in-place update
        # changes them, after the check has read what it needs
        self.X = torch.from_numpy(arrays["X"]).to(dtype).requires_grad_(True)
        self.module, self.inputs = build(spec, arrays, dtype, X=self.X)
        self.module.train()
        _install_dropout(spec, self.module, dtype)
        self.params = trainables(spec, self.module)
        for ps, _ in self.params.values():
            for q in ps:
                q.requires_grad_(True)
        if "dY" not in arrays:
            raise ValueError("the dump has no dY.npy: dump a mode=train case without --no-output")
        self.dY = torch.from_numpy(arrays["dY"]).to(dtype)
        self.opt = None
        if spec.get("opt", "none") == "adamw":
            self.opt = torch.optim.AdamW([q for ps, _ in self.params.values() for q in ps], lr=1e-4,
                                         betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)

    def loss(self, y, extras):
        L = (y * self.dY).sum()
        s = self.spec
        if s["variant"] in ROUTED and (s.get("aux") or s.get("zloss")):
            z = extras["router_logits"].reshape(-1, s["E"])
            p = torch.softmax(z.to(torch.float32 if self.dtype == torch.float32 else self.dtype), dim=-1)
            idx = extras["route_idx"].reshape(z.shape[0], -1)
            counts = torch.zeros(s["E"], dtype=p.dtype).index_add_(
                0, idx.reshape(-1), torch.ones(idx.numel(), dtype=p.dtype))
            if s.get("aux"):
                L = L + s["aux"] * (s["E"] * torch.sum(counts / z.shape[0] * p.mean(dim=0)))
            if s.get("zloss"):
                L = L + s["zloss"] * torch.mean(torch.logsumexp(z, dim=-1) ** 2)
        return L

    def zero(self):
        self.X.grad = None
        for ps, _ in self.params.values():
            for q in ps:
                q.grad = None

    def step(self, pack_hook=None):
        """One step; returns (forward ns, backward ns, y, extras). The forward phase includes L;
        the backward phase L.backward() and the AdamW step (moebench's backward does both)."""
        self.zero()
        t0 = time.perf_counter_ns()
        if pack_hook is None:
            y, extras = self.module(*self.inputs)
            L = self.loss(y, extras)
        else:
            with torch.autograd.graph.saved_tensors_hooks(pack_hook, lambda t: t):
                y, extras = self.module(*self.inputs)
                L = self.loss(y, extras)
        t1 = time.perf_counter_ns()
        L.backward()
        if self.opt is not None:
            self.opt.step()
        t2 = time.perf_counter_ns()
        return t1 - t0, t2 - t1, y, extras

    def grads(self):
        """{grad_X, grad_<name>} as numpy float64 in the dump's layouts (None grads: zeros)."""
        out = {"grad_X": self.X.grad.detach().to(torch.float64).numpy()}
        for name, (ps, to_dump) in self.params.items():
            gs = [q.grad if q.grad is not None else torch.zeros_like(q) for q in ps]
            out["grad_" + name] = to_dump(gs).detach().to(torch.float64).numpy()
        return out

    def updated(self):
        return {"upd_" + n: to_dump([q.detach() for q in ps]).to(torch.float64).numpy()
                for n, (ps, to_dump) in self.params.items()}

    def memory(self):
        """(grad_bytes, optimizer_bytes) after a step: X.grad and the parameters' grads; the
        AdamW moments exp_avg and exp_avg_sq (its scalar step counters left out)."""
        gb = self.X.grad.numel() * self.X.grad.element_size()
        for ps, _ in self.params.values():
            gb += sum(q.grad.numel() * q.grad.element_size() for q in ps if q.grad is not None)
        ob = 0
        if self.opt is not None:
            for st in self.opt.state.values():
                for key in ("exp_avg", "exp_avg_sq"):
                    if key in st:
                        ob += st[key].numel() * st[key].element_size()
        return gb, ob

    def saved_bytes(self):
        """Bytes autograd keeps for the backward of one step: the unique storages of the tensors
        packed through saved_tensors_hooks, less those of the parameters (frozen or trainable),
        of X and of dY, which exist without the step (moebench's saved_bytes leaves them out
        too; dY is saved only because L = sum(Y * dY) is how the peer feeds dY in). The fixed
        dropout masks are counted (upstream's nn.Dropout saves its mask too).
        Returns (saved_bytes, the same with the weights, X and dY)."""
        seen = {}

        def pack(t):
            st = t.storage()
            seen[st.data_ptr()] = st.nbytes()
            return t

        self.step(pack)
        mine = {self.X.storage().data_ptr(), self.dY.storage().data_ptr()}
        for q in self.module.parameters():
            mine.add(q.storage().data_ptr())
        for ps, _ in self.params.values():
            for q in ps:
                mine.add(q.storage().data_ptr())
        total = sum(seen.values())
        return sum(b for ptr, b in seen.items() if ptr not in mine), total


def grad_tolerance(spec, ref, name):
    """moebench's gradient rule (kernels/include/moebench/compare.h mb_compare_grad): the f32
    rule x 4 (MB_GRAD_TOL_SCALE) at depth max(reduction depth, T): element passes when
    |g - ref| <= atol + rtol |ref|, rtol = 4e-4, atol = 4e-4 * rms(ref) * sqrt(depth / 64)."""
    rms = math.sqrt(float(np.mean(ref ** 2))) if ref.size else 0.0
    depth = max(reduction_depth(spec), spec["T"])
    return 4e-4 * rms * math.sqrt(depth / 64.0), 4e-4, rms


def compare_grads(meta, arrays, grads, res):
    """Every gradient of the dump (case.json "train" "grads") against torch's; fills res."""
    spec = meta["spec"]
    worst_abs, worst_rel = 0.0, 0.0
    for g in meta["train"]["grads"]:
        key = g["file"][:-4]
        ref = arrays[key].astype(np.float64)
        got = grads.get(key)
        if got is None or got.shape != ref.shape:
            res.fail(f"{key}: torch has {None if got is None else list(got.shape)}, dump {list(ref.shape)}")
            return
        atol, rtol, rms = grad_tolerance(spec, ref, key)
        d = np.abs(got - ref)
        worst_abs = max(worst_abs, float(d.max()))
        worst_rel = max(worst_rel, float((d / np.maximum(np.abs(ref), rms or 1.0)).max()))
        bad = d > atol + rtol * np.abs(ref)
        if not np.all(np.isfinite(got)):
            res.fail(f"{key}: torch gradient has NaN/Inf")
            return
        if bad.any():
            i = np.unravel_index(int(np.argmax(bad)), bad.shape)
            res.fail(f"{key} mismatch at {list(map(int, i))}: torch {got[i]:.9g} naive {ref[i]:.9g};"
                     f" max |diff| {d.max():.3g} > atol {atol:.3g} + rtol {rtol:g}*|ref|"
                     f" ({int(bad.sum())} of {bad.size} elements)")
            if key == "grad_Wr" and spec["k"] == 1 and not spec.get("topp"):
                res.note("k=1: the renormalised weight p/p is 1, its gradient 0 in exact "
                         "arithmetic (naive) but float32 rounding noise in autograd's p / sum(p); "
                         "grad_Wr is then only the aux / z-loss terms, smaller than that noise")
            return
    res.grad_abs, res.grad_rel = worst_abs, worst_rel
    res.note(f"{len(meta['train']['grads'])} gradients within moebench's gradient tolerance "
             f"(max_rel_err {worst_rel:.3g})")


def compare_updated(meta, arrays, upd, grads, res):
    """opt=adamw: the parameters after torch's AdamW step against the dump's upd_<name>.npy.
    Step 1 from zero moments moves each element by lr * g / (|g| + eps) plus the decay, so an
    element agrees to ~1e-3 lr unless |g| is near eps (there the sign of a tiny gradient decides
    and 2 lr is allowed)."""
    lr = 1e-4
    for u in meta["train"].get("updated", []):
        key = u["file"][:-4]
        ref = arrays[key].astype(np.float64)
        got = upd[key]
        g = np.abs(arrays["grad_" + u["of"]].astype(np.float64))
        tol = np.where(g > 1e-5, 1e-3 * lr + 1e-6 * np.abs(ref), 2 * lr + 1e-6 * np.abs(ref))
        d = np.abs(got - ref)
        if (d > tol).any():
            i = np.unravel_index(int(np.argmax(d - tol)), d.shape)
            res.fail(f"{key} (AdamW) mismatch at {list(map(int, i))}: torch {got[i]:.9g} naive "
                     f"{ref[i]:.9g}")
            return
    if meta["train"].get("updated"):
        res.note("AdamW update agrees")


def check_train(meta, arrays, res_factory, compare_forward):
    """One step from the dumped weights: Y and routing (compare_forward), every gradient, the
    AdamW update. Returns (res, TrainCase) with the case's parameters already stepped once."""
    case = TrainCase(meta, arrays)
    _, _, y, extras = case.step()
    ex = {k: v.detach().to(torch.float64 if v.is_floating_point() else v.dtype).numpy()
          for k, v in extras.items()}
    res = compare_forward(meta, arrays, y.detach().to(torch.float64).numpy(), ex)
    if res.ok:
        if "train" not in meta:
            res.fail("the dump has no gradients (case.json has no \"train\": --no-output or above "
                     "--ref-max-gflop)")
        else:
            grads = case.grads()
            compare_grads(meta, arrays, grads, res)
            if res.ok and case.opt is not None:
                compare_updated(meta, arrays, case.updated(), grads, res)
    return res, case


def time_steps(case, reps, min_time):
    """Warm-up, then `reps` samples of `iters` steps each (as the forward's timing); returns
    (per-step ns, per-step forward ns, per-step backward ns, iters) per sample."""
    t0 = time.perf_counter_ns()
    f, b, _, _ = case.step()
    one = f + b
    warm_end = t0 + int(0.1 * min_time * 1e9)
    while time.perf_counter_ns() < warm_end:
        f, b, _, _ = case.step()
        one = f + b
    target = min_time * 1e9 / max(reps, 1)
    iters = max(1, min(1000000, int(math.ceil(target / max(one, 1)))))
    times, fwd, bwd = [], [], []
    for _ in range(reps):
        sf = sb = 0
        t1 = time.perf_counter_ns()
        for _ in range(iters):
            f, b, _, _ = case.step()
            sf += f
            sb += b
        times.append((time.perf_counter_ns() - t1) / iters)
        fwd.append(sf / iters)
        bwd.append(sb / iters)
    return times, fwd, bwd, iters


__all__ = ["dropout_mask", "TrainCase", "check_train", "time_steps", "tolerance"]
