/*
 * kernels-avx2.c — AVX2 + FMA + F16C kernels: dot products for every weight type with 8-bit
 * activations (vpmaddubsw on |w| and sign-adjusted activations, then vpmaddwd), float dots
 * for F32/F16/BF16, and the blocked gemm built from the same column-generic kernels.
 * Compiled for AVX2 with a target pragma so a portable build keeps them; dispatch is at run time.
 */
#include <math.h>
#include <string.h>

#include "quant/types.h"
#include "runtimes/cpu/kernels-impl.h"

#if defined(__x86_64__) || defined(__i386__)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
/* NC and the sub-block counts are literals after inlining: unroll so accumulators stay in registers */
#define UNROLL _Pragma("GCC unroll 16")

/* ---- helpers --------------------------------------------------------------------------- */

INLINE float hsum_ps(__m256 v) {
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

INLINE float f16(uint16_t h) { return _cvtsh_ss(h); }

/* 16 packed bytes -> 32 nibbles: low nibbles (weights 0-15) then high ones (16-31). */
INLINE __m256i nibbles32(const uint8_t *qs) {
    __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

/* 32 bits -> 32 bytes, 0xff where the bit is set. */
INLINE __m256i bits32(const uint8_t *p) {
    uint32_t bits;
    memcpy(&bits, p, 4);
    __m256i v = _mm256_set1_epi32((int)bits);
    v = _mm256_shuffle_epi8(v, _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                 0x0101010101010101, 0));
    v = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
}

/* Σ u·s over 4 byte pairs into 8 int32 (u unsigned ≤ 127·2 products fit int16). */
INLINE __m256i dot_us(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* ---- float weights --------------------------------------------------------------------- */

#define F_LOOP(LOADW)                                                                        \
    const int U = NC == 1 ? 4 : 2;                                                           \
    __m256 acc[4][4];                                                                       \
    UNROLL for (int c = 0; c < NC; c++)                                                            \
        UNROLL for (int u = 0; u < U; u++) acc[c][u] = _mm256_setzero_ps();                        \
    int64_t i = 0;                                                                          \
    for (; i + 8 * U <= n; i += 8 * U)                                                      \
        UNROLL for (int u = 0; u < U; u++) {                                                       \
            __m256 wv = LOADW(i + 8 * u);                                                   \
            UNROLL for (int c = 0; c < NC; c++) {                                                  \
                const float *y = (const float *)(a + (size_t)c * as);                       \
                acc[c][u] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(y + i + 8 * u), acc[c][u]); \
            }                                                                               \
        }                                                                                   \
    for (; i + 8 <= n; i += 8) {                                                            \
        __m256 wv = LOADW(i);                                                               \
        UNROLL for (int c = 0; c < NC; c++) {                                                      \
            const float *y = (const float *)(a + (size_t)c * as);                           \
            acc[c][0] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(y + i), acc[c][0]);             \
        }                                                                                   \
    }                                                                                       \
    UNROLL for (int c = 0; c < NC; c++) {                                                          \
        UNROLL for (int u = 1; u < U; u++) acc[c][0] = _mm256_add_ps(acc[c][0], acc[c][u]);       \
        out[c] = hsum_ps(acc[c][0]);                                                        \
    }

INLINE void k_f32(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const float *x = w;
#define LOADW_F32(j) _mm256_loadu_ps(x + (j))
    F_LOOP(LOADW_F32)
    UNROLL for (int c = 0; c < NC; c++) {
        const float *y = (const float *)(a + (size_t)c * as);
        for (int64_t j = i; j < n; j++) out[c] += x[j] * y[j];
    }
}

INLINE void k_f16(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const uint16_t *x = w;
#define LOADW_F16(j) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + (j))))
    F_LOOP(LOADW_F16)
    UNROLL for (int c = 0; c < NC; c++) {
        const float *y = (const float *)(a + (size_t)c * as);
        for (int64_t j = i; j < n; j++) out[c] += f16(x[j]) * y[j];
    }
}

