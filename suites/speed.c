/*
 * speed.c — the `speed` suite: prefill (pp N), decode (tg N), prompt+generate with time to
 * first token, time per output token and inter-token latency percentiles, model load time
 * (cold and warm), peak RSS and the runtime's own memory figure, perf counters around each
 * phase, a --threads sweep, and the decode roofline from measured read bandwidth.
 * Conventions follow llama-bench (pp/tg exclude tokenization and sampling; one warm-up, then
 * repetitions reported as mean ± sample stddev and median) and vLLM (TTFT/TPOT/ITL).
 * Each phase × thread count is one result item, so an interrupted run resumes.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quant/gguf.h"
#include "suites/membw.h"
#include "suites/perf.h"
#include "suites/stats.h"
#include "suites/suite.h"
#include "suites/suites-impl.h"

struct speed_cfg {
    int64_t n_pp;        /* prompt tokens for pp */
    int64_t n_tg;        /* generated tokens for tg */
    int64_t n_pg_prompt; /* prompt+generate: prompt tokens */
    int64_t n_pg_gen;    /* prompt+generate: generated tokens */
    int32_t reps;        /* measured repetitions after one warm-up */
};

/* ---- small helpers ------------------------------------------------------------------- */

static json_t *summary_json(const double *v, size_t n, const char *unit) {
    struct lpq_stats_summary s;
    lpq_stats_summarize(v, n, &s);
    json_t *o = json_object();
    json_object_set_new(o, "unit", json_string(unit));
    json_object_set_new(o, "n", json_integer((json_int_t)n));
    json_object_set_new(o, "mean", json_real(s.mean));
    json_object_set_new(o, "stddev", json_real(s.stddev));
    json_object_set_new(o, "median", json_real(s.median));
    json_object_set_new(o, "p90", json_real(s.p90));
    json_object_set_new(o, "p99", json_real(s.p99));
    json_object_set_new(o, "min", json_real(s.min));
    json_object_set_new(o, "max", json_real(s.max));
    return o;
}

/* Peak resident set since the last reset, in bytes (VmHWM); 0 when unknown. */
static uint64_t peak_rss(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "VmHWM:", 6)) {
            kb = strtoull(line + 6, NULL, 10);
            break;
        }
    }
    if (f) fclose(f);
    return kb * 1024;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0); false when not permitted. */
static bool reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* Deterministic token ids in [0, n_vocab), avoiding the first 4 ids (special tokens). */
static void fill_tokens(int32_t *t, int64_t n, int32_t n_vocab, uint64_t seed) {
    struct lpq_rng rng;
    lpq_rng_seed(&rng, seed);
    int32_t lo = n_vocab > 8 ? 4 : 0;
    for (int64_t i = 0; i < n; i++) t[i] = lo + (int32_t)(lpq_rng_uniform(&rng) * (double)(n_vocab - lo));
}

/* Fraction of the file's pages resident in the page cache (0..1), -1 when unknown. */
static double resident_fraction(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    struct stat st;
    double frac = -1;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            size_t page = (size_t)sysconf(_SC_PAGESIZE);
            size_t n = ((size_t)st.st_size + page - 1) / page;
            unsigned char *vec = malloc(n);
            if (vec && mincore(p, (size_t)st.st_size, vec) == 0) {
                size_t r = 0;
                for (size_t i = 0; i < n; i++) r += vec[i] & 1;
                frac = (double)r / (double)n;
            }
            free(vec);
            munmap(p, (size_t)st.st_size);
        }
    }
    close(fd);
    return frac;
}

