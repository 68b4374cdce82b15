/*
 * model.c — loading a llama-family GGUF (llama, qwen2, qwen3, gemma3) into the CPU engine: the
 * per-architecture table, hyper-parameters from `<arch>.*` metadata, every tensor found by name
 * and checked for shape and type (weights stay in the mapping), and all run-time buffers allocated once, so that
 * evaluation never allocates.
 */
#include "runtimes/cpu/cpu-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif

#include "runtimes/tokenizer.h"

static const struct lpq__cpu_arch arch_llama = {
    .name = "llama", .rope = LPQ__ROPE_NORM, .qkv_bias = LPQ__OPT_OPTIONAL, .qk_norm = LPQ__OPT_ABSENT,
};
static const struct lpq__cpu_arch arch_qwen2 = {
    .name = "qwen2", .rope = LPQ__ROPE_NEOX, .qkv_bias = LPQ__OPT_REQUIRED, .qk_norm = LPQ__OPT_ABSENT,
};
static const struct lpq__cpu_arch arch_qwen3 = {
    .name = "qwen3", .rope = LPQ__ROPE_NEOX, .qkv_bias = LPQ__OPT_ABSENT, .qk_norm = LPQ__OPT_REQUIRED,
};

static const struct lpq__cpu_arch arch_gemma3 = {
    .name = "gemma3", .rope = LPQ__ROPE_NEOX, .qkv_bias = LPQ__OPT_ABSENT, .qk_norm = LPQ__OPT_REQUIRED,
    .post_norm = LPQ__OPT_REQUIRED, .ffn_act = LPQ__ACT_GELU_TANH, .embd_scale = true, .swa = true,
    .logit_softcap = true,
};

const struct lpq__cpu_arch *const lpq__cpu_archs[] = { &arch_llama, &arch_qwen2, &arch_qwen3, &arch_gemma3, NULL };

#define LPQ__N_CTX_DEFAULT_MAX 4096
#define LPQ__N_BATCH_DEFAULT 512

struct loader {
    struct lpq__cpu_model *m;
    struct lpq_gguf *g;
    struct lpq_err *err;
    char key[256];
};

/* ---- metadata ----------------------------------------------------------------------------- */

static const char *arch_key(struct loader *L, const char *suffix) {
    snprintf(L->key, sizeof(L->key), "%s.%s", L->m->arch->name, suffix);
    return L->key;
}

/* Integer hyper-parameter `<arch>.suffix`; `def` < 0 means required. */
static enum lpq_status hp_int(struct loader *L, const char *suffix, int64_t def, int64_t *out) {
    const char *key = arch_key(L, suffix);
    enum lpq_status st = lpq_gguf_get_int(L->g, key, out);
    if (st == LPQ_STATUS_OK) {
        if (*out < 0 || *out > ((int64_t)1 << 40))
            return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "key '%s' has value %lld, out of range", key,
                               (long long)*out);
        return LPQ_STATUS_OK;
    }
    if (st == LPQ_STATUS_NOT_FOUND) {
        if (def >= 0) {
            *out = def;
            return LPQ_STATUS_OK;
        }
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s: missing key '%s'", lpq_gguf_path(L->g), key);
    }
    return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s: key '%s': %s", lpq_gguf_path(L->g), key,
                       lpq_gguf_errmsg(L->g));
}

static enum lpq_status hp_float(struct loader *L, const char *suffix, bool required, double def, double *out) {
    const char *key = arch_key(L, suffix);
    enum lpq_status st = lpq_gguf_get_float(L->g, key, out);
    if (st == LPQ_STATUS_OK) {
        if (!isfinite(*out))
            return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "key '%s' is not finite", key);
        return LPQ_STATUS_OK;
    }
    if (st == LPQ_STATUS_NOT_FOUND && !required) {
        *out = def;
        return LPQ_STATUS_OK;
    }
    if (st == LPQ_STATUS_NOT_FOUND)
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s: missing key '%s'", lpq_gguf_path(L->g), key);
    return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s: key '%s': %s", lpq_gguf_path(L->g), key,
                       lpq_gguf_errmsg(L->g));
}

