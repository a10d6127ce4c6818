#!/usr/bin/python3
"""PyTorch cross-check data for the naive reference (tests/test_ref_torch.c).

Regenerate (needs torch, numpy; the `python3` on PATH may lack torch):
    /usr/bin/python3 tests/make_reference.py            # writes tests/data/ref/<case>/
For every case it writes the weights and inputs (float32 / int32 .npy, drawn with a fixed numpy
seed), the expected output Y computed in float64 torch from those float32 values, routing
(idx, w, loss = [L_aux, z_loss]) for routed variants, the gate where the variant has one, and
case.txt:
    line 1: the moebench descriptor (shapes; the seed field is irrelevant, weights are loaded)
    line 2: "weights: NAME ..."  (files NAME.npy, layouts as in kernels/include/moebench/weights.h)
    line 3: "inputs: X [task] [R]"
    line 4: "outputs: Y [idx w loss] [gate]"
Weight scales follow kernels/core/weights.c (the values themselves come from numpy, not from the C
fill): linears N(0, 1/d_in), LoRA A/B uniform, and for sparse_mlp shard=1 the experts' Wd drawn as
slices of one MLP of width f, N(0, 1/f) (regenerated for that change: only
sparse_mlp_shard1_gelu/{Wd,Y}.npy differ; the data stays ~850 KB).
The forward formulas below are written independently of the C code, from spec Part 1
(/work/shared/spec/variants.md), with torch ops. Routed cases are re-drawn until no token has two
router probabilities within 1e-4 of each other around its top-k boundary, because torch.topk does
not promise a tie order and the C side rounds logits to fp32.

Train mode (spec "Training step"; tests/test_ref_train_torch.c): the cases of train_cases() are
written like the forward ones plus dY.npy (U(-1, 1)), Y (the train forward), grad_X.npy and
grad_<name>.npy for every trainable tensor, from float64 torch autograd of
    L = sum(Y * dY) + aux * L_aux + zloss * L_z     (routed variants for the last two)
with L_aux = E * sum_e F_e P_e (F_e detached), top-k not differentiated, the LoRA dropout mask
from dropout_keep() below (a port of kernels/include/moebench/dropout.h), and for opt=adamw
upd_<name>.npy after one torch.optim.AdamW step (lr 1e-4, betas 0.9/0.999, eps 1e-8, wd 0.01).
Goldens are computed in float64 and stored as float32 (npy.c reads f4).
"""
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "ref")
GAP = 1e-4


def act_fn(name):
    return {"silu": F.silu, "gelu": lambda x: F.gelu(x), "relu": F.relu}[name]


class Case:
    def __init__(self, name, desc, seed):
        self.name, self.desc = name, desc
        self.rng = np.random.default_rng(seed)
        self.weights, self.inputs, self.outputs = {}, {}, {}

    def normal(self, shape, std):
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def uniform(self, shape, bound):
        return self.rng.uniform(-bound, bound, shape).astype(np.float32)

    def w(self, name, arr):
        self.weights[name] = arr
        return torch.from_numpy(arr).double()

    def x(self, name, arr):
        self.inputs[name] = arr
        return torch.from_numpy(arr).double() if arr.dtype == np.float32 else torch.from_numpy(arr)

    def lin(self, name, d_out, d_in):
        return self.w(name, self.normal((d_out, d_in), 1.0 / np.sqrt(d_in)))

    def lora(self, prefix, d_out, d_in, r, lead=()):
        a = self.w("A" + prefix, self.uniform(lead + (r, d_in), 1.0 / np.sqrt(d_in)))
        b = self.w("B" + prefix, self.uniform(lead + (d_out, r), 1.0 / np.sqrt(r)))
        return a, b

    def write(self):
        d = os.path.join(OUT, self.name)
        os.makedirs(d, exist_ok=True)
        for name, arr in list(self.weights.items()) + list(self.inputs.items()):
            np.save(os.path.join(d, name + ".npy"), arr)
        for name, t in self.outputs.items():
            arr = t.numpy() if isinstance(t, torch.Tensor) else t
            if arr.dtype == np.float64:
                arr = arr.astype(np.float32)
            np.save(os.path.join(d, name + ".npy"), arr)
        with open(os.path.join(d, "case.txt"), "w") as f:
            f.write(self.desc + "\n")
            f.write("weights: " + " ".join(self.weights) + "\n")
            f.write("inputs: " + " ".join(self.inputs) + "\n")
            f.write("outputs: " + " ".join(self.outputs) + "\n")


