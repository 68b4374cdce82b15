/*
 * gate.c — the regression gate behind `lpq-eval gate`: compares a current result set with a
 * baseline one under rules from a JSON file (docs/CI-GATE.md) and judges each rule with the
 * measured uncertainty, so rerunning the same evaluation (noise) never fails while a real
 * degradation does. Verdicts: pass, regression (1), could not evaluate (2).
 */
#include "reports/reports-impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum res { R_PASS, R_FAIL, R_NA };

struct rules {
    double max_ppl_increase_pct;    /* %, NAN = rule off */
    double max_mean_kld;            /* nats */
    double max_accuracy_drop_points;/* percentage points */
    double min_speed_ratio;         /* current / baseline tok/s */
    bool speed_decode, speed_prefill;
    double z;                       /* confidence multiplier for the uncertainty allowances */
};

struct verdicts {
    struct lpq__table *t;
    FILE *junit_body;               /* testcases, assembled before the header knows the counts */
    int n, n_fail, n_na;
};

/* ---- output ----------------------------------------------------------------------------------- */

static void xml_escape(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            /* control characters are not allowed in XML 1.0 */
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n') fputc(' ', f);
            else fputc(*s, f);
        }
    }
}

static void record(struct verdicts *v, const char *subject, const char *rule, enum res r, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void record(struct verdicts *v, const char *subject, const char *rule, enum res r, const char *fmt, ...) {
    char detail[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    v->n++;
    if (r == R_FAIL) v->n_fail++;
    if (r == R_NA) v->n_na++;
    lpq__table_cell(v->t, "%s", subject);
    lpq__table_cell(v->t, "%s", rule);
    lpq__table_cell(v->t, "%s", r == R_PASS ? "pass" : r == R_FAIL ? "FAIL" : "could not evaluate");
    lpq__table_cell(v->t, "%s", detail);
    if (!v->junit_body) return;
    FILE *f = v->junit_body;
    fputs("    <testcase classname=\"lpq.gate.", f);
    xml_escape(f, subject);
    fputs("\" name=\"", f);
    xml_escape(f, rule);
    fputs("\">\n", f);
    if (r != R_PASS) {
        fputs(r == R_FAIL ? "      <failure type=\"regression\" message=\"" : "      <error type=\"could-not-evaluate\" message=\"", f);
        xml_escape(f, detail);
        fputs("\"/>\n", f);
    }
    fputs("      <system-out>", f);
    xml_escape(f, detail);
    fputs("</system-out>\n    </testcase>\n", f);
}

/* ---- rules ------------------------------------------------------------------------------------ */

static enum lpq_status load_rules(const char *path, struct rules *r, struct lpq_err *err) {
    *r = (struct rules){ NAN, NAN, NAN, NAN, true, true, 1.96 };
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    enum lpq_status st = LPQ_STATUS_OK;
    if (!j) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "rules %s: %s (line %d)", path, je.text, je.line);
    if (!json_is_object(j)) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "rules %s: not a JSON object", path);
        goto done;
    }
    const char *k;
    json_t *v;
    int n_rules = 0;
    json_object_foreach(j, k, v) {
        double *dst = !strcmp(k, "max_ppl_increase_pct") ? &r->max_ppl_increase_pct
                    : !strcmp(k, "max_mean_kld") ? &r->max_mean_kld
                    : !strcmp(k, "max_accuracy_drop_points") ? &r->max_accuracy_drop_points
                    : !strcmp(k, "min_speed_ratio") ? &r->min_speed_ratio
                    : !strcmp(k, "z") ? &r->z : NULL;
        if (dst) {
            if (json_is_null(v)) continue;
            if (!json_is_number(v) || json_number_value(v) < 0) {
                st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "rules %s: \"%s\" must be a number >= 0", path, k);
                goto done;
            }
            *dst = json_number_value(v);
            if (dst != &r->z) n_rules++;
        } else if (!strcmp(k, "speed_metrics")) {
            size_t i;
            json_t *m;
            r->speed_decode = r->speed_prefill = false;
            json_array_foreach(v, i, m) {
                const char *s = json_string_value(m);
                if (s && !strcmp(s, "decode")) r->speed_decode = true;
                else if (s && !strcmp(s, "prefill")) r->speed_prefill = true;
                else {
                    st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "rules %s: speed_metrics takes \"decode\" and/or \"prefill\"", path);
                    goto done;
                }
            }
        } else if (!strcmp(k, "schema_version") || !strcmp(k, "description") || !strcmp(k, "$comment")) {
            if (!strcmp(k, "schema_version") && json_integer_value(v) != 1) {
                st = lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, "rules %s: schema_version %lld, this lpq reads 1", path,
                                 (long long)json_integer_value(v));
                goto done;
            }
        } else {
            st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "rules %s: unknown key \"%s\" (see docs/CI-GATE.md)", path, k);
            goto done;
        }
    }
    if (!n_rules) st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "rules %s: no rule set (max_ppl_increase_pct, max_mean_kld, "
                                   "max_accuracy_drop_points, min_speed_ratio)", path);
done:
    json_decref(j);
    return st;
}

