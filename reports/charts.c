/*
 * charts.c — the report's charts: writes gnuplot data files (charts/<name>.dat) from the
 * grid and runs gnuplot on the matching script from reports/gnuplot/ (<name>.gp), which
 * draws <name>.png (pngcairo) and <name>.svg. gnuplot is found at run time; when it is
 * missing or fails, the caller gets the reason and writes the report without charts.
 *
 * .dat layout (gnuplot "index" blocks): one block per hardware × runtime series, blocks
 * separated by two blank lines; each block opens with a header line whose first field is the
 * quoted series title (the scripts use it via columnheader(1)); data rows start with the
 * variant name, then the chart's numeric columns (see each writer).
 */
#include "reports/reports-impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

static const struct {
    const char *name, *title;
} CHARTS[] = {
    { "accuracy-vs-size", "Accuracy vs file size" },
    { "kld-vs-bpw", "Mean KLD vs bits per weight (log scale)" },
    { "decode-vs-size", "Decode speed vs file size" },
    { "accuracy-by-category", "Accuracy by category" },
    { "latency", "Inter-token latency distribution" },
};

const char *lpq__chart_name(size_t i) { return i < LPQ_ARRAY_SIZE(CHARTS) ? CHARTS[i].name : NULL; }
const char *lpq__chart_title(size_t i) { return i < LPQ_ARRAY_SIZE(CHARTS) ? CHARTS[i].title : NULL; }

/* ---- data files ----------------------------------------------------------------------------- */

typedef int (*row_fn)(FILE *f, const struct lpq__entry *e, double x_index);

static int row_acc_size(FILE *f, const struct lpq__entry *e, double xi) {
    if (!lpq__ok(e->acc.v) || !lpq__ok(e->size_bytes)) return 0;
    double lo = lpq__ok(e->acc.lo) ? e->acc.lo : e->acc.v, hi = lpq__ok(e->acc.hi) ? e->acc.hi : e->acc.v;
    fprintf(f, "%s %.6g %.6g %.6g %.6g\n", e->variant, e->size_bytes / MIB, 100 * e->acc.v, 100 * lo, 100 * hi);
    return 1;
}

static int row_kld_bpw(FILE *f, const struct lpq__entry *e, double xi) {
    /* log scale: the baseline's zero (or a missing figure) cannot be drawn */
    if (!lpq__ok(e->kld.v) || e->kld.v <= 0 || !lpq__ok(e->bpw)) return 0;
    double err = lpq__ok(e->kld.err) ? e->kld.err : 0;
    double lo = e->kld.v - err > e->kld.v * 0.01 ? e->kld.v - err : e->kld.v * 0.01;
    fprintf(f, "%s %.6g %.6g %.6g %.6g\n", e->variant, e->bpw, e->kld.v, lo, e->kld.v + err);
    return 1;
}

static int row_decode_size(FILE *f, const struct lpq__entry *e, double xi) {
    if (!lpq__ok(e->tg_tps.v) || !lpq__ok(e->size_bytes)) return 0;
    fprintf(f, "%s %.6g %.6g %.6g\n", e->variant, e->size_bytes / MIB, e->tg_tps.v,
            lpq__ok(e->tg_tps.err) ? e->tg_tps.err : 0.0);
    return 1;
}

/* candlesticks: x, min, p50 (box bottom), p90 (box top), p99 (whisker top) */
static int row_latency(FILE *f, const struct lpq__entry *e, double xi) {
    const struct lpq__dist *d = &e->itl;
    if (!lpq__ok(d->median) || !lpq__ok(d->p90)) return 0;
    double mn = lpq__ok(d->min) ? d->min : d->median, p99 = lpq__ok(d->p99) ? d->p99 : d->p90;
    fprintf(f, "%s %.6g %.6g %.6g %.6g %.6g\n", e->variant, xi, mn, d->median, d->p90, p99);
    return 1;
}

/* Writes one block per hardware × runtime series; returns the number of data rows. */
static int write_series(const struct lpq_grid *g, FILE *f, const char *header, row_fn row, int *n_series) {
    int rows = 0;
    *n_series = 0;
    for (size_t b = 0; b < g->n;) {
        size_t end = b + 1;
        while (end < g->n && !strcmp(g->e[end].hw_id, g->e[b].hw_id) && !strcmp(g->e[end].runtime, g->e[b].runtime)) end++;
        long pos = ftell(f);
        if (*n_series) fputs("\n\n", f);
        fprintf(f, "\"%s/%s\" %s\n", g->e[b].hw_id, g->e[b].runtime, header);
        int here = 0;
        for (size_t i = b; i < end; i++) here += row(f, &g->e[i], (double)(i - b) + 0.3 * *n_series);
        if (here) {
            (*n_series)++;
            rows += here;
        } else if (pos >= 0) {
            /* an empty block would break the index count: drop it */
            fflush(f);
            if (ftruncate(fileno(f), pos) == 0) fseek(f, pos, SEEK_SET);
        }
        b = end;
    }
    return rows;
}

