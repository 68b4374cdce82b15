/*
 * kernels-scalar.c — the reference kernels every SIMD path is tested against: activation
 * quantizers (Q8_0, Q8_1, Q8_K, F32) and one dot product per weight type, computing exactly
 * "dequantize weights and activations, multiply, sum" with an integer sum inside each block
 * (scale) and one float multiply-add per block, as ggml's scalar vec_dot does.
 */
#include <math.h>
#include <string.h>

#include "quant/types.h"
#include "runtimes/cpu/kernels-impl.h"

/* ---- activation quantizers ------------------------------------------------------------ */

/* Q8_0: d = amax / 127, q = round-half-away(x / d) (llama.cpp's reference rounding); a block
 * whose f16 scale is subnormal takes quant/'s codec rule (lpq__q8_block_subnormal). */
static int q8_block(const float *x, int8_t *qs, uint16_t *d16, float *d_eff) {
    float amax = 0.0f;
    for (int j = 0; j < LPQ__QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.0f;
    *d16 = lpq__q8_scale_f16(d);
    if ((*d16 & 0x7c00u) == 0 && d != 0.0f) return lpq__q8_block_subnormal(x, qs, d16, d_eff);
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < LPQ__QK; j++) {
        qs[j] = (int8_t)roundf(x[j] * id);
        sum += qs[j];
    }
    *d_eff = d;
    return sum;
}

static void quantize_q8_0(const float *x, void *y, int64_t n) {
    struct lpq__blk_q8_0 *b = y;
    for (int64_t i = 0; i < n / LPQ__QK; i++, x += LPQ__QK) {
        float d;
        q8_block(x, b[i].qs, &b[i].d, &d);
    }
}

/* Q8_1: as Q8_0, plus s = d * Σq so the dot with an offset format (Q4_1, Q5_1) needs no sum. */
static void quantize_q8_1(const float *x, void *y, int64_t n) {
    struct lpq__blk_q8_1 *b = y;
    for (int64_t i = 0; i < n / LPQ__QK; i++, x += LPQ__QK) {
        float d;
        int sum = q8_block(x, b[i].qs, &b[i].d, &d);
        b[i].s = lpq__q8_scale_f16((float)sum * d);
    }
}

/* Round half to even, as the float-add magic-number trick does (|v| < 2^22). */
static inline int nearest_even(float v) {
    return (int)nearbyintf(v);
}

/* Q8_K: scale from the signed value of largest magnitude, which maps to -127 (ggml's choice,
 * kept so our activations equal llama.cpp's); d stays f32; bsums per 16 values. */
static void quantize_q8_k(const float *x, void *y, int64_t n) {
    struct lpq__blk_q8_k *b = y;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, x += LPQ__QK_K) {
        float amax = 0.0f, vmax = 0.0f;
        for (int j = 0; j < LPQ__QK_K; j++) {
            float ax = fabsf(x[j]);
            if (ax > amax) {
                amax = ax;
                vmax = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(&b[i], 0, sizeof b[i]);
            continue;
        }
        float iscale = -127.0f / vmax;
        for (int j = 0; j < LPQ__QK_K; j++) {
            int v = nearest_even(iscale * x[j]);
            b[i].qs[j] = (int8_t)(v > 127 ? 127 : v);
        }
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += b[i].qs[16 * j + l];
            b[i].bsums[j] = (int16_t)s;
        }
        b[i].d = 1.0f / iscale;
    }
}

static void quantize_f32(const float *x, void *y, int64_t n) {
    memcpy(y, x, (size_t)n * sizeof(float));
}

/* ---- dot products: float weights ------------------------------------------------------ */