INLINE void k_bf16(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const uint16_t *x = w;
#define LOADW_BF16(j) \
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(x + (j)))), 16))
    F_LOOP(LOADW_BF16)
    UNROLL for (int c = 0; c < NC; c++) {
        const float *y = (const float *)(a + (size_t)c * as);
        for (int64_t j = i; j < n; j++) out[c] += lpq__bf16_to_f32(x[j]) * y[j];
    }
}

LPQ__DEFINE_ROW_KERNELS(f32)
LPQ__DEFINE_ROW_KERNELS(f16)
LPQ__DEFINE_ROW_KERNELS(bf16)

/* ---- 32-weight blocks against Q8_0 / Q8_1 ----------------------------------------------- */

/* Signed weights (-128..127) of one block as 32 bytes. */
INLINE __m256i w_q4_0(const struct lpq__blk_q4_0 *b) {
    return _mm256_sub_epi8(nibbles32(b->qs), _mm256_set1_epi8(8));
}
INLINE __m256i w_q5_0(const struct lpq__blk_q5_0 *b) {
    /* q - 16 = nibble - 16 where the 5th bit is clear: set the high nibble there */
    __m256i hi = _mm256_andnot_si256(bits32(b->qh), _mm256_set1_epi8((char)0xf0));
    return _mm256_or_si256(nibbles32(b->qs), hi);
}
INLINE __m256i w_q8_0(const struct lpq__blk_q8_0 *b) {
    return _mm256_loadu_si256((const __m256i *)b->qs);
}
INLINE __m256i w_iq4_nl(const struct lpq__blk_iq4_nl *b) {
    const __m256i tab = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)lpq__iq4nl_values));
    return _mm256_shuffle_epi8(tab, nibbles32(b->qs));
}

/* Signed-weight block types × Q8_0: Σ blocks d_w d_a Σ w·a, |w| × sign-adjusted a. */
#define DEF_SIGNED_Q8_0(T, BLK)                                                                \
    INLINE void step_##T(const struct BLK *xb, const uint8_t *a, size_t as, int64_t i,        \
                         __m256 *acc, const int NC) {                                          \
        __m256i wv = w_##T(xb);                                                                \
        __m256i u = _mm256_sign_epi8(wv, wv);                                                  \
        float dw = f16(xb->d);                                                                 \
        UNROLL for (int c = 0; c < NC; c++) {                                                         \
            const struct lpq__blk_q8_0 *y = (const struct lpq__blk_q8_0 *)(a + (size_t)c * as) + i; \
            __m256i av = _mm256_loadu_si256((const __m256i *)y->qs);                           \
            __m256 p = _mm256_cvtepi32_ps(dot_us(u, _mm256_sign_epi8(av, wv)));                \
            acc[c] = _mm256_fmadd_ps(p, _mm256_set1_ps(dw * f16(y->d)), acc[c]);               \
        }                                                                                      \
    }                                                                                          \
    INLINE void k_##T(int64_t n, const void *w, const uint8_t *a, size_t as, float *out,      \
                      const int NC) {                                                          \
        const struct BLK *x = w;                                                               \
        __m256 acc0[4], acc1[4];                                                               \
        UNROLL for (int c = 0; c < NC; c++) acc0[c] = acc1[c] = _mm256_setzero_ps();                  \
        int64_t nb = n / LPQ__QK, i = 0;                                                       \
        for (; i + 2 <= nb; i += 2) {                                                          \
            step_##T(&x[i], a, as, i, acc0, NC);                                               \
            step_##T(&x[i + 1], a, as, i + 1, acc1, NC);                                       \
        }                                                                                      \
        if (i < nb) step_##T(&x[i], a, as, i, acc0, NC);                                       \
        UNROLL for (int c = 0; c < NC; c++) out[c] = hsum_ps(_mm256_add_ps(acc0[c], acc1[c]));       \
    }

