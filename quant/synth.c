/*
 * synth.c — synthetic models: real architectures' hyper-parameters, tensor names and shapes
 * (tiny, qwen2.5-0.5b, llama-3.2-1b, qwen3-8b) with seeded random weights and a byte-level
 * GPT-2-style vocabulary that lpq makes itself. Written streaming: rows are generated and
 * quantized a chunk at a time, so an 8B shape needs only a few MB of memory. Every row has
 * its own random stream (seed, tensor, row), so the bytes do not depend on the thread count.
 */
#include "quant/quantize.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct shape {
    const char *name, *arch, *hf_name;
    int64_t n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim, n_vocab, n_ctx;
    double rope_base, rms_eps;
    bool tied, qkv_bias, qk_norm;
};

/* Hyper-parameters from the models' published config.json files. */
static const struct shape shapes[] = {
    { "tiny", "llama", "lpq tiny", 4, 256, 768, 4, 2, 64, 512, 2048, 10000.0, 1e-5, false, false, false },
    { "qwen2.5-0.5b", "qwen2", "Qwen2.5-0.5B", 24, 896, 4864, 14, 2, 64, 151936, 32768, 1000000.0, 1e-6, true, true, false },
    { "llama-3.2-1b", "llama", "Llama-3.2-1B", 16, 2048, 8192, 32, 8, 64, 128256, 131072, 500000.0, 1e-5, true, false, false },
    { "qwen3-8b", "qwen3", "Qwen3-8B", 36, 4096, 12288, 32, 8, 128, 151936, 40960, 1000000.0, 1e-6, false, false, true },
};

static const char *const shape_names[] = { "tiny", "qwen2.5-0.5b", "llama-3.2-1b", "qwen3-8b", NULL };

const char *const *lpq_synth_shapes(void) { return shape_names; }

static const struct shape *shape_find(const char *name) {
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(shapes); i++) {
        if (name && !strcmp(shapes[i].name, name)) return &shapes[i];
    }
    return NULL;
}

struct lpq_synth_params lpq_synth_params_default(void) {
    struct lpq_synth_params p = { .shape = "tiny", .type = "F32", .seed = 42, .n_threads = 0, .progress = false };
    return p;
}

/* ---- tensor list ---------------------------------------------------------------------------- */

struct tlist {
    struct lpq_plan_tensor_in *t;
    size_t n, cap;
    bool oom;
};

static void tl_add(struct tlist *l, const char *name, int64_t ne0, int64_t ne1) {
    if (l->oom) return;
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        struct lpq_plan_tensor_in *nt = lpq_realloc(l->t, nc * sizeof(*nt));
        if (!nt) { l->oom = true; return; }
        l->t = nt;
        l->cap = nc;
    }
    struct lpq_plan_tensor_in *t = &l->t[l->n];
    memset(t, 0, sizeof(*t));
    t->name = lpq_strdup(name);
    if (!t->name) { l->oom = true; return; }
    t->type = LPQ_TYPE_F32;
    t->n_dims = ne1 > 0 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 > 0 ? ne1 : 1;
    t->ne[2] = t->ne[3] = 1;
    l->n++;
}

void lpq_synth_tensors_free(struct lpq_plan_tensor_in *t, size_t n) {
    if (!t) return;
    for (size_t i = 0; i < n; i++) lpq_free((void *)t[i].name);
    lpq_free(t);
}

static void arch_of(const struct shape *s, struct lpq_model_arch *a) {
    memset(a, 0, sizeof(*a));
    snprintf(a->arch, sizeof(a->arch), "%s", s->arch);
    a->n_layer = s->n_layer;
    a->n_head = s->n_head;
    a->n_head_kv = s->n_head_kv;
    a->n_embd = s->n_embd;
    a->tied = s->tied;
}