void lpq__vec_dot_f32_scalar(int64_t n, float *s, const float *x, const float *y) {
    /* 8 partial sums: same association as the SIMD paths would be too costly to mimic,
     * but it keeps the reference's rounding error at the SIMD paths' level. */
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[i + k] * y[i + k];
    for (; i < n; i++) acc[0] += x[i] * y[i];
    *s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static void vec_dot_f32(int64_t n, float *s, const void *w, const void *a) {
    lpq__vec_dot_f32_scalar(n, s, w, a);
}

static void vec_dot_f16(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = w;
    const float *y = a;
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += lpq__f16_to_f32(x[i + k]) * y[i + k];
    for (; i < n; i++) acc[0] += lpq__f16_to_f32(x[i]) * y[i];
    *s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static void vec_dot_bf16(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = w;
    const float *y = a;
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += lpq__bf16_to_f32(x[i + k]) * y[i + k];
    for (; i < n; i++) acc[0] += lpq__bf16_to_f32(x[i]) * y[i];
    *s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* ---- dot products: 32-weight blocks ---------------------------------------------------- */

static void vec_dot_q4_0(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_q4_0 *x = w;
    const struct lpq__blk_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK; i++) {
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            isum += ((x[i].qs[j] & 0xf) - 8) * y[i].qs[j];
            isum += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        }
        sum += (float)isum * (lpq__f16_to_f32(x[i].d) * lpq__f16_to_f32(y[i].d));
    }
    *s = sum;
}

static void vec_dot_q4_1(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_q4_1 *x = w;
    const struct lpq__blk_q8_1 *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK; i++) {
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            isum += (x[i].qs[j] & 0xf) * y[i].qs[j];
            isum += (x[i].qs[j] >> 4) * y[i].qs[j + 16];
        }
        sum += (float)isum * (lpq__f16_to_f32(x[i].d) * lpq__f16_to_f32(y[i].d)) +
               lpq__f16_to_f32(x[i].m) * lpq__f16_to_f32(y[i].s);
    }
    *s = sum;
}

static inline uint32_t load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void vec_dot_q5_0(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_q5_0 *x = w;
    const struct lpq__blk_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK; i++) {
        uint32_t qh = load_u32(x[i].qh);
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (x[i].qs[j] & 0xf) | (int)(((qh >> j) & 1) << 4);
            int hi = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            isum += (lo - 16) * y[i].qs[j] + (hi - 16) * y[i].qs[j + 16];
        }
        sum += (float)isum * (lpq__f16_to_f32(x[i].d) * lpq__f16_to_f32(y[i].d));
    }
    *s = sum;
}

static void vec_dot_q5_1(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_q5_1 *x = w;
    const struct lpq__blk_q8_1 *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK; i++) {
        uint32_t qh = load_u32(x[i].qh);
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (x[i].qs[j] & 0xf) | (int)(((qh >> j) & 1) << 4);
            int hi = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            isum += lo * y[i].qs[j] + hi * y[i].qs[j + 16];
        }
        sum += (float)isum * (lpq__f16_to_f32(x[i].d) * lpq__f16_to_f32(y[i].d)) +
               lpq__f16_to_f32(x[i].m) * lpq__f16_to_f32(y[i].s);
    }
    *s = sum;
}

static void vec_dot_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_q8_0 *x = w;
    const struct lpq__blk_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK; i++) {
        int isum = 0;
        for (int j = 0; j < LPQ__QK; j++) isum += x[i].qs[j] * y[i].qs[j];
        sum += (float)isum * (lpq__f16_to_f32(x[i].d) * lpq__f16_to_f32(y[i].d));
    }
    *s = sum;
}

static void vec_dot_iq4_nl(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_iq4_nl *x = w;
    const struct lpq__blk_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK; i++) {
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            isum += lpq__iq4nl_values[x[i].qs[j] & 0xf] * y[i].qs[j];
            isum += lpq__iq4nl_values[x[i].qs[j] >> 4] * y[i].qs[j + 16];
        }
        sum += (float)isum * (lpq__f16_to_f32(x[i].d) * lpq__f16_to_f32(y[i].d));
    }
    *s = sum;
}

/* ---- dot products: 256-weight super-blocks against Q8_K --------------------------------
 * Per super-block: isum = Σ_sub scale_sub · Σ q·a  and  imin = Σ_sub min_sub · Σ a  in int32
 * (bounded by 256 · 63 · 63 · 127), then sum += d_w d_a isum − dmin_w d_a imin. */