DEF_SIGNED_Q8_0(q4_0, lpq__blk_q4_0)
DEF_SIGNED_Q8_0(q5_0, lpq__blk_q5_0)
DEF_SIGNED_Q8_0(q8_0, lpq__blk_q8_0)
DEF_SIGNED_Q8_0(iq4_nl, lpq__blk_iq4_nl)

INLINE __m256i w_q4_1(const struct lpq__blk_q4_1 *b) { return nibbles32(b->qs); }
INLINE __m256i w_q5_1(const struct lpq__blk_q5_1 *b) {
    __m256i hi = _mm256_and_si256(bits32(b->qh), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(nibbles32(b->qs), hi);
}

/* Offset block types (w = d q + m, q unsigned) × Q8_1: d_w d_a Σ q·a + m s_a. */
#define DEF_OFFSET_Q8_1(T, BLK)                                                                \
    INLINE void step_##T(const struct BLK *xb, const uint8_t *a, size_t as, int64_t i,        \
                         __m256 *acc, float *ms, const int NC) {                               \
        __m256i u = w_##T(xb);                                                                 \
        float dw = f16(xb->d), mw = f16(xb->m);                                                \
        UNROLL for (int c = 0; c < NC; c++) {                                                         \
            const struct lpq__blk_q8_1 *y = (const struct lpq__blk_q8_1 *)(a + (size_t)c * as) + i; \
            __m256i av = _mm256_loadu_si256((const __m256i *)y->qs);                           \
            __m256 p = _mm256_cvtepi32_ps(dot_us(u, av));                                      \
            acc[c] = _mm256_fmadd_ps(p, _mm256_set1_ps(dw * f16(y->d)), acc[c]);               \
            ms[c] += mw * f16(y->s);                                                           \
        }                                                                                      \
    }                                                                                          \
    INLINE void k_##T(int64_t n, const void *w, const uint8_t *a, size_t as, float *out,      \
                      const int NC) {                                                          \
        const struct BLK *x = w;                                                               \
        __m256 acc0[4], acc1[4];                                                               \
        float ms[4] = {0};                                                                     \
        UNROLL for (int c = 0; c < NC; c++) acc0[c] = acc1[c] = _mm256_setzero_ps();                  \
        int64_t nb = n / LPQ__QK, i = 0;                                                       \
        for (; i + 2 <= nb; i += 2) {                                                          \
            step_##T(&x[i], a, as, i, acc0, ms, NC);                                           \
            step_##T(&x[i + 1], a, as, i + 1, acc1, ms, NC);                                   \
        }                                                                                      \
        if (i < nb) step_##T(&x[i], a, as, i, acc0, ms, NC);                                   \
        UNROLL for (int c = 0; c < NC; c++) out[c] = hsum_ps(_mm256_add_ps(acc0[c], acc1[c])) + ms[c]; \
    }

DEF_OFFSET_Q8_1(q4_1, lpq__blk_q4_1)
DEF_OFFSET_Q8_1(q5_1, lpq__blk_q5_1)

LPQ__DEFINE_ROW_KERNELS(q4_0)
LPQ__DEFINE_ROW_KERNELS(q5_0)
LPQ__DEFINE_ROW_KERNELS(q8_0)
LPQ__DEFINE_ROW_KERNELS(iq4_nl)
LPQ__DEFINE_ROW_KERNELS(q4_1)
LPQ__DEFINE_ROW_KERNELS(q5_1)

/* ---- 256-weight super-blocks against Q8_K ----------------------------------------------- */

#define Y_K(c, i) ((const struct lpq__blk_q8_k *)(a + (size_t)(c) * as) + (i))
#define LOAD_A(c, i, off) _mm256_loadu_si256((const __m256i *)(Y_K(c, i)->qs + (off)))

/* Scale pair (s[i0] for bytes 0-15, s[i1] for 16-31) as 16 int16, from 16 int8 scales. */
INLINE __m256i scale_pair(__m128i sc8, int i0, int i1) {
    __m128i idx = _mm_set_epi64x(0x0101010101010101LL * i1, 0x0101010101010101LL * i0);
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, idx));
}

