/*
 * test_codecs.c — the reference codecs of every supported type on synthetic data:
 * quantize→dequantize NMSE bounds (gaussian, uniform, tiny, constant, outlier rows), exact
 * zeros, refusal of NaN/Inf, stability under requantization, and the extra fields of the
 * activation types (Q8_1's s, Q8_K's f32 d and bsums). No fixtures needed.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/types.h"

#define ROW 512      /* values per test row: two K super-blocks, sixteen 32-blocks */
#define NROWS 16

/* NMSE bounds per type, about 1.3-2x the measured values (printed by test_roundtrip_bounds;
 * for gaussian data they match what llama.cpp's own quantizers reach). gauss: N(0,1) rows;
 * unif: U(-1,1); tiny: N(0,1)*1e-6, where f16 block scales go subnormal (llama.cpp loses
 * such blocks entirely in Q8_0/IQ4_NL/IQ4_XS/Q6_K; lpq keeps the smallest subnormal scale). */
struct bound {
    enum lpq_type type;
    double gauss, unif, tiny;
    bool legacy;           /* 32-value block with one f16 scale: requantization within 1 LSB */
};
static const struct bound bounds[] = {
    {LPQ_TYPE_F32,    0.0,    0.0,    0.0,    false},
    {LPQ_TYPE_F16,    1e-7,   1e-7,   6e-4,   false},
    {LPQ_TYPE_BF16,   5e-6,   5e-6,   5e-6,   false},
    {LPQ_TYPE_Q8_0,   5e-5,   3e-5,   1e-3,   true},
    {LPQ_TYPE_Q8_1,   5e-5,   3e-5,   1e-3,   true},
    {LPQ_TYPE_Q4_0,   1e-2,   6e-3,   1.2e-2, true},
    {LPQ_TYPE_Q4_1,   8e-3,   5e-3,   1.2e-2, true},
    {LPQ_TYPE_Q5_0,   3e-3,   1.5e-3, 6e-3,   true},
    {LPQ_TYPE_Q5_1,   2e-3,   1.3e-3, 1.2e-2, true},
    {LPQ_TYPE_Q2_K,   0.10,   0.07,   0.10,   false},
    {LPQ_TYPE_Q3_K,   0.03,   0.02,   0.04,   false},
    {LPQ_TYPE_Q4_K,   7e-3,   4.5e-3, 1e-2,   false},
    {LPQ_TYPE_Q5_K,   1.8e-3, 1e-3,   4e-3,   false},
    {LPQ_TYPE_Q6_K,   4.5e-4, 2.5e-4, 2e-3,   false},
    {LPQ_TYPE_Q8_K,   1e-4,   3e-5,   1e-4,   false},
    {LPQ_TYPE_IQ4_NL, 8e-3,   6e-3,   7e-2,   false},
    {LPQ_TYPE_IQ4_XS, 8e-3,   6e-3,   7e-2,   false},
};

/* ---- data ------------------------------------------------------------------------------ */
static uint64_t rng_state;
static uint64_t rng_next(void) {   /* xorshift64* — fixed seed, reproducible */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
static double rng_unif(void) { return (double)(rng_next() >> 11) * 0x1p-53; }   /* [0,1) */
static float rng_gauss(void) {
    double u1 = rng_unif(), u2 = rng_unif();
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

enum data_kind { DATA_GAUSS, DATA_UNIF, DATA_TINY };

static void fill(float *x, int64_t n, enum data_kind kind) {
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case DATA_GAUSS: x[i] = rng_gauss(); break;
        case DATA_UNIF: x[i] = (float)(2.0 * rng_unif() - 1.0); break;
        case DATA_TINY: x[i] = rng_gauss() * 1e-6f; break;
        }
    }
}

/* ---- helpers --------------------------------------------------------------------------- */
static double nmse(const float *y, const float *x, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = (double)y[i] - (double)x[i];
        num += e * e;
        den += (double)x[i] * (double)x[i];
    }
    return den > 0 ? num / den : num;
}

/* Quantize + dequantize n values (a multiple of the row length) row by row. */
static void roundtrip(const struct lpq_type_traits *t, const float *x, float *y, int64_t n,
                      const float *imp) {
    size_t rs = (size_t)(ROW / t->blck_size) * t->type_size;
    uint8_t *buf = malloc(rs);
    assert_non_null(buf);
    for (int64_t r = 0; r < n / ROW; r++) {
        memset(buf, 0xff, rs);   /* a field the quantizer forgets to write reads as NaN */
        assert_true(t->from_float(x + r * ROW, buf, ROW, imp ? imp + r * ROW : NULL));
        t->to_float(buf, y + r * ROW, ROW);
    }
    free(buf);
}