static enum lpq_status read_rope_scaling(struct loader *L, double *freq_scale) {
    *freq_scale = 1.0;
    const char *type = NULL;
    const char *key = arch_key(L, "rope.scaling.type");
    enum lpq_status st = lpq_gguf_get_str(L->g, key, &type, NULL);
    if (st != LPQ_STATUS_OK && st != LPQ_STATUS_NOT_FOUND)
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "key '%s': %s", key, lpq_gguf_errmsg(L->g));
    double factor = 0;
    if (st == LPQ_STATUS_OK && strcmp(type, "none") != 0) {
        if (strcmp(type, "linear") != 0)
            return lpq_err_set(L->err, LPQ_STATUS_UNSUPPORTED,
                               "rope scaling type '%s' (key '%s') is not supported (supported: none, linear)",
                               type, key);
        if ((st = hp_float(L, "rope.scaling.factor", true, 0, &factor)) != LPQ_STATUS_OK) return st;
    } else if (st == LPQ_STATUS_NOT_FOUND) {
        /* Older files write the linear factor under its own key. */
        if ((st = hp_float(L, "rope.scale_linear", false, 0, &factor)) != LPQ_STATUS_OK) return st;
    }
    if (factor != 0 && factor != 1) {
        if (factor < 0)
            return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "rope scaling factor %g is negative", factor);
        *freq_scale = 1.0 / factor;
    }
    return LPQ_STATUS_OK;
}

/* The attention scale, and sliding-window layers and logit soft-capping for the archs that
 * have them. The defaults (pattern 6, local θ base 10000) are what gemma3 files leave out; a
 * per-layer pattern array (newer converters may write one) is refused by name, not misread. */
static enum lpq_status read_hparams_arch(struct loader *L) {
    struct lpq__cpu_hparams *hp = &L->m->hp;
    const struct lpq__cpu_arch *a = L->m->arch;
    enum lpq_status st;
    hp->n_swa = 0;
    hp->swa_pattern = 1;
    hp->rope_base_swa = hp->rope_base;
    hp->logit_softcap = 0;
    hp->attn_scale = 1.0f / sqrtf((float)hp->head_dim_k);
    /* Gemma 3 27B (62 layers) scales queries by its n_embd / n_head = 168, not its head size
     * 128, as its reference implementation does. */
    if (a->swa && hp->n_layer == 62) hp->attn_scale = 1.0f / sqrtf((float)(hp->n_embd / hp->n_head));
    if (a->swa) {
        if ((st = hp_int(L, "attention.sliding_window", 0, &hp->n_swa))) return st;
        int64_t ki = lpq_gguf_find_key(L->g, arch_key(L, "attention.sliding_window_pattern"));
        if (ki >= 0 && lpq_gguf_kv_type(L->g, ki) == LPQ_GGUF_ARRAY)
            return lpq_err_set(L->err, LPQ_STATUS_UNSUPPORTED, "%s: key '%s' is a per-layer array, which "
                               "lpq does not support (only an integer pattern)", lpq_gguf_path(L->g), L->key);
        if ((st = hp_int(L, "attention.sliding_window_pattern", 6, &hp->swa_pattern))) return st;
        if ((st = hp_float(L, "rope.freq_base_swa", false, 10000.0, &hp->rope_base_swa))) return st;
        if (!(hp->rope_base_swa > 0))
            return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s %g is not positive",
                               arch_key(L, "rope.freq_base_swa"), hp->rope_base_swa);
    }
    if (a->logit_softcap) {
        double cap;
        if ((st = hp_float(L, "final_logit_softcapping", false, 0, &cap))) return st;
        if (cap < 0)
            return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s %g is negative",
                               arch_key(L, "final_logit_softcapping"), cap);
        hp->logit_softcap = (float)cap;
    }
    return LPQ_STATUS_OK;
}

