/*
 * test_cpu_forward.c — the CPU engine against llama.cpp's references for stories260K
 * (../shared/ref/stories260K): greedy decoding from BOS reproduces greedy.txt's ids and text,
 * the logits of T1 match logits-T1.gguf (NMSE <= 1e-10, same argmax everywhere), and results
 * are bit-identical across thread counts (1 vs 2), reruns and KV-cache trimming.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "naive-ref.h"

#include "quant/gguf.h"
#include "runtimes/runtime.h"

#define MODEL "models/stories260K.gguf"

struct ref_logits {
    struct lpq_gguf *g;
    const float *logits;          /* [n_tok][n_vocab] */
    int64_t n_vocab, n_tok;
    int32_t tokens[64];
};

static void ref_open(const char *rel, struct ref_logits *r) {
    struct lpq_err e;
    assert_int_equal(lpq_gguf_open(tu_shared(rel), NULL, &r->g, &e), LPQ_STATUS_OK);
    int64_t ti = lpq_gguf_find_tensor(r->g, "logits");
    assert_true(ti >= 0);
    const struct lpq_gguf_tensor *t = lpq_gguf_tensor(r->g, ti);
    assert_int_equal(t->type, LPQ_TYPE_F32);
    r->logits = t->data;
    r->n_vocab = t->ne[0];
    r->n_tok = t->ne[1];
    const void *d;
    uint64_t n;
    assert_int_equal(lpq_gguf_get_arr(r->g, "ref.tokens", LPQ_GGUF_I32, &d, &n), LPQ_STATUS_OK);
    assert_int_equal((int64_t)n, r->n_tok);
    assert_true(n <= 64);
    memcpy(r->tokens, d, n * sizeof(int32_t));
}

static struct lpq_rt_model *load(int n_threads, int64_t n_ctx, int64_t n_batch) {
    const struct lpq_rt_reg *reg;
    struct lpq_err e;
    assert_int_equal(lpq_rt_find("cpu", &reg, &e), LPQ_STATUS_OK);
    struct lpq_rt_params p = lpq_rt_params_default();
    p.n_threads = n_threads;
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    struct lpq_rt_model *m = NULL;
    enum lpq_status st = lpq_rt_model_load(reg, tu_shared(MODEL), &p, &m, &e);
    if (st != LPQ_STATUS_OK) fail_msg("load: %s", e.msg);
    return m;
}