static float x_buf[ROW * NROWS], y_buf[ROW * NROWS], z_buf[ROW * NROWS];

/* ---- tests ----------------------------------------------------------------------------- */

static void test_roundtrip_bounds(void **state) {
    (void)state;
    int failures = 0;
    const int64_t n = ROW * NROWS;
    printf("%-7s %11s %11s %11s %11s\n", "type", "gauss", "uniform", "tiny(1e-6)", "constant");
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(bounds); i++) {
        const struct bound *b = &bounds[i];
        const struct lpq_type_traits *t = lpq_type_traits(b->type);
        assert_non_null(t);
        const enum data_kind kinds[3] = {DATA_GAUSS, DATA_UNIF, DATA_TINY};
        const double lim[3] = {b->gauss, b->unif, b->tiny};
        double e[4];
        for (int k = 0; k < 3; k++) {
            rng_state = 0x9E3779B97F4A7C15ULL + (uint64_t)k;
            fill(x_buf, n, kinds[k]);
            roundtrip(t, x_buf, y_buf, n, NULL);
            e[k] = nmse(y_buf, x_buf, n);
            if (!(e[k] <= lim[k])) {
                printf("  %s data %d: NMSE %.4g above bound %.4g\n", t->name, k, e[k], lim[k]);
                failures++;
            }
        }
        /* constant rows, positive and negative: the block scale alone carries them */
        for (int64_t j = 0; j < n; j++) x_buf[j] = (j / ROW) % 2 ? -0.015f : 0.015f;
        roundtrip(t, x_buf, y_buf, n, NULL);
        e[3] = nmse(y_buf, x_buf, n);
        if (!(e[3] <= 1e-5)) {
            printf("  %s constant: NMSE %.4g above 1e-5\n", t->name, e[3]);
            failures++;
        }
        printf("%-7s %11.4e %11.4e %11.4e %11.4e\n", t->name, e[0], e[1], e[2], e[3]);
    }
    assert_int_equal(failures, 0);
}

static void test_zeros_exact(void **state) {
    (void)state;
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(bounds); i++) {
        const struct lpq_type_traits *t = lpq_type_traits(bounds[i].type);
        memset(x_buf, 0, ROW * sizeof(float));
        for (int j = 0; j < ROW; j++) y_buf[j] = 123.0f;
        roundtrip(t, x_buf, y_buf, ROW, NULL);
        for (int j = 0; j < ROW; j++) {
            if (y_buf[j] != 0.0f) fail_msg("%s: zero input gave %g at %d", t->name, (double)y_buf[j], j);
        }
        /* one zero block among non-zero ones stays exactly zero too */
        rng_state = 77;
        fill(x_buf, ROW, DATA_GAUSS);
        memset(x_buf + 256, 0, 256 * sizeof(float));
        roundtrip(t, x_buf, y_buf, ROW, NULL);
        for (int j = 256; j < ROW; j++) {
            if (y_buf[j] != 0.0f) fail_msg("%s: zero block gave %g at %d", t->name, (double)y_buf[j], j);
        }
    }
}

static void test_nonfinite_refused(void **state) {
    (void)state;
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    const int pos[3] = {0, 255, ROW - 1};
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(bounds); i++) {
        const struct lpq_type_traits *t = lpq_type_traits(bounds[i].type);
        uint8_t *buf = malloc(lpq_type_row_size(bounds[i].type, ROW));
        assert_non_null(buf);
        for (int b = 0; b < 3; b++) {
            for (int p = 0; p < 3; p++) {
                rng_state = 5;
                fill(x_buf, ROW, DATA_GAUSS);
                x_buf[pos[p]] = bad[b];
                if (t->from_float(x_buf, buf, ROW, NULL)) fail_msg("%s accepted %g at %d", t->name, (double)bad[b], pos[p]);
            }
        }
        struct lpq_err err;
        lpq_err_clear(&err);
        assert_int_equal(lpq_type_row_from_float(bounds[i].type, x_buf, buf, ROW, NULL, &err), LPQ_STATUS_RANGE);
        assert_non_null(strstr(err.msg, "NaN"));
        /* the same row made finite is accepted */
        x_buf[ROW - 1] = 1.0f;
        assert_int_equal(lpq_type_row_from_float(bounds[i].type, x_buf, buf, ROW, NULL, &err), LPQ_STATUS_OK);
        free(buf);
    }
}

