/*
 * codecs-k.c — reference codecs of the 256-weight "K" super-block types Q2_K, Q3_K, Q4_K,
 * Q5_K, Q6_K and Q8_K. Dequantization reproduces llama.cpp's floats bit for bit;
 * quantization fits each sub-block's scale (and min) by a small search plus least squares,
 * then quantizes the sub-block scales.
 *
 * Byte layout of one super-block (256 weights; d/dmin IEEE half; e = weight index):
 *   Q2_K (84 B):  scales[16] | qs[64] | d | dmin
 *       sub-block s = e/16 (16 weights): scales[s] = sc | m << 4 (4 bits each)
 *       e = 128n + 32j + l: q = (qs[32n + l] >> 2j) & 3
 *       w = (d*sc)*q - dmin*m
 *   Q3_K (110 B): hmask[32] | qs[64] | scales[12] | d
 *       sub-block s = e/16, 6-bit v_s stored with offset 32: low 4 bits in scales[s] (s < 8)
 *       or the high nibble of scales[s-8]; top 2 bits in scales[8 + s%4] bits 2*(s/4)
 *       e = 128n + 32j + l: low2 = (qs[32n + l] >> 2j) & 3, h = hmask[l] bit (4n + j)
 *       w = (d*(v_s - 32)) * (low2 - (h ? 0 : 4))
 *   Q4_K (144 B): d | dmin | scales[12] | qs[128]
 *       sub-block s = e/32 (32 weights), 6-bit sc_s and m_s: for s < 4, sc = scales[s] & 63,
 *       m = scales[s+4] & 63; for s >= 4, sc = (scales[s+4] & 15) | (scales[s-4] >> 6) << 4,
 *       m = (scales[s+4] >> 4) | (scales[s] >> 6) << 4
 *       e = 64c + l: q = qs[32c + l] & 15;  e = 64c + 32 + l: q = qs[32c + l] >> 4
 *       w = (d*sc)*q - dmin*m
 *   Q5_K (176 B): d | dmin | scales[12] | qh[32] | qs[128]
 *       as Q4_K, plus 16 * (qh[l] bit 2c) for e = 64c + l and bit 2c+1 for e = 64c + 32 + l
 *   Q6_K (210 B): ql[128] | qh[64] | scales i8[16] | d
 *       sub-block s = e/16, signed 8-bit scale. e = 128n + 32g + l, 6-bit q:
 *       low 4 bits: g=0 ql[64n+l] lo, g=1 ql[64n+32+l] lo, g=2 ql[64n+l] hi, g=3 ql[64n+32+l] hi
 *       high 2 bits: (qh[32n + l] >> 2g) & 3
 *       w = (d*sc_s) * (q - 32)
 *   Q8_K (292 B): d f32 | qs i8[256] | bsums i16[16] (Σ of each 16 qs)   w = d*q
 */
#include "quant/codecs-impl.h"

/* ---- scale fitting ------------------------------------------------------------------------ */

/* How far the search fans out around the range-based scale, in steps of 0.1 grid levels. */
#define FIT_STEPS 10

static float max_magnitude(int n, const float *x) {
    float best = 0.0f, babs = 0.0f;
    for (int j = 0; j < n; j++) {
        float a = fabsf(x[j]);
        if (a > babs) { babs = a; best = x[j]; }
    }
    return best;
}

/* Σw·x·q and Σw·q² for a grid assignment q = round(x*iscale). */
static void sym_assign(int n, const float *x, const float *w, float iscale, int qmin, int qmax,
                       int8_t *q, float *sxq, float *sqq) {
    float a = 0.0f, b = 0.0f;
    for (int j = 0; j < n; j++) {
        int v = lpq__round_clamp(x[j] * iscale, qmin, qmax);
        float wj = w ? w[j] : 1.0f;
        q[j] = (int8_t)v;
        a += wj * x[j] * (float)v;
        b += wj * (float)(v * v);
    }
    *sxq = a;
    *sqq = b;
}