static int64_t argmax(const float *x, int64_t n) {
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* All-positions logits of `tokens` from an empty cache, in one eval call. */
static float *eval_all(struct lpq_rt_model *m, const int32_t *tokens, int64_t n) {
    int64_t nv = lpq_rt_n_vocab(m);
    float *out = malloc((size_t)(n * nv) * sizeof(float));
    bool want[64];
    for (int64_t i = 0; i < n; i++) want[i] = true;
    assert_int_equal(lpq_rt_kv_trim(m, 0), LPQ_STATUS_OK);
    enum lpq_status st = lpq_rt_eval(m, tokens, n, want, out);
    if (st != LPQ_STATUS_OK) fail_msg("eval: %s", lpq_rt_errmsg(m));
    return out;
}

static int setup(void **state) {
    (void)state;
    if (!tu_have_shared()) {
        fprintf(stderr, "no ../shared: skipping\n");
        return 0;
    }
    tu_use_cmocka_allocator();
    return 0;
}

/* Reads "IDS: 1,2,3" and the JSON "TEXT:" string of greedy.txt. */
static void read_greedy(int32_t *ids, int *n_ids, char *text, size_t cap) {
    size_t sz;
    char *buf = tu_read_file(tu_shared("ref/stories260K/greedy.txt"), &sz);
    assert_non_null(buf);
    char *p = strstr(buf, "\nIDS: ");
    assert_non_null(p);
    p += 6;
    *n_ids = 0;
    while (*p && *p != '\n') {
        ids[(*n_ids)++] = (int32_t)strtol(p, &p, 10);
        if (*p == ',') p++;
    }
    p = strstr(buf, "\nTEXT: \"");
    assert_non_null(p);
    p += 8;
    size_t o = 0;
    for (; *p && *p != '"' && o + 1 < cap; p++) {
        if (*p == '\\') {
            p++;
            text[o++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
        } else {
            text[o++] = *p;
        }
    }
    text[o] = '\0';
    free(buf);
}

static void test_greedy_from_bos(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    int32_t ref_ids[80];
    int n_ref;
    char ref_text[1024], text[1024];
    read_greedy(ref_ids, &n_ref, ref_text, sizeof(ref_text));
    assert_int_equal(n_ref, 65);

    struct lpq_rt_model *m = load(1, 512, 64);
    assert_int_equal(lpq_rt_token_bos(m), 1);
    int64_t nv = lpq_rt_n_vocab(m);
    float *logits = malloc((size_t)nv * sizeof(float));
    int32_t tok = lpq_rt_token_bos(m);
    assert_int_equal(tok, ref_ids[0]);
    size_t o = 0;
    for (int i = 1; i < n_ref; i++) {
        assert_int_equal(lpq_rt_eval(m, &tok, 1, NULL, logits), LPQ_STATUS_OK);
        tok = (int32_t)argmax(logits, nv);
        if (tok != ref_ids[i]) fail_msg("step %d: got id %d, llama.cpp %d", i, tok, ref_ids[i]);
        o += lpq_rt_token_to_piece(m, tok, text + o, sizeof(text) - o - 1, false);
    }
    text[o] = '\0';
    assert_string_equal(text, ref_text);
    assert_int_equal(lpq_rt_kv_len(m), n_ref - 1);
    free(logits);
    lpq_rt_model_free(m);
}

static void test_logits_t1(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    struct ref_logits r;
    ref_open("ref/stories260K/logits-T1.gguf", &r);
    struct lpq_rt_model *m = load(1, 512, 512);
    assert_int_equal(lpq_rt_n_vocab(m), r.n_vocab);
    float *out = eval_all(m, r.tokens, r.n_tok);
    double e = nmse(out, r.logits, r.n_vocab * r.n_tok);
    printf("stories260K T1 (one batch of %lld): NMSE %.3e\n", (long long)r.n_tok, e);
    assert_true(e <= 1e-10);
    for (int64_t t = 0; t < r.n_tok; t++)
        assert_int_equal(argmax(out + t * r.n_vocab, r.n_vocab), argmax(r.logits + t * r.n_vocab, r.n_vocab));

    /* The same tokens one at a time (decode path) match the reference as well. */
    assert_int_equal(lpq_rt_kv_trim(m, 0), LPQ_STATUS_OK);
    float *one = malloc((size_t)(r.n_vocab * r.n_tok) * sizeof(float));
    for (int64_t t = 0; t < r.n_tok; t++)
        assert_int_equal(lpq_rt_eval(m, &r.tokens[t], 1, NULL, one + t * r.n_vocab), LPQ_STATUS_OK);
    e = nmse(one, r.logits, r.n_vocab * r.n_tok);
    printf("stories260K T1 (token by token): NMSE %.3e\n", e);
    assert_true(e <= 1e-10);
    free(one);
    free(out);
    lpq_rt_model_free(m);
    lpq_gguf_close(r.g);
}

/* Output rows are split between threads, each value computed by one thread in one order:
 * the bound tested is bit-identity across 1 and 2 threads and across reruns. */
static void test_threads_and_rerun_bit_identical(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    struct ref_logits r;
    ref_open("ref/stories260K/logits-T1.gguf", &r);
    size_t bytes = (size_t)(r.n_vocab * r.n_tok) * sizeof(float);
    struct lpq_rt_model *m1 = load(1, 256, 512), *m2 = load(2, 256, 512);
    float *a = eval_all(m1, r.tokens, r.n_tok);
    float *b = eval_all(m2, r.tokens, r.n_tok);
    float *c = eval_all(m2, r.tokens, r.n_tok);
    assert_memory_equal(a, b, bytes);
    assert_memory_equal(b, c, bytes);

    /* Small batches (5 tokens per pass) through 2 threads: same as 1 thread, bit for bit. */
    struct lpq_rt_model *m3 = load(2, 256, 5), *m4 = load(1, 256, 5);
    float *d = eval_all(m3, r.tokens, r.n_tok), *e2 = eval_all(m4, r.tokens, r.n_tok);
    assert_memory_equal(d, e2, bytes);
    assert_true(nmse(d, a, r.n_vocab * r.n_tok) <= 1e-12);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e2);
    lpq_rt_model_free(m1);
    lpq_rt_model_free(m2);
    lpq_rt_model_free(m3);
    lpq_rt_model_free(m4);
    lpq_gguf_close(r.g);
}

/* Trimming the cache and re-evaluating the tail gives the logits of a full evaluation. */
static void test_kv_trim_reuse(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    struct ref_logits r;
    ref_open("ref/stories260K/logits-T1.gguf", &r);
    struct lpq_rt_model *m = load(2, 128, 512);
    float *full = eval_all(m, r.tokens, r.n_tok);
    const int64_t keep = 20, nv = r.n_vocab;
    assert_int_equal(lpq_rt_kv_trim(m, keep), LPQ_STATUS_OK);
    assert_int_equal(lpq_rt_kv_len(m), keep);
    bool want[64];
    for (int64_t i = 0; i < r.n_tok - keep; i++) want[i] = true;
    float *tail = malloc((size_t)((r.n_tok - keep) * nv) * sizeof(float));
    assert_int_equal(lpq_rt_eval(m, r.tokens + keep, r.n_tok - keep, want, tail), LPQ_STATUS_OK);
    double e = nmse(tail, full + keep * nv, (r.n_tok - keep) * nv);
    assert_true(e <= 1e-12);
    assert_true(nmse(tail, r.logits + keep * nv, (r.n_tok - keep) * nv) <= 1e-10);

    /* Logits asked for without a buffer are refused before anything is evaluated. */
    assert_int_equal(lpq_rt_kv_trim(m, keep), LPQ_STATUS_OK);
    assert_int_equal(lpq_rt_eval(m, r.tokens + keep, 3, NULL, NULL), LPQ_STATUS_BAD_ARG);
    assert_int_equal(lpq_rt_kv_len(m), keep);
    free(tail);
    free(full);
    lpq_rt_model_free(m);
    lpq_gguf_close(r.g);
}

/* Context full and bad token ids are refused with a message, not a crash. */
static void test_eval_limits(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    struct lpq_rt_model *m = load(1, 16, 8);
    assert_int_equal(lpq_rt_n_ctx(m), 16);
    int32_t toks[17];
    for (int i = 0; i < 17; i++) toks[i] = 1 + i;
    float *lg = malloc((size_t)lpq_rt_n_vocab(m) * sizeof(float));
    assert_int_equal(lpq_rt_eval(m, toks, 17, NULL, lg), LPQ_STATUS_RANGE);
    int32_t bad = 512;
    assert_int_equal(lpq_rt_eval(m, &bad, 1, NULL, lg), LPQ_STATUS_BAD_ARG);
    assert_non_null(strstr(lpq_rt_errmsg(m), "512"));
    assert_int_equal(lpq_rt_eval(m, toks, 16, NULL, lg), LPQ_STATUS_OK);   /* 16 in passes of 8 */
    assert_int_equal(lpq_rt_kv_len(m), 16);
    assert_int_equal(lpq_rt_eval(m, toks, 1, NULL, lg), LPQ_STATUS_RANGE);
    struct lpq_rt_mem mem;
    assert_int_equal(lpq_rt_mem(m, &mem), LPQ_STATUS_OK);
    assert_true(mem.weights > 1000000 && mem.weights < 1200000);   /* 260K F32 parameters */
    assert_int_equal(mem.kv_cache, 2ull * 5 * 16 * 32 * sizeof(float));
    free(lg);
    lpq_rt_model_free(m);
}

/* ---- architecture variants vs a naive double-precision forward --------------------------
 * stories260K rewritten as qwen2 (NEOX RoPE, q/k/v biases), qwen3 (per-head q/k norms), and
 * llama with linear RoPE scaling, another θ base and tied output, and partial rotary; each
 * checked against the plain reference below, which shares no code with the engine. (The same
 * reference matches llama.cpp on the full-rotary variants at NMSE ~5e-14; llama.cpp refuses
 * partial rotary for these architectures, lpq supports it for phi-style models.) */

struct variant {
    const char *arch;
    int64_t n_rot;                /* 0 = keep 8 (the head size) */
    double scale;                 /* linear RoPE factor; 0 = no scaling key */
    double base;                  /* rope.freq_base; 0 = no key (10000) */
    bool bias, qk_norm, tied, neox;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double rnd(void) {   /* uniform [-1, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

#define V_E 64
#define V_HD 8
#define V_NH 8
#define V_NKV 4
#define V_F 172
#define V_L 5
#define V_V 512

static void build_variant(const char *dst, const struct variant *v, float extra[V_L][3][64]) {
    struct lpq_err e;
    struct lpq_gguf *g;
    struct lpq_gguf_writer *w;
    assert_int_equal(lpq_gguf_open(tu_shared(MODEL), NULL, &g, &e), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_create(dst, &w, &e), LPQ_STATUS_OK);
    char key[128];
    for (int64_t i = 0; i < lpq_gguf_n_kv(g); i++) {
        const char *k = lpq_gguf_kv_key(g, i);
        if (strcmp(k, "general.architecture") == 0) {
            assert_int_equal(lpq_gguf_writer_set_str(w, k, v->arch), LPQ_STATUS_OK);
        } else if (strncmp(k, "llama.", 6) == 0) {
            snprintf(key, sizeof(key), "%s.%s", v->arch, k + 6);
            if (v->n_rot && strcmp(k + 6, "rope.dimension_count") == 0)
                assert_int_equal(lpq_gguf_writer_set_u32(w, key, (uint32_t)v->n_rot), LPQ_STATUS_OK);
            else
                assert_int_equal(lpq_gguf_writer_set_val(w, key, lpq_gguf_kv_type(g, i), lpq_gguf_kv_data(g, i)),
                                 LPQ_STATUS_OK);
        } else {
            assert_int_equal(lpq_gguf_writer_copy_kv(w, g, i), LPQ_STATUS_OK);
        }
    }
    if (v->scale) {
        snprintf(key, sizeof(key), "%s.rope.scaling.type", v->arch);
        assert_int_equal(lpq_gguf_writer_set_str(w, key, "linear"), LPQ_STATUS_OK);
        snprintf(key, sizeof(key), "%s.rope.scaling.factor", v->arch);
        assert_int_equal(lpq_gguf_writer_set_f32(w, key, (float)v->scale), LPQ_STATUS_OK);
    }
    if (v->base) {
        snprintf(key, sizeof(key), "%s.rope.freq_base", v->arch);
        assert_int_equal(lpq_gguf_writer_set_f32(w, key, (float)v->base), LPQ_STATUS_OK);
    }
    /* Declare every tensor, then write them in the same order. */
    static const char *extra_names[2][3] = { { "attn_q.bias", "attn_k.bias", "attn_v.bias" },
                                             { "attn_q_norm.weight", "attn_k_norm.weight", NULL } };
    static const int64_t extra_n[2][3] = { { V_NH * V_HD, V_NKV * V_HD, V_NKV * V_HD }, { V_HD, V_HD, 0 } };
    const int kind = v->bias ? 0 : 1;
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) {
            const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
            if (v->tied && strcmp(t->name, "output.weight") == 0) continue;
            if (pass == 0)
                assert_int_equal(lpq_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne), LPQ_STATUS_OK);
            else
                assert_int_equal(lpq_gguf_writer_write_tensor(w, t->data, t->size), LPQ_STATUS_OK);
        }
        if (!v->bias && !v->qk_norm) continue;
        for (int il = 0; il < V_L; il++) {
            for (int j = 0; j < 3 && extra_names[kind][j]; j++) {
                if (pass == 0) {
                    snprintf(key, sizeof(key), "blk.%d.%s", il, extra_names[kind][j]);
                    int64_t ne[1] = { extra_n[kind][j] };
                    assert_int_equal(lpq_gguf_writer_add_tensor(w, key, LPQ_TYPE_F32, 1, ne), LPQ_STATUS_OK);
                    for (int64_t x = 0; x < ne[0]; x++)
                        extra[il][j][x] = (float)(v->bias ? 0.3 * rnd() : 1.0 + 0.3 * rnd());
                } else {
                    assert_int_equal(lpq_gguf_writer_write_tensor(w, extra[il][j],
                                                                  (uint64_t)extra_n[kind][j] * sizeof(float)),
                                     LPQ_STATUS_OK);
                }
            }
        }
    }
    assert_int_equal(lpq_gguf_writer_finish(w), LPQ_STATUS_OK);
    lpq_gguf_writer_free(w);
    lpq_gguf_close(g);
}

