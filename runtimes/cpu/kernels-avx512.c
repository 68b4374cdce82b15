/*
 * kernels-avx512.c — AVX-512 (F/BW/VL + VNNI) kernels: vpdpbusd (u8 x s8 -> s32) for the
 * integer dots (Q4_0/Q5_0/Q8_0/IQ4_NL: a pair kernel for vec_dot and a table-driven four-
 * blocks-per-register gemm; Q4_K), 16-wide FMA with 4x4 register tiles for float weights.
 * Types without a kernel here (Q4_1, Q5_1, Q2_K, Q3_K, Q5_K, Q6_K,
 * IQ4_XS) use the AVX2 one through lpq_cpu_ops_get: for Q5_K and Q6_K a 512-bit version was
 * measured no faster than AVX2 on Zen 5 and was removed.
 * Compiled with a target pragma so a portable build keeps them; dispatch is at run time.
 */
#include <math.h>
#include <string.h>

#include "quant/types.h"
#include "runtimes/cpu/kernels-impl.h"

#if defined(__x86_64__) || defined(__i386__)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#endif

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
/* NC and the sub-block counts are literals after inlining: unroll so accumulators stay in registers */
#define UNROLL _Pragma("GCC unroll 16")

/* ---- helpers --------------------------------------------------------------------------- */

INLINE float f16(uint16_t h) { return _cvtsh_ss(h); }

/* Two 16-byte nibble arrays (blocks A, B) -> 64 values: A lo, A hi, B lo, B hi (16 each). */
INLINE __m512i nibbles64(const uint8_t *qa, const uint8_t *qb) {
    __m256i t = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)qa)),
                                        _mm_loadu_si128((const __m128i *)qb), 1);
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(t), _mm256_srli_epi16(t, 4), 1);
    z = _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));
    return _mm512_and_si512(z, _mm512_set1_epi8(0x0f));
}

INLINE __m512i load2x32(const int8_t *pa, const int8_t *pb) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)pa)),
                              _mm256_loadu_si256((const __m256i *)pb), 1);
}

/* [s0 x 8, s1 x 8] from two halves, via one f16 pair product. */
INLINE __m512 scale2(uint16_t wa, uint16_t wb, uint16_t aa, uint16_t ab) {
    __m128 dw = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)wa | ((uint32_t)wb << 16))));
    __m128 da = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)aa | ((uint32_t)ab << 16))));
    __m128 p = _mm_mul_ps(dw, da);
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                 _mm512_castps128_ps512(p));
}

/* ---- float weights --------------------------------------------------------------------- */

#define F_LOOP(LOADW, TAILW)                                                                  \
    const int U = NC == 1 ? 4 : 2;                                                           \
    __m512 acc[4][4];                                                                        \
    UNROLL for (int c = 0; c < NC; c++)                                                      \
        UNROLL for (int u = 0; u < U; u++) acc[c][u] = _mm512_setzero_ps();                  \
    int64_t i = 0;                                                                           \
    for (; i + 16 * U <= n; i += 16 * U)                                                     \
        UNROLL for (int u = 0; u < U; u++) {                                                 \
            __m512 wv = LOADW(i + 16 * u);                                                   \
            UNROLL for (int c = 0; c < NC; c++) {                                            \
                const float *y = (const float *)(a + (size_t)c * as);                        \
                acc[c][u] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(y + i + 16 * u), acc[c][u]); \
            }                                                                                \
        }                                                                                    \
    for (; i < n; i += 16) {                                                                 \
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);   \
        __m512 wv = TAILW(m, i);                                                             \
        UNROLL for (int c = 0; c < NC; c++) {                                                \
            const float *y = (const float *)(a + (size_t)c * as);                            \
            acc[c][0] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, y + i), acc[c][0]);     \
        }                                                                                    \
    }                                                                                        \
    UNROLL for (int c = 0; c < NC; c++) {                                                    \
        UNROLL for (int u = 1; u < U; u++) acc[c][0] = _mm512_add_ps(acc[c][0], acc[c][u]);  \
        out[c] = _mm512_reduce_add_ps(acc[c][0]);                                            \
    }

INLINE void k_f32(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const float *x = w;
#define LOADW_F32(j) _mm512_loadu_ps(x + (j))
#define TAILW_F32(m, j) _mm512_maskz_loadu_ps(m, x + (j))
    F_LOOP(LOADW_F32, TAILW_F32)
}

INLINE void k_f16(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const uint16_t *x = w;
#define LOADW_F16(j) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + (j))))
#define TAILW_F16(m, j) _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + (j)))
    F_LOOP(LOADW_F16, TAILW_F16)
}