/*
 * Best scale s for x[0..n) on the integer grid [qmin, qmax] (symmetric types): tries a fan
 * of candidate scales around amax/qmax, fits s by weighted least squares for each grid
 * assignment and keeps the lowest weighted squared error. w may be NULL (all ones).
 * Returns s (may be negative: the largest magnitude then maps to qmin) and writes q.
 */
static float fit_sym(int n, const float *x, const float *w, int qmin, int qmax, int8_t *q) {
    float amax = max_magnitude(n, x);
    if (amax == 0.0f) {
        memset(q, 0, (size_t)n);
        return 0.0f;
    }
    int8_t tmp[256];
    float best_score = -1.0f, best_s = 0.0f;
    /* Map the largest magnitude near either end of the grid; the negative end is the
     * longer one for the K grids, the positive end helps skewed blocks. */
    const float ends[2] = {(float)qmin, (float)qmax};
    for (int e = 0; e < 2; e++) {
        for (int t = -FIT_STEPS; t <= FIT_STEPS; t++) {
            float level = ends[e] + (ends[e] < 0 ? -0.1f : 0.1f) * (float)t;
            if (fabsf(level) < 0.5f) continue;
            float sxq, sqq;
            sym_assign(n, x, w, level / amax, qmin, qmax, tmp, &sxq, &sqq);
            if (sqq <= 0.0f) continue;
            /* least-squares s = sxq/sqq removes sxq²/sqq from Σw·x² */
            float score = sxq * sxq / sqq;
            if (score > best_score) {
                best_score = score;
                best_s = sxq / sqq;
                memcpy(q, tmp, (size_t)n);
            }
        }
    }
    /* Lloyd steps: reassign with the fitted scale, refit, keep while it improves. */
    for (int it = 0; it < 2 && best_s != 0.0f; it++) {
        float sxq, sqq;
        sym_assign(n, x, w, 1.0f / best_s, qmin, qmax, tmp, &sxq, &sqq);
        if (sqq <= 0.0f) break;
        float score = sxq * sxq / sqq;
        if (!(score > best_score)) break;
        best_score = score;
        best_s = sxq / sqq;
        memcpy(q, tmp, (size_t)n);
    }
    return best_s;
}

/* Weighted squared error of x ≈ s*q - m for a given assignment. */
static float asym_err(int n, const float *x, const float *w, const uint8_t *q, float s, float m) {
    float err = 0.0f;
    for (int j = 0; j < n; j++) {
        float diff = s * (float)q[j] - m - x[j];
        err += (w ? w[j] : 1.0f) * diff * diff;
    }
    return err;
}

/* Least-squares (s, m) for fixed q, with m >= 0 enforced. Returns false if degenerate. */
static bool asym_lsq(int n, const float *x, const float *w, const uint8_t *q, float *s, float *m) {
    float sw = 0, sq = 0, sqq = 0, sx = 0, sxq = 0;
    for (int j = 0; j < n; j++) {
        float wj = w ? w[j] : 1.0f, qj = (float)q[j];
        sw += wj; sq += wj * qj; sqq += wj * qj * qj; sx += wj * x[j]; sxq += wj * x[j] * qj;
    }
    float det = sw * sqq - sq * sq;
    if (det <= 0.0f || sqq <= 0.0f) return false;
    float ss = (sw * sxq - sq * sx) / det;
    float b = (sqq * sx - sq * sxq) / det;       /* offset: x ≈ ss*q + b */
    if (b > 0.0f) { b = 0.0f; ss = sxq / sqq; }  /* the format's min is subtracted: b <= 0 */
    if (!(ss > 0.0f)) return false;
    *s = ss;
    *m = -b;
    return true;
}

/*
 * Best (s >= 0, m >= 0) for x ≈ s*q - m, q in [0, qmax] (asymmetric types), same method
 * plus Lloyd steps per candidate. Writes *m_out and q; returns s.
 */