/* Per-category accuracy of the first hardware × runtime group that has categories:
 * rows = categories, then per variant three columns (acc, lo, hi) in percent. */
static int write_categories(const struct lpq_grid *g, FILE *f, char *titles, size_t tcap, int *n_var) {
    size_t b = 0, end = 0;
    for (b = 0; b < g->n; b = end) {
        end = b + 1;
        while (end < g->n && !strcmp(g->e[end].hw_id, g->e[b].hw_id) && !strcmp(g->e[end].runtime, g->e[b].runtime)) end++;
        bool any = false;
        for (size_t i = b; i < end; i++) any |= g->e[i].n_cats > 0;
        if (any) break;
    }
    if (b >= g->n) return 0;
    const char *names[32];
    size_t nc = 0;
    for (size_t i = b; i < end; i++)
        for (size_t c = 0; c < g->e[i].n_cats; c++) {
            size_t k = 0;
            while (k < nc && strcmp(names[k], g->e[i].cats[c].name)) k++;
            if (k == nc && nc < LPQ_ARRAY_SIZE(names)) names[nc++] = g->e[i].cats[c].name;
        }
    for (size_t i = 1; i < nc; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    *n_var = 0;
    titles[0] = 0;
    fprintf(f, "# %s/%s: category then (accuracy %%, Wilson low, high) per variant\n# category", g->e[b].hw_id, g->e[b].runtime);
    for (size_t i = b; i < end; i++) {
        if (!g->e[i].n_cats) continue;
        fprintf(f, " %s %s_lo %s_hi", g->e[i].variant, g->e[i].variant, g->e[i].variant);
        size_t l = strlen(titles);
        snprintf(titles + l, tcap - l, "%s%s", l ? " " : "", g->e[i].variant);
        (*n_var)++;
    }
    fputc('\n', f);
    for (size_t c = 0; c < nc; c++) {
        fprintf(f, "%s", names[c]);
        for (size_t i = b; i < end; i++) {
            const struct lpq__entry *e = &g->e[i];
            if (!e->n_cats) continue;
            struct lpq__fig a = lpq__fig_none();
            for (size_t k = 0; k < e->n_cats; k++)
                if (!strcmp(e->cats[k].name, names[c])) a = e->cats[k].acc;
            if (!lpq__ok(a.v)) fprintf(f, " NaN NaN NaN");
            else fprintf(f, " %.6g %.6g %.6g", 100 * a.v, 100 * (lpq__ok(a.lo) ? a.lo : a.v), 100 * (lpq__ok(a.hi) ? a.hi : a.v));
        }
        fputc('\n', f);
    }
    return (int)nc;
}

/* ---- finding gnuplot and the scripts -------------------------------------------------------- */

static char *find_gnuplot(const struct lpq_report_params *p) {
    const char *explicit = p && p->gnuplot ? p->gnuplot : getenv("LPQ_GNUPLOT");
    if (explicit && *explicit) return access(explicit, X_OK) == 0 ? lpq_strdup(explicit) : NULL;
    const char *path = getenv("PATH");
    if (!path) return NULL;
    for (const char *s = path; *s;) {
        size_t n = strcspn(s, ":");
        char *cand = lpq_asprintf("%.*s/gnuplot", (int)n, n ? s : ".");
        if (cand && access(cand, X_OK) == 0) return cand;
        lpq_free(cand);
        s += n;
        if (*s == ':') s++;
    }
    return NULL;
}

static bool has_scripts(const char *dir) {
    char *p = lpq_asprintf("%s/%s.gp", dir, CHARTS[0].name);
    bool ok = p && access(p, R_OK) == 0;
    lpq_free(p);
    return ok;
}

static char *find_scripts(const struct lpq_report_params *p) {
    const char *d = p && p->scripts_dir ? p->scripts_dir : getenv("LPQ_GNUPLOT_DIR");
    if (d && *d) return has_scripts(d) ? lpq_strdup(d) : NULL;
    /* installed beside the program: <prefix>/bin/lpq-eval → <prefix>/share/lpq/gnuplot */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            char *c = lpq_asprintf("%s/../share/lpq/gnuplot", exe);
            if (c && has_scripts(c)) return c;
            lpq_free(c);
        }
    }
#ifdef LPQ_REPORTS_GNUPLOT_DIR
    if (has_scripts(LPQ_REPORTS_GNUPLOT_DIR)) return lpq_strdup(LPQ_REPORTS_GNUPLOT_DIR);
#endif
    return NULL;
}

