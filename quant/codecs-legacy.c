/*
 * codecs-legacy.c — reference codecs of the 32-weight "legacy" block types Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0 and Q8_1. Dequantization reproduces llama.cpp's floats bit for bit
 * (same operand order); quantization is plain round-to-nearest on the block's range.
 *
 * Byte layout of one block (32 weights, little-endian, d/m/s are IEEE half):
 *   Q4_0 (18 B): d | qs[16]                 w[j] = d*(lo4(qs[j]) - 8), w[j+16] = d*(hi4(qs[j]) - 8)
 *   Q4_1 (20 B): d | m | qs[16]             w[j] = d*lo4(qs[j]) + m,   w[j+16] = d*hi4(qs[j]) + m
 *   Q5_0 (22 B): d | qh u32 | qs[16]        5-bit q = nibble | (bit j of qh) << 4 (weights 0–15
 *                                           use qh bits 0–15, weights 16–31 bits 16–31); w = d*(q-16)
 *   Q5_1 (24 B): d | m | qh u32 | qs[16]    same q; w = d*q + m
 *   Q8_0 (34 B): d | qs i8[32]              w = q*d
 *   Q8_1 (36 B): d | s | qs i8[32]          w = q*d; s = d*Σq (for dot products with Q4_1/Q5_1)
 */
#include "quant/codecs-impl.h"

/* ---- dequantization --------------------------------------------------------------------- */

void lpq__q4_0_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q4_0 *b = src;
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, dst += LPQ__QK32) {
        const float d = lpq__f16_to_f32(b->d);
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)((b->qs[j] & 0x0f) - 8) * d;
            dst[j + 16] = (float)((b->qs[j] >> 4) - 8) * d;
        }
    }
}

void lpq__q4_1_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q4_1 *b = src;
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, dst += LPQ__QK32) {
        const float d = lpq__f16_to_f32(b->d);
        const float m = lpq__f16_to_f32(b->m);
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)(b->qs[j] & 0x0f) * d + m;
            dst[j + 16] = (float)(b->qs[j] >> 4) * d + m;
        }
    }
}

static inline uint32_t load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void store_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

void lpq__q5_0_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q5_0 *b = src;
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, dst += LPQ__QK32) {
        const float d = lpq__f16_to_f32(b->d);
        const uint32_t qh = load_u32(b->qh);
        for (int j = 0; j < 16; j++) {
            int q0 = (int)((b->qs[j] & 0x0f) | (((qh >> j) & 1u) << 4));
            int q1 = (int)((b->qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4));
            dst[j] = (float)(q0 - 16) * d;
            dst[j + 16] = (float)(q1 - 16) * d;
        }
    }
}

void lpq__q5_1_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q5_1 *b = src;
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, dst += LPQ__QK32) {
        const float d = lpq__f16_to_f32(b->d);
        const float m = lpq__f16_to_f32(b->m);
        const uint32_t qh = load_u32(b->qh);
        for (int j = 0; j < 16; j++) {
            int q0 = (int)((b->qs[j] & 0x0f) | (((qh >> j) & 1u) << 4));
            int q1 = (int)((b->qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4));
            dst[j] = (float)q0 * d + m;
            dst[j + 16] = (float)q1 * d + m;
        }
    }
}

void lpq__q8_0_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q8_0 *b = src;
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, dst += LPQ__QK32) {
        const float d = lpq__f16_to_f32(b->d);
        for (int j = 0; j < 32; j++) dst[j] = (float)b->qs[j] * d;
    }
}

void lpq__q8_1_to_float(const void *src, float *dst, int64_t n) {
    const struct lpq__block_q8_1 *b = src;
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, dst += LPQ__QK32) {
        const float d = lpq__f16_to_f32(b->d);
        for (int j = 0; j < 32; j++) dst[j] = (float)b->qs[j] * d;
    }
}

/* ---- quantization ----------------------------------------------------------------------- */

/* The value of largest magnitude (sign kept; first one on ties) and the min and max. */
static void block_range(const float *x, int n, float *amax_signed, float *mn, float *mx) {
    float best = 0.0f, babs = 0.0f, lo = x[0], hi = x[0];
    for (int j = 0; j < n; j++) {
        float a = fabsf(x[j]);
        if (a > babs) { babs = a; best = x[j]; }
        lo = x[j] < lo ? x[j] : lo;
        hi = x[j] > hi ? x[j] : hi;
    }
    *amax_signed = best; *mn = lo; *mx = hi;
}

/*
 * Symmetric 4/5-bit (Q4_0, Q5_0): the largest-magnitude weight maps to q = 0 (value -half),
 * which uses the grid's extra negative level. Quantizes against the stored (f16-rounded)
 * scale, so dequantize→requantize reproduces the same block.
 */
