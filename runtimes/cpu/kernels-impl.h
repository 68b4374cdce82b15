/*
 * kernels-impl.h — internals shared by the kernel files (cpu-features.c, kernels-*.c) and their
 * test: the block layouts the kernels read, scalar half/bfloat conversions, and the per-ISA
 * ops tables. Only those files and tests/runtimes/test_kernels.c include it.
 */
#ifndef LPQ_CPU_KERNELS_IMPL_H
#define LPQ_CPU_KERNELS_IMPL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "runtimes/cpu/kernels.h"

/*
 * Block layouts (GGUF, little-endian, packed, no padding; see ../shared/docs/FORMATS.md).
 * Kept here rather than borrowed from quant/ so the kernels depend only on the file format.
 * 32-weight blocks: weight j < 16 sits in the low nibble of qs[j], weight j + 16 in the high one.
 *   Q4_0   18 B: d f16 | qs[16]                    w = d (q - 8)
 *   Q4_1   20 B: d f16 | m f16 | qs[16]            w = d q + m
 *   Q5_0   22 B: d f16 | qh u32 | qs[16]           bit j of qh = 5th bit of weight j; w = d (q - 16)
 *   Q5_1   24 B: d f16 | m f16 | qh u32 | qs[16]   w = d q + m
 *   Q8_0   34 B: d f16 | qs i8[32]                 w = d q
 *   Q8_1   36 B: d f16 | s f16 (= d Σq) | qs i8[32]
 *   IQ4_NL 18 B: d f16 | qs[16]                    w = d K[q]
 * 256-weight super-blocks:
 *   Q2_K   84 B: scales[16] (lo nibble scale, hi nibble min) | qs[64] | d f16 | dmin f16
 *   Q3_K  110 B: hmask[32] | qs[64] | scales[12] (16 x 6 bit, offset 32) | d f16
 *   Q4_K  144 B: d f16 | dmin f16 | scales[12] (8 x 6-bit scale, 8 x 6-bit min) | qs[128]
 *   Q5_K  176 B: d f16 | dmin f16 | scales[12] | qh[32] | qs[128]
 *   Q6_K  210 B: ql[128] | qh[64] | scales i8[16] | d f16
 *   Q8_K  292 B: d f32 | qs i8[256] | bsums i16[16] (sum of each 16 qs)
 *   IQ4_XS 136 B: d f16 | scales_h u16 | scales_l[4] | qs[128]   8 x 32 with 6-bit scale - 32
 * Q2_K/Q3_K: weight 128 h + 32 j + l (h < 2, j < 4, l < 32) is 2-bit field j of qs[32 h + l]
 * (Q3_K: high bit = bit 4 h + j of hmask[l]); its scale index is 8 h + 2 j + l / 16.
 */
#define LPQ__QK    32
#define LPQ__QK_K  256