static void vec_dot_q2_k(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_q2_k *x = w;
    const struct lpq__blk_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        int isum = 0, imin = 0;
        for (int k = 0; k < 16; k++) imin += (x[i].scales[k] >> 4) * y[i].bsums[k];
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 4; j++)
                for (int half = 0; half < 2; half++) {
                    int sub = 8 * h + 2 * j + half, dot = 0;
                    for (int l = 16 * half; l < 16 * half + 16; l++)
                        dot += ((x[i].qs[32 * h + l] >> (2 * j)) & 3) * y[i].qs[128 * h + 32 * j + l];
                    isum += (x[i].scales[sub] & 0xf) * dot;
                }
        sum += y[i].d * lpq__f16_to_f32(x[i].d) * (float)isum -
               y[i].d * lpq__f16_to_f32(x[i].dmin) * (float)imin;
    }
    *s = sum;
}

static void vec_dot_q3_k(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_q3_k *x = w;
    const struct lpq__blk_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        int8_t sc[16];
        lpq__q3k_scales(x[i].scales, sc);
        int isum = 0;
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 4; j++)
                for (int half = 0; half < 2; half++) {
                    int sub = 8 * h + 2 * j + half, dot = 0;
                    for (int l = 16 * half; l < 16 * half + 16; l++) {
                        int q = (x[i].qs[32 * h + l] >> (2 * j)) & 3;
                        if (!((x[i].hmask[l] >> (4 * h + j)) & 1)) q -= 4;
                        dot += q * y[i].qs[128 * h + 32 * j + l];
                    }
                    isum += sc[sub] * dot;
                }
        sum += y[i].d * lpq__f16_to_f32(x[i].d) * (float)isum;
    }
    *s = sum;
}

static void vec_dot_q4_k(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_q4_k *x = w;
    const struct lpq__blk_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        int isum = 0, imin = 0;
        for (int sub = 0; sub < 8; sub++) {
            uint8_t sc, m;
            lpq__k4_scale_min(sub, x[i].scales, &sc, &m);
            const uint8_t *q = x[i].qs + 32 * (sub / 2);
            const int8_t *ya = y[i].qs + 32 * sub;
            int dot = 0;
            for (int l = 0; l < 32; l++) dot += ((sub & 1) ? (q[l] >> 4) : (q[l] & 0xf)) * ya[l];
            isum += sc * dot;
            imin += m * (y[i].bsums[2 * sub] + y[i].bsums[2 * sub + 1]);
        }
        sum += y[i].d * lpq__f16_to_f32(x[i].d) * (float)isum -
               y[i].d * lpq__f16_to_f32(x[i].dmin) * (float)imin;
    }
    *s = sum;
}

static void vec_dot_q5_k(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_q5_k *x = w;
    const struct lpq__blk_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        int isum = 0, imin = 0;
        for (int sub = 0; sub < 8; sub++) {
            uint8_t sc, m;
            lpq__k4_scale_min(sub, x[i].scales, &sc, &m);
            const uint8_t *q = x[i].qs + 32 * (sub / 2);
            const int8_t *ya = y[i].qs + 32 * sub;
            int dot = 0;
            for (int l = 0; l < 32; l++) {
                int v = ((sub & 1) ? (q[l] >> 4) : (q[l] & 0xf)) | (((x[i].qh[l] >> sub) & 1) << 4);
                dot += v * ya[l];
            }
            isum += sc * dot;
            imin += m * (y[i].bsums[2 * sub] + y[i].bsums[2 * sub + 1]);
        }
        sum += y[i].d * lpq__f16_to_f32(x[i].d) * (float)isum -
               y[i].d * lpq__f16_to_f32(x[i].dmin) * (float)imin;
    }
    *s = sum;
}

static void vec_dot_q6_k(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_q6_k *x = w;
    const struct lpq__blk_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        int isum = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[i].ql + 64 * h, *qh = x[i].qh + 32 * h;
            const int8_t *sc = x[i].scales + 8 * h, *ya = y[i].qs + 128 * h;
            /* quarter k of the 128: low/high nibble of ql[l] or ql[l+32], 2 bits of qh[l] */
            for (int k = 0; k < 4; k++)
                for (int half = 0; half < 2; half++) {
                    int dot = 0;
                    for (int l = 16 * half; l < 16 * half + 16; l++) {
                        int lo = (k & 1) ? ql[l + 32] : ql[l];
                        lo = (k & 2) ? (lo >> 4) : (lo & 0xf);
                        int q = (lo | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
                        dot += q * ya[32 * k + l];
                    }
                    isum += sc[2 * k + half] * dot;
                }
        }
        sum += y[i].d * lpq__f16_to_f32(x[i].d) * (float)isum;
    }
    *s = sum;
}