INLINE void k_q4_k(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const struct lpq__blk_q4_k *x = w;
    __m256 acc[4], macc[4];
    UNROLL for (int c = 0; c < NC; c++) acc[c] = macc[c] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        uint8_t sc[8], mn[8];
        lpq__k4_unpack(x[i].scales, sc, mn);
        __m256i isum[4];
        UNROLL for (int c = 0; c < NC; c++) isum[c] = _mm256_setzero_si256();
        UNROLL for (int g = 0; g < 4; g++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * g));
            __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            __m256i slo = _mm256_set1_epi16(sc[2 * g]), shi = _mm256_set1_epi16(sc[2 * g + 1]);
            UNROLL for (int c = 0; c < NC; c++) {
                __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, LOAD_A(c, i, 64 * g)), slo);
                __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, LOAD_A(c, i, 64 * g + 32)), shi);
                isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(p0, p1));
            }
        }
        uint64_t m8;
        memcpy(&m8, mn, 8);
        __m256i mv = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)m8));
        mv = _mm256_or_si256(mv, _mm256_slli_epi32(mv, 16)); /* m_j in both int16 halves */
        float dw = f16(x[i].d), dm = f16(x[i].dmin);
        UNROLL for (int c = 0; c < NC; c++) {
            const struct lpq__blk_q8_k *y = Y_K(c, i);
            __m256i bs = _mm256_loadu_si256((const __m256i *)y->bsums);
            __m256i mins = _mm256_madd_epi16(bs, mv);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_set1_ps(dw * y->d), acc[c]);
            macc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(dm * y->d), macc[c]);
        }
    }
    UNROLL for (int c = 0; c < NC; c++) out[c] = hsum_ps(_mm256_sub_ps(acc[c], macc[c]));
}

INLINE void k_q5_k(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const struct lpq__blk_q5_k *x = w;
    __m256 acc[4], macc[4];
    UNROLL for (int c = 0; c < NC; c++) acc[c] = macc[c] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        uint8_t sc[8], mn[8];
        lpq__k4_unpack(x[i].scales, sc, mn);
        __m256i qh = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m256i isum[4];
        UNROLL for (int c = 0; c < NC; c++) isum[c] = _mm256_setzero_si256();
        UNROLL for (int g = 0; g < 4; g++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * g));
            __m256i hlo = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * g), one), 4);
            __m256i hhi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * g + 1), one), 4);
            __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), hlo);
            __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), hhi);
            __m256i slo = _mm256_set1_epi16(sc[2 * g]), shi = _mm256_set1_epi16(sc[2 * g + 1]);
            UNROLL for (int c = 0; c < NC; c++) {
                __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, LOAD_A(c, i, 64 * g)), slo);
                __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, LOAD_A(c, i, 64 * g + 32)), shi);
                isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(p0, p1));
            }
        }
        uint64_t m8;
        memcpy(&m8, mn, 8);
        __m256i mv = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)m8));
        mv = _mm256_or_si256(mv, _mm256_slli_epi32(mv, 16));
        float dw = f16(x[i].d), dm = f16(x[i].dmin);
        UNROLL for (int c = 0; c < NC; c++) {
            const struct lpq__blk_q8_k *y = Y_K(c, i);
            __m256i bs = _mm256_loadu_si256((const __m256i *)y->bsums);
            __m256i mins = _mm256_madd_epi16(bs, mv);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_set1_ps(dw * y->d), acc[c]);
            macc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(dm * y->d), macc[c]);
        }
    }
    UNROLL for (int c = 0; c < NC; c++) out[c] = hsum_ps(_mm256_sub_ps(acc[c], macc[c]));
}

