/*
 * quant-search.c — the search quantizer: for every block type, choose scales (and mins) that
 * minimise the weighted squared error Σ w_i (x_i − x̂_i)² instead of plain round-to-nearest.
 * Block fitting (candidate scales + weighted least-squares refits) lives here; the byte
 * packing of each block type lives in quant-search-pack.c.
 *
 * Search outline, per block of 16/32 values:
 *   1. try a grid of candidate scales around max/q_max; round every value with each; refit
 *      the scale (and min) by weighted least squares for those integers; keep the best;
 *   2. iterate "re-round with the refitted scale, refit again" while the error drops;
 *   3. for fp16-stored scales, re-round with the scale as it will be decoded.
 * Super-blocks (K-quants, IQ4_XS) then quantize the sub-block scales with the same search
 * (weighted by Σ w q² of each sub-block), re-round every value with the decoded scales, try
 * each integer scale ±1, and finally refit the fp16 super-scales by least squares.
 */
/* The fits are reductions over 16–32 values: let GCC reorder the float sums so they
 * vectorize (results stay deterministic: the same code runs for every thread count). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "associative-math", "no-signed-zeros", "no-trapping-math")
#endif
#include "quant/quant-search-impl.h"

#include <math.h>
#include <string.h>

/* IQ4_NL / IQ4_XS non-linear grid (format constant, FORMATS.md). */
const int8_t lpq__iq4_grid[16] = { -127, -104, -83, -65, -49, -35, -22, -10,
                                   1, 13, 25, 38, 53, 69, 89, 113 };

float lpq__f16r(float x) { return lpq_fp16_to_fp32(lpq_fp32_to_fp16(x)); }

/* round(v) clamped to [lo, hi]; the clamp happens in float so huge v cannot overflow int. */
static inline int qround(float v, int lo, int hi) {
    /* Inputs are checked finite before any fit, so plain compares (minss/maxss) do. */
    v = v < (float)lo ? (float)lo : v;
    v = v > (float)hi ? (float)hi : v;
    return (int)nearbyintf(v);
}

void lpq__row_weight_params(const float *x, int64_t n, const float *imp, float *sigma2, float *imp_eps) {
    double s2 = 0, si = 0;
    for (int64_t i = 0; i < n; i++) s2 += (double)x[i] * x[i];
    if (imp) {
        for (int64_t i = 0; i < n; i++) si += imp[i] > 0 ? imp[i] : 0;
    }
    float sg = n > 0 ? (float)(s2 / (double)n) : 0.0f;
    /* A row of zeros still needs positive weights so every fit is well posed. */
    *sigma2 = sg > 1e-30f ? sg : 1e-30f;
    /* Columns the calibration never excited keep a small weight instead of none. A larger
     * floor (shrinking the importances towards their mean) was measured and rejected: see
     * weight_params in quant-search-pack.c. */
    float ie = n > 0 ? (float)(1e-5 * si / (double)n) : 0.0f;
    *imp_eps = ie > 1e-30f ? ie : 1e-30f;
}

void lpq__weights(const float *x, const float *imp, int n, float sigma2, float imp_eps, float *w) {
    if (imp) {
        /* Mean squared activation times the magnitude term llama.cpp uses. The activation
         * alone (the exact output-error weight) was tried: better at 4 bits, clearly worse at
         * 5 bits on stories260K (docs/QUANTIZER.md). */
        for (int i = 0; i < n; i++) {
            float im = imp[i] > 0 ? imp[i] : 0.0f;
            w[i] = (im + imp_eps) * sqrtf(sigma2 + x[i] * x[i]);
        }
    } else {
        /* σ² + x²/4: close to plain MSE (what matters with no activation statistics) but
         * leaning towards large weights; measured in docs/QUANTIZER.md against w = 1,
         * σ + |x| and σ² + x². */
        for (int i = 0; i < n; i++) w[i] = sigma2 + 0.25f * x[i] * x[i];
    }
}

void lpq_quant_row_weights(const float *x, int64_t n, const float *imp, float *w) {
    float sigma2, imp_eps;
    lpq__row_weight_params(x, n, imp, &sigma2, &imp_eps);
    for (int64_t i = 0; i < n; i += 4096) {
        int m = (int)LPQ_MIN((int64_t)4096, n - i);
        lpq__weights(x + i, imp ? imp + i : NULL, m, sigma2, imp_eps, w + i);
    }
}

