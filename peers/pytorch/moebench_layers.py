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

    def forward(self, x):
        ax = torch.einsum("...d,edr->...er", x, self.lora_a)
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

    def _llama_forward(self, expert_mask, hidden_states, input_dtype):
        common_gate = self.base_layer_.gate_proj(hidden_states.to(input_dtype)).to(hidden_states.dtype)
        common_up = self.base_layer_.up_proj(hidden_states.to(input_dtype)).to(hidden_states.dtype)
        final_expert_states = []
        for expert_idx in range(self.num_experts_):
            _, top_x = torch.where(expert_mask[expert_idx])
            lora_gate = self.experts_[f"experts_{expert_idx}_gate_proj"]
            lora_up = self.experts_[f"experts_{expert_idx}_up_proj"]
            lora_down = self.experts_[f"experts_{expert_idx}_down_proj"]
            lora_data = _slice_tensor(hidden_states, top_x, input_dtype)
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
        routing_weights, selected_experts = torch.topk(routing_weights, self.topk_, dim=-1)
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        final_hidden_states = torch.zeros((batch_size * sequence_length, hidden_dim),
                                          dtype=self.dtype_, device=hidden_states.device)
        expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts_).permute(2, 1, 0)
        expert_states = self._llama_forward(expert_mask, hidden_states, input_dtype)
        for expert_idx in range(self.num_experts_):
            idx, top_x = torch.where(expert_mask[expert_idx])
            current_hidden_states = expert_states[expert_idx] * routing_weights[top_x, idx, None]
            final_hidden_states.index_add_(0, top_x, current_hidden_states.to(self.dtype_))
        final_hidden_states = final_hidden_states.reshape(
            batch_size, sequence_length, hidden_dim).to(input_dtype)
        return final_hidden_states, {"router_logits": router_logits, "route_idx": selected_experts,
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

    def forward(self, hidden_states):
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_dim)
        router_logits = self.gate(hidden_states)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        routing_weights = routing_weights.to(hidden_states.dtype)
        final_hidden_states = torch.zeros((batch_size * sequence_length, hidden_dim),
                                          dtype=hidden_states.dtype, device=hidden_states.device)
        expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)
        expert_hitted = torch.greater(expert_mask.sum(dim=(-1, -2)), 0).nonzero()
        for expert_idx in expert_hitted:
            expert_layer = self.experts[expert_idx]
            idx, top_x = torch.where(expert_mask[expert_idx].squeeze(0))
            current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
            current_hidden_states = expert_layer(current_state) * routing_weights[top_x, idx, None]
            final_hidden_states.index_add_(0, top_x, current_hidden_states.to(hidden_states.dtype))
        final_hidden_states = final_hidden_states.reshape(batch_size, sequence_length, hidden_dim)
        return final_hidden_states, {"router_logits": router_logits, "route_idx": selected_experts,
                                     "route_w": routing_weights}


# ---- router alone ------------------------------------------------------------------------------

class TopKRouter(nn.Module):
    """The gate of a top-k MoE block alone: logits, softmax over all E, top-k, renormalise."""

    def __init__(self, spec, a, dtype):
        super().__init__()
        self.gate = _linear(a["Wr"], dtype)
        self.top_k = spec["k"]

    def forward(self, hidden_states):
        hidden_states = hidden_states.view(-1, hidden_states.shape[-1])
        router_logits = self.gate(hidden_states)
        routing_probs = F.softmax(router_logits, dim=-1, dtype=router_logits.dtype)
        routing_weights, selected_experts = torch.topk(routing_probs, self.top_k, dim=-1)
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        # moebench's router output: the dense combine matrix (w at the chosen experts, else 0)
        combine = torch.zeros_like(routing_probs).scatter(1, selected_experts, routing_weights)
        return combine, {"router_logits": router_logits, "route_idx": selected_experts,
                               "route_w": routing_weights}


# ---- build from a dump ---------------------------------------------------------------------------

def build(spec, arrays, dtype=torch.float32):
    """(module, inputs) for a case: spec is case.json's "spec" dict, arrays maps tensor names to
    numpy arrays. ``module(*inputs)`` returns ``(Y, extras)`` with Y of shape [T, out]."""
    v = spec["variant"]
    B, S, h = spec["B"], spec["S"], spec["h"]
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


def tolerance(spec, ref_rms):
    """moebench's f32 tolerance (kernels/include/moebench/compare.h): element passes when
    |y - ref| <= atol + rtol |ref|, rtol = 1e-4, atol = 1e-4 * rms(ref) * sqrt(depth / 64)."""
    return 1e-4 * ref_rms * math.sqrt(reduction_depth(spec) / 64.0), 1e-4
