/*
 * mock-rt.h — a mock runtime adapter for the harness and suite tests, written against
 * runtimes/runtime.h alone: byte tokenizer, deterministic logits that depend on the previous
 * and current token (plus seeded noise from the GGUF key mock.noise, so "variants" differ),
 * an optional failure after mock.fail_after eval calls and a mock.delay_ms sleep per call.
 * Header-only (static) so each test binary has its own copy and counters.
 */
#ifndef LPQ_TEST_MOCK_RT_H
#define LPQ_TEST_MOCK_RT_H

#include <math.h>
#include <string.h>
#include <time.h>

#include "quant/gguf.h"
#include "runtimes/runtime.h"

#define MOCK_VOCAB 64

static int64_t mock_n_evals;        /* eval calls in this process, all models */

struct mock_model {
    struct lpq_rt_model_base base;  /* must be first */
    float noise;                    /* logit noise amplitude */
    int32_t fail_after;             /* eval calls before failing, -1 = never */
    uint32_t delay_ms;
    int64_t n_ctx, n_kv, n_calls;
    int32_t *kv;                    /* tokens in the cache */
};

static enum lpq_status mock_probe(struct lpq_err *err) { (void)err; return LPQ_STATUS_OK; }

static void mock_caps(struct lpq_rt_caps *c) {
    memset(c, 0, sizeof *c);
    c->device = LPQ_RT_DEVICE_CPU;
    snprintf(c->device_name, sizeof c->device_name, "mock");
    c->types[LPQ_TYPE_F32] = c->types[LPQ_TYPE_F16] = c->types[LPQ_TYPE_Q8_0] = true;
    c->batching = true;
    c->kv_trim = true;
}

static enum lpq_status mock_load(const char *path, const struct lpq_rt_params *p, struct lpq_rt_model **out,
                                 struct lpq_err *err) {
    struct lpq_gguf *g = NULL;
    enum lpq_status st = lpq_gguf_open(path, NULL, &g, err);
    if (st) return st;
    struct mock_model *m = lpq_calloc(1, sizeof *m);
    m->fail_after = -1;
    float f;
    int32_t i;
    uint32_t u;
    if (lpq_gguf_find_key(g, "mock.noise") >= 0 && lpq_gguf_get_f32(g, "mock.noise", &f) == LPQ_STATUS_OK) m->noise = f;
    if (lpq_gguf_find_key(g, "mock.fail_after") >= 0 && lpq_gguf_get_i32(g, "mock.fail_after", &i) == LPQ_STATUS_OK)
        m->fail_after = i;
    if (lpq_gguf_find_key(g, "mock.delay_ms") >= 0 && lpq_gguf_get_u32(g, "mock.delay_ms", &u) == LPQ_STATUS_OK)
        m->delay_ms = u;
    lpq_gguf_close(g);
    m->n_ctx = p && p->n_ctx > 0 ? p->n_ctx : 1024;
    m->kv = lpq_calloc((size_t)m->n_ctx, sizeof(int32_t));
    *out = (struct lpq_rt_model *)m;
    return LPQ_STATUS_OK;
}

static void mock_free(struct lpq_rt_model *mm) {
    struct mock_model *m = (struct mock_model *)mm;
    if (!m) return;
    lpq_free(m->kv);
    lpq_free(m);
}

static int32_t mock_n_vocab(const struct lpq_rt_model *m) { (void)m; return MOCK_VOCAB; }
static int64_t mock_n_ctx(const struct lpq_rt_model *m) { return ((const struct mock_model *)m)->n_ctx; }

static enum lpq_status mock_tokenize(struct lpq_rt_model *m, const char *text, size_t len, bool add_special,
                                     bool parse_special, int32_t *ids, size_t cap, size_t *n_out) {
    (void)m; (void)parse_special;
    size_t n = 0;
    if (add_special && n < cap) ids[n++] = 1;
    for (size_t i = 0; i < len; i++) {
        if (n >= cap) return LPQ_STATUS_RANGE;
        ids[n++] = 2 + (int32_t)((unsigned char)text[i] % (MOCK_VOCAB - 2));
    }
    *n_out = n;
    return LPQ_STATUS_OK;
}

static size_t mock_piece(struct lpq_rt_model *m, int32_t id, char *buf, size_t cap, bool special) {
    (void)m; (void)special;
    if (cap) buf[0] = (char)('0' + id % 64);
    return id >= 2 ? 1 : 0;
}