static void evict_file(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

/* ---- phases -------------------------------------------------------------------------- */

struct phase_env {
    struct lpq_suite_ctx *ctx;
    struct lpq_rt_model *m;
    int32_t n_threads;
    const struct speed_cfg *cfg;
    struct lpq_perf *perf;
    int32_t *tokens;     /* n_pg_prompt + n_pp tokens of scratch */
    double *samples;     /* reps * max(n_tg, n_pg_gen) */
};

static enum lpq_status phase_pp(struct phase_env *pe, json_t **out, struct lpq_err *err) {
    const struct speed_cfg *cfg = pe->cfg;
    int32_t n_vocab = lpq_rt_n_vocab(pe->m);
    float *logits = lpq_malloc_array((size_t)n_vocab, sizeof(float));
    double *tps = lpq_malloc_array((size_t)cfg->reps, sizeof(double));
    enum lpq_status st = LPQ_STATUS_NO_MEMORY;
    if (!logits || !tps) goto done;
    fill_tokens(pe->tokens, cfg->n_pp, n_vocab, 1234);
    struct lpq_perf_sample ps;
    bool rss_ok = reset_peak_rss();
    for (int r = -1; r < cfg->reps; r++) {
        if ((st = lpq_rt_kv_trim(pe->m, 0)) != LPQ_STATUS_OK) goto fail;
        if (r == 0) lpq_perf_start(pe->perf);
        uint64_t t0 = lpq_time_ns();
        st = lpq_rt_eval(pe->m, pe->tokens, cfg->n_pp, NULL, logits);
        uint64_t dt = lpq_time_ns() - t0;
        if (st != LPQ_STATUS_OK) goto fail;
        if (r >= 0) tps[r] = (double)cfg->n_pp / ((double)dt * 1e-9);
    }
    lpq_perf_stop(pe->perf, &ps);
    json_t *o = json_object();
    json_object_set_new(o, "n_prompt", json_integer(cfg->n_pp));
    json_object_set_new(o, "threads", json_integer(pe->n_threads));
    json_object_set_new(o, "tok_per_s", summary_json(tps, (size_t)cfg->reps, "tok/s"));
    json_object_set_new(o, "peak_rss_bytes", rss_ok ? json_integer((json_int_t)peak_rss()) : json_null());
    json_object_set_new(o, "perf", lpq_perf_sample_json(&ps));
    *out = o;
    st = LPQ_STATUS_OK;
    goto done;
fail:
    lpq_err_set(err, st, "speed: pp%lld eval failed: %s", (long long)cfg->n_pp, lpq_rt_errmsg(pe->m));
done:
    lpq_free(logits);
    lpq_free(tps);
    if (st == LPQ_STATUS_NO_MEMORY && !err->msg[0]) lpq_err_set(err, st, "speed: out of memory");
    return st;
}

static enum lpq_status phase_tg(struct phase_env *pe, json_t **out, struct lpq_err *err) {
    const struct speed_cfg *cfg = pe->cfg;
    int32_t n_vocab = lpq_rt_n_vocab(pe->m);
    float *logits = lpq_malloc_array((size_t)n_vocab, sizeof(float));
    double *tps = lpq_malloc_array((size_t)cfg->reps, sizeof(double));
    enum lpq_status st = LPQ_STATUS_NO_MEMORY;
    if (!logits || !tps) goto done;
    fill_tokens(pe->tokens, cfg->n_tg, n_vocab, 4321);
    struct lpq_perf_sample ps;
    bool rss_ok = reset_peak_rss();
    size_t n_itl = 0;
    for (int r = -1; r < cfg->reps; r++) {
        if ((st = lpq_rt_kv_trim(pe->m, 0)) != LPQ_STATUS_OK) goto fail;
        if (r == 0) lpq_perf_start(pe->perf);
        uint64_t t0 = lpq_time_ns(), tprev = t0;
        for (int64_t i = 0; i < cfg->n_tg; i++) {
            if ((st = lpq_rt_eval(pe->m, pe->tokens + i, 1, NULL, logits)) != LPQ_STATUS_OK) goto fail;
            uint64_t t = lpq_time_ns();
            if (r >= 0) pe->samples[n_itl++] = (double)(t - tprev) * 1e-6;
            tprev = t;
        }
        if (r >= 0) tps[r] = (double)cfg->n_tg / ((double)(tprev - t0) * 1e-9);
    }
    lpq_perf_stop(pe->perf, &ps);
    json_t *o = json_object();
    json_object_set_new(o, "n_gen", json_integer(cfg->n_tg));
    json_object_set_new(o, "threads", json_integer(pe->n_threads));
    json_object_set_new(o, "tok_per_s", summary_json(tps, (size_t)cfg->reps, "tok/s"));
    json_object_set_new(o, "token_latency_ms", summary_json(pe->samples, n_itl, "ms"));
    json_object_set_new(o, "peak_rss_bytes", rss_ok ? json_integer((json_int_t)peak_rss()) : json_null());
    json_object_set_new(o, "perf", lpq_perf_sample_json(&ps));
    *out = o;
    st = LPQ_STATUS_OK;
    goto done;
fail:
    lpq_err_set(err, st, "speed: tg%lld eval failed: %s", (long long)cfg->n_tg, lpq_rt_errmsg(pe->m));
done:
    lpq_free(logits);
    lpq_free(tps);
    if (st == LPQ_STATUS_NO_MEMORY && !err->msg[0]) lpq_err_set(err, st, "speed: out of memory");
    return st;
}

struct pg_trace {
    uint64_t *t;        /* token timestamps */
    int64_t n, cap;
};

static bool pg_cb(int32_t token, const char *piece, size_t len, uint64_t t_ns, void *user) {
    struct pg_trace *tr = user;
    (void)token; (void)piece; (void)len;
    if (tr->n < tr->cap) tr->t[tr->n++] = t_ns;
    return true;
}

static enum lpq_status phase_pg(struct phase_env *pe, json_t **out, struct lpq_err *err) {
    const struct speed_cfg *cfg = pe->cfg;
    int32_t n_vocab = lpq_rt_n_vocab(pe->m);
    size_t n_samp = (size_t)cfg->reps;
    double *ttft = lpq_malloc_array(n_samp, sizeof(double));
    double *tpot = lpq_malloc_array(n_samp, sizeof(double));
    double *e2e = lpq_malloc_array(n_samp, sizeof(double));
    uint64_t *stamps = lpq_malloc_array((size_t)cfg->n_pg_gen, sizeof(uint64_t));
    int32_t *gen = lpq_malloc_array((size_t)cfg->n_pg_gen, sizeof(int32_t));
    enum lpq_status st = LPQ_STATUS_NO_MEMORY;
    if (!ttft || !tpot || !e2e || !stamps || !gen) goto done;
    fill_tokens(pe->tokens, cfg->n_pg_prompt, n_vocab, 999);
    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    gp.n_predict = (int32_t)cfg->n_pg_gen;
    gp.stop_at_eog = false;
    gp.cb = pg_cb;
    struct pg_trace tr = { stamps, 0, cfg->n_pg_gen };
    gp.cb_user = &tr;
    size_t n_itl = 0;
    struct lpq_perf_sample ps;
    bool rss_ok = reset_peak_rss();
    for (int r = -1; r < cfg->reps; r++) {
        if ((st = lpq_rt_kv_trim(pe->m, 0)) != LPQ_STATUS_OK) goto fail;
        if (r == 0) lpq_perf_start(pe->perf);
        struct lpq_rt_gen_result res;
        tr.n = 0;
        st = lpq_rt_generate(pe->m, pe->tokens, cfg->n_pg_prompt, &gp, gen, (size_t)cfg->n_pg_gen, &res);
        if (st != LPQ_STATUS_OK) goto fail;
        if (r < 0) continue;
        ttft[r] = (double)(res.t_first_ns - res.t_start_ns) * 1e-6;
        e2e[r] = (double)(res.t_end_ns - res.t_start_ns) * 1e-6;
        tpot[r] = res.n_gen > 1 ? (e2e[r] - ttft[r]) / (double)(res.n_gen - 1) : 0.0;
        for (int64_t i = 1; i < tr.n; i++) pe->samples[n_itl++] = (double)(tr.t[i] - tr.t[i - 1]) * 1e-6;
    }
    lpq_perf_stop(pe->perf, &ps);
    json_t *o = json_object();
    json_object_set_new(o, "n_prompt", json_integer(cfg->n_pg_prompt));
    json_object_set_new(o, "n_gen", json_integer(cfg->n_pg_gen));
    json_object_set_new(o, "threads", json_integer(pe->n_threads));
    json_object_set_new(o, "ttft_ms", summary_json(ttft, n_samp, "ms"));
    json_object_set_new(o, "tpot_ms", summary_json(tpot, n_samp, "ms"));
    json_object_set_new(o, "e2e_ms", summary_json(e2e, n_samp, "ms"));
    json_object_set_new(o, "itl_ms", summary_json(pe->samples, n_itl, "ms"));
    json_object_set_new(o, "peak_rss_bytes", rss_ok ? json_integer((json_int_t)peak_rss()) : json_null());
    json_object_set_new(o, "perf", lpq_perf_sample_json(&ps));
    *out = o;
    st = LPQ_STATUS_OK;
    goto done;
fail:
    lpq_err_set(err, st, "speed: prompt+generate failed: %s", lpq_rt_errmsg(pe->m));
done:
    lpq_free(ttft);
    lpq_free(tpot);
    lpq_free(e2e);
    lpq_free(stamps);
    lpq_free(gen);
    if (st == LPQ_STATUS_NO_MEMORY && !err->msg[0]) lpq_err_set(err, st, "speed: out of memory");
    return st;
}

/* Load time: cold (the file's pages evicted from the page cache first, as far as the kernel
 * allows while another mapping holds them: the resident fraction is recorded) and warm. */
static enum lpq_status phase_load(struct lpq_suite_ctx *ctx, const struct lpq_rt_params *rp, int reps,
                                  json_t **out, struct lpq_err *err) {
    double cold_ms = 0, resident_before = 0;
    double *warm = lpq_malloc_array((size_t)reps, sizeof(double));
    if (!warm) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "speed: out of memory");
    struct lpq_rt_mem mem = { 0 };
    bool have_mem = false;
    for (int r = -1; r < reps; r++) {
        if (r < 0) {
            evict_file(ctx->model_path);
            resident_before = resident_fraction(ctx->model_path);
        }
        struct lpq_rt_model *m = NULL;
        struct lpq_err lerr;
        lpq_err_clear(&lerr);
        uint64_t t0 = lpq_time_ns();
        enum lpq_status st = lpq_rt_model_load(ctx->runtime, ctx->model_path, rp, &m, &lerr);
        double ms = (double)(lpq_time_ns() - t0) * 1e-6;
        if (st != LPQ_STATUS_OK) {
            lpq_free(warm);
            return lpq_err_set(err, st, "speed: reloading %s: %s", ctx->model_path, lerr.msg);
        }
        if (r < 0) cold_ms = ms;
        else warm[r] = ms;
        if (!have_mem && lpq_rt_mem(m, &mem) == LPQ_STATUS_OK) have_mem = true;
        lpq_rt_model_free(m);
    }
    json_t *o = json_object();
    json_object_set_new(o, "cold_ms", json_real(cold_ms));
    json_object_set_new(o, "cold_resident_fraction_before", resident_before >= 0 ? json_real(resident_before) : json_null());
    json_object_set_new(o, "warm_ms", summary_json(warm, (size_t)reps, "ms"));
    if (have_mem) {
        json_t *jm = json_object();
        json_object_set_new(jm, "weights_bytes", json_integer((json_int_t)mem.weights));
        json_object_set_new(jm, "kv_cache_bytes", json_integer((json_int_t)mem.kv_cache));
        json_object_set_new(jm, "scratch_bytes", json_integer((json_int_t)mem.scratch));
        json_object_set_new(o, "runtime_memory", jm);
    }
    lpq_free(warm);
    *out = o;
    return LPQ_STATUS_OK;
}

