/*
 * test_search_weights.c — the symmetric block search contains a plain 0.1-level
 * least-squares search (so no block is worse than that simple method on the search's own
 * objective), and lpq_quant_row_weights_type gives the weights each encoder minimises
 * (the generic ones, but block-local σ² for the IQ4 types with an imatrix).
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quant-search-impl.h"
#include "quant/quantize.h"

static uint64_t rng_next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}

/* Roughly gaussian (sum of 4 uniforms), sd ≈ 0.02, with an occasional ×8 outlier. */
static float rnd_weight(uint64_t *s) {
    double u = 0;
    for (int k = 0; k < 4; k++) u += (double)rng_next(s) / 9007199254740992.0;
    float v = (float)((u - 2.0) * 0.035);
    return rng_next(s) % 23 == 0 ? 8.0f * v : v;
}

/* Weighted error of x ≈ d·L, in double (the search's own float sums cancel badly). */
static double block_err(const float *x, const float *w, int n, double d, const int8_t *L) {
    double e = 0;
    for (int i = 0; i < n; i++) {
        double r = (double)x[i] - d * L[i];
        e += w[i] * r * r;
    }
    return e;
}

/* Best weighted error of the plain search: the largest magnitude mapped to −(8 + 0.1·k),
 * k = −9 … 9, round, least-squares scale for those integers. */
static double plain_search_err(const float *x, const float *w, int n) {
    float vmax = 0;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > fabsf(vmax)) vmax = x[i];
    }
    double best = INFINITY;
    for (int k = -9; k <= 9; k++) {
        float id = -(8.0f + 0.1f * (float)k) / vmax;
        int8_t L[32];
        double sxq = 0, sqq = 0;
        for (int i = 0; i < n; i++) {
            float q = nearbyintf(x[i] * id);
            q = q < -8 ? -8 : q > 7 ? 7 : q;
            L[i] = (int8_t)q;
            sxq += (double)w[i] * x[i] * q;
            sqq += (double)w[i] * q * q;
        }
        double e = sqq > 0 ? block_err(x, w, n, sxq / sqq, L) : INFINITY;
        best = e < best ? e : best;
    }
    return best;
}

/* The Q4_0 fit (with its fine targets) is never worse than the plain search; without the
 * fine targets it is worse on some blocks (so the fine targets are what guarantees it). */
static void test_fit_sym_contains_plain_search(void **state) {
    (void)state;
    uint64_t s = 42;
    int coarse_worse = 0;
    for (int b = 0; b < 2000; b++) {
        float x[32], w[32];
        int8_t L[32];
        for (int i = 0; i < 32; i++) {
            x[i] = rnd_weight(&s);
            w[i] = 0.05f + (float)(rng_next(&s) % 1000) / 250.0f;
        }
        double plain = plain_search_err(x, w, 32);
        float d = lpq__fit_sym(x, w, 32, -8, 7, 8, 9, L, NULL);
        double e_fine = block_err(x, w, 32, d, L);
        d = lpq__fit_sym(x, w, 32, -8, 7, 8, 0, L, NULL);
        double e_coarse = block_err(x, w, 32, d, L);
        assert_true(e_fine <= plain * (1 + 1e-5));
        if (e_coarse > plain * (1 + 1e-5)) coarse_worse++;
    }
    print_message("  coarse-only search worse than the plain search on %d of 2000 blocks\n", coarse_worse);
    assert_true(coarse_worse > 0);
}

/* lpq_quant_row_weights_type: the generic weights except block-local σ² for IQ4 with an
 * imatrix, and encoding with the imatrix lowers the error under those exact weights. */
static void test_row_weights_type(void **state) {
    (void)state;
    enum { N = 512 };
    static const uint32_t types[] = { LPQ_TYPE_Q8_0, LPQ_TYPE_Q4_0, LPQ_TYPE_Q4_1, LPQ_TYPE_Q5_0,
                                      LPQ_TYPE_Q5_1, LPQ_TYPE_Q2_K, LPQ_TYPE_Q3_K, LPQ_TYPE_Q4_K,
                                      LPQ_TYPE_Q5_K, LPQ_TYPE_Q6_K, LPQ_TYPE_IQ4_NL, LPQ_TYPE_IQ4_XS };
    static float x[N], imp[N], w[N], w0[N], y[N];
    static uint8_t q[N * 2];
    uint64_t s = 99;
    for (int i = 0; i < N; i++) {
        x[i] = rnd_weight(&s) * (i < 256 ? 0.1f : 1.0f);   /* a quiet half and a loud half */
        imp[i] = i % 5 == 0 ? 40.0f : i % 3 == 0 ? 0.02f : 1.0f;
    }
    /* IQ4_NL: imp·sqrt(2·mean x² over the 32-block + x²) (+ a 1e-5·mean(imp) floor). */
    assert_int_equal(lpq_quant_row_weights_type(LPQ_TYPE_IQ4_NL, x, N, imp, w), LPQ_STATUS_OK);
    lpq_quant_row_weights(x, N, imp, w0);
    double imean = 0;
    for (int i = 0; i < N; i++) imean += imp[i] / N;
    for (int i = 0; i < N; i += 37) {
        double sb = 0;
        for (int j = i / 32 * 32; j < i / 32 * 32 + 32; j++) sb += (double)x[j] * x[j];
        double want = (imp[i] + 1e-5 * imean) * sqrt(2 * sb / 32 + (double)x[i] * x[i]);
        assert_true(fabs(w[i] - want) <= 1e-3 * want);
    }
    /* in the quiet half the row σ² dominates, so the generic weights are flatter there */
    assert_true(fabs(w[0] - w0[0]) > 0.1 * w0[0]);
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        const struct lpq_type_traits *tr = lpq_type_traits(types[t]);
        assert_int_equal(lpq_quant_row_weights_type(types[t], x, N, NULL, w), LPQ_STATUS_OK);
        lpq_quant_row_weights(x, N, NULL, w0);
        assert_memory_equal(w, w0, sizeof(w));
        assert_int_equal(lpq_quant_row_weights_type(types[t], x, N, imp, w), LPQ_STATUS_OK);
        if (types[t] != LPQ_TYPE_IQ4_NL && types[t] != LPQ_TYPE_IQ4_XS) {
            lpq_quant_row_weights(x, N, imp, w0);
            assert_memory_equal(w, w0, sizeof(w));
        }
        assert_int_equal(lpq_quant_row_encode(types[t], x, q, N, imp), LPQ_STATUS_OK);
        tr->to_float(q, y, N);
        double ew = lpq_quant_weighted_err(x, y, w, N, NULL);
        assert_int_equal(lpq_quant_row_encode(types[t], x, q, N, NULL), LPQ_STATUS_OK);
        tr->to_float(q, y, N);
        double eu = lpq_quant_weighted_err(x, y, w, N, NULL);
        assert_true(ew < eu);
    }
    assert_int_equal(lpq_quant_row_weights_type(LPQ_TYPE_Q4_K, x, 48, imp, w), LPQ_STATUS_BAD_ARG);
    assert_int_equal(lpq_quant_row_weights_type(LPQ_TYPE_F32, x, N, imp, w), LPQ_STATUS_UNSUPPORTED);
    assert_int_equal(lpq_quant_row_weights_type(LPQ_TYPE_IQ2_XXS, x, N, imp, w), LPQ_STATUS_UNSUPPORTED);
}

int main(void) {
    tu_use_cmocka_allocator();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_sym_contains_plain_search),
        cmocka_unit_test(test_row_weights_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
