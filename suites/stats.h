/*
 * stats.h — the small statistics every suite reports: mean with its standard error (llama.cpp's
 * convention), linearly interpolated percentiles, covariance and correlation of two series,
 * the Wilson score interval for a rate, sample standard deviation.
 */
#ifndef LPQ_STATS_H
#define LPQ_STATS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Running sums of a series (and, optionally, of a second one paired with it). */
struct lpq_stats_acc {
    double n;           /* values added */
    double sum;         /* Σ x */
    double sum2;        /* Σ x² */
};
void lpq_stats_acc_add(struct lpq_stats_acc *a, double x);

/* mean = Σx/n; err = sqrt((Σx²/n − mean²)/(n−1)), the standard error of the mean as
 * llama-perplexity computes it. err is 0 when n ≤ 10 (llama.cpp's rule) or the variance is
 * not positive. With n = 0 both are 0. */
void lpq_stats_mean_err(double n, double sum, double sum2, double *mean, double *err);
/* Same as above without the n ≤ 10 rule (only n < 2 gives 0): ppl's ± uses it. */
void lpq_stats_mean_err_any(double n, double sum, double sum2, double *mean, double *err);

/* Covariance of the means of two paired series: (Σab/n − (Σa/n)(Σb/n))/(n−1); 0 when n < 10
 * (llama.cpp's rule for the ln-PPL covariance). */
double lpq_stats_cov_of_means(double n, double suma, double sumb, double sumab);

/* Percentile of an ascending array by linear interpolation between closest ranks:
 * pos = f·(n−1), v[floor] + frac·(v[floor+1] − v[floor]); f ≤ 0 → min, f ≥ 1 → max.
 * n = 0 → 0. */
double lpq_stats_percentile(const double *sorted, size_t n, double f);
/* Median of an ascending array (mean of the two middle values for even n). */
double lpq_stats_median(const double *sorted, size_t n);
/* Sorts ascending in place (NaN last). */
void lpq_stats_sort(double *v, size_t n);

/* Sample mean and standard deviation (n−1 denominator; sd 0 when n < 2). */
void lpq_stats_mean_sd(const double *v, size_t n, double *mean, double *sd);

/* Wilson score interval for k successes in n trials at normal quantile z (1.96 for 95 %).
 * n = 0 → [0, 1]. */
void lpq_stats_wilson(double k, double n, double z, double *lo, double *hi);

/* Distribution of a series (timings, latencies): sample mean and stddev (n−1), median,
 * p90/p99 by linear interpolation, min, max. `v` is not modified (sorted on a copy; a failed
 * allocation leaves the order statistics at 0). n = 0 → all 0. */
struct lpq_stats_summary {
    double mean, stddev, median, p90, p99, min, max;   /* unit of the input */
};
void lpq_stats_summarize(const double *v, size_t n, struct lpq_stats_summary *s);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_STATS_H */