/* ---- the suite ----------------------------------------------------------------------- */

static enum lpq_status run_threads(struct lpq_suite_ctx *ctx, struct lpq_rt_model *m, int32_t n_threads,
                                   const struct speed_cfg *cfg, struct lpq_perf *perf, struct lpq_err *err) {
    char id[64];
    enum lpq_status st = LPQ_STATUS_OK;
    struct phase_env pe = { ctx, m, n_threads, cfg, perf, NULL, NULL };
    int64_t n_tok = LPQ_MAX(cfg->n_pp, LPQ_MAX(cfg->n_tg, cfg->n_pg_prompt));
    int64_t n_smp = (int64_t)cfg->reps * LPQ_MAX(cfg->n_tg, cfg->n_pg_gen);
    pe.tokens = lpq_malloc_array((size_t)n_tok, sizeof(int32_t));
    pe.samples = lpq_malloc_array((size_t)n_smp, sizeof(double));
    if (!pe.tokens || !pe.samples) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "speed: out of memory");
        goto done;
    }
    static const char *const phases[] = { "pp", "tg", "pg" };
    for (size_t k = 0; k < LPQ_ARRAY_SIZE(phases); k++) {
        if (k == 0) snprintf(id, sizeof(id), "pp%lld/t%d", (long long)cfg->n_pp, n_threads);
        if (k == 1) snprintf(id, sizeof(id), "tg%lld/t%d", (long long)cfg->n_tg, n_threads);
        if (k == 2) snprintf(id, sizeof(id), "pg%lld+%lld/t%d", (long long)cfg->n_pg_prompt,
                             (long long)cfg->n_pg_gen, n_threads);
        if (lpq_results_item(ctx->res, "speed", id)) continue;   /* resume */
        json_t *item = NULL;
        if (k == 0) st = phase_pp(&pe, &item, err);
        if (k == 1) st = phase_tg(&pe, &item, err);
        if (k == 2) st = phase_pg(&pe, &item, err);
        if (st != LPQ_STATUS_OK) goto done;
        if ((st = lpq_results_put_item(ctx->res, "speed", id, item)) != LPQ_STATUS_OK) {
            lpq_err_set(err, st, "speed: %s", lpq_results_errmsg(ctx->res));
            goto done;
        }
        if (ctx->progress) ctx->progress(ctx->progress_user, "speed", (int64_t)k + 1, 3);
    }