static float fit_asym(int n, const float *x, const float *w, int qmax, uint8_t *q, float *m_out) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < n; j++) {
        mn = x[j] < mn ? x[j] : mn;
        mx = x[j] > mx ? x[j] : mx;
    }
    if (mn > 0.0f) mn = 0.0f;
    if (mx <= mn) {   /* constant non-positive block: all weights = -m */
        memset(q, 0, (size_t)n);
        *m_out = -mn;
        return 0.0f;
    }
    uint8_t tmp[256];
    /* the plain min/max fit is the baseline every candidate must beat */
    float best_s = (mx - mn) / (float)qmax, best_m = -mn;
    for (int j = 0; j < n; j++) q[j] = (uint8_t)lpq__round_clamp((x[j] - mn) / best_s, 0, qmax);
    float best_err = asym_err(n, x, w, q, best_s, best_m);
    for (int t = -FIT_STEPS; t <= FIT_STEPS; t++) {
        float iscale = ((float)qmax + 0.1f * (float)t) / (mx - mn);
        if (!(iscale > 0.0f)) continue;
        float s = 0.0f, m = 0.0f;
        for (int j = 0; j < n; j++) tmp[j] = (uint8_t)lpq__round_clamp((x[j] - mn) * iscale, 0, qmax);
        for (int it = 0; it < 3; it++) {
            if (!asym_lsq(n, x, w, tmp, &s, &m)) break;
            float err = asym_err(n, x, w, tmp, s, m);
            if (err < best_err) {
                best_err = err; best_s = s; best_m = m;
                memcpy(q, tmp, (size_t)n);
            }
            /* reassign with the fitted (s, m) and go again */
            float is = 1.0f / s;
            for (int j = 0; j < n; j++) tmp[j] = (uint8_t)lpq__round_clamp((x[j] + m) * is, 0, qmax);
        }
    }
    *m_out = best_m;
    return best_s;
}

/* ---- super-block scale quantization ---------------------------------------------------- */

/* A super-block scale as f16: saturating, and a nonzero scale that would underflow to 0
 * becomes the smallest subnormal instead, so tiny weights (~1e-6) keep a usable grid. */
static uint16_t f16_scale(float d) {
    uint16_t h = lpq__f32_to_f16_sat(d);
    if ((h & 0x7fffu) == 0 && d != 0.0f) h = (uint16_t)((h & 0x8000u) | 1u);
    return h;
}

/*
 * Asymmetric K types, one sub-block: x ≈ (d*sc)*q - dmin*mi with sc, mi in [0, nsc]. Tries
 * the integers next to the rounded (s, m) and sc = mi = 0, requantizing q with the
 * dequantizer's own products; returns the lowest weighted squared error.
 */
static float asym_sub_refine(const float *xs, const float *ws, int sub, int qmax, int nsc,
                             float d, float dmin, float s, float m, uint8_t *q, uint8_t *sc, uint8_t *mi) {
    int sc0 = d > 0.0f ? lpq__round_clamp(s / d, 0, nsc) : 0;
    int mi0 = dmin > 0.0f ? lpq__round_clamp(m / dmin, 0, nsc) : 0;
    uint8_t tmp[32];
    /* baseline: sc = mi = 0 (all weights 0), so a sub-block is never worse than zeros */
    float best_err = 0.0f;
    for (int j = 0; j < sub; j++) best_err += (ws ? ws[j] : 1.0f) * xs[j] * xs[j];
    *sc = 0;
    *mi = 0;
    memset(q, 0, (size_t)sub);
    for (int a = sc0 - 1; a <= sc0 + 1; a++) {
        if (a < 0 || a > nsc) continue;
        for (int b = mi0 - 1; b <= mi0 + 1; b++) {
            if (b < 0 || b > nsc) continue;
            const float ds = d * (float)a, dm = dmin * (float)b;
            const float ids = ds > 0.0f ? 1.0f / ds : 0.0f;
            float err = 0.0f;
            for (int j = 0; j < sub; j++) {
                int v = lpq__round_clamp((xs[j] + dm) * ids, 0, qmax);
                float diff = ds * (float)v - dm - xs[j];
                tmp[j] = (uint8_t)v;
                err += (ws ? ws[j] : 1.0f) * diff * diff;
            }
            if (err < best_err) {
                best_err = err;
                *sc = (uint8_t)a;
                *mi = (uint8_t)b;
                memcpy(q, tmp, (size_t)sub);
            }
        }
    }
    return best_err;
}

