/*
 * markdown.c — EVALUATION_REPORT.md from the grid: per-hardware summary, per-category
 * accuracy and latency tables, the recommendation matrix with the figure that decided each
 * pick, charts, hardware fingerprints, notes, and how the report was produced. Output depends
 * only on the grid (no clock, stable orders), so the same files give the same bytes.
 */
#include "reports/reports-impl.h"

#include <string.h>

#define DASH "—"
#define MIB (1024.0 * 1024.0)
#define GIB (1024.0 * 1024.0 * 1024.0)

/* ---- cell formatting (each returns buf) ---------------------------------------------------- */

static const char *f_num(char *buf, size_t cap, double v, const char *fmt) {
    if (!lpq__ok(v)) snprintf(buf, cap, DASH);
    else snprintf(buf, cap, fmt, v);
    return buf;
}

static const char *f_pm(char *buf, size_t cap, struct lpq__fig f, int prec) {
    if (!lpq__ok(f.v)) snprintf(buf, cap, DASH);
    else if (!lpq__ok(f.err)) snprintf(buf, cap, "%.*f", prec, f.v);
    else snprintf(buf, cap, "%.*f ± %.*f", prec, f.v, prec, f.err);
    return buf;
}

/* KLD spans 1e-6 .. 10 nats: significant digits, not decimals, tell small values apart. */
static const char *f_kld(char *buf, size_t cap, struct lpq__fig f) {
    if (!lpq__ok(f.v)) snprintf(buf, cap, DASH);
    else if (!lpq__ok(f.err)) snprintf(buf, cap, "%.4g", f.v);
    else snprintf(buf, cap, "%.4g ± %.2g", f.v, f.err);
    return buf;
}

/* percent with its interval: "45.0 % [36.9–53.4]" */
static const char *f_acc(char *buf, size_t cap, struct lpq__fig f) {
    if (!lpq__ok(f.v)) snprintf(buf, cap, DASH);
    else if (lpq__ok(f.lo) && lpq__ok(f.hi))
        snprintf(buf, cap, "%.1f [%.1f–%.1f]", 100 * f.v, 100 * f.lo, 100 * f.hi);
    else snprintf(buf, cap, "%.1f", 100 * f.v);
    return buf;
}

static const char *f_mib(char *buf, size_t cap, double bytes) {
    return f_num(buf, cap, lpq__ok(bytes) ? bytes / MIB : NAN, "%.2f");
}

static const char *f_dppl(char *buf, size_t cap, const struct lpq_grid *g, const struct lpq__entry *e) {
    if (e->is_baseline && lpq__ok(e->ppl.v)) return snprintf(buf, cap, "baseline"), buf;
    double d = lpq__entry_dppl_pct(g, e);
    if (!lpq__ok(d)) return snprintf(buf, cap, DASH), buf;
    snprintf(buf, cap, "%+.2f %%", d);
    return buf;
}

/* ---- groups ------------------------------------------------------------------------------- */

/* Entries [*b, *end) share hardware and runtime (the grid is sorted that way). */
static size_t group_end(const struct lpq_grid *g, size_t b, bool by_runtime) {
    size_t e = b + 1;
    while (e < g->n && !strcmp(g->e[e].hw_id, g->e[b].hw_id) &&
           (!by_runtime || !strcmp(g->e[e].runtime, g->e[b].runtime)))
        e++;
    return e;
}

static const char *hw_title(const struct lpq_grid *g, const char *id, char *buf, size_t cap) {
    const struct lpq__hw *h = lpq__grid_hw(g, id);
    if (!h) return snprintf(buf, cap, "%s", id), buf;
    char mem[32] = "";
    if (lpq__ok(h->memory_bytes)) snprintf(mem, sizeof mem, ", %.1f GiB", h->memory_bytes / GIB);
    char cores[32] = "";
    if (h->cores > 0) snprintf(cores, sizeof cores, ", %lld cores", h->cores);
    snprintf(buf, cap, "%s — %s%s%s", id, h->cpu ? h->cpu : "unknown CPU", cores, mem);
    return buf;
}

/* ---- sections ------------------------------------------------------------------------------ */