INLINE void k_bf16(int64_t n, const void *w, const uint8_t *a, size_t as, float *out, const int NC) {
    const uint16_t *x = w;
#define LOADW_BF16(j) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(x + (j)))), 16))
#define TAILW_BF16(m, j) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, x + (j))), 16))
    F_LOOP(LOADW_BF16, TAILW_BF16)
}

/* Float gemm: register tiles of NR (<= 4) weight rows x NC (<= 4) activation rows, so each
 * 16-value step loads NR + NC vectors for NR·NC FMAs (a row at a time would be load-bound). */
INLINE __m512 ldw(const uint8_t *row, int64_t i, __mmask16 m, const int kind) {
    if (kind == 0) return _mm512_maskz_loadu_ps(m, (const float *)row + i);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)row + i);
    if (kind == 1) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

INLINE void ftile(int64_t n, const uint8_t *w, size_t ws, const uint8_t *a, size_t as, float *s,
                  int64_t ss, const int NR, const int NC, const int kind) {
    __m512 acc[4][4];
    UNROLL for (int r = 0; r < NR; r++) UNROLL for (int c = 0; c < NC; c++) acc[r][c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 wv[4];
        UNROLL for (int r = 0; r < NR; r++) wv[r] = ldw(w + (size_t)r * ws, i, m, kind);
        UNROLL for (int c = 0; c < NC; c++) {
            __m512 av = _mm512_maskz_loadu_ps(m, (const float *)(a + (size_t)c * as) + i);
            UNROLL for (int r = 0; r < NR; r++) acc[r][c] = _mm512_fmadd_ps(wv[r], av, acc[r][c]);
        }
    }
    UNROLL for (int r = 0; r < NR; r++) UNROLL for (int c = 0; c < NC; c++)
        s[c * ss + r] = _mm512_reduce_add_ps(acc[r][c]);
}

INLINE void fgemm(int64_t n, int64_t nr, int64_t nc, float *s, int64_t ss, const void *w, size_t ws,
                  const void *a, size_t as, const int kind) {
    const uint8_t *wb = w, *ab = a;
    for (int64_t r0 = 0; r0 < nr; r0 += LPQ__ROW_BLOCK) {
        int64_t r1 = r0 + LPQ__ROW_BLOCK < nr ? r0 + LPQ__ROW_BLOCK : nr;
        int64_t c = 0;
        for (; c + 4 <= nc; c += 4) {
            int64_t r = r0;
            for (; r + 4 <= r1; r += 4)
                ftile(n, wb + (size_t)r * ws, ws, ab + (size_t)c * as, as, s + c * ss + r, ss, 4, 4, kind);
            for (; r < r1; r++)
                ftile(n, wb + (size_t)r * ws, ws, ab + (size_t)c * as, as, s + c * ss + r, ss, 1, 4, kind);
        }
        /* single columns: the row kernels, whose 4 accumulators per row hide FMA latency */
        for (; c < nc; c++)
            for (int64_t r = r0; r < r1; r++) {
                const uint8_t *wr = wb + (size_t)r * ws, *ac = ab + (size_t)c * as;
                if (kind == 0) k_f32(n, wr, ac, 0, &s[c * ss + r], 1);
                else if (kind == 1) k_f16(n, wr, ac, 0, &s[c * ss + r], 1);
                else k_bf16(n, wr, ac, 0, &s[c * ss + r], 1);
            }
    }
}

static void vec_dot_f32(int64_t n, float *s, const void *w, const void *a) {
    k_f32(n, w, (const uint8_t *)a, 0, s, 1);
}
static void vec_dot_f16(int64_t n, float *s, const void *w, const void *a) {
    k_f16(n, w, (const uint8_t *)a, 0, s, 1);
}
static void vec_dot_bf16(int64_t n, float *s, const void *w, const void *a) {
    k_bf16(n, w, (const uint8_t *)a, 0, s, 1);
}
static void gemm_f32(int64_t n, int64_t nr, int64_t nc, float *s, int64_t ss, const void *w, size_t ws,
                     const void *a, size_t as) {
    fgemm(n, nr, nc, s, ss, w, ws, a, as, 0);
}
static void gemm_f16(int64_t n, int64_t nr, int64_t nc, float *s, int64_t ss, const void *w, size_t ws,
                     const void *a, size_t as) {
    fgemm(n, nr, nc, s, ss, w, ws, a, as, 1);
}
static void gemm_bf16(int64_t n, int64_t nr, int64_t nc, float *s, int64_t ss, const void *w, size_t ws,
                      const void *a, size_t as) {
    fgemm(n, nr, nc, s, ss, w, ws, a, as, 2);
}