/*
 * Asymmetric K types (Q2_K, Q4_K, Q5_K): fits (s, m) per sub-block, sets d = max s / nsc and
 * dmin = max m / nsc, then keeps the f16 d (among its neighbours) whose refined sub-blocks
 * give the lowest total error. q, sc, mi are outputs.
 */
static void quant_asym_superblock(const float *x, const float *w, int nsub, int sub, int qmax,
                                  int nsc, uint16_t *d_out, uint16_t *dmin_out,
                                  uint8_t *q, uint8_t *sc, uint8_t *mi) {
    float s[16], m[16];
    float smax = 0.0f, mmax = 0.0f;
    for (int k = 0; k < nsub; k++) {
        s[k] = fit_asym(sub, x + k * sub, w ? w + k * sub : NULL, qmax, q + k * sub, &m[k]);
        smax = s[k] > smax ? s[k] : smax;
        mmax = m[k] > mmax ? m[k] : mmax;
    }
    const uint16_t dm16 = f16_scale(mmax / (float)nsc);
    const float dmin = lpq__f16_to_f32(dm16);
    uint16_t cand[2 * LPQ__SCALE_NEIGHBOURS + 1];
    const int nc = lpq__scale_candidates(f16_scale(smax / (float)nsc), smax != 0.0f, cand);
    uint8_t tq[256], tsc[16], tmi[16];
    float best = INFINITY;
    for (int c = 0; c < nc; c++) {
        const float d = lpq__f16_to_f32(cand[c]);
        float err = 0.0f;
        for (int k = 0; k < nsub && (c == 0 || err < best); k++)
            err += asym_sub_refine(x + k * sub, w ? w + k * sub : NULL, sub, qmax, nsc, d, dmin,
                                   s[k], m[k], tq + k * sub, &tsc[k], &tmi[k]);
        if (c == 0 || err < best) {   /* c == 0: adopted even if err overflowed */
            best = err;
            *d_out = cand[c];
            memcpy(q, tq, (size_t)(nsub * sub));
            memcpy(sc, tsc, (size_t)nsub);
            memcpy(mi, tmi, (size_t)nsub);
        }
    }
    *dmin_out = dm16;
}

/* Symmetric K types, one sub-block: x ≈ (d*sc)*q; tries sc next to round(s/d) and sc = 0. */
static float sym_sub_refine(const float *xs, const float *ws, int sub, int qmin, int qmax,
                            int scmin, int scmax, float d, float s, int8_t *q, int8_t *sc) {
    const int sc0 = d != 0.0f ? lpq__round_clamp(s / d, scmin, scmax) : 0;
    int8_t tmp[32];
    float best_err = 0.0f;   /* baseline sc = 0: all weights 0 */
    for (int j = 0; j < sub; j++) best_err += (ws ? ws[j] : 1.0f) * xs[j] * xs[j];
    *sc = 0;
    memset(q, 0, (size_t)sub);
    for (int a = sc0 - 1; a <= sc0 + 1; a++) {
        if (a < scmin || a > scmax || a == 0) continue;
        const float ds = d * (float)a;
        const float ids = ds != 0.0f ? 1.0f / ds : 0.0f;
        float err = 0.0f;
        for (int j = 0; j < sub; j++) {
            int v = lpq__round_clamp(xs[j] * ids, qmin, qmax);
            float diff = ds * (float)v - xs[j];
            tmp[j] = (int8_t)v;
            err += (ws ? ws[j] : 1.0f) * diff * diff;
        }
        if (err < best_err) {
            best_err = err;
            *sc = (int8_t)a;
            memcpy(q, tmp, (size_t)sub);
        }
    }
    return best_err;
}

/*
 * Symmetric K types (Q3_K, Q6_K): signed sc in [scmin, scmax], q in [qmin, qmax]. The
 * sub-block scale of largest magnitude maps to scmin (sign folded into d); the f16 d is
 * chosen among neighbours by total error.
 */