/* Standard error of an accuracy figure: from its Wilson interval, else the binomial formula. */
static double acc_se(struct lpq__fig f) {
    if (lpq__ok(f.lo) && lpq__ok(f.hi) && f.hi >= f.lo) return (f.hi - f.lo) / (2 * 1.96);
    if (lpq__ok(f.n) && f.n > 0) return sqrt(f.v * (1 - f.v) / f.n);
    return NAN;
}

static void judge_pair(const struct rules *r, const struct lpq_grid *gc, const struct lpq__entry *c,
                       const struct lpq_grid *gb, const struct lpq__entry *b, struct verdicts *v) {
    char subj[256];
    snprintf(subj, sizeof subj, "%s.%s.%s", c->variant, c->runtime, c->hw_id);
    if (!lpq__ok(r->max_ppl_increase_pct)) {
    } else if (!lpq__ok(c->ppl.v) || !lpq__ok(b->ppl.v) || b->ppl.v <= 0) {
        record(v, subj, "ppl_increase", R_NA, "perplexity missing in the %s results", !lpq__ok(c->ppl.v) ? "current" : "baseline");
    } else {
        double inc = (c->ppl.v / b->ppl.v - 1) * 100;
        record(v, subj, "ppl_increase", inc <= r->max_ppl_increase_pct ? R_PASS : R_FAIL,
               "PPL %.4f vs %.4f: %+.3f %% (max +%g %%)", c->ppl.v, b->ppl.v, inc, r->max_ppl_increase_pct);
    }
    if (!lpq__ok(r->max_mean_kld)) {
    } else if (!lpq__ok(c->kld.v)) {
        if (c->is_baseline) record(v, subj, "mean_kld", R_PASS, "the baseline itself: KLD 0 by definition");
        else record(v, subj, "mean_kld", R_NA, "mean KLD missing in the current results (run the kld suite)");
    } else {
        char pm[64] = "";
        if (lpq__ok(c->kld.err)) snprintf(pm, sizeof pm, " ± %.6f", c->kld.err);
        record(v, subj, "mean_kld", c->kld.v <= r->max_mean_kld ? R_PASS : R_FAIL, "mean KLD %.6f%s nats (max %g)",
               c->kld.v, pm, r->max_mean_kld);
    }
    if (!lpq__ok(r->max_accuracy_drop_points)) {
    } else if (!lpq__ok(c->acc.v) || !lpq__ok(b->acc.v)) {
        record(v, subj, "accuracy_drop", R_NA, "accuracy missing in the %s results", !lpq__ok(c->acc.v) ? "current" : "baseline");
    } else {
        double drop = 100 * (b->acc.v - c->acc.v);
        double sc = acc_se(c->acc), sb = acc_se(b->acc);
        double allow = lpq__ok(sc) && lpq__ok(sb) ? 100 * r->z * sqrt(sc * sc + sb * sb) : 0;
        /* a regression only when even the optimistic end of the drop exceeds the limit */
        bool fail = drop - allow > r->max_accuracy_drop_points;
        record(v, subj, "accuracy_drop", fail ? R_FAIL : R_PASS,
               "accuracy %.1f %% vs %.1f %%: drop %.1f ± %.1f points (z=%.2f), fails when drop − %.1f > %g",
               100 * c->acc.v, 100 * b->acc.v, drop, allow, r->z, allow, r->max_accuracy_drop_points);
    }
    for (int k = 0; k < 2 && lpq__ok(r->min_speed_ratio); k++) {
        if ((k == 0 && !r->speed_decode) || (k == 1 && !r->speed_prefill)) continue;
        const char *rule = k == 0 ? "decode_speed_ratio" : "prefill_speed_ratio";
        struct lpq__fig fc = k == 0 ? c->tg_tps : c->pp_tps, fb = k == 0 ? b->tg_tps : b->pp_tps;
        if (strcmp(c->hw_id, b->hw_id)) {
            record(v, subj, rule, R_NA, "measured on different hardware (%s vs %s): speeds are not comparable", c->hw_id, b->hw_id);
        } else if (!lpq__ok(fc.v) || !lpq__ok(fb.v) || fb.v <= 0 || fc.v <= 0) {
            record(v, subj, rule, R_NA, "%s tok/s missing in the %s results", k == 0 ? "decode" : "prefill",
                   !lpq__ok(fc.v) || fc.v <= 0 ? "current" : "baseline");
        } else {
            double ratio = fc.v / fb.v;
            double rc = lpq__ok(fc.err) ? fc.err / fc.v : 0, rb = lpq__ok(fb.err) ? fb.err / fb.v : 0;
            double allow = r->z * sqrt(rc * rc + rb * rb);     /* relative */
            bool fail = ratio * (1 + allow) < r->min_speed_ratio;
            record(v, subj, rule, fail ? R_FAIL : R_PASS,
                   "%.2f vs %.2f tok/s: ratio %.3f, spread allowance ±%.1f %% (z=%.2f), min %g", fc.v, fb.v, ratio,
                   100 * allow, r->z, r->min_speed_ratio);
        }
    }
    (void)gc;
    (void)gb;
}