/* Q6_K: q = 6-bit unsigned (0..63); Σ(q-32)a = Σ q a - 32 Σ a, Σ a of each 16 from bsums. */
INLINE void k_q6_k(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const struct lpq__blk_q6_k *x = w;
    __m256 acc[4];
    UNROLL for (int c = 0; c < NC; c++) acc[c] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x30);
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        __m128i sc8 = _mm_loadu_si128((const __m128i *)x[i].scales);
        __m256i isum[4];
        __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        UNROLL for (int c = 0; c < NC; c++) {
            __m256i bs = _mm256_loadu_si256((const __m256i *)Y_K(c, i)->bsums);
            isum[c] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16), 5));
        }
        UNROLL for (int h = 0; h < 2; h++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h));
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m2));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2));
            UNROLL for (int k = 0; k < 4; k++) {
                __m256i s = scale_pair(sc8, 8 * h + 2 * k, 8 * h + 2 * k + 1);
                UNROLL for (int c = 0; c < NC; c++) {
                    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], LOAD_A(c, i, 128 * h + 32 * k)), s);
                    isum[c] = _mm256_add_epi32(isum[c], p);
                }
            }
        }
        float dw = f16(x[i].d);
        UNROLL for (int c = 0; c < NC; c++)
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_set1_ps(dw * Y_K(c, i)->d), acc[c]);
    }
    UNROLL for (int c = 0; c < NC; c++) out[c] = hsum_ps(acc[c]);
}

/* Q3_K: q' = 2 low bits | high bit << 2 (0..7), q = q' - 4; the -4 Σ a comes from bsums. */
INLINE void k_q3_k(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const struct lpq__blk_q3_k *x = w;
    __m256 acc[4];
    UNROLL for (int c = 0; c < NC; c++) acc[c] = _mm256_setzero_ps();
    const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        uint8_t raw[16];
        lpq__q3k_scales_raw(x[i].scales, raw);
        __m128i sc8 = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)raw), _mm_set1_epi8(32));
        __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        __m256i isum[4];
        UNROLL for (int c = 0; c < NC; c++) {
            __m256i bs = _mm256_loadu_si256((const __m256i *)Y_K(c, i)->bsums);
            isum[c] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16), 2));
        }
        __m256i hm = _mm256_loadu_si256((const __m256i *)x[i].hmask);
        UNROLL for (int h = 0; h < 2; h++) {
            __m256i qv = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
            UNROLL for (int j = 0; j < 4; j++) {
                __m256i lo = _mm256_and_si256(_mm256_srli_epi16(qv, 2 * j), m3);
                __m256i hb = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + j), one);
                __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(hb, 2));
                __m256i s = scale_pair(sc8, 8 * h + 2 * j, 8 * h + 2 * j + 1);
                UNROLL for (int c = 0; c < NC; c++) {
                    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, LOAD_A(c, i, 128 * h + 32 * j)), s);
                    isum[c] = _mm256_add_epi32(isum[c], p);
                }
            }
        }
        float dw = f16(x[i].d);
        UNROLL for (int c = 0; c < NC; c++)
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_set1_ps(dw * Y_K(c, i)->d), acc[c]);
    }
    UNROLL for (int c = 0; c < NC; c++) out[c] = hsum_ps(acc[c]);
}

INLINE void k_q2_k(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const struct lpq__blk_q2_k *x = w;
    __m256 acc[4], macc[4];
    UNROLL for (int c = 0; c < NC; c++) acc[c] = macc[c] = _mm256_setzero_ps();
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        __m128i raw = _mm_loadu_si128((const __m128i *)x[i].scales);
        __m128i sc8 = _mm_and_si128(raw, _mm_set1_epi8(0x0f));
        __m256i mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0f)));
        __m256i isum[4];
        UNROLL for (int c = 0; c < NC; c++) isum[c] = _mm256_setzero_si256();
        UNROLL for (int h = 0; h < 2; h++) {
            __m256i qv = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
            UNROLL for (int j = 0; j < 4; j++) {
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(qv, 2 * j), m3);
                __m256i s = scale_pair(sc8, 8 * h + 2 * j, 8 * h + 2 * j + 1);
                UNROLL for (int c = 0; c < NC; c++) {
                    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, LOAD_A(c, i, 128 * h + 32 * j)), s);
                    isum[c] = _mm256_add_epi32(isum[c], p);
                }
            }
        }
        float dw = f16(x[i].d), dm = f16(x[i].dmin);
        UNROLL for (int c = 0; c < NC; c++) {
            const struct lpq__blk_q8_k *y = Y_K(c, i);
            __m256i mins = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y->bsums), mn16);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_set1_ps(dw * y->d), acc[c]);
            macc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(dm * y->d), macc[c]);
        }
    }
    UNROLL for (int c = 0; c < NC; c++) out[c] = hsum_ps(_mm256_sub_ps(acc[c], macc[c]));
}