static void summary_table(const struct lpq_grid *g, size_t b, size_t end, FILE *f) {
    struct lpq__table *t = lpq__table_new(13);
    if (!t) return;
    static const char *const head[] = { "Variant", "Runtime", "Size (MiB)", "Bits/weight", "PPL ± s.e.",
                                        "ΔPPL vs base", "Mean KLD ± s.e.", "Same top %", "lpq-140 acc % [95 % CI]",
                                        "Prefill tok/s", "Decode tok/s", "TTFT ms (p50)", "Memory (MiB)" };
    for (size_t c = 0; c < LPQ_ARRAY_SIZE(head); c++) lpq__table_cell(t, "%s", head[c]);
    for (size_t c = 2; c < 13; c++) lpq__table_right(t, c);
    char s[11][96];
    for (size_t i = b; i < end; i++) {
        const struct lpq__entry *e = &g->e[i];
        lpq__table_cell(t, "%s%s", e->variant, e->is_baseline ? " (base)" : "");
        lpq__table_cell(t, "%s", e->runtime);
        lpq__table_cell(t, "%s", f_mib(s[0], 96, e->size_bytes));
        lpq__table_cell(t, "%s", f_num(s[1], 96, e->bpw, "%.2f"));
        lpq__table_cell(t, "%s", f_pm(s[2], 96, e->ppl, e->ppl.v < 100 ? 3 : 1));
        lpq__table_cell(t, "%s", f_dppl(s[3], 96, g, e));
        lpq__table_cell(t, "%s", f_kld(s[4], 96, e->kld));
        struct lpq__fig st = e->same_top;
        if (lpq__ok(st.v)) {
            st.v *= 100;
            st.err *= 100;
        }
        lpq__table_cell(t, "%s", f_pm(s[5], 96, st, 2));
        lpq__table_cell(t, "%s", f_acc(s[6], 96, e->acc));
        lpq__table_cell(t, "%s", f_pm(s[7], 96, e->pp_tps, 1));
        lpq__table_cell(t, "%s", f_pm(s[8], 96, e->tg_tps, 1));
        lpq__table_cell(t, "%s", f_num(s[9], 96, e->ttft.median, "%.2f"));
        lpq__table_cell(t, "%s", f_mib(s[10], 96, lpq__entry_mem(e)));
    }
    lpq__table_print(t, f);
    lpq__table_free(t);
}

static const struct lpq__cat *cats_of(const struct lpq__entry *e, bool bench, size_t *n) {
    *n = bench ? e->n_bench : e->n_cats;
    return bench ? e->bench : e->cats;
}

/* Union of category (or benchmark) names in [b, end), sorted. */
static size_t categories(const struct lpq_grid *g, size_t b, size_t end, bool bench, const char **names, size_t cap) {
    size_t n = 0;
    for (size_t i = b; i < end; i++) {
        size_t nc;
        const struct lpq__cat *cs = cats_of(&g->e[i], bench, &nc);
        for (size_t c = 0; c < nc; c++) {
            const char *nm = cs[c].name;
            size_t k = 0;
            while (k < n && strcmp(names[k], nm)) k++;
            if (k == n && n < cap) names[n++] = nm;
        }
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *tmp = names[j];
            names[j] = names[j - 1];
            names[j - 1] = tmp;
        }
    return n;
}