/* The baseline entry for c: same variant, runtime and hardware; else same variant and runtime;
 * when each side holds a single entry they are compared whatever their names. */
static const struct lpq__entry *match(const struct lpq_grid *gc, const struct lpq__entry *c, const struct lpq_grid *gb) {
    if (gc->n == 1 && gb->n == 1) return &gb->e[0];
    const struct lpq__entry *loose = NULL;
    for (size_t i = 0; i < gb->n; i++) {
        const struct lpq__entry *b = &gb->e[i];
        if (strcmp(b->variant, c->variant) || strcmp(b->runtime, c->runtime)) continue;
        if (!strcmp(b->hw_id, c->hw_id)) return b;
        if (!loose) loose = b;
    }
    return loose;
}

static void write_junit(const char *path, struct verdicts *v, const char *body) {
    FILE *f = fopen(path, "w");
    if (!f) {
        lpq_log(LPQ_LOG_ERROR, "gate: cannot write the JUnit file %s: %s", path, strerror(errno));
        return;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"lpq-gate\" tests=\"%d\" failures=\"%d\" errors=\"%d\">\n", v->n, v->n_fail, v->n_na);
    fprintf(f, "  <testsuite name=\"lpq-gate\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"0\">\n", v->n, v->n_fail,
            v->n_na);
    fputs(body ? body : "", f);
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    fclose(f);
}

enum lpq_gate_verdict lpq_gate_run(const struct lpq_gate_params *p, struct lpq_err *err) {
    FILE *out = p->out ? p->out : stdout;
    struct lpq_grid *gc = NULL, *gb = NULL;
    struct rules r;
    struct verdicts v = { 0 };
    char *body = NULL;
    size_t body_len = 0;
    struct lpq_err e;
    lpq_err_clear(&e);
    v.t = lpq__table_new(4);
    if (p->junit) v.junit_body = open_memstream(&body, &body_len);
    lpq__table_cell(v.t, "Subject");
    lpq__table_cell(v.t, "Rule");
    lpq__table_cell(v.t, "Result");
    lpq__table_cell(v.t, "Why");
    enum lpq_status st = LPQ_STATUS_OK;
    if (!p->current || !p->baseline || !p->rules)
        st = lpq_err_set(&e, LPQ_STATUS_BAD_ARG, "gate needs --current, --baseline and --rules");
    if (!st) st = load_rules(p->rules, &r, &e);
    if (!st && (st = lpq_grid_load(p->current, &gc, &e))) {
        char m[LPQ_ERR_MSG_MAX];
        snprintf(m, sizeof m, "%s", e.msg);
        lpq_err_set(&e, st, "current results: %.480s", m);
    }
    if (!st && (st = lpq_grid_load(p->baseline, &gb, &e))) {
        char m[LPQ_ERR_MSG_MAX];
        snprintf(m, sizeof m, "%s", e.msg);
        lpq_err_set(&e, st, "baseline results: %.480s", m);
    }
    if (st) {
        record(&v, "inputs", "load", R_NA, "%s", e.msg);
    } else {
        for (size_t i = 0; i < gc->n; i++) {
            const struct lpq__entry *c = &gc->e[i];
            const struct lpq__entry *b = match(gc, c, gb);
            if (!b) {
                char subj[256];
                snprintf(subj, sizeof subj, "%s.%s.%s", c->variant, c->runtime, c->hw_id);
                record(&v, subj, "match", R_NA, "no baseline result for variant %s on runtime %s", c->variant, c->runtime);
                continue;
            }
            judge_pair(&r, gc, c, gb, b, &v);
        }
    }
    lpq__table_print(v.t, out);
    enum lpq_gate_verdict verdict = v.n_fail ? LPQ_GATE_FAIL : v.n_na || !v.n ? LPQ_GATE_UNKNOWN : LPQ_GATE_PASS;
    fprintf(out, "\n%d rule check(s): %d passed, %d failed, %d could not be evaluated → %s\n", v.n, v.n - v.n_fail - v.n_na,
            v.n_fail, v.n_na, verdict == LPQ_GATE_PASS ? "PASS" : verdict == LPQ_GATE_FAIL ? "REGRESSION" : "COULD NOT EVALUATE");
    if (v.junit_body) {
        fclose(v.junit_body);
        v.junit_body = NULL;
        write_junit(p->junit, &v, body);
    }
    if (verdict != LPQ_GATE_PASS) {
        if (st) lpq_err_copy(err, &e);
        else if (e.status) lpq_err_copy(err, &e);
        else lpq_err_set(err, verdict == LPQ_GATE_FAIL ? LPQ_STATUS_THRESHOLD : LPQ_STATUS_NOT_FOUND, "%d of %d rule check(s) %s",
                         verdict == LPQ_GATE_FAIL ? v.n_fail : v.n_na, v.n,
                         verdict == LPQ_GATE_FAIL ? "failed" : "could not be evaluated");
    }
    free(body);
    lpq__table_free(v.t);
    lpq_grid_free(gc);
    lpq_grid_free(gb);
    return verdict;
}