static enum lpq_status read_hparams(struct loader *L) {
    struct lpq__cpu_hparams *hp = &L->m->hp;
    enum lpq_status st;
    if ((st = hp_int(L, "context_length", -1, &hp->n_ctx_train)) ||
        (st = hp_int(L, "embedding_length", -1, &hp->n_embd)) ||
        (st = hp_int(L, "block_count", -1, &hp->n_layer)) ||
        (st = hp_int(L, "feed_forward_length", -1, &hp->n_ff)) ||
        (st = hp_int(L, "attention.head_count", -1, &hp->n_head)))
        return st;
    if (hp->n_embd == 0 || hp->n_layer == 0 || hp->n_ff == 0 || hp->n_head == 0 || hp->n_ctx_train == 0)
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s: zero in embedding_length/block_count/"
                           "feed_forward_length/head_count/context_length", L->m->arch->name);
    if ((st = hp_int(L, "attention.head_count_kv", hp->n_head, &hp->n_head_kv))) return st;
    if (hp->n_head_kv == 0 || hp->n_head % hp->n_head_kv != 0)
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "head_count %lld is not a multiple of head_count_kv %lld",
                           (long long)hp->n_head, (long long)hp->n_head_kv);
    if ((st = hp_int(L, "attention.key_length", hp->n_embd / hp->n_head, &hp->head_dim_k))) return st;
    if ((st = hp_int(L, "attention.value_length", hp->head_dim_k, &hp->head_dim_v))) return st;
    if ((st = hp_int(L, "rope.dimension_count", hp->head_dim_k, &hp->n_rot))) return st;
    if (hp->head_dim_k == 0 || hp->head_dim_v == 0 || hp->n_rot % 2 != 0 || hp->n_rot > hp->head_dim_k)
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE,
                           "rope.dimension_count %lld must be even and at most the head size %lld",
                           (long long)hp->n_rot, (long long)hp->head_dim_k);
    double d;
    if ((st = hp_float(L, "attention.layer_norm_rms_epsilon", true, 0, &d))) return st;
    if (!(d > 0) || d > 1)
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s has value %g, out of range",
                           arch_key(L, "attention.layer_norm_rms_epsilon"), d);
    hp->eps = (float)d;
    if ((st = hp_float(L, "rope.freq_base", false, 10000.0, &hp->rope_base))) return st;
    if (!(hp->rope_base > 0))
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "rope.freq_base %g is not positive", hp->rope_base);
    if ((st = read_rope_scaling(L, &hp->rope_freq_scale))) return st;
    return read_hparams_arch(L);
}

/* ---- tensors ------------------------------------------------------------------------------ */

static void fmt_shape(char *buf, size_t cap, const int64_t *ne, int n) {
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? "," : "", (long long)ne[i]);
}

/* Finds `name` and checks it is [ne0] (ne1 == 0) or [ne0, ne1] in a type lpq can run.
 * Absent optional tensors leave out->data NULL. */
static enum lpq_status get_tensor(struct loader *L, const char *name, int64_t ne0, int64_t ne1,
                                  enum lpq__opt opt, struct lpq__cpu_tensor *out) {
    memset(out, 0, sizeof(*out));
    if (opt == LPQ__OPT_ABSENT) return LPQ_STATUS_OK;
    int64_t idx = lpq_gguf_find_tensor(L->g, name);
    if (idx < 0) {
        if (opt == LPQ__OPT_OPTIONAL) return LPQ_STATUS_OK;
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s: missing tensor '%s' (needed by %s)",
                           lpq_gguf_path(L->g), name, L->m->arch->name);
    }
    const struct lpq_gguf_tensor *t = lpq_gguf_tensor(L->g, idx);
    int64_t want[2] = { ne0, ne1 };
    int n_want = ne1 ? 2 : 1;
    bool ok = t->ne[0] == ne0 && t->ne[1] == (ne1 ? ne1 : 1) && t->ne[2] == 1 && t->ne[3] == 1;
    if (!ok) {
        char have[96], exp[64];
        fmt_shape(have, sizeof(have), t->ne, (int)(t->n_dims ? t->n_dims : 1));
        fmt_shape(exp, sizeof(exp), want, n_want);
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "tensor '%s' has shape [%s], expected [%s]", name,
                           have, exp);
    }
    const struct lpq_type_traits *tr = lpq_type_traits(t->type);
    if (!tr || !tr->supported || !tr->to_float)
        return lpq_err_set(L->err, LPQ_STATUS_UNSUPPORTED, "tensor '%s' has type %s, which lpq cannot run",
                           name, lpq_type_name(t->type));
    size_t rs = lpq_type_row_size(t->type, ne0);
    if (rs == 0)
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE,
                           "tensor '%s': rows of %lld values are not a multiple of the %s block size",
                           name, (long long)ne0, tr->name);
    out->name = t->name;
    out->data = t->data;
    out->type = t->type;
    out->ne0 = ne0;
    out->ne1 = ne1 ? ne1 : 1;
    out->row_size = rs;
    out->ops = lpq_cpu_ops_get(t->type, L->m->isa);
    /* The kernels need whole activation blocks; rows that do not fit take the fallback. */
    if (out->ops && lpq_type_row_size(out->ops->vec_dot_type, ne0) == 0) out->ops = NULL;
    if (out->ops && (!out->ops->quantize_act || !out->ops->vec_dot)) out->ops = NULL;
    L->m->bytes_weights += t->size;
    return LPQ_STATUS_OK;
}

