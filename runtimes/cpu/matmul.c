/*
 * matmul.c — the CPU engine's threaded matrix products over the kernels of kernels.h:
 * decode (one activation row) is a matrix-vector product, prefill a matrix-matrix one.
 * Activations are converted once per group of matmuls sharing an input and shared by all
 * threads; output rows are cut into fixed tiles (sizes independent of the thread count) that
 * threads take from a counter, so every output value is computed by one thread in one order.
 */
#include "runtimes/cpu/cpu-impl.h"

#include <string.h>

#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif

/* Activation type the dot product of `w` consumes; F32 for the dequantizing fallback. */
static uint32_t act_type(const struct lpq__cpu_tensor *w) {
    return w->ops ? w->ops->vec_dot_type : LPQ_TYPE_F32;
}

void lpq__cpu_mm_need(const struct lpq__cpu_tensor *w, enum lpq_cpu_isa isa, int64_t n_batch,
                      size_t *act_bytes, int64_t *deq_floats) {
    (void)isa;
    *act_bytes = 0;
    *deq_floats = 0;
    uint32_t vt = act_type(w);
    if (vt != LPQ_TYPE_F32) *act_bytes = lpq_type_row_size(vt, w->ne0) * (size_t)n_batch;
    if (!w->ops && w->type != LPQ_TYPE_F32) *deq_floats = w->ne0;
}

/* Tiles: rows per tile depend on T only (never on the thread count). */
static int64_t tile_rows(int64_t T) { return T < 4 ? LPQ__MM_TILE_R1 : LPQ__MM_TILE_R; }

struct act_view {
    const uint8_t *p;              /* activation row 0 */
    size_t stride;                 /* bytes between rows */
};

/* y[i] += x[i], i < n, 16 at a time (GCC vector extension: kept in registers, and -O2's
 * cheap vectoriser does not take loops of unknown length). */
typedef float v16f __attribute__((vector_size(64)));
static void add_row(float *y, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v16f a, b;
        memcpy(&a, y + i, 64);
        memcpy(&b, x + i, 64);
        a += b;
        memcpy(y + i, &a, 64);
    }
    for (; i < n; i++) y[i] += x[i];
}

/* Writes the tile results s[c*sr + r] into y: y = s (+ bias) or y += s (+ bias). */
static void tile_store(const struct lpq__cpu_mm *mm, float *s, int64_t sr, int64_t r0,
                       int64_t nr, int64_t c0, int64_t nc) {
    for (int64_t c = 0; c < nc; c++) {
        float *y = mm->y + (c0 + c) * mm->y_stride + r0;
        float *sc = s + c * sr;
        if (mm->bias) add_row(sc, mm->bias + r0, nr);
        if (mm->accumulate) add_row(y, sc, nr);
        else memcpy(y, sc, (size_t)nr * sizeof(float));
    }
}

#ifdef HAVE_OPENBLAS
/* Dense float weights (F32/F16/BF16) in a prefill batch: convert the tile's rows to F32 and
 * call sgemm (single-threaded inside; our pool supplies the parallelism). Measured on the
 * Zen 5 box with Qwen2.5-0.5B shapes, F16, 1 thread: pp128 ~190 tok/s vs ~70 through the
 * kernels' gemm; pp32 ~90 vs ~40; at 8-16 rows the kernels win. */