def route(c, X, Wr, k):
    """Top-k routing, spec Part 1; returns (idx [T,k], w [T,k]) and stores the reports."""
    z = F.linear(X, Wr)
    p = torch.softmax(z, dim=-1)
    srt = torch.sort(p, dim=-1, descending=True).values
    if srt.shape[1] > k:
        if (srt[:, k - 1] - srt[:, k]).min().item() < GAP:
            return None
    if srt.shape[1] > 1 and (srt[:, :-1] - srt[:, 1:]).min().item() < GAP:
        return None   # keep the listed order of the chosen experts unambiguous too
    top_p, idx = torch.topk(p, k, dim=-1)
    w = top_p / top_p.sum(dim=-1, keepdim=True)
    T, E = p.shape
    counts = torch.zeros(E, dtype=torch.float64).index_add_(0, idx.reshape(-1), torch.ones(T * k, dtype=torch.float64))
    aux = E * torch.sum((counts / T) * p.mean(dim=0))
    zl = torch.mean(torch.logsumexp(z, dim=-1) ** 2)
    c.outputs["idx"] = idx.to(torch.int32).numpy()
    c.outputs["w"] = w
    c.outputs["loss"] = torch.stack([aux, zl])
    return idx, w


def make_lora(name, seed, T, h, o, r, alpha):
    c = Case(name, f"lora:T={T},h={h},o={o},r={r},alpha={alpha}", seed)
    W = c.lin("W", o, h)
    A, B = c.lora("", o, h, r)
    X = c.x("X", c.normal((T, h), 1.0))
    c.outputs["Y"] = F.linear(X, W) + (alpha / r) * F.linear(F.linear(X, A), B)
    return c


def gated_mlp_lora(X, Wg, Wu, Wd, lg, lu, ld, s, act):
    def proj(x, W, ab):
        return F.linear(x, W) + s * F.linear(F.linear(x, ab[0]), ab[1])
    H = act(proj(X, Wg, lg)) * proj(X, Wu, lu)
    return proj(H, Wd, ld)


def make_mlp_lora(name, seed, T, h, f, r, alpha, act):
    c = Case(name, f"mlp_lora:T={T},h={h},f={f},r={r},alpha={alpha},act={act}", seed)
    Wg, Wu, Wd = c.lin("Wg", f, h), c.lin("Wu", f, h), c.lin("Wd", h, f)
    lg, lu, ld = c.lora("g", f, h, r), c.lora("u", f, h, r), c.lora("d", h, f, r)
    X = c.x("X", c.normal((T, h), 1.0))
    c.outputs["Y"] = gated_mlp_lora(X, Wg, Wu, Wd, lg, lu, ld, alpha / r, act_fn(act))
    return c


def make_molora(name, seed, T, h, o, r, E, alpha):
    c = Case(name, f"molora:T={T},h={h},o={o},r={r},E={E},alpha={alpha}", seed)
    W = c.lin("W", o, h)
    Wr = c.w("Wr", c.normal((E, h), 1.0 / np.sqrt(h)))
    A, B = c.lora("", o, h, r, (E,))
    X = c.x("X", c.normal((T, h), 1.0))
    p = torch.softmax(F.linear(X, Wr), dim=-1)                  # [T, E]
    Z = torch.einsum("th,erh->ter", X, A)                        # X A_e^T
    D = torch.einsum("ter,eor->teo", Z, B)                       # (X A_e^T) B_e^T
    c.outputs["Y"] = F.linear(X, W) + (alpha / r) * torch.einsum("te,teo->to", p, D)
    c.outputs["gate"] = p
    return c