/* A norm or bias vector as F32: the mapped data when it already is aligned F32, else an owned
 * converted copy. *out NULL for an absent optional one. */
static enum lpq_status get_vec(struct loader *L, const char *name, int64_t n, enum lpq__opt opt,
                               const float **out) {
    struct lpq__cpu_tensor t;
    enum lpq_status st = get_tensor(L, name, n, 0, opt, &t);
    *out = NULL;
    if (st != LPQ_STATUS_OK || !t.data) return st;
    if (t.type == LPQ_TYPE_F32 && ((uintptr_t)t.data % sizeof(float)) == 0) {
        *out = t.data;
        return LPQ_STATUS_OK;
    }
    struct lpq__cpu_model *m = L->m;
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? 2 * m->cap_owned : 16;
        float **p = lpq_realloc(m->owned, (size_t)cap * sizeof(*p));
        if (!p) return lpq_err_set(L->err, LPQ_STATUS_NO_MEMORY, "out of memory converting '%s'", name);
        m->owned = p;
        m->cap_owned = cap;
    }
    float *buf = lpq_malloc_array((size_t)n, sizeof(float));
    if (!buf) return lpq_err_set(L->err, LPQ_STATUS_NO_MEMORY, "out of memory converting '%s'", name);
    lpq_type_traits(t.type)->to_float(t.data, buf, n);
    m->owned[m->n_owned++] = buf;
    m->bytes_scratch += (uint64_t)n * sizeof(float);
    *out = buf;
    return LPQ_STATUS_OK;
}

static enum lpq_status load_tensors(struct loader *L) {
    struct lpq__cpu_model *m = L->m;
    struct lpq__cpu_hparams *hp = &m->hp;
    const struct lpq__cpu_arch *a = m->arch;
    enum lpq_status st;
    int64_t idx = lpq_gguf_find_tensor(L->g, "token_embd.weight");
    if (idx < 0)
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s: missing tensor 'token_embd.weight'",
                           lpq_gguf_path(L->g));
    hp->n_vocab = lpq_gguf_tensor(L->g, idx)->ne[1];
    if (hp->n_vocab <= 0 || hp->n_vocab > INT32_MAX)
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "token_embd.weight has %lld rows", (long long)hp->n_vocab);
    if ((st = get_tensor(L, "token_embd.weight", hp->n_embd, hp->n_vocab, LPQ__OPT_REQUIRED, &m->tok_embd)))
        return st;
    if ((st = get_vec(L, "output_norm.weight", hp->n_embd, LPQ__OPT_REQUIRED, &m->output_norm))) return st;
    if ((st = get_tensor(L, "output.weight", hp->n_embd, hp->n_vocab, LPQ__OPT_OPTIONAL, &m->output))) return st;
    if (!m->output.data) m->output = m->tok_embd;   /* tied embeddings */

    const int64_t n_q = hp->n_head * hp->head_dim_k, n_k = hp->n_head_kv * hp->head_dim_k;
    const int64_t n_v = hp->n_head_kv * hp->head_dim_v, n_o = hp->n_head * hp->head_dim_v;
    m->layers = lpq_calloc((size_t)hp->n_layer, sizeof(*m->layers));
    if (!m->layers) return lpq_err_set(L->err, LPQ_STATUS_NO_MEMORY, "out of memory for %lld layers",
                                       (long long)hp->n_layer);
    char nm[128];