double lpq_quant_weighted_err(const float *x, const float *y, const float *w, int64_t n, double *sum_wx2) {
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        double d = (double)x[i] - y[i];
        e += wi * d * d;
        s += wi * (double)x[i] * x[i];
    }
    if (sum_wx2) *sum_wx2 = s;
    return e;
}

/* ---- symmetric integer grids: x ≈ d·q, q ∈ [qmin, qmax] ---------------------------------- */

float lpq__sym_err(const float *x, const float *w, int n, float d, int qmin, int qmax, int8_t *L) {
    float e = 0;
    float id = d != 0 ? 1.0f / d : 0.0f;
    for (int i = 0; i < n; i++) {
        int q = d != 0 ? qround(x[i] * id, qmin, qmax) : 0;
        if (L) L[i] = (int8_t)q;
        float r = x[i] - d * (float)q;
        e += w[i] * r * r;
    }
    return e;
}

/* Rounds x·id into L and returns the weighted sums Σw·x·q and Σw·q² (the refit d is their
 * ratio and the error Σw·x² − sxq²/sqq). Division-free so the candidate loop stays cheap. */
static inline void sym_sums(const float *x, const float *w, int n, float id, int qmin, int qmax,
                            int8_t *L, float *sxq_out, float *sqq_out) {
    float sxq = 0, sqq = 0;
    for (int i = 0; i < n; i++) {
        int q = qround(x[i] * id, qmin, qmax);
        L[i] = (int8_t)q;
        sxq += w[i] * x[i] * (float)q;
        sqq += w[i] * (float)(q * q);
    }
    *sxq_out = sxq;
    *sqq_out = sqq;
}

float lpq__fit_sym(const float *x, const float *w, int n, int qmin, int qmax, int nstep, int nfine,
                   int8_t *L, float *err_out) {
    LPQ_ASSERT(n > 0 && n <= LPQ__MAX_SUB);
    float mx = x[0], mn = x[0], swx2 = 0;
    for (int i = 0; i < n; i++) {
        mx = x[i] > mx ? x[i] : mx;
        mn = x[i] < mn ? x[i] : mn;
        swx2 += w[i] * x[i] * x[i];
    }
    float vmax = -mn > mx ? mn : mx;       /* the value of largest magnitude */
    if (!(fabsf(vmax) > 1e-30f)) {
        memset(L, 0, (size_t)n);
        if (err_out) *err_out = swx2;
        return 0;
    }
    int8_t Lt[LPQ__MAX_SUB];
    /* best = the largest sxq²/sqq (the error is swx2 minus it), compared by cross-multiplying */
    float best_num = -1, best_den = 1, best_sxq = 0;
    float inv = 1.0f / vmax;
    float step_div = 1.0f / (float)(nstep > 0 ? nstep : 1);
    for (int side = 0; side < 2; side++) {
        int m = side == 0 ? -qmin : qmax;     /* magnitude of the end vmax is mapped to */
        if (m <= 0 || (side == 1 && qmax == -qmin)) continue;   /* symmetric range: one side */
        float sgn = side == 0 ? -1.0f : 1.0f;
        float step = (0.4f * (float)m + 0.5f) * step_div;
        /* Coarse targets cover the range; the fine ones make the candidate set a superset
         * of a plain 0.1-level search around round-to-nearest (on both ends: measured
         * better than the wide end alone), which keeps the result from depending on where
         * the coarse steps happen to fall. */
        int nf = nfine;
        for (int k = -1 - 2 * nf; k <= nstep; k++) {
            /* k = -1 is exactly the round-to-nearest scale; then m+0.5 down to 0.6·m;
             * k < -1: m ± 0.1·j, j = 1 … nfine. */
            float t;
            if (k < -1) {
                int j = -1 - k;                       /* 1 … 2·nfine */
                t = (float)m + 0.1f * (float)(j <= nf ? j : nf - j);
            } else {
                t = k < 0 ? (float)m : ((float)m + 0.5f) - (float)k * step;
            }
            if (t <= 0.25f) continue;
            float sxq, sqq;
            sym_sums(x, w, n, sgn * t * inv, qmin, qmax, Lt, &sxq, &sqq);
            if (sqq > 0 && sxq != 0 && sxq * sxq * best_den > best_num * sqq) {
                best_num = sxq * sxq;
                best_den = sqq;
                best_sxq = sxq;
                memcpy(L, Lt, (size_t)n);
            }
        }
    }
    if (best_num < 0) {
        memset(L, 0, (size_t)n);
        if (err_out) *err_out = swx2;
        return 0;
    }
    float best_d = best_sxq / best_den;
    float best_err = swx2 - best_num / best_den;
    /* Re-round with the refitted scale while that helps. */
    for (int it = 0; it < 3; it++) {
        float sxq, sqq;
        sym_sums(x, w, n, 1.0f / best_d, qmin, qmax, Lt, &sxq, &sqq);
        if (!(sqq > 0) || sxq == 0) break;
        float e = swx2 - sxq * sxq / sqq;
        if (!(e < best_err * (1 - 1e-6f))) break;
        best_err = e;
        best_d = sxq / sqq;
        memcpy(L, Lt, (size_t)n);
    }
    if (err_out) *err_out = best_err;
    return best_d;
}

