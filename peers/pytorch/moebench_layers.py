"""The moebench variants in eager PyTorch, written the way their upstream users write them.

Each class mirrors the upstream module it comes from (shared/spec/variants.md Part 2):

  lora        peft ``lora.Linear``: base nn.Linear + lora_A / lora_B nn.Linear, ``* scaling``
  mlp_lora    LLaMA MLP ``down(act(gate(x)) * up(x))`` whose three projections are peft LoRA linears
  molora      MoLoRA (for-ai/parameter-efficient-moe ``MoLoRa``): all experts for all tokens with
              einsums, soft merge with the router softmax
  moelora     MOELoRA (liuqidong07/MOELoRA-peft ``MMOELoraLinear``): per-expert Python loop, one
              gate vector per sequence from a task embedding
  mixlora     MixLoRA (TUDB-Labs/MixLoRA ``MixLoraSparseMoe._llama_forward``): shared frozen MLP,
              gate/up projections once for all tokens, per-expert LoRA on the selected rows,
              ``index_add_`` into the output
  mor1e       T-REX / MoR1E ``moe_mode="rank1"``: rank-1 experts gated by a token softmax plus a
              per-sequence intuition score
  sparse_mlp  HF ``MixtralSparseMoeBlock``: loop over the experts that were hit, ``index_add_``
  router      the top-k gate alone (softmax over all experts, top-k, renormalise)

Routing options (spec Part 1 "Routing options": cap, shared, topp, route) are written the way the
upstream code that has them writes them (``route_options`` below): capacity as GShard's
``top2gating`` / HF Switch (slot-major cumsum locations against the capacity), shared experts as
DeepSeekMoE's ``DeepseekMoE`` (one MLP of n x the expert width added to the routed output), top-p
as MoE-PEFT's dynamic MixLoRA router (sort, cumsum, keep up to the first that reaches P;
renormalised here, as the spec asks); route=balanced|hot in torch, and route=zipf with moebench's
own counter-based generator (SplitMix64, re-implemented below) so the draws are the C code's
without reading them from the dump.

The weights come from a ``moebench dump`` directory (numpy arrays, torch.nn.Linear layout
``W[d_out, d_in]``); ``build(spec, arrays, dtype)`` returns ``(module, inputs)`` where
``module(*inputs)`` returns ``(Y [T, out], extras)``; extras holds routing / gate tensors that the
check compares with the dump.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


ACT2FN = {"silu": F.silu, "gelu": F.gelu, "relu": F.relu}   # gelu: exact erf form (torch default)


def _param(array, dtype):
    """A frozen parameter that shares memory with the numpy array when the dtype already fits."""
    return nn.Parameter(torch.from_numpy(array).to(dtype), requires_grad=False)


def _linear(weight, dtype):
    """nn.Linear(d_in, d_out, bias=False) holding ``weight [d_out, d_in]`` (no random init pass)."""
    d_out, d_in = weight.shape
    lin = nn.utils.skip_init(nn.Linear, d_in, d_out, bias=False)
    lin.weight = _param(weight, dtype)
    return lin


# ---- routing options ----------------------------------------------------------------------------

_M64 = (1 << 64) - 1


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & _M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & _M64
    return z ^ (z >> 31)


def _stream_of(name):
    """FNV-1a 64 of the name: moebench's mb_stream_of."""
    h = 0xcbf29ce484222325
    for c in name.encode():
        h = ((h ^ c) * 0x100000001b3) & _M64
    return h


def _rand_unit(seed, stream, counter):
    """moebench's mb_rand_unit: uniform [0, 1) from (seed, stream, counter)."""
    key = _mix64(seed ^ _mix64((stream + 0x632be59bd9b4e019) & _M64))
    return (_mix64((key + (counter + 1) * 0x9e3779b97f4a7c15) & _M64) >> 11) * 2.0 ** -53


