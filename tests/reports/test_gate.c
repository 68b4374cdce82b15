/*
 * test_gate.c — the regression gate: the same evaluation rerun with measurement noise passes,
 * Q2_K results presented as Q8_0 fail (verdict/exit 1), malformed input, a missing metric or
 * a schema mismatch cannot be evaluated (2), and the JUnit XML is well-formed with the right
 * counts. The lpq-eval exit codes are checked too when the program is built.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "eval-fixture.h"
#include "reports/report.h"

static const char *write_eval(const char *name, const struct fx_var *v, const char *ts) {
    const char *p = tu_tmp(name);
    static char keep[8][512];
    static int slot;
    char *d = keep[slot++ % 8];
    snprintf(d, sizeof keep[0], "%s", p);
    json_t *j = fx_eval(&FX_HW_A, v, ts);
    assert_int_equal(json_dump_file(j, d, JSON_INDENT(1)), 0);
    json_decref(j);
    return d;
}

static const char *write_text(const char *name, const char *text) {
    const char *p = tu_tmp(name);
    static char keep[8][512];
    static int slot;
    char *d = keep[slot++ % 8];
    snprintf(d, sizeof keep[0], "%s", p);
    assert_int_equal(tu_write_file(d, text, strlen(text)), 0);
    return d;
}

static const char *RULES = "{\"schema_version\": 1, \"max_ppl_increase_pct\": 1.0, \"max_mean_kld\": 0.01,"
                           " \"max_accuracy_drop_points\": 3, \"min_speed_ratio\": 0.95}";

static enum lpq_gate_verdict gate(const char *cur, const char *base, const char *rules, const char *junit, char **table) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct lpq_gate_params p = { cur, base, rules, junit, f };
    struct lpq_err err;
    lpq_err_clear(&err);
    enum lpq_gate_verdict v = lpq_gate_run(&p, &err);
    fclose(f);
    char *copy = strdup(buf ? buf : "");
    free(buf);
    if (table) *table = copy;
    else free(copy);
    return v;
}

/* Minimal well-formedness: one root, balanced tags, quoted attributes, entities only. */
static void assert_xml_well_formed(const char *x) {
    assert_int_equal(strncmp(x, "<?xml version=\"1.0\"", 19), 0);
    const char *p = strstr(x, "?>");
    assert_non_null(p);
    p += 2;
    char stack[16][64];
    int depth = 0, roots = 0;
    while (*p) {
        if (*p == '&') {
            assert_true(!strncmp(p, "&amp;", 5) || !strncmp(p, "&lt;", 4) || !strncmp(p, "&gt;", 4) ||
                        !strncmp(p, "&quot;", 6) || !strncmp(p, "&apos;", 6));
            p++;
            continue;
        }
        if (*p != '<') {
            assert_true(*p != '>');
            p++;
            continue;
        }
        const char *end = p + 1;
        bool inq = false;
        while (*end && (inq || *end != '>')) {
            if (*end == '"') inq = !inq;
            assert_true(!inq || *end != '<');
            end++;
        }
        assert_int_equal(*end, '>');
        bool closing = p[1] == '/', selfclose = end[-1] == '/';
        const char *nm = p + (closing ? 2 : 1);
        size_t nl = strcspn(nm, " />");
        assert_true(nl > 0 && nl < 64);
        if (closing) {
            assert_true(depth > 0);
            depth--;
            assert_int_equal(strlen(stack[depth]), nl);
            assert_memory_equal(stack[depth], nm, nl);
        } else if (!selfclose) {
            if (depth == 0) roots++;
            assert_true(depth < 16);
            memcpy(stack[depth], nm, nl);
            stack[depth][nl] = 0;
            depth++;
        }
        p = end + 1;
    }
    assert_int_equal(depth, 0);
    assert_int_equal(roots, 1);
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void test_noise_passes(void **state) {
    (void)state;
    const char *base = write_eval("base.json", &FX_VARS[1], "2026-11-20T10:00:00Z");
    struct fx_var again = FX_VARS[1];
    again.ppl *= 1.002;                       /* +0.2 % */
    again.kld *= 1.05;
    again.acc_k[1] -= 1;                      /* one question flipped: −1.7 points, inside the noise */
    again.tg -= 1.1;                          /* ratio 0.939 < 0.95, but stddev 0.4 on both: within the spread allowance */
    again.pp *= 0.97;
    const char *cur = write_eval("rerun.json", &again, "2026-11-21T10:00:00Z");
    const char *rules = write_text("rules.json", RULES);
    char *t = NULL;
    assert_int_equal(gate(cur, base, rules, NULL, &t), LPQ_GATE_PASS);
    assert_int_equal(count(t, "| pass "), 5);   /* ppl, kld, accuracy, decode, prefill */
    assert_null(strstr(t, "FAIL"));
    free(t);
    /* a real slowdown (half the decode speed) is not noise */
    struct fx_var slow = FX_VARS[1];
    slow.tg /= 2;
    const char *cur2 = write_eval("slow.json", &slow, "2026-11-21T10:00:00Z");
    assert_int_equal(gate(cur2, base, rules, NULL, &t), LPQ_GATE_FAIL);
    char *l = strstr(t, "decode_speed_ratio");
    assert_non_null(l);
    assert_int_equal(strncmp(strstr(l, "| ") + 2, "FAIL", 4), 0);
    free(t);
}

static void test_q2k_as_q8_fails(void **state) {
    (void)state;
    const char *base = write_eval("q8.json", &FX_VARS[1], "2026-11-20T10:00:00Z");
    /* Q2_K's results copied over Q8_0's file name */
    const char *cur = write_eval("q8-is-really-q2k.json", &FX_VARS[3], "2026-11-21T10:00:00Z");
    const char *rules = write_text("rules2.json", RULES);
    const char *junit = tu_tmp("junit.xml");
    char *t = NULL;
    assert_int_equal(gate(cur, base, rules, junit, &t), LPQ_GATE_FAIL);
    char *l = strstr(t, "ppl_increase");
    assert_non_null(l);
    assert_non_null(strstr(t, "| FAIL"));
    assert_non_null(strstr(t, "+9.453 %"));     /* 11.00 / 10.05 */
    assert_non_null(strstr(t, "mean KLD 0.200000"));
    free(t);
    size_t n;
    char *x = tu_read_file(junit, &n);
    assert_non_null(x);
    char *z = realloc(x, n + 1);
    z[n] = 0;
    assert_xml_well_formed(z);
    assert_int_equal(count(z, "<testcase "), 5);
    assert_true(count(z, "<failure ") >= 3);     /* ppl, kld, accuracy (23 points), speed holds */
    char attr[64];
    snprintf(attr, sizeof attr, "failures=\"%d\"", count(z, "<failure "));
    assert_non_null(strstr(z, attr));
    free(z);
}

/* Folders: the current folder's gguf/Q8_0/ slot holds Q2_K's results; the others are honest. */
static void test_folder_swap_fails(void **state) {
    (void)state;
    char cur[512], base[512];
    snprintf(base, sizeof base, "%s", tu_tmp("fold-base"));
    snprintf(cur, sizeof cur, "%s", tu_tmp("fold-cur"));
    for (int i = 0; i < 4; i++) {
        assert_int_equal(fx_write(base, &FX_HW_A, &FX_VARS[i], NULL, "2026-11-20T10:00:00Z"), 0);
        struct fx_var v = FX_VARS[i == 1 ? 3 : i];
        v.variant = FX_VARS[i].variant;      /* written into gguf/<the honest name>/ */
        assert_int_equal(fx_write(cur, &FX_HW_A, &v, NULL, "2026-11-21T10:00:00Z"), 0);
    }
    const char *rules = write_text("rules-fold.json", RULES);
    char *t = NULL;
    assert_int_equal(gate(cur, base, rules, NULL, &t), LPQ_GATE_FAIL);
    char *l = strstr(t, "Q8_0.cpu");
    assert_non_null(l);
    assert_non_null(strstr(t, "PPL 11.0000 vs 10.0500"));
    /* Q8_0 fails ppl, kld and accuracy; F32 (the same on both sides) fails nothing */
    int q8_fail = 0, f32_fail = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        q8_fail += !strncmp(line, "| Q8_0.cpu", 10) && strstr(line, "| FAIL");
        f32_fail += !strncmp(line, "| F32.cpu", 9) && strstr(line, "| FAIL");
    }
    assert_int_equal(q8_fail, 3);
    assert_int_equal(f32_fail, 0);
    free(t);
    /* and a file in gguf/Q8_0/ that says Q2_K inside is reported as Q8_0, with a warning */
    char p[700];
    snprintf(p, sizeof p, "%s/gguf/Q8_0/evaluation.json", cur);
    json_t *j = fx_eval(&FX_HW_A, &FX_VARS[3], "2026-11-21T10:00:00Z");
    assert_int_equal(json_dump_file(j, p, 0), 0);
    json_decref(j);
    struct lpq_grid *g = NULL;
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_grid_load(cur, &g, &err), LPQ_STATUS_OK);
    bool warned = false;
    for (size_t i = 0; i < lpq_grid_n_warnings(g); i++)
        warned |= strstr(lpq_grid_warning(g, i), "says variant Q2_K but sits in gguf/Q8_0/") != NULL;
    assert_true(warned);
    lpq_grid_free(g);
    assert_int_equal(gate(cur, base, rules, NULL, NULL), LPQ_GATE_FAIL);
}

