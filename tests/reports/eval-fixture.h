/*
 * eval-fixture.h — builds hand-written evaluation.json files (the schema suites/results.c
 * writes, integrity digest included) for the reports tests: one variant's figures on one
 * machine and runtime, written into a model folder's gguf/<VARIANT>/ or any path.
 */
#ifndef LPQ_TEST_EVAL_FIXTURE_H
#define LPQ_TEST_EVAL_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "quant/quantize.h"

struct fx_hw {
    const char *cpu;            /* CPU model */
    int cores;
    double mem_bytes;
    const char *host;
};

struct fx_var {
    const char *variant;
    bool baseline;
    double size_bytes;
    double ppl, ppl_err;        /* ppl 0 = suite absent */
    double kld, kld_err, same_top;  /* kld < 0 = no kld summary */
    int acc_n;                  /* items per category (0 = no accuracy) */
    int acc_k[3];               /* correct per category: knowledge, math, reasoning */
    double pp, pp_sd, tg, tg_sd;/* tok/s (0 = no speed) */
    double ttft_ms, itl_ms, rss_bytes;
};

static const struct fx_hw FX_HW_A = { "Test CPU A 3.0GHz", 2, 8.0 * 1024 * 1024 * 1024, "alpha" };
static const struct fx_hw FX_HW_B = { "Test CPU B 2.0GHz", 16, 64.0 * 1024 * 1024 * 1024, "beta" };

static inline void fx_wilson(double k, double n, double *lo, double *hi) {
    double z = 1.96, p = k / n, d = 1 + z * z / n, c = p + z * z / (2 * n);
    double h = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n));
    *lo = (c - h) / d;
    *hi = (c + h) / d;
}

/* a rate as suites/accuracy.c writes it: {k, n, rate, ci95} */
static inline json_t *fx_rate(int k, int n) {
    double lo, hi;
    fx_wilson(k, n, &lo, &hi);
    return json_pack("{s:f, s:f, s:f, s:[ff]}", "k", (double)k, "n", (double)n, "rate", (double)k / n, "ci95", lo, hi);
}

/* a tally: {n, accuracy|acc: rate, chance} */
static inline json_t *fx_acc(int k, int n) {
    return json_pack("{s:i, s:o, s:f}", "n", n, "accuracy", fx_rate(k, n), "chance", 0.25);
}

static inline json_t *fx_dist(double m, double sd, const char *unit) {
    return json_pack("{s:s, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "unit", unit, "n", 5, "mean", m, "stddev", sd,
                     "median", m, "p90", m * 1.2, "p99", m * 1.5, "min", m * 0.8, "max", m * 1.6);
}

static inline void fx_seal(json_t *root) {
    json_object_del(root, "integrity");
    char *s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    struct lpq_sha256 h;
    uint8_t d[32];
    char hex[72] = "sha256:";
    lpq_sha256_init(&h);
    lpq_sha256_update(&h, s, strlen(s));
    lpq_sha256_final(&h, d);
    free(s);
    for (int i = 0; i < 32; i++) snprintf(hex + 7 + 2 * i, 3, "%02x", d[i]);
    json_object_set_new(root, "integrity", json_string(hex));
}