static void naive_rope(double *h, int pos, const struct variant *v) {
    int n_rot = v->n_rot ? (int)v->n_rot : V_HD;
    double base = v->base ? (double)(float)v->base : 10000.0, fs = v->scale ? 1.0 / (double)(float)v->scale : 1.0;
    for (int i = 0; i < n_rot / 2; i++) {
        double th = pos * fs * pow(base, -2.0 * i / n_rot), c = cos(th), s = sin(th);
        int a = v->neox ? i : 2 * i, b = v->neox ? i + n_rot / 2 : 2 * i + 1;
        double x0 = h[a], x1 = h[b];
        h[a] = x0 * c - x1 * s;
        h[b] = x0 * s + x1 * c;
    }
}

#define NT 80   /* > 64 positions: the attention's 64-position blocks and its tail both run */
static void naive_forward(const char *path, const struct variant *v, const int32_t *tok, float *out) {
    struct lpq_err e;
    struct lpq_gguf *g;
    assert_int_equal(lpq_gguf_open(path, NULL, &g, &e), LPQ_STATUS_OK);
    static double x[NT][V_E], xn[NT][V_E], q[NT][V_NH * V_HD], k[NT][V_NKV * V_HD], vv[NT][V_NKV * V_HD];
    static double att[NT][V_NH * V_HD], tmp[V_F], gt[V_F], up[V_F];
    const float *emb = tens(g, "token_embd.weight", 0);
    for (int t = 0; t < NT; t++)
        for (int i = 0; i < V_E; i++) x[t][i] = emb[(size_t)tok[t] * V_E + i];
    for (int il = 0; il < V_L; il++) {
        for (int t = 0; t < NT; t++) {
            naive_norm(xn[t], x[t], tens(g, "blk.%d.attn_norm.weight", il), V_E);
            naive_mv(q[t], tens(g, "blk.%d.attn_q.weight", il), xn[t], V_E, V_NH * V_HD);
            naive_mv(k[t], tens(g, "blk.%d.attn_k.weight", il), xn[t], V_E, V_NKV * V_HD);
            naive_mv(vv[t], tens(g, "blk.%d.attn_v.weight", il), xn[t], V_E, V_NKV * V_HD);
            if (v->bias) {
                const float *bq = tens(g, "blk.%d.attn_q.bias", il), *bk = tens(g, "blk.%d.attn_k.bias", il);
                const float *bv = tens(g, "blk.%d.attn_v.bias", il);
                for (int i = 0; i < V_NH * V_HD; i++) q[t][i] += bq[i];
                for (int i = 0; i < V_NKV * V_HD; i++) k[t][i] += bk[i], vv[t][i] += bv[i];
            }
            for (int h = 0; h < V_NH; h++) {
                if (v->qk_norm) naive_norm(q[t] + h * V_HD, q[t] + h * V_HD, tens(g, "blk.%d.attn_q_norm.weight", il), V_HD);
                naive_rope(q[t] + h * V_HD, t, v);
            }
            for (int h = 0; h < V_NKV; h++) {
                if (v->qk_norm) naive_norm(k[t] + h * V_HD, k[t] + h * V_HD, tens(g, "blk.%d.attn_k_norm.weight", il), V_HD);
                naive_rope(k[t] + h * V_HD, t, v);
            }
        }
        for (int t = 0; t < NT; t++) {
            for (int h = 0; h < V_NH; h++) {
                int kh = h / (V_NH / V_NKV);
                double s[NT], mx = -1e300, sum = 0;
                for (int j = 0; j <= t; j++) {
                    double d = 0;
                    for (int i = 0; i < V_HD; i++) d += q[t][h * V_HD + i] * k[j][kh * V_HD + i];
                    s[j] = d / sqrt((double)V_HD);
                    mx = s[j] > mx ? s[j] : mx;
                }
                for (int j = 0; j <= t; j++) sum += (s[j] = exp(s[j] - mx));
                for (int i = 0; i < V_HD; i++) {
                    double o = 0;
                    for (int j = 0; j <= t; j++) o += s[j] / sum * vv[j][kh * V_HD + i];
                    att[t][h * V_HD + i] = o;
                }
            }
        }
        for (int t = 0; t < NT; t++) {
            naive_mv(tmp, tens(g, "blk.%d.attn_output.weight", il), att[t], V_NH * V_HD, V_E);
            for (int i = 0; i < V_E; i++) x[t][i] += tmp[i];
            naive_norm(xn[t], x[t], tens(g, "blk.%d.ffn_norm.weight", il), V_E);
            naive_mv(gt, tens(g, "blk.%d.ffn_gate.weight", il), xn[t], V_E, V_F);
            naive_mv(up, tens(g, "blk.%d.ffn_up.weight", il), xn[t], V_E, V_F);
            for (int i = 0; i < V_F; i++) gt[i] = gt[i] / (1 + exp(-gt[i])) * up[i];
            naive_mv(tmp, tens(g, "blk.%d.ffn_down.weight", il), gt, V_F, V_E);
            for (int i = 0; i < V_E; i++) x[t][i] += tmp[i];
        }
    }
    const float *wo = tens(g, v->tied ? "token_embd.weight" : "output.weight", 0);
    static double lg[V_V];
    for (int t = 0; t < NT; t++) {
        naive_norm(xn[t], x[t], tens(g, "output_norm.weight", 0), V_E);
        naive_mv(lg, wo, xn[t], V_E, V_V);
        for (int i = 0; i < V_V; i++) out[t * V_V + i] = (float)lg[i];
    }
    lpq_gguf_close(g);
}