/* ---- asymmetric grids: x ≈ s·q + o, q ∈ [0, qmax] ----------------------------------------- */

float lpq__asym_err(const float *x, const float *w, int n, float s, float o, int qmax, uint8_t *L) {
    float e = 0;
    float is = s != 0 ? 1.0f / s : 0.0f;
    for (int i = 0; i < n; i++) {
        int q = s != 0 ? qround((x[i] - o) * is, 0, qmax) : 0;
        if (L) L[i] = (uint8_t)q;
        float r = x[i] - (s * (float)q + o);
        e += w[i] * r * r;
    }
    return e;
}

struct asym_sums {
    float sw, swx, swx2;
};

/* Weighted least squares for (s, o) given the integer sums; o ≤ 0 when o_le0. Returns the error. */
static inline float asym_solve(const struct asym_sums *S, float sq, float sqq, float sxq, bool o_le0,
                               float *s_out, float *o_out) {
    float s, o;
    float D = S->sw * sqq - sq * sq;
    if (D > 1e-30f * S->sw * sqq && D > 0) {
        float iD = 1.0f / D;
        s = (S->sw * sxq - S->swx * sq) * iD;
        o = (sqq * S->swx - sq * sxq) * iD;
    } else {
        s = 0;
        o = S->sw > 0 ? S->swx / S->sw : 0;
    }
    if (o_le0 && o > 0) {
        o = 0;
        s = sqq > 0 ? sxq / sqq : 0;
    }
    *s_out = s;
    *o_out = o;
    float e = S->swx2 + s * s * sqq + o * o * S->sw - 2 * s * sxq - 2 * o * S->swx + 2 * s * o * sq;
    return e < 0 ? 0 : e;
}

/* Rounds (x − base)·is into L and refits (s, o): one fused pass. */
static inline float asym_round_fit(const float *x, const float *w, int n, float base, float is, int qmax,
                                   const struct asym_sums *S, bool o_le0, uint8_t *L, float *s_out, float *o_out) {
    float sq = 0, sqq = 0, sxq = 0;
    for (int i = 0; i < n; i++) {
        int qi = qround((x[i] - base) * is, 0, qmax);
        L[i] = (uint8_t)qi;
        float q = (float)qi;
        sq += w[i] * q;
        sqq += w[i] * q * q;
        sxq += w[i] * x[i] * q;
    }
    return asym_solve(S, sq, sqq, sxq, o_le0, s_out, o_out);
}