static void quant_sym_block(const float *x, int half, uint16_t *d_out, uint8_t *q) {
    float amax, mn, mx;
    block_range(x, LPQ__QK32, &amax, &mn, &mx);
    uint16_t d16 = lpq__f32_to_f16_sat(amax / (float)-half);
    float d = lpq__f16_to_f32(d16);
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < LPQ__QK32; j++) q[j] = (uint8_t)lpq__round_clamp(x[j] * id + (float)half, 0, 2 * half - 1);
    *d_out = d16;
}

/* Asymmetric 4/5-bit (Q4_1, Q5_1): [min, max] spread over 0..qmax. */
static void quant_asym_block(const float *x, int qmax, uint16_t *d_out, uint16_t *m_out, uint8_t *q) {
    float amax, mn, mx;
    block_range(x, LPQ__QK32, &amax, &mn, &mx);
    uint16_t d16 = lpq__f32_to_f16_sat((mx - mn) / (float)qmax);
    uint16_t m16 = lpq__f32_to_f16_sat(mn);
    float d = lpq__f16_to_f32(d16), m = lpq__f16_to_f32(m16);
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < LPQ__QK32; j++) q[j] = (uint8_t)lpq__round_clamp((x[j] - m) * id, 0, qmax);
    *d_out = d16;
    *m_out = m16;
}

bool lpq__q4_0_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q4_0 *b = dst;
    uint8_t q[LPQ__QK32];
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, src += LPQ__QK32) {
        quant_sym_block(src, 8, &b->d, q);
        for (int j = 0; j < 16; j++) b->qs[j] = (uint8_t)(q[j] | (q[j + 16] << 4));
    }
    return true;
}

bool lpq__q4_1_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q4_1 *b = dst;
    uint8_t q[LPQ__QK32];
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, src += LPQ__QK32) {
        quant_asym_block(src, 15, &b->d, &b->m, q);
        for (int j = 0; j < 16; j++) b->qs[j] = (uint8_t)(q[j] | (q[j + 16] << 4));
    }
    return true;
}

/* Packs 5-bit q[32] into nibbles + the qh bit plane. */
static void pack_q5(const uint8_t *q, uint8_t *qs, uint8_t *qh) {
    uint32_t h = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
        h |= (uint32_t)(q[j] >> 4) << j;
        h |= (uint32_t)(q[j + 16] >> 4) << (j + 16);
    }
    store_u32(qh, h);
}

bool lpq__q5_0_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q5_0 *b = dst;
    uint8_t q[LPQ__QK32];
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, src += LPQ__QK32) {
        quant_sym_block(src, 16, &b->d, q);
        pack_q5(q, b->qs, b->qh);
    }
    return true;
}

bool lpq__q5_1_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q5_1 *b = dst;
    uint8_t q[LPQ__QK32];
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, src += LPQ__QK32) {
        quant_asym_block(src, 31, &b->d, &b->m, q);
        pack_q5(q, b->qs, b->qh);
    }
    return true;
}

/*
 * Q8_0/Q8_1 follow llama.cpp's reference rounding exactly (scale amax/127 before its f16
 * rounding, q = roundf(x/scale)), because they are also the activation formats of the
 * matmuls: quantizing activations the same way keeps runtime results comparable. One
 * deliberate difference: when the f16 scale is subnormal or 0 (|weights| below ~1e-5),
 * q is computed against the stored scale (the smallest subnormal instead of 0), where
 * llama.cpp loses most of the block. Returns the f16 scale; *d_eff is the scale s uses.
 */
static uint16_t quant_q8_block(const float *x, int8_t *qs, int *sum, float *d_eff) {
    float amax = 0.0f;
    for (int j = 0; j < LPQ__QK32; j++) {
        float a = fabsf(x[j]);
        amax = a > amax ? a : amax;
    }
    float d = amax / 127.0f;
    uint16_t d16 = lpq__f32_to_f16_sat(d);
    bool exact_ref = (d16 & 0x7c00u) != 0 || d == 0.0f;
    if (!exact_ref) {
        if (d16 == 0) d16 = 1;
        d = lpq__f16_to_f32(d16);
    }
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int s = 0;
    for (int j = 0; j < LPQ__QK32; j++) {
        int v = exact_ref ? lpq__round_away(x[j] * id) : lpq__round(x[j] * id);
        v = lpq__clampi(v, -127, 127);   /* id*x can exceed 127 by an ulp */
        qs[j] = (int8_t)v;
        s += v;
    }
    *sum = s;
    *d_eff = d;
    return d16;
}

bool lpq__q8_0_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, src += LPQ__QK32) {
        int sum;
        float d;
        b->d = quant_q8_block(src, b->qs, &sum, &d);
    }
    return true;
}

bool lpq__q8_1_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    struct lpq__block_q8_1 *b = dst;
    for (int64_t i = 0; i < n / LPQ__QK32; i++, b++, src += LPQ__QK32) {
        int sum;
        float d;
        b->d = quant_q8_block(src, b->qs, &sum, &d);
        b->s = lpq__f32_to_f16_sat((float)sum * d);
    }
    return true;
}
