/*
 * membw.c — read-bandwidth measurement for the decode roofline (see membw.h). Each thread
 * sums its share with 8 independent 16-float accumulators held in registers (GCC vector
 * extension), so the loads, not the adds, are the limit. (A stack array of accumulators
 * compiled to a load and a store per 16 bytes read and under-reported the bandwidth.)
 * Also the weight bytes one decoded token reads, the other half of the roofline.
 */
#include "suites/membw.h"

#include <pthread.h>
#include <string.h>

#include "quant/gguf.h"
#include "runtimes/runtime.h"

typedef float v16f __attribute__((vector_size(64)));

struct job {
    const float *p;
    size_t n;          /* floats, a multiple of 128 */
    double sum;
};

static void *reader(void *arg) {
    struct job *j = arg;
    v16f a[8] = { { 0 } };
    for (size_t i = 0; i + 128 <= j->n; i += 128) {
        for (int k = 0; k < 8; k++) {
            v16f v;
            memcpy(&v, j->p + i + 16 * k, sizeof(v));
            a[k] += v;
        }
    }
    double s = 0;
    for (int k = 0; k < 8; k++)
        for (int l = 0; l < 16; l++) s += a[k][l];
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
        size_t per = n / (size_t)n_threads & ~(size_t)127;
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

uint64_t lpq_decode_weight_bytes(const char *path) {
    struct lpq_gguf *g = NULL;
    if (lpq_gguf_open(path, NULL, &g, NULL) != LPQ_STATUS_OK) return 0;
    uint64_t total = 0;
    bool tied = lpq_gguf_find_tensor(g, "output.weight") < 0;
    for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
        if (!strcmp(t->name, "token_embd.weight") && !tied) continue;
        total += t->size;
    }
    lpq_gguf_close(g);
    return total;
}