def _zipf_experts(spec, T):
    """route=zipf:S: token t draws k distinct experts, draw j from Zipf(S) over the experts not
    drawn yet (weights (e+1)^-S), with uniform t*k + j of the stream "route_zipf"."""
    E, k, S = spec["E"], spec["k"], spec["route_param"]
    seed, stream = int(spec["seed_str"]), _stream_of("route_zipf")
    wz = [(e + 1) ** -S for e in range(E)]
    out = []
    for t in range(T):
        taken = []
        for j in range(k):
            total = 0.0
            for e in range(E):
                if e not in taken:
                    total += wz[e]
            target = _rand_unit(seed, stream, t * k + j) * total
            cum, pick = 0.0, -1
            for e in range(E):
                if e in taken:
                    continue
                pick = e
                cum += wz[e]
                if target < cum:
                    break
            taken.append(pick)
        out.append(taken)
    return torch.tensor(out, dtype=torch.int64)


def has_route_options(spec):
    return bool(spec.get("cap") or spec.get("topp") or spec.get("route_kind", "learned") != "learned")


def route_options(probs, spec):
    """(selected [T, k] int64 with -1 for empty top-p slots, weights [T, k] (0 there),
    keep [T, k] bool: False where the capacity dropped the assignment)."""
    T, E, k = probs.shape[0], spec["E"], spec["k"]
    kind = spec.get("route_kind", "learned")
    if kind == "balanced":
        selected = (torch.arange(T)[:, None] * k + torch.arange(k)[None, :]) % E
    elif kind == "zipf":
        selected = _zipf_experts(spec, T)
    else:
        # descending p, ties to the lower index: a stable sort keeps index order among equals
        sorted_p, sorted_i = torch.sort(probs, dim=-1, descending=True, stable=True)
        if spec.get("topp"):
            # dynamic routing: keep an expert while the mass before it is below P
            cum = sorted_p.to(torch.float64).cumsum(dim=-1)
            mask = (cum - sorted_p.to(torch.float64)) < spec["topp"]
            selected = torch.where(mask[:, :k], sorted_i[:, :k], torch.full_like(sorted_i[:, :k], -1))
        else:
            selected = sorted_i[:, :k].clone()
        if kind == "hot":
            hot = math.ceil(spec["route_param"] * T)
            others = sorted_i[:hot][sorted_i[:hot] != 0].view(hot, E - 1)[:, :k - 1]
            selected[:hot] = torch.cat([torch.zeros(hot, 1, dtype=torch.int64), others], dim=1)
    valid = selected >= 0
    w = torch.where(valid, probs.gather(1, selected.clamp(min=0)), torch.zeros((), dtype=probs.dtype))
    w = w / w.sum(dim=-1, keepdim=True)
    keep = valid.clone()
    if spec.get("cap"):
        # GShard top2gating generalised to k slots: an assignment's location in its expert is
        # the number of earlier slots' assignments plus the earlier tokens' in its own slot
        capacity = math.ceil(spec["cap"] * k * T / E)
        masks = F.one_hot(selected.clamp(min=0), E) * valid[..., None]   # [T, k, E]
        before = torch.zeros(E, dtype=torch.int64)
        for j in range(k):
            locations = torch.cumsum(masks[:, j], dim=0) - 1 + before
            keep[:, j] &= (locations * masks[:, j]).sum(dim=-1) < capacity
            before += masks[:, j].sum(dim=0)
    return selected, w, keep


def _route_extras(router_logits, selected, w, keep):
    return {"router_logits": router_logits, "route_idx": selected, "route_w": w,
            "route_dropped": (~keep & (selected >= 0)).to(torch.int32)}


# ---- lora: peft lora.Linear --------------------------------------------------------------------

class LoraLinear(nn.Module):
    """peft ``tuners/lora/layer.py`` Linear, one active adapter, dropout p = 0 (Identity)."""

    def __init__(self, base_layer, lora_A, lora_B, scaling):
        super().__init__()
        self.base_layer = base_layer
        self.lora_A = lora_A
        self.lora_B = lora_B
        self.lora_dropout = nn.Identity()
        self.scaling = scaling

    def forward(self, x):
        result = self.base_layer(x)
        x = x.to(self.lora_A.weight.dtype)
        result = result + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scaling
        return result


def _lora_linear(W, A, B, scaling, dtype):
    return LoraLinear(_linear(W, dtype), _linear(A, dtype), _linear(B, dtype), scaling)