#define NAME(s) (snprintf(nm, sizeof(nm), "blk.%lld." s, (long long)il), nm)
    for (int64_t il = 0; il < hp->n_layer; il++) {
        struct lpq__cpu_layer *ly = &m->layers[il];
        if ((st = get_vec(L, NAME("attn_norm.weight"), hp->n_embd, LPQ__OPT_REQUIRED, &ly->attn_norm)) ||
            (st = get_tensor(L, NAME("attn_q.weight"), hp->n_embd, n_q, LPQ__OPT_REQUIRED, &ly->wq)) ||
            (st = get_tensor(L, NAME("attn_k.weight"), hp->n_embd, n_k, LPQ__OPT_REQUIRED, &ly->wk)) ||
            (st = get_tensor(L, NAME("attn_v.weight"), hp->n_embd, n_v, LPQ__OPT_REQUIRED, &ly->wv)) ||
            (st = get_tensor(L, NAME("attn_output.weight"), n_o, hp->n_embd, LPQ__OPT_REQUIRED, &ly->wo)) ||
            (st = get_vec(L, NAME("attn_q.bias"), n_q, a->qkv_bias, &ly->bq)) ||
            (st = get_vec(L, NAME("attn_k.bias"), n_k, a->qkv_bias, &ly->bk)) ||
            (st = get_vec(L, NAME("attn_v.bias"), n_v, a->qkv_bias, &ly->bv)) ||
            (st = get_vec(L, NAME("attn_q_norm.weight"), hp->head_dim_k, a->qk_norm, &ly->q_norm)) ||
            (st = get_vec(L, NAME("attn_k_norm.weight"), hp->head_dim_k, a->qk_norm, &ly->k_norm)) ||
            (st = get_vec(L, NAME("ffn_norm.weight"), hp->n_embd, LPQ__OPT_REQUIRED, &ly->ffn_norm)) ||
            (st = get_tensor(L, NAME("ffn_gate.weight"), hp->n_embd, hp->n_ff, LPQ__OPT_REQUIRED, &ly->w_gate)) ||
            (st = get_tensor(L, NAME("ffn_up.weight"), hp->n_embd, hp->n_ff, LPQ__OPT_REQUIRED, &ly->w_up)) ||
            (st = get_tensor(L, NAME("ffn_down.weight"), hp->n_ff, hp->n_embd, LPQ__OPT_REQUIRED, &ly->w_down)) ||
            (st = get_vec(L, NAME("post_attention_norm.weight"), hp->n_embd, a->post_norm, &ly->post_attn_norm)) ||
            (st = get_vec(L, NAME("post_ffw_norm.weight"), hp->n_embd, a->post_norm, &ly->post_ffn_norm)))
            return st;
        /* The norms go together: the forward pass routes both branches through m->branch. */
        if (!ly->post_attn_norm != !ly->post_ffn_norm)
            return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s: %s without its partner post-norm",
                               lpq_gguf_path(L->g), ly->post_attn_norm ? NAME("post_attention_norm.weight")
                                                                       : NAME("post_ffw_norm.weight"));
        ly->swa = hp->n_swa > 0 && (hp->swa_pattern == 0 || il % hp->swa_pattern < hp->swa_pattern - 1);
    }
#undef NAME
    return LPQ_STATUS_OK;
}

/* ---- buffers ------------------------------------------------------------------------------ */

static enum lpq_status alloc_floats(struct loader *L, float **out, uint64_t a, uint64_t b, uint64_t c,
                                    uint64_t *counter, const char *what) {
    uint64_t n, bytes;
    if (!lpq_mul_u64(a, b, &n) || !lpq_mul_u64(n, c, &n) || !lpq_mul_u64(n, sizeof(float), &bytes) ||
        bytes > SIZE_MAX)
        return lpq_err_set(L->err, LPQ_STATUS_NO_MEMORY, "%s: size overflows", what);
    *out = lpq_malloc_aligned(bytes ? (size_t)bytes : 64, 64);
    if (!*out)
        return lpq_err_set(L->err, LPQ_STATUS_NO_MEMORY, "out of memory for the %s (%llu MiB)", what,
                           (unsigned long long)(bytes >> 20));
    memset(*out, 0, (size_t)bytes);
    *counter += bytes;
    return LPQ_STATUS_OK;
}

static void for_each_matrix(struct lpq__cpu_model *m, void (*fn)(struct lpq__cpu_tensor *, void *), void *u) {
    fn(&m->output, u);
    for (int64_t il = 0; il < m->hp.n_layer; il++) {
        struct lpq__cpu_layer *ly = &m->layers[il];
        struct lpq__cpu_tensor *ts[] = { &ly->wq, &ly->wk, &ly->wv, &ly->wo, &ly->w_gate, &ly->w_up, &ly->w_down };
        for (size_t i = 0; i < LPQ_ARRAY_SIZE(ts); i++) fn(ts[i], u);
    }
}

