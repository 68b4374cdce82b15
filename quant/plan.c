/*
 * plan.c — per-tensor type plans. A plan maps every input tensor to an output type with a
 * one-line reason: llama.cpp's mixes (Q2_K … Q5_K_M: role and depth rules) plus lpq's
 * architecture-aware refinements (grouped-query attention, MoE shared experts and router),
 * user overrides (--tensor-type, --pure, --token-embedding-type, --output-tensor-type) and the
 * fallback for row lengths that a type's block size does not divide.
 */
#include "quant/quantize.h"

#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* llama_ftype numbers are what general.file_type holds (llama.h). */
static const struct lpq_ftype ftypes[] = {
    { "F32", 0, LPQ_TYPE_F32 },       { "F16", 1, LPQ_TYPE_F16 },       { "BF16", 32, LPQ_TYPE_BF16 },
    { "Q4_0", 2, LPQ_TYPE_Q4_0 },     { "Q4_1", 3, LPQ_TYPE_Q4_1 },     { "Q8_0", 7, LPQ_TYPE_Q8_0 },
    { "Q5_0", 8, LPQ_TYPE_Q5_0 },     { "Q5_1", 9, LPQ_TYPE_Q5_1 },     { "Q2_K", 10, LPQ_TYPE_Q2_K },
    { "Q3_K_S", 11, LPQ_TYPE_Q3_K },  { "Q3_K_M", 12, LPQ_TYPE_Q3_K },  { "Q3_K_L", 13, LPQ_TYPE_Q3_K },
    { "Q4_K_S", 14, LPQ_TYPE_Q4_K },  { "Q4_K_M", 15, LPQ_TYPE_Q4_K },  { "Q5_K_S", 16, LPQ_TYPE_Q5_K },
    { "Q5_K_M", 17, LPQ_TYPE_Q5_K },  { "Q6_K", 18, LPQ_TYPE_Q6_K },    { "IQ4_NL", 25, LPQ_TYPE_IQ4_NL },
    { "IQ4_XS", 30, LPQ_TYPE_IQ4_XS },
    { NULL, 0, 0 },
};

const struct lpq_ftype *lpq_ftype_list(void) { return ftypes; }

const struct lpq_ftype *lpq_ftype_find(const char *name) {
    if (!name) return NULL;
    /* The plain K type names select the _M mix, as llama.cpp's fixtures name them. */
    if (!strcasecmp(name, "Q3_K")) name = "Q3_K_M";
    else if (!strcasecmp(name, "Q4_K")) name = "Q4_K_M";
    else if (!strcasecmp(name, "Q5_K")) name = "Q5_K_M";
    for (const struct lpq_ftype *f = ftypes; f->name; f++) {
        if (!strcasecmp(f->name, name)) return f;
    }
    return NULL;
}

static bool ft_is(const struct lpq_ftype *f, const char *name) { return !strcmp(f->name, name); }

struct lpq_plan_params lpq_plan_params_default(const struct lpq_ftype *ftype) {
    struct lpq_plan_params p;
    memset(&p, 0, sizeof(p));
    p.ftype = ftype;
    p.token_embd_type = -1;
    p.output_type = -1;
    return p;
}

/* ---- roles ---------------------------------------------------------------------------- */

enum role {
    ROLE_OTHER, ROLE_TOKEN_EMBD, ROLE_OUTPUT, ROLE_ATTN_Q, ROLE_ATTN_K, ROLE_ATTN_V, ROLE_ATTN_QKV,
    ROLE_ATTN_OUT, ROLE_FFN_GATE, ROLE_FFN_UP, ROLE_FFN_DOWN, ROLE_ROUTER,
};

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static enum role role_of(const char *name) {
    if (!strcmp(name, "output.weight")) return ROLE_OUTPUT;
    if (!strcmp(name, "token_embd.weight")) return ROLE_TOKEN_EMBD;
    if (strstr(name, "ffn_gate_inp")) return ROLE_ROUTER;
    if (strstr(name, "attn_qkv.weight")) return ROLE_ATTN_QKV;
    if (strstr(name, "attn_v.weight")) return ROLE_ATTN_V;
    if (strstr(name, "attn_k.weight")) return ROLE_ATTN_K;
    if (strstr(name, "attn_q.weight")) return ROLE_ATTN_Q;
    if (strstr(name, "attn_output.weight")) return ROLE_ATTN_OUT;
    if (strstr(name, "ffn_up")) return ROLE_FFN_UP;
    if (strstr(name, "ffn_gate")) return ROLE_FFN_GATE;
    if (strstr(name, "ffn_down")) return ROLE_FFN_DOWN;
    return ROLE_OTHER;
}