class LoraModel(nn.Module):
    def __init__(self, spec, a, dtype):
        super().__init__()
        self.layer = _lora_linear(a["W"], a["A"], a["B"], spec["alpha"] / spec["r"], dtype)

    def forward(self, x):
        return self.layer(x), {}


# ---- mlp_lora: LLaMA MLP with peft LoRA on gate / up / down -------------------------------------

class LlamaMLP(nn.Module):
    """transformers ``LlamaMLP``: down_proj(act_fn(gate_proj(x)) * up_proj(x))."""

    def __init__(self, gate_proj, up_proj, down_proj, act):
        super().__init__()
        self.gate_proj = gate_proj
        self.up_proj = up_proj
        self.down_proj = down_proj
        self.act_fn = ACT2FN[act]

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class MlpLoraModel(nn.Module):
    def __init__(self, spec, a, dtype):
        super().__init__()
        s = spec["alpha"] / spec["r"]
        self.mlp = LlamaMLP(_lora_linear(a["Wg"], a["Ag"], a["Bg"], s, dtype),
                            _lora_linear(a["Wu"], a["Au"], a["Bu"], s, dtype),
                            _lora_linear(a["Wd"], a["Ad"], a["Bd"], s, dtype),
                            spec["act"])

    def forward(self, x):
        return self.mlp(x), {}


# ---- molora: MoLoRA einsum form -----------------------------------------------------------------

class MoLoRALinear(nn.Module):
    """MoLoRA ``MoLoRa.__call__`` ported to torch: lora_a [E, d_in, r], lora_b [E, r, d_out]
    (the upstream layouts; the dump stores A [E, r, d_in] and B [E, d_out, r]), every expert
    on every token, soft merge with a float32 router softmax."""

    def __init__(self, spec, a, dtype):
        super().__init__()
        self.base_layer = _linear(a["W"], dtype)
        self.lora_a = nn.Parameter(torch.from_numpy(a["A"]).to(dtype).permute(0, 2, 1).contiguous(),
                                   requires_grad=False)
        self.lora_b = nn.Parameter(torch.from_numpy(a["B"]).to(dtype).permute(0, 2, 1).contiguous(),
                                   requires_grad=False)
        self.router = _linear(a["Wr"], dtype)
        self.scaling = spec["alpha"] / spec["r"]
        self.lora_dropout = nn.Identity()   # upstream has none; train mode's fixed mask goes here

    def forward(self, x):
        ax = torch.einsum("...d,edr->...er", self.lora_dropout(x), self.lora_a)
        bax = torch.einsum("...er,erd->...ed", ax, self.lora_b)
        router_probs = F.softmax(self.router(x.to(self.router.weight.dtype)), dim=-1)
        out = self.scaling * torch.einsum("...e,...ed->...d", router_probs.to(bax.dtype), bax)
        return self.base_layer(x) + out, {"gate": router_probs}


# ---- moelora: MOELoRA per-expert loop with a task gate ------------------------------------------

class MMOELoraLinear(nn.Module):
    """MOELoRA ``MMOELoraLinear.forward``: result = base(x); for each expert i,
    result += lora_B[i](lora_A[i](dropout(x))) * scaling * expert_weight[..., i].
    Upstream assumes seq-first activations ([S, B, d]: ``unsqueeze(-1).unsqueeze(0)``); moebench
    rows are batch-first, so the gate of sequence b broadcasts as [B, 1, 1]."""

    def __init__(self, spec, a, dtype):
        super().__init__()
        self.expert_num = spec["E"]
        self.base_layer = _linear(a["W"], dtype)
        self.lora_A = nn.ModuleList(_linear(a["A"][i], dtype) for i in range(self.expert_num))
        self.lora_B = nn.ModuleList(_linear(a["B"][i], dtype) for i in range(self.expert_num))
        self.lora_dropout = nn.Identity()
        emb = a["Emb"]
        self.lora_task_embedding = nn.Embedding(emb.shape[0], emb.shape[1])
        self.lora_task_embedding.weight = _param(emb, dtype)
        self.lora_gate = nn.Sequential(_linear(a["Wg"], dtype), nn.Softmax(dim=1))
        self.scaling = spec["alpha"] / spec["r"]     # total rank, not r / E (upstream)

    def forward(self, x, task_id):
        result = self.base_layer(x)
        x = x.to(self.lora_A[0].weight.dtype)
        expert_weight = self.lora_gate(self.lora_task_embedding(task_id))      # [B, E]
        for i in range(self.expert_num):
            result += (  # lora process
                self.lora_B[i](self.lora_A[i](self.lora_dropout(x)))
                * self.scaling
                * expert_weight[..., i].unsqueeze(-1).unsqueeze(-1)
            )
        return result, {"gate": expert_weight}


