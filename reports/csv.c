/*
 * csv.c — results.csv: the grid in long form, one row per model × variant × runtime ×
 * hardware × metric (metric_set names the suite it came from), so a spreadsheet pivot gives
 * any table. Fields are quoted by libcsv's csv_fwrite; numbers printed with 15 significant
 * digits, empty when the figure is missing. Also the metric list json.c shares.
 */
#include "reports/reports-impl.h"

#include <csv.h>
#include <errno.h>
#include <string.h>

static void put(struct lpq__metric *out, size_t cap, size_t *n, const char *set, const char *name,
                const char *unit, struct lpq__fig f) {
    if (*n >= cap || !lpq__ok(f.v)) return;
    struct lpq__metric *m = &out[(*n)++];
    m->set = set;
    snprintf(m->name, sizeof m->name, "%s", name);
    m->unit = unit;
    m->f = f;
}

static struct lpq__fig val(double v) {
    struct lpq__fig f = lpq__fig_none();
    f.v = v;
    return f;
}

size_t lpq__entry_metrics(const struct lpq_grid *g, const struct lpq__entry *e, struct lpq__metric *out, size_t cap) {
    size_t n = 0;
    put(out, cap, &n, "model", "size_bytes", "bytes", val(e->size_bytes));
    put(out, cap, &n, "model", "bits_per_weight", "bits", val(e->bpw));
    put(out, cap, &n, "ppl", "ppl", "", e->ppl);
    put(out, cap, &n, "ppl", "ppl_delta_pct", "%", val(e->is_baseline && lpq__ok(e->ppl.v) ? 0.0 : lpq__entry_dppl_pct(g, e)));
    put(out, cap, &n, "kld", "mean_kld", "nats", e->kld);
    put(out, cap, &n, "kld", "kld_p99", "nats", val(e->kld_p99));
    put(out, cap, &n, "kld", "kld_max", "nats", val(e->kld_max));
    put(out, cap, &n, "kld", "same_top", "fraction", e->same_top);
    put(out, cap, &n, "kld", "ppl_ratio", "", e->ppl_ratio);
    put(out, cap, &n, "accuracy", "overall", "fraction", e->acc);
    for (size_t i = 0; i < e->n_cats; i++) {
        char name[80];
        snprintf(name, sizeof name, "category:%s", e->cats[i].name);
        put(out, cap, &n, "accuracy", name, "fraction", e->cats[i].acc);
    }
    for (size_t i = 0; i < e->n_bench; i++) {
        char name[80];
        snprintf(name, sizeof name, "benchmark:%s", e->bench[i].name);
        put(out, cap, &n, "accuracy", name, "fraction", e->bench[i].acc);
    }
    put(out, cap, &n, "speed", "prefill_tok_per_s", "tok/s", e->pp_tps);
    put(out, cap, &n, "speed", "decode_tok_per_s", "tok/s", e->tg_tps);
    struct { const char *name; double v; } ms[] = {
        { "ttft_ms_p50", e->ttft.median }, { "ttft_ms_p90", e->ttft.p90 }, { "ttft_ms_p99", e->ttft.p99 },
        { "itl_ms_p50", e->itl.median },   { "itl_ms_p90", e->itl.p90 },   { "itl_ms_p99", e->itl.p99 },
        { "tpot_ms_mean", e->tpot.mean },  { "load_cold_ms", e->load_cold_ms }, { "load_warm_ms", e->load_warm_ms },
    };
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(ms); i++) put(out, cap, &n, "speed", ms[i].name, "ms", val(ms[i].v));
    put(out, cap, &n, "speed", "memory_bytes", "bytes", val(lpq__entry_mem(e)));
    put(out, cap, &n, "speed", "runtime_memory_bytes", "bytes", val(e->runtime_mem_bytes));
    put(out, cap, &n, "speed", "peak_rss_bytes", "bytes", val(e->peak_rss_bytes));
    put(out, cap, &n, "speed", "decode_roofline_tok_per_s", "tok/s", val(e->roofline_tps));
    return n;
}

/* One CSV field through libcsv's quoting, then the separator. */
static void field(FILE *f, const char *s, bool last) {
    csv_fwrite(f, s ? s : "", s ? strlen(s) : 0);
    fputc(last ? '\n' : ',', f);
}

static void field_num(FILE *f, double v, bool last) {
    char buf[64] = "";
    if (lpq__ok(v)) snprintf(buf, sizeof buf, "%.15g", v);
    field(f, buf, last);
}

static const char *const COLS[] = { "model", "variant", "runtime", "hardware_id", "is_baseline", "metric_set", "metric",
                                    "value", "uncertainty", "ci_low", "ci_high", "n", "unit", "source" };

enum lpq_status lpq_grid_write_csv(const struct lpq_grid *g, const char *path, struct lpq_err *err) {
    FILE *f = fopen(path, "w");
    if (!f) return lpq_err_set(err, LPQ_STATUS_IO, "cannot write %s: %s", path, strerror(errno));
    for (size_t c = 0; c < LPQ_ARRAY_SIZE(COLS); c++) field(f, COLS[c], c + 1 == LPQ_ARRAY_SIZE(COLS));
    struct lpq__metric m[LPQ__MAX_METRICS];
    for (size_t i = 0; i < g->n; i++) {
        const struct lpq__entry *e = &g->e[i];
        size_t nm = lpq__entry_metrics(g, e, m, LPQ_ARRAY_SIZE(m));
        for (size_t k = 0; k < nm; k++) {
            field(f, e->model, false);
            field(f, e->variant, false);
            field(f, e->runtime, false);
            field(f, e->hw_id, false);
            field(f, e->is_baseline ? "1" : "0", false);
            field(f, m[k].set, false);
            field(f, m[k].name, false);
            field_num(f, m[k].f.v, false);
            field_num(f, m[k].f.err, false);
            field_num(f, m[k].f.lo, false);
            field_num(f, m[k].f.hi, false);
            field_num(f, m[k].f.n, false);
            field(f, m[k].unit, false);
            field(f, e->source, true);
        }
    }
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) return lpq_err_set(err, LPQ_STATUS_IO, "write error on %s", path);
    return LPQ_STATUS_OK;
}