static void test_cannot_evaluate(void **state) {
    (void)state;
    const char *base = write_eval("b3.json", &FX_VARS[1], "2026-11-20T10:00:00Z");
    const char *rules = write_text("rules3.json", RULES);
    const char *junit = tu_tmp("junit3.xml");
    /* malformed current file */
    const char *bad = write_text("bad.json", "{ \"schema_version\": 1, \"runs\": ");
    char *t = NULL;
    assert_int_equal(gate(bad, base, rules, junit, &t), LPQ_GATE_UNKNOWN);
    assert_non_null(strstr(t, "could not evaluate"));
    assert_non_null(strstr(t, "does not parse"));
    free(t);
    size_t n;
    char *x = tu_read_file(junit, &n);
    assert_non_null(x);
    char *z = realloc(x, n + 1);
    z[n] = 0;
    assert_xml_well_formed(z);
    assert_non_null(strstr(z, "<error type=\"could-not-evaluate\""));
    free(z);
    /* schema mismatch */
    json_t *j = fx_eval(&FX_HW_A, &FX_VARS[1], "2026-11-20T10:00:00Z");
    json_object_set_new(j, "schema_version", json_integer(7));
    fx_seal(j);
    const char *v7 = tu_tmp("v7.json");
    char keep[512];
    snprintf(keep, sizeof keep, "%s", v7);
    assert_int_equal(json_dump_file(j, keep, 0), 0);
    json_decref(j);
    assert_int_equal(gate(keep, base, rules, NULL, &t), LPQ_GATE_UNKNOWN);
    assert_non_null(strstr(t, "schema_version 7"));
    free(t);
    /* a metric the rules need is missing (no accuracy suite in the current run) */
    struct fx_var noacc = FX_VARS[1];
    noacc.acc_n = 0;
    const char *cur = write_eval("noacc.json", &noacc, "2026-11-21T10:00:00Z");
    assert_int_equal(gate(cur, base, rules, NULL, &t), LPQ_GATE_UNKNOWN);
    assert_non_null(strstr(t, "accuracy missing in the current results"));
    free(t);
    /* malformed rules: unknown key, and a negative limit */
    const char *r2 = write_text("rules-bad.json", "{\"max_ppl_increase\": 1}");
    assert_int_equal(gate(base, base, r2, NULL, &t), LPQ_GATE_UNKNOWN);
    assert_non_null(strstr(t, "unknown key \"max_ppl_increase\""));
    free(t);
    const char *r3 = write_text("rules-neg.json", "{\"max_mean_kld\": -1}");
    assert_int_equal(gate(base, base, r3, NULL, NULL), LPQ_GATE_UNKNOWN);
    /* the same file against itself passes */
    assert_int_equal(gate(base, base, rules, NULL, NULL), LPQ_GATE_PASS);
}

