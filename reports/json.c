/*
 * json.c — results.json: the whole folder's grid as one document (schema in
 * docs/RESULTS-GRID.md): the model, its baseline, every machine's fingerprint summary, and
 * one entry per variant × runtime × hardware with its metrics grouped by suite and each
 * suite's status. Keys sorted and entries in report order, so the bytes are reproducible.
 */
#include "reports/reports-impl.h"

#include <errno.h>
#include <string.h>

static void set_str(json_t *o, const char *k, const char *v) { json_object_set_new(o, k, v ? json_string(v) : json_null()); }

static void set_num(json_t *o, const char *k, double v) {
    if (lpq__ok(v)) json_object_set_new(o, k, json_real(v));
}

static json_t *metric_json(const struct lpq__metric *m) {
    json_t *o = json_object();
    set_num(o, "value", m->f.v);
    set_num(o, "uncertainty", m->f.err);
    set_num(o, "ci_low", m->f.lo);
    set_num(o, "ci_high", m->f.hi);
    set_num(o, "n", m->f.n);
    json_object_set_new(o, "unit", json_string(m->unit));
    return o;
}

static json_t *entry_json(const struct lpq_grid *g, const struct lpq__entry *e) {
    json_t *o = json_object();
    set_str(o, "model", e->model);
    set_str(o, "variant", e->variant);
    set_str(o, "runtime", e->runtime);
    set_str(o, "hardware_id", e->hw_id);
    set_str(o, "run_key", e->run_key);
    set_str(o, "source", e->source);
    set_str(o, "timestamp_utc", e->timestamp);
    json_object_set_new(o, "is_baseline", json_boolean(e->is_baseline));
    json_t *metrics = json_object();
    struct lpq__metric m[LPQ__MAX_METRICS];
    size_t nm = lpq__entry_metrics(g, e, m, LPQ_ARRAY_SIZE(m));
    for (size_t k = 0; k < nm; k++) {
        json_t *set = json_object_get(metrics, m[k].set);
        if (!set) {
            set = json_object();
            json_object_set_new(metrics, m[k].set, set);
        }
        json_object_set_new(set, m[k].name, metric_json(&m[k]));
    }
    json_object_set_new(o, "metrics", metrics);
    json_t *st = json_object();
    for (size_t k = 0; k < e->n_st; k++) {
        json_t *s = json_object();
        set_str(s, "status", e->st[k].status);
        if (e->st[k].reason) set_str(s, "reason", e->st[k].reason);
        json_object_set_new(st, e->st[k].suite, s);
    }
    json_object_set_new(o, "suites", st);
    return o;
}

static json_t *hw_json(const struct lpq__hw *h) {
    json_t *o = json_object();
    set_str(o, "cpu", h->cpu);
    if (h->cores > 0) json_object_set_new(o, "cores", json_integer(h->cores));
    set_num(o, "memory_bytes", h->memory_bytes);
    set_str(o, "flags", h->flags);
    set_str(o, "os", h->os);
    set_str(o, "compiler", h->compiler);
    set_str(o, "lpq", h->lpq);
    set_str(o, "runtimes", h->devices);
    set_str(o, "hosts", h->hosts);
    set_str(o, "first_timestamp_utc", h->first_ts);
    set_str(o, "last_timestamp_utc", h->last_ts);
    return o;
}

enum lpq_status lpq_grid_write_json(const struct lpq_grid *g, const char *path, struct lpq_err *err) {
    json_t *root = json_object();
    json_object_set_new(root, "kind", json_string("lpq-results-grid"));
    json_object_set_new(root, "schema_version", json_integer(LPQ_REPORT_GRID_SCHEMA));
    json_object_set_new(root, "evaluation_schema_version", json_integer(LPQ_REPORT_EVAL_SCHEMA));
    set_str(root, "model", g->model);
    set_str(root, "baseline", g->baseline);
    json_object_set_new(root, "generator", json_sprintf("lpq %s", lpq_version()));
    json_t *hw = json_object();
    for (size_t i = 0; i < g->n_hw; i++) json_object_set_new(hw, g->hw[i].id, hw_json(&g->hw[i]));
    json_object_set_new(root, "hardware", hw);
    json_t *entries = json_array();
    for (size_t i = 0; i < g->n; i++) json_array_append_new(entries, entry_json(g, &g->e[i]));
    json_object_set_new(root, "entries", entries);
    json_t *w = json_array();
    for (size_t i = 0; i < g->n_warn; i++) json_array_append_new(w, json_string(g->warn[i]));
    json_object_set_new(root, "warnings", w);
    enum lpq_status st = LPQ_STATUS_OK;
    if (json_dump_file(root, path, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15)) != 0)
        st = lpq_err_set(err, LPQ_STATUS_IO, "cannot write %s: %s", path, strerror(errno));
    json_decref(root);
    return st;
}