# ---- mixlora: TUDB-Labs MixLoRA ------------------------------------------------------------------

class MixLoraExpertLinear(nn.Module):
    """MixLoRA ``LoraLinear`` as the MoE uses it: ``lora_forward(residual, hidden)``."""

    def __init__(self, A, B, scaling, dtype):
        super().__init__()
        self.lora_A = _linear(A, dtype)
        self.lora_B = _linear(B, dtype)
        self.dropout_ = nn.Identity()
        self.scaling_ = scaling

    def lora_forward(self, residual, hidden_states):
        return residual + self.lora_B(self.lora_A(self.dropout_(hidden_states))) * self.scaling_


def _slice_tensor(data, slice, dtype):
    return data[None, slice].reshape(-1, data.shape[-1]).to(dtype)


class MixLoraSparseMoe(nn.Module):
    """mixlora/model.py ``MixLoraSparseMoe`` with the LLaMA path ``_llama_forward`` (gate/up
    projections computed once for all tokens: share=gate_up). The share modes of moebench are
    equal in exact arithmetic, so this one module is the peer of all three."""

    def __init__(self, spec, a, dtype):
        super().__init__()
        self.dtype_ = dtype
        self.base_layer_ = LlamaMLP(_linear(a["Wg"], dtype), _linear(a["Wu"], dtype),
                                    _linear(a["Wd"], dtype), spec["act"])
        self.gate_ = nn.Parameter(torch.from_numpy(a["Wr"]).to(dtype), requires_grad=False)
        self.act_fn_ = ACT2FN[spec["act"]]
        self.num_experts_ = spec["E"]
        self.topk_ = spec["k"]
        s = spec["alpha"] / spec["r"]
        self.experts_ = nn.ModuleDict()
        for e in range(self.num_experts_):
            for proj, (A, B) in (("gate_proj", ("Ag", "Bg")), ("up_proj", ("Au", "Bu")),
                                 ("down_proj", ("Ad", "Bd"))):
                self.experts_[f"experts_{e}_{proj}"] = MixLoraExpertLinear(a[A][e], a[B][e], s, dtype)
        # shared LoRA experts (DeepSeekMoE's shared experts over MixLoRA's shared base MLP)
        self.spec_ = spec
        self.num_shared_ = spec.get("shared", 0)
        for e in range(self.num_shared_):
            for proj, (A, B) in (("gate_proj", ("Ags", "Bgs")), ("up_proj", ("Aus", "Bus")),
                                 ("down_proj", ("Ads", "Bds"))):
                self.experts_[f"shared_{e}_{proj}"] = MixLoraExpertLinear(a[A][e], a[B][e], s, dtype)

    def _llama_forward(self, expert_mask, hidden_states, input_dtype):
        common_gate = self.base_layer_.gate_proj(hidden_states.to(input_dtype)).to(hidden_states.dtype)
        common_up = self.base_layer_.up_proj(hidden_states.to(input_dtype)).to(hidden_states.dtype)
        final_expert_states = []
        every = torch.ones(1, hidden_states.shape[0], dtype=torch.bool)
        for expert_idx in range(self.num_experts_ + self.num_shared_):
            shared = expert_idx >= self.num_experts_
            name = f"shared_{expert_idx - self.num_experts_}" if shared else f"experts_{expert_idx}"
            _, top_x = torch.where(every if shared else expert_mask[expert_idx])
            lora_gate = self.experts_[f"{name}_gate_proj"]
            lora_up = self.experts_[f"{name}_up_proj"]
            lora_down = self.experts_[f"{name}_down_proj"]
            lora_data = _slice_tensor(hidden_states, top_x, input_dtype)
            for lora in (lora_gate, lora_up, lora_down):
                if hasattr(lora.dropout_, "rows"):   # train mode's fixed mask (moebench_train.py)
                    lora.dropout_.rows = top_x
            gate_states = lora_gate.lora_forward(_slice_tensor(common_gate, top_x, input_dtype), lora_data)
            up_states = lora_up.lora_forward(_slice_tensor(common_up, top_x, input_dtype), lora_data)
            act_result = self.act_fn_(gate_states) * up_states
            final_expert_states.append(
                lora_down.lora_forward(self.base_layer_.down_proj(act_result), act_result))
        return final_expert_states

    def forward(self, hidden_states):
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.view(-1, hidden_dim).to(self.dtype_)
        router_logits = F.linear(hidden_states, self.gate_)
        routing_weights = F.softmax(router_logits, dim=1, dtype=self.dtype_)
        extras = None
        if has_route_options(self.spec_):
            selected_experts, routing_weights, keep = route_options(routing_weights, self.spec_)
            extras = _route_extras(router_logits, selected_experts, routing_weights, keep)
            expert_mask = (F.one_hot(selected_experts.clamp(min=0), num_classes=self.num_experts_)
                           * keep[..., None]).permute(2, 1, 0)
        else:
            routing_weights, selected_experts = torch.topk(routing_weights, self.topk_, dim=-1)
            routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
            expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts_).permute(2, 1, 0)
        final_hidden_states = torch.zeros((batch_size * sequence_length, hidden_dim),
                                          dtype=self.dtype_, device=hidden_states.device)
        expert_states = self._llama_forward(expert_mask, hidden_states, input_dtype)
        for expert_idx in range(self.num_experts_):
            idx, top_x = torch.where(expert_mask[expert_idx])
            current_hidden_states = expert_states[expert_idx] * routing_weights[top_x, idx, None]
            final_hidden_states.index_add_(0, top_x, current_hidden_states.to(self.dtype_))
        for e in range(self.num_shared_):   # shared experts: weight 1, added to the routed sum
            final_hidden_states += expert_states[self.num_experts_ + e].to(self.dtype_)
        final_hidden_states = final_hidden_states.reshape(
            batch_size, sequence_length, hidden_dim).to(input_dtype)
        return final_hidden_states, extras or {"router_logits": router_logits,
                                               "route_idx": selected_experts,
                                               "route_w": routing_weights}