float lpq__fit_asym(const float *x, const float *w, int n, int qmax, int nstep, bool o_le0,
                    uint8_t *L, float *s_out, float *o_out) {
    struct asym_sums S = { 0, 0, 0 };
    LPQ_ASSERT(n > 0 && n <= LPQ__MAX_SUB);
    float mn = x[0], mx = x[0];
    for (int i = 0; i < n; i++) {
        S.sw += w[i];
        S.swx += w[i] * x[i];
        S.swx2 += w[i] * x[i] * x[i];
        if (x[i] < mn) mn = x[i];
        if (x[i] > mx) mx = x[i];
    }
    if (o_le0 && mn > 0) mn = 0;
    if (!(mx > mn)) {
        memset(L, 0, (size_t)n);
        *s_out = 0;
        *o_out = mn;
        return lpq__asym_err(x, w, n, 0, mn, qmax, NULL);
    }
    uint8_t Lt[LPQ__MAX_SUB];
    float best_err = INFINITY, best_s = 0, best_o = mn;
    /* The LPQ__TOPN best single-refit candidates seed the Lloyd iterations below. */
    float top_e[LPQ__TOPN], top_s[LPQ__TOPN] = { 0 }, top_o[LPQ__TOPN] = { 0 };
    for (int t = 0; t < LPQ__TOPN; t++) top_e[t] = INFINITY;
    float irange = 1.0f / (mx - mn), kstep = 2.0f / (float)(nstep > 0 ? nstep : 1);
    for (int k = -1; k <= nstep; k++) {
        /* k = -1: plain min/max round-to-nearest; then q_max−1 … q_max+1 steps across the range. */
        float iscale = k < 0 ? (float)qmax * irange : ((float)qmax - 1.0f + kstep * (float)k) * irange;
        if (iscale <= 0) continue;
        float s, o;
        float e = asym_round_fit(x, w, n, mn, iscale, qmax, &S, o_le0, Lt, &s, &o);
        if (e < best_err) {
            best_err = e;
            best_s = s;
            best_o = o;
            memcpy(L, Lt, (size_t)n);
        }
        for (int t = 0; t < LPQ__TOPN; t++) {
            if (e < top_e[t]) {
                for (int u = LPQ__TOPN - 1; u > t; u--) { top_e[u] = top_e[u - 1]; top_s[u] = top_s[u - 1]; top_o[u] = top_o[u - 1]; }
                top_e[t] = e; top_s[t] = s; top_o[t] = o;
                break;
            }
        }
    }
    /* Lloyd steps: re-round with the fitted (s, o), refit, while the error drops. */
    for (int t = 0; t < LPQ__TOPN; t++) {
        float s = top_s[t], o = top_o[t], prev = top_e[t];
        for (int it = 0; it < LPQ__LLOYD && s > 0 && isfinite(prev); it++) {
            float e = asym_round_fit(x, w, n, o, 1.0f / s, qmax, &S, o_le0, Lt, &s, &o);
            if (e < best_err) {
                best_err = e;
                best_s = s;
                best_o = o;
                memcpy(L, Lt, (size_t)n);
            }
            if (!(e < prev * (1 - 1e-6f))) break;
            prev = e;
        }
    }
    *s_out = best_s;
    *o_out = best_o;
    return best_err;
}

/* ---- the IQ4 non-linear grid: x ≈ d·K[q] --------------------------------------------------- */

/* Midpoints between neighbouring grid values and the steps between them: the nearest grid
 * index is how many midpoints lie below v, and its value the sum of the steps passed —
 * branch-free, so the loops below vectorize. */
static const float grid_mid[15] = { -115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
                                    7.0f, 19.0f, 31.5f, 45.5f, 61.0f, 79.0f, 101.0f };
static const float grid_step[15] = { 23, 21, 18, 16, 14, 13, 12, 11, 12, 12, 13, 15, 16, 20, 24 };

static inline int grid_nearest(float v, float *val) {
    int idx = 0;
    float k = -127.0f;
    for (int j = 0; j < 15; j++) {
        int c = v > grid_mid[j];
        idx += c;
        k += c ? grid_step[j] : 0.0f;
    }
    *val = k;
    return idx;
}

float lpq__grid_err(const float *x, const float *w, int n, float d, int8_t *L) {
    float e = 0;
    float id = d != 0 ? 1.0f / d : 0.0f;
    for (int i = 0; i < n; i++) {
        float k = 1.0f;
        int q = d != 0 ? grid_nearest(x[i] * id, &k) : 8;   /* K[8] = 1: closest to 0 */
        if (L) L[i] = (int8_t)q;
        float r = x[i] - d * k;
        e += w[i] * r * r;
    }
    return e;
}