struct lpq__blk_q4_0 { uint16_t d; uint8_t qs[16]; };
struct lpq__blk_q4_1 { uint16_t d, m; uint8_t qs[16]; };
struct lpq__blk_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };
struct lpq__blk_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; };
struct lpq__blk_q8_0 { uint16_t d; int8_t qs[32]; };
struct lpq__blk_q8_1 { uint16_t d, s; int8_t qs[32]; };
struct lpq__blk_iq4_nl { uint16_t d; uint8_t qs[16]; };
struct lpq__blk_q2_k { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; };
struct lpq__blk_q3_k { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; };
struct lpq__blk_q4_k { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct lpq__blk_q5_k { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct lpq__blk_q6_k { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };
struct lpq__blk_q8_k { float d; int8_t qs[256]; int16_t bsums[16]; };
struct lpq__blk_iq4_xs { uint16_t d; uint16_t scales_h; uint8_t scales_l[4]; uint8_t qs[128]; };

_Static_assert(sizeof(struct lpq__blk_q4_0) == 18, "Q4_0 block");
_Static_assert(sizeof(struct lpq__blk_q4_1) == 20, "Q4_1 block");
_Static_assert(sizeof(struct lpq__blk_q5_0) == 22, "Q5_0 block");
_Static_assert(sizeof(struct lpq__blk_q5_1) == 24, "Q5_1 block");
_Static_assert(sizeof(struct lpq__blk_q8_0) == 34, "Q8_0 block");
_Static_assert(sizeof(struct lpq__blk_q8_1) == 36, "Q8_1 block");
_Static_assert(sizeof(struct lpq__blk_iq4_nl) == 18, "IQ4_NL block");
_Static_assert(sizeof(struct lpq__blk_q2_k) == 84, "Q2_K block");
_Static_assert(sizeof(struct lpq__blk_q3_k) == 110, "Q3_K block");
_Static_assert(sizeof(struct lpq__blk_q4_k) == 144, "Q4_K block");
_Static_assert(sizeof(struct lpq__blk_q5_k) == 176, "Q5_K block");
_Static_assert(sizeof(struct lpq__blk_q6_k) == 210, "Q6_K block");
_Static_assert(sizeof(struct lpq__blk_q8_k) == 292, "Q8_K block");
_Static_assert(sizeof(struct lpq__blk_iq4_xs) == 136, "IQ4_XS block");

/* The IQ4_NL / IQ4_XS codebook (part of the format). */
static const int8_t lpq__iq4nl_values[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

/* Exact IEEE half -> float (subnormals kept); the kernels' hot scalar paths inline this. */
static inline float lpq__f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        /* subnormal: value = man * 2^-24, exact in float */
        float f = (float)man * 5.9604644775390625e-8f;
        uint32_t fb;
        memcpy(&fb, &f, 4);
        bits = sign | fb;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* float -> half, round to nearest even, NaN stays NaN, overflow -> Inf. */
static inline uint16_t lpq__f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520 */
    if (ax < 0x38800000u) {
        /* result subnormal or zero: add 0.5 (as float) so the FPU rounds at 2^-24 */
        float a, r;
        memcpy(&a, &ax, 4);
        r = a + 0.5f;
        uint32_t rb;
        memcpy(&rb, &r, 4);
        return (uint16_t)(sign | (rb - 0x3f000000u));
    }
    uint32_t odd = (ax >> 13) & 1u;
    ax += 0xc8000fffu + odd; /* rebias exponent (-112 << 23) and round to nearest even */
    return (uint16_t)(sign | (ax >> 13));
}

static inline float lpq__bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* The Q8_0/Q8_1 activation scale as quant/'s codec stores it: f16, saturating (no Inf). */
static inline uint16_t lpq__q8_scale_f16(float d) {
    uint16_t h = lpq__f32_to_f16(d);
    if ((h & 0x7fffu) == 0x7c00u) h = (uint16_t)((h & 0x8000u) | 0x7bffu);
    return h;
}

/* Q8_0/Q8_1 block whose f16 scale is subnormal (amax < ~7.8e-3): like quant/'s codec, q is
 * computed against the stored scale (at least the smallest subnormal), rounding half to
 * even, so tiny activations keep their resolution. Returns Σq; *d16 and *d_eff updated. */
static inline int lpq__q8_block_subnormal(const float *x, int8_t *qs, uint16_t *d16, float *d_eff) {
    if (*d16 == 0) *d16 = 1;
    float d = lpq__f16_to_f32(*d16), id = 1.0f / d;
    int sum = 0;
    for (int j = 0; j < 32; j++) {
        float v = x[j] * id;
        int q = v >= 127.0f ? 127 : (v <= -127.0f ? -127 : (int)nearbyintf(v));
        qs[j] = (int8_t)q;
        sum += q;
    }
    *d_eff = d;
    return sum;
}

/* Q4_K / Q5_K: unpack scale and min of sub-block j (< 8) from the 12 packed bytes. */
static inline void lpq__k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Q4_K / Q5_K: all 8 scales and mins at once (same result as lpq__k4_scale_min), by words. */
static inline void lpq__k4_unpack(const uint8_t *q, uint8_t sc[8], uint8_t m[8]) {
    uint32_t u[3], t[4];
    memcpy(u, q, 12);
    t[0] = u[0] & 0x3f3f3f3fu;
    t[1] = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    t[2] = u[1] & 0x3f3f3f3fu;
    t[3] = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    memcpy(sc, &t[0], 8);
    memcpy(m, &t[2], 8);
}

/* Q3_K: the 16 6-bit scales, offset removed (-32 .. 31). */
static inline void lpq__q3k_scales(const uint8_t *q, int8_t *out) {
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? (q[j] & 0xf) : (q[j - 8] >> 4);
        int hi = (q[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
        out[j] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

/* Q3_K scales by words (same result as lpq__q3k_scales): out[j] = 6-bit value, offset kept. */
static inline void lpq__q3k_scales_raw(const uint8_t *q, uint8_t out[16]) {
    uint32_t a[3], t[4];
    memcpy(a, q, 12);
    t[0] = (a[0] & 0x0f0f0f0fu) | ((a[2] & 0x03030303u) << 4);
    t[1] = (a[1] & 0x0f0f0f0fu) | (((a[2] >> 2) & 0x03030303u) << 4);
    t[2] = ((a[0] >> 4) & 0x0f0f0f0fu) | (((a[2] >> 4) & 0x03030303u) << 4);
    t[3] = ((a[1] >> 4) & 0x0f0f0f0fu) | (((a[2] >> 6) & 0x03030303u) << 4);
    memcpy(out, t, 16);
}

/* IQ4_XS: 6-bit scale of sub-block j (< 8), offset removed. */
static inline int lpq__iq4xs_scale(const struct lpq__blk_iq4_xs *b, int j) {
    int lo = (b->scales_l[j / 2] >> (4 * (j % 2))) & 0xf;
    int hi = (b->scales_h >> (2 * j)) & 3;
    return (lo | (hi << 4)) - 32;
}

/*
 * From one column-generic kernel k_<T>(n, w, a, a_stride, out, NC) — dot of weight row w with
 * NC activation rows a + c*a_stride into out[c], NC a literal so the compiler unrolls — build
 * vec_dot_<T> (NC = 1) and gemm_<T>. gemm walks 16 weight rows at a time (they stay in L1)
 * against every group of 4 activation rows (they stay in L2), so each weight byte comes from
 * DRAM once however many columns there are.
 */
#define LPQ__ROW_BLOCK 16
#define LPQ__DEFINE_ROW_KERNELS(T)                                                             \
    static void vec_dot_##T(int64_t n, float *s, const void *w, const void *a) {               \
        k_##T(n, w, (const uint8_t *)a, 0, s, 1);                                              \
    }                                                                                          \
    static void gemm_##T(int64_t n, int64_t nr, int64_t nc, float *s, int64_t s_stride,        \
                         const void *w, size_t w_stride, const void *a, size_t a_stride) {     \
        const uint8_t *wb = w, *ab = a;                                                        \
        for (int64_t r0 = 0; r0 < nr; r0 += LPQ__ROW_BLOCK) {                                  \
            int64_t r1 = r0 + LPQ__ROW_BLOCK < nr ? r0 + LPQ__ROW_BLOCK : nr;                  \
            int64_t c = 0;                                                                     \
            for (; c + 4 <= nc; c += 4)                                                        \
                for (int64_t r = r0; r < r1; r++) {                                            \
                    float t[4];                                                                \
                    k_##T(n, wb + (size_t)r * w_stride, ab + (size_t)c * a_stride, a_stride, t, 4); \
                    for (int j = 0; j < 4; j++) s[(c + j) * s_stride + r] = t[j];              \
                }                                                                              \
            for (; c < nc; c++)                                                                \
                for (int64_t r = r0; r < r1; r++)                                              \
                    k_##T(n, wb + (size_t)r * w_stride, ab + (size_t)c * a_stride, 0,          \
                          &s[c * s_stride + r], 1);                                            \
        }                                                                                      \
    }

/* Per-ISA ops tables, indexed by GGUF type id; entries with vec_dot == NULL are absent.
 * The SIMD tables hold only the types they accelerate; lpq_cpu_ops_get falls back per type. */
const struct lpq_cpu_ops *lpq__cpu_ops_scalar(uint32_t type);
const struct lpq_cpu_ops *lpq__cpu_ops_avx2(uint32_t type);
const struct lpq_cpu_ops *lpq__cpu_ops_avx512(uint32_t type);

/* AVX2 activation quantizers, shared with the AVX-512 table (bit-identical to scalar). */
void lpq__quantize_q8_0_avx2(const float *x, void *y, int64_t n);
void lpq__quantize_q8_1_avx2(const float *x, void *y, int64_t n);
void lpq__quantize_q8_k_avx2(const float *x, void *y, int64_t n);
void lpq__quantize_f32_avx2(const float *x, void *y, int64_t n);

void lpq__vec_dot_f32_scalar(int64_t n, float *s, const float *x, const float *y);
void lpq__vec_dot_f32_avx2(int64_t n, float *s, const float *x, const float *y);
void lpq__vec_dot_f32_avx512(int64_t n, float *s, const float *x, const float *y);
void lpq__vec_axpy_f32_scalar(int64_t n, float *y, float a, const float *x);
void lpq__vec_axpy_f32_avx2(int64_t n, float *y, float a, const float *x);
void lpq__vec_axpy_f32_avx512(int64_t n, float *y, float a, const float *x);
void lpq__vec_f16_to_f32_scalar(int64_t n, float *y, const uint16_t *x);
void lpq__vec_f16_to_f32_avx2(int64_t n, float *y, const uint16_t *x);
void lpq__vec_f16_to_f32_avx512(int64_t n, float *y, const uint16_t *x);

#endif /* LPQ_CPU_KERNELS_IMPL_H */