enum lpq_status lpq_synth_shape_tensors(const char *shape, struct lpq_model_arch *arch,
                                        struct lpq_plan_tensor_in **out, size_t *n, struct lpq_err *err) {
    const struct shape *s = shape_find(shape);
    if (!s) return lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "unknown shape '%s' (tiny, qwen2.5-0.5b, llama-3.2-1b, qwen3-8b)", shape ? shape : "");
    struct tlist l = { 0 };
    char nm[96];
    int64_t dq = s->n_head * s->head_dim, dkv = s->n_head_kv * s->head_dim;
    tl_add(&l, "token_embd.weight", s->n_embd, s->n_vocab);
    for (int64_t i = 0; i < s->n_layer; i++) {
#define T(suffix, a, b) snprintf(nm, sizeof(nm), "blk.%" PRId64 ".%s", i, suffix); tl_add(&l, nm, a, b)
        T("attn_norm.weight", s->n_embd, 0);
        T("attn_q.weight", s->n_embd, dq);
        if (s->qkv_bias) { T("attn_q.bias", dq, 0); }
        T("attn_k.weight", s->n_embd, dkv);
        if (s->qkv_bias) { T("attn_k.bias", dkv, 0); }
        T("attn_v.weight", s->n_embd, dkv);
        if (s->qkv_bias) { T("attn_v.bias", dkv, 0); }
        T("attn_output.weight", dq, s->n_embd);
        if (s->qk_norm) {
            T("attn_q_norm.weight", s->head_dim, 0);
            T("attn_k_norm.weight", s->head_dim, 0);
        }
        T("ffn_norm.weight", s->n_embd, 0);
        T("ffn_gate.weight", s->n_embd, s->n_ff);
        T("ffn_up.weight", s->n_embd, s->n_ff);
        T("ffn_down.weight", s->n_ff, s->n_embd);
#undef T
    }
    tl_add(&l, "output_norm.weight", s->n_embd, 0);
    if (!s->tied) tl_add(&l, "output.weight", s->n_embd, s->n_vocab);
    if (l.oom) {
        lpq_synth_tensors_free(l.t, l.n);
        return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "synth: out of memory");
    }
    if (arch) arch_of(s, arch);
    *out = l.t;
    *n = l.n;
    return LPQ_STATUS_OK;
}

/* ---- random numbers -------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

struct rng {
    uint64_t s[4];
};

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(struct rng *r) {   /* xoshiro256** */
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