/* ---- 32-weight blocks against Q8_0: vec_dot, two blocks per register --------------------- */

/* Signed weights of blocks i, i+1 as 64 bytes. */
INLINE __m512i w2_q4_0(const struct lpq__blk_q4_0 *b) {
    return _mm512_sub_epi8(nibbles64(b[0].qs, b[1].qs), _mm512_set1_epi8(8));
}
INLINE __m512i w2_q8_0(const struct lpq__blk_q8_0 *b) { return load2x32(b[0].qs, b[1].qs); }
INLINE __m512i w2_iq4_nl(const struct lpq__blk_iq4_nl *b) {
    const __m512i tab = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)lpq__iq4nl_values));
    return _mm512_shuffle_epi8(tab, nibbles64(b[0].qs, b[1].qs));
}
INLINE __m512i w2_q5_0(const struct lpq__blk_q5_0 *b) {
    uint32_t ha, hb;
    memcpy(&ha, b[0].qh, 4);
    memcpy(&hb, b[1].qh, 4);
    /* bit j of the 64-bit mask = 5th bit of weight j of the pair; where clear, q - 16 < 0 */
    __mmask64 hi = (__mmask64)ha | ((__mmask64)hb << 32);
    __m512i q = nibbles64(b[0].qs, b[1].qs);
    return _mm512_mask_blend_epi8(hi, _mm512_or_si512(q, _mm512_set1_epi8((char)0xf0)), q);
}

/* One pair of blocks of a signed type against NC activation rows: |w| . sign-adjusted a. */
#define DEF_SIGNED_Q8_0(T, BLK, ID)                                                              \
    INLINE void step2_##T(const struct BLK *xb, const uint8_t *a, size_t as, int64_t i,       \
                          __m512 *acc, const int NC) {                                         \
        __m512i wv = w2_##T(xb);                                                               \
        __m512i u = _mm512_abs_epi8(wv);                                                       \
        __mmask64 neg = _mm512_movepi8_mask(wv);                                               \
        UNROLL for (int c = 0; c < NC; c++) {                                                  \
            const struct lpq__blk_q8_0 *y = (const struct lpq__blk_q8_0 *)(a + (size_t)c * as) + i; \
            __m512i av = load2x32(y[0].qs, y[1].qs);                                           \
            av = _mm512_mask_sub_epi8(av, neg, _mm512_setzero_si512(), av);                    \
            __m512i dp = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, av);                   \
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), scale2(xb[0].d, xb[1].d, y[0].d, y[1].d), acc[c]); \
        }                                                                                      \
    }                                                                                          \
    INLINE void k_##T(int64_t n, const void *w, const uint8_t *a, size_t as, float *out,      \
                      const int NC) {                                                          \
        const struct BLK *x = w;                                                               \
        __m512 acc0[4], acc1[4];                                                               \
        UNROLL for (int c = 0; c < NC; c++) acc0[c] = acc1[c] = _mm512_setzero_ps();           \
        int64_t nb = n / LPQ__QK, i = 0;                                                       \
        for (; i + 4 <= nb; i += 4) {                                                          \
            step2_##T(&x[i], a, as, i, acc0, NC);                                              \
            step2_##T(&x[i + 2], a, as, i + 2, acc1, NC);                                      \
        }                                                                                      \
        if (i + 2 <= nb) {                                                                     \
            step2_##T(&x[i], a, as, i, acc0, NC);                                              \
            i += 2;                                                                            \
        }                                                                                      \
        float tail[4] = {0, 0, 0, 0};                                                          \
        if (i < nb) /* odd last block: the scalar kernel */                                    \
            UNROLL for (int c = 0; c < NC; c++)                                                \
                lpq__cpu_ops_scalar(ID)->vec_dot(LPQ__QK, &tail[c], &x[i],                     \
                    (const struct lpq__blk_q8_0 *)(a + (size_t)c * as) + i);                   \
        UNROLL for (int c = 0; c < NC; c++)                                                    \
            out[c] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[c], acc1[c])) + tail[c];          \
    }


DEF_SIGNED_Q8_0(q4_0, lpq__blk_q4_0, LPQ_TYPE_Q4_0)
DEF_SIGNED_Q8_0(q5_0, lpq__blk_q5_0, LPQ_TYPE_Q5_0)
DEF_SIGNED_Q8_0(q8_0, lpq__blk_q8_0, LPQ_TYPE_Q8_0)
DEF_SIGNED_Q8_0(iq4_nl, lpq__blk_iq4_nl, LPQ_TYPE_IQ4_NL)