static int layer_of(const char *name) {
    int i;
    if (sscanf(name, "blk.%d.", &i) == 1) return i;
    return -1;
}

/* llama.cpp's "more bits" layers: the first and last eighth, and every third in between. */
static bool use_more_bits(int64_t i, int64_t n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* One step up the quality ladder (same family where it exists). */
static uint32_t bump(uint32_t t) {
    switch (t) {
    case LPQ_TYPE_Q2_K: return LPQ_TYPE_Q3_K;
    case LPQ_TYPE_Q3_K: return LPQ_TYPE_Q4_K;
    case LPQ_TYPE_Q4_K: return LPQ_TYPE_Q5_K;
    case LPQ_TYPE_Q5_K: return LPQ_TYPE_Q6_K;
    case LPQ_TYPE_Q6_K: return LPQ_TYPE_Q8_0;
    case LPQ_TYPE_Q4_0: return LPQ_TYPE_Q5_0;
    case LPQ_TYPE_Q4_1: return LPQ_TYPE_Q5_1;
    case LPQ_TYPE_Q5_0: case LPQ_TYPE_Q5_1: return LPQ_TYPE_Q8_0;
    case LPQ_TYPE_IQ4_NL: return LPQ_TYPE_Q5_0;
    case LPQ_TYPE_IQ4_XS: return LPQ_TYPE_Q5_K;
    default: return t;
    }
}

/* Quality rank for "at least" comparisons (bits per weight, roughly). */
static double rank(uint32_t t) { return lpq_type_bpw(t); }

/* Fallback when ne0 is not a multiple of the block size: llama.cpp's table, except that the
 * 2-3 bit K types go to IQ4_NL (same size as Q4_0, lower error: docs/QUANTIZER.md). */
static uint32_t fallback_type(uint32_t t) {
    switch (t) {
    case LPQ_TYPE_Q2_K: case LPQ_TYPE_Q3_K: case LPQ_TYPE_IQ4_XS: return LPQ_TYPE_IQ4_NL;
    case LPQ_TYPE_Q4_K: return LPQ_TYPE_Q5_0;
    case LPQ_TYPE_Q5_K: return LPQ_TYPE_Q5_1;
    case LPQ_TYPE_Q6_K: return LPQ_TYPE_Q8_0;
    default: return LPQ_TYPE_F16;
    }
}

static bool fits(uint32_t t, int64_t ne0) {
    const struct lpq_type_traits *tr = lpq_type_traits(t);
    return tr && tr->blck_size > 0 && ne0 % tr->blck_size == 0;
}

/* The mix rule for a quantizable 2-D weight. Writes the reason. */
static uint32_t mix_type(const struct lpq_model_arch *a, const struct lpq_plan_params *p, enum role r,
                         const char *name, int64_t ne0, char *why, size_t cap) {
    const struct lpq_ftype *f = p->ftype;
    uint32_t base = f->base, t = base;
    int64_t n_layer = a->n_layer > 0 ? a->n_layer : 1;
    int64_t il = layer_of(name);
    int64_t gqa = a->n_head_kv > 0 ? a->n_head / a->n_head_kv : 1;
    bool moe8 = a->n_expert >= 8;
    snprintf(why, cap, "%s base", f->name);

    if (r == ROLE_OUTPUT || (a->tied && r == ROLE_TOKEN_EMBD)) {
        if (base == LPQ_TYPE_Q8_0) {
            snprintf(why, cap, "output: stays Q8_0");
        } else if (!fits(LPQ_TYPE_Q6_K, ne0)) {
            t = LPQ_TYPE_Q8_0;
            snprintf(why, cap, "output: row %" PRId64 " not a multiple of 256 -> Q8_0 (llama.cpp rule)", ne0);
        } else {
            t = LPQ_TYPE_Q6_K;
            snprintf(why, cap, "output%s: Q6_K (mix rule)", a->tied ? " (tied embedding)" : "");
        }
        return t;
    }
    if (r == ROLE_TOKEN_EMBD) return t;
    if (il < 0) il = 0;

    if (r == ROLE_ATTN_V || r == ROLE_ATTN_QKV) {
        if (ft_is(f, "Q2_K")) { t = gqa >= 4 ? LPQ_TYPE_Q4_K : LPQ_TYPE_Q3_K; snprintf(why, cap, "attn_v: Q2_K mix, GQA %" PRId64, gqa); }
        else if (ft_is(f, "Q3_K_M")) { t = il < 2 ? LPQ_TYPE_Q5_K : LPQ_TYPE_Q4_K; snprintf(why, cap, "attn_v: Q3_K_M mix, layer %" PRId64, il); }
        else if (ft_is(f, "Q3_K_L")) { t = LPQ_TYPE_Q5_K; snprintf(why, cap, "attn_v: Q3_K_L mix"); }
        else if ((ft_is(f, "IQ4_NL") || ft_is(f, "IQ4_XS")) && gqa >= 4) { t = LPQ_TYPE_Q5_K; snprintf(why, cap, "attn_v: IQ4 mix, GQA %" PRId64, gqa); }
        else if ((ft_is(f, "Q4_K_M") || ft_is(f, "Q5_K_M")) && use_more_bits(il, n_layer)) {
            t = LPQ_TYPE_Q6_K;
            snprintf(why, cap, "attn_v: more-bits layer %" PRId64 "/%" PRId64, il, n_layer);
        } else if (ft_is(f, "Q4_K_S") && il < 4) { t = LPQ_TYPE_Q5_K; snprintf(why, cap, "attn_v: Q4_K_S first layers"); }
        /* lpq: with >= 4 query heads per KV head, V is 1/gqa the size of Q and every query
         * head reads it: one step up everywhere costs little. */
        if (gqa >= 4 && rank(t) < rank(bump(base)) && f->base != LPQ_TYPE_Q8_0) {
            t = bump(base);
            snprintf(why, cap, "attn_v: GQA %" PRId64 " (small, shared by %" PRId64 " heads): one step up", gqa, gqa);
        }
        if (moe8) { t = LPQ_TYPE_Q8_0; snprintf(why, cap, "attn_v: MoE with %" PRId64 " experts: Q8_0 (tiny next to experts)", a->n_expert); }
        return t;
    }
    if (r == ROLE_ATTN_K) {
        if (moe8) { t = LPQ_TYPE_Q8_0; snprintf(why, cap, "attn_k: MoE with %" PRId64 " experts: Q8_0", a->n_expert); }
        else if (gqa >= 4 && base != LPQ_TYPE_Q8_0 && !ft_is(f, "Q3_K_S") && !ft_is(f, "Q5_K_S")) {
            t = bump(base);
            snprintf(why, cap, "attn_k: GQA %" PRId64 ": one step up", gqa);
        }
        return t;
    }
    if (r == ROLE_ATTN_OUT) {
        if (moe8 && (ft_is(f, "Q2_K") || ft_is(f, "Q3_K_S") || ft_is(f, "Q3_K_M") || ft_is(f, "IQ4_NL") ||
                     ft_is(f, "Q4_K_S") || ft_is(f, "Q4_K_M") || ft_is(f, "IQ4_XS"))) {
            t = LPQ_TYPE_Q5_K;
            snprintf(why, cap, "attn_output: MoE mix rule");
        } else if (ft_is(f, "Q2_K")) { t = LPQ_TYPE_Q3_K; snprintf(why, cap, "attn_output: Q2_K mix"); }
        else if (ft_is(f, "Q3_K_M")) { t = LPQ_TYPE_Q4_K; snprintf(why, cap, "attn_output: Q3_K_M mix"); }
        else if (ft_is(f, "Q3_K_L")) { t = LPQ_TYPE_Q5_K; snprintf(why, cap, "attn_output: Q3_K_L mix"); }
        return t;
    }
    if (r == ROLE_FFN_DOWN) {
        if (ft_is(f, "Q2_K")) { t = LPQ_TYPE_Q3_K; snprintf(why, cap, "ffn_down: Q2_K mix"); }
        else if (ft_is(f, "Q3_K_M")) {
            t = il < n_layer / 16 ? LPQ_TYPE_Q5_K : LPQ_TYPE_Q4_K;
            snprintf(why, cap, "ffn_down: Q3_K_M mix, layer %" PRId64, il);
        } else if (ft_is(f, "Q3_K_L")) { t = LPQ_TYPE_Q5_K; snprintf(why, cap, "ffn_down: Q3_K_L mix"); }
        else if ((ft_is(f, "Q4_K_M") || ft_is(f, "Q5_K_M")) && use_more_bits(il, n_layer)) {
            t = LPQ_TYPE_Q6_K;
            snprintf(why, cap, "ffn_down: more-bits layer %" PRId64 "/%" PRId64, il, n_layer);
        } else if ((ft_is(f, "IQ4_NL") || ft_is(f, "IQ4_XS")) && !p->have_imatrix && il < n_layer / 8) {
            t = LPQ_TYPE_Q5_K;
            snprintf(why, cap, "ffn_down: IQ4 mix, first eighth, no imatrix");
        } else if (ft_is(f, "Q4_K_S") && il < n_layer / 8) { t = LPQ_TYPE_Q5_K; snprintf(why, cap, "ffn_down: Q4_K_S first eighth"); }
        else if ((ft_is(f, "Q4_0") || ft_is(f, "Q5_0")) && p->have_imatrix && il < n_layer / 8) {
            t = ft_is(f, "Q4_0") ? LPQ_TYPE_Q4_1 : LPQ_TYPE_Q5_1;
            snprintf(why, cap, "ffn_down: first eighth with imatrix");
        }
    }
    /* lpq: a shared expert runs for every token, unlike each routed one: one step up. */
    if (strstr(name, "_shexp") && a->n_expert > 1 && base != LPQ_TYPE_Q8_0 && rank(t) < rank(bump(base))) {
        t = bump(base);
        snprintf(why, cap, "MoE shared expert (every token): one step up");
    }
    return t;
}

static void entry_fill_sizes(struct lpq_plan_entry *e) {
    int64_t rows = 1;
    for (uint32_t d = 1; d < LPQ_GGUF_MAX_DIMS; d++) rows *= e->ne[d];
    e->n_elements = rows * e->ne[0];
    e->src_bytes = (uint64_t)lpq_type_row_size(e->src_type, e->ne[0]) * (uint64_t)rows;
    e->dst_bytes = (uint64_t)lpq_type_row_size(e->type, e->ne[0]) * (uint64_t)rows;
}

enum lpq_status lpq_plan_build(const struct lpq_model_arch *arch, const struct lpq_plan_tensor_in *t,
                               size_t n, const struct lpq_plan_params *p, struct lpq_plan **out,
                               struct lpq_err *err) {
    enum lpq_status st = LPQ_STATUS_OK;
    struct lpq_plan *plan = NULL;
    regex_t *res = NULL;
    size_t n_res = 0;
    if (!p || !p->ftype || !arch) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "plan: no file type given");

    if (p->n_overrides) {
        res = lpq_calloc(p->n_overrides, sizeof(*res));
        if (!res) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "plan: out of memory"); goto done; }
        for (; n_res < p->n_overrides; n_res++) {
            const struct lpq_tensor_override *o = &p->overrides[n_res];
            if (regcomp(&res[n_res], o->regex, REG_EXTENDED | REG_NOSUB) != 0) {
                st = lpq_err_set(err, LPQ_STATUS_BAD_ARG, "--tensor-type: invalid regex '%s'", o->regex);
                goto done;
            }
            if (!lpq_quant_type_encodable(o->type)) {
                n_res++;
                st = lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, "--tensor-type %s: type %s cannot be written",
                                 o->regex, lpq_type_name(o->type));
                goto done;
            }
        }
    }
    for (int k = 0; k < 2; k++) {
        int32_t ty = k == 0 ? p->token_embd_type : p->output_type;
        if (ty >= 0 && !lpq_quant_type_encodable((uint32_t)ty)) {
            st = lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, "%s type %s cannot be written",
                             k == 0 ? "--token-embedding-type" : "--output-tensor-type", lpq_type_name((uint32_t)ty));
            goto done;
        }
    }

    plan = lpq_calloc(1, sizeof(*plan));
    if (!plan || (n && !(plan->entries = lpq_calloc(n, sizeof(*plan->entries))))) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "plan: out of memory");
        goto done;
    }
    plan->arch = *arch;
    plan->ftype = p->ftype;
    for (size_t i = 0; i < n; i++) {
        struct lpq_plan_entry *e = &plan->entries[i];
        const char *name = t[i].name;
        e->name = lpq_strdup(name);
        if (!e->name) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "plan: out of memory"); goto done; }
        plan->n_entries = i + 1;
        e->src_type = t[i].type;
        e->n_dims = t[i].n_dims;
        for (int d = 0; d < LPQ_GGUF_MAX_DIMS; d++) e->ne[d] = d < (int)t[i].n_dims ? t[i].ne[d] : 1;
        const struct lpq_type_traits *str = lpq_type_traits(e->src_type);
        bool src_float = e->src_type == LPQ_TYPE_F32 || e->src_type == LPQ_TYPE_F16 || e->src_type == LPQ_TYPE_BF16;
        bool src_decodable = src_float || (str && str->is_quantized && str->to_float);
        enum role r = role_of(name);
        char *why = e->reason;
        size_t cap = sizeof(e->reason);

        if (!src_decodable) {
            e->type = e->src_type;
            snprintf(why, cap, "%s data: copied as is", lpq_type_name(e->src_type));
        } else if (t[i].n_dims < 2 || e->ne[1] == 1) {
            e->type = LPQ_TYPE_F32;
            snprintf(why, cap, "1-D (norm/bias/vector): F32");
        } else if (!ends_with(name, "weight") || strstr(name, "_norm.weight")) {
            e->type = LPQ_TYPE_F32;
            snprintf(why, cap, "not a weight matrix: F32");
        } else if (r == ROLE_ROUTER) {
            e->type = LPQ_TYPE_F32;
            snprintf(why, cap, "MoE router: F32 (tiny, decides every expert choice)");
        } else {
            bool done_type = false;
            for (size_t k = 0; k < n_res; k++) {
                if (regexec(&res[k], name, 0, NULL, 0) == 0) {
                    e->type = p->overrides[k].type;
                    snprintf(why, cap, "override '%s'", p->overrides[k].regex);
                    done_type = true;
                    break;
                }
            }
            if (!done_type && r == ROLE_TOKEN_EMBD && p->token_embd_type >= 0) {
                e->type = (uint32_t)p->token_embd_type;
                snprintf(why, cap, "--token-embedding-type");
                done_type = true;
            }
            if (!done_type && p->output_type >= 0 &&
                (r == ROLE_OUTPUT || (arch->tied && r == ROLE_TOKEN_EMBD))) {
                e->type = (uint32_t)p->output_type;
                snprintf(why, cap, "--output-tensor-type");
                done_type = true;
            }
            if (!done_type) {
                const struct lpq_type_traits *btr = lpq_type_traits(p->ftype->base);
                if (p->pure || !btr->is_quantized) {
                    e->type = p->ftype->base;
                    snprintf(why, cap, "%s", p->pure ? "--pure" : "float file type");
                } else {
                    e->type = mix_type(arch, p, r, name, e->ne[0], why, cap);
                }
            }
            if (!fits(e->type, e->ne[0])) {
                uint32_t want = e->type, fb = fallback_type(want);
                if (!fits(fb, e->ne[0])) fb = LPQ_TYPE_F16;
                char prev[LPQ_PLAN_REASON_MAX];
                snprintf(prev, sizeof(prev), "%s", why);
                snprintf(why, cap, "fallback: row %" PRId64 " not a multiple of %" PRId64 " for %s -> %s (%.50s)",
                         e->ne[0], lpq_type_traits(want)->blck_size, lpq_type_name(want), lpq_type_name(fb), prev);
                e->type = fb;
                e->fallback = true;
                plan->n_fallback++;
            }
        }
        entry_fill_sizes(e);
        plan->src_bytes += e->src_bytes;
        plan->dst_bytes += e->dst_bytes;
        plan->n_params += e->n_elements;
    }
    *out = plan;
    plan = NULL;