/* lpq-eval gate maps the verdicts to exit codes 0 / 1 / 2. */
static void test_cli_exit_codes(void **state) {
    (void)state;
    const char *bin = tu_bin("lpq-eval");
    if (access(bin, X_OK) != 0) skip();
    const char *base = write_eval("c-base.json", &FX_VARS[1], "2026-11-20T10:00:00Z");
    const char *q2 = write_eval("c-q2.json", &FX_VARS[3], "2026-11-20T10:00:00Z");
    const char *bad = write_text("c-bad.json", "not json at all");
    const char *rules = write_text("c-rules.json", RULES);
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s gate --current %s --baseline %s --rules %s", bin, base, base, rules);
    assert_int_equal(tu_run(cmd, &out), 0);
    free(out);
    snprintf(cmd, sizeof cmd, "%s gate --current %s --baseline %s --rules %s", bin, q2, base, rules);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "REGRESSION"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s gate --current %s --baseline %s --rules %s", bin, bad, base, rules);
    assert_int_equal(tu_run(cmd, &out), 2);
    free(out);
    snprintf(cmd, sizeof cmd, "%s gate --current %s", bin, base);
    assert_int_equal(tu_run(cmd, &out), 2);
    free(out);
}

int main(void) {
    tu_use_cmocka_allocator();   /* leaks in the report code fail the tests */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noise_passes),
        cmocka_unit_test(test_q2k_as_q8_fails),
        cmocka_unit_test(test_folder_swap_fails),
        cmocka_unit_test(test_cannot_evaluate),
        cmocka_unit_test(test_cli_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
