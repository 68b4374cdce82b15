/*
 * bench_kernels.c — microbenchmark of the CPU kernels, one thread: weight bytes streamed per
 * second by vec_dot (decode) and gemm (prefill, 64 activation rows) over matrices larger than
 * L2 (Qwen2.5-0.5B shapes), for each type and ISA: vec_dot row by row, gemm with one
 * activation row over all weight rows (the decode path), gemm with 64 (prefill). Not a test; build and run by hand:
 *   cc -O2 -std=c11 -D_DEFAULT_SOURCE -I. bench/bench_kernels.c runtimes/cpu/kernels-*.c \
 *      runtimes/cpu/cpu-features.c build-X/quant/liblpq_quant.a -lm -o /tmp/bench_kernels
 *   /tmp/bench_kernels [TYPE ...]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quant/types.h"
#include "runtimes/cpu/kernels.h"

static double now(void) {
    struct timespec ts;
    /* thread CPU time: the machine is shared, wall time would count other processes */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t g_rng = 88172645463325252ull;
static float rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((g_rng >> 11) & 0xffff) / 32768.0f - 1.0f;
}

struct shape { int64_t n, rows; };

int main(int argc, char **argv) {
    static const char *names[] = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                                  "IQ4_NL", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"};
    const struct shape shapes[] = {{896, 4864}, {4864, 896}};
    struct lpq_cpu_features f;
    lpq_cpu_features_detect(&f);
    int top = (int)lpq_cpu_isa_best(&f);
    double budget = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 0.25;
    printf("%-7s %-6s %-11s %9s %9s %9s\n", "type", "isa", "shape", "dot GB/s", "gemv GB/s", "gemm GB/s");
    for (size_t t = 0; t < sizeof names / sizeof names[0]; t++) {
        if (argc > 1) {
            int want = 0;
            for (int k = 1; k < argc; k++) want |= strcmp(argv[k], names[t]) == 0;
            if (!want) continue;
        }
        enum lpq_type type;
        lpq_type_from_name(names[t], &type);
        const struct lpq_type_traits *tr = lpq_type_traits(type);
        for (size_t s = 0; s < 2; s++) {
            int64_t n = shapes[s].n, rows = shapes[s].rows;
            if (n % tr->blck_size) continue;
            size_t wrow = lpq_type_row_size(type, n);
            uint8_t *w = malloc(wrow * (size_t)rows);
            float *x = malloc(sizeof(float) * (size_t)n * 64), *out = malloc(sizeof(float) * (size_t)rows * 64);
            for (int64_t i = 0; i < n * 64; i++) x[i] = rnd();
            for (int64_t r = 0; r < rows; r++) tr->from_float(x + (r % 64) * n, w + (size_t)r * wrow, n, NULL);
            for (int isa = 0; isa <= top; isa++) {
                const struct lpq_cpu_ops *ops = lpq_cpu_ops_get(type, (enum lpq_cpu_isa)isa);
                if (!ops) continue;
                size_t arow = lpq_type_row_size(ops->vec_dot_type, n);
                uint8_t *a = malloc(arow * 64);
                for (int c = 0; c < 64; c++) ops->quantize_act(x + c * n, a + (size_t)c * arow, n);
                /* decode: every row once per pass; the matrix (>= 2 MB) leaves L2 between passes */
                int passes = 0;
                double t0 = now(), t1;
                do {
                    for (int64_t r = 0; r < rows; r++) ops->vec_dot(n, &out[r], w + (size_t)r * wrow, a);
                    passes++;
                    t1 = now();
                } while (t1 - t0 < budget);
                double dot_gbs = (double)wrow * (double)rows * passes / (t1 - t0) / 1e9;
                double gemm_gbs = 0.0, gemv_gbs = 0.0;
                if (ops->gemm) {
                    passes = 0;
                    t0 = now();
                    do {
                        ops->gemm(n, rows, 1, out, rows, w, wrow, a, arow);
                        passes++;
                        t1 = now();
                    } while (t1 - t0 < budget);
                    gemv_gbs = (double)wrow * (double)rows * passes / (t1 - t0) / 1e9;
                    passes = 0;
                    t0 = now();
                    do {
                        ops->gemm(n, rows, 64, out, rows, w, wrow, a, arow);
                        passes++;
                        t1 = now();
                    } while (t1 - t0 < budget);
                    /* weight bytes x activation rows per second: the prefill figure of merit */
                    gemm_gbs = (double)wrow * (double)rows * 64.0 * passes / (t1 - t0) / 1e9;
                }
                printf("%-7s %-6s %5lldx%-5lld %9.2f %9.2f %9.2f\n", names[t],
                       lpq_cpu_isa_name((enum lpq_cpu_isa)isa), (long long)rows, (long long)n, dot_gbs,
                       gemv_gbs, gemm_gbs);
                fflush(stdout);
                free(a);
            }
            free(w);
            free(x);
            free(out);
        }
    }
    return 0;
}