done:
    for (size_t k = 0; k < n_res; k++) regfree(&res[k]);
    lpq_free(res);
    lpq_plan_free(plan);
    return st;
}

void lpq_model_arch_from_gguf(struct lpq_gguf *g, struct lpq_model_arch *a) {
    memset(a, 0, sizeof(*a));
    const char *arch = NULL;
    if (lpq_gguf_get_str(g, "general.architecture", &arch, NULL) == LPQ_STATUS_OK && arch)
        snprintf(a->arch, sizeof(a->arch), "%s", arch);
    char key[96];
    int64_t v;
#define GETK(field, suffix)                                                        \
    snprintf(key, sizeof(key), "%s.%s", a->arch, suffix);                          \
    if (lpq_gguf_get_int(g, key, &v) == LPQ_STATUS_OK) a->field = v;
    GETK(n_layer, "block_count");
    GETK(n_head, "attention.head_count");
    GETK(n_head_kv, "attention.head_count_kv");
    GETK(n_expert, "expert_count");
    GETK(n_embd, "embedding_length");
#undef GETK
    if (a->n_head_kv <= 0) a->n_head_kv = a->n_head;
    a->tied = lpq_gguf_find_tensor(g, "output.weight") < 0;
    if (a->n_layer <= 0) {
        /* No block_count: count the layers from tensor names. */
        for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) {
            int l = layer_of(lpq_gguf_tensor(g, i)->name);
            if (l + 1 > a->n_layer) a->n_layer = l + 1;
        }
    }
}