def make_moelora(name, seed, B_, S, h, o, r, E, tasks, te, alpha, task_ids):
    c = Case(name, f"moelora:B={B_},S={S},h={h},o={o},r={r},E={E},tasks={tasks},te={te},alpha={alpha}", seed)
    re = r // E
    W = c.lin("W", o, h)
    A, Bm = c.lora("", o, h, re, (E,))
    Emb = c.w("Emb", c.normal((tasks + 1, te), 1.0))
    Wg = c.w("Wg", c.normal((E, te), 1.0 / np.sqrt(te)))
    X = c.x("X", c.normal((B_ * S, h), 1.0))
    task = c.x("task", np.array(task_ids, dtype=np.int32))
    g = torch.softmax(F.linear(Emb[task.long()], Wg), dim=-1)    # [B, E]
    gt = g.repeat_interleave(S, dim=0)                            # [T, E]
    Y = F.linear(X, W)
    for e in range(E):
        Y = Y + (alpha / r) * gt[:, e:e + 1] * F.linear(F.linear(X, A[e]), Bm[e])
    c.outputs["Y"] = Y
    c.outputs["gate"] = g
    return c


def make_mixlora(name, seed, T, h, f, r, E, k, alpha, act, share):
    for attempt in range(100):
        c = Case(name, f"mixlora:T={T},h={h},f={f},r={r},E={E},k={k},alpha={alpha},act={act},share={share}",
                 seed * 1000 + attempt)
        Wg, Wu, Wd = c.lin("Wg", f, h), c.lin("Wu", f, h), c.lin("Wd", h, f)
        Wr = c.w("Wr", c.normal((E, h), 1.0 / np.sqrt(h)))
        lg, lu, ld = c.lora("g", f, h, r, (E,)), c.lora("u", f, h, r, (E,)), c.lora("d", h, f, r, (E,))
        X = c.x("X", c.normal((T, h), 1.0))
        rt = route(c, X, Wr, k)
        if rt is None:
            continue
        idx, w = rt
        Y = torch.zeros(T, h, dtype=torch.float64)
        for e in range(E):
            tok, slot = torch.nonzero(idx == e, as_tuple=True)
            if tok.numel() == 0:
                continue
            ye = gated_mlp_lora(X[tok], Wg, Wu, Wd, (lg[0][e], lg[1][e]), (lu[0][e], lu[1][e]),
                                (ld[0][e], ld[1][e]), alpha / r, act_fn(act))
            Y.index_add_(0, tok, w[tok, slot].unsqueeze(1) * ye)
        c.outputs["Y"] = Y
        return c
    raise RuntimeError(name + ": no tie-free routing found")


def make_mor1e(name, seed, B_, S, h, o, r):
    c = Case(name, f"mor1e:B={B_},S={S},h={h},o={o},r={r}", seed)
    W = c.lin("W", o, h)
    A, Bm = c.lora("", o, h, r)
    Wr = c.w("Wr", c.normal((r, h), 1.0 / np.sqrt(h)))
    # Larger than the default N(0, 0.01^2) init so sigmoid(100 w) is far from 0.5 and a swapped
    # omega / beta would show.
    w_omega = c.w("w_omega", np.array([0.013], dtype=np.float32))
    w_beta = c.w("w_beta", np.array([-0.007], dtype=np.float32))
    X = c.x("X", c.normal((B_ * S, h), 1.0))
    R = c.x("R", c.rng.uniform(0, 1, (B_, r)).astype(np.float32))
    omega, beta = torch.sigmoid(100 * w_omega), torch.sigmoid(100 * w_beta)
    gate = torch.softmax(F.linear(X, Wr), dim=-1) * omega * 32 + R.repeat_interleave(S, dim=0) * (1 - omega) * 4
    c.outputs["Y"] = F.linear(X, W) + beta * F.linear(F.linear(X, A) * gate, Bm)
    c.outputs["gate"] = gate
    return c