static void quant_sym_superblock(const float *x, const float *w, int nsub, int sub, int qmin,
                                 int qmax, int scmin, int scmax, uint16_t *d_out,
                                 int8_t *q, int8_t *sc) {
    float s[16];
    for (int k = 0; k < nsub; k++)
        s[k] = fit_sym(sub, x + k * sub, w ? w + k * sub : NULL, qmin, qmax, q + k * sub);
    const float smax = max_magnitude(nsub, s);
    uint16_t cand[2 * LPQ__SCALE_NEIGHBOURS + 1];
    const int nc = lpq__scale_candidates(f16_scale(smax / (float)scmin), smax != 0.0f, cand);
    int8_t tq[256], tsc[16];
    float best = INFINITY;
    for (int c = 0; c < nc; c++) {
        const float d = lpq__f16_to_f32(cand[c]);
        float err = 0.0f;
        for (int k = 0; k < nsub && (c == 0 || err < best); k++)
            err += sym_sub_refine(x + k * sub, w ? w + k * sub : NULL, sub, qmin, qmax, scmin, scmax,
                                  d, s[k], tq + k * sub, &tsc[k]);
        if (c == 0 || err < best) {   /* c == 0: adopted even if err overflowed */
            best = err;
            *d_out = cand[c];
            memcpy(q, tq, (size_t)(nsub * sub));
            memcpy(sc, tsc, (size_t)nsub);
        }
    }
}

/* ---- Q2_K --------------------------------------------------------------------------------- */

void lpq__q2_k_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q2_k *b = src;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++) {
        const float d = lpq__f16_to_f32(b->d);
        const float dmin = lpq__f16_to_f32(b->dmin);
        for (int e0 = 0; e0 < LPQ__QK_K; e0 += 16) {
            const int half = e0 / 128, j = (e0 % 128) / 32, l0 = e0 % 32;
            const uint8_t sc = b->scales[e0 / 16];
            const float dl = d * (float)(sc & 0x0f);
            const float ml = dmin * (float)(sc >> 4);
            const uint8_t *qs = b->qs + 32 * half + l0;
            for (int l = 0; l < 16; l++) *dst++ = dl * (float)((qs[l] >> (2 * j)) & 3) - ml;
        }
    }
}

bool lpq__q2_k_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q2_k *b = dst;
    uint8_t q[LPQ__QK_K], sc[16], mi[16];
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++, src += LPQ__QK_K) {
        const float *w = imp ? imp + i * LPQ__QK_K : NULL;
        quant_asym_superblock(src, w, 16, 16, 3, 15, &b->d, &b->dmin, q, sc, mi);
        for (int k = 0; k < 16; k++) b->scales[k] = (uint8_t)(sc[k] | (mi[k] << 4));
        memset(b->qs, 0, sizeof(b->qs));
        for (int e = 0; e < LPQ__QK_K; e++) {
            const int half = e / 128, j = (e % 128) / 32, l = e % 32;
            b->qs[32 * half + l] |= (uint8_t)(q[e] << (2 * j));
        }
    }
    return true;
}

/* ---- Q3_K --------------------------------------------------------------------------------- */

/* The 16 six-bit values (offset 32 included) of a Q3_K scales[12] field. */
static void q3k_unpack_scales(const uint8_t *p, int *v) {
    for (int s = 0; s < 16; s++) {
        int lo = s < 8 ? (p[s] & 0x0f) : (p[s - 8] >> 4);
        int hi = (p[8 + s % 4] >> (2 * (s / 4))) & 3;
        v[s] = lo | (hi << 4);
    }
}

static void q3k_pack_scales(const int *v, uint8_t *p) {
    memset(p, 0, 12);
    for (int s = 0; s < 16; s++) {
        p[s % 8] |= (uint8_t)((v[s] & 0x0f) << (s < 8 ? 0 : 4));
        p[8 + s % 4] |= (uint8_t)(((v[s] >> 4) & 3) << (2 * (s / 4)));
    }
}

void lpq__q3_k_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q3_k *b = src;
    int v[16];
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++) {
        const float d = lpq__f16_to_f32(b->d);
        q3k_unpack_scales(b->scales, v);
        for (int e0 = 0; e0 < LPQ__QK_K; e0 += 16) {
            const int half = e0 / 128, j = (e0 % 128) / 32, l0 = e0 % 32;
            const float dl = d * (float)(v[e0 / 16] - 32);
            const uint8_t *qs = b->qs + 32 * half + l0;
            const uint8_t *hm = b->hmask + l0;
            const uint8_t hbit = (uint8_t)(1u << (4 * half + j));
            for (int l = 0; l < 16; l++) {
                int q = ((qs[l] >> (2 * j)) & 3) - ((hm[l] & hbit) ? 0 : 4);
                *dst++ = dl * (float)q;
            }
        }
    }
}