/* One huge weight: it survives with small relative error and wrecks only its own block. */
static void test_outlier(void **state) {
    (void)state;
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(bounds); i++) {
        const struct bound *b = &bounds[i];
        const struct lpq_type_traits *t = lpq_type_traits(b->type);
        const int at = 300;                       /* in the second 256-block, 32-block 9 */
        rng_state = 99;
        fill(x_buf, ROW, DATA_GAUSS);
        x_buf[at] = -60.0f;
        roundtrip(t, x_buf, y_buf, ROW, NULL);
        double rel = fabs((double)y_buf[at] - (double)x_buf[at]) / 60.0;
        if (!(rel < 0.02)) fail_msg("%s: outlier -60 came back as %g", t->name, (double)y_buf[at]);
        /* blocks without the outlier: within the gaussian bound */
        const int64_t blk = t->blck_size, lo = (at / blk) * blk, hi = lo + blk;
        double num = 0, den = 0;
        for (int64_t j = 0; j < ROW; j++) {
            if (j >= lo && j < hi) continue;
            double e = (double)y_buf[j] - (double)x_buf[j];
            num += e * e;
            den += (double)x_buf[j] * (double)x_buf[j];
        }
        if (!(num / den <= b->gauss * 1.5)) fail_msg("%s: outlier leaked: other blocks NMSE %g", t->name, num / den);
    }
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/*
 * Dequantize → requantize → dequantize. Legacy types: every value within one quantization
 * step (the block's d, the f16 at the start of each block) of the first pass, and nearly all
 * blocks byte-identical. Other types: far closer to the first pass than the first pass is
 * to the original.
 */
static void test_requantize_stable(void **state) {
    (void)state;
    const int64_t n = ROW * 4;
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(bounds); i++) {
        const struct bound *b = &bounds[i];
        const struct lpq_type_traits *t = lpq_type_traits(b->type);
        const size_t rs = lpq_type_row_size(b->type, ROW);
        uint8_t *q1 = malloc(rs * 4), *q2 = malloc(rs * 4);
        assert_true(q1 && q2);
        rng_state = 1234;
        fill(x_buf, n, DATA_GAUSS);
        for (int r = 0; r < 4; r++) {
            assert_true(t->from_float(x_buf + r * ROW, q1 + r * rs, ROW, NULL));
            t->to_float(q1 + r * rs, y_buf + r * ROW, ROW);
            assert_true(t->from_float(y_buf + r * ROW, q2 + r * rs, ROW, NULL));
            t->to_float(q2 + r * rs, z_buf + r * ROW, ROW);
        }
        const double first = nmse(y_buf, x_buf, n), drift = nmse(z_buf, y_buf, n);
        int same_blocks = 0;
        const int64_t nblk = n / t->blck_size;
        for (int64_t k = 0; k < nblk; k++)   /* same dequantized values (Q8_1's s may move) */
            same_blocks += memcmp(y_buf + k * t->blck_size, z_buf + k * t->blck_size,
                                  (size_t)t->blck_size * sizeof(float)) == 0;
        printf("%-7s requantized: %lld/%lld blocks unchanged, drift NMSE %.3g (first pass %.3g)\n",
               t->name, (long long)same_blocks, (long long)nblk, drift, first);
        if (b->legacy) {
            for (int64_t k = 0; k < nblk; k++) {
                const float lsb = fabsf(lpq_fp16_to_fp32(rd16(q1 + k * t->type_size)));
                for (int j = 0; j < 32; j++) {
                    const int64_t e = k * 32 + j;
                    if (fabsf(z_buf[e] - y_buf[e]) > lsb * 1.0001f)
                        fail_msg("%s: requantized value %lld moved %g (> 1 LSB %g)", t->name, (long long)e,
                                 (double)(z_buf[e] - y_buf[e]), (double)lsb);
                }
            }
            assert_true(same_blocks * 10 >= nblk * 9);
        }
        if (!(drift <= first * 0.05 || drift <= 1e-12))
            fail_msg("%s: requantization drift %g vs first-pass error %g", t->name, drift, first);
        free(q1);
        free(q2);
    }
}