INLINE void k_iq4_xs(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const struct lpq__blk_iq4_xs *x = w;
    const __m256i tab = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)lpq__iq4nl_values));
    __m256 acc[4];
    UNROLL for (int c = 0; c < NC; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / LPQ__QK_K; i++) {
        __m256i isum[4];
        UNROLL for (int c = 0; c < NC; c++) isum[c] = _mm256_setzero_si256();
        UNROLL for (int sub = 0; sub < 8; sub++) {
            __m256i wv = _mm256_shuffle_epi8(tab, nibbles32(x[i].qs + 16 * sub));
            __m256i u = _mm256_sign_epi8(wv, wv);
            __m256i s = _mm256_set1_epi16((short)lpq__iq4xs_scale(&x[i], sub));
            UNROLL for (int c = 0; c < NC; c++) {
                __m256i av = LOAD_A(c, i, 32 * sub);
                __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(u, _mm256_sign_epi8(av, wv)), s);
                isum[c] = _mm256_add_epi32(isum[c], p);
            }
        }
        float dw = f16(x[i].d);
        UNROLL for (int c = 0; c < NC; c++)
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_set1_ps(dw * Y_K(c, i)->d), acc[c]);
    }
    UNROLL for (int c = 0; c < NC; c++) out[c] = hsum_ps(acc[c]);
}

LPQ__DEFINE_ROW_KERNELS(q2_k)
LPQ__DEFINE_ROW_KERNELS(q3_k)
LPQ__DEFINE_ROW_KERNELS(q4_k)
LPQ__DEFINE_ROW_KERNELS(q5_k)
LPQ__DEFINE_ROW_KERNELS(q6_k)
LPQ__DEFINE_ROW_KERNELS(iq4_xs)

/* ---- activation quantizers (bit-identical to the scalar ones) --------------------------- */

/* round half away from zero, as roundf: truncate, then step away where the rest is >= 0.5 */
INLINE __m256 round_away(__m256 v) {
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_sub_ps(v, t); /* exact */
    __m256 sgn = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
    __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), sgn);
    __m256 ge = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), r), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    return _mm256_add_ps(t, _mm256_and_ps(ge, one));
}

INLINE float block_amax32(const float *x) {
    const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_and_ps(_mm256_loadu_ps(x), abs);
    UNROLL for (int k = 1; k < 4; k++) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + 8 * k), abs));
    __m128 r = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    r = _mm_max_ps(r, _mm_movehl_ps(r, r));
    r = _mm_max_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

/* 32 floats -> 32 int8 (values already integral in -127..127), returns their sum */
INLINE int pack32(const __m256 v[4], int8_t *q) {
    __m256i i0 = _mm256_cvtps_epi32(v[0]), i1 = _mm256_cvtps_epi32(v[1]);
    __m256i i2 = _mm256_cvtps_epi32(v[2]), i3 = _mm256_cvtps_epi32(v[3]);
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
    __m256i p01 = _mm256_packs_epi32(i0, i1), p23 = _mm256_packs_epi32(i2, i3);
    __m256i p = _mm256_packs_epi16(p01, p23);
    /* packs works per 128-bit lane: restore order 0..31 */
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, p);
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    t = _mm_hadd_epi32(t, t);
    t = _mm_hadd_epi32(t, t);
    return _mm_cvtsi128_si32(t);
}