static void category_table(const struct lpq_grid *g, size_t b, size_t end, bool bench, FILE *f) {
    const char *names[32];
    size_t nc = categories(g, b, end, bench, names, LPQ_ARRAY_SIZE(names));
    if (!nc) {
        if (!bench) fprintf(f, "No lpq-140 accuracy results on this hardware.\n\n");
        return;
    }
    if (bench) fprintf(f, "Standard benchmarks found in the data folder (each with its primary metric, `acc`):\n\n");
    size_t ncols = nc + (bench ? 2 : 3);
    struct lpq__table *t = lpq__table_new(ncols);
    if (!t) return;
    lpq__table_cell(t, "Variant");
    lpq__table_cell(t, "Runtime");
    for (size_t c = 0; c < nc; c++) lpq__table_cell(t, "%s", names[c]);
    if (!bench) lpq__table_cell(t, "overall");
    for (size_t c = 2; c < ncols; c++) lpq__table_right(t, c);
    char s[96];
    for (size_t i = b; i < end; i++) {
        const struct lpq__entry *e = &g->e[i];
        lpq__table_cell(t, "%s", e->variant);
        lpq__table_cell(t, "%s", e->runtime);
        size_t n_own;
        const struct lpq__cat *own = cats_of(e, bench, &n_own);
        for (size_t c = 0; c < nc; c++) {
            struct lpq__fig fig = lpq__fig_none();
            for (size_t k = 0; k < n_own; k++)
                if (!strcmp(own[k].name, names[c])) fig = own[k].acc;
            lpq__table_cell(t, "%s", f_acc(s, sizeof s, fig));
        }
        if (!bench) lpq__table_cell(t, "%s", f_acc(s, sizeof s, e->acc));
    }
    /* what guessing scores: near-chance accuracy is expected from random or tiny models */
    bool any_chance = false;
    for (size_t i = b; i < end && !any_chance; i++) {
        size_t n_own;
        const struct lpq__cat *own = cats_of(&g->e[i], bench, &n_own);
        for (size_t k = 0; k < n_own; k++) any_chance |= lpq__ok(own[k].chance);
    }
    if (any_chance) {
        lpq__table_cell(t, "chance level");
        lpq__table_cell(t, " ");
        for (size_t c = 0; c < nc; c++) {
            double ch = NAN;
            for (size_t i = b; i < end && !lpq__ok(ch); i++) {
                size_t n_own;
                const struct lpq__cat *own = cats_of(&g->e[i], bench, &n_own);
                for (size_t k = 0; k < n_own; k++)
                    if (!strcmp(own[k].name, names[c])) ch = own[k].chance;
            }
            lpq__table_cell(t, "%s", f_num(s, sizeof s, lpq__ok(ch) ? 100 * ch : NAN, "%.1f"));
        }
        if (!bench) {
            double ch = NAN;
            for (size_t i = b; i < end && !lpq__ok(ch); i++) ch = g->e[i].acc_chance;
            lpq__table_cell(t, "%s", f_num(s, sizeof s, lpq__ok(ch) ? 100 * ch : NAN, "%.1f"));
        }
    }
    lpq__table_print(t, f);
    lpq__table_free(t);
    fprintf(f, "\nAccuracy in %%, with Wilson 95 %% intervals in brackets%s.\n\n",
            bench ? "" : "; overall is the whole lpq-140 suite");
}

static void latency_table(const struct lpq_grid *g, size_t b, size_t end, FILE *f) {
    struct lpq__table *t = lpq__table_new(12);
    if (!t) return;
    static const char *const head[] = { "Variant", "Runtime", "TTFT p50", "TTFT p90", "TTFT p99", "ITL p50",
                                        "ITL p90", "ITL p99", "TPOT mean", "Load cold", "Load warm",
                                        "Peak RSS (MiB)" };
    for (size_t c = 0; c < LPQ_ARRAY_SIZE(head); c++) lpq__table_cell(t, "%s", head[c]);
    for (size_t c = 2; c < 12; c++) lpq__table_right(t, c);
    char s[96];
    for (size_t i = b; i < end; i++) {
        const struct lpq__entry *e = &g->e[i];
        lpq__table_cell(t, "%s", e->variant);
        lpq__table_cell(t, "%s", e->runtime);
        double v[] = { e->ttft.median, e->ttft.p90, e->ttft.p99, e->itl.median, e->itl.p90,
                       e->itl.p99, e->tpot.mean, e->load_cold_ms, e->load_warm_ms };
        for (size_t k = 0; k < LPQ_ARRAY_SIZE(v); k++) lpq__table_cell(t, "%s", f_num(s, sizeof s, v[k], "%.2f"));
        lpq__table_cell(t, "%s", f_mib(s, sizeof s, e->peak_rss_bytes));
    }
    lpq__table_print(t, f);
    lpq__table_free(t);
    fprintf(f, "\nAll times in ms. TTFT: time to first token of the prompt+generate phase; ITL: "
               "inter-token latency; TPOT: time per output token; load: model load, cold (page cache "
               "dropped where possible) and warm. Peak RSS is the whole process's (it includes the harness "
               "and, in side-by-side KLD runs, the baseline model).\n\n");
}

/* ---- recommendations ---------------------------------------------------------------------- */

static bool smaller(const struct lpq__entry *a, const struct lpq__entry *b) {
    if (!b) return true;
    if (a->size_bytes != b->size_bytes) return a->size_bytes < b->size_bytes;
    return strcmp(a->variant, b->variant) < 0;
}

