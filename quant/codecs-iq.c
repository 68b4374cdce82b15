/*
 * codecs-iq.c — reference codecs of the non-linear 4-bit types IQ4_NL and IQ4_XS, whose
 * 16 levels (lpq__iq4_levels, types.c) are denser near zero. Dequantization reproduces
 * llama.cpp's floats bit for bit; quantization fits the scale by search + least squares.
 *
 * Byte layout (little-endian; d IEEE half; K = the 16 levels −127 … 113):
 *   IQ4_NL (18 B, 32 weights):   d | qs[16]
 *       w[j] = d*K[qs[j] & 15], w[j+16] = d*K[qs[j] >> 4]
 *   IQ4_XS (136 B, 256 weights): d | scales_h u16 | scales_l[4] | qs[128]
 *       sub-block s (32 weights, s = 0..7): 6-bit ls = ((scales_l[s/2] >> 4*(s%2)) & 15)
 *       | ((scales_h >> 2s) & 3) << 4;  dl = d*(ls - 32)
 *       w[32s + j] = dl*K[qs[16s + j] & 15], w[32s + 16 + j] = dl*K[qs[16s + j] >> 4]
 */
#include "quant/codecs-impl.h"

/* Candidate scales per side: the largest magnitude lands on level end ± t for t = 0..±N. */
#define IQ4_STEPS 10

/* Σw·x·K[q] and Σw·K[q]² for q = nearest level to x*iscale. */
static void iq4_assign(int n, const float *x, const float *w, float iscale, uint8_t *q,
                       float *sxk, float *skk) {
    float a = 0.0f, b = 0.0f;
    for (int j = 0; j < n; j++) {
        int idx = lpq__iq4_nearest(x[j] * iscale);
        float k = (float)lpq__iq4_levels[idx], wj = w ? w[j] : 1.0f;
        q[j] = (uint8_t)idx;
        a += wj * x[j] * k;
        b += wj * k * k;
    }
    *sxk = a;
    *skk = b;
}

/* Best scale for the IQ4 grid (s * K[q]) by a fan of candidates plus least squares; writes q. */
static float fit_iq4(int n, const float *x, const float *w, uint8_t *q) {
    float amax = 0.0f, aabs = 0.0f;
    for (int j = 0; j < n; j++) {
        float a = fabsf(x[j]);
        if (a > aabs) { aabs = a; amax = x[j]; }
    }
    if (amax == 0.0f) {
        /* level 8 is +1: with d = 0 every weight is exactly 0 */
        memset(q, 8, (size_t)n);
        return 0.0f;
    }
    uint8_t tmp[256];
    float best_score = -1.0f, best_s = 0.0f;
    const float ends[2] = {-127.0f, 113.0f};
    for (int e = 0; e < 2; e++) {
        for (int t = -IQ4_STEPS; t <= IQ4_STEPS; t++) {
            float level = ends[e] + (ends[e] < 0 ? -1.0f : 1.0f) * (float)t;
            float sxk, skk;
            iq4_assign(n, x, w, level / amax, tmp, &sxk, &skk);
            if (skk <= 0.0f) continue;
            float score = sxk * sxk / skk;
            if (score > best_score) {
                best_score = score;
                best_s = sxk / skk;
                memcpy(q, tmp, (size_t)n);
            }
        }
    }
    for (int it = 0; it < 2 && best_s != 0.0f; it++) {
        float sxk, skk;
        iq4_assign(n, x, w, 1.0f / best_s, tmp, &sxk, &skk);
        if (skk <= 0.0f) break;
        float score = sxk * sxk / skk;
        if (!(score > best_score)) break;
        best_score = score;
        best_s = sxk / skk;
        memcpy(q, tmp, (size_t)n);
    }
    return best_s;
}

/* Requantizes x with the real scale ds; returns the weighted squared error. */
static float iq4_requant(int n, const float *x, const float *w, float ds, uint8_t *q) {
    const float ids = ds != 0.0f ? 1.0f / ds : 0.0f;
    float err = 0.0f;
    for (int j = 0; j < n; j++) {
        int idx = ds != 0.0f ? lpq__iq4_nearest(x[j] * ids) : 8;
        float diff = ds * (float)lpq__iq4_levels[idx] - x[j];
        q[j] = (uint8_t)idx;
        err += (w ? w[j] : 1.0f) * diff * diff;
    }
    return err;
}

static void iq4_pack(const uint8_t *q, uint8_t *qs) {
    for (int j = 0; j < 16; j++) qs[j] = (uint8_t)(q[j] | (q[j + 16] << 4));
}

