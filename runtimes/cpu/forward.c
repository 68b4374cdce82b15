/*
 * forward.c — the llama-family forward pass of the CPU engine: embeddings, per layer RMSNorm →
 * q/k/v (+bias, +per-head norm) → RoPE → causal grouped-query attention over the F32 KV cache
 * → output projection, RMSNorm → SwiGLU FFN, then the final norm and the logits of the wanted
 * positions. One pool job per call; stages are split across threads by token, by (token, head)
 * or by output row and separated by barriers, so no value depends on the thread count.
 */
#include "runtimes/cpu/cpu-impl.h"

#include <math.h>
#include <string.h>

struct fwd {
    struct lpq__cpu_model *m;
    const int32_t *tokens;
    int64_t T;                     /* tokens in this pass */
    int64_t pos0;                  /* position of tokens[0] */
    int64_t n_want;                /* rows of logits to write */
    float *logits;                 /* n_want rows of n_vocab */
};

/* y = x / rms(x) * w over n values; the sum of squares in double as ggml does. */
static void rms_norm(float *y, const float *x, const float *w, int64_t n, float eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    const float scale = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
}

/* Rotates the first n_rot values of one head at table row (cs, sn). */
static void rope_head(float *v, const float *cs, const float *sn, int64_t n_rot, enum lpq__rope_kind kind) {
    const int64_t half = n_rot / 2;
    for (int64_t i = 0; i < half; i++) {
        float *a, *b;
        if (kind == LPQ__ROPE_NORM) {
            a = &v[2 * i];
            b = &v[2 * i + 1];
        } else {
            a = &v[i];
            b = &v[i + half];
        }
        const float x0 = *a, x1 = *b;
        *a = x0 * cs[i] - x1 * sn[i];
        *b = x0 * sn[i] + x1 * cs[i];
    }
}

/* Per token: q/k head norms, RoPE, and K/V appended to the cache of layer il. */
static void qkv_post(const struct fwd *f, int ith, int nth, int64_t il) {
    struct lpq__cpu_model *m = f->m;
    const struct lpq__cpu_hparams *hp = &m->hp;
    const struct lpq__cpu_layer *ly = &m->layers[il];
    const int64_t hdk = hp->head_dim_k, n_q = hp->n_head * hdk, n_k = hp->n_head_kv * hdk;
    const int64_t n_v = hp->n_head_kv * hp->head_dim_v, half = hp->n_rot / 2;
    for (int64_t t = ith; t < f->T; t += nth) {
        const int64_t pos = f->pos0 + t;
        float *q = m->q + t * n_q, *k = m->k + t * n_k;
        const float *cs = m->rope_cos + pos * half, *sn = m->rope_sin + pos * half;
        for (int64_t h = 0; h < hp->n_head; h++) {
            if (ly->q_norm) rms_norm(q + h * hdk, q + h * hdk, ly->q_norm, hdk, hp->eps);
            rope_head(q + h * hdk, cs, sn, hp->n_rot, m->arch->rope);
        }
        for (int64_t h = 0; h < hp->n_head_kv; h++) {
            if (ly->k_norm) rms_norm(k + h * hdk, k + h * hdk, ly->k_norm, hdk, hp->eps);
            rope_head(k + h * hdk, cs, sn, hp->n_rot, m->arch->rope);
        }
        memcpy(m->k_cache + (il * m->n_ctx + pos) * n_k, k, (size_t)n_k * sizeof(float));
        memcpy(m->v_cache + (il * m->n_ctx + pos) * n_v, m->v + t * n_v, (size_t)n_v * sizeof(float));
    }
}

/* Causal attention of every (token, head) pair; out row t at m->xn + t*xn_stride. */
static void attention(const struct fwd *f, int ith, int nth, int64_t il, int64_t xn_stride) {
    struct lpq__cpu_model *m = f->m;
    const struct lpq__cpu_hparams *hp = &m->hp;
    const int64_t hdk = hp->head_dim_k, hdv = hp->head_dim_v;
    const int64_t n_k = hp->n_head_kv * hdk, n_v = hp->n_head_kv * hdv;
    const int64_t group = hp->n_head / hp->n_head_kv;
    const float scale = 1.0f / sqrtf((float)hdk);
    const float *kc = m->k_cache + il * m->n_ctx * n_k;
    const float *vc = m->v_cache + il * m->n_ctx * n_v;
    float *s = m->att + (int64_t)ith * m->n_ctx;
    for (int64_t idx = ith; idx < f->T * hp->n_head; idx += nth) {
        const int64_t t = idx / hp->n_head, h = idx % hp->n_head, kvh = h / group;
        const int64_t n_pos = f->pos0 + t + 1;            /* causal: positions 0..pos */
        const float *q = m->q + t * hp->n_head * hdk + h * hdk;
        float mx = -INFINITY;
        for (int64_t j = 0; j < n_pos; j++) {
            float d;
            lpq_cpu_vec_dot_f32(hdk, &d, q, kc + j * n_k + kvh * hdk, m->isa);
            s[j] = d * scale;
            if (s[j] > mx) mx = s[j];
        }
        double sum = 0;
        for (int64_t j = 0; j < n_pos; j++) {
            s[j] = expf(s[j] - mx);
            sum += s[j];
        }
        const float inv = (float)(1.0 / sum);
        float *out = m->xn + t * xn_stride + h * hdv;
        memset(out, 0, (size_t)hdv * sizeof(float));
        for (int64_t j = 0; j < n_pos; j++)
            lpq_cpu_vec_axpy_f32(hdv, out, s[j] * inv, vc + j * n_v + kvh * hdv, m->isa);
    }
}