/* One Q8_0/Q8_1 block; returns Σq and the scale Σq pairs with (see kernels-scalar.c). */
INLINE int q8_block(const float *x, int8_t *qs, uint16_t *d16, float *d_eff) {
    float amax = block_amax32(x);
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    *d16 = lpq__q8_scale_f16(d);
    if ((*d16 & 0x7c00u) == 0 && d != 0.0f) return lpq__q8_block_subnormal(x, qs, d16, d_eff);
    __m256 v[4];
    UNROLL for (int k = 0; k < 4; k++) v[k] = round_away(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), _mm256_set1_ps(id)));
    *d_eff = d;
    return pack32(v, qs);
}

void lpq__quantize_q8_0_avx2(const float *x, void *y, int64_t n) {
    struct lpq__blk_q8_0 *b = y;
    for (int64_t i = 0; i < n / LPQ__QK; i++, x += LPQ__QK) {
        float d;
        q8_block(x, b[i].qs, &b[i].d, &d);
    }
}

void lpq__quantize_q8_1_avx2(const float *x, void *y, int64_t n) {
    struct lpq__blk_q8_1 *b = y;
    for (int64_t i = 0; i < n / LPQ__QK; i++, x += LPQ__QK) {
        float d;
        int sum = q8_block(x, b[i].qs, &b[i].d, &d);
        b[i].s = lpq__q8_scale_f16((float)sum * d);
    }
}

void lpq__quantize_q8_k_avx2(const float *x, void *y, int64_t n) {
    struct lpq__blk_q8_k *b = y;
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t i = 0; i < n / LPQ__QK_K; i++, x += LPQ__QK_K) {
        /* the first value of largest magnitude, sign kept (the scalar loop's choice) */
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 32; k++) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + 8 * k), absm));
        __m128 r = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        r = _mm_max_ps(r, _mm_movehl_ps(r, r));
        r = _mm_max_ss(r, _mm_movehdup_ps(r));
        float amax = _mm_cvtss_f32(r);
        if (amax == 0.0f) {
            memset(&b[i], 0, sizeof b[i]);
            continue;
        }
        float vmax = 0.0f;
        for (int j = 0; j < LPQ__QK_K; j++)
            if (x[j] == amax || x[j] == -amax) {
                vmax = x[j];
                break;
            }
        float iscale = -127.0f / vmax;
        UNROLL for (int k = 0; k < 8; k++) {
            __m256 v[4];
            UNROLL for (int u = 0; u < 4; u++) {
                __m256 t = _mm256_mul_ps(_mm256_loadu_ps(x + 32 * k + 8 * u), _mm256_set1_ps(iscale));
                t = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                v[u] = _mm256_min_ps(t, _mm256_set1_ps(127.0f));
            }
            pack32(v, b[i].qs + 32 * k);
        }
        for (int j = 0; j < 16; j++) {
            __m128i q = _mm_loadu_si128((const __m128i *)(b[i].qs + 16 * j));
            __m128i s16 = _mm_maddubs_epi16(_mm_set1_epi8(1), q);
            __m128i s32 = _mm_madd_epi16(s16, _mm_set1_epi16(1));
            s32 = _mm_hadd_epi32(s32, s32);
            s32 = _mm_hadd_epi32(s32, s32);
            b[i].bsums[j] = (int16_t)_mm_cvtsi128_si32(s32);
        }
        b[i].d = 1.0f / iscale;
    }
}

void lpq__quantize_f32_avx2(const float *x, void *y, int64_t n) {
    memcpy(y, x, (size_t)n * sizeof(float));
}

/* ---- float helpers ---------------------------------------------------------------------- */

void lpq__vec_dot_f32_avx2(int64_t n, float *s, const float *x, const float *y) {
    k_f32(n, x, (const uint8_t *)y, 0, s, 1);
}

void lpq__vec_axpy_f32_avx2(int64_t n, float *y, float a, const float *x) {
    __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
}

