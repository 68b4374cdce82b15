/*
 * report.h — reports over a model folder's evaluation.json files: EVALUATION_REPORT.md with
 * gnuplot charts, the results.csv / results.json grid (model × variant × runtime × hardware),
 * and the regression gate behind `lpq-eval gate`. Reads result files only; never measures.
 * Layering: depends on quant/common.h, jansson and libcsv, never on harness/ or suites/.
 */
#ifndef LPQ_REPORT_H
#define LPQ_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "quant/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The evaluation.json schema version this reader understands (suites/results.h writes it). */
#define LPQ_REPORT_EVAL_SCHEMA 1
/* The results.json grid schema version (docs/RESULTS-GRID.md). */
#define LPQ_REPORT_GRID_SCHEMA 1

/* ---- the grid --------------------------------------------------------------------------- */

struct lpq_grid;

/* Loads every evaluation file of a model folder: gguf/<VARIANT>/evaluation*.json (copies from
 * other machines may sit beside the local one under any evaluation*.json name) and every
 * *.json below results/ whose "kind" is "lpq-evaluation". Entries are keyed by model ×
 * variant × runtime × hardware id; the same key found twice keeps the later run (its
 * env.timestamp_utc) and notes the other as superseded.
 * `path` may also be a single evaluation.json file.
 * Errors: NOT_FOUND (no folder / no evaluation files), UNSUPPORTED (a file with another
 * schema_version: the message names it and both versions), BAD_FILE (a lone file given
 * directly that does not parse or is not an lpq evaluation), NO_MEMORY. A file inside a folder
 * that does not parse or fails its integrity digest is skipped with a warning (listed in the
 * report), never trusted. *out untouched on failure. */
enum lpq_status lpq_grid_load(const char *path, struct lpq_grid **out, struct lpq_err *err);
void lpq_grid_free(struct lpq_grid *g);          /* NULL is a no-op */

size_t lpq_grid_n_entries(const struct lpq_grid *g);
/* Warnings gathered while loading (skipped files, superseded runs, missing fields). */
size_t lpq_grid_n_warnings(const struct lpq_grid *g);
const char *lpq_grid_warning(const struct lpq_grid *g, size_t i);

/* results.csv: one row per model × variant × runtime × hardware × metric (the metric_set
 * column names the suite); fields quoted with libcsv's csv_fwrite. IO on write failure. */
enum lpq_status lpq_grid_write_csv(const struct lpq_grid *g, const char *path, struct lpq_err *err);
/* results.json for the whole folder (schema: docs/RESULTS-GRID.md). IO on write failure. */
enum lpq_status lpq_grid_write_json(const struct lpq_grid *g, const char *path, struct lpq_err *err);

/* ---- the report ------------------------------------------------------------------------- */

struct lpq_report_params {
    const char *out_dir;        /* where EVALUATION_REPORT.md, results.* and charts/ go; NULL = the model folder */
    const char *gnuplot;        /* gnuplot program; NULL = $LPQ_GNUPLOT, else "gnuplot" searched in $PATH */
    const char *scripts_dir;    /* the *.gp scripts; NULL = $LPQ_GNUPLOT_DIR, else installed/source locations */
    bool charts;                /* false = skip charts deliberately (no warning) */
    double memory_budget_mib;   /* extra "fastest within" row for this budget, MiB; 0 = none */
};

struct lpq_report_params lpq_report_params_default(void);

/* What lpq_report_write produced. */
struct lpq_report_result {
    int n_entries;              /* grid entries in the report */
    int n_charts;               /* charts rendered (PNG + SVG each) */
    unsigned charts_mask;       /* bit i set: chart i rendered (the others had no data) */
    bool charts_skipped;        /* gnuplot missing or failed: the report says so */
    char charts_why[256];       /* why, when charts_skipped */
};

/* Writes EVALUATION_REPORT.md, results.csv, results.json and charts/ (*.dat, *.png, *.svg) for
 * the model folder `model_dir`. Output depends only on the evaluation files (stable orders, no
 * clock), so the same inputs give byte-identical markdown, CSV and JSON. A missing gnuplot is
 * not an error: the report is written without charts and a warning is logged and printed in it.
 * Errors: those of lpq_grid_load, IO. `res` may be NULL. */
enum lpq_status lpq_report_write(const char *model_dir, const struct lpq_report_params *p,
                                 struct lpq_report_result *res, struct lpq_err *err);

/* Renders the markdown report of `g` into `f`; `charts` (may be NULL: none) says which charts
 * exist beside it or why there are none. */
enum lpq_status lpq_report_markdown(const struct lpq_grid *g, FILE *f, const struct lpq_report_params *p,
                                    const struct lpq_report_result *charts, struct lpq_err *err);

/* ---- the gate --------------------------------------------------------------------------- */

enum lpq_gate_verdict {
    LPQ_GATE_PASS = 0,          /* every rule passed */
    LPQ_GATE_FAIL = 1,          /* at least one regression */
    LPQ_GATE_UNKNOWN = 2,       /* no regression, but some rule could not be evaluated or input unusable */
};

struct lpq_gate_params {
    const char *current;        /* evaluation.json, or a model folder */
    const char *baseline;       /* the same for the reference results */
    const char *rules;          /* rules.json (docs/CI-GATE.md) */
    const char *junit;          /* JUnit XML output path, NULL = none */
    FILE *out;                  /* the table; NULL = stdout */
};

/* Compares current with baseline under the rules and prints one row per rule and matched
 * entry: pass / FAIL / n/a and why. Never fails on user input: a malformed or missing file
 * gives LPQ_GATE_UNKNOWN with the reason in *err (and in the JUnit file when one is asked for). */
enum lpq_gate_verdict lpq_gate_run(const struct lpq_gate_params *p, struct lpq_err *err);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_REPORT_H */