static void rec_within(const struct lpq_grid *g, size_t b, size_t end, double pct, struct lpq__table *t) {
    const struct lpq__entry *pick = NULL;
    double pick_d = NAN;
    for (size_t i = b; i < end; i++) {
        const struct lpq__entry *e = &g->e[i];
        double d = e->is_baseline && lpq__ok(e->ppl.v) ? 0.0 : lpq__entry_dppl_pct(g, e);
        if (!lpq__ok(d) || !lpq__ok(e->size_bytes) || d > pct) continue;
        if (smaller(e, pick)) {
            pick = e;
            pick_d = d;
        }
    }
    lpq__table_cell(t, "Smallest within %g %% PPL increase", pct);
    if (!pick) {
        lpq__table_cell(t, DASH);
        lpq__table_cell(t, "no variant with PPL measured against the baseline is within %g %%", pct);
        return;
    }
    const struct lpq__entry *base = lpq__grid_base_of(g, pick);
    lpq__table_cell(t, "%s", pick->variant);
    lpq__table_cell(t, "%.2f MiB at PPL %+.2f %% vs %s", pick->size_bytes / MIB, pick_d, base ? base->variant : "base");
}

static void rec_fastest(const struct lpq_grid *g, size_t b, size_t end, double budget, const char *label,
                        struct lpq__table *t) {
    const struct lpq__entry *pick = NULL;
    size_t unknown = 0;
    for (size_t i = b; i < end; i++) {
        const struct lpq__entry *e = &g->e[i];
        double m = lpq__entry_mem(e);
        if (!lpq__ok(e->tg_tps.v)) continue;
        if (!lpq__ok(m)) {
            unknown++;
            continue;
        }
        if (m > budget) continue;
        if (!pick || e->tg_tps.v > pick->tg_tps.v ||
            (e->tg_tps.v == pick->tg_tps.v && strcmp(e->variant, pick->variant) < 0))
            pick = e;
    }
    lpq__table_cell(t, "Fastest decode within %s (%.2f MiB)", label, budget / MIB);
    if (!pick) {
        lpq__table_cell(t, DASH);
        lpq__table_cell(t, "no variant with decode speed and peak memory measured fits%s",
                        unknown ? " (some lack a memory figure)" : "");
        return;
    }
    lpq__table_cell(t, "%s", pick->variant);
    if (lpq__ok(pick->tg_tps.err))
        lpq__table_cell(t, "%.1f ± %.1f tok/s decode in %.2f MiB", pick->tg_tps.v, pick->tg_tps.err,
                        lpq__entry_mem(pick) / MIB);
    else
        lpq__table_cell(t, "%.1f tok/s decode in %.2f MiB", pick->tg_tps.v, lpq__entry_mem(pick) / MIB);
}

/* Quality per GB: accuracy when every candidate has it, else PPL retained (PPL_base / PPL). */
static void rec_per_gb(const struct lpq_grid *g, size_t b, size_t end, struct lpq__table *t) {
    bool all_acc = true;
    size_t n = 0;
    for (size_t i = b; i < end; i++)
        if (lpq__ok(g->e[i].size_bytes) && g->e[i].size_bytes > 0) {
            n++;
            all_acc &= lpq__ok(g->e[i].acc.v);
        }
    const struct lpq__entry *pick = NULL;
    double best = -1, best_q = NAN;
    for (size_t i = b; i < end && n; i++) {
        const struct lpq__entry *e = &g->e[i];
        if (!lpq__ok(e->size_bytes) || e->size_bytes <= 0) continue;
        double q;
        if (all_acc) {
            q = 100 * e->acc.v;
        } else {
            const struct lpq__entry *base = lpq__grid_base_of(g, e);
            if (!base || !lpq__ok(base->ppl.v) || !lpq__ok(e->ppl.v) || e->ppl.v <= 0) continue;
            q = 100 * base->ppl.v / e->ppl.v;
        }
        double per = q / (e->size_bytes / 1e9);
        if (per > best || (per == best && pick && strcmp(e->variant, pick->variant) < 0)) {
            best = per;
            best_q = q;
            pick = e;
        }
    }
    lpq__table_cell(t, "Best quality per GB (%s)", all_acc && n ? "accuracy" : "PPL retained");
    if (!pick) {
        lpq__table_cell(t, DASH);
        lpq__table_cell(t, "needs file sizes and accuracy or PPL against the baseline");
        return;
    }
    lpq__table_cell(t, "%s", pick->variant);
    lpq__table_cell(t, "%.1f %% %s / %.4f GB = %.1f %%/GB", best_q, all_acc ? "accuracy" : "of baseline PPL",
                    pick->size_bytes / 1e9, best);
}

