/*
 * suite.h — the contract between the harness and an evaluation suite. A suite is a
 * `static const struct lpq_suite` registered in suites/registry.c; it drives models only
 * through runtimes/runtime.h and stores every finished item through suites/results.h, so an
 * interrupted run resumes where it stopped.
 */
#ifndef LPQ_SUITE_H
#define LPQ_SUITE_H

#include <stdbool.h>
#include <stdint.h>

#include "quant/common.h"
#include "runtimes/runtime.h"
#include "suites/results.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options shared by every suite; lpq_suite_opts_default() fills them. */
struct lpq_suite_opts {
    bool quick;                     /* small CI-sized version of each suite */
    const char *data_dir;           /* where datasets are looked up (--data-dir / LPQ_DATA_DIR) */
    const char *dataset;            /* dataset name for ppl/kld ("wikitext2-test"), NULL = default */
    int64_t n_ctx;                  /* tokens per window for ppl/kld (--ctx), 0 = 512 */
    int64_t n_chunks;               /* cap on ppl/kld chunks, 0 = all (quick: small) */
    int32_t n_threads;              /* threads the runtime was loaded with (recorded) */
    const int32_t *thread_sweep;    /* speed: thread counts to sweep (NULL = just n_threads) */
    int32_t n_thread_sweep;
    int32_t reps;                   /* speed: measured repetitions (after one warm-up) */
    int64_t limit;                  /* accuracy: items per benchmark; 0 = default seeded sample
                                     * (quick 20, else 200), < 0 = all */
    const char *chat_template;      /* accuracy: force a built-in template by name (NULL = detect) */
    bool no_chat;                   /* accuracy: base model, no chat template */
    const char *benchmarks;         /* accuracy: "none", a comma list, NULL = every one found */
    int32_t mmlu_shots;             /* accuracy: MMLU few-shot examples (0..5; default 5) */
    uint64_t seed;                  /* sampling of items, generation */
    const char *kld_base;           /* kld: top-K base file to read (or write with kld_write) */
    bool kld_write;                 /* kld: write kld_base from the baseline instead of comparing */
    int32_t kld_top_k;              /* kld: K of the base file (default 32) */
    bool progress;                  /* draw a progress bar (stderr is a terminal) */
};
struct lpq_suite_opts lpq_suite_opts_default(void);

/* Everything a suite needs for one variant × runtime. Models are loaded by the harness. */
struct lpq_suite_ctx {
    struct lpq_rt_model *model;          /* the variant under test */
    const char *model_path;
    struct lpq_rt_model *baseline;       /* the baseline variant (NULL when evaluating it, or none) */
    const char *baseline_path;
    const char *model_sha256;            /* hex digest of model_path's file, NULL when unknown */
    bool is_baseline;                    /* model is the folder's baseline (kld: writes the base
                                          * file with --kld-write, else has nothing to compare) */
    const struct lpq_rt_reg *runtime;    /* adapter used (speed reloads models through it) */
    const struct lpq_rt_params *rt_params;
    const struct lpq_suite_opts *opts;
    struct lpq_results *res;             /* where items and summaries go */
    /* optional: called after each finished unit of work (chunk, window, phase) so the
     * harness can draw its progress bar / ETA; done counts units already in res too. */
    void (*progress)(void *user, const char *suite, int64_t done, int64_t total);
    void *progress_user;
};

struct lpq_suite {
    const char *name;               /* "ppl", "kld", "speed", "accuracy" */
    const char *desc;               /* one line for --help */
    bool needs_baseline;            /* the harness loads the baseline beside the variant */
    bool in_quick;                  /* part of --suite quick */
    bool uses_text;                 /* reads opts->dataset (the harness checks it before loading) */
    /* Runs the suite; items already in ctx->res are skipped (resume). Returns OK, or an error
     * with a one-line message in err (items finished before the error are kept). */
    enum lpq_status (*run)(struct lpq_suite_ctx *ctx, struct lpq_err *err);
};

/* NULL-terminated table of suites (suites/registry.c). */
extern const struct lpq_suite *const lpq_suite_builtin[];
const struct lpq_suite *lpq_suite_find(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_SUITE_H */
