/*
 * test_stats.c — mean ± standard error (llama.cpp's rules), percentiles by linear
 * interpolation, median, covariance of means, Wilson intervals and the timing summary,
 * each against hand-computed values.
 */
#include "testutil.h"

#include <math.h>

#include "suites/stats.h"

static void test_mean_err(void **state) {
    (void)state;
    double v[12], n = 0, s = 0, s2 = 0;
    for (int i = 0; i < 12; i++) {
        v[i] = i + 1;   /* 1..12: mean 6.5, population var 143/12 */
        n++; s += v[i]; s2 += v[i] * v[i];
    }
    double m, e;
    lpq_stats_mean_err(n, s, s2, &m, &e);
    assert_float_equal(m, 6.5, 1e-12);
    assert_float_equal(e, sqrt((143.0 / 12) / 11), 1e-12);
    /* n <= 10 → uncertainty 0 (llama.cpp), but the "any" variant still gives it */
    lpq_stats_mean_err(10, 55, 385, &m, &e);
    assert_float_equal(m, 5.5, 1e-12);
    assert_float_equal(e, 0, 0);
    lpq_stats_mean_err_any(10, 55, 385, &m, &e);
    assert_float_equal(e, sqrt((385.0 / 10 - 30.25) / 9), 1e-12);
    lpq_stats_mean_err(0, 0, 0, &m, &e);
    assert_float_equal(m, 0, 0);
    struct lpq_stats_acc a = { 0 };
    lpq_stats_acc_add(&a, 2);
    lpq_stats_acc_add(&a, 4);
    assert_float_equal(a.sum2, 20, 0);
}

static void test_percentile(void **state) {
    (void)state;
    double v[] = { 4, 1, 3, 2 };
    lpq_stats_sort(v, 4);
    assert_float_equal(v[0], 1, 0);
    assert_float_equal(v[3], 4, 0);
    assert_float_equal(lpq_stats_percentile(v, 4, 0.5), 2.5, 1e-12);
    assert_float_equal(lpq_stats_percentile(v, 4, 0.25), 1.75, 1e-12);
    assert_float_equal(lpq_stats_percentile(v, 4, 0.999), 3.997, 1e-12);
    assert_float_equal(lpq_stats_percentile(v, 4, 0), 1, 0);
    assert_float_equal(lpq_stats_percentile(v, 4, 1), 4, 0);
    assert_float_equal(lpq_stats_median(v, 4), 2.5, 1e-12);
    assert_float_equal(lpq_stats_median(v, 3), 2, 1e-12);
    assert_float_equal(lpq_stats_percentile(v, 0, 0.5), 0, 0);
    assert_float_equal(lpq_stats_percentile(v, 1, 0.3), 1, 0);
}

static void test_cov(void **state) {
    (void)state;
    /* b = 2a: cov of means = 2 var(a)/(n-1) with population var */
    double n = 0, sa = 0, sb = 0, sab = 0, sa2 = 0;
    for (int i = 0; i < 20; i++) {
        double a = sin(i), b = 2 * a;
        n++; sa += a; sb += b; sab += a * b; sa2 += a * a;
    }
    double var = sa2 / n - (sa / n) * (sa / n);
    assert_float_equal(lpq_stats_cov_of_means(n, sa, sb, sab), 2 * var / (n - 1), 1e-12);
    assert_float_equal(lpq_stats_cov_of_means(9, sa, sb, sab), 0, 0);
}

static void test_wilson(void **state) {
    (void)state;
    double lo, hi;
    lpq_stats_wilson(8, 10, 1.96, &lo, &hi);
    assert_float_equal(lo, 0.4901568, 1e-6);   /* textbook: 8/10 → [0.490, 0.943] */
    assert_float_equal(hi, 0.9433191, 1e-6);
    lpq_stats_wilson(0, 10, 1.96, &lo, &hi);
    assert_float_equal(lo, 0, 1e-12);
    assert_true(hi > 0.25 && hi < 0.3);
    lpq_stats_wilson(0, 0, 1.96, &lo, &hi);
    assert_float_equal(lo, 0, 0);
    assert_float_equal(hi, 1, 0);
}

static void test_summarize(void **state) {
    (void)state;
    double v[] = { 5, 1, 4, 2, 3 };
    struct lpq_stats_summary s;
    lpq_stats_summarize(v, 5, &s);
    assert_float_equal(s.mean, 3, 1e-12);
    assert_float_equal(s.stddev, sqrt(2.5), 1e-12);
    assert_float_equal(s.median, 3, 0);
    assert_float_equal(s.p90, 4.6, 1e-12);
    assert_float_equal(s.min, 1, 0);
    assert_float_equal(s.max, 5, 0);
    assert_float_equal(v[0], 5, 0);   /* input untouched */
}

int main(void) {
    tu_use_cmocka_allocator();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mean_err), cmocka_unit_test(test_percentile), cmocka_unit_test(test_cov),
        cmocka_unit_test(test_wilson), cmocka_unit_test(test_summarize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
