/*
 * reports-impl.h — the in-memory grid shared by the report writers (collect.c fills it;
 * markdown.c, charts.c, csv.c, json.c and gate.c read it) and a few small helpers.
 * Missing figures are NAN, missing strings NULL; writers print "—" for both.
 */
#ifndef LPQ_REPORTS_IMPL_H
#define LPQ_REPORTS_IMPL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "reports/report.h"

/* A measured figure: value with its uncertainty or spread. */
struct lpq__fig {
    double v;                   /* value (NAN = missing) */
    double err;                 /* standard error or sample stddev (NAN = none) */
    double lo, hi;              /* interval (NAN = none) */
    double n;                   /* sample count (NAN = unknown) */
};

/* A latency distribution as the speed suite records it (summary_json). */
struct lpq__dist {
    double mean, stddev, median, p90, p99, min, max;   /* ms; NAN = missing */
};

struct lpq__cat {
    char *name;
    struct lpq__fig acc;        /* fraction 0..1, Wilson 95 % interval in lo/hi */
    double chance;              /* fraction expected from guessing (NAN unknown) */
};

struct lpq__suite_status {
    char *suite;
    char *status;               /* "done", "partial", "skipped", "failed" */
    char *reason;               /* NULL when none */
};

struct lpq__hw {
    char *id;                   /* "hw-1a2b3c4d", or the fingerprint's own hardware_id */
    char *cpu;                  /* CPU model name */
    char *flags;                /* SIMD flags, space separated */
    long long cores;            /* online cores (-1 unknown) */
    double memory_bytes;        /* bytes (NAN unknown) */
    char *os, *compiler, *lpq, *hosts, *devices;   /* hosts/devices: comma lists */
    char *first_ts, *last_ts;   /* env.timestamp_utc range seen */
};

struct lpq__entry {
    char *model, *variant, *runtime, *hw_id;
    char *run_key;              /* key inside the file */
    char *source;               /* file, relative to the folder */
    char *timestamp;            /* env.timestamp_utc (NULL unknown) */
    bool is_baseline;
    double size_bytes;          /* bytes (NAN unknown) */
    double bpw;                 /* bits per weight (NAN unknown) */
    int threads;                /* runtime threads (0 unknown) */
    /* ppl */
    struct lpq__fig ppl;        /* perplexity ± its standard error */
    char *ppl_dataset;
    double ppl_ctx;
    /* kld */
    struct lpq__fig kld;        /* mean KLD ± err (nats) */
    double kld_p99, kld_max;    /* nats */
    struct lpq__fig same_top;   /* fraction ± err, Wilson interval in lo/hi */
    struct lpq__fig ppl_ratio;  /* PPL(Q)/PPL(base) from the kld suite */
    char *kld_mode;
    /* accuracy */
    struct lpq__fig acc;        /* overall, fraction; Wilson interval in lo/hi */
    double acc_chance;          /* overall chance level, fraction (NAN unknown) */
    struct lpq__cat *cats;      /* lpq-140 categories, sorted by name */
    size_t n_cats;
    struct lpq__cat *bench;     /* standard benchmarks (mmlu, arc_easy, ...): their primary acc */
    size_t n_bench;
    /* speed (the item at the run's own thread count) */
    struct lpq__fig pp_tps;     /* prefill tok/s: mean ± stddev over repetitions */
    struct lpq__fig tg_tps;     /* decode tok/s */
    double pp_n, tg_n;          /* tokens per phase (pp512 → 512) */
    struct lpq__dist ttft;      /* ms */
    struct lpq__dist tpot;      /* ms */
    struct lpq__dist itl;       /* ms, inter-token latency (pg), else decode token latency */
    double peak_rss_bytes;      /* bytes */
    double runtime_mem_bytes;   /* weights + KV + scratch as the runtime reports them, bytes */
    double load_cold_ms, load_warm_ms;
    double roofline_tps;        /* decode roofline tok/s from measured bandwidth */
    struct lpq__suite_status *st;
    size_t n_st;
};

struct lpq_grid {
    char *root;                 /* the folder (or the file's folder) */
    char *model;                /* model name */
    char *baseline;             /* baseline variant name (NULL unknown) */
    size_t n_files;             /* evaluation files read */
    struct lpq__entry *e;       /* n entries, sorted: hardware, runtime, baseline first, size desc, name */
    size_t n, cap;
    struct lpq__hw *hw;         /* n_hw, sorted by id */
    size_t n_hw, cap_hw;
    char **warn;                /* n_warn messages */
    size_t n_warn, cap_warn;
};

/* Appends a formatted warning to the grid (and logs it at WARN). */
void lpq__grid_warn(struct lpq_grid *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const struct lpq__hw *lpq__grid_hw(const struct lpq_grid *g, const char *id);
/* The baseline entry on the same hardware and runtime as e (NULL when none). */
const struct lpq__entry *lpq__grid_base_of(const struct lpq_grid *g, const struct lpq__entry *e);
/* Figure lookup for a loose JSON object: {value|mean|acc, err|stddev, wilson95:[lo,hi], n}. */
struct lpq__fig lpq__fig_from_json(json_t *o);
struct lpq__fig lpq__fig_none(void);
/* Memory of an entry: the runtime's figure (weights + KV + scratch), else the process's peak
 * RSS (bytes, NAN unknown). */
double lpq__entry_mem(const struct lpq__entry *e);
/* PPL change vs the baseline on the same hardware and runtime, in % (NAN unknown). */
double lpq__entry_dppl_pct(const struct lpq_grid *g, const struct lpq__entry *e);

/* One reported figure of an entry, as the CSV and JSON grids list them (csv.c). */
struct lpq__metric {
    const char *set;            /* "model", "ppl", "kld", "accuracy", "speed" */
    char name[80];              /* "decode_tok_per_s", "category:math" */
    const char *unit;           /* "tok/s", "ms", "bytes", "fraction", "nats", "%", "" */
    struct lpq__fig f;
};
/* Fills up to cap metrics of e (only those present); returns how many. */
size_t lpq__entry_metrics(const struct lpq_grid *g, const struct lpq__entry *e, struct lpq__metric *out, size_t cap);
#define LPQ__MAX_METRICS 96

/* Charts (charts.c): writes the .dat files and renders PNG + SVG into out_dir/charts.
 * Returns the number rendered (bit i of *mask: chart i); when none could be rendered because
 * gnuplot or its scripts are missing or failing, sets *skipped and why. */
int lpq__charts_render(const struct lpq_grid *g, const char *out_dir, const struct lpq_report_params *p,
                       unsigned *mask, bool *skipped, char *why, size_t why_cap);
/* The chart names, in report order, and their titles; NULL past the end. */
const char *lpq__chart_name(size_t i);
const char *lpq__chart_title(size_t i);

/* Markdown table builder (markdown.c): cells are copied; widths count UTF-8 code points. */
struct lpq__table;
struct lpq__table *lpq__table_new(size_t n_cols);
void lpq__table_free(struct lpq__table *t);
void lpq__table_cell(struct lpq__table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lpq__table_right(struct lpq__table *t, size_t col);     /* right-align a numeric column */
void lpq__table_print(const struct lpq__table *t, FILE *f);

/* Display width in code points of a UTF-8 string. */
size_t lpq__utf8_width(const char *s);
/* A double that is neither NAN nor infinite. */
static inline bool lpq__ok(double x) { return !isnan(x) && !isinf(x); }

#endif /* LPQ_REPORTS_IMPL_H */