done:
    lpq_free(pe.tokens);
    lpq_free(pe.samples);
    return st;
}

static json_t *pick(json_t *item, const char *a, const char *b) {
    json_t *x = json_object_get(item, a);
    x = b ? json_object_get(x, b) : x;
    return x ? json_incref(x) : json_null();
}

/* The headline figures at the run's own thread count, plus the sweep's decode rates. */
static enum lpq_status put_summary(struct lpq_suite_ctx *ctx, const struct speed_cfg *cfg, int32_t own,
                                   struct lpq_err *err) {
    char id[64];
    json_t *sum = json_object();
    json_object_set_new(sum, "threads", json_integer(own));
    json_object_set_new(sum, "n_prompt", json_integer(cfg->n_pp));
    json_object_set_new(sum, "n_gen", json_integer(cfg->n_tg));
    json_object_set_new(sum, "reps", json_integer(cfg->reps));
    snprintf(id, sizeof(id), "pp%lld/t%d", (long long)cfg->n_pp, own);
    json_t *pp = lpq_results_item(ctx->res, "speed", id);
    snprintf(id, sizeof(id), "tg%lld/t%d", (long long)cfg->n_tg, own);
    json_t *tg = lpq_results_item(ctx->res, "speed", id);
    snprintf(id, sizeof(id), "pg%lld+%lld/t%d", (long long)cfg->n_pg_prompt, (long long)cfg->n_pg_gen, own);
    json_t *pg = lpq_results_item(ctx->res, "speed", id);
    json_t *load = lpq_results_item(ctx->res, "speed", "load");
    json_t *roof = lpq_results_item(ctx->res, "speed", "roofline");
    json_object_set_new(sum, "prefill_tok_per_s", pick(pp, "tok_per_s", NULL));
    json_object_set_new(sum, "decode_tok_per_s", pick(tg, "tok_per_s", NULL));
    json_object_set_new(sum, "ttft_ms", pick(pg, "ttft_ms", NULL));
    json_object_set_new(sum, "tpot_ms", pick(pg, "tpot_ms", NULL));
    json_object_set_new(sum, "itl_ms", pick(pg, "itl_ms", NULL));
    json_object_set_new(sum, "load_cold_ms", pick(load, "cold_ms", NULL));
    json_object_set_new(sum, "load_warm_ms", pick(load, "warm_ms", NULL));
    json_object_set_new(sum, "runtime_memory", pick(load, "runtime_memory", NULL));
    /* Peak RSS of the process over the measured phases (the largest of the three). */
    json_int_t peak = 0;
    json_t *items[3] = { pp, tg, pg };
    for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(items[i], "peak_rss_bytes");
        if (json_is_integer(v) && json_integer_value(v) > peak) peak = json_integer_value(v);
    }
    json_object_set_new(sum, "peak_rss_bytes", peak > 0 ? json_integer(peak) : json_null());
    double tg_mean = json_number_value(json_object_get(json_object_get(tg, "tok_per_s"), "mean"));
    double roof_tps = json_number_value(json_object_get(roof, "decode_roofline_tok_per_s"));
    json_t *r = json_object();
    json_object_set_new(r, "read_bandwidth_bytes_per_s", pick(roof, "read_bandwidth_bytes_per_s", NULL));
    json_object_set_new(r, "weight_bytes_per_token", pick(roof, "weight_bytes_per_token", NULL));
    json_object_set_new(r, "decode_roofline_tok_per_s", pick(roof, "decode_roofline_tok_per_s", NULL));
    json_object_set_new(r, "decode_fraction_of_roofline",
                        roof_tps > 0 && tg_mean > 0 ? json_real(tg_mean / roof_tps) : json_null());
    json_object_set_new(sum, "roofline", r);
    json_t *sweep = json_object();
    const char *key;
    json_t *item;
    json_object_foreach(json_object_get(lpq_results_suite(ctx->res, "speed"), "items"), key, item) {
        if (strncmp(key, "tg", 2) != 0) continue;
        json_t *t = json_object_get(item, "threads");
        char tk[32];
        snprintf(tk, sizeof(tk), "%lld", (long long)json_integer_value(t));
        json_object_set_new(sweep, tk, pick(item, "tok_per_s", "mean"));
    }
    json_object_set_new(sum, "decode_tok_per_s_by_threads", sweep);
    enum lpq_status st = lpq_results_put_summary(ctx->res, "speed", sum);
    if (st != LPQ_STATUS_OK) lpq_err_set(err, st, "speed: %s", lpq_results_errmsg(ctx->res));
    return st;
}

