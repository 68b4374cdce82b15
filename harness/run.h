/*
 * run.h — the main job of lpq-eval: every requested suite over every variant of a model
 * folder on every requested runtime, with results persisted per variant as they complete.
 */
#ifndef LPQ_RUN_H
#define LPQ_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "quant/common.h"
#include "runtimes/runtime.h"
#include "suites/suite.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lpq_run_params {
    const char *model_dir;          /* --model-dir (or NULL with model_file) */
    const char *model_file;         /* --model FILE */
    const char *suites;             /* comma list of suite names, or "quick" / "full" */
    const char *runtimes;           /* comma list ("cpu,cuda") or "auto" */
    /* Adapters looked up before the built-in table (tests register a mock here); NULL-terminated. */
    const struct lpq_rt_reg *const *extra_runtimes;
    const char *baseline;           /* --baseline VARIANT, NULL = automatic */
    bool fresh;                     /* --fresh: discard this run's stored results of the suites run */
    struct lpq_suite_opts opts;     /* shared suite options (opts.progress: draw a bar) */
    struct lpq_rt_params rt;        /* runtime load parameters (threads, ...) */
    FILE *out;                      /* result lines (NULL = stdout) */
};
struct lpq_run_params lpq_run_params_default(void);

/* Runs the job. Returns OK when everything requested ran (skips with a reason are fine);
 * RUNTIME when some variant × runtime failed (its error is in its evaluation.json, the other
 * variants' results are kept); other codes with a one-line message when the job cannot start
 * (no such folder, empty folder, unknown suite/runtime, no usable runtime). */
enum lpq_status lpq_run(const struct lpq_run_params *p, struct lpq_err *err);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_RUN_H */