/*
 * The fast path for the Q8_0-activation family (Q4_0, Q5_0, Q8_0, IQ4_NL), used by gemm.
 * Each weight is made unsigned, u = w + K (K = 8, 16, 128, 128), so vpdpbusd gives Σ u·a and
 * the offset K·Σa comes from a per-activation-row table built once per call and shared by
 * every weight row. Four blocks share a register, one 128-bit lane each: "lo" holds weights
 * 0-15 of each block, "hi" weights 16-31 (for nibble types exactly the low and high nibbles
 * of the 16 qs bytes, so decoding needs no shuffle). The table holds the activation bytes in
 * the same order, so two vpdpbusd per column accumulate 4 lanes per block; a 16-block group
 * is then reduced to one lane per block in two shuffle+add levels and both f16 scales are
 * applied 16 blocks at a time. Reduced lane L holds block 4·(L mod 4) + L/4 of its group.
 */
#define FAM_GROUP 16
#define FAM_KCHUNK 128 /* blocks per table chunk */
#define FAM_COLS 8     /* activation rows per table: 8 x 128 x 40 B = 40 KiB of stack */

struct fam_prep {
    float da[FAM_COLS][FAM_KCHUNK];            /* activation scale per block, lane order; 0 = none */
    int32_t ksa[FAM_COLS][FAM_KCHUNK];         /* K · Σ q of the block, lane order */
    int8_t qs[FAM_COLS][FAM_KCHUNK * LPQ__QK]; /* activation quants, quads repacked lo | hi */
};

INLINE __m512i lane_blocks(void) {
    return _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
}
/* quads 0-3 and 4-7 (128-bit lane j = block j, 4 lanes) -> lane j: block j (2), block 4+j (2) */
INLINE __m512i red_l2(__m512i q0, __m512i q1) {
    return _mm512_add_epi32(_mm512_unpacklo_epi64(q0, q1), _mm512_unpackhi_epi64(q0, q1));
}
/* -> lane 4j + m: block j + 4m */
INLINE __m512i red_l3(__m512i s0, __m512i s1) {
    __m512 a = _mm512_castsi512_ps(s0), b = _mm512_castsi512_ps(s1);
    return _mm512_add_epi32(_mm512_castps_si512(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))),
                            _mm512_castps_si512(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))));
}
/* f16 scales (first field) of nblk (<= 16) consecutive blocks of `stride` bytes, lane order,
 * 0 for missing blocks (never read) */
INLINE __m512 gather_scales(const void *base, int stride, int nblk) {
    __m512i lb = lane_blocks();
    __mmask16 m = _mm512_cmplt_epi32_mask(lb, _mm512_set1_epi32(nblk));
    __m512i idx = _mm512_mullo_epi32(lb, _mm512_set1_epi32(stride));
    __m512i h = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, base, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h));
}

/* As gather_scales for the weight rows, without vpgatherdd (slow on Zen): the 16 blocks are
 * read as 64-word chunks (masked at the end) and the f16 words picked with vpermt2w. */
INLINE __m512 load_scales(const void *base, const int stride, int nblk) {
    const uint16_t *wbase = base;
    __m512i lb = lane_blocks();
    __mmask16 valid = _mm512_cmplt_epi32_mask(lb, _mm512_set1_epi32(nblk));
    __m256i pos = _mm512_cvtepi32_epi16(_mm512_mullo_epi32(lb, _mm512_set1_epi32(stride / 2)));
    int nwords = (stride / 2) * (nblk - 1) + 1;
    __m256i r = _mm256_setzero_si256();
    for (int m = 0; 64 * m < nwords; m++) {
        int left = nwords - 64 * m;
        __mmask32 k0 = left >= 32 ? 0xffffffffu : (__mmask32)((1u << left) - 1);
        __mmask32 k1 = left >= 64 ? 0xffffffffu : (left <= 32 ? 0 : (__mmask32)((1u << (left - 32)) - 1));
        __m512i c0 = _mm512_maskz_loadu_epi16(k0, wbase + 64 * m);
        __m512i c1 = _mm512_maskz_loadu_epi16(k1, wbase + 64 * m + 32);
        __m256i rel = _mm256_sub_epi16(pos, _mm256_set1_epi16((short)(64 * m)));
        __mmask16 sel = _mm256_cmplt_epu16_mask(rel, _mm256_set1_epi16(64)) & valid;
        __m512i v = _mm512_permutex2var_epi16(c0, _mm512_castsi256_si512(rel), c1);
        r = _mm256_mask_mov_epi16(r, sel, _mm512_castsi512_si256(v));
    }
    return _mm512_cvtph_ps(r);
}

/* 16 bytes at p0..p3 -> one register, 128-bit lane i from p_i */
INLINE __m512i quad16(const void *p0, const void *p1, const void *p2, const void *p3) {
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p0));
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p1), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p2), 2);
    return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p3), 3);
}