static void rng_seed(struct rng *r, uint64_t a, uint64_t b, uint64_t c) {
    uint64_t x = a ^ (b * 0xD1B54A32D192ED03ull) ^ (c * 0xABC98388FB8FAC03ull);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t name_hash(const char *s) {   /* FNV-1a */
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* n normals N(mean, std²) by Box–Muller in float. */
static void gaussian_row(struct rng *r, float *x, int64_t n, float mean, float std) {
    for (int64_t i = 0; i < n; i += 2) {
        float u1 = ((float)(rng_next(r) >> 40) + 0.5f) * (1.0f / 16777216.0f);
        float u2 = (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f);
        float rad = sqrtf(-2.0f * logf(u1)) * std;
        float a = 6.28318530718f * u2;
        x[i] = mean + rad * cosf(a);
        if (i + 1 < n) x[i + 1] = mean + rad * sinf(a);
    }
}

/* ---- tokenizer -------------------------------------------------------------------------------- */

/* GPT-2's byte → printable code point map: printable Latin-1 bytes map to themselves, the
 * rest to 256, 257, … in byte order. */
static unsigned byte_cp(int b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return (unsigned)b;
    int k = 0;
    for (int c = 0; c < b; c++) {
        if (!((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255))) k++;
    }
    return 256u + (unsigned)k;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* Text → GPT-2 token string (each byte through byte_cp). */
static void to_tok(const char *s, char *o, size_t cap) {
    size_t k = 0;
    for (; *s && k + 3 < cap; s++) k += put_utf8(o + k, byte_cp((uint8_t)*s));
    o[k] = 0;
}

/* Merges as "left right" in plain text (space = ' '); the merged token is left+right. Common
 * English pieces, ordered so each side already exists when its merge is listed. */
static const char *const merge_src[][2] = {
    {" ", "t"}, {" ", "a"}, {"h", "e"}, {"i", "n"}, {"r", "e"}, {"o", "n"}, {" t", "he"}, {"e", "r"},
    {" ", "s"}, {"a", "t"}, {"n", "d"}, {"o", "r"}, {"e", "n"}, {" ", "w"}, {"e", "s"}, {"a", "n"},
    {"e", "d"}, {" ", "o"}, {"i", "s"}, {"i", "t"}, {"o", "u"}, {"a", "r"}, {"in", "g"}, {"a", "l"},
    {" ", "b"}, {" ", "c"}, {" ", "f"}, {" ", "m"}, {" ", "p"}, {" ", "d"}, {" ", "h"}, {" ", "l"},
    {" ", "n"}, {" ", "i"}, {"l", "l"}, {"l", "e"}, {"a", "s"}, {"s", "t"}, {"v", "e"}, {"i", "on"},
    {" a", "nd"}, {" t", "o"}, {" o", "f"}, {" i", "n"}, {" ", "y"}, {" ", "g"}, {" ", "r"}, {" ", "e"},
    {"o", "w"}, {"o", "m"}, {"c", "h"}, {"l", "y"}, {"i", "c"}, {"e", "l"}, {" w", "as"}, {" th", "at"},
    {" h", "e"}, {" s", "he"}, {"en", "t"}, {" b", "e"}, {" c", "on"}, {" w", "it"},
    {" wit", "h"}, {"o", "o"}, {"a", "y"}, {" p", "l"}, {" pl", "ay"}, {" l", "o"}, {" lo", "ve"},
    {" d", "ay"}, {" s", "a"}, {" sa", "w"}, {" ", "u"}, {" u", "p"}, {" ", "O"}, {" O", "n"},
    {"O", "n"}, {"On", "ce"}, {"c", "e"}, {" t", "i"}, {" ti", "m"}, {" tim", "e"}, {" ", "T"},
    {" T", "he"}, {"T", "he"}, {"i", "d"}, {"a", "id"}, {" s", "aid"}, {" ", "."}, {".", "\n"},
    {",", " "}, {"e", "e"}, {" s", "ee"}, {"k", "e"}, {" li", "ke"}, {" l", "i"}, {"r", "i"},
    {"i", "r"}, {" g", "ir"}, {" gir", "l"},
};

struct vocab {
    char **tok;
    int32_t *type;
    char **merges;
    size_t n_tok, n_merges;
};

static void vocab_free(struct vocab *v) {
    for (size_t i = 0; i < v->n_tok; i++) lpq_free(v->tok[i]);
    for (size_t i = 0; i < v->n_merges; i++) lpq_free(v->merges[i]);
    lpq_free(v->tok);
    lpq_free(v->type);
    lpq_free(v->merges);
}

static int64_t vocab_find(const struct vocab *v, const char *s) {
    for (size_t i = 0; i < v->n_tok; i++) {
        if (!strcmp(v->tok[i], s)) return (int64_t)i;
    }
    return -1;
}

enum { TT_NORMAL = 1, TT_CONTROL = 3, TT_UNUSED = 5 };

/* 256 byte tokens, the merges whose sides exist, BOS, EOS, then placeholders up to n_vocab. */
static enum lpq_status vocab_build(struct vocab *v, int64_t n_vocab, int64_t *bos, int64_t *eos) {
    memset(v, 0, sizeof(*v));
    v->tok = lpq_calloc((size_t)n_vocab, sizeof(char *));
    v->type = lpq_calloc((size_t)n_vocab, sizeof(int32_t));
    v->merges = lpq_calloc(LPQ_ARRAY_SIZE(merge_src), sizeof(char *));
    if (!v->tok || !v->type || !v->merges) return LPQ_STATUS_NO_MEMORY;
    char buf[64], l[32], r[32];
    for (int b = 0; b < 256; b++) {
        size_t k = put_utf8(buf, byte_cp(b));
        buf[k] = 0;
        if (!(v->tok[v->n_tok] = lpq_strdup(buf))) return LPQ_STATUS_NO_MEMORY;
        v->type[v->n_tok++] = TT_NORMAL;
    }
    for (size_t m = 0; m < LPQ_ARRAY_SIZE(merge_src) && (int64_t)v->n_tok + 2 < n_vocab; m++) {
        if (!merge_src[m][0][0] || !merge_src[m][1][0]) continue;
        to_tok(merge_src[m][0], l, sizeof(l));
        to_tok(merge_src[m][1], r, sizeof(r));
        snprintf(buf, sizeof(buf), "%s%s", l, r);
        if (vocab_find(v, l) < 0 || vocab_find(v, r) < 0 || vocab_find(v, buf) >= 0) continue;
        if (!(v->tok[v->n_tok] = lpq_strdup(buf))) return LPQ_STATUS_NO_MEMORY;
        v->type[v->n_tok++] = TT_NORMAL;
        snprintf(buf, sizeof(buf), "%s %s", l, r);
        if (!(v->merges[v->n_merges++] = lpq_strdup(buf))) return LPQ_STATUS_NO_MEMORY;
    }
    *bos = (int64_t)v->n_tok;
    if (!(v->tok[v->n_tok] = lpq_strdup("<|begin_of_text|>"))) return LPQ_STATUS_NO_MEMORY;
    v->type[v->n_tok++] = TT_CONTROL;
    *eos = (int64_t)v->n_tok;
    if (!(v->tok[v->n_tok] = lpq_strdup("<|end_of_text|>"))) return LPQ_STATUS_NO_MEMORY;
    v->type[v->n_tok++] = TT_CONTROL;
    for (int64_t k = 0; (int64_t)v->n_tok < n_vocab; k++) {
        snprintf(buf, sizeof(buf), "<|placeholder_%" PRId64 "|>", k);
        if (!(v->tok[v->n_tok] = lpq_strdup(buf))) return LPQ_STATUS_NO_MEMORY;
        v->type[v->n_tok++] = TT_UNUSED;
    }
    return LPQ_STATUS_OK;
}

/* ---- weights ----------------------------------------------------------------------------------- */

struct gen_job {
    uint64_t seed, tensor_hash;
    uint32_t type;
    int64_t n_per_row, row0, nrows;
    float mean, std;
    uint8_t *dst;
    size_t dst_row_bytes;
    atomic_llong next;
    atomic_int status;
};

static void *gen_worker(void *arg) {
    struct gen_job *j = arg;
    float *x = lpq_malloc_array((size_t)j->n_per_row + 1, sizeof(float));
    if (!x) {
        atomic_store(&j->status, (int)LPQ_STATUS_NO_MEMORY);
        return NULL;
    }
    for (;;) {
        long long r = atomic_fetch_add(&j->next, 1);
        if (r >= j->nrows || atomic_load(&j->status)) break;
        struct rng g;
        rng_seed(&g, j->seed, j->tensor_hash, (uint64_t)(j->row0 + r));
        gaussian_row(&g, x, j->n_per_row, j->mean, j->std);
        enum lpq_status st = lpq_quant_row_encode(j->type, x, j->dst + (size_t)r * j->dst_row_bytes, j->n_per_row, NULL);
        if (st) { atomic_store(&j->status, (int)st); break; }
    }
    lpq_free(x);
    return NULL;
}

/* How a tensor's values are drawn: weights N(0, 0.02²) (residual projections scaled down by
 * √(2·n_layer) as GPT-2 initialises them, so activations stay O(1)), norms ≈ 1, biases small. */
static void dist_of(const struct shape *s, const char *name, float *mean, float *std) {
    *mean = 0;
    *std = 0.02f;
    if (strstr(name, "norm.weight")) { *mean = 1.0f; *std = 0.05f; }
    else if (strstr(name, ".bias")) { *std = 0.02f; }
    else if (strstr(name, "attn_output") || strstr(name, "ffn_down")) *std = 0.02f / sqrtf(2.0f * (float)s->n_layer);
}

enum lpq_status lpq_synth_write(const char *path, const struct lpq_synth_params *p, struct lpq_err *err) {
    enum lpq_status st = LPQ_STATUS_OK;
    struct lpq_plan_tensor_in *t = NULL;
    size_t n = 0;
    struct lpq_plan *plan = NULL;
    struct lpq_gguf_writer *w = NULL;
    struct vocab v = { 0 };
    uint8_t *chunk = NULL;
    const struct shape *s = shape_find(p->shape);
    const struct lpq_ftype *ft = lpq_ftype_find(p->type);
    if (!s) return lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "unknown shape '%s' (tiny, qwen2.5-0.5b, llama-3.2-1b, qwen3-8b)", p->shape ? p->shape : "");
    if (!ft) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "unknown type '%s'", p->type ? p->type : "");
    struct lpq_model_arch a;
    if ((st = lpq_synth_shape_tensors(p->shape, &a, &t, &n, err))) goto done;
    struct lpq_plan_params pp = lpq_plan_params_default(ft);
    if ((st = lpq_plan_build(&a, t, n, &pp, &plan, err))) goto done;
    int64_t bos = 0, eos = 0;
    if ((st = vocab_build(&v, s->n_vocab, &bos, &eos))) { lpq_err_set(err, st, "synth: out of memory"); goto done; }

    if ((st = lpq_gguf_writer_create(path, &w, err))) goto done;
    char key[128], name[128];
#define K(suffix) (snprintf(key, sizeof(key), "%s.%s", s->arch, suffix), key)
#define CHK(call) do { if ((st = (call)) != LPQ_STATUS_OK) goto werr; } while (0)
    snprintf(name, sizeof(name), "lpq-synth %s (random weights)", s->hf_name);
    CHK(lpq_gguf_writer_set_str(w, "general.architecture", s->arch));
    CHK(lpq_gguf_writer_set_str(w, "general.name", name));
    CHK(lpq_gguf_writer_set_u32(w, "general.file_type", (uint32_t)ft->llama_ftype));
    CHK(lpq_gguf_writer_set_u32(w, "general.quantization_version", 2));
    CHK(lpq_gguf_writer_set_str(w, "lpq.synth.shape", s->name));
    CHK(lpq_gguf_writer_set_u64(w, "lpq.synth.seed", p->seed));
    CHK(lpq_gguf_writer_set_u32(w, K("context_length"), (uint32_t)s->n_ctx));
    CHK(lpq_gguf_writer_set_u32(w, K("embedding_length"), (uint32_t)s->n_embd));
    CHK(lpq_gguf_writer_set_u32(w, K("block_count"), (uint32_t)s->n_layer));
    CHK(lpq_gguf_writer_set_u32(w, K("feed_forward_length"), (uint32_t)s->n_ff));
    CHK(lpq_gguf_writer_set_u32(w, K("attention.head_count"), (uint32_t)s->n_head));
    CHK(lpq_gguf_writer_set_u32(w, K("attention.head_count_kv"), (uint32_t)s->n_head_kv));
    CHK(lpq_gguf_writer_set_u32(w, K("attention.key_length"), (uint32_t)s->head_dim));
    CHK(lpq_gguf_writer_set_u32(w, K("attention.value_length"), (uint32_t)s->head_dim));
    CHK(lpq_gguf_writer_set_f32(w, K("attention.layer_norm_rms_epsilon"), (float)s->rms_eps));
    CHK(lpq_gguf_writer_set_f32(w, K("rope.freq_base"), (float)s->rope_base));
    CHK(lpq_gguf_writer_set_u32(w, K("rope.dimension_count"), (uint32_t)s->head_dim));
    CHK(lpq_gguf_writer_set_u32(w, K("vocab_size"), (uint32_t)s->n_vocab));
    CHK(lpq_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2"));
    CHK(lpq_gguf_writer_set_str(w, "tokenizer.ggml.pre", "gpt-2"));
    CHK(lpq_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v.tok, NULL, v.n_tok));
    CHK(lpq_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", LPQ_GGUF_I32, v.type, v.n_tok));
    CHK(lpq_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)v.merges, NULL, v.n_merges));
    CHK(lpq_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos));
    CHK(lpq_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos));
    CHK(lpq_gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)eos));
    CHK(lpq_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true));
    CHK(lpq_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false));
