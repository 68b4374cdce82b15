/*
 * test_kernels.c — the CPU kernels against the reference codecs and each other: activation
 * quantizers bit-identical to quant/'s from_float, every SIMD dot product against the scalar
 * one, the scalar one against a float64 dot of the dequantized rows, gemm against vec_dot for
 * odd shapes, and CPU feature detection against /proc/cpuinfo.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/types.h"
#include "runtimes/cpu/kernels-impl.h"
#include "runtimes/cpu/kernels.h"

static const uint32_t k_types[] = {
    LPQ_TYPE_F32,  LPQ_TYPE_F16,  LPQ_TYPE_BF16, LPQ_TYPE_Q4_0, LPQ_TYPE_Q4_1,
    LPQ_TYPE_Q5_0, LPQ_TYPE_Q5_1, LPQ_TYPE_Q8_0, LPQ_TYPE_Q2_K, LPQ_TYPE_Q3_K,
    LPQ_TYPE_Q4_K, LPQ_TYPE_Q5_K, LPQ_TYPE_Q6_K, LPQ_TYPE_IQ4_NL, LPQ_TYPE_IQ4_XS,
};

/* Tolerance, relative to Σ|w_i a_i| of the dequantized rows: float summation-order noise is
 * ~1e-7 of that; a wrong scale, nibble or bit anywhere moves the result by >1e-3 of it. */
#define REL_TOL 1e-5

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint32_t rng_u32(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}

static float rng_uniform(void) { return ((float)(rng_u32() & 0xffffff) + 0.5f) / 16777216.0f; }