enum lpq_status lpq_plan_build_gguf(struct lpq_gguf *g, const struct lpq_plan_params *p,
                                    struct lpq_plan **out, struct lpq_err *err) {
    struct lpq_model_arch a;
    lpq_model_arch_from_gguf(g, &a);
    int64_t n = lpq_gguf_n_tensors(g);
    struct lpq_plan_tensor_in *t = n ? lpq_calloc((size_t)n, sizeof(*t)) : NULL;
    if (n && !t) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "plan: out of memory");
    for (int64_t i = 0; i < n; i++) {
        const struct lpq_gguf_tensor *gt = lpq_gguf_tensor(g, i);
        t[i].name = gt->name;
        t[i].type = gt->type;
        t[i].n_dims = gt->n_dims;
        memcpy(t[i].ne, gt->ne, sizeof(t[i].ne));
    }
    enum lpq_status st = lpq_plan_build(&a, t, (size_t)n, p, out, err);
    lpq_free(t);
    return st;
}

void lpq_plan_free(struct lpq_plan *plan) {
    if (!plan) return;
    for (size_t i = 0; i < plan->n_entries; i++) lpq_free(plan->entries[i].name);
    lpq_free(plan->entries);
    lpq_free(plan);
}

double lpq_plan_bpw(const struct lpq_plan *plan) {
    return plan->n_params > 0 ? 8.0 * (double)plan->dst_bytes / (double)plan->n_params : 0.0;
}