static void tile_blas(struct lpq__cpu_mm_ctx *c, int ith, const struct lpq__cpu_mm *mm,
                      const float *x, int64_t x_stride, int64_t T, int64_t r0, int64_t nr) {
    const struct lpq__cpu_tensor *w = mm->w;
    int64_t n = w->ne0;
    const float *wt;
    if (w->type == LPQ_TYPE_F32) {
        wt = (const float *)((const uint8_t *)w->data + (size_t)r0 * w->row_size);
    } else {
        float *buf = c->blas_w + (size_t)ith * (size_t)c->blas_cap;
        for (int64_t r = 0; r < nr; r++) {
            const uint16_t *src = (const uint16_t *)((const uint8_t *)w->data + (size_t)(r0 + r) * w->row_size);
            float *dst = buf + r * n;
            if (w->type == LPQ_TYPE_F16) {
                lpq_cpu_vec_f16_to_f32(n, dst, src, c->isa);
            } else {   /* BF16: the top half of an F32 */
                uint32_t *d32 = (uint32_t *)dst;
                for (int64_t i = 0; i < n; i++) d32[i] = (uint32_t)src[i] << 16;
            }
        }
        wt = buf;
    }
    /* Y (T, nr) (+)= X (T, n) @ Wt (nr, n)^T, written straight into y. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)nr, (int)n, 1.0f, x,
                (int)x_stride, wt, (int)n, mm->accumulate ? 1.0f : 0.0f, mm->y + r0, (int)mm->y_stride);
    if (mm->bias)
        for (int64_t t = 0; t < T; t++)
            for (int64_t r = 0; r < nr; r++) mm->y[t * mm->y_stride + r0 + r] += mm->bias[r0 + r];
}

static bool blas_wins(const struct lpq__cpu_mm_ctx *c, const struct lpq__cpu_tensor *w, int64_t T) {
    if (!c->use_blas || T < c->blas_min_rows) return false;
    if (w->type == LPQ_TYPE_F32) return true;
    return (w->type == LPQ_TYPE_F16 || w->type == LPQ_TYPE_BF16) && w->ne0 * LPQ__MM_TILE_R <= c->blas_cap;
}
#endif

/* One activation row: whether the row kernel (vec_dot) beats gemm with nc = 1. gemm wins for
 * most types (AVX-512 Q4_0: 1.4-2x); the exception measured (bench/bench_kernels.c, thread CPU
 * time, Zen 5) is AVX-512 Q8_0 with long rows, whose pair kernel streams ~34 GB/s against
 * gemm's ~25 at n = 4864 (at n = 896 gemm is ahead, 31 against 28). */
static bool gemv_by_rows(const struct lpq__cpu_mm_ctx *c, const struct lpq__cpu_tensor *w) {
    return c->isa == LPQ_CPU_ISA_AVX512 && w->type == LPQ_TYPE_Q8_0 && w->ne0 >= 2048;
}

/* One tile: rows [r0, r0+nr) of mm times activation rows [c0, c0+nc). */
static void tile_compute(struct lpq__cpu_mm_ctx *c, int ith, const struct lpq__cpu_mm *mm,
                         struct act_view a, const float *x, int64_t x_stride, int64_t r0,
                         int64_t nr, int64_t c0, int64_t nc) {
    const struct lpq__cpu_tensor *w = mm->w;
    const int64_t n = w->ne0;
    const uint8_t *wr = (const uint8_t *)w->data + (size_t)r0 * w->row_size;
    float *s = c->tile + (size_t)ith * LPQ__MM_TILE_R * LPQ__MM_TILE_C;

    if (w->ops) {
        const uint8_t *ar = a.p + (size_t)c0 * a.stride;
        if (w->ops->gemm && (nc > 1 || (nr >= 16 && !gemv_by_rows(c, w)))) {
            w->ops->gemm(n, nr, nc, s, nr, wr, w->row_size, ar, a.stride);
        } else {
            for (int64_t cc = 0; cc < nc; cc++)
                for (int64_t r = 0; r < nr; r++)
                    w->ops->vec_dot(n, &s[cc * nr + r], wr + (size_t)r * w->row_size, ar + (size_t)cc * a.stride);
        }
    } else if (w->type == LPQ_TYPE_F32) {
        for (int64_t r = 0; r < nr; r++)
            for (int64_t cc = 0; cc < nc; cc++)
                lpq_cpu_vec_dot_f32(n, &s[cc * nr + r], (const float *)(wr + (size_t)r * w->row_size),
                                    x + (c0 + cc) * x_stride, c->isa);
    } else {
        /* No kernel for this type: dequantize each row once, then F32 dots. */
        float *deq = c->deq + (size_t)ith * (size_t)c->deq_cap;
        lpq_to_float_fn to_float = lpq_type_traits(w->type)->to_float;
        for (int64_t r = 0; r < nr; r++) {
            to_float(wr + (size_t)r * w->row_size, deq, n);
            for (int64_t cc = 0; cc < nc; cc++)
                lpq_cpu_vec_dot_f32(n, &s[cc * nr + r], deq, x + (c0 + cc) * x_stride, c->isa);
        }
    }
    tile_store(mm, s, nr, r0, nr, c0, nc);
}

/* Hands a group's input to the activation hook, once per weight; rows one at a time when
 * they are not contiguous (x_stride > n_in, e.g. attn_output's input). */
static void act_hook_call(const struct lpq__cpu_mm_ctx *c, const float *x, int64_t x_stride, int64_t T,
                          const struct lpq__cpu_mm *mm, int n) {
    for (int i = 0; i < n; i++) {
        const int64_t n_in = mm[i].w->ne0;
        if (x_stride == n_in) c->act_hook(mm[i].w->name, x, n_in, T, c->act_user);
        else
            for (int64_t t = 0; t < T; t++) c->act_hook(mm[i].w->name, x + t * x_stride, n_in, 1, c->act_user);
    }
}

void lpq__cpu_mm_group(struct lpq__cpu_mm_ctx *c, int ith, int nth, const float *x,
                       int64_t x_stride, int64_t T, const struct lpq__cpu_mm *mm, int n) {
    LPQ_ASSERT(n >= 1 && n <= LPQ__MM_GROUP_MAX && T >= 1 && T <= c->n_batch);
    const int64_t n_in = mm[0].w->ne0;

    /* Stage 1: convert the input once per distinct activation type (rows split by thread). */
    uint32_t types[LPQ__MM_ACT_TYPES];
    const struct lpq_cpu_ops *qops[LPQ__MM_ACT_TYPES];
    int n_types = 0;
    struct act_view views[LPQ__MM_GROUP_MAX];
    for (int i = 0; i < n; i++) {
        uint32_t vt = act_type(mm[i].w);
        if (vt == LPQ_TYPE_F32) {
            views[i].p = (const uint8_t *)x;
            views[i].stride = (size_t)x_stride * sizeof(float);
            continue;
        }
        int j = 0;
        while (j < n_types && types[j] != vt) j++;
        if (j == n_types) {
            types[j] = vt;
            qops[j] = mm[i].w->ops;
            n_types++;
        }
        views[i].p = c->act[j];
        views[i].stride = lpq_type_row_size(vt, n_in);
    }
    for (int j = 0; j < n_types; j++) {
        size_t rs = lpq_type_row_size(types[j], n_in);
        for (int64_t t = ith; t < T; t += nth)
            qops[j]->quantize_act(x + t * x_stride, (uint8_t *)c->act[j] + (size_t)t * rs, n_in);
    }
    if (ith == 0) atomic_store(&c->next, 0);
    lpq__cpu_pool_barrier(c->pool);
    if (c->act_hook) {   /* after the barrier every input row is written; one caller at a time */
        if (ith == 0) act_hook_call(c, x, x_stride, T, mm, n);
        lpq__cpu_pool_barrier(c->pool);
    }

    /* Stage 2: tiles of (matmul, row block, column block) from a shared counter. */
    const int64_t R = tile_rows(T), C = LPQ__MM_TILE_C;
    const int64_t n_ct = (T + C - 1) / C;
    int64_t n_tiles[LPQ__MM_GROUP_MAX], total = 0;
    bool blas[LPQ__MM_GROUP_MAX];
    for (int i = 0; i < n; i++) {
        blas[i] = false;
#ifdef HAVE_OPENBLAS
        blas[i] = blas_wins(c, mm[i].w, T);
#endif
        int64_t n_rt = (mm[i].w->ne1 + R - 1) / R;
        n_tiles[i] = blas[i] ? n_rt : n_rt * n_ct;   /* a BLAS tile spans every column */
        total += n_tiles[i];
    }
    for (;;) {
        int64_t k = (int64_t)atomic_fetch_add(&c->next, 1);
        if (k >= total) break;
        int i = 0;
        while (k >= n_tiles[i]) k -= n_tiles[i++];
        const int64_t n_out = mm[i].w->ne1;
        if (blas[i]) {
#ifdef HAVE_OPENBLAS
            int64_t r0 = k * R;
            tile_blas(c, ith, &mm[i], x, x_stride, T, r0, LPQ_MIN(R, n_out - r0));
#endif
            continue;
        }
        int64_t rt = k / n_ct, ct = k % n_ct;
        int64_t r0 = rt * R, c0 = ct * C;
        tile_compute(c, ith, &mm[i], views[i], x, x_stride, r0, LPQ_MIN(R, n_out - r0), c0,
                     LPQ_MIN(C, T - c0));
    }
    lpq__cpu_pool_barrier(c->pool);
}
