/*
 * report.c — lpq_report_write: loads the grid of a model folder and writes results.csv,
 * results.json, the charts and EVALUATION_REPORT.md beside each other. Each file is written
 * to a temporary name and renamed, so a reader never sees half a report.
 */
#include "reports/reports-impl.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct lpq_report_params lpq_report_params_default(void) {
    struct lpq_report_params p = { .out_dir = NULL, .gnuplot = NULL, .scripts_dir = NULL, .charts = true,
                                   .memory_budget_mib = 0 };
    return p;
}

static enum lpq_status finish(const char *tmp, const char *path, enum lpq_status st, struct lpq_err *err) {
    if (st == LPQ_STATUS_OK && rename(tmp, path) != 0)
        st = lpq_err_set(err, LPQ_STATUS_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (st) unlink(tmp);
    return st;
}

enum lpq_status lpq_report_write(const char *model_dir, const struct lpq_report_params *p,
                                 struct lpq_report_result *res, struct lpq_err *err) {
    struct lpq_report_params def = lpq_report_params_default();
    if (!p) p = &def;
    struct lpq_grid *g = NULL;
    struct lpq_report_result r;
    memset(&r, 0, sizeof r);
    char *csv = NULL, *json = NULL, *md = NULL, *tmp = NULL;
    FILE *f = NULL;
    enum lpq_status st = lpq_grid_load(model_dir, &g, err);
    if (st) return st;
    const char *out = p->out_dir ? p->out_dir : model_dir;
    csv = lpq_asprintf("%s/results.csv", out);
    json = lpq_asprintf("%s/results.json", out);
    md = lpq_asprintf("%s/EVALUATION_REPORT.md", out);
    tmp = lpq_asprintf("%s/.report.tmp-%ld", out, (long)getpid());
    if (!csv || !json || !md || !tmp) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "report: out of memory");
        goto done;
    }
    if ((st = finish(tmp, csv, lpq_grid_write_csv(g, tmp, err), err))) goto done;
    if ((st = finish(tmp, json, lpq_grid_write_json(g, tmp, err), err))) goto done;
    if (p->charts) {
        r.n_charts = lpq__charts_render(g, out, p, &r.charts_mask, &r.charts_skipped, r.charts_why, sizeof r.charts_why);
        if (r.charts_skipped) lpq_log(LPQ_LOG_WARN, "report written without charts: %s", r.charts_why);
    }
    r.n_entries = (int)g->n;
    f = fopen(tmp, "w");
    if (!f) {
        st = lpq_err_set(err, LPQ_STATUS_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    st = lpq_report_markdown(g, f, p, p->charts ? &r : NULL, err);
    if (fclose(f) != 0 && !st) st = lpq_err_set(err, LPQ_STATUS_IO, "write error on %s", tmp);
    f = NULL;
    if ((st = finish(tmp, md, st, err))) goto done;
    if (res) *res = r;
done:
    lpq_free(csv);
    lpq_free(json);
    lpq_free(md);
    lpq_free(tmp);
    lpq_grid_free(g);
    return st;
}
