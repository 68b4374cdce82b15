/*
 * codecs-impl.h — internals shared by types.c and the codecs-*.c files: the block structs
 * of every supported type (sizes checked at compile time against the GGUF format), the
 * exact fp16/bf16 scalar conversions as inlines for inner loops, and the codec entry
 * points the trait table in types.c points at. Only quant/ code includes this.
 */
#ifndef LPQ_CODECS_IMPL_H
#define LPQ_CODECS_IMPL_H

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "quant/types.h"

/* Dequantization must reproduce llama.cpp's float results bit for bit, so a product and a
 * sum must stay two roundings. GCC in ISO C mode (-std=c11, how lpq builds) does not fuse
 * them; clang does unless told. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* The block structs below are read in place (f16 fields as uint16_t, Q8_K's d as float). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lpq's codecs read GGUF blocks in place and need a little-endian host"
#endif

#define LPQ__QK32 32     /* weights per block of the legacy types and IQ4_NL */
#define LPQ__QK_K 256    /* weights per super-block of the K types and IQ4_XS */

/* ---- block structs (all fields little-endian; f16 fields stored as raw bits) ---------- */
struct lpq__block_q4_0 { uint16_t d; uint8_t qs[16]; };
struct lpq__block_q4_1 { uint16_t d, m; uint8_t qs[16]; };
struct lpq__block_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };
struct lpq__block_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; };
struct lpq__block_q8_0 { uint16_t d; int8_t qs[32]; };
struct lpq__block_q8_1 { uint16_t d, s; int8_t qs[32]; };

struct lpq__block_q2_k { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; };
struct lpq__block_q3_k { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; };
struct lpq__block_q4_k { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct lpq__block_q5_k { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct lpq__block_q6_k { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };
struct lpq__block_q8_k { float d; int8_t qs[256]; int16_t bsums[16]; };

struct lpq__block_iq4_nl { uint16_t d; uint8_t qs[16]; };
struct lpq__block_iq4_xs { uint16_t d; uint16_t scales_h; uint8_t scales_l[4]; uint8_t qs[128]; };

static_assert(sizeof(struct lpq__block_q4_0) == 18, "Q4_0 block is 18 bytes");
static_assert(sizeof(struct lpq__block_q4_1) == 20, "Q4_1 block is 20 bytes");
static_assert(sizeof(struct lpq__block_q5_0) == 22, "Q5_0 block is 22 bytes");
static_assert(sizeof(struct lpq__block_q5_1) == 24, "Q5_1 block is 24 bytes");
static_assert(sizeof(struct lpq__block_q8_0) == 34, "Q8_0 block is 34 bytes");
static_assert(sizeof(struct lpq__block_q8_1) == 36, "Q8_1 block is 36 bytes");
static_assert(sizeof(struct lpq__block_q2_k) == 84, "Q2_K block is 84 bytes");
static_assert(sizeof(struct lpq__block_q3_k) == 110, "Q3_K block is 110 bytes");
static_assert(sizeof(struct lpq__block_q4_k) == 144, "Q4_K block is 144 bytes");
static_assert(sizeof(struct lpq__block_q5_k) == 176, "Q5_K block is 176 bytes");
static_assert(sizeof(struct lpq__block_q6_k) == 210, "Q6_K block is 210 bytes");
static_assert(sizeof(struct lpq__block_q8_k) == 292, "Q8_K block is 292 bytes");
static_assert(sizeof(struct lpq__block_iq4_nl) == 18, "IQ4_NL block is 18 bytes");
static_assert(sizeof(struct lpq__block_iq4_xs) == 136, "IQ4_XS block is 136 bytes");

/* The 16 IQ4_NL/IQ4_XS levels: part of the file format. */
extern const int8_t lpq__iq4_levels[16];

/* ---- scalar conversions ----------------------------------------------------------------- */
static inline float lpq__bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t lpq__f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Exact: every half value, subnormals included, is a float. */
static inline float lpq__f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return lpq__bits_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in float */
        float v = (float)man * 0x1p-24f;
        return lpq__bits_f32(lpq__f32_bits(v) | sign);
    }
    return lpq__bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

/* Round to nearest, ties to even; overflow to Inf, gradual underflow; NaN stays a quiet NaN. */
static inline uint16_t lpq__f32_to_f16(float f) {
    uint32_t x = lpq__f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);   /* >= 65520: rounds to Inf */
    if (ax >= 0x38800000u) {                                    /* normal half */
        uint32_t h = (ax - 0x38000000u) >> 13;
        uint32_t rem = ax & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    if (ax < 0x33000000u) return sign;                          /* <= 2^-25: rounds to 0 */
    /* subnormal half: units of 2^-24 */
    uint32_t e = ax >> 23;                                      /* 102..112 */
    uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e;                                  /* 14..24 */
    uint32_t r = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (r & 1u))) r++;
    return (uint16_t)(sign | r);
}