static void recommendations(const struct lpq_grid *g, size_t b, size_t end, const struct lpq_report_params *p,
                            FILE *f) {
    struct lpq__table *t = lpq__table_new(3);
    if (!t) return;
    lpq__table_cell(t, "Criterion");
    lpq__table_cell(t, "Pick");
    lpq__table_cell(t, "Deciding figure");
    static const double pct[] = { 1, 3, 5 };
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(pct); i++) rec_within(g, b, end, pct[i], t);
    const struct lpq__hw *h = lpq__grid_hw(g, g->e[b].hw_id);
    if (h && lpq__ok(h->memory_bytes)) rec_fastest(g, b, end, h->memory_bytes, "this machine's memory", t);
    const struct lpq__entry *base = lpq__grid_base_of(g, &g->e[b]);
    /* the question a quantized variant answers: what runs fastest in less than the baseline needs */
    if (base && lpq__ok(lpq__entry_mem(base)))
        rec_fastest(g, b, end, lpq__entry_mem(base) * (1 - 1e-9), "less than the baseline's memory", t);
    if (p && p->memory_budget_mib > 0) rec_fastest(g, b, end, p->memory_budget_mib * MIB, "the given budget", t);
    rec_per_gb(g, b, end, t);
    lpq__table_print(t, f);
    lpq__table_free(t);
    fputc('\n', f);
}

static void hardware_section(const struct lpq_grid *g, FILE *f) {
    struct lpq__table *t = lpq__table_new(2);
    for (size_t i = 0; i < g->n_hw && t; i++) {
        const struct lpq__hw *h = &g->hw[i];
        char buf[96];
        fprintf(f, "### %s\n\n", h->id);
        lpq__table_free(t);
        t = lpq__table_new(2);
        if (!t) return;
        lpq__table_cell(t, "Field");
        lpq__table_cell(t, "Value");
        lpq__table_cell(t, "CPU");
        lpq__table_cell(t, "%s", h->cpu ? h->cpu : DASH);
        lpq__table_cell(t, "Cores online");
        lpq__table_cell(t, "%s", f_num(buf, sizeof buf, h->cores > 0 ? (double)h->cores : NAN, "%.0f"));
        lpq__table_cell(t, "Memory");
        lpq__table_cell(t, "%s", lpq__ok(h->memory_bytes) ? (snprintf(buf, sizeof buf, "%.1f GiB", h->memory_bytes / GIB), buf) : DASH);
        lpq__table_cell(t, "SIMD flags");
        lpq__table_cell(t, "%s", h->flags ? h->flags : DASH);
        lpq__table_cell(t, "OS");
        lpq__table_cell(t, "%s", h->os ? h->os : DASH);
        lpq__table_cell(t, "Compiler");
        lpq__table_cell(t, "%s", h->compiler ? h->compiler : DASH);
        lpq__table_cell(t, "lpq build");
        lpq__table_cell(t, "%s", h->lpq ? h->lpq : DASH);
        lpq__table_cell(t, "Runtimes (device)");
        lpq__table_cell(t, "%s", h->devices ? h->devices : DASH);
        lpq__table_cell(t, "Hosts");
        lpq__table_cell(t, "%s", h->hosts ? h->hosts : DASH);
        lpq__table_cell(t, "Measured (UTC)");
        if (h->first_ts && h->last_ts && strcmp(h->first_ts, h->last_ts))
            lpq__table_cell(t, "%s … %s", h->first_ts, h->last_ts);
        else
            lpq__table_cell(t, "%s", h->first_ts ? h->first_ts : DASH);
        lpq__table_print(t, f);
        fputc('\n', f);
    }
    lpq__table_free(t);
    if (!g->n_hw) fprintf(f, "No environment fingerprints in the evaluation files.\n\n");
}

static void notes_section(const struct lpq_grid *g, FILE *f) {
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct lpq__entry *e = &g->e[i];
        for (size_t k = 0; k < e->n_st; k++) {
            if (!strcmp(e->st[k].status, "done")) continue;
            fprintf(f, "- %s %s on %s: suite `%s` %s%s%s\n", e->variant, e->runtime, e->hw_id, e->st[k].suite,
                    e->st[k].status, e->st[k].reason ? ": " : "", e->st[k].reason ? e->st[k].reason : "");
            n++;
        }
    }
    for (size_t i = 0; i < g->n_warn; i++, n++) fprintf(f, "- %s\n", g->warn[i]);
    if (!n) fprintf(f, "None: every suite in the files finished.\n");
    fputc('\n', f);
}

/* ---- the document --------------------------------------------------------------------------- */