struct need { int64_t n_batch; enum lpq_cpu_isa isa; size_t act; int64_t deq; int64_t f16_ne0; };

static void need_one(struct lpq__cpu_tensor *t, void *u) {
    struct need *nd = u;
    size_t act;
    int64_t deq;
    lpq__cpu_mm_need(t, nd->isa, nd->n_batch, &act, &deq);
    nd->act = LPQ_MAX(nd->act, act);
    nd->deq = LPQ_MAX(nd->deq, deq);
    if (t->type == LPQ_TYPE_F16 || t->type == LPQ_TYPE_BF16) nd->f16_ne0 = LPQ_MAX(nd->f16_ne0, t->ne0);
}

static enum lpq_status alloc_state(struct loader *L) {
    struct lpq__cpu_model *m = L->m;
    const struct lpq__cpu_hparams *hp = &m->hp;
    const uint64_t B = (uint64_t)m->n_batch, T = (uint64_t)m->n_threads;
    const uint64_t n_k = (uint64_t)(hp->n_head_kv * hp->head_dim_k), n_v = (uint64_t)(hp->n_head_kv * hp->head_dim_v);
    const uint64_t n_xn = (uint64_t)LPQ_MAX(hp->n_embd, hp->n_head * hp->head_dim_v);
    enum lpq_status st;
    uint64_t *sc = &m->bytes_scratch;
    if ((st = alloc_floats(L, &m->k_cache, (uint64_t)hp->n_layer, (uint64_t)m->n_ctx, n_k, &m->bytes_kv, "K cache")) ||
        (st = alloc_floats(L, &m->v_cache, (uint64_t)hp->n_layer, (uint64_t)m->n_ctx, n_v, &m->bytes_kv, "V cache")) ||
        (st = alloc_floats(L, &m->rope_cos, (uint64_t)m->n_ctx, (uint64_t)hp->n_rot / 2, 1, sc, "RoPE table")) ||
        (st = alloc_floats(L, &m->rope_sin, (uint64_t)m->n_ctx, (uint64_t)hp->n_rot / 2, 1, sc, "RoPE table")) ||
        (st = alloc_floats(L, &m->x, B, (uint64_t)hp->n_embd, 1, sc, "activations")) ||
        (st = alloc_floats(L, &m->xn, B, n_xn, 1, sc, "activations")) ||
        (st = alloc_floats(L, &m->q, B, (uint64_t)(hp->n_head * hp->head_dim_k), 1, sc, "activations")) ||
        (st = alloc_floats(L, &m->k, B, n_k, 1, sc, "activations")) ||
        (st = alloc_floats(L, &m->v, B, n_v, 1, sc, "activations")) ||
        (st = alloc_floats(L, &m->gate, B, (uint64_t)hp->n_ff, 1, sc, "activations")) ||
        (st = alloc_floats(L, &m->up, B, (uint64_t)hp->n_ff, 1, sc, "activations")) ||
        (st = alloc_floats(L, &m->att, T, (uint64_t)m->n_ctx, 1, sc, "attention scores")))
        return st;
    bool any_swa = false, any_post = false;
    for (int64_t il = 0; il < hp->n_layer; il++) {
        any_swa = any_swa || m->layers[il].swa;
        any_post = any_post || m->layers[il].post_attn_norm;
    }
    if (any_swa &&
        ((st = alloc_floats(L, &m->rope_cos_swa, (uint64_t)m->n_ctx, (uint64_t)hp->n_rot / 2, 1, sc, "RoPE table")) ||
         (st = alloc_floats(L, &m->rope_sin_swa, (uint64_t)m->n_ctx, (uint64_t)hp->n_rot / 2, 1, sc, "RoPE table"))))
        return st;
    if (any_post && (st = alloc_floats(L, &m->branch, B, (uint64_t)hp->n_embd, 1, sc, "activations")))
        return st;
    if (m->arch->ffn_act == LPQ__ACT_GELU_TANH) {
        if ((st = alloc_floats(L, &m->gelu_tab, 65536, 1, 1, sc, "GELU table"))) return st;
        for (uint32_t h = 0; h < 65536; h++) {
            const float x = lpq_fp16_to_fp32((uint16_t)h);
            m->gelu_tab[h] = lpq_fp16_to_fp32(lpq_fp32_to_fp16(lpq__cpu_gelu_tanh(x)));
        }
    }
    m->want_idx = lpq_calloc((size_t)B, sizeof(int32_t));
    if (!m->want_idx) return lpq_err_set(L->err, LPQ_STATUS_NO_MEMORY, "out of memory");