/* Table for the first 4·floor(kb/4) blocks of one activation row (the last kb mod 4 blocks
 * are left to the scalar kernel; their entries are 0). */
INLINE void fam_prep_row(const struct lpq__blk_q8_0 *y, int64_t kb, int K, float *da, int32_t *ksa,
                         int8_t *pq) {
    const __m512i ones = _mm512_set1_epi8(1), z = _mm512_setzero_si512();
    for (int64_t g = 0; g < kb; g += FAM_GROUP) {
        int nq = (int)((kb - g) / 4 < 4 ? (kb - g) / 4 : 4);
        if (nq == 0) break;
        __m512i v[4];
        UNROLL for (int m = 0; m < 4; m++) {
            if (m < nq) {
                const struct lpq__blk_q8_0 *b = y + g + 4 * m;
                __m512i lo = quad16(b[0].qs, b[1].qs, b[2].qs, b[3].qs);
                __m512i hi = quad16(b[0].qs + 16, b[1].qs + 16, b[2].qs + 16, b[3].qs + 16);
                _mm512_storeu_si512((void *)(pq + (g + 4 * m) * LPQ__QK), lo);
                _mm512_storeu_si512((void *)(pq + (g + 4 * m) * LPQ__QK + 64), hi);
                v[m] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, ones, lo), ones, hi);
            } else {
                v[m] = z;
            }
        }
        __m512i r = red_l3(red_l2(v[0], v[1]), red_l2(v[2], v[3]));
        _mm512_storeu_si512((void *)(ksa + g), _mm512_mullo_epi32(r, _mm512_set1_epi32(K)));
        _mm512_storeu_ps(da + g, gather_scales(y + g, (int)sizeof *y, 4 * nq));
    }
}

/* Unsigned weights of blocks b[0..3] as lo (weights 0-15) and hi (16-31), lane i = b[i]. */
INLINE void u4_q4_0(const struct lpq__blk_q4_0 *b, __m512i *lo, __m512i *hi) {
    __m512i v = quad16(b[0].qs, b[1].qs, b[2].qs, b[3].qs);
    *lo = _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
    *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0f));
}
INLINE void u4_iq4_nl(const struct lpq__blk_iq4_nl *b, __m512i *lo, __m512i *hi) {
    /* codebook + 128 */
    const __m512i tab = _mm512_broadcast_i32x4(_mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, (char)129,
        (char)141, (char)153, (char)166, (char)181, (char)197, (char)217, (char)241));
    __m512i v = quad16(b[0].qs, b[1].qs, b[2].qs, b[3].qs);
    *lo = _mm512_shuffle_epi8(tab, _mm512_and_si512(v, _mm512_set1_epi8(0x0f)));
    *hi = _mm512_shuffle_epi8(tab, _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0f)));
}
INLINE void u4_q5_0(const struct lpq__blk_q5_0 *b, __m512i *lo, __m512i *hi) {
    uint32_t qh[4];
    for (int i = 0; i < 4; i++) memcpy(&qh[i], b[i].qh, 4);
    /* 5th bits of weights 0-15 of the four blocks side by side, then of weights 16-31 */
    __m128i hv = _mm_setr_epi32((int)qh[0], (int)qh[1], (int)qh[2], (int)qh[3]);
    uint64_t mlo = (uint64_t)_mm_cvtsi128_si64(_mm_cvtepi32_epi16(hv));
    uint64_t mhi = (uint64_t)_mm_cvtsi128_si64(_mm_cvtepi32_epi16(_mm_srli_epi32(hv, 16)));
    __m512i v = quad16(b[0].qs, b[1].qs, b[2].qs, b[3].qs);
    __m512i l = _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
    __m512i h = _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0f));
    *lo = _mm512_mask_add_epi8(l, (__mmask64)mlo, l, _mm512_set1_epi8(16));
    *hi = _mm512_mask_add_epi8(h, (__mmask64)mhi, h, _mm512_set1_epi8(16));
}
INLINE void u4_q8_0(const struct lpq__blk_q8_0 *b, __m512i *lo, __m512i *hi) {
    const __m512i k = _mm512_set1_epi8((char)0x80);
    *lo = _mm512_xor_si512(quad16(b[0].qs, b[1].qs, b[2].qs, b[3].qs), k);
    *hi = _mm512_xor_si512(quad16(b[0].qs + 16, b[1].qs + 16, b[2].qs + 16, b[3].qs + 16), k);
}