/* For block scales: like lpq__f32_to_f16 but saturating at ±65504 instead of Inf, so a
 * block of huge weights still dequantizes to finite (clipped) values. */
static inline uint16_t lpq__f32_to_f16_sat(float f) {
    uint16_t h = lpq__f32_to_f16(f);
    if ((h & 0x7fffu) == 0x7c00u) h = (uint16_t)((h & 0x8000u) | 0x7bffu);
    return h;
}

static inline float lpq__bf16_to_f32(uint16_t h) { return lpq__bits_f32((uint32_t)h << 16); }

static inline uint16_t lpq__f32_to_bf16(float f) {
    uint32_t u = lpq__f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);  /* quiet NaN */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* Nearest integer, ties to even, without a libm call in inner loops: adding 1.5 * 2^23
 * leaves the rounded integer in the low mantissa bits. Valid for |v| < 2^22; callers clamp
 * their operands far inside that. */
static inline int lpq__round(float v) {
    float t = v + 12582912.0f;
    uint32_t u;
    memcpy(&u, &t, 4);
    return (int)(u & 0x007fffffu) - 0x00400000;
}

/* roundf() semantics (ties away from zero) without the call; |v| < 2^23. */
static inline int lpq__round_away(float v) {
    int i = (int)v;                    /* truncates */
    float frac = v - (float)i;         /* exact */
    if (frac >= 0.5f) i++;
    else if (frac <= -0.5f) i--;
    return i;
}

static inline int lpq__clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* round(v) clamped to [lo, hi]; clamps first so any finite v is safe. */
static inline int lpq__round_clamp(float v, int lo, int hi) {
    if (!(v > (float)lo)) return lo;   /* also catches NaN */
    if (v > (float)hi) return hi;
    return lpq__clampi(lpq__round(v), lo, hi);
}

/* true when all n values are finite (the from_float precondition). */
static inline bool lpq__all_finite(const float *x, int64_t n) {
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
    }
    return bad == 0;
}

/* f16 neighbours tried for a block scale: in the subnormal range (small weights, e.g. Q6_K's
 * d ≈ 3e-6 for weights ~0.02) the rounded scale is coarse and a neighbour with other integer
 * sub-scales often fits better. Writes the candidate bit patterns around h (same sign,
 * finite; never 0 when `nonzero`, so tiny weights get the smallest subnormal rather than 0;
 * only h itself when !nonzero) and returns their count (<= 2*LPQ__SCALE_NEIGHBOURS + 1). */
#define LPQ__SCALE_NEIGHBOURS 2
static inline int lpq__scale_candidates(uint16_t h, bool nonzero, uint16_t *out) {
    int n = 0;
    const int mag = h & 0x7fff, sign = h & 0x8000;
    for (int k = -LPQ__SCALE_NEIGHBOURS; k <= LPQ__SCALE_NEIGHBOURS; k++) {
        int v = mag + k;
        if (v > 0x7bff || v < 0 || (v == 0 && nonzero)) continue;
        out[n++] = (uint16_t)(sign | v);
        if (!nonzero) break;   /* all-zero block: d = 0 only */
    }
    return n;
}

/* ---- IQ4 grid lookup ---------------------------------------------------------------------- */
/* Index of the IQ4 level nearest to v (v already divided by the scale). */
static inline int lpq__iq4_nearest(float v) {
    /* levels ascending; boundaries are the midpoints */
    static const float mid[15] = {
        -115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
        7.0f, 19.0f, 31.5f, 45.5f, 61.0f, 79.0f, 101.0f,
    };
    int lo = 0;
    for (int step = 8; step > 0; step >>= 1) {
        if (lo + step <= 15 && v > mid[lo + step - 1]) lo += step;
    }
    return lo;
}

/* ---- codec entry points (trait table targets) -------------------------------------------- */
#define LPQ__CODEC(name)                                                               \
    void lpq__##name##_to_float(const void *src, float *dst, int64_t n);               \
    bool lpq__##name##_from_float(const float *src, void *dst, int64_t n, const float *imp);

LPQ__CODEC(f32)
LPQ__CODEC(f16)
LPQ__CODEC(bf16)
LPQ__CODEC(q4_0)
LPQ__CODEC(q4_1)
LPQ__CODEC(q5_0)
LPQ__CODEC(q5_1)
LPQ__CODEC(q8_0)
LPQ__CODEC(q8_1)
LPQ__CODEC(q2_k)
LPQ__CODEC(q3_k)
LPQ__CODEC(q4_k)
LPQ__CODEC(q5_k)
LPQ__CODEC(q6_k)
LPQ__CODEC(q8_k)
LPQ__CODEC(iq4_nl)
LPQ__CODEC(iq4_xs)

#undef LPQ__CODEC

#endif /* LPQ_CODECS_IMPL_H */