static float grid_try(const float *x, const float *w, int n, float d, float swx2, int8_t *L, float *err) {
    float id = 1.0f / d;
    float sxk = 0, skk = 0;
    for (int i = 0; i < n; i++) {
        float k;
        int q = grid_nearest(x[i] * id, &k);
        L[i] = (int8_t)q;
        sxk += w[i] * x[i] * k;
        skk += w[i] * k * k;
    }
    if (!(skk > 0)) {
        *err = swx2;
        return 0;
    }
    *err = swx2 - sxk * sxk / skk;
    return sxk / skk;
}

float lpq__fit_grid(const float *x, const float *w, int n, int nstep, int8_t *L, float *err_out) {
    LPQ_ASSERT(n > 0 && n <= LPQ__MAX_SUB);
    float amax = 0, vmax = 0, swx2 = 0;
    for (int i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > amax) { amax = a; vmax = x[i]; }
        swx2 += w[i] * x[i] * x[i];
    }
    if (!(amax > 1e-30f)) {
        memset(L, 8, (size_t)n);
        if (err_out) *err_out = swx2;
        return 0;
    }
    int8_t Lt[LPQ__MAX_SUB];
    float best_err = INFINITY, best_d = 0;
    for (int side = 0; side < 2; side++) {
        float m = side == 0 ? -127.0f : 113.0f;
        for (int k = -1; k <= nstep; k++) {
            float f = k < 0 ? 1.0f : 1.08f - 0.33f * (float)k / (float)(nstep > 0 ? nstep : 1);
            float d0 = vmax / (m * f);
            float e;
            float d = grid_try(x, w, n, d0, swx2, Lt, &e);
            if (e < best_err && d != 0) {
                best_err = e;
                best_d = d;
                memcpy(L, Lt, (size_t)n);
            }
        }
    }
    for (int it = 0; it < 3 && best_d != 0; it++) {
        float e;
        float d = grid_try(x, w, n, best_d, swx2, Lt, &e);
        if (!(e < best_err * (1 - 1e-6f)) || d == 0) break;
        best_err = e;
        best_d = d;
        memcpy(L, Lt, (size_t)n);
    }
    if (err_out) *err_out = best_err;
    return best_d;
}

/* ---- super-block helpers -------------------------------------------------------------------- */

/* Quantizes sub-block scales v[nsub] (importance W) to d·sc, sc ∈ [lo, hi], d fp16-exact.
 * Returns d (0 when every v is 0). */
float lpq__quant_scales(const float *v, const float *W, int nsub, int lo, int hi, int *sc) {
    int8_t L8[LPQ__MAX_SUB];
    float Wp[LPQ__MAX_SUB] = { 0 };
    LPQ_ASSERT(nsub > 0 && nsub <= LPQ__MAX_SUB);
    for (int j = 0; j < nsub; j++) Wp[j] = W[j] > 0 ? W[j] : 1e-30f;
    /* hi may exceed int8 (Q6_K's 127 is fine; everything else is 63 or less). */
    float d = lpq__fit_sym(v, Wp, nsub, lo, hi, 16, 0, L8, NULL);
    float dr = lpq__f16r(d);
    /* A scale that underflows fp16 becomes the smallest subnormal: tiny rows keep a grid. */
    if (dr == 0 && d != 0) dr = copysignf(lpq_fp16_to_fp32(1), d);
    d = dr;
    for (int j = 0; j < nsub; j++) sc[j] = d != 0 ? qround(v[j] / d, lo, hi) : 0;
    return d;
}

enum lpq_status lpq_quant_row_encode(uint32_t type, const float *x, void *dst, int64_t n, const float *imp) {
    const struct lpq_type_traits *tr = lpq_type_traits(type);
    if (!tr || !lpq_quant_type_encodable(type)) return LPQ_STATUS_UNSUPPORTED;
    if (n < 0 || n % tr->blck_size != 0) return LPQ_STATUS_BAD_ARG;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) return LPQ_STATUS_BAD_ARG;
    }
    return lpq__encode_row(type, x, dst, n, imp);
}