void lpq__vec_f16_to_f32_avx2(int64_t n, float *y, const uint16_t *x) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = f16(x[i]);
}

static const struct lpq_cpu_ops ops_avx2[LPQ_TYPE_COUNT] = {
    [LPQ_TYPE_F32] = {LPQ_TYPE_F32, lpq__quantize_f32_avx2, vec_dot_f32, gemm_f32},
    [LPQ_TYPE_F16] = {LPQ_TYPE_F32, lpq__quantize_f32_avx2, vec_dot_f16, gemm_f16},
    [LPQ_TYPE_BF16] = {LPQ_TYPE_F32, lpq__quantize_f32_avx2, vec_dot_bf16, gemm_bf16},
    [LPQ_TYPE_Q4_0] = {LPQ_TYPE_Q8_0, lpq__quantize_q8_0_avx2, vec_dot_q4_0, gemm_q4_0},
    [LPQ_TYPE_Q4_1] = {LPQ_TYPE_Q8_1, lpq__quantize_q8_1_avx2, vec_dot_q4_1, gemm_q4_1},
    [LPQ_TYPE_Q5_0] = {LPQ_TYPE_Q8_0, lpq__quantize_q8_0_avx2, vec_dot_q5_0, gemm_q5_0},
    [LPQ_TYPE_Q5_1] = {LPQ_TYPE_Q8_1, lpq__quantize_q8_1_avx2, vec_dot_q5_1, gemm_q5_1},
    [LPQ_TYPE_Q8_0] = {LPQ_TYPE_Q8_0, lpq__quantize_q8_0_avx2, vec_dot_q8_0, gemm_q8_0},
    [LPQ_TYPE_IQ4_NL] = {LPQ_TYPE_Q8_0, lpq__quantize_q8_0_avx2, vec_dot_iq4_nl, gemm_iq4_nl},
    [LPQ_TYPE_Q2_K] = {LPQ_TYPE_Q8_K, lpq__quantize_q8_k_avx2, vec_dot_q2_k, gemm_q2_k},
    [LPQ_TYPE_Q3_K] = {LPQ_TYPE_Q8_K, lpq__quantize_q8_k_avx2, vec_dot_q3_k, gemm_q3_k},
    [LPQ_TYPE_Q4_K] = {LPQ_TYPE_Q8_K, lpq__quantize_q8_k_avx2, vec_dot_q4_k, gemm_q4_k},
    [LPQ_TYPE_Q5_K] = {LPQ_TYPE_Q8_K, lpq__quantize_q8_k_avx2, vec_dot_q5_k, gemm_q5_k},
    [LPQ_TYPE_Q6_K] = {LPQ_TYPE_Q8_K, lpq__quantize_q8_k_avx2, vec_dot_q6_k, gemm_q6_k},
    [LPQ_TYPE_IQ4_XS] = {LPQ_TYPE_Q8_K, lpq__quantize_q8_k_avx2, vec_dot_iq4_xs, gemm_iq4_xs},
};

const struct lpq_cpu_ops *lpq__cpu_ops_avx2(uint32_t type) {
    if (type >= LPQ_TYPE_COUNT || !ops_avx2[type].vec_dot) return NULL;
    return &ops_avx2[type];
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else /* not x86 */

const struct lpq_cpu_ops *lpq__cpu_ops_avx2(uint32_t type) {
    (void)type;
    return NULL;
}
void lpq__vec_dot_f32_avx2(int64_t n, float *s, const float *x, const float *y) {
    lpq__vec_dot_f32_scalar(n, s, x, y);
}
void lpq__vec_axpy_f32_avx2(int64_t n, float *y, float a, const float *x) {
    lpq__vec_axpy_f32_scalar(n, y, a, x);
}
void lpq__vec_f16_to_f32_avx2(int64_t n, float *y, const uint16_t *x) {
    lpq__vec_f16_to_f32_scalar(n, y, x);
}

#endif
