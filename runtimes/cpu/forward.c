/*
 * forward.c — the llama-family forward pass of the CPU engine: embeddings (gemma: scaled), per
 * layer RMSNorm → q/k/v (+bias, +per-head norm) → RoPE → causal grouped-query attention over
 * the F32 KV cache (gemma3: sliding window on local layers) → output projection (gemma: +post
 * norm), RMSNorm → SwiGLU / GeGLU FFN (+post norm), then the final norm and the logits of the
 * wanted positions. One pool job per call; stages are split across threads by token, by (token, head)
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
        const float *cs = (ly->swa ? m->rope_cos_swa : m->rope_cos) + pos * half;
        const float *sn = (ly->swa ? m->rope_sin_swa : m->rope_sin) + pos * half;
        for (int64_t h = 0; h < hp->n_head; h++) {
            if (ly->q_norm) rms_norm(q + h * hdk, q + h * hdk, ly->q_norm, hdk, hp->eps);
            rope_head(q + h * hdk, cs, sn, hp->n_rot, m->arch->rope);
        }
        for (int64_t h = 0; h < hp->n_head_kv; h++) {
            if (ly->k_norm) rms_norm(k + h * hdk, k + h * hdk, ly->k_norm, hdk, hp->eps);
            rope_head(k + h * hdk, cs, sn, hp->n_rot, m->arch->rope);
        }
        /* K is cached transposed, [layer][kv head][dim][position], so that scoring a query
         * against all positions is a run of vertical FMAs over positions. */
        float *kt = m->k_cache + il * n_k * m->n_ctx + pos;
        for (int64_t i = 0; i < n_k; i++) kt[i * m->n_ctx] = k[i];
        memcpy(m->v_cache + (il * m->n_ctx + pos) * n_v, m->v + t * n_v, (size_t)n_v * sizeof(float));
    }
}

/* 16 floats in a vector register (AVX-512: one zmm; AVX2: two ymm): GCC keeps such locals in
 * registers, which it does not do for float arrays. Unaligned loads go through memcpy. */
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
static inline v16f v16_load(const float *p) {
    v16f v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline v16f v16_splat(float x) { return (v16f){ 0 } + x; }

/* e^x on 16 lanes, within ~1 ulp of expf: x = n ln2 + r (ln2 split in two so r is exact),
 * e^r by a degree-7 polynomial on |r| <= ln2/2 (Cephes coefficients), 2^n built in the
 * exponent bits. Lanes below -87.3 give 0; the input is clamped at 88.3 (no overflow). */
static inline v16f v16_exp(v16f x) {
    const v16i tiny = x < v16_splat(-87.3f);
    x = (v16f)(((v16i)x & (x < v16_splat(88.3f))) | ((v16i)v16_splat(88.3f) & ~(x < v16_splat(88.3f))));
    x = (v16f)((v16i)x & ~tiny);   /* keep the arithmetic below finite; zeroed at the end */
    const v16f magic = v16_splat(12582912.0f);   /* 1.5 * 2^23: adding it rounds to integer */
    const v16f n = (x * v16_splat(1.44269504088896341f) + magic) - magic;
    const v16f r = (x - n * v16_splat(0.693359375f)) - n * v16_splat(-2.12194440e-4f);
    v16f p = v16_splat(1.9875691500e-4f);
    p = p * r + v16_splat(1.3981999507e-3f);
    p = p * r + v16_splat(8.3334519073e-3f);
    p = p * r + v16_splat(4.1665795894e-2f);
    p = p * r + v16_splat(1.6666665459e-1f);
    p = p * r + v16_splat(5.0000001201e-1f);
    p = p * (r * r) + r + v16_splat(1.0f);
    const v16i e = (__builtin_convertvector(n, v16i) + 127) << 23;
    return (v16f)((v16i)(p * (v16f)e) & ~tiny);
}

/* y += a*x over n values. Written as fixed 16-wide steps because -O2's cheap vectoriser only
 * takes loops with a known trip count. Each y[i] gets one product added, so a value is the
 * same whether it went through this or a register-blocked loop. */
static inline void axpy16(int64_t n, float *restrict y, float a, const float *restrict x) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++) y[i + l] += a * x[i + l];
    for (; i < n; i++) y[i] += a * x[i];
}

/* Causal attention of every (token, head) pair; out row t at m->xn + t*xn_stride. A local
 * (sliding-window) layer's query at pos sees positions pos - n_swa + 1 .. pos only: the score
 * loops simply start at the window's first position, so no mask values are needed. */