/* gnuplot -e "<vars>" <script>, stdout/stderr appended to log; true on exit 0. */
static bool run_gnuplot(const char *gp, const char *script, const char *vars, const char *log) {
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(gp, gp, "-e", vars, script, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- entry point ------------------------------------------------------------------------------ */

int lpq__charts_render(const struct lpq_grid *g, const char *out_dir, const struct lpq_report_params *p,
                       unsigned *mask_out, bool *skipped, char *why, size_t why_cap) {
    int n_done = 0;
    unsigned mask = 0;
    char *dir = lpq_asprintf("%s/charts", out_dir);
    char *gp = NULL, *scripts = NULL, *log = NULL;
    *skipped = false;
    if (!dir || (mkdir(dir, 0755) != 0 && errno != EEXIST)) {
        *skipped = true;
        snprintf(why, why_cap, "cannot create %s/charts: %s", out_dir, strerror(errno));
        goto done;
    }
    if (strchr(dir, '\'') || strchr(dir, '"')) {
        *skipped = true;
        snprintf(why, why_cap, "the output path contains a quote character gnuplot cannot be given");
        goto done;
    }
    /* the data files are written whether or not gnuplot is there: they are useful on their own */
    int rows[LPQ_ARRAY_SIZE(CHARTS)] = { 0 }, series[LPQ_ARRAY_SIZE(CHARTS)] = { 0 };
    char titles[1024] = "";
    int n_var = 0;
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(CHARTS); i++) {
        /* a chart left from an earlier report must not outlive its data */
        static const char *const ext[] = { "png", "svg" };
        for (size_t k = 0; k < 2; k++) {
            char *old = lpq_asprintf("%s/%s.%s", dir, CHARTS[i].name, ext[k]);
            if (old) unlink(old);
            lpq_free(old);
        }
        char *dat = lpq_asprintf("%s/%s.dat", dir, CHARTS[i].name);
        FILE *f = dat ? fopen(dat, "w") : NULL;
        lpq_free(dat);
        if (!f) continue;
        switch (i) {
        case 0: rows[i] = write_series(g, f, "size_mib accuracy_pct lo_pct hi_pct", row_acc_size, &series[i]); break;
        case 1: rows[i] = write_series(g, f, "bits_per_weight mean_kld lo hi", row_kld_bpw, &series[i]); break;
        case 2: rows[i] = write_series(g, f, "size_mib decode_tok_s stddev", row_decode_size, &series[i]); break;
        case 3: rows[i] = write_categories(g, f, titles, sizeof titles, &n_var); series[i] = n_var; break;
        case 4: rows[i] = write_series(g, f, "x min_ms p50_ms p90_ms p99_ms", row_latency, &series[i]); break;
        }
        fclose(f);
    }
    gp = find_gnuplot(p);
    if (!gp) {
        *skipped = true;
        snprintf(why, why_cap, "gnuplot was not found (%s); install gnuplot-nox or set LPQ_GNUPLOT",
                 p && p->gnuplot ? p->gnuplot : getenv("LPQ_GNUPLOT") ? getenv("LPQ_GNUPLOT") : "searched $PATH");
        goto done;
    }
    scripts = find_scripts(p);
    if (!scripts || strchr(scripts, '\'')) {
        *skipped = true;
        snprintf(why, why_cap, "the gnuplot scripts (reports/gnuplot/*.gp) were not found; set LPQ_GNUPLOT_DIR");
        goto done;
    }
    log = lpq_asprintf("%s/gnuplot.log", dir);
    if (log) unlink(log);
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(CHARTS); i++) {
        if (!rows[i] || !series[i]) continue;
        char *vars = lpq_asprintf("GPDIR='%s'; datafile='%s/%s.dat'; outbase='%s/%s'; nseries=%d; titles='%s'", scripts, dir,
                                  CHARTS[i].name, dir, CHARTS[i].name, series[i], titles);
        char *script = lpq_asprintf("%s/%s.gp", scripts, CHARTS[i].name);
        char *png = lpq_asprintf("%s/%s.png", dir, CHARTS[i].name);
        if (png) unlink(png);
        bool ok = vars && script && png && run_gnuplot(gp, script, vars, log) && access(png, R_OK) == 0;
        if (ok) {
            n_done++;
            mask |= 1u << i;
        } else if (!*skipped) {
            *skipped = true;
            snprintf(why, why_cap, "gnuplot failed on %s.gp (see charts/gnuplot.log)", CHARTS[i].name);
        }
        lpq_free(vars);
        lpq_free(script);
        lpq_free(png);
    }
    /* some charts rendered: the report shows those and names the failure in its notes */
    if (n_done && *skipped) lpq_log(LPQ_LOG_WARN, "report: %s", why);
    if (n_done) *skipped = false;
    if (log) {
        struct stat sb;
        if (stat(log, &sb) == 0 && sb.st_size == 0) unlink(log);
    }
done:
    lpq_free(dir);
    lpq_free(gp);
    lpq_free(scripts);
    lpq_free(log);
    *mask_out = mask;
    return n_done;
}