bool lpq__q3_k_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q3_k *b = dst;
    int8_t q[LPQ__QK_K], sc[16];
    int v[16];
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++, src += LPQ__QK_K) {
        const float *w = imp ? imp + i * LPQ__QK_K : NULL;
        quant_sym_superblock(src, w, 16, 16, -4, 3, -32, 31, &b->d, q, sc);
        for (int k = 0; k < 16; k++) v[k] = sc[k] + 32;
        q3k_pack_scales(v, b->scales);
        memset(b->qs, 0, sizeof(b->qs));
        memset(b->hmask, 0, sizeof(b->hmask));
        for (int e = 0; e < LPQ__QK_K; e++) {
            const int half = e / 128, j = (e % 128) / 32, l = e % 32;
            const int u = q[e] + 4;   /* 0..7: bit 2 is the "high" bit (set = no -4) */
            b->qs[32 * half + l] |= (uint8_t)((u & 3) << (2 * j));
            if (u & 4) b->hmask[l] |= (uint8_t)(1u << (4 * half + j));
        }
    }
    return true;
}

/* ---- Q4_K / Q5_K -------------------------------------------------------------------------- */

static void k4_unpack(const uint8_t *p, int s, int *sc, int *m) {
    if (s < 4) {
        *sc = p[s] & 63;
        *m = p[s + 4] & 63;
    } else {
        *sc = (p[s + 4] & 0x0f) | ((p[s - 4] >> 6) << 4);
        *m = (p[s + 4] >> 4) | ((p[s] >> 6) << 4);
    }
}

static void k4_pack(const uint8_t *sc, const uint8_t *m, uint8_t *p) {
    for (int s = 0; s < 4; s++) {
        p[s] = (uint8_t)((sc[s] & 63) | ((sc[s + 4] >> 4) << 6));
        p[s + 4] = (uint8_t)((m[s] & 63) | ((m[s + 4] >> 4) << 6));
        p[s + 8] = (uint8_t)((sc[s + 4] & 0x0f) | ((m[s + 4] & 0x0f) << 4));
    }
}

void lpq__q4_k_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q4_k *b = src;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++) {
        const float d = lpq__f16_to_f32(b->d);
        const float dmin = lpq__f16_to_f32(b->dmin);
        for (int c = 0; c < 4; c++) {
            int sc, m;
            const uint8_t *qs = b->qs + 32 * c;
            k4_unpack(b->scales, 2 * c, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            k4_unpack(b->scales, 2 * c + 1, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) *dst++ = d1 * (float)(qs[l] & 0x0f) - m1;
            for (int l = 0; l < 32; l++) *dst++ = d2 * (float)(qs[l] >> 4) - m2;
        }
    }
}