static enum lpq_status speed_run(struct lpq_suite_ctx *ctx, struct lpq_err *err) {
    const struct lpq_suite_opts *o = ctx->opts;
    struct speed_cfg cfg = o->quick ? (struct speed_cfg){ 64, 16, 64, 16, 2 }
                                    : (struct speed_cfg){ 512, 128, 512, 128, 5 };
    if (o->reps > 0) cfg.reps = o->reps;
    /* Fit the phases into the model's context. */
    int64_t n_ctx = lpq_rt_n_ctx(ctx->model);
    if (cfg.n_pp > n_ctx) cfg.n_pp = n_ctx;
    if (cfg.n_tg > n_ctx) cfg.n_tg = n_ctx;
    if (cfg.n_pg_prompt + cfg.n_pg_gen > n_ctx) {
        cfg.n_pg_prompt = n_ctx / 2;
        cfg.n_pg_gen = n_ctx - cfg.n_pg_prompt;
    }
    struct lpq_perf *perf = NULL;
    enum lpq_status st = lpq_perf_create(&perf, err);
    if (st != LPQ_STATUS_OK) return st;

    int32_t own = ctx->rt_params ? ctx->rt_params->n_threads : 0;
    if (own <= 0) own = (int32_t)sysconf(_SC_NPROCESSORS_ONLN);   /* the runtime's default */
    st = run_threads(ctx, ctx->model, own, &cfg, perf, err);

