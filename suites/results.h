/*
 * results.h — one variant's evaluation.json: an environment fingerprint, per-suite items and
 * summaries. Every item is persisted as soon as it is added (atomic temp file + rename), so
 * `kill -9` loses at most the item in flight; opening a corrupt or truncated file reports it
 * and starts afresh (the bad file is kept as evaluation.json.corrupt-<time>). Schema:
 * docs/RESULTS.md (versioned by "schema_version").
 */
#ifndef LPQ_RESULTS_H
#define LPQ_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "quant/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LPQ_RESULTS_SCHEMA_VERSION 1

struct lpq_results;

/* Opens (or creates) the results file at `path` for the run identified by `run_key`
 * (runtime name + the parameters that change numbers, e.g. "cpu/t2/ctx512"): items recorded
 * under another run_key are kept in the file but not reused. fresh = discard existing items.
 * A corrupt file → warning through lpq_log, renamed aside, new file (status OK). */
enum lpq_status lpq_results_open(const char *path, const char *run_key, bool fresh,
                                 struct lpq_results **out, struct lpq_err *err);
void lpq_results_free(struct lpq_results *r);

/* The environment fingerprint / model facts (objects are copied, caller keeps its ref). */
enum lpq_status lpq_results_set_env(struct lpq_results *r, json_t *env);
enum lpq_status lpq_results_set_model(struct lpq_results *r, json_t *model);

/* Borrowed reference to item `id` of `suite`, or NULL when it has not been measured. */
json_t *lpq_results_item(struct lpq_results *r, const char *suite, const char *id);
/* Records an item (steals the reference) and persists the file. */
enum lpq_status lpq_results_put_item(struct lpq_results *r, const char *suite, const char *id, json_t *item);
/* Records the suite's summary (steals the reference) and persists. */
enum lpq_status lpq_results_put_summary(struct lpq_results *r, const char *suite, json_t *summary);
/* Marks the suite skipped/failed with a reason (kept in the file, shown in reports). */
enum lpq_status lpq_results_put_status(struct lpq_results *r, const char *suite, const char *status,
                                       const char *reason);
const char *lpq_results_errmsg(const struct lpq_results *r);

/* Added by the harness engineer: */
/* Records the parameters a suite ran with (steals the reference) and persists. */
enum lpq_status lpq_results_put_params(struct lpq_results *r, const char *suite, json_t *params);
/* Borrowed: the suite's object ({status, reason, params, items, summary}) / its summary; NULL
 * when absent. */
/* Forgets everything this run stored for `suite` (items, summary, status, params) so that it
 * is measured again; other suites stay. Takes effect in the file with the next write. */
void lpq_results_drop_suite(struct lpq_results *r, const char *suite);
json_t *lpq_results_suite(struct lpq_results *r, const char *suite);
json_t *lpq_results_summary(struct lpq_results *r, const char *suite);
/* Items recorded for the suite in this run. */
size_t lpq_results_n_items(struct lpq_results *r, const char *suite);
/* Where open moved a corrupt file (NULL when the file was fine or absent). */
const char *lpq_results_recovered(const struct lpq_results *r);
const char *lpq_results_path(const struct lpq_results *r);
/* Borrowed: the whole document. */
json_t *lpq_results_root(struct lpq_results *r);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_RESULTS_H */