static float rng_normal(void) {
    float u1 = rng_uniform(), u2 = rng_uniform();
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

/* Random row with the features that break kernels: an all-zero block, a tiny block,
 * outliers of both signs, a constant stretch. */
static void fill_row(float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = scale * rng_normal();
    if (n >= 64) {
        for (int i = 0; i < 32; i++) x[i] = 0.0f;
        x[rng_u32() % (uint32_t)n] = 9.0f * scale;
        x[rng_u32() % (uint32_t)n] = -11.0f * scale;
    }
    if (n >= 512) {
        for (int i = 256; i < 288; i++) x[i] = 1e-4f * scale * rng_normal();
        for (int i = 300; i < 340; i++) x[i] = 0.7f * scale;
    }
}

static int isa_top(void) {
    struct lpq_cpu_features f;
    lpq_cpu_features_detect(&f);
    return (int)lpq_cpu_isa_best(&f);
}

/* One weight type at one size: nr weight rows, nc activation rows, all buffers. */
struct fixture {
    uint32_t type, act_type;
    int64_t n, nr, nc;
    size_t w_row, a_row;
    uint8_t *w, *a;
    float *wf, *af;     /* dequantized rows, for the float64 check */
};

static void fixture_make(struct fixture *fx, uint32_t type, int64_t n, int64_t nr, int64_t nc) {
    const struct lpq_cpu_ops *ops = lpq_cpu_ops_get(type, LPQ_CPU_ISA_SCALAR);
    assert_non_null(ops);
    fx->type = type;
    fx->act_type = ops->vec_dot_type;
    fx->n = n;
    fx->nr = nr;
    fx->nc = nc;
    fx->w_row = lpq_type_row_size(type, n);
    fx->a_row = lpq_type_row_size(fx->act_type, n);
    assert_true(fx->w_row > 0 && fx->a_row > 0);
    fx->w = malloc(fx->w_row * (size_t)nr);
    fx->a = malloc(fx->a_row * (size_t)nc);
    fx->wf = malloc(sizeof(float) * (size_t)(n * nr));
    fx->af = malloc(sizeof(float) * (size_t)(n * nc));
    float *tmp = malloc(sizeof(float) * (size_t)n);
    assert_true(fx->w && fx->a && fx->wf && fx->af && tmp);
    const struct lpq_type_traits *wt = lpq_type_traits(type), *at = lpq_type_traits(fx->act_type);
    for (int64_t r = 0; r < nr; r++) {
        fill_row(tmp, n, 0.02f);
        assert_true(wt->from_float(tmp, fx->w + (size_t)r * fx->w_row, n, NULL));
        wt->to_float(fx->w + (size_t)r * fx->w_row, fx->wf + r * n, n);
    }
    for (int64_t c = 0; c < nc; c++) {
        fill_row(tmp, n, 1.0f);
        ops->quantize_act(tmp, fx->a + (size_t)c * fx->a_row, n);
        at->to_float(fx->a + (size_t)c * fx->a_row, fx->af + c * n, n);
    }
    free(tmp);
}

static void fixture_free(struct fixture *fx) {
    free(fx->w);
    free(fx->a);
    free(fx->wf);
    free(fx->af);
}

/* float64 dot of dequantized row r and column c, and Σ|w a| (the tolerance scale). */
static double ref_dot(const struct fixture *fx, int64_t r, int64_t c, double *mag) {
    double s = 0.0, m = 0.0;
    for (int64_t i = 0; i < fx->n; i++) {
        double p = (double)fx->wf[r * fx->n + i] * (double)fx->af[c * fx->n + i];
        s += p;
        m += fabs(p);
    }
    *mag = m;
    if (fx->act_type == LPQ_TYPE_Q8_1) {
        /* Q8_1 carries s = f16(d Σq), rounded: the format's dot is d_w d_a Σqa + m_w s, so the
         * offset term uses the stored s, not Σ of the dequantized activations. */
        size_t wb = lpq_type_traits(fx->type)->type_size;
        for (int64_t b = 0; b < fx->n / 32; b++) {
            const uint8_t *wblk = fx->w + (size_t)r * fx->w_row + (size_t)b * wb;
            const uint8_t *ablk = fx->a + (size_t)c * fx->a_row + (size_t)b * 36;
            uint16_t mh, sh;
            memcpy(&mh, wblk + 2, 2);
            memcpy(&sh, ablk + 2, 2);
            double asum = 0.0;
            for (int i = 0; i < 32; i++) asum += fx->af[c * fx->n + 32 * b + i];
            s += (double)lpq_fp16_to_fp32(mh) * ((double)lpq_fp16_to_fp32(sh) - asum);
        }
    }
    return s;
}

static int64_t smallest_n(uint32_t type) {
    const struct lpq_cpu_ops *ops = lpq_cpu_ops_get(type, LPQ_CPU_ISA_SCALAR);
    int64_t bw = lpq_type_traits(type)->blck_size, ba = lpq_type_traits(ops->vec_dot_type)->blck_size;
    return bw > ba ? bw : ba;
}

/* ---- (1) activation quantizers bit-identical to the codecs ----------------------------- */

static void test_quantize_act_matches_codec(void **state) {
    (void)state;
    const int64_t sizes[] = {256, 4864};
    for (int isa = 0; isa <= isa_top(); isa++)
        for (size_t t = 0; t < LPQ_ARRAY_SIZE(k_types); t++) {
            const struct lpq_cpu_ops *ops = lpq_cpu_ops_get(k_types[t], (enum lpq_cpu_isa)isa);
            assert_non_null(ops);
            const struct lpq_type_traits *at = lpq_type_traits(ops->vec_dot_type);
            for (size_t k = 0; k < LPQ_ARRAY_SIZE(sizes); k++) {
                int64_t n = sizes[k];
                size_t rs = lpq_type_row_size(ops->vec_dot_type, n);
                float *x = malloc(sizeof(float) * (size_t)n);
                uint8_t *y0 = malloc(rs), *y1 = malloc(rs);
                assert_true(x && y0 && y1);
                for (int rep = 0; rep < 5; rep++) {
                    /* 1e-3 and 1e-7: Q8_0 scales in the f16 subnormal range, and below it */
                    fill_row(x, n, rep == 0 ? 1.0f : (rep == 1 ? 1e-3f : (rep == 4 ? 1e-7f : 37.0f)));
                    if (rep == 3) /* exact halves: the rounding rule shows */
                        for (int64_t i = 0; i < n; i++) x[i] = (float)((int)(rng_u32() % 255) - 127) * 0.5f;
                    memset(y0, 0xa5, rs);
                    memset(y1, 0x5a, rs);
                    assert_true(at->from_float(x, y0, n, NULL));
                    ops->quantize_act(x, y1, n);
                    size_t at_byte = 0;
                    while (at_byte < rs && y0[at_byte] == y1[at_byte]) at_byte++;
                    if (at_byte < rs)
                        fail_msg("byte %zu: codec %02x kernel %02x; ""quantize_act for %s (act %s) at %s, n=%lld, rep %d differs from codec",
                                 at_byte, y0[at_byte], y1[at_byte], lpq_type_name(k_types[t]), at->name, lpq_cpu_isa_name((enum lpq_cpu_isa)isa),
                                 (long long)n, rep);
                }
                free(x);
                free(y0);
                free(y1);
            }
        }
}

/* ---- (2) SIMD vs scalar, (3) scalar vs float64, (5) small and large n ------------------- */

static void check_vec_dot(uint32_t type, int64_t n) {
    struct fixture fx;
    fixture_make(&fx, type, n, 3, 2);
    const struct lpq_cpu_ops *sc = lpq_cpu_ops_get(type, LPQ_CPU_ISA_SCALAR);
    for (int64_t r = 0; r < fx.nr; r++)
        for (int64_t c = 0; c < fx.nc; c++) {
            const void *w = fx.w + (size_t)r * fx.w_row, *a = fx.a + (size_t)c * fx.a_row;
            double mag, ref = ref_dot(&fx, r, c, &mag);
            float s0 = NAN;
            sc->vec_dot(n, &s0, w, a);
            if (!(fabs((double)s0 - ref) <= REL_TOL * mag + 1e-30))
                fail_msg("scalar vec_dot %s n=%lld: %.9g vs float64 %.9g (|w a| %.3g)",
                         lpq_type_name(type), (long long)n, s0, ref, mag);
            for (int isa = 1; isa <= isa_top(); isa++) {
                const struct lpq_cpu_ops *ops = lpq_cpu_ops_get(type, (enum lpq_cpu_isa)isa);
                assert_int_equal(ops->vec_dot_type, sc->vec_dot_type);
                float s1 = NAN;
                ops->vec_dot(n, &s1, w, a);
                if (!(fabs((double)s1 - (double)s0) <= REL_TOL * mag + 1e-30))
                    fail_msg("%s vec_dot %s n=%lld: %.9g vs scalar %.9g (|w a| %.3g)",
                             lpq_cpu_isa_name((enum lpq_cpu_isa)isa), lpq_type_name(type),
                             (long long)n, s1, s0, mag);
            }
        }
    fixture_free(&fx);
}

static void test_vec_dot_all_types(void **state) {
    (void)state;
    for (size_t t = 0; t < LPQ_ARRAY_SIZE(k_types); t++) {
        int64_t n0 = smallest_n(k_types[t]);
        check_vec_dot(k_types[t], n0);
        check_vec_dot(k_types[t], 4864);
        check_vec_dot(k_types[t], 1536); /* 6 super-blocks; 48 blocks */
        if (n0 == 1) {
            /* float weights: any n, the SIMD tails included */
            check_vec_dot(k_types[t], 7);
            check_vec_dot(k_types[t], 37);
            check_vec_dot(k_types[t], 903);
        } else if (n0 == 32) {
            check_vec_dot(k_types[t], 96); /* odd block count */
            check_vec_dot(k_types[t], 896);
            check_vec_dot(k_types[t], 32 * 300); /* more than one 256-block table chunk */
        }
    }
}

/* Each block's contribution must count: a dot that skips a block (or uses the wrong scale)
 * is caught even when random rows would average it out. */
static void test_vec_dot_single_block_sensitivity(void **state) {
    (void)state;
    for (size_t t = 0; t < LPQ_ARRAY_SIZE(k_types); t++) {
        uint32_t type = k_types[t];
        int64_t bw = lpq_type_traits(type)->blck_size, n = bw == 1 ? 64 : 4 * (bw > 32 ? bw : 256);
        const struct lpq_cpu_ops *sc = lpq_cpu_ops_get(type, LPQ_CPU_ISA_SCALAR);
        size_t wr = lpq_type_row_size(type, n), ar = lpq_type_row_size(sc->vec_dot_type, n);
        float *x = calloc((size_t)n, sizeof(float)), *y = malloc(sizeof(float) * (size_t)n);
        uint8_t *wq = malloc(wr), *aq = malloc(ar);
        assert_true(x && y && wq && aq);
        for (int64_t blk = 0; blk < n; blk += n / 4) {
            memset(x, 0, sizeof(float) * (size_t)n);
            for (int64_t i = blk; i < blk + n / 4; i++) x[i] = 0.5f + (float)(i % 7) * 0.25f;
            for (int64_t i = 0; i < n; i++) y[i] = 1.0f + (float)(i % 5) * 0.5f;
            assert_true(lpq_type_traits(type)->from_float(x, wq, n, NULL));
            double want = 0.0;
            float *xd = malloc(sizeof(float) * (size_t)n), *yd = malloc(sizeof(float) * (size_t)n);
            lpq_type_traits(type)->to_float(wq, xd, n);
            for (int isa = 0; isa <= isa_top(); isa++) {
                const struct lpq_cpu_ops *ops = lpq_cpu_ops_get(type, (enum lpq_cpu_isa)isa);
                ops->quantize_act(y, aq, n);
                lpq_type_traits(ops->vec_dot_type)->to_float(aq, yd, n);
                want = 0.0;
                for (int64_t i = 0; i < n; i++) want += (double)xd[i] * yd[i];
                float s = 0.0f;
                ops->vec_dot(n, &s, wq, aq);
                /* Q8_1's stored sum is f16-rounded (see ref_dot): 1e-3 there */
                double tol = ops->vec_dot_type == LPQ_TYPE_Q8_1 ? 1e-3 : 1e-5;
                if (!(fabs(s - want) <= tol * fabs(want)) || want == 0.0)
                    fail_msg("%s %s: block at %lld: %.9g vs %.9g", lpq_cpu_isa_name((enum lpq_cpu_isa)isa),
                             lpq_type_name(type), (long long)blk, s, want);
            }
            free(xd);
            free(yd);
        }
        free(x);
        free(y);
        free(wq);
        free(aq);
    }
}

/* ---- (4) gemm vs repeated vec_dot -------------------------------------------------------- */

static void test_gemm_matches_vec_dot(void **state) {
    (void)state;
    const int64_t nrs[] = {1, 3, 5, 7, 17, 33}, ncs[] = {1, 3, 4, 5, 7, 9, 19};
    int tested = 0;
    for (size_t t = 0; t < LPQ_ARRAY_SIZE(k_types); t++) {
        int64_t n = smallest_n(k_types[t]) == 1 ? 203 : (smallest_n(k_types[t]) == 32 ? 1312 : 768);
        struct fixture fx;
        fixture_make(&fx, k_types[t], n, 33, 19);
        for (int isa = 0; isa <= isa_top(); isa++) {
            const struct lpq_cpu_ops *ops = lpq_cpu_ops_get(k_types[t], (enum lpq_cpu_isa)isa);
            if (!ops->gemm) continue;
            for (size_t i = 0; i < LPQ_ARRAY_SIZE(nrs); i++)
                for (size_t j = 0; j < LPQ_ARRAY_SIZE(ncs); j++) {
                    int64_t nr = nrs[i], nc = ncs[j], ss = nr + 2;
                    float *s = malloc(sizeof(float) * (size_t)(ss * nc));
                    for (int64_t k = 0; k < ss * nc; k++) s[k] = -12345.0f;
                    ops->gemm(n, nr, nc, s, ss, fx.w, fx.w_row, fx.a, fx.a_row);
                    for (int64_t c = 0; c < nc; c++) {
                        for (int64_t r = 0; r < nr; r++) {
                            float v;
                            double mag;
                            ops->vec_dot(n, &v, fx.w + (size_t)r * fx.w_row, fx.a + (size_t)c * fx.a_row);
                            ref_dot(&fx, r, c, &mag);
                            if (!(fabs(s[c * ss + r] - v) <= REL_TOL * mag))
                                fail_msg("%s gemm %s nr=%lld nc=%lld at (%lld,%lld): %.9g vs vec_dot %.9g",
                                         lpq_cpu_isa_name((enum lpq_cpu_isa)isa), lpq_type_name(k_types[t]),
                                         (long long)nr, (long long)nc, (long long)r, (long long)c,
                                         s[c * ss + r], v);
                        }
                        /* the padding between rows is never written */
                        assert_true(s[c * ss + nr] == -12345.0f && s[c * ss + nr + 1] == -12345.0f);
                    }
                    free(s);
                    tested++;
                }
        }
        fixture_free(&fx);
    }
    if (isa_top() > 0) assert_true(tested > 0);

    /* n = 0: every output is written, as 0 */
    for (int isa = 0; isa <= isa_top(); isa++)
        for (size_t t = 0; t < LPQ_ARRAY_SIZE(k_types); t++) {
            const struct lpq_cpu_ops *ops = lpq_cpu_ops_get(k_types[t], (enum lpq_cpu_isa)isa);
            float s[6] = {1, 1, 1, 1, 1, 1}, v = 1.0f;
            uint8_t dummy[64] = {0};
            ops->vec_dot(0, &v, dummy, dummy);
            assert_true(v == 0.0f);
            if (!ops->gemm) continue;
            ops->gemm(0, 2, 3, s, 2, dummy, 0, dummy, 0);
            for (int k = 0; k < 6; k++) assert_true(s[k] == 0.0f);
        }
}

/* ---- float helpers, converters, dispatch, features --------------------------------------- */

static void test_float_helpers(void **state) {
    (void)state;
    const int64_t sizes[] = {0, 1, 7, 8, 31, 64, 1000};
    for (int isa = 0; isa <= isa_top(); isa++)
        for (size_t k = 0; k < LPQ_ARRAY_SIZE(sizes); k++) {
            int64_t n = sizes[k];
            float x[1000], y[1000], z[1000];
            uint16_t h[1000];
            double ref = 0.0, mag = 0.0;
            for (int64_t i = 0; i < n; i++) {
                x[i] = rng_normal();
                y[i] = rng_normal();
                ref += (double)x[i] * y[i];
                mag += fabs((double)x[i] * y[i]);
                h[i] = lpq_fp32_to_fp16(x[i]);
            }
            float s = NAN;
            lpq_cpu_vec_dot_f32(n, &s, x, y, (enum lpq_cpu_isa)isa);
            assert_true(fabs(s - ref) <= 1e-6 * mag + 1e-30);
            memcpy(z, y, sizeof(float) * (size_t)n);
            lpq_cpu_vec_axpy_f32(n, z, 0.75f, x, (enum lpq_cpu_isa)isa);
            for (int64_t i = 0; i < n; i++) assert_true(fabsf(z[i] - (y[i] + 0.75f * x[i])) <= 1e-6f * (fabsf(y[i]) + fabsf(x[i])));
            lpq_cpu_vec_f16_to_f32(n, z, h, (enum lpq_cpu_isa)isa);
            for (int64_t i = 0; i < n; i++) assert_true(z[i] == lpq_fp16_to_fp32(h[i]));
        }
}

static void test_half_converters_match_types(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float a = lpq__f16_to_f32((uint16_t)h), b = lpq_fp16_to_fp32((uint16_t)h);
        assert_memory_equal(&a, &b, 4);
        if (!isnan(a)) assert_int_equal(lpq__f32_to_f16(a), h);
        assert_true(lpq__bf16_to_f32((uint16_t)h) == lpq_bf16_to_fp32((uint16_t)h) || isnan(lpq__bf16_to_f32((uint16_t)h)));
    }
    for (int i = 0; i < 200000; i++) {
        uint32_t u = rng_u32() ^ (rng_u32() << 16);
        float f;
        memcpy(&f, &u, 4);
        if (isnan(f)) continue;
        assert_int_equal(lpq__f32_to_f16(f), lpq_fp32_to_fp16(f));
    }
}