# ---- mor1e: T-REX rank1 mode ---------------------------------------------------------------------

class Rank1MoELinear(nn.Module):
    """T-REX ``peft/src/peft/tuners/lora.py`` Linear.forward with moe_mode="rank1": r rank-1
    experts, routing_value = router(x).softmax * omg * 32 + relate_score * (1 - omg) * 4,
    output scaled by the binary main gate sigmoid(100 w); alpha = 1 (no lora_alpha / r)."""

    def __init__(self, spec, a, dtype):
        super().__init__()
        self.base_layer = _linear(a["W"], dtype)
        self.lora_A = _linear(a["A"], dtype)
        self.lora_B = _linear(a["B"], dtype)
        self.router = _linear(a["Wr"], dtype)
        self.omg = _linear(a["w_omega"].reshape(1, 1), dtype)
        self.binary_main_gate_weight = _linear(a["w_beta"].reshape(1, 1), dtype)
        self.lora_dropout = nn.Identity()

    def forward(self, x, relate_score_placeholder):
        result = self.base_layer(x)
        value_from_router = self.router(x).softmax(dim=-1)
        if len(relate_score_placeholder.shape) == 2:
            relate_score_placeholder = relate_score_placeholder.unsqueeze(1)    # [B, 1, r]
        omg = (self.omg.weight.flatten() * 100.).sigmoid()
        token_coefficient = 32
        task_coefficient = 4
        routing_value = (value_from_router * omg * token_coefficient
                         + relate_score_placeholder * (1 - omg) * task_coefficient)
        alpha = 1
        output = self.lora_B(self.lora_A(self.lora_dropout(x)) * routing_value) * alpha
        scale_factor = 100
        output = output * ((self.binary_main_gate_weight.weight.flatten() * scale_factor).sigmoid())
        result += output
        return result, {"gate": routing_value}


# ---- sparse_mlp: HF MixtralSparseMoeBlock --------------------------------------------------------

