/*
 * stats.c — mean ± standard error, percentiles, covariance and Wilson intervals (stats.h).
 * Conventions follow llama-perplexity where lpq's figures must be comparable with its own.
 */
#include "suites/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/common.h"

void lpq_stats_acc_add(struct lpq_stats_acc *a, double x) {
    a->n += 1;
    a->sum += x;
    a->sum2 += x * x;
}

void lpq_stats_mean_err_any(double n, double sum, double sum2, double *mean, double *err) {
    double m = n > 0 ? sum / n : 0;
    double e = 0;
    if (n >= 2) {
        double var = sum2 / n - m * m;
        e = var > 0 ? sqrt(var / (n - 1)) : 0;
    }
    if (mean) *mean = m;
    if (err) *err = e;
}

void lpq_stats_mean_err(double n, double sum, double sum2, double *mean, double *err) {
    lpq_stats_mean_err_any(n, sum, sum2, mean, err);
    if (err && n <= 10) *err = 0;
}

double lpq_stats_cov_of_means(double n, double suma, double sumb, double sumab) {
    if (n < 10) return 0;
    return (sumab / n - (suma / n) * (sumb / n)) / (n - 1);
}

double lpq_stats_percentile(const double *v, size_t n, double f) {
    if (n == 0) return 0;
    if (f <= 0) return v[0];
    if (f >= 1) return v[n - 1];
    double pos = f * (double)(n - 1);
    size_t i = (size_t)pos;
    double frac = pos - (double)i;
    size_t j = i + 1 < n ? i + 1 : n - 1;
    return (1 - frac) * v[i] + frac * v[j];
}

double lpq_stats_median(const double *v, size_t n) {
    if (n == 0) return 0;
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x)) return isnan(y) ? 0 : 1;
    if (isnan(y)) return -1;
    return (x > y) - (x < y);
}

void lpq_stats_sort(double *v, size_t n) {
    if (n > 1) qsort(v, n, sizeof *v, cmp_double);
}

void lpq_stats_mean_sd(const double *v, size_t n, double *mean, double *sd) {
    double m = 0, s = 0;
    for (size_t i = 0; i < n; i++) m += v[i];
    m = n ? m / (double)n : 0;
    /* two-pass: no cancellation for timings with a large common offset */
    for (size_t i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
    if (mean) *mean = m;
    if (sd) *sd = n > 1 ? sqrt(s / (double)(n - 1)) : 0;
}

void lpq_stats_wilson(double k, double n, double z, double *lo, double *hi) {
    if (n <= 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    double p = k / n, z2 = z * z;
    double den = 1 + z2 / n;
    double c = (p + z2 / (2 * n)) / den;
    double h = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / den;
    *lo = c - h < 0 ? 0 : c - h;
    *hi = c + h > 1 ? 1 : c + h;
}

void lpq_stats_summarize(const double *v, size_t n, struct lpq_stats_summary *s) {
    memset(s, 0, sizeof *s);
    if (n == 0) return;
    lpq_stats_mean_sd(v, n, &s->mean, &s->stddev);
    double *c = lpq_malloc_array(n, sizeof *c);
    if (!c) return;
    memcpy(c, v, n * sizeof *c);
    lpq_stats_sort(c, n);
    s->median = lpq_stats_median(c, n);
    s->p90 = lpq_stats_percentile(c, n, 0.90);
    s->p99 = lpq_stats_percentile(c, n, 0.99);
    s->min = c[0];
    s->max = c[n - 1];
    lpq_free(c);
}