def make_sparse_mlp(name, seed, T, h, f, E, k, act, shard):
    fe = f // E if shard else f
    for attempt in range(100):
        c = Case(name, f"sparse_mlp:T={T},h={h},f={f},E={E},k={k},act={act},shard={shard}", seed * 1000 + attempt)
        Wr = c.w("Wr", c.normal((E, h), 1.0 / np.sqrt(h)))
        Wg = c.w("Wg", c.normal((E, fe, h), 1.0 / np.sqrt(h)))
        Wu = c.w("Wu", c.normal((E, fe, h), 1.0 / np.sqrt(h)))
        # shard=1: the experts are slices of ONE MLP of width f, so Wd is drawn with that
        # MLP's fan-in f (N(0, 1/f)), as kernels/core/weights.c does; shard=0: fan-in fe = f.
        Wd = c.w("Wd", c.normal((E, h, fe), 1.0 / np.sqrt(f)))
        X = c.x("X", c.normal((T, h), 1.0))
        rt = route(c, X, Wr, k)
        if rt is None:
            continue
        idx, w = rt
        Y = torch.zeros(T, h, dtype=torch.float64)
        a = act_fn(act)
        for e in range(E):
            tok, slot = torch.nonzero(idx == e, as_tuple=True)
            if tok.numel() == 0:
                continue
            xe = X[tok]
            ye = F.linear(a(F.linear(xe, Wg[e])) * F.linear(xe, Wu[e]), Wd[e])
            Y.index_add_(0, tok, w[tok, slot].unsqueeze(1) * ye)
        c.outputs["Y"] = Y
        return c
    raise RuntimeError(name + ": no tie-free routing found")


def make_router(name, seed, T, h, E, k):
    for attempt in range(100):
        c = Case(name, f"router:T={T},h={h},E={E},k={k}", seed * 1000 + attempt)
        Wr = c.w("Wr", c.normal((E, h), 1.0 / np.sqrt(h)))
        X = c.x("X", c.normal((T, h), 1.0))
        rt = route(c, X, Wr, k)
        if rt is None:
            continue
        idx, w = rt
        c.outputs["Y"] = torch.zeros(T, E, dtype=torch.float64).scatter_(1, idx, w)
        return c
    raise RuntimeError(name + ": no tie-free routing found")


def cases():
    yield make_lora("lora_small", 1, 3, 4, 4, 2, 4.0)
    yield make_lora("lora_odd", 2, 5, 7, 6, 3, 6.0)
    yield make_mlp_lora("mlp_lora_silu", 3, 3, 6, 10, 2, 4.0, "silu")
    yield make_mlp_lora("mlp_lora_gelu_odd", 4, 5, 5, 7, 3, 5.0, "gelu")
    yield make_molora("molora_small", 5, 4, 6, 5, 2, 3, 4.0)
    yield make_molora("molora_odd", 6, 3, 9, 7, 1, 4, 3.0)
    yield make_moelora("moelora_3seq", 7, 3, 2, 6, 5, 4, 2, 3, 4, 8.0, [2, 0, 3])
    yield make_moelora("moelora_odd", 8, 2, 3, 7, 7, 6, 3, 2, 5, 6.0, [1, 2])
    for share in ("none", "gate_up", "all"):
        yield make_mixlora("mixlora_" + share, 9, 5, 6, 9, 2, 4, 2, 4.0, "silu", share)
    yield make_mixlora("mixlora_relu_k1", 10, 4, 5, 7, 3, 3, 1, 3.0, "relu", "all")
    yield make_mor1e("mor1e_2seq", 11, 2, 3, 6, 5, 4)
    yield make_mor1e("mor1e_odd", 12, 1, 5, 5, 8, 3)
    yield make_sparse_mlp("sparse_mlp_shard0", 13, 5, 6, 8, 4, 2, "silu", 0)
    yield make_sparse_mlp("sparse_mlp_shard1_gelu", 14, 4, 5, 12, 3, 2, "gelu", 1)
    yield make_router("router_k2", 15, 7, 5, 5, 2)
    yield make_router("router_k_eq_E", 16, 6, 4, 3, 3)