static void fwd_job(int ith, int nth, void *arg) {
    const struct fwd *f = arg;
    struct lpq__cpu_model *m = f->m;
    const struct lpq__cpu_hparams *hp = &m->hp;
    struct lpq__cpu_mm_ctx *mc = &m->mm;
    const int64_t T = f->T, E = hp->n_embd;
    const int64_t xs = LPQ_MAX(E, hp->n_head * hp->head_dim_v);   /* xn row stride */
    const int64_t n_q = hp->n_head * hp->head_dim_k, n_k = hp->n_head_kv * hp->head_dim_k;
    const int64_t n_v = hp->n_head_kv * hp->head_dim_v, F = hp->n_ff;

    lpq_to_float_fn emb = lpq_type_traits(m->tok_embd.type)->to_float;
    for (int64_t t = ith; t < T; t += nth)
        emb((const uint8_t *)m->tok_embd.data + (size_t)f->tokens[t] * m->tok_embd.row_size, m->x + t * E, E);
    lpq__cpu_pool_barrier(m->pool);

    for (int64_t il = 0; il < hp->n_layer; il++) {
        const struct lpq__cpu_layer *ly = &m->layers[il];
        for (int64_t t = ith; t < T; t += nth) rms_norm(m->xn + t * xs, m->x + t * E, ly->attn_norm, E, hp->eps);
        lpq__cpu_pool_barrier(m->pool);
        const struct lpq__cpu_mm qkv[3] = {
            { .w = &ly->wq, .y = m->q, .y_stride = n_q, .bias = ly->bq },
            { .w = &ly->wk, .y = m->k, .y_stride = n_k, .bias = ly->bk },
            { .w = &ly->wv, .y = m->v, .y_stride = n_v, .bias = ly->bv },
        };
        lpq__cpu_mm_group(mc, ith, nth, m->xn, xs, T, qkv, 3);
        qkv_post(f, ith, nth, il);
        lpq__cpu_pool_barrier(m->pool);
        attention(f, ith, nth, il, xs);
        lpq__cpu_pool_barrier(m->pool);
        const struct lpq__cpu_mm wo = { .w = &ly->wo, .y = m->x, .y_stride = E, .accumulate = true };
        lpq__cpu_mm_group(mc, ith, nth, m->xn, xs, T, &wo, 1);

        for (int64_t t = ith; t < T; t += nth) rms_norm(m->xn + t * xs, m->x + t * E, ly->ffn_norm, E, hp->eps);
        lpq__cpu_pool_barrier(m->pool);
        const struct lpq__cpu_mm gu[2] = {
            { .w = &ly->w_gate, .y = m->gate, .y_stride = F },
            { .w = &ly->w_up, .y = m->up, .y_stride = F },
        };
        lpq__cpu_mm_group(mc, ith, nth, m->xn, xs, T, gu, 2);
        for (int64_t t = ith; t < T; t += nth) {
            float *g = m->gate + t * F;
            const float *u = m->up + t * F;
            for (int64_t i = 0; i < F; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
        }
        lpq__cpu_pool_barrier(m->pool);
        const struct lpq__cpu_mm down = { .w = &ly->w_down, .y = m->x, .y_stride = E, .accumulate = true };
        lpq__cpu_mm_group(mc, ith, nth, m->gate, F, T, &down, 1);
    }

    if (f->n_want == 0) return;
    for (int64_t j = ith; j < f->n_want; j += nth)
        rms_norm(m->xn + j * xs, m->x + (int64_t)m->want_idx[j] * E, m->output_norm, E, hp->eps);
    lpq__cpu_pool_barrier(m->pool);
    const struct lpq__cpu_mm out = { .w = &m->output, .y = f->logits, .y_stride = hp->n_vocab };
    lpq__cpu_mm_group(mc, ith, nth, m->xn, xs, f->n_want, &out, 1);
}

enum lpq_status lpq__cpu_forward(struct lpq__cpu_model *m, const int32_t *tokens, int64_t n,
                                 const bool *want, bool want_last, float *logits) {
    struct lpq_err *err = &m->base.err;
    if (n <= 0 || n > m->n_batch)
        return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "batch of %lld tokens (1..%lld allowed)", (long long)n,
                           (long long)m->n_batch);
    if (m->kv_len + n > m->n_ctx)
        return lpq_err_set(err, LPQ_STATUS_RANGE, "context full: %lld + %lld tokens exceed n_ctx %lld",
                           (long long)m->kv_len, (long long)n, (long long)m->n_ctx);
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= m->hp.n_vocab)
            return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "token id %d at batch index %lld is outside the "
                               "vocabulary (0..%lld)", tokens[i], (long long)i, (long long)m->hp.n_vocab - 1);
    int64_t n_want = 0;
    for (int64_t i = 0; i < n; i++)
        if (want ? want[i] : (want_last && i == n - 1)) m->want_idx[n_want++] = (int32_t)i;
    if (n_want > 0 && !logits)
        return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "logits requested but no output buffer given");
    struct fwd f = { .m = m, .tokens = tokens, .T = n, .pos0 = m->kv_len, .n_want = n_want, .logits = logits };
    lpq__cpu_pool_run(m->pool, fwd_job, &f);
    m->kv_len += n;
    return LPQ_STATUS_OK;
}
