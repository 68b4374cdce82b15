/*
 * bench_speed.c — the prefill/decode speed of lpq's CPU engine on one GGUF, measured the way
 * llama-bench does (pp N: one batch of N tokens into an empty cache; tg N: N single-token
 * evals; one warm-up, then R timed repetitions, wall time), plus DRAM read bandwidth and the
 * weight bytes a decoded token reads, so scripts/bench-cpu can print the roofline. Prints one
 * line of key=value pairs. Not a test; scripts/bench-cpu builds and runs it:
 *   bench_speed MODEL.gguf THREADS [REPS] [N_PP] [N_TG] [MEMBW_MiB (0 = skip)]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quant/gguf.h"
#include "runtimes/runtime.h"
#include "suites/membw.h"


/* Process CPU time in seconds: on a shared machine, tok per CPU-second at one thread is the
 * figure that other processes disturb least (printed as pp_cpu / tg_cpu, best of the reps). */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void stats(const double *v, int n, double *mean, double *best) {
    *mean = 0;
    *best = 0;
    for (int i = 0; i < n; i++) {
        *mean += v[i] / n;
        if (v[i] > *best) *best = v[i];
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf THREADS [REPS] [N_PP] [N_TG] [MEMBW_MiB]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int threads = atoi(argv[2]);
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    int64_t n_pp = argc > 4 ? atoll(argv[4]) : 512, n_tg = argc > 5 ? atoll(argv[5]) : 128;
    int64_t membw_mib = argc > 6 ? atoll(argv[6]) : 1024;
    if (reps < 1 || reps > 64 || n_pp < 1 || n_tg < 1) {
        fprintf(stderr, "bench_speed: bad arguments\n");
        return 2;
    }
    struct lpq_err err;
    lpq_err_clear(&err);
    const struct lpq_rt_reg *reg = NULL;
    struct lpq_rt_model *m = NULL;
    struct lpq_rt_params rp = lpq_rt_params_default();
    rp.n_threads = threads;
    rp.n_ctx = n_pp + n_tg > 1024 ? n_pp + n_tg : 1024;
    rp.n_batch = n_pp;
    if (lpq_rt_find("cpu", &reg, &err) != LPQ_STATUS_OK ||
        lpq_rt_model_load(reg, path, &rp, &m, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "bench_speed: %s: %s\n", path, err.msg);
        return 1;
    }
    int32_t n_vocab = lpq_rt_n_vocab(m);
    float *logits = malloc((size_t)n_vocab * sizeof(float));
    int32_t *tok = malloc((size_t)(n_pp + n_tg) * sizeof(int32_t));
    double pp[64], tg[64], ppc[64], tgc[64];
    if (!logits || !tok) return 1;
    uint64_t s = 12345;
    for (int64_t i = 0; i < n_pp + n_tg; i++) {   /* ids away from the special tokens */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        tok[i] = 4 + (int32_t)((s >> 33) % (uint64_t)(n_vocab - 4));
    }
    for (int r = -1; r < reps; r++) {
        lpq_rt_kv_trim(m, 0);
        uint64_t t0 = lpq_time_ns();
        double c0 = cpu_s();
        if (lpq_rt_eval(m, tok, n_pp, NULL, logits) != LPQ_STATUS_OK) goto fail;
        if (r >= 0) pp[r] = (double)n_pp / ((double)(lpq_time_ns() - t0) * 1e-9);
        if (r >= 0) ppc[r] = (double)n_pp / (cpu_s() - c0);
    }
    for (int r = -1; r < reps; r++) {
        lpq_rt_kv_trim(m, 0);
        uint64_t t0 = lpq_time_ns();
        double c0 = cpu_s();
        for (int64_t i = 0; i < n_tg; i++)
            if (lpq_rt_eval(m, tok + i, 1, NULL, logits) != LPQ_STATUS_OK) goto fail;
        if (r >= 0) tg[r] = (double)n_tg / ((double)(lpq_time_ns() - t0) * 1e-9);
        if (r >= 0) tgc[r] = (double)n_tg / (cpu_s() - c0);
    }
    lpq_rt_model_free(m);
    double bw = 0;
    if (membw_mib > 0 && lpq_membw_read((uint64_t)membw_mib << 20, threads, 3, &bw, NULL) != LPQ_STATUS_OK) bw = 0;
    double pp_mean, pp_best, tg_mean, tg_best, ppc_mean, ppc_best, tgc_mean, tgc_best;
    stats(pp, reps, &pp_mean, &pp_best);
    stats(tg, reps, &tg_mean, &tg_best);
    stats(ppc, reps, &ppc_mean, &ppc_best);
    stats(tgc, reps, &tgc_mean, &tgc_best);
    printf("pp=%.2f pp_best=%.2f tg=%.2f tg_best=%.2f pp_cpu=%.2f tg_cpu=%.2f membw=%.0f wbytes=%llu\n", pp_mean,
           pp_best, tg_mean, tg_best, ppc_best, tgc_best, bw, (unsigned long long)lpq_decode_weight_bytes(path));
    free(logits);
    free(tok);
    return 0;
fail:
    fprintf(stderr, "bench_speed: eval failed: %s\n", lpq_rt_errmsg(m));
    return 1;
}