bool lpq__q4_k_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q4_k *b = dst;
    uint8_t q[LPQ__QK_K], sc[8], mi[8];
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++, src += LPQ__QK_K) {
        const float *w = imp ? imp + i * LPQ__QK_K : NULL;
        quant_asym_superblock(src, w, 8, 32, 15, 63, &b->d, &b->dmin, q, sc, mi);
        k4_pack(sc, mi, b->scales);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                b->qs[32 * c + l] = (uint8_t)(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
    return true;
}

void lpq__q5_k_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q5_k *b = src;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++) {
        const float d = lpq__f16_to_f32(b->d);
        const float dmin = lpq__f16_to_f32(b->dmin);
        for (int c = 0; c < 4; c++) {
            int sc, m;
            const uint8_t *qs = b->qs + 32 * c;
            const uint8_t h1 = (uint8_t)(1u << (2 * c)), h2 = (uint8_t)(2u << (2 * c));
            k4_unpack(b->scales, 2 * c, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            k4_unpack(b->scales, 2 * c + 1, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++)
                *dst++ = d1 * (float)((qs[l] & 0x0f) + ((b->qh[l] & h1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++)
                *dst++ = d2 * (float)((qs[l] >> 4) + ((b->qh[l] & h2) ? 16 : 0)) - m2;
        }
    }
}

bool lpq__q5_k_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q5_k *b = dst;
    uint8_t q[LPQ__QK_K], sc[8], mi[8];
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++, src += LPQ__QK_K) {
        const float *w = imp ? imp + i * LPQ__QK_K : NULL;
        quant_asym_superblock(src, w, 8, 32, 31, 63, &b->d, &b->dmin, q, sc, mi);
        k4_pack(sc, mi, b->scales);
        memset(b->qh, 0, sizeof(b->qh));
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                const uint8_t lo = q[64 * c + l], hi = q[64 * c + 32 + l];
                b->qs[32 * c + l] = (uint8_t)((lo & 0x0f) | ((hi & 0x0f) << 4));
                b->qh[l] |= (uint8_t)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
            }
        }
    }
    return true;
}

/* ---- Q6_K --------------------------------------------------------------------------------- */

void lpq__q6_k_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q6_k *b = src;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++) {
        const float d = lpq__f16_to_f32(b->d);
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = b->ql + 64 * half;
            const uint8_t *qh = b->qh + 32 * half;
            const int8_t *sc = b->scales + 8 * half;
            float *y = dst + 128 * half;
            for (int l = 0; l < 32; l++) {
                const int s = l / 16;
                const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[s] * (float)q1;
                y[l + 32] = d * (float)sc[s + 2] * (float)q2;
                y[l + 64] = d * (float)sc[s + 4] * (float)q3;
                y[l + 96] = d * (float)sc[s + 6] * (float)q4;
            }
        }
        dst += LPQ__QK_K;
    }
}

bool lpq__q6_k_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q6_k *b = dst;
    int8_t q[LPQ__QK_K], sc[16];
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++, src += LPQ__QK_K) {
        const float *w = imp ? imp + i * LPQ__QK_K : NULL;
        quant_sym_superblock(src, w, 16, 16, -32, 31, -128, 127, &b->d, q, sc);
        memcpy(b->scales, sc, 16);
        memset(b->qh, 0, sizeof(b->qh));
        for (int e = 0; e < LPQ__QK_K; e++) {
            const int half = e / 128, g = (e % 128) / 32, l = e % 32;
            const int u = q[e] + 32;   /* 0..63 */
            uint8_t *ql = &b->ql[64 * half + l + ((g & 1) ? 32 : 0)];
            if (g < 2) *ql = (uint8_t)((*ql & 0xf0) | (u & 0x0f));
            else *ql = (uint8_t)((*ql & 0x0f) | ((u & 0x0f) << 4));
            b->qh[32 * half + l] |= (uint8_t)((u >> 4) << (2 * g));
        }
    }
    return true;
}

/* ---- Q8_K --------------------------------------------------------------------------------- */

void lpq__q8_k_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q8_k *b = src;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++)
        for (int j = 0; j < LPQ__QK_K; j++) *dst++ = b->d * (float)b->qs[j];
}

/*
 * Follows llama.cpp's reference Q8_K exactly (it is the activation format of the K-quant
 * matmuls): the largest-magnitude value maps to -127 (q = round(x * -127/max), ties to even,
 * capped at 127), d = 1/iscale kept as f32, bsums = Σ of each 16 q.
 */
bool lpq__q8_k_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q8_k *b = dst;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++, src += LPQ__QK_K) {
        const float mx = max_magnitude(LPQ__QK_K, src);
        if (mx == 0.0f) {
            memset(b, 0, sizeof(*b));
            continue;
        }
        const float iscale = -127.0f / mx;
        for (int j = 0; j < LPQ__QK_K; j++)
            b->qs[j] = (int8_t)lpq__round_clamp(iscale * src[j], -128, 127);
        for (int k = 0; k < 16; k++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += b->qs[16 * k + j];
            b->bsums[k] = (int16_t)sum;
        }
        b->d = 1.0f / iscale;
    }
    return true;
}