void lpq__iq4_nl_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_iq4_nl *b = src;
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, dst += LPQ__QK32) {
        const float d = lpq__f16_to_f32(b->d);
        for (int j = 0; j < 16; j++) {
            dst[j] = d * (float)lpq__iq4_levels[b->qs[j] & 0x0f];
            dst[j + 16] = d * (float)lpq__iq4_levels[b->qs[j] >> 4];
        }
    }
}

bool lpq__iq4_nl_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_iq4_nl *b = dst;
    uint8_t q[LPQ__QK32], tq[LPQ__QK32];
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, src += LPQ__QK32) {
        const float *w = imp ? imp + i * LPQ__QK32 : NULL;
        float s = fit_iq4(LPQ__QK32, src, w, q);
        uint16_t cand[2 * LPQ__SCALE_NEIGHBOURS + 1];
        const int nc = lpq__scale_candidates(lpq__f32_to_f16_sat(s), s != 0.0f, cand);
        float best = INFINITY;
        for (int c = 0; c < nc; c++) {
            float err = iq4_requant(LPQ__QK32, src, w, lpq__f16_to_f32(cand[c]), tq);
            if (c == 0 || err < best) {   /* c == 0: adopted even if err overflowed */
                best = err;
                b->d = cand[c];
                memcpy(q, tq, sizeof(q));
            }
        }
        iq4_pack(q, b->qs);
    }
    return true;
}

void lpq__iq4_xs_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_iq4_xs *b = src;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++) {
        const float d = lpq__f16_to_f32(b->d);
        for (int s = 0; s < 8; s++, dst += 32) {
            const int ls = ((b->scales_l[s / 2] >> (4 * (s % 2))) & 0x0f) | (((b->scales_h >> (2 * s)) & 3) << 4);
            const float dl = d * (float)(ls - 32);
            const uint8_t *qs = b->qs + 16 * s;
            for (int j = 0; j < 16; j++) {
                dst[j] = dl * (float)lpq__iq4_levels[qs[j] & 0x0f];
                dst[j + 16] = dl * (float)lpq__iq4_levels[qs[j] >> 4];
            }
        }
    }
}

bool lpq__iq4_xs_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_iq4_xs *b = dst;
    uint8_t q[32], best_q[32];
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, b++, src += LPQ__QK_K) {
        const float *w = imp ? imp + i * LPQ__QK_K : NULL;
        float s[8], smax = 0.0f, sabs = 0.0f;
        for (int k = 0; k < 8; k++) {
            s[k] = fit_iq4(32, src + 32 * k, w ? w + 32 * k : NULL, q);
            if (fabsf(s[k]) > sabs) { sabs = fabsf(s[k]); smax = s[k]; }
        }
        /* the largest sub-block scale maps to ls - 32 = -32, the long end of the range; the
         * f16 d is picked among its neighbours by total error (tiny weights: never 0) */
        uint16_t cand[2 * LPQ__SCALE_NEIGHBOURS + 1];
        const int nc = lpq__scale_candidates(lpq__f32_to_f16_sat(smax / -32.0f), smax != 0.0f, cand);
        float best_total = INFINITY;
        uint16_t sh = 0;
        for (int c = 0; c < nc; c++) {
            const float d = lpq__f16_to_f32(cand[c]);
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            uint16_t tsh = 0;
            uint8_t tl[4] = {0, 0, 0, 0}, tqs[128];
            float total = 0.0f;
            for (int k = 0; k < 8 && (c == 0 || total < best_total); k++) {
                const float *xs = src + 32 * k;
                const float *ws = w ? w + 32 * k : NULL;
                const int l0 = lpq__round_clamp(s[k] * id, -32, 31);
                int best_l = 0;   /* baseline ls - 32 = 0: all weights 0 */
                float best_err = iq4_requant(32, xs, ws, 0.0f, best_q);
                for (int l = l0 - 1; l <= l0 + 1; l++) {
                    if (l < -32 || l > 31 || l == 0) continue;
                    float err = iq4_requant(32, xs, ws, d * (float)l, q);
                    if (err < best_err) {
                        best_err = err;
                        best_l = l;
                        memcpy(best_q, q, 32);
                    }
                }
                total += best_err;
                const int ls = best_l + 32;
                tl[k / 2] |= (uint8_t)((ls & 0x0f) << (4 * (k % 2)));
                tsh |= (uint16_t)(((ls >> 4) & 3) << (2 * k));
                iq4_pack(best_q, tqs + 16 * k);
            }
            if (c == 0 || total < best_total) {
                best_total = total;
                b->d = cand[c];
                sh = tsh;
                memcpy(b->scales_l, tl, 4);
                memcpy(b->qs, tqs, 128);
            }
        }
        b->scales_h = sh;
    }
    return true;
}