class MixtralBlockSparseTop2MLP(nn.Module):
    def __init__(self, w1, w2, w3, act):
        super().__init__()
        self.w1 = w1   # gate [f, h]
        self.w2 = w2   # down [h, f]
        self.w3 = w3   # up   [f, h]
        self.act_fn = ACT2FN[act]

    def forward(self, hidden_states):
        current_hidden_states = self.act_fn(self.w1(hidden_states)) * self.w3(hidden_states)
        return self.w2(current_hidden_states)


class MixtralSparseMoeBlock(nn.Module):
    """transformers ``modeling_mixtral.py`` MixtralSparseMoeBlock (inference: no jitter). With
    shard=1 each expert is one f/E-wide slice of a single MLP (NJU SparseMLP); the dump already
    holds the slices, so the block is the same."""

    def __init__(self, spec, a, dtype):
        super().__init__()
        self.num_experts = spec["E"]
        self.top_k = spec["k"]
        self.gate = _linear(a["Wr"], dtype)
        self.experts = nn.ModuleList(
            MixtralBlockSparseTop2MLP(_linear(a["Wg"][e], dtype), _linear(a["Wd"][e], dtype),
                                      _linear(a["Wu"][e], dtype), spec["act"])
            for e in range(self.num_experts))
        self.spec = spec
        self.shared_experts = None
        n = spec.get("shared", 0)
        if n:
            # DeepSeekMoE: the n shared experts are one MLP of n x the expert width
            # (intermediate_size = moe_intermediate_size * n_shared_experts), added to the output
            import numpy as np
            self.shared_experts = MixtralBlockSparseTop2MLP(
                _linear(np.concatenate(list(a["Wgs"]), axis=0), dtype),
                _linear(np.concatenate(list(a["Wds"]), axis=1), dtype),
                _linear(np.concatenate(list(a["Wus"]), axis=0), dtype), spec["act"])

    def forward(self, hidden_states):
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_dim)
        router_logits = self.gate(hidden_states)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        extras = None
        if has_route_options(self.spec):
            selected_experts, routing_weights, keep = route_options(routing_weights, self.spec)
            extras = _route_extras(router_logits, selected_experts, routing_weights, keep)
            expert_mask = (F.one_hot(selected_experts.clamp(min=0), num_classes=self.num_experts)
                           * keep[..., None]).permute(2, 1, 0)
        else:
            routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
            routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
            expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)
        routing_weights = routing_weights.to(hidden_states.dtype)
        final_hidden_states = torch.zeros((batch_size * sequence_length, hidden_dim),
                                          dtype=hidden_states.dtype, device=hidden_states.device)
        expert_hitted = torch.greater(expert_mask.sum(dim=(-1, -2)), 0).nonzero()
        for expert_idx in expert_hitted:
            expert_layer = self.experts[expert_idx]
            idx, top_x = torch.where(expert_mask[expert_idx].squeeze(0))
            current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
            current_hidden_states = expert_layer(current_state) * routing_weights[top_x, idx, None]
            final_hidden_states.index_add_(0, top_x, current_hidden_states.to(hidden_states.dtype))
        if self.shared_experts is not None:
            final_hidden_states = final_hidden_states + self.shared_experts(hidden_states)
        final_hidden_states = final_hidden_states.reshape(batch_size, sequence_length, hidden_dim)
        return final_hidden_states, extras or {"router_logits": router_logits,
                                               "route_idx": selected_experts,
                                               "route_w": routing_weights}


# ---- router alone ------------------------------------------------------------------------------