# ---- train mode -------------------------------------------------------------------------------

M64 = (1 << 64) - 1
LORA_MAIN, LORA_GATE, LORA_UP, LORA_DOWN = 0, 1, 2, 3


def _mix(z):
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)


def dropout_keep(seed, lora, expert, row, feature, p):
    """kernels/include/moebench/dropout.h, exactly: 1 when the element is kept."""
    k = _mix((seed + 0xd1b54a32d192ed03) & M64)
    k = _mix(k ^ ((lora << 32) | expert))
    k = _mix((k + row * 0x9e3779b97f4a7c15) & M64)
    u = _mix((k + (feature + 1) * 0xbf58476d1ce4e5b9) & M64) >> 40
    thr = int(np.ceil(float(np.float32(p)) * 16777216.0))
    return u >= thr


def mask(seed, lora, expert, rows, K, p):
    """[rows, K] float64: 0 or float32(1/(1-p)), as mb_dropout_scale."""
    if p == 0:
        return torch.ones(rows, K, dtype=torch.float64)
    kept = float(np.float32(1) / (np.float32(1) - np.float32(p)))
    m = [[kept if dropout_keep(seed, lora, expert, t, j, p) else 0.0 for j in range(K)] for t in range(rows)]
    return torch.tensor(m, dtype=torch.float64)