static void test_ops_table(void **state) {
    (void)state;
    for (int isa = 0; isa <= isa_top(); isa++) {
        enum lpq_cpu_isa e = (enum lpq_cpu_isa)isa;
        assert_int_equal(lpq_cpu_ops_get(LPQ_TYPE_Q4_0, e)->vec_dot_type, LPQ_TYPE_Q8_0);
        assert_int_equal(lpq_cpu_ops_get(LPQ_TYPE_Q5_0, e)->vec_dot_type, LPQ_TYPE_Q8_0);
        assert_int_equal(lpq_cpu_ops_get(LPQ_TYPE_Q8_0, e)->vec_dot_type, LPQ_TYPE_Q8_0);
        assert_int_equal(lpq_cpu_ops_get(LPQ_TYPE_IQ4_NL, e)->vec_dot_type, LPQ_TYPE_Q8_0);
        assert_int_equal(lpq_cpu_ops_get(LPQ_TYPE_Q4_1, e)->vec_dot_type, LPQ_TYPE_Q8_1);
        assert_int_equal(lpq_cpu_ops_get(LPQ_TYPE_Q5_1, e)->vec_dot_type, LPQ_TYPE_Q8_1);
        assert_int_equal(lpq_cpu_ops_get(LPQ_TYPE_Q4_K, e)->vec_dot_type, LPQ_TYPE_Q8_K);
        assert_int_equal(lpq_cpu_ops_get(LPQ_TYPE_IQ4_XS, e)->vec_dot_type, LPQ_TYPE_Q8_K);
        assert_null(lpq_cpu_ops_get(LPQ_TYPE_IQ2_XXS, e));
        assert_null(lpq_cpu_ops_get(LPQ_TYPE_Q8_K, e));
        assert_null(lpq_cpu_ops_get(999, e));
        if (isa > 0) /* the SIMD paths really are other code */
            assert_ptr_not_equal(lpq_cpu_ops_get(LPQ_TYPE_Q4_K, e)->vec_dot,
                                 lpq_cpu_ops_get(LPQ_TYPE_Q4_K, LPQ_CPU_ISA_SCALAR)->vec_dot);
    }
    assert_string_equal(lpq_cpu_isa_name(LPQ_CPU_ISA_AVX512), "avx512");
    assert_string_equal(lpq_cpu_isa_name((enum lpq_cpu_isa)42), "unknown");
}

