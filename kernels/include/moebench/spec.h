/* The case specification: which variant, which shapes. Parsed from descriptors like
 * "mixlora:T=128,h=4096,f=11008,r=16,E=8,k=2" and validated with a reason. */
#ifndef MOEBENCH_SPEC_H
#define MOEBENCH_SPEC_H

#include <stdint.h>
#include <stddef.h>
#include "moebench/error.h"
#include "moebench/tensor.h"

/* The variants, in the order of the table (moebench/variants.def). */
typedef enum {
#define MB_VARIANT(ID, ...) MB_##ID,
#include "moebench/variants.def"
#undef MB_VARIANT
    MB_VARIANT_COUNT
} mb_variant_id;
#define MB_NUM_VARIANTS MB_VARIANT_COUNT

/* Per-sequence inputs of a variant besides X (columns of variants.def). */
typedef enum { MB_IN_NONE = 0, MB_IN_TASK, MB_IN_PRIOR } mb_variant_inputs;
/* The gate a forward reports in mb_forward_info.gate: none, [B, E] per sequence, [T, r] or
 * [T, E] per token. */
typedef enum { MB_GATE_NONE = 0, MB_GATE_SEQ_E, MB_GATE_TOK_R, MB_GATE_TOK_E } mb_gate_shape;
/* Output width: o (single linear), h (MLP), E (the router's probabilities). */
typedef enum { MB_OUT_O = 0, MB_OUT_H, MB_OUT_E } mb_out_width;

/* One row of the variant table, the part core and the harness read (the dispatch columns are
 * expanded where their functions live). */
typedef struct {
    const char *name, *fields, *summary;
    int routed;
    mb_variant_inputs inputs;
    mb_gate_shape gate;
    mb_out_width out;
} mb_variant_desc;

/* The table row of v, NULL for a value outside the enum. */
const mb_variant_desc *mb_variant_desc_of(mb_variant_id v);

typedef enum { MB_ACT_SILU = 0, MB_ACT_GELU, MB_ACT_RELU } mb_act;

/* mixlora share modes (spec Part 1): none = upstream "compatible", gate_up = upstream optimised,
 * all = gate, up and down projections once for all experts (default). */
typedef enum { MB_SHARE_NONE = 0, MB_SHARE_GATE_UP = 1, MB_SHARE_ALL = 2 } mb_share;

/* Direction of a case (descriptor key `mode`, architecture §10; benchdnn's dir, ggml's GRAD
 * mode): forward = inference forward only; train = forward keeping activations, then backward
 * to weight (adapter) gradients. Only forward is implemented: implementations answer a train
 * case as unsupported with MB_MODE_TRAIN_TODO, so it is a skipped row, never a silent forward. */
typedef enum { MB_MODE_FORWARD = 0, MB_MODE_TRAIN, MB_MODE_COUNT } mb_mode;

/* Routing distribution (spec Part 1 "Routing options", key route): learned = the router's own
 * top-k; balanced = experts (t*k + j) mod E; zipf:S = k distinct experts drawn from Zipf(S)
 * over the expert indices (seeded); hot:F = the first ceil(F*T) tokens take expert 0 plus the
 * learned top-(k-1) of the others. */
typedef enum { MB_ROUTE_LEARNED = 0, MB_ROUTE_BALANCED, MB_ROUTE_ZIPF, MB_ROUTE_HOT,
               MB_ROUTE_COUNT } mb_route_kind;
#define MB_MODE_TRAIN_TODO "mode=train: not implemented yet (issue 14)"

/* The optimiser of a train step (key `opt`, spec "Training step"): none, or one AdamW update of
 * the trainable tensors (moebench/adamw.h). */
typedef enum { MB_OPT_NONE = 0, MB_OPT_ADAMW, MB_OPT_COUNT } mb_opt;

