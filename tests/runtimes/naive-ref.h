/*
 * naive-ref.h — the plain double-precision pieces the CPU-engine tests build their reference
 * forward passes from (tensor lookup by name, RMSNorm, matrix-vector product) and the NMSE
 * they compare with. Shares no code with the engine on purpose. Header-only, static inline,
 * for the tests under tests/runtimes/ that include it after testutil.h.
 */
#ifndef LPQ_TEST_NAIVE_REF_H
#define LPQ_TEST_NAIVE_REF_H

#include <math.h>
#include <stdio.h>

#include "quant/gguf.h"

/* F32 data of tensor `fmt` (printf'd with the layer index); fails the test when absent. */
static inline const float *tens(struct lpq_gguf *g, const char *fmt, int il) {
    char name[96];
    snprintf(name, sizeof(name), fmt, il);
    int64_t i = lpq_gguf_find_tensor(g, name);
    if (i < 0) fail_msg("no tensor %s", name);
    return lpq_gguf_tensor(g, i)->data;
}

/* y = x / rms(x) * w, eps 1e-5 (stories260K's). */
static inline void naive_norm(double *y, const double *x, const float *w, int n) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double sc = 1.0 / sqrt(ss / n + 1e-5);
    for (int i = 0; i < n; i++) y[i] = x[i] * sc * w[i];
}

/* W (n_out rows of n_in) @ x (n_in) -> y (n_out) */
static inline void naive_mv(double *y, const float *W, const double *x, int n_in, int n_out) {
    for (int r = 0; r < n_out; r++) {
        double s = 0;
        for (int i = 0; i < n_in; i++) s += (double)W[(size_t)r * n_in + i] * x[i];
        y[r] = s;
    }
}

/* Σ(a − ref)² / Σ ref² (the plain sum when ref is all zeros). */
static inline double nmse(const float *a, const float *ref, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    return den > 0 ? num / den : num;
}

#endif