class TrainCase(Case):
    def __init__(self, name, desc, seed, trainable, out_width, T, opt="none"):
        super().__init__(name, desc, seed)
        self.trainable, self.T, self.opt = trainable, T, opt
        self.out_width = out_width
        self.params = {}

    def w(self, name, arr):
        t = super().w(name, arr)
        if name in self.trainable:
            t.requires_grad_(True)
            self.params[name] = t
        return t

    def finish(self, X, Y, aux_terms=None):
        dY = self.uniform((self.T, self.out_width), 1.0)
        self.inputs["dY"] = dY
        L = (Y * torch.from_numpy(dY).double()).sum()
        if aux_terms is not None:
            L = L + aux_terms
        L.backward()
        self.outputs["Y"] = Y.detach()
        self.outputs["grad_X"] = X.grad
        for name in self.trainable:
            self.outputs["grad_" + name] = self.params[name].grad
        if self.opt == "adamw":
            ps = [self.params[n] for n in self.trainable]
            opt = torch.optim.AdamW(ps, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
            opt.step()
            for n in self.trainable:
                self.outputs["upd_" + n] = self.params[n].detach().clone()
        return self


def train_route(c, X, Wr, k, aux, zloss):
    """Routing with gradients through p (renormalised top-k weights, §8d) and the loss terms."""
    z = F.linear(X, Wr)
    p = torch.softmax(z, dim=-1)
    srt = torch.sort(p.detach(), dim=-1, descending=True).values
    if srt.shape[1] > k and (srt[:, k - 1] - srt[:, k]).min().item() < GAP:
        return None
    if srt.shape[1] > 1 and (srt[:, :-1] - srt[:, 1:]).min().item() < GAP:
        return None
    idx = torch.topk(p.detach(), k, dim=-1).indices
    top = torch.gather(p, 1, idx)
    w = top / top.sum(dim=-1, keepdim=True)
    T, E = p.shape
    counts = torch.zeros(E, dtype=torch.float64).index_add_(0, idx.reshape(-1), torch.ones(T * k, dtype=torch.float64))
    L_aux = E * torch.sum((counts / T) * p.mean(dim=0))
    L_z = torch.mean(torch.logsumexp(z, dim=-1) ** 2)
    c.outputs["idx"] = idx.to(torch.int32).numpy()
    return idx, w, aux * L_aux + zloss * L_z


def t_lora(name, seed, T, h, o, r, alpha, p=0.0, opt="none"):
    desc = f"lora:T={T},h={h},o={o},r={r},alpha={alpha},p={p},mode=train,opt={opt}"
    c = TrainCase(name, desc, seed, ["A", "B"], o, T, opt)
    W = c.lin("W", o, h)
    A, B = c.lora("", o, h, r)
    X = c.x("X", c.normal((T, h), 1.0)).requires_grad_(True)
    U = X * mask(42, LORA_MAIN, 0, T, h, p)
    return c.finish(X, F.linear(X, W) + (alpha / r) * F.linear(F.linear(U, A), B))


def t_proj(x, W, ab, s, M):
    return F.linear(x, W) + s * F.linear(F.linear(x * M, ab[0]), ab[1])


def t_mlp_lora(name, seed, T, h, f, r, alpha, act, p=0.0):
    desc = f"mlp_lora:T={T},h={h},f={f},r={r},alpha={alpha},act={act},p={p},mode=train"
    c = TrainCase(name, desc, seed, ["Ag", "Bg", "Au", "Bu", "Ad", "Bd"], h, T)
    Wg, Wu, Wd = c.lin("Wg", f, h), c.lin("Wu", f, h), c.lin("Wd", h, f)
    lg, lu, ld = c.lora("g", f, h, r), c.lora("u", f, h, r), c.lora("d", h, f, r)
    X = c.x("X", c.normal((T, h), 1.0)).requires_grad_(True)
    s = alpha / r
    H = act_fn(act)(t_proj(X, Wg, lg, s, mask(42, LORA_GATE, 0, T, h, p))) * t_proj(X, Wu, lu, s, mask(42, LORA_UP, 0, T, h, p))
    return c.finish(X, t_proj(H, Wd, ld, s, mask(42, LORA_DOWN, 0, T, f, p)))


def t_molora(name, seed, T, h, o, r, E, alpha, p=0.0):
    desc = f"molora:T={T},h={h},o={o},r={r},E={E},alpha={alpha},p={p},mode=train"
    c = TrainCase(name, desc, seed, ["A", "B", "Wr"], o, T)
    W = c.lin("W", o, h)
    Wr = c.w("Wr", c.normal((E, h), 1.0 / np.sqrt(h)))
    A, B = c.lora("", o, h, r, (E,))
    X = c.x("X", c.normal((T, h), 1.0)).requires_grad_(True)
    U = X * mask(42, LORA_MAIN, 0, T, h, p)
    pr = torch.softmax(F.linear(X, Wr), dim=-1)
    D = torch.einsum("ter,eor->teo", torch.einsum("th,erh->ter", U, A), B)
    return c.finish(X, F.linear(X, W) + (alpha / r) * torch.einsum("te,teo->to", pr, D))


def t_moelora(name, seed, B_, S, h, o, r, E, tasks, te, alpha, task_ids, p=0.0):
    desc = f"moelora:B={B_},S={S},h={h},o={o},r={r},E={E},tasks={tasks},te={te},alpha={alpha},p={p},mode=train"
    c = TrainCase(name, desc, seed, ["A", "B", "Wg", "Emb"], o, B_ * S)
    re = r // E
    W = c.lin("W", o, h)
    A, Bm = c.lora("", o, h, re, (E,))
    Emb = c.w("Emb", c.normal((tasks + 1, te), 1.0))
    Wg = c.w("Wg", c.normal((E, te), 1.0 / np.sqrt(te)))
    X = c.x("X", c.normal((B_ * S, h), 1.0)).requires_grad_(True)
    task = c.x("task", np.array(task_ids, dtype=np.int32))
    U = X * mask(42, LORA_MAIN, 0, B_ * S, h, p)
    gt = torch.softmax(F.linear(Emb[task.long()], Wg), dim=-1).repeat_interleave(S, dim=0)
    Y = F.linear(X, W)
    for e in range(E):
        Y = Y + (alpha / r) * gt[:, e:e + 1] * F.linear(F.linear(U, A[e]), Bm[e])
    return c.finish(X, Y)


def t_mixlora(name, seed, T, h, f, r, E, k, alpha, act, aux, zloss, p=0.0):
    for attempt in range(200):
        desc = f"mixlora:T={T},h={h},f={f},r={r},E={E},k={k},alpha={alpha},act={act},p={p},aux={aux},zloss={zloss},mode=train"
        c = TrainCase(name, desc, seed * 1000 + attempt, ["Ag", "Bg", "Au", "Bu", "Ad", "Bd", "Wr"], h, T)
        Wg, Wu, Wd = c.lin("Wg", f, h), c.lin("Wu", f, h), c.lin("Wd", h, f)
        Wr = c.w("Wr", c.normal((E, h), 1.0 / np.sqrt(h)))
        lg, lu, ld = c.lora("g", f, h, r, (E,)), c.lora("u", f, h, r, (E,)), c.lora("d", h, f, r, (E,))
        X = c.x("X", c.normal((T, h), 1.0)).requires_grad_(True)
        rt = train_route(c, X, Wr, k, aux, zloss)
        if rt is None:
            continue
        idx, w, extra = rt
        s = alpha / r
        Y = torch.zeros(T, h, dtype=torch.float64)
        for e in range(E):
            tok, slot = torch.nonzero(idx == e, as_tuple=True)
            if tok.numel() == 0:
                continue
            xe = X[tok]
            Mg, Mu, Md = (mask(42, l, e, T, K, p)[tok] for l, K in ((LORA_GATE, h), (LORA_UP, h), (LORA_DOWN, f)))
            He = act_fn(act)(t_proj(xe, Wg, (lg[0][e], lg[1][e]), s, Mg)) * t_proj(xe, Wu, (lu[0][e], lu[1][e]), s, Mu)
            ye = t_proj(He, Wd, (ld[0][e], ld[1][e]), s, Md)
            Y = Y.index_add(0, tok, w[tok, slot].unsqueeze(1) * ye)
        return c.finish(X, Y, extra)
    raise RuntimeError(name + ": no tie-free routing found")


def t_mor1e(name, seed, B_, S, h, o, r, p=0.0):
    desc = f"mor1e:B={B_},S={S},h={h},o={o},r={r},p={p},mode=train"
    c = TrainCase(name, desc, seed, ["A", "B", "Wr", "w_omega", "w_beta"], o, B_ * S)
    W = c.lin("W", o, h)
    A, Bm = c.lora("", o, h, r)
    Wr = c.w("Wr", c.normal((r, h), 1.0 / np.sqrt(h)))
    w_omega = c.w("w_omega", np.array([0.013], dtype=np.float32))
    w_beta = c.w("w_beta", np.array([-0.007], dtype=np.float32))
    X = c.x("X", c.normal((B_ * S, h), 1.0)).requires_grad_(True)
    R = c.x("R", c.rng.uniform(0, 1, (B_, r)).astype(np.float32))
    omega, beta = torch.sigmoid(100 * w_omega), torch.sigmoid(100 * w_beta)
    gate = torch.softmax(F.linear(X, Wr), dim=-1) * omega * 32 + R.repeat_interleave(S, dim=0) * (1 - omega) * 4
    U = X * mask(42, LORA_MAIN, 0, B_ * S, h, p)
    return c.finish(X, F.linear(X, W) + beta * F.linear(F.linear(U, A) * gate, Bm))


def t_sparse_mlp(name, seed, T, h, f, E, k, act, shard, aux, zloss):
    fe = f // E if shard else f
    for attempt in range(200):
        desc = f"sparse_mlp:T={T},h={h},f={f},E={E},k={k},act={act},shard={shard},aux={aux},zloss={zloss},mode=train"
        c = TrainCase(name, desc, seed * 1000 + attempt, ["Wr", "Wg", "Wu", "Wd"], h, T)
        Wr = c.w("Wr", c.normal((E, h), 1.0 / np.sqrt(h)))
        Wg = c.w("Wg", c.normal((E, fe, h), 1.0 / np.sqrt(h)))
        Wu = c.w("Wu", c.normal((E, fe, h), 1.0 / np.sqrt(h)))
        Wd = c.w("Wd", c.normal((E, h, fe), 1.0 / np.sqrt(f)))
        X = c.x("X", c.normal((T, h), 1.0)).requires_grad_(True)
        rt = train_route(c, X, Wr, k, aux, zloss)
        if rt is None:
            continue
        idx, w, extra = rt
        Y = torch.zeros(T, h, dtype=torch.float64)
        for e in range(E):
            tok, slot = torch.nonzero(idx == e, as_tuple=True)
            if tok.numel() == 0:
                continue
            xe = X[tok]
            ye = F.linear(act_fn(act)(F.linear(xe, Wg[e])) * F.linear(xe, Wu[e]), Wd[e])
            Y = Y.index_add(0, tok, w[tok, slot].unsqueeze(1) * ye)
        return c.finish(X, Y, extra)
    raise RuntimeError(name + ": no tie-free routing found")


def t_router(name, seed, T, h, E, k, aux, zloss, opt="none"):
    for attempt in range(200):
        desc = f"router:T={T},h={h},E={E},k={k},aux={aux},zloss={zloss},mode=train,opt={opt}"
        c = TrainCase(name, desc, seed * 1000 + attempt, ["Wr"], E, T, opt)
        Wr = c.w("Wr", c.normal((E, h), 1.0 / np.sqrt(h)))
        X = c.x("X", c.normal((T, h), 1.0)).requires_grad_(True)
        rt = train_route(c, X, Wr, k, aux, zloss)
        if rt is None:
            continue
        idx, w, extra = rt
        Y = torch.zeros(T, E, dtype=torch.float64).scatter(1, idx, w)
        return c.finish(X, Y, extra)
    raise RuntimeError(name + ": no tie-free routing found")


def train_cases():
    yield t_lora("train_lora", 101, 4, 6, 5, 2, 4.0)
    yield t_lora("train_lora_dropout", 102, 5, 7, 6, 3, 6.0, p=0.25)
    yield t_lora("train_lora_adamw", 103, 3, 5, 4, 2, 4.0, opt="adamw")
    yield t_mlp_lora("train_mlp_lora", 104, 3, 6, 10, 2, 4.0, "silu", p=0.1)
    yield t_molora("train_molora", 105, 4, 6, 5, 2, 3, 4.0, p=0.1)
    yield t_moelora("train_moelora", 106, 3, 2, 6, 5, 4, 2, 3, 4, 8.0, [2, 0, 3], p=0.1)
    yield t_mixlora("train_mixlora", 107, 6, 6, 9, 2, 4, 2, 4.0, "silu", 0.3, 0.2, p=0.1)
    yield t_mixlora("train_mixlora_gelu_k1", 108, 5, 5, 7, 3, 3, 1, 3.0, "gelu", 0.01, 0.0)
    yield t_mor1e("train_mor1e", 109, 2, 3, 6, 5, 4, p=0.1)
    yield t_sparse_mlp("train_sparse_mlp", 110, 6, 6, 8, 4, 2, "silu", 0, 0.3, 0.2)
    yield t_sparse_mlp("train_sparse_mlp_shard1", 111, 5, 5, 12, 3, 2, "gelu", 1, 0.01, 0.05)
    yield t_router("train_router", 112, 7, 5, 5, 2, 0.3, 0.2)
    yield t_router("train_router_adamw", 113, 6, 4, 4, 2, 0.5, 0.1, opt="adamw")


def main():
    torch.set_default_dtype(torch.float64)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    names = []
    for c in cases():
        c.write()
        names.append(c.name)
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    train = []
    for c in train_cases():
        c.write()
        train.append(c.name)
    with open(os.path.join(OUT, "train_cases.txt"), "w") as f:
        f.write("\n".join(train) + "\n")
    print(f"wrote {len(names)} forward and {len(train)} train cases to {OUT}")


if __name__ == "__main__":
    main()