static void vec_dot_iq4_xs(int64_t n, float *s, const void *w, const void *a) {
    const struct lpq__blk_iq4_xs *x = w;
    const struct lpq__blk_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        int isum = 0;
        for (int sub = 0; sub < 8; sub++) {
            const uint8_t *q = x[i].qs + 16 * sub;
            const int8_t *ya = y[i].qs + 32 * sub;
            int dot = 0;
            for (int l = 0; l < 16; l++) {
                dot += lpq__iq4nl_values[q[l] & 0xf] * ya[l];
                dot += lpq__iq4nl_values[q[l] >> 4] * ya[l + 16];
            }
            isum += lpq__iq4xs_scale(&x[i], sub) * dot;
        }
        sum += y[i].d * lpq__f16_to_f32(x[i].d) * (float)isum;
    }
    *s = sum;
}

/* ---- float helpers --------------------------------------------------------------------- */

void lpq__vec_axpy_f32_scalar(int64_t n, float *y, float a, const float *x) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

void lpq__vec_f16_to_f32_scalar(int64_t n, float *y, const uint16_t *x) {
    for (int64_t i = 0; i < n; i++) y[i] = lpq__f16_to_f32(x[i]);
}

/* ---- table ----------------------------------------------------------------------------- */

/* F16 and BF16 take F32 activations: exact products, and on these CPUs converting the weight
 * is as cheap as converting the activation. */
static const struct lpq_cpu_ops ops_scalar[LPQ_TYPE_COUNT] = {
    [LPQ_TYPE_F32] = {LPQ_TYPE_F32, quantize_f32, vec_dot_f32, NULL},
    [LPQ_TYPE_F16] = {LPQ_TYPE_F32, quantize_f32, vec_dot_f16, NULL},
    [LPQ_TYPE_BF16] = {LPQ_TYPE_F32, quantize_f32, vec_dot_bf16, NULL},
    [LPQ_TYPE_Q4_0] = {LPQ_TYPE_Q8_0, quantize_q8_0, vec_dot_q4_0, NULL},
    [LPQ_TYPE_Q4_1] = {LPQ_TYPE_Q8_1, quantize_q8_1, vec_dot_q4_1, NULL},
    [LPQ_TYPE_Q5_0] = {LPQ_TYPE_Q8_0, quantize_q8_0, vec_dot_q5_0, NULL},
    [LPQ_TYPE_Q5_1] = {LPQ_TYPE_Q8_1, quantize_q8_1, vec_dot_q5_1, NULL},
    [LPQ_TYPE_Q8_0] = {LPQ_TYPE_Q8_0, quantize_q8_0, vec_dot_q8_0, NULL},
    [LPQ_TYPE_IQ4_NL] = {LPQ_TYPE_Q8_0, quantize_q8_0, vec_dot_iq4_nl, NULL},
    [LPQ_TYPE_Q2_K] = {LPQ_TYPE_Q8_K, quantize_q8_k, vec_dot_q2_k, NULL},
    [LPQ_TYPE_Q3_K] = {LPQ_TYPE_Q8_K, quantize_q8_k, vec_dot_q3_k, NULL},
    [LPQ_TYPE_Q4_K] = {LPQ_TYPE_Q8_K, quantize_q8_k, vec_dot_q4_k, NULL},
    [LPQ_TYPE_Q5_K] = {LPQ_TYPE_Q8_K, quantize_q8_k, vec_dot_q5_k, NULL},
    [LPQ_TYPE_Q6_K] = {LPQ_TYPE_Q8_K, quantize_q8_k, vec_dot_q6_k, NULL},
    [LPQ_TYPE_IQ4_XS] = {LPQ_TYPE_Q8_K, quantize_q8_k, vec_dot_iq4_xs, NULL},
};

const struct lpq_cpu_ops *lpq__cpu_ops_scalar(uint32_t type) {
    if (type >= LPQ_TYPE_COUNT || !ops_scalar[type].vec_dot) return NULL;
    return &ops_scalar[type];
}