class TopKRouter(nn.Module):
    """The gate of a top-k MoE block alone: logits, softmax over all E, top-k, renormalise."""

    def __init__(self, spec, a, dtype):
        super().__init__()
        self.gate = _linear(a["Wr"], dtype)
        self.top_k = spec["k"]
        self.spec = spec

    def forward(self, hidden_states):
        hidden_states = hidden_states.view(-1, hidden_states.shape[-1])
        router_logits = self.gate(hidden_states)
        routing_probs = F.softmax(router_logits, dim=-1, dtype=router_logits.dtype)
        if has_route_options(self.spec):
            selected, w, keep = route_options(routing_probs, self.spec)
            # the dense combine matrix: nothing where a slot is empty or dropped
            combine = torch.zeros_like(routing_probs).scatter_add(
                1, selected.clamp(min=0), torch.where(keep, w, torch.zeros((), dtype=w.dtype)))
            return combine, _route_extras(router_logits, selected, w, keep)
        routing_weights, selected_experts = torch.topk(routing_probs, self.top_k, dim=-1)
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        # moebench's router output: the dense combine matrix (w at the chosen experts, else 0)
        combine = torch.zeros_like(routing_probs).scatter(1, selected_experts, routing_weights)
        return combine, {"router_logits": router_logits, "route_idx": selected_experts,
                               "route_w": routing_weights}


# ---- build from a dump ---------------------------------------------------------------------------

def build(spec, arrays, dtype=torch.float32, X=None):
    """(module, inputs) for a case: spec is case.json's "spec" dict, arrays maps tensor names to
    numpy arrays. ``module(*inputs)`` returns ``(Y, extras)`` with Y of shape [T, out]. X: the
    input [T, h] to use (train mode passes a leaf that requires grad); default from arrays."""
    v = spec["variant"]
    B, S, h = spec["B"], spec["S"], spec["h"]
    if X is None:
        X = torch.from_numpy(arrays["X"]).to(dtype)
    if v == "lora":
        return LoraModel(spec, arrays, dtype).eval(), (X,)
    if v == "mlp_lora":
        return MlpLoraModel(spec, arrays, dtype).eval(), (X,)
    if v == "molora":
        return MoLoRALinear(spec, arrays, dtype).eval(), (X,)
    if v == "moelora":
        task = torch.from_numpy(arrays["task"].astype("int64"))
        return _Flatten(MMOELoraLinear(spec, arrays, dtype)).eval(), (X.view(B, S, h), task)
    if v == "mixlora":
        return _Flatten(MixLoraSparseMoe(spec, arrays, dtype)).eval(), (X.view(B, S, h),)
    if v == "mor1e":
        R = torch.from_numpy(arrays["R"]).to(dtype)
        return _Flatten(Rank1MoELinear(spec, arrays, dtype)).eval(), (X.view(B, S, h), R)
    if v == "sparse_mlp":
        return _Flatten(MixtralSparseMoeBlock(spec, arrays, dtype)).eval(), (X.view(B, S, h),)
    if v == "router":
        return TopKRouter(spec, arrays, dtype).eval(), (X,)
    raise ValueError(f"unknown variant {v!r}")


class _Flatten(nn.Module):
    """Runs a [B, S, d] module and returns Y as [T, d] (per-token extras flattened too)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, *inputs):
        y, extras = self.inner(*inputs)
        if "gate" in extras and extras["gate"].dim() == 3:
            extras["gate"] = extras["gate"].reshape(-1, extras["gate"].shape[-1])
        return y.reshape(-1, y.shape[-1]), extras


def reduction_depth(spec):
    """Longest reduction of the variant (as moebench's mb_reduction_depth): h for the single
    linears and the router, max(h, expert width) for the MLPs."""
    v = spec["variant"]
    if v in ("mlp_lora", "mixlora"):
        return max(spec["h"], spec["f"])
    if v == "sparse_mlp":
        return max(spec["h"], spec["f"] // spec["E"] if spec["shard"] else spec["f"])
    return spec["h"]


# (rtol, atol_rms) of each dtype's rule, as kernels/core/compare.c; bf16: u = 2^-8.
TOL_RULES = {"f32": (1e-4, 1e-4), "bf16": (2 * 2.0 ** -8, 4 * 2.0 ** -8)}


def tolerance(spec, ref_rms):
    """moebench's tolerance of the case's dtype (kernels/include/moebench/compare.h): element
    passes when |y - ref| <= atol + rtol |ref|, atol = atol_rms * rms(ref) * sqrt(depth / 64);
    f32 rtol = atol_rms = 1e-4, bf16 rtol = 2u, atol_rms = 4u (u = 2^-8)."""
    rtol, arms = TOL_RULES[spec.get("dtype", "f32")]
    return arms * ref_rms * math.sqrt(reduction_depth(spec) / 64.0), rtol