static int32_t mock_bos(const struct lpq_rt_model *m) { (void)m; return 1; }
static bool mock_eog(const struct lpq_rt_model *m, int32_t id) { (void)m; return id == 0; }
static bool mock_add_bos(const struct lpq_rt_model *m) { (void)m; return true; }

static double mock_hash01(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
    return (double)(x >> 11) / 9007199254740992.0;
}

/* The logits after `tok` at position `pos` with `prev` before it: a peaked, token-dependent
 * distribution, plus noise for a "quantized" variant. Public so tests can recompute them. */
static void mock_logits(int32_t prev, int32_t tok, float noise, float *out) {
    for (int32_t v = 0; v < MOCK_VOCAB; v++) {
        double l = 2.5 * sin(0.7 * v + 0.31 * tok + 0.17 * prev) + (v == (tok * 7 + prev + 3) % MOCK_VOCAB ? 4.0 : 0.0);
        if (noise > 0) l += noise * (2 * mock_hash01((uint64_t)tok * 1000003u + (uint64_t)prev * 7919u + (uint64_t)v) - 1);
        out[v] = (float)l;
    }
}

static enum lpq_status mock_eval(struct lpq_rt_model *mm, const int32_t *tokens, int64_t n, const bool *want,
                                 float *logits) {
    struct mock_model *m = (struct mock_model *)mm;
    mock_n_evals++;
    if (m->fail_after >= 0 && m->n_calls >= m->fail_after)
        return lpq_err_set(&m->base.err, LPQ_STATUS_RUNTIME, "mock: device lost after %lld eval calls",
                           (long long)m->n_calls);
    m->n_calls++;
    if (m->delay_ms) {
        struct timespec ts = { m->delay_ms / 1000, (long)(m->delay_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (m->n_kv + n > m->n_ctx) return LPQ_STATUS_RANGE;
    float *o = logits;
    for (int64_t i = 0; i < n; i++) {
        int32_t prev = m->n_kv > 0 ? m->kv[m->n_kv - 1] : 0;
        m->kv[m->n_kv++] = tokens[i];
        bool w = want ? want[i] : i == n - 1;
        if (w) {
            mock_logits(prev, tokens[i], m->noise, o);
            o += MOCK_VOCAB;
        }
    }
    return LPQ_STATUS_OK;
}

static int64_t mock_kv_len(const struct lpq_rt_model *m) { return ((const struct mock_model *)m)->n_kv; }

static enum lpq_status mock_kv_trim(struct lpq_rt_model *mm, int64_t n_keep) {
    struct mock_model *m = (struct mock_model *)mm;
    if (n_keep < m->n_kv) m->n_kv = n_keep;
    return LPQ_STATUS_OK;
}

static const struct lpq_rt_i mock_iface = {
    .probe = mock_probe, .caps = mock_caps, .load = mock_load, .free = mock_free,
    .n_vocab = mock_n_vocab, .n_ctx = mock_n_ctx, .tokenize = mock_tokenize, .token_to_piece = mock_piece,
    .token_bos = mock_bos, .token_is_eog = mock_eog, .add_bos = mock_add_bos, .eval = mock_eval,
    .kv_len = mock_kv_len, .kv_trim = mock_kv_trim,
};

static const struct lpq_rt_reg mock_reg = { .api_version = LPQ_RT_API_VERSION, .name = "mock", .priority = 0,
                                            .iface = &mock_iface };
static const struct lpq_rt_reg *const mock_regs[] = { &mock_reg, NULL };

/* Writes a mock model: one tensor of `type` (F32 / Q8_0 / Q4_0 ...), noise, fail_after, delay. */
static int mock_write_model(const char *path, uint32_t type, float noise, int32_t fail_after, uint32_t delay_ms) {
    struct lpq_gguf_writer *w = NULL;
    if (lpq_gguf_writer_create(path, &w, NULL)) return -1;
    lpq_gguf_writer_set_str(w, "general.architecture", "mock");
    lpq_gguf_writer_set_f32(w, "mock.noise", noise);
    lpq_gguf_writer_set_i32(w, "mock.fail_after", fail_after);
    lpq_gguf_writer_set_u32(w, "mock.delay_ms", delay_ms);
    int64_t ne[1] = { 32 };
    size_t sz = lpq_type_row_size(type, 32);
    unsigned char buf[256];
    memset(buf, 0, sizeof buf);
    int rc = lpq_gguf_writer_add_tensor(w, "w", type, 1, ne) || lpq_gguf_writer_write_tensor(w, buf, sz) ||
             lpq_gguf_writer_finish(w);
    lpq_gguf_writer_free(w);
    return rc ? -1 : 0;
}

#endif