static void attention(const struct fwd *f, int ith, int nth, int64_t il, int64_t xn_stride) {
    struct lpq__cpu_model *m = f->m;
    const struct lpq__cpu_hparams *hp = &m->hp;
    const int64_t hdk = hp->head_dim_k, hdv = hp->head_dim_v;
    const int64_t n_k = hp->n_head_kv * hdk, n_v = hp->n_head_kv * hdv;
    const int64_t group = hp->n_head / hp->n_head_kv;
    const float scale = hp->attn_scale;
    const float *kc = m->k_cache + il * n_k * m->n_ctx;    /* transposed: see qkv_post */
    const float *vc0 = m->v_cache + il * m->n_ctx * n_v;
    const int64_t n_swa = m->layers[il].swa ? hp->n_swa : 0;
    float *s = m->att + (int64_t)ith * m->n_ctx;
    for (int64_t idx = ith; idx < f->T * hp->n_head; idx += nth) {
        const int64_t t = idx / hp->n_head, h = idx % hp->n_head, kvh = h / group;
        const int64_t pos = f->pos0 + t;
        const int64_t j_lo = n_swa > 0 && pos >= n_swa ? pos - n_swa + 1 : 0;
        const int64_t n_pos = pos + 1 - j_lo;             /* causal: positions j_lo..pos */
        const float *q = m->q + t * hp->n_head * hdk + h * hdk;
        /* s[j] = q . k_(j_lo+j), summed over dims in order for every j (vectorised across j). */
        const float *kh = kc + kvh * hdk * m->n_ctx + j_lo;
        const float *vc = vc0 + j_lo * n_v;
        memset(s, 0, (size_t)n_pos * sizeof(float));
        int64_t j0 = 0;
        for (; j0 + 64 <= n_pos; j0 += 64) {   /* 64 positions in registers */
            v16f a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
            for (int64_t i = 0; i < hdk; i++) {
                const float *row = kh + i * m->n_ctx + j0;
                const v16f qi = (v16f){ 0 } + q[i];
                a0 += qi * v16_load(row);
                a1 += qi * v16_load(row + 16);
                a2 += qi * v16_load(row + 32);
                a3 += qi * v16_load(row + 48);
            }
            memcpy(s + j0, &a0, 64);
            memcpy(s + j0 + 16, &a1, 64);
            memcpy(s + j0 + 32, &a2, 64);
            memcpy(s + j0 + 48, &a3, 64);
        }
        for (int64_t i = 0; i < hdk; i++) axpy16(n_pos - j0, s + j0, q[i], kh + i * m->n_ctx + j0);
        float mx = -INFINITY;
        int64_t j1 = 0;
        if (n_pos >= 16) {
            const v16f vs = (v16f){ 0 } + scale;
            v16f vm = v16_load(s) * vs;
            for (; j1 + 16 <= n_pos; j1 += 16) {
                v16f x = v16_load(s + j1) * vs;
                memcpy(s + j1, &x, 64);
                const v16i gt = x > vm;    /* lanes of all ones where x wins */
                vm = (v16f)(((v16i)x & gt) | ((v16i)vm & ~gt));
            }
            for (int l = 0; l < 16; l++) mx = vm[l] > mx ? vm[l] : mx;
        }
        for (; j1 < n_pos; j1++) {
            s[j1] *= scale;
            if (s[j1] > mx) mx = s[j1];
        }
        /* exp with max subtraction; 16 partial sums (fixed order), then one total */
        v16f vsum = { 0 };
        int64_t j2 = 0;
        for (; j2 + 16 <= n_pos; j2 += 16) {
            const v16f e = v16_exp(v16_load(s + j2) - v16_splat(mx));
            memcpy(s + j2, &e, 64);
            vsum += e;
        }
        double sum = 0;
        for (int l = 0; l < 16; l++) sum += vsum[l];
        for (; j2 < n_pos; j2++) {
            s[j2] = expf(s[j2] - mx);
            sum += s[j2];
        }
        const float inv = (float)(1.0 / sum);
        float *out = m->xn + t * xn_stride + h * hdv;
        int64_t d0 = 0;
        for (; d0 + 64 <= hdv; d0 += 64) {      /* 64 output dims in registers */
            v16f a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
            for (int64_t j = 0; j < n_pos; j++) {
                const float *vj = vc + j * n_v + kvh * hdv + d0;
                const v16f p = (v16f){ 0 } + s[j] * inv;
                a0 += p * v16_load(vj);
                a1 += p * v16_load(vj + 16);
                a2 += p * v16_load(vj + 32);
                a3 += p * v16_load(vj + 48);
            }
            memcpy(out + d0, &a0, 64);
            memcpy(out + d0 + 16, &a1, 64);
            memcpy(out + d0 + 32, &a2, 64);
            memcpy(out + d0 + 48, &a3, 64);
        }
        if (d0 < hdv) {
            memset(out + d0, 0, (size_t)(hdv - d0) * sizeof(float));
            for (int64_t j = 0; j < n_pos; j++) axpy16(hdv - d0, out + d0, s[j] * inv, vc + j * n_v + kvh * hdv + d0);
        }
    }
}

/* g = silu(g) * u over n values. */
static void swiglu_row(float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const v16f gv = v16_load(g + i);
        const v16f r = gv / (v16_splat(1.0f) + v16_exp(-gv)) * v16_load(u + i);
        memcpy(g + i, &r, 64);
    }
    for (; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

float lpq__cpu_gelu_tanh(float x) {
    const float sqrt_2_over_pi = 0.7978845608028654f, a = 0.044715f;
    return 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * x * (1.0f + a * x * x)));
}