#define DEF_FAM(T, BLK, K)                                                                     \
    /* one group of up to 16 blocks (nq quads) at x + g; nq a literal 4 for full groups */    \
    INLINE void fam_group_##T(int64_t g, int nq, const struct BLK *x, const struct fam_prep *P, \
                              int c0, __m512 *acc, const int NC) {                             \
        const __m512i z = _mm512_setzero_si512();                                              \
        __m512i v[4][4];                                                                       \
        UNROLL for (int m = 0; m < 4; m++) {                                                   \
            if (m < nq) {                                                                      \
                __m512i lo, hi;                                                                \
                u4_##T(x + g + 4 * m, &lo, &hi);                                               \
                UNROLL for (int c = 0; c < NC; c++) {                                          \
                    const int8_t *ap = P->qs[c0 + c] + (g + 4 * m) * LPQ__QK;                  \
                    v[c][m] = _mm512_dpbusd_epi32(z, lo, _mm512_loadu_si512((const void *)ap)); \
                    v[c][m] = _mm512_dpbusd_epi32(v[c][m], hi, _mm512_loadu_si512((const void *)(ap + 64))); \
                }                                                                              \
            } else {                                                                           \
                UNROLL for (int c = 0; c < NC; c++) v[c][m] = z;                               \
            }                                                                                  \
        }                                                                                      \
        __m512 dw = load_scales(x + g, (int)sizeof(struct BLK), 4 * nq);                       \
        UNROLL for (int c = 0; c < NC; c++) {                                                  \
            __m512i r = red_l3(red_l2(v[c][0], v[c][1]), red_l2(v[c][2], v[c][3]));            \
            r = _mm512_sub_epi32(r, _mm512_loadu_si512((const void *)(P->ksa[c0 + c] + g)));   \
            __m512 sc = _mm512_mul_ps(dw, _mm512_loadu_ps(P->da[c0 + c] + g));                 \
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(r), sc, acc[c]);                       \
        }                                                                                      \
    }                                                                                          \
    /* kb blocks of one weight row x NC prepared activation rows (P; a: the original rows,    \
     * for the last kb mod 4 blocks) */                                                        \
    INLINE void fam_row_##T(int64_t kb, const struct BLK *x, const struct fam_prep *P, int c0, \
                            const uint8_t *a, size_t as, float *out, const int NC) {           \
        __m512 acc[4];                                                                         \
        UNROLL for (int c = 0; c < NC; c++) acc[c] = _mm512_setzero_ps();                      \
        int64_t g = 0;                                                                         \
        for (; g + FAM_GROUP <= kb; g += FAM_GROUP) fam_group_##T(g, 4, x, P, c0, acc, NC);    \
        if (kb - g >= 4) fam_group_##T(g, (int)((kb - g) / 4), x, P, c0, acc, NC);             \
        float tail[4] = {0, 0, 0, 0};                                                          \
        int64_t t0 = kb & ~(int64_t)3;                                                         \
        if (t0 < kb)                                                                           \
            UNROLL for (int c = 0; c < NC; c++) lpq__cpu_ops_scalar(LPQ_TYPE_##T)->vec_dot(     \
                (kb - t0) * LPQ__QK, &tail[c], x + t0,                                         \
                (const struct lpq__blk_q8_0 *)(a + (size_t)c * as) + t0);                      \
        UNROLL for (int c = 0; c < NC; c++) out[c] = _mm512_reduce_add_ps(acc[c]) + tail[c];   \
    }                                                                                          \
    static void gemm_##T(int64_t n, int64_t nr, int64_t nc, float *s, int64_t s_stride,        \
                         const void *w, size_t w_stride, const void *a, size_t a_stride) {     \
        struct fam_prep P;                                                                     \
        const uint8_t *wb = w, *ab = a;                                                        \
        int64_t nb = n / LPQ__QK;                                                              \
        if (nb == 0) /* empty rows: the chunk loop below would not write s */                 \
            for (int64_t c = 0; c < nc; c++)                                                   \
                for (int64_t r = 0; r < nr; r++) s[c * s_stride + r] = 0.0f;                   \
        for (int64_t c0 = 0; c0 < nc; c0 += FAM_COLS) {                                        \
            int64_t cn = nc - c0 < FAM_COLS ? nc - c0 : FAM_COLS;                              \
            for (int64_t k0 = 0; k0 < nb; k0 += FAM_KCHUNK) {                                  \
                int64_t kb = nb - k0 < FAM_KCHUNK ? nb - k0 : FAM_KCHUNK;                      \
                size_t aoff = sizeof(struct lpq__blk_q8_0) * (size_t)k0;                       \
                for (int64_t c = 0; c < cn; c++)                                               \
                    fam_prep_row((const struct lpq__blk_q8_0 *)(ab + (size_t)(c0 + c) * a_stride + aoff), \
                                 kb, K, P.da[c], P.ksa[c], P.qs[c]);                           \
                for (int64_t r0 = 0; r0 < nr; r0 += LPQ__ROW_BLOCK) {                          \
                    int64_t r1 = r0 + LPQ__ROW_BLOCK < nr ? r0 + LPQ__ROW_BLOCK : nr;          \
                    int64_t c = 0;                                                             \
                    for (; c + 4 <= cn; c += 4)                                                \
                        for (int64_t r = r0; r < r1; r++) {                                    \
                            float t[4];                                                        \
                            fam_row_##T(kb, (const struct BLK *)(wb + (size_t)r * w_stride) + k0, &P, \
                                        (int)c, ab + (size_t)(c0 + c) * a_stride + aoff, a_stride, t, 4); \
                            for (int j = 0; j < 4; j++) {                                      \
                                float *o = &s[(c0 + c + j) * s_stride + r];                    \
                                *o = k0 == 0 ? t[j] : *o + t[j];                               \
                            }                                                                  \
                        }                                                                      \
                    for (; c < cn; c++)                                                        \
                        for (int64_t r = r0; r < r1; r++) {                                    \
                            float t;                                                           \
                            fam_row_##T(kb, (const struct BLK *)(wb + (size_t)r * w_stride) + k0, &P, \
                                        (int)c, ab + (size_t)(c0 + c) * a_stride + aoff, a_stride, &t, 1); \
                            float *o = &s[(c0 + c) * s_stride + r];                            \
                            *o = k0 == 0 ? t : *o + t;                                         \
                        }                                                                      \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    /* one row: the table would cost as much as the row itself; the pair kernel instead */    \
    static void vec_dot_##T(int64_t n, float *s, const void *w, const void *a) {               \
        k_##T(n, w, (const uint8_t *)a, 0, s, 1);                                              \
    }

#define LPQ_TYPE_q4_0 LPQ_TYPE_Q4_0
#define LPQ_TYPE_q5_0 LPQ_TYPE_Q5_0
#define LPQ_TYPE_q8_0 LPQ_TYPE_Q8_0
#define LPQ_TYPE_iq4_nl LPQ_TYPE_IQ4_NL
DEF_FAM(q4_0, lpq__blk_q4_0, 8)
DEF_FAM(q5_0, lpq__blk_q5_0, 16)
DEF_FAM(q8_0, lpq__blk_q8_0, 128)
DEF_FAM(iq4_nl, lpq__blk_iq4_nl, 128)

/* ---- 256-weight super-blocks against Q8_K ----------------------------------------------- */

#define Y_K(c, i) ((const struct lpq__blk_q8_k *)(a + (size_t)(c) * as) + (i))
#define LOAD_A64(c, i, off) _mm512_loadu_si512((const void *)(Y_K(c, i)->qs + (off)))

/* Q4_K: per 64 weights one register [sub-block 2g (low nibbles) | 2g+1 (high)]. */
#define DEF_K4(T, BLK)                                                                \
    INLINE void k_##T(int64_t n, const void *w, const uint8_t *a, size_t as, float *out,      \
                      const int NC) {                                                          \
        const struct BLK *x = w;                                                               \
        __m512 acc[4];                                                                         \
        __m256 macc[4];                                                                        \
        UNROLL for (int c = 0; c < NC; c++) {                                                  \
            acc[c] = _mm512_setzero_ps();                                                      \
            macc[c] = _mm256_setzero_ps();                                                     \
        }                                                                                      \
        const __m512i m4 = _mm512_set1_epi8(0x0f);                                             \
        for (int64_t i = 0; i < n / LPQ__QK_K; i++) {                                          \
            uint8_t sc[8], mn[8];                                                              \
            lpq__k4_unpack(x[i].scales, sc, mn);                                               \
            uint64_t s8, m8;                                                                   \
            memcpy(&s8, sc, 8);                                                                \
            memcpy(&m8, mn, 8);                                                                \
            __m512i scv = _mm512_castsi256_si512(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)s8))); \
            __m512i isum[4];                                                                   \
            UNROLL for (int c = 0; c < NC; c++) isum[c] = _mm512_setzero_si512();              \
            UNROLL for (int g = 0; g < 4; g++) {                                               \
                __m256i t = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * g));           \
                __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(t), _mm256_srli_epi16(t, 4), 1); \
                q = _mm512_and_si512(q, m4);                                                   \
                __m512i s = _mm512_permutexvar_epi32(                                          \
                    _mm512_set_epi32(2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1, \
                                     2 * g + 1, 2 * g + 1, 2 * g, 2 * g, 2 * g, 2 * g, 2 * g, 2 * g, \
                                     2 * g, 2 * g), scv);                                      \
                UNROLL for (int c = 0; c < NC; c++) {                                          \
                    __m512i dp = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, LOAD_A64(c, i, 64 * g)); \
                    isum[c] = _mm512_add_epi32(isum[c], _mm512_madd_epi16(dp, s));             \
                }                                                                              \
            }                                                                                  \
            __m256i mv = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)m8));               \
            mv = _mm256_or_si256(mv, _mm256_slli_epi32(mv, 16));                               \
            float dw = f16(x[i].d), dm = f16(x[i].dmin);                                       \
            UNROLL for (int c = 0; c < NC; c++) {                                              \
                const struct lpq__blk_q8_k *y = Y_K(c, i);                                     \
                __m256i mins = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y->bsums), mv); \
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_set1_ps(dw * y->d), acc[c]); \
                macc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(dm * y->d), macc[c]); \
            }                                                                                  \
        }                                                                                      \
        UNROLL for (int c = 0; c < NC; c++) {                                                  \
            __m256 m = macc[c];                                                                \
            __m128 r = _mm_add_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));     \
            r = _mm_add_ps(r, _mm_movehl_ps(r, r));                                            \
            r = _mm_add_ss(r, _mm_movehdup_ps(r));                                             \
            out[c] = _mm512_reduce_add_ps(acc[c]) - _mm_cvtss_f32(r);                          \
        }                                                                                      \
    }