    struct need nd = { .n_batch = m->n_batch, .isa = m->isa };
    for_each_matrix(m, need_one, &nd);
    struct lpq__cpu_mm_ctx *c = &m->mm;
    c->isa = m->isa;
    c->pool = m->pool;
    c->n_batch = m->n_batch;
    c->act_cap = nd.act;
    for (int j = 0; j < LPQ__MM_ACT_TYPES && nd.act; j++) {
        c->act[j] = lpq_malloc_aligned(nd.act, 64);
        if (!c->act[j]) return lpq_err_set(L->err, LPQ_STATUS_NO_MEMORY, "out of memory for activations");
        *sc += nd.act;
    }
    c->deq_cap = nd.deq;
    if (nd.deq && (st = alloc_floats(L, &c->deq, T, (uint64_t)nd.deq, 1, sc, "dequantize buffer"))) return st;
    if ((st = alloc_floats(L, &c->tile, T, LPQ__MM_TILE_R, LPQ__MM_TILE_C, sc, "matmul tiles"))) return st;
    atomic_init(&c->next, 0);
#ifdef HAVE_OPENBLAS
    c->use_blas = false;   /* decided in lpq__cpu_model_load */
    c->blas_cap = nd.f16_ne0 * LPQ__MM_TILE_R;
    if (c->blas_cap && (st = alloc_floats(L, &c->blas_w, T, (uint64_t)c->blas_cap, 1, sc, "BLAS tiles")))
        return st;
#endif
    return LPQ_STATUS_OK;
}

/* cos/sin of every (position, pair) in double, so long contexts do not accumulate the error
 * of repeated float products. rope_freqs.weight (llama-3 style), when present, divides θ. */
static void fill_rope_table(const struct lpq__cpu_model *m, double base, double freq_scale, const float *ff,
                            float *cs, float *sn) {
    const struct lpq__cpu_hparams *hp = &m->hp;
    const int64_t half = hp->n_rot / 2;
    for (int64_t i = 0; i < half; i++) {
        double inv = pow(base, -2.0 * (double)i / (double)hp->n_rot);
        if (ff) inv /= (double)ff[i];
        for (int64_t p = 0; p < m->n_ctx; p++) {
            double th = (double)p * freq_scale * inv;
            cs[p * half + i] = (float)cos(th);
            sn[p * half + i] = (float)sin(th);
        }
    }
}

static enum lpq_status fill_rope(struct loader *L) {
    struct lpq__cpu_model *m = L->m;
    const float *ff = NULL;
    enum lpq_status st = get_vec(L, "rope_freqs.weight", m->hp.n_rot / 2, LPQ__OPT_OPTIONAL, &ff);
    if (st) return st;
    fill_rope_table(m, m->hp.rope_base, m->hp.rope_freq_scale, ff, m->rope_cos, m->rope_sin);
    /* Local layers are never position-scaled (llama.cpp: freq_scale_swa 1; gemma3 4B and up
     * scale their global layers only). */
    if (m->rope_cos_swa) fill_rope_table(m, m->hp.rope_base_swa, 1.0, NULL, m->rope_cos_swa, m->rope_sin_swa);
    return LPQ_STATUS_OK;
}

/* ---- load / free -------------------------------------------------------------------------- */

void lpq__cpu_model_free(struct lpq__cpu_model *m) {
    if (!m) return;
    lpq__cpu_pool_free(m->pool);
    lpq_tokenizer_free(m->tok);
    for (int i = 0; i < m->n_owned; i++) lpq_free(m->owned[i]);
    lpq_free(m->owned);
    lpq_free(m->layers);
    float *bufs[] = { m->k_cache, m->v_cache, m->rope_cos, m->rope_sin, m->rope_cos_swa, m->rope_sin_swa,
                      m->x, m->xn, m->q, m->k, m->v, m->gate, m->up, m->branch, m->att, m->gelu_tab, m->mm.deq, m->mm.tile };
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(bufs); i++) lpq_free_aligned(bufs[i]);
    for (int j = 0; j < LPQ__MM_ACT_TYPES; j++) lpq_free_aligned(m->mm.act[j]);
