/*
 * membw.c — read-bandwidth measurement for the decode roofline (see membw.h). The inner loop
 * uses several independent vector accumulators so the loads, not the adds, are the limit;
 * the compiler vectorises it for the build's ISA.
 */
#include "suites/membw.h"

#include <pthread.h>
#include <string.h>

#include "runtimes/runtime.h"

struct job {
    const float *p;
    size_t n;          /* floats */
    double sum;
};

static void *reader(void *arg) {
    struct job *j = arg;
    float acc[32] = { 0 };
    size_t i = 0;
    for (; i + 32 <= j->n; i += 32) {
        for (int k = 0; k < 32; k++) acc[k] += j->p[i + (size_t)k];
    }
    double s = 0;
    for (int k = 0; k < 32; k++) s += acc[k];
    j->sum = s;
    return NULL;
}

enum lpq_status lpq_membw_read(uint64_t bytes, int n_threads, int reps, double *out, struct lpq_err *err) {
    if (bytes == 0) bytes = 1ull << 30;
    if (n_threads < 1) n_threads = 1;
    if (n_threads > 64) n_threads = 64;
    if (reps < 1) reps = 1;
    size_t n = (size_t)(bytes / sizeof(float)) & ~(size_t)1023;
    float *buf = lpq_malloc_aligned(n * sizeof(float), 64);
    if (!buf) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "membw: cannot allocate %llu bytes",
                                 (unsigned long long)bytes);
    /* Touch every page so the pass measures DRAM reads, not page faults. */
    for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 7);
    double best = 0;
    struct job jobs[64];
    pthread_t th[64];
    for (int r = 0; r < reps + 1; r++) {   /* first pass is a warm-up */
        size_t per = n / (size_t)n_threads & ~(size_t)31;
        uint64_t t0 = lpq_time_ns();
        for (int t = 0; t < n_threads; t++) {
            jobs[t] = (struct job){ buf + per * (size_t)t, per, 0 };
            pthread_create(&th[t], NULL, reader, &jobs[t]);
        }
        double sink = 0;
        for (int t = 0; t < n_threads; t++) {
            pthread_join(th[t], NULL);
            sink += jobs[t].sum;
        }
        uint64_t dt = lpq_time_ns() - t0;
        double bw = (double)(per * (size_t)n_threads * sizeof(float)) / ((double)dt * 1e-9);
        if (r > 0 && bw > best && sink >= 0) best = bw;
    }
    lpq_free_aligned(buf);
    *out = best;
    return LPQ_STATUS_OK;
}