typedef struct {
    mb_variant_id variant;
    int64_t B, S;       /* T = B * S tokens; sequence b owns rows b*S .. b*S+S-1 */
    int64_t h;          /* input width */
    int64_t o;          /* output width of a single linear (lora, molora, moelora, mor1e) */
    int64_t f;          /* MLP width (mlp_lora, mixlora, sparse_mlp) */
    int64_t r;          /* LoRA rank (moelora: total rank; mor1e: number of rank-1 experts) */
    int64_t E, k;       /* experts, top-k */
    int64_t tasks, te;  /* moelora: number of tasks, task-embedding width */
    float alpha;        /* LoRA scaling s = alpha / r */
    float p;            /* LoRA dropout, 0 <= p < 1; p > 0 only with mode=train (moebench/dropout.h) */
    /* mode=train only (spec "Training step"): L = sum(Y*dY) + aux L_aux + zloss L_z for the
     * routed variants (aux default 0.01, zloss 0; both 0 and unused elsewhere), and the
     * optimiser. Forward mode refuses them at other than their defaults. */
    float aux, zloss;
    mb_opt opt;
    mb_act act;
    mb_share share;     /* mixlora */
    int shard;          /* sparse_mlp: 0 = Mixtral (expert width f), 1 = slices (width f/E) */
    uint64_t seed;
    mb_dtype dtype;
    /* wq= (spec "Precision"): weight-only quantisation of the frozen base weights, MB_I8
     * (per output row) or MB_I4 (groups of MB_WQ_GROUP along the input dimension); MB_F32 (0,
     * the default) means none: the base weights are stored in `dtype` like the rest. */
    mb_dtype wq;
    mb_mode mode;
    /* Expert parallelism (mixlora, sparse_mlp, router): the experts split over ep MPI ranks,
     * each holding T/ep tokens (harness/dist/). 1 = one process. The math is that of ep=1. */
    int ep;
    /* Routing options (spec Part 1 "Routing options"; routed variants): capacity factor
     * (0 = dropless), shared experts (not counted in E or k; sparse_mlp and mixlora), top-p
     * threshold (0 = plain top-k; else k is the largest set), routing distribution and its
     * parameter (zipf's S, hot's F). Doubles: ceil(c*k*T/E) and ceil(F*T) must not see a
     * float's rounding of the decimal the user wrote. */
    double cap;
    int64_t shared;
    double topp;
    mb_route_kind route;
    double route_param;
    /* Keys given explicitly (MB_SET_* bits), so derived defaults (o = h, alpha = 2r, T vs B,S)
     * follow only the keys that were not given. Maintained by mb_spec_set; 0 after default. */
    unsigned set_mask;
} mb_spec;

/* wq=int4 groups this many consecutive input elements of a row under one scale. */
#define MB_WQ_GROUP 64

#define MB_SET_T     (1u << 0)
#define MB_SET_B     (1u << 1)
#define MB_SET_S     (1u << 2)
#define MB_SET_O     (1u << 3)
#define MB_SET_ALPHA (1u << 4)
#define MB_SET_K     (1u << 5)
#define MB_SET_TOPP  (1u << 6)

/* T = B * S, saturated at INT64_MAX: only an unvalidated spec overflows (validation refuses
 * it), and a saturated T fails every later size check instead of wrapping. */
static inline int64_t mb_spec_T(const mb_spec *s)
{
    int64_t t;
    return __builtin_mul_overflow(s->B, s->S, &t) ? INT64_MAX : t;
}
/* Output width of the variant: o for single-linear variants, h for MLP variants, E for router. */
int64_t mb_spec_out_width(const mb_spec *s);
/* The gate's dims [d0, d1] (mb_gate_shape of the variant), 1 if the variant reports a gate, else
 * 0 with dims {0, 0}. One definition for the forward info, dump and the peer. */
int mb_spec_gate_dims(const mb_spec *s, int64_t dims[2]);
/* Expert MLP width of sparse_mlp (f or f/E). */
int64_t mb_spec_expert_width(const mb_spec *s);

const char *mb_variant_name(mb_variant_id v);
/* 1 for the top-k routed variants (mixlora, sparse_mlp, router), else 0. */
int mb_variant_routed(mb_variant_id v);
int mb_variant_parse(const char *name, mb_variant_id *out);   /* 0 ok, -1 unknown */
/* Every variant's name in table order, separated by sep, into buf (snprintf semantics). */
int mb_variant_names(char *buf, size_t n, const char *sep);
const char *mb_act_name(mb_act a);
const char *mb_mode_name(mb_mode m);
const char *mb_share_name(mb_share s);
/* "learned", "balanced", "zipf", "hot". */
const char *mb_route_kind_name(mb_route_kind r);
/* The route key's value of s: "learned", "balanced", "zipf:S", "hot:F" (snprintf semantics). */
int mb_spec_route_format(const mb_spec *s, char *buf, size_t n);
/* Capacity of each expert for cap > 0: ceil(cap * k * T / E), evaluated in double left to
 * right (the peer computes it the same way); 0 when dropless. */