enum lpq_status lpq_report_markdown(const struct lpq_grid *g, FILE *f, const struct lpq_report_params *p,
                                    const struct lpq_report_result *charts, struct lpq_err *err) {
    char buf[256];
    fprintf(f, "# Evaluation report: %s\n\n", g->model);
    fprintf(f, "Baseline: **%s**. %zu variant run(s) from %zu evaluation file(s) on %zu machine(s). "
               "PPL is ± its standard error, mean KLD (nats, vs the baseline) ± its standard error, accuracy "
               "with Wilson 95 %% intervals, speeds mean ± sample standard deviation over repetitions. "
               "\"" DASH "\" marks a figure the files do not hold.\n\n",
            g->baseline ? g->baseline : "unknown", g->n, g->n_files, g->n_hw);

    fprintf(f, "## Summary\n\n");
    for (size_t b = 0; b < g->n;) {
        size_t end = group_end(g, b, false);
        fprintf(f, "### %s\n\n", hw_title(g, g->e[b].hw_id, buf, sizeof buf));
        summary_table(g, b, end, f);
        fputc('\n', f);
        b = end;
    }

    fprintf(f, "## Recommendations\n\n"
               "Quality loss is the perplexity increase against the baseline measured on the same machine and "
               "runtime; memory is the runtime's own figure (weights + KV cache + scratch), else the peak "
               "resident set during the speed suite.\n\n");
    for (size_t b = 0; b < g->n;) {
        size_t end = group_end(g, b, true);
        fprintf(f, "### %s, runtime %s\n\n", g->e[b].hw_id, g->e[b].runtime);
        recommendations(g, b, end, p, f);
        b = end;
    }

    fprintf(f, "## Accuracy by category\n\n");
    for (size_t b = 0; b < g->n;) {
        size_t end = group_end(g, b, false);
        fprintf(f, "### %s\n\n", g->e[b].hw_id);
        category_table(g, b, end, false, f);
        category_table(g, b, end, true, f);
        b = end;
    }

    fprintf(f, "## Latency\n\n");
    for (size_t b = 0; b < g->n;) {
        size_t end = group_end(g, b, false);
        fprintf(f, "### %s\n\n", g->e[b].hw_id);
        latency_table(g, b, end, f);
        b = end;
    }

    fprintf(f, "## Charts\n\n");
    if (charts && charts->charts_skipped) {
        fprintf(f, "> **Warning:** charts were not rendered: %s. The figures are in the tables above; "
                   "the chart data files are in `charts/*.dat`.\n\n", charts->charts_why);
    } else if (!charts || !charts->n_charts) {
        fprintf(f, "Charts were not requested.\n\n");
    } else {
        for (size_t i = 0; lpq__chart_name(i); i++) {
            if (charts->charts_mask & (1u << i))
                fprintf(f, "### %s\n\n![%s](charts/%s.png)\n\n[SVG version](charts/%s.svg) · [data](charts/%s.dat)\n\n",
                        lpq__chart_title(i), lpq__chart_title(i), lpq__chart_name(i), lpq__chart_name(i), lpq__chart_name(i));
            else
                fprintf(f, "### %s\n\nNot drawn: no variant has the figures this chart needs.\n\n", lpq__chart_title(i));
        }
    }

    fprintf(f, "## Hardware\n\n"
               "Each machine is identified by its fingerprint's hardware id (CPU model, cores and memory "
               "hashed when the fingerprint has no id of its own); runs from different machines are kept apart.\n\n");
    hardware_section(g, f);

    fprintf(f, "## Notes\n\n");
    notes_section(g, f);

    fprintf(f, "## Sources\n\n");
    const char *last = "";
    for (size_t i = 0; i < g->n; i++) {
        /* entries are in report order; list each (file, run) once */
        if (!strcmp(last, g->e[i].source) && i && !strcmp(g->e[i - 1].run_key, g->e[i].run_key)) continue;
        fprintf(f, "- `%s` run `%s` → %s %s on %s\n", g->e[i].source, g->e[i].run_key, g->e[i].variant,
                g->e[i].runtime, g->e[i].hw_id);
        last = g->e[i].source;
    }
    fprintf(f, "\n---\n\nProduced by `lpq-eval report --model-dir DIR` (lpq %s) from the evaluation files "
               "listed above, without re-measuring anything; regenerating from the same files gives the "
               "same bytes.\n", lpq_version());
    if (ferror(f)) return lpq_err_set(err, LPQ_STATUS_IO, "report: write error");
    return LPQ_STATUS_OK;
}