static void test_arch_variants_vs_naive(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    const struct variant vs[] = {
        { .arch = "llama" },
        { .arch = "qwen2", .bias = true, .neox = true },
        { .arch = "qwen3", .qk_norm = true, .neox = true, .tied = true },
        { .arch = "llama", .scale = 4.0, .base = 500.0, .tied = true },
        { .arch = "llama", .n_rot = 4, .scale = 4.0, .base = 500.0, .tied = true },   /* partial rotary */
        { .arch = "qwen2", .n_rot = 6, .bias = true, .neox = true, .scale = 0.5 },
    };
    int32_t tok[NT];
    tok[0] = 1;
    for (int t = 1; t < NT; t++) tok[t] = (int32_t)((t * 131 + 7) % V_V);
    static float extra[V_L][3][64];
    static float ref[NT * V_V], got[NT * V_V], ref0[NT * V_V];
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(vs); i++) {
        char name[64];
        snprintf(name, sizeof(name), "variant-%zu-%s.gguf", i, vs[i].arch);
        const char *path = tu_tmp(name);
        build_variant(path, &vs[i], extra);
        naive_forward(path, &vs[i], tok, ref);
        const struct lpq_rt_reg *reg;
        struct lpq_err e;
        assert_int_equal(lpq_rt_find("cpu", &reg, &e), LPQ_STATUS_OK);
        struct lpq_rt_params p = lpq_rt_params_default();
        p.n_threads = 2;
        p.n_ctx = 128;
        struct lpq_rt_model *m = NULL;
        if (lpq_rt_model_load(reg, path, &p, &m, &e) != LPQ_STATUS_OK) fail_msg("%s: %s", name, e.msg);
        bool want[NT];
        for (int t = 0; t < NT; t++) want[t] = true;
        assert_int_equal(lpq_rt_eval(m, tok, NT, want, got), LPQ_STATUS_OK);
        double err = nmse(got, ref, NT * V_V);
        printf("%-24s NMSE vs naive double forward %.3e\n", name, err);
        assert_true(err <= 1e-10);
        /* Each feature really changes the logits (so the check above has teeth). */
        if (i == 0) memcpy(ref0, ref, sizeof(ref));
        else assert_true(nmse(ref, ref0, NT * V_V) > 1e-6);
        lpq_rt_model_free(m);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_from_bos),
        cmocka_unit_test(test_logits_t1),
        cmocka_unit_test(test_threads_and_rerun_bit_identical),
        cmocka_unit_test(test_kv_trim_reuse),
        cmocka_unit_test(test_eval_limits),
        cmocka_unit_test(test_arch_variants_vs_naive),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