#undef K
    for (size_t i = 0; i < plan->n_entries; i++)
        CHK(lpq_gguf_writer_add_tensor(w, plan->entries[i].name, plan->entries[i].type, plan->entries[i].n_dims,
                                       plan->entries[i].ne));
    size_t chunk_cap = 8u << 20;
    chunk = lpq_malloc(chunk_cap);
    if (!chunk) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "synth: out of memory"); goto done; }
    int n_threads = p->n_threads > 0 ? p->n_threads : (int)LPQ_MAX(1, sysconf(_SC_NPROCESSORS_ONLN));
    if (n_threads > 64) n_threads = 64;
    uint64_t total = plan->dst_bytes, written = 0;
    for (size_t i = 0; i < plan->n_entries; i++) {
        const struct lpq_plan_entry *e = &plan->entries[i];
        size_t rs = lpq_type_row_size(e->type, e->ne[0]);
        int64_t rows = e->ne[1] * e->ne[2] * e->ne[3];
        int64_t per = (int64_t)LPQ_MAX((size_t)1, chunk_cap / rs);
        if ((size_t)per * rs > chunk_cap) {
            uint8_t *nc = lpq_realloc(chunk, rs);
            if (!nc) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "synth: out of memory"); goto done; }
            chunk = nc;
            chunk_cap = rs;
        }
        float mean, std;
        dist_of(s, e->name, &mean, &std);
        for (int64_t r0 = 0; r0 < rows; r0 += per) {
            struct gen_job j = {
                .seed = p->seed, .tensor_hash = name_hash(e->name), .type = e->type, .n_per_row = e->ne[0],
                .row0 = r0, .nrows = LPQ_MIN(per, rows - r0), .mean = mean, .std = std, .dst = chunk, .dst_row_bytes = rs,
            };
            atomic_init(&j.next, 0);
            atomic_init(&j.status, 0);
            pthread_t th[64];
            int ns = 0;
            for (int k = 1; k < n_threads && k < j.nrows; k++) {
                if (pthread_create(&th[ns], NULL, gen_worker, &j) == 0) ns++;
            }
            gen_worker(&j);
            for (int k = 0; k < ns; k++) pthread_join(th[k], NULL);
            if ((st = (enum lpq_status)atomic_load(&j.status))) {
                lpq_err_set(err, st, "synth: %s: cannot encode %s", e->name, lpq_type_name(e->type));
                goto done;
            }
            CHK(lpq_gguf_writer_write_tensor_part(w, chunk, (uint64_t)j.nrows * rs));
            written += (uint64_t)j.nrows * rs;
            if (p->progress) {
                fprintf(stderr, "\r[synth %s %s] %5.1f%% %-30.30s", s->name, ft->name, total ? 100.0 * (double)written / (double)total : 100.0, e->name);
                fflush(stderr);
            }
        }
    }
    if (p->progress) fputc('\n', stderr);
    CHK(lpq_gguf_writer_finish(w));
    goto done;
werr:
    st = lpq_err_set(err, st, "%s", lpq_gguf_writer_errmsg(w));
#undef CHK
done:
    lpq_free(chunk);
    lpq_gguf_writer_free(w);
    vocab_free(&v);
    lpq_plan_free(plan);
    lpq_synth_tensors_free(t, n);
    return st;
}