#ifdef HAVE_OPENBLAS
    lpq_free_aligned(m->mm.blas_w);
#endif
    lpq_free(m->want_idx);
    lpq_gguf_close(m->gguf);
    lpq_free(m);
}

static enum lpq_status find_arch(struct loader *L) {
    const char *name = NULL;
    enum lpq_status st = lpq_gguf_get_str(L->g, "general.architecture", &name, NULL);
    if (st == LPQ_STATUS_NOT_FOUND)
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s: missing key 'general.architecture'",
                           lpq_gguf_path(L->g));
    if (st != LPQ_STATUS_OK)
        return lpq_err_set(L->err, LPQ_STATUS_BAD_FILE, "%s: key 'general.architecture': %s",
                           lpq_gguf_path(L->g), lpq_gguf_errmsg(L->g));
    for (int i = 0; lpq__cpu_archs[i]; i++) {
        if (strcmp(lpq__cpu_archs[i]->name, name) == 0) {
            L->m->arch = lpq__cpu_archs[i];
            return LPQ_STATUS_OK;
        }
    }
    char list[128];
    size_t o = 0;
    list[0] = '\0';
    for (int i = 0; lpq__cpu_archs[i] && o < sizeof(list); i++)
        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", lpq__cpu_archs[i]->name);
    return lpq_err_set(L->err, LPQ_STATUS_UNSUPPORTED, "unknown architecture '%s' (supported: %s)", name, list);
}

enum lpq_status lpq__cpu_model_load(const char *path, const struct lpq_rt_params *params,
                                    struct lpq__cpu_model **out, struct lpq_err *err) {
    struct lpq_rt_params def = lpq_rt_params_default();
    if (!params) params = &def;
    struct loader L = { .err = err };
    enum lpq_status st;
    struct lpq__cpu_model *m = lpq_calloc(1, sizeof(*m));
    if (!m) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "out of memory");
    L.m = m;
    if ((st = lpq_gguf_open(path, NULL, &m->gguf, err))) goto done;
    L.g = m->gguf;

    struct lpq_cpu_features f;
    lpq_cpu_features_detect(&f);
    m->isa = lpq_cpu_isa_best(&f);

    if ((st = find_arch(&L)) || (st = read_hparams(&L))) goto done;

    /* Run settings, refused before anything large is allocated. */
    int64_t n_ctx = params->n_ctx;
    if (n_ctx < 0) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_ARG, "n_ctx %lld is negative", (long long)n_ctx);
        goto done;
    }
    if (n_ctx == 0) n_ctx = LPQ_MIN(m->hp.n_ctx_train, LPQ__N_CTX_DEFAULT_MAX);
    if (n_ctx > m->hp.n_ctx_train) {
        st = lpq_err_set(err, LPQ_STATUS_RANGE,
                         "context of %lld tokens exceeds the model's limit of %lld (%s.context_length)",
                         (long long)n_ctx, (long long)m->hp.n_ctx_train, m->arch->name);
        goto done;
    }
    m->n_ctx = n_ctx;
    m->n_batch = params->n_batch > 0 ? params->n_batch : LPQ__N_BATCH_DEFAULT;
    m->n_batch = LPQ_MIN(m->n_batch, m->n_ctx);
    m->n_threads = params->n_threads;
    if (m->n_threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        m->n_threads = nc > 0 ? (int)LPQ_MIN(nc, 256) : 1;
    }

    if ((st = load_tensors(&L))) goto done;
    if ((st = lpq_tokenizer_load(m->gguf, &m->tok, err))) goto done;
    if ((st = lpq__cpu_pool_create(m->n_threads, &m->pool, err))) goto done;
    if ((st = alloc_state(&L)) || (st = fill_rope(&L))) goto done;
#ifdef HAVE_OPENBLAS
    /* sgemm is called from each pool thread on its own tile: OpenBLAS must not fork threads. */
    openblas_set_num_threads(1);
    m->mm.use_blas = getenv("LPQ_NO_BLAS") == NULL;
    m->mm.blas_min_rows = getenv("LPQ_BLAS_MIN") ? atoi(getenv("LPQ_BLAS_MIN")) : 32;
#endif
    *out = m;
    m = NULL;
    st = LPQ_STATUS_OK;
done:
    lpq__cpu_model_free(m);
    return st;
}