/* g = gelu(g) * u over n values, with the rounding of ggml's CPU backend (llama.cpp's
 * reference): gelu is read from m->gelu_tab at g rounded to F16, and |g| >= 10 is exact
 * (0 or g). Exact F32 GELU is more faithful to the math but moves the PPL of gemma3-270m away
 * from llama.cpp's (F32 file: +9e-5; Q4_K_M file: +0.6 %, see docs/MODELS.md); matching the
 * reference is what lets lpq's figures be compared with it. */
static void geglu_row(const float *tab, float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float x = g[i];
        float y;
        if (x <= -10.0f) y = 0.0f;
        else if (x >= 10.0f) y = x;
        else y = tab[lpq_fp32_to_fp16(x)];
        g[i] = y * u[i];
    }
}

/* Gemma's residual add: x += rmsnorm(branch) * w, per token (row t on thread t % nth, like
 * the other row-wise stages). */
static void add_post_normed(struct lpq__cpu_model *m, int ith, int nth, int64_t T, const float *w) {
    const int64_t E = m->hp.n_embd;
    for (int64_t t = ith; t < T; t += nth) {
        float *b = m->branch + t * E, *x = m->x + t * E;
        rms_norm(b, b, w, E, m->hp.eps);
        for (int64_t i = 0; i < E; i++) x[i] += b[i];
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
    /* Row-wise stages (embedding, norms, SwiGLU) give token t to thread t % nth, the same
     * split lpq__cpu_mm_group uses to convert its input rows, so no barrier is needed
     * between them and the next matmul's conversion: each thread reads only rows it wrote. */
    for (int64_t t = ith; t < T; t += nth) {
        float *x = m->x + t * E;
        emb((const uint8_t *)m->tok_embd.data + (size_t)f->tokens[t] * m->tok_embd.row_size, x, E);
        if (m->arch->embd_scale) {
            const float sc = sqrtf((float)E);
            for (int64_t i = 0; i < E; i++) x[i] *= sc;
        }
    }

    for (int64_t il = 0; il < hp->n_layer; il++) {
        const struct lpq__cpu_layer *ly = &m->layers[il];
        for (int64_t t = ith; t < T; t += nth) rms_norm(m->xn + t * xs, m->x + t * E, ly->attn_norm, E, hp->eps);
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
        /* Without post-norms the projection adds into the residual stream directly. */
        const struct lpq__cpu_mm wo = { .w = &ly->wo, .y = ly->post_attn_norm ? m->branch : m->x,
                                        .y_stride = E, .accumulate = !ly->post_attn_norm };
        lpq__cpu_mm_group(mc, ith, nth, m->xn, xs, T, &wo, 1);
        if (ly->post_attn_norm) add_post_normed(m, ith, nth, T, ly->post_attn_norm);

        for (int64_t t = ith; t < T; t += nth) rms_norm(m->xn + t * xs, m->x + t * E, ly->ffn_norm, E, hp->eps);
        const struct lpq__cpu_mm gu[2] = {
            { .w = &ly->w_gate, .y = m->gate, .y_stride = F },
            { .w = &ly->w_up, .y = m->up, .y_stride = F },
        };
        lpq__cpu_mm_group(mc, ith, nth, m->xn, xs, T, gu, 2);
        for (int64_t t = ith; t < T; t += nth) {
            if (m->arch->ffn_act == LPQ__ACT_GELU_TANH) geglu_row(m->gelu_tab, m->gate + t * F, m->up + t * F, F);
            else swiglu_row(m->gate + t * F, m->up + t * F, F);
        }
        const struct lpq__cpu_mm down = { .w = &ly->w_down, .y = ly->post_ffn_norm ? m->branch : m->x,
                                          .y_stride = E, .accumulate = !ly->post_ffn_norm };
        lpq__cpu_mm_group(mc, ith, nth, m->gate, F, T, &down, 1);
        if (ly->post_ffn_norm) add_post_normed(m, ith, nth, T, ly->post_ffn_norm);
    }

    if (f->n_want == 0) return;
    /* The post-norm adds wrote row t on thread t % nth; the rows below go by want index. */
    if (m->branch) lpq__cpu_pool_barrier(m->pool);
    for (int64_t j = ith; j < f->n_want; j += nth)
        rms_norm(m->xn + j * xs, m->x + (int64_t)m->want_idx[j] * E, m->output_norm, E, hp->eps);
    const struct lpq__cpu_mm out = { .w = &m->output, .y = f->logits, .y_stride = hp->n_vocab };
    lpq__cpu_mm_group(mc, ith, nth, m->xn, xs, f->n_want, &out, 1);
    const float cap = hp->logit_softcap;
    if (cap > 0) {
        /* Blocks of 4096 logits, block b on thread b % nth. */
        const int64_t n = f->n_want * hp->n_vocab, blk = 4096;
        for (int64_t b = ith; b * blk < n; b += nth)
            for (int64_t i = b * blk; i < LPQ_MIN(n, (b + 1) * blk); i++)
                f->logits[i] = cap * tanhf(f->logits[i] / cap);
    }
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