/* The document for one variant measured on `hw` with runtime "cpu"; caller owns it. */
static inline json_t *fx_eval(const struct fx_hw *hw, const struct fx_var *v, const char *timestamp) {
    json_t *suites = json_object();
    if (v->ppl > 0)
        json_object_set_new(suites, "ppl", json_pack("{s:s, s:{}, s:{s:f, s:f, s:s, s:i, s:f}}", "status", "done", "items",
                                                     "summary", "ppl", v->ppl, "ppl_err", v->ppl_err, "dataset", "wiki",
                                                     "n_ctx", 128, "n_scored", 4096.0));
    if (v->kld >= 0 && !v->baseline)
        json_object_set_new(suites, "kld", json_pack("{s:s, s:{}, s:{s:s, s:f, s:{s:f, s:f, s:f, s:f}, s:{s:f, s:f, s:[ff]}}}",
                                                     "status", "done", "items", "summary", "mode", "side-by-side",
                                                     "n_tokens", 4096.0, "kld", "mean", v->kld, "err", v->kld_err, "p99",
                                                     v->kld * 8, "max", v->kld * 20, "same_top", "value", v->same_top,
                                                     "err", 0.002, "wilson95", v->same_top - 0.004, v->same_top + 0.004));
    else if (v->baseline)
        json_object_set_new(suites, "kld", json_pack("{s:s, s:s}", "status", "skipped", "reason", "this is the baseline"));
    if (v->acc_n > 0) {
        int k = v->acc_k[0] + v->acc_k[1] + v->acc_k[2], n = 3 * v->acc_n;
        json_t *cats = json_pack("{s:o, s:o, s:o}", "knowledge", fx_acc(v->acc_k[0], v->acc_n), "math",
                                 fx_acc(v->acc_k[1], v->acc_n), "reasoning", fx_acc(v->acc_k[2], v->acc_n));
        json_t *l = fx_acc(k, n);
        json_object_set_new(l, "categories", cats);
        json_t *bench = json_pack("{s:{s:i, s:o, s:f}}", "arc_easy", "n", 50, "acc", fx_rate(2 * k / 3, 50), "chance", 0.25);
        json_object_set_new(suites, "accuracy", json_pack("{s:s, s:{}, s:{s:o, s:o}}", "status", "done", "items", "summary",
                                                          "lpq140", l, "benchmarks", bench));
    }
    if (v->tg > 0) {
        json_t *items = json_object();
        json_object_set_new(items, "pp512/t2", json_pack("{s:i, s:i, s:o, s:f}", "n_prompt", 512, "threads", 2, "tok_per_s",
                                                         fx_dist(v->pp, v->pp_sd, "tok/s"), "peak_rss_bytes", v->rss_bytes));
        json_object_set_new(items, "tg128/t2", json_pack("{s:i, s:i, s:o, s:o, s:f}", "n_gen", 128, "threads", 2, "tok_per_s",
                                                         fx_dist(v->tg, v->tg_sd, "tok/s"), "token_latency_ms",
                                                         fx_dist(1000 / v->tg, 0.1, "ms"), "peak_rss_bytes", v->rss_bytes));
        json_object_set_new(items, "pg512+128/t2",
                            json_pack("{s:i, s:i, s:i, s:o, s:o, s:o, s:f}", "n_prompt", 512, "n_gen", 128, "threads", 2,
                                      "ttft_ms", fx_dist(v->ttft_ms, 0.5, "ms"), "tpot_ms", fx_dist(v->itl_ms, 0.1, "ms"),
                                      "itl_ms", fx_dist(v->itl_ms, 0.1, "ms"), "peak_rss_bytes", v->rss_bytes));
        /* a thread-sweep item at another count: the reader must prefer the run's own (t2) */
        json_object_set_new(items, "tg128/t1", json_pack("{s:i, s:i, s:o}", "n_gen", 128, "threads", 1, "tok_per_s",
                                                         fx_dist(v->tg / 3, 0.1, "tok/s")));
        json_object_set_new(items, "load", json_pack("{s:f, s:o}", "cold_ms", 12.5, "warm_ms", fx_dist(3.0, 0.1, "ms")));
        json_object_set_new(suites, "speed", json_pack("{s:s, s:o}", "status", "done", "items", items));
    }
    json_t *env = json_pack("{s:{s:s, s:[ss], s:i}, s:f, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:{s:i}}, s:s}", "cpu",
                            "model", hw->cpu, "flags", "avx2", "fma", "cores_online", hw->cores, "memory_bytes",
                            hw->mem_bytes, "os", "Linux 6.1 x86_64", "hostname", hw->host, "build", "lpq_version", "0.1.0",
                            "lpq_commit", "abc123", "compiler", "gcc 12", "runtime", "name", "cpu", "device_name",
                            hw->cpu, "params", "n_threads", 2, "timestamp_utc", timestamp);
    char key[128];
    snprintf(key, sizeof key, "cpu@%s", hw->host);
    json_t *root = json_pack("{s:i, s:s, s:{s:s, s:f, s:b}, s:{s:{s:o, s:o}}}", "schema_version", 1, "kind",
                             "lpq-evaluation", "model", "variant", v->variant, "size_bytes", v->size_bytes, "is_baseline",
                             v->baseline, "runs", key, "env", env, "suites", suites);
    fx_seal(root);
    return root;
}

static inline void fx_mkdirs(const char *path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    mkdir(buf, 0755);
}

/* Writes dir/gguf/<variant>/<name> (name NULL = evaluation.json); returns 0 on success. */
static inline int fx_write(const char *dir, const struct fx_hw *hw, const struct fx_var *v, const char *name, const char *ts) {
    char p[1024];
    snprintf(p, sizeof p, "%s/gguf/%s", dir, v->variant);
    fx_mkdirs(p);
    snprintf(p, sizeof p, "%s/gguf/%s/%s", dir, v->variant, name ? name : "evaluation.json");
    json_t *j = fx_eval(hw, v, ts);
    int rc = json_dump_file(j, p, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(j);
    return rc;
}

/* manifest.json as lpq-quant convert writes it: bits per weight of the quantized variants, the
 * parameter count (F32's bits per weight comes from size × 8 / n_params = 32). */
static inline int fx_manifest(const char *dir, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    json_t *m = json_pack("{s:i, s:s, s:s, s:{s:I}, s:[{s:s, s:s}, {s:s, s:s, s:f}, {s:s, s:s, s:f}, {s:s, s:s, s:f}]}",
                          "schema", 1, "name", name, "baseline", "F32", "architecture", "n_params", (json_int_t)100000000,
                          "variants", "name", "F32", "file", "gguf/F32/model.gguf", "name", "Q8_0", "file",
                          "gguf/Q8_0/model.gguf", "bits_per_weight", 8.5, "name", "Q4_K_M", "file", "gguf/Q4_K_M/model.gguf",
                          "bits_per_weight", 4.89, "name", "Q2_K", "file", "gguf/Q2_K/model.gguf", "bits_per_weight", 2.63);
    int rc = json_dump_file(m, p, JSON_INDENT(2));
    json_decref(m);
    return rc;
}

/* The four variants of the constructed case: within 1 % → Q8_0, within 3 % and 5 % → Q4_K_M,
 * fastest decode → Q4_K_M (Q2_K only within 100 MiB), F32 is the baseline. */
static const struct fx_var FX_VARS[4] = {
    { "F32", true, 400e6, 10.00, 0.05, 0, 0, 1, 20, { 15, 12, 14 }, 50, 2, 10, 0.3, 40, 100, 420e6 },
    { "Q8_0", false, 200e6, 10.05, 0.05, 0.0012, 0.0001, 0.985, 20, { 15, 12, 13 }, 90, 3, 18, 0.4, 30, 55, 220e6 },
    { "Q4_K_M", false, 120e6, 10.25, 0.05, 0.015, 0.001, 0.93, 20, { 14, 11, 13 }, 110, 4, 25, 0.5, 25, 40, 140e6 },
    { "Q2_K", false, 80e6, 11.00, 0.06, 0.20, 0.01, 0.71, 20, { 9, 6, 8 }, 120, 4, 22, 0.6, 22, 33, 100e6 },
};

#endif