static bool cpuinfo_has(const char *flags, const char *name) {
    size_t len = strlen(name);
    for (const char *p = flags; (p = strstr(p, name)) != NULL; p += len)
        if ((p == flags || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || p[len] == '\0')) return true;
    return false;
}

static void test_features_match_cpuinfo(void **state) {
    (void)state;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) skip();
    char line[8192], flags[8192] = "";
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "flags", 5) == 0) {
            snprintf(flags, sizeof flags, "%s", line);
            break;
        }
    fclose(f);
    if (!flags[0]) skip();
    struct lpq_cpu_features ft;
    lpq_cpu_features_detect(&ft);
    assert_int_equal(ft.avx2, cpuinfo_has(flags, "avx2"));
    assert_int_equal(ft.fma, cpuinfo_has(flags, "fma"));
    assert_int_equal(ft.f16c, cpuinfo_has(flags, "f16c"));
    assert_int_equal(ft.avx512f, cpuinfo_has(flags, "avx512f"));
    assert_int_equal(ft.avx512bw, cpuinfo_has(flags, "avx512bw"));
    assert_int_equal(ft.avx512vnni, cpuinfo_has(flags, "avx512_vnni"));
    assert_int_equal(ft.avx512bf16, cpuinfo_has(flags, "avx512_bf16"));

    /* LPQ_CPU_ISA forces a lower ISA, never a higher one (the caller's setting is restored,
     * so running this binary under LPQ_CPU_ISA=avx2 still limits the other tests) */
    const char *env = getenv("LPQ_CPU_ISA");
    char saved[32] = "";
    if (env) snprintf(saved, sizeof saved, "%s", env);
    unsetenv("LPQ_CPU_ISA");
    enum lpq_cpu_isa best = lpq_cpu_isa_best(&ft);
    setenv("LPQ_CPU_ISA", "scalar", 1);
    assert_int_equal(lpq_cpu_isa_best(&ft), LPQ_CPU_ISA_SCALAR);
    struct lpq_cpu_features none;
    memset(&none, 0, sizeof none);
    setenv("LPQ_CPU_ISA", "avx512", 1);
    assert_int_equal(lpq_cpu_isa_best(&none), LPQ_CPU_ISA_SCALAR);
    unsetenv("LPQ_CPU_ISA");
    assert_int_equal(lpq_cpu_isa_best(&ft), best);
    if (ft.avx512f && ft.avx512bw && ft.avx512vl && ft.avx512vnni) assert_int_equal(best, LPQ_CPU_ISA_AVX512);
    else if (ft.avx2 && ft.fma && ft.f16c) assert_int_equal(best, LPQ_CPU_ISA_AVX2);
    if (env) setenv("LPQ_CPU_ISA", saved, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_match_cpuinfo),
        cmocka_unit_test(test_ops_table),
        cmocka_unit_test(test_half_converters_match_types),
        cmocka_unit_test(test_float_helpers),
        cmocka_unit_test(test_quantize_act_matches_codec),
        cmocka_unit_test(test_vec_dot_all_types),
        cmocka_unit_test(test_vec_dot_single_block_sensitivity),
        cmocka_unit_test(test_gemm_matches_vec_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