static void test_q8_1_sum(void **state) {
    (void)state;
    uint8_t buf[36 * (ROW / 32)];
    rng_state = 42;
    fill(x_buf, ROW, DATA_GAUSS);
    for (int j = 0; j < 32; j++) x_buf[j] = fabsf(x_buf[j]) + 0.5f;   /* a block with a large Σq */
    assert_true(lpq_type_traits(LPQ_TYPE_Q8_1)->from_float(x_buf, buf, ROW, NULL));
    for (int blk = 0; blk < ROW / 32; blk++) {
        const uint8_t *p = buf + 36 * blk;
        const float d = lpq_fp16_to_fp32(rd16(p)), s = lpq_fp16_to_fp32(rd16(p + 2));
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += (int8_t)p[4 + j];
        /* s = d*Σq, rounded to f16 (d before its own rounding: allow both roundings) */
        assert_true(fabs((double)s - (double)d * sum) <= 2e-3 * fabs((double)d * sum) + 1e-7);
        if (blk == 0) assert_true(sum > 1000);
    }
    /* Q8_1 and Q8_0 share d and qs */
    uint8_t b0[34 * (ROW / 32)];
    assert_true(lpq_type_traits(LPQ_TYPE_Q8_0)->from_float(x_buf, b0, ROW, NULL));
    for (int blk = 0; blk < ROW / 32; blk++) {
        assert_memory_equal(b0 + 34 * blk, buf + 36 * blk, 2);
        assert_memory_equal(b0 + 34 * blk + 2, buf + 36 * blk + 4, 32);
    }
}

static void test_q8_k_fields(void **state) {
    (void)state;
    uint8_t buf[292 * 2];
    rng_state = 43;
    fill(x_buf, ROW, DATA_GAUSS);
    x_buf[5] = 7.5f;   /* largest magnitude, positive: maps to -127 with a negative d */
    assert_true(lpq_type_traits(LPQ_TYPE_Q8_K)->from_float(x_buf, buf, ROW, NULL));
    float d;
    memcpy(&d, buf, 4);
    assert_true(d == -7.5f / 127.0f || fabsf(d + 7.5f / 127.0f) < 1e-7f);   /* f32, not f16 */
    assert_int_equal((int8_t)buf[4 + 5], -127);
    for (int sb = 0; sb < 2; sb++) {
        const uint8_t *p = buf + 292 * sb;
        for (int k = 0; k < 16; k++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += (int8_t)p[4 + 16 * k + j];
            int16_t bs;
            memcpy(&bs, p + 4 + 256 + 2 * k, 2);
            assert_int_equal(bs, sum);
        }
    }
}

/* Huge finite weights (beyond f16 range) are accepted and come back finite (clipped). */
static void test_huge_values_finite(void **state) {
    (void)state;
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(bounds); i++) {
        const struct lpq_type_traits *t = lpq_type_traits(bounds[i].type);
        rng_state = 7;
        fill(x_buf, ROW, DATA_GAUSS);
        for (int j = 0; j < ROW; j++) x_buf[j] *= (j < 256) ? 1e30f : 3e38f / 6.0f;
        x_buf[3] = 3.4e38f;
        x_buf[300] = -3.4e38f;
        roundtrip(t, x_buf, y_buf, ROW, NULL);
        for (int j = 0; j < ROW; j++)
            if (!isfinite(y_buf[j]) && bounds[i].type != LPQ_TYPE_F16 && bounds[i].type != LPQ_TYPE_BF16)
                fail_msg("%s: huge input gave %g at %d", t->name, (double)y_buf[j], j);
    }
}

/* imp is accepted: all-ones importance equals none, and a skewed one still gives valid
 * blocks that favour the important values. */
static void test_importance_accepted(void **state) {
    (void)state;
    static float imp[ROW];
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(bounds); i++) {
        const struct lpq_type_traits *t = lpq_type_traits(bounds[i].type);
        const size_t rs = lpq_type_row_size(bounds[i].type, ROW);
        uint8_t *a = malloc(rs), *b = malloc(rs);
        assert_true(a && b);
        rng_state = 2024;
        fill(x_buf, ROW, DATA_GAUSS);
        for (int j = 0; j < ROW; j++) imp[j] = 1.0f;
        assert_true(t->from_float(x_buf, a, ROW, NULL));
        assert_true(t->from_float(x_buf, b, ROW, imp));
        assert_memory_equal(a, b, rs);
        for (int j = 0; j < ROW; j++) imp[j] = (j % 7 == 0) ? 100.0f : 0.01f;
        assert_true(t->from_float(x_buf, b, ROW, imp));
        t->to_float(b, y_buf, ROW);
        assert_true(nmse(y_buf, x_buf, ROW) < 1.0);
        free(a);
        free(b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_bounds),
        cmocka_unit_test(test_zeros_exact),
        cmocka_unit_test(test_nonfinite_refused),
        cmocka_unit_test(test_outlier),
        cmocka_unit_test(test_requantize_stable),
        cmocka_unit_test(test_q8_1_sum),
        cmocka_unit_test(test_q8_k_fields),
        cmocka_unit_test(test_importance_accepted),
        cmocka_unit_test(test_huge_values_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