const struct lpq_plan_entry *lpq_plan_find(const struct lpq_plan *plan, const char *name) {
    for (size_t i = 0; i < plan->n_entries; i++) {
        if (!strcmp(plan->entries[i].name, name)) return &plan->entries[i];
    }
    return NULL;
}

void lpq_plan_print(const struct lpq_plan *plan, FILE *f) {
    const struct lpq_model_arch *a = &plan->arch;
    fprintf(f, "plan %s for %s: %" PRId64 " layers, %" PRId64 "/%" PRId64 " heads (GQA %" PRId64 ")%s%s\n",
            plan->ftype->name, a->arch[0] ? a->arch : "?", a->n_layer, a->n_head, a->n_head_kv,
            a->n_head_kv > 0 ? a->n_head / a->n_head_kv : 1, a->n_expert > 1 ? ", MoE" : "",
            a->tied ? ", tied embeddings" : "");
    for (size_t i = 0; i < plan->n_entries; i++) {
        const struct lpq_plan_entry *e = &plan->entries[i];
        char shape[64];
        int o = snprintf(shape, sizeof(shape), "[%" PRId64, e->ne[0]);
        for (uint32_t d = 1; d < e->n_dims && o < (int)sizeof(shape); d++)
            o += snprintf(shape + o, sizeof(shape) - (size_t)o, ", %" PRId64, e->ne[d]);
        if (o < (int)sizeof(shape)) snprintf(shape + o, sizeof(shape) - (size_t)o, "]");
        fprintf(f, "  %-36s %-18s %-6s -> %-6s %s\n", e->name, shape, lpq_type_name(e->src_type),
                lpq_type_name(e->type), e->reason);
    }
    fprintf(f, "total: %zu tensors, %.2f M params, %.2f MiB -> %.2f MiB, %.4f bits per weight, %" PRId64 " fallback(s)\n",
            plan->n_entries, (double)plan->n_params / 1e6, (double)plan->src_bytes / 1048576.0,
            (double)plan->dst_bytes / 1048576.0, lpq_plan_bpw(plan), plan->n_fallback);
}