int64_t mb_spec_capacity(const mb_spec *s);
/* Tokens that take expert 0 under route=hot:F: ceil(F * T); 0 for other routes. */
int64_t mb_spec_hot_tokens(const mb_spec *s);
const char *mb_opt_name(mb_opt o);
/* Which fields a variant uses, as "T,h,o,r,..." : for `moebench list` and error messages. */
const char *mb_variant_fields(mb_variant_id v);
/* 1 when key (a mb_spec_set key) means something for variant v: its fields, plus p, seed,
 * dtype, mode and opt, which every variant has, and aux and zloss for the routed variants. 0 for
 * keys the variant ignores and for unknown keys. */
int mb_variant_uses(mb_variant_id v, const char *key);
/* For the routing keys (cap shared topp route) on a variant that does not take them, the reason
 * (no experts, no expert outputs, not routed); NULL otherwise. */
const char *mb_routing_key_refusal(mb_variant_id v, const char *key);
/* One line describing the method, for `moebench list`. */
const char *mb_variant_summary(mb_variant_id v);

/* Defaults: LLaMA-7B-like shapes (h=4096, o=h, f=11008, r=16, E=8, k=2, alpha=2r, T=1, B=1,
 * tasks=8, te=64, act=silu, share=all, shard=0, seed=42, f32, mode=forward, p=0, opt=none,
 * aux=0.01 for routed variants (MixLoRA's router_aux_loss_coef) else 0, zloss=0). */
void mb_spec_default(mb_spec *s, mb_variant_id v);
/* The default of `aux` for variant v: 0.01 where it routes, else 0 (no L_aux). */
float mb_default_aux(mb_variant_id v);

/* Sets one key from its text value (keys: T B S h o f r E k alpha p act tasks te share shard seed
 * dtype wq mode aux zloss opt cap shared topp route ep). "T" sets S = T / B when B was set explicitly, else B = 1,
 * S = T. o defaults to h unless set. topp without k sets k = E (the largest set; E given later
 * moves it along). Returns MB_EINVAL with a reason for an unknown key or a malformed value. */
mb_status mb_spec_set(mb_spec *s, const char *key, const char *value, mb_err *err);
/* Largest ep accepted. */
#define MB_MAX_EP 4096

/* Parses "variant:key=value,key=value,...". Unknown keys, keys the variant does not use, a key
 * given twice and bad numbers -> MB_EINVAL with the key and the reason. Does not validate (call
 * mb_spec_validate). */
mb_status mb_spec_parse(const char *desc, mb_spec *s, mb_err *err);

/* Canonical descriptor (only the fields the variant uses, non-defaults included); returns the
 * number of characters that would have been written, like snprintf. */
int mb_spec_format(const mb_spec *s, char *buf, size_t n);

/* Bytes of weights, inputs and output the case allocates (int64, overflow-checked), at the
 * element size of s->dtype (task ids: int32; under wq the base weights are counted at the
 * dtype's size too, an upper bound of their levels and scales); MB_EINVAL with a reason on
 * overflow or for a dtype a case cannot be stored in. */
mb_status mb_spec_bytes(const mb_spec *s, int64_t *weights, int64_t *io, mb_err *err);

/* Refuses impossible specs with the reason: non-positive sizes, k < 1 or k > E, r > min(d_in,
 * d_out), r % E != 0 (moelora), f % E != 0 (shard=1), p outside [0, 1), p > 0 in forward mode
 * or for a variant without LoRA, negative aux / zloss, aux / zloss / opt away from their defaults
 * in forward mode, a dtype a case cannot be stored
 * in (bf16 is valid: implementations that do not compute in it are skipped), wq for a variant
 * without frozen base weights (router) or wq=int4 with a base weight's input width not a
 * multiple of MB_WQ_GROUP, byte counts
 * overflowing int64, or more than budget_bytes (0 = no budget) of weights + inputs + output. */
mb_status mb_spec_validate(const mb_spec *s, int64_t budget_bytes, mb_err *err);

#endif