    for (int32_t i = 0; st == LPQ_STATUS_OK && i < o->n_thread_sweep; i++) {
        int32_t t = o->thread_sweep[i];
        if (t == own) continue;
        char id[64];
        snprintf(id, sizeof(id), "tg%lld/t%d", (long long)cfg.n_tg, t);
        if (lpq_results_item(ctx->res, "speed", id)) continue;
        struct lpq_rt_params rp = ctx->rt_params ? *ctx->rt_params : lpq_rt_params_default();
        rp.n_threads = t;
        struct lpq_rt_model *m = NULL;
        struct lpq_err lerr;
        lpq_err_clear(&lerr);
        if ((st = lpq_rt_model_load(ctx->runtime, ctx->model_path, &rp, &m, &lerr)) != LPQ_STATUS_OK) {
            lpq_err_set(err, st, "speed: loading with %d threads: %s", t, lerr.msg);
            break;
        }
        st = run_threads(ctx, m, t, &cfg, perf, err);
        lpq_rt_model_free(m);
    }

    if (st == LPQ_STATUS_OK && !lpq_results_item(ctx->res, "speed", "load")) {
        json_t *item = NULL;
        struct lpq_rt_params rp = ctx->rt_params ? *ctx->rt_params : lpq_rt_params_default();
        st = phase_load(ctx, &rp, o->quick ? 1 : 3, &item, err);
        if (st == LPQ_STATUS_OK) st = lpq_results_put_item(ctx->res, "speed", "load", item);
    }

    /* Roofline: weights read per decoded token against measured read bandwidth. */
    if (st == LPQ_STATUS_OK && !lpq_results_item(ctx->res, "speed", "roofline")) {
        double bw = 0;
        uint64_t bpt = lpq_decode_weight_bytes(ctx->model_path);
        int32_t threads = own;
        if (lpq_membw_read(o->quick ? (256ull << 20) : (1ull << 30), threads, 3, &bw, err) == LPQ_STATUS_OK && bpt) {
            json_t *r = json_object();
            json_object_set_new(r, "read_bandwidth_bytes_per_s", json_real(bw));
            json_object_set_new(r, "weight_bytes_per_token", json_integer((json_int_t)bpt));
            json_object_set_new(r, "decode_roofline_tok_per_s", json_real(bw / (double)bpt));
            json_object_set_new(r, "threads", json_integer(threads));
            st = lpq_results_put_item(ctx->res, "speed", "roofline", r);
        }
    }
    if (st == LPQ_STATUS_OK) st = put_summary(ctx, &cfg, own, err);
    lpq_perf_free(perf);
    return st;
}

const struct lpq_suite lpq_suite_speed = {
    .name = "speed",
    .desc = "prefill/decode tok/s, TTFT, TPOT, ITL percentiles, load time, memory, perf counters",
    .needs_baseline = false,
    .in_quick = true,
    .run = speed_run,
};