DEF_K4(q4_k, lpq__blk_q4_k)

LPQ__DEFINE_ROW_KERNELS(q4_k)

/* ---- float helpers ---------------------------------------------------------------------- */

void lpq__vec_dot_f32_avx512(int64_t n, float *s, const float *x, const float *y) {
    k_f32(n, x, (const uint8_t *)y, 0, s, 1);
}

void lpq__vec_axpy_f32_avx512(int64_t n, float *y, float a, const float *x) {
    __m512 av = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 r = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
        _mm512_mask_storeu_ps(y + i, m, r);
    }
}

void lpq__vec_f16_to_f32_avx512(int64_t n, float *y, const uint16_t *x) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)));
    }
}

static const struct lpq_cpu_ops ops_avx512[LPQ_TYPE_COUNT] = {
    [LPQ_TYPE_F32] = {LPQ_TYPE_F32, lpq__quantize_f32_avx2, vec_dot_f32, gemm_f32},
    [LPQ_TYPE_F16] = {LPQ_TYPE_F32, lpq__quantize_f32_avx2, vec_dot_f16, gemm_f16},
    [LPQ_TYPE_BF16] = {LPQ_TYPE_F32, lpq__quantize_f32_avx2, vec_dot_bf16, gemm_bf16},
    [LPQ_TYPE_Q4_0] = {LPQ_TYPE_Q8_0, lpq__quantize_q8_0_avx2, vec_dot_q4_0, gemm_q4_0},
    [LPQ_TYPE_Q5_0] = {LPQ_TYPE_Q8_0, lpq__quantize_q8_0_avx2, vec_dot_q5_0, gemm_q5_0},
    [LPQ_TYPE_Q8_0] = {LPQ_TYPE_Q8_0, lpq__quantize_q8_0_avx2, vec_dot_q8_0, gemm_q8_0},
    [LPQ_TYPE_IQ4_NL] = {LPQ_TYPE_Q8_0, lpq__quantize_q8_0_avx2, vec_dot_iq4_nl, gemm_iq4_nl},
    [LPQ_TYPE_Q4_K] = {LPQ_TYPE_Q8_K, lpq__quantize_q8_k_avx2, vec_dot_q4_k, gemm_q4_k},
};

const struct lpq_cpu_ops *lpq__cpu_ops_avx512(uint32_t type) {
    if (type >= LPQ_TYPE_COUNT || !ops_avx512[type].vec_dot) return NULL;
    return &ops_avx512[type];
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else /* not x86 */

const struct lpq_cpu_ops *lpq__cpu_ops_avx512(uint32_t type) {
    (void)type;
    return NULL;
}
void lpq__vec_dot_f32_avx512(int64_t n, float *s, const float *x, const float *y) {
    lpq__vec_dot_f32_scalar(n, s, x, y);
}
void lpq__vec_axpy_f32_avx512(int64_t n, float *y, float a, const float *x) {
    lpq__vec_axpy_f32_scalar(n, y, a, x);
}
void lpq__vec_f16_to_f32_avx512(int64_t n, float *y, const uint16_t *x) {
    lpq__vec_f16_to_f32_scalar(n, y, x);
}

#endif
