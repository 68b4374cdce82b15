/*
 * test_report.c — EVALUATION_REPORT.md from hand-written evaluation files: 4 variants on two
 * machines (the second machine's files copied beside the first's), aligned tables,
 * byte-identical regeneration, the recommendation picks of a constructed case, and bad input
 * (no files, mixed schema versions, a tampered file, gnuplot missing from PATH).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "eval-fixture.h"
#include "reports/report.h"

/* dir with F32/Q8_0/Q4_K_M/Q2_K on machine A (evaluation.json) and on machine B (copies named
 * evaluation.beta.json, and Q2_K's under results/beta/). */
static const char *make_folder(const char *name) {
    const char *dir = tu_tmp(name);
    static char keep[4][512];
    static int slot;
    char *d = keep[slot++ % 4];
    snprintf(d, sizeof keep[0], "%s", dir);
    fx_mkdirs(d);
    assert_int_equal(fx_manifest(d, name), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(fx_write(d, &FX_HW_A, &FX_VARS[i], NULL, "2026-11-20T10:00:00Z"), 0);
        struct fx_var b = FX_VARS[i];
        b.pp *= 4;
        b.tg *= 3;
        if (i < 3) {
            assert_int_equal(fx_write(d, &FX_HW_B, &b, "evaluation.beta.json", "2026-11-21T10:00:00Z"), 0);
        } else {
            char p[700];
            snprintf(p, sizeof p, "%s/results/beta/Q2_K", d);
            fx_mkdirs(p);
            snprintf(p, sizeof p, "%s/results/beta/Q2_K/evaluation.json", d);
            json_t *j = fx_eval(&FX_HW_B, &b, "2026-11-21T10:00:00Z");
            assert_int_equal(json_dump_file(j, p, JSON_INDENT(1)), 0);
            json_decref(j);
        }
    }
    return d;
}

static char *read_text(const char *dir, const char *name) {
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t n;
    char *s = tu_read_file(p, &n);
    assert_non_null(s);
    char *z = realloc(s, n + 1);
    assert_non_null(z);
    z[n] = 0;
    return z;
}

static size_t width(const char *s, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) w++;
    return w;
}

/* Every table: each row has as many '|' as its header and the same display width. Returns
 * the number of tables checked. */
static int check_tables(const char *md) {
    int tables = 0;
    size_t pipes = 0, w = 0;
    bool in = false;
    for (const char *line = md; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (n && line[0] == '|') {
            size_t p = 0;
            for (size_t i = 0; i < n; i++) p += line[i] == '|';
            if (!in) {
                in = true;
                tables++;
                pipes = p;
                w = width(line, n);
            } else {
                if (p != pipes || width(line, n) != w) fprintf(stderr, "misaligned row: %.*s\n", (int)n, line);
                assert_int_equal(p, pipes);
                assert_int_equal(width(line, n), w);
            }
        } else {
            in = false;
        }
        line = nl ? nl + 1 : line + n;
    }
    return tables;
}

/* The line of the first section after `after` that contains `needle`. */
static char *line_with(const char *md, const char *after, const char *needle) {
    const char *s = after ? strstr(md, after) : md;
    assert_non_null(s);
    const char *p = strstr(s, needle);
    assert_non_null(p);
    const char *b = p;
    while (b > md && b[-1] != '\n') b--;
    const char *e = strchr(p, '\n');
    return strndup(b, e ? (size_t)(e - b) : strlen(b));
}

static void test_report_renders_aligned_and_identical(void **state) {
    (void)state;
    const char *dir = make_folder("m1");
    struct lpq_report_params p = lpq_report_params_default();
    struct lpq_report_result r;
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_report_write(dir, &p, &r, &err), LPQ_STATUS_OK);
    assert_int_equal(r.n_entries, 8);      /* 4 variants × 2 machines, none overwritten */
    char *md1 = read_text(dir, "EVALUATION_REPORT.md");
    char *csv1 = read_text(dir, "results.csv");
    char *js1 = read_text(dir, "results.json");
    assert_non_null(strstr(md1, "# Evaluation report: m1"));
    assert_non_null(strstr(md1, "Test CPU A 3.0GHz"));
    assert_non_null(strstr(md1, "Test CPU B 2.0GHz"));
    assert_non_null(strstr(md1, "Baseline: **F32**"));
    /* PPL delta of Q2_K vs F32: +10 % */
    char *q2 = line_with(md1, "## Summary", "| Q2_K ");
    assert_non_null(strstr(q2, "+10.00 %"));
    assert_non_null(strstr(q2, " 0.2 ± 0.01 |"));     /* mean KLD, significant digits */
    free(q2);
    /* speed at the run's own thread count (t2: 30 tok/s), not the t1 sweep item (10) */
    char *f32 = line_with(md1, "## Summary", "| F32 (base)");
    assert_non_null(strstr(f32, "10.0 ± 0.3"));
    free(f32);
    assert_true(check_tables(md1) >= 10);
    /* regenerate: the same bytes */
    assert_int_equal(lpq_report_write(dir, &p, &r, &err), LPQ_STATUS_OK);
    char *md2 = read_text(dir, "EVALUATION_REPORT.md");
    char *csv2 = read_text(dir, "results.csv");
    char *js2 = read_text(dir, "results.json");
    assert_string_equal(md1, md2);
    assert_string_equal(csv1, csv2);
    assert_string_equal(js1, js2);
    free(md1);
    free(md2);
    free(csv1);
    free(csv2);
    free(js1);
    free(js2);
}

static void test_recommendations(void **state) {
    (void)state;
    const char *dir = make_folder("m2");
    struct lpq_report_params p = lpq_report_params_default();
    p.charts = false;
    p.memory_budget_mib = 100;               /* only Q2_K (95.4 MiB peak) fits */
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_report_write(dir, &p, NULL, &err), LPQ_STATUS_OK);
    char *md = read_text(dir, "EVALUATION_REPORT.md");
    /* machine A's recommendations: its id from the summary heading "### hw-… — Test CPU A" */
    const char *h = strstr(md, " — Test CPU A 3.0GHz");
    assert_non_null(h);
    const char *b = h;
    while (b > md && b[-1] != ' ') b--;
    char sec[96];
    snprintf(sec, sizeof sec, "### %.*s, runtime cpu", (int)(h - b), b);
    struct { const char *row, *pick, *figure; } want[] = {
        { "Smallest within 1 % PPL increase", "| Q8_0 ", "PPL +0.50 %" },
        { "Smallest within 3 % PPL increase", "| Q4_K_M ", "PPL +2.50 %" },
        { "Smallest within 5 % PPL increase", "| Q4_K_M ", "114.44 MiB" },
        { "Fastest decode within this machine's memory", "| Q4_K_M ", "25.0 ± 0.5 tok/s" },
        { "Fastest decode within the given budget", "| Q2_K ", "22.0 ± 0.6 tok/s" },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *l = line_with(md, sec, want[i].row);
        if (!strstr(l, want[i].pick) || !strstr(l, want[i].figure)) fprintf(stderr, "row: %s\n", l);
        assert_non_null(strstr(l, want[i].pick));
        assert_non_null(strstr(l, want[i].figure));
        free(l);
    }
    /* charts deliberately off: said so, no warning */
    assert_non_null(strstr(md, "Charts were not requested"));
    free(md);
}

static void test_missing_gnuplot(void **state) {
    (void)state;
    const char *dir = make_folder("m3");
    char *old = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    const char *oldgp = getenv("LPQ_GNUPLOT");
    char *saved_gp = oldgp ? strdup(oldgp) : NULL;
    unsetenv("LPQ_GNUPLOT");
    setenv("PATH", "/nonexistent-lpq-path", 1);
    struct lpq_report_params p = lpq_report_params_default();
    struct lpq_report_result r;
    struct lpq_err err;
    lpq_err_clear(&err);
    enum lpq_status st = lpq_report_write(dir, &p, &r, &err);
    setenv("PATH", old, 1);
    if (saved_gp) setenv("LPQ_GNUPLOT", saved_gp, 1);
    free(old);
    free(saved_gp);
    assert_int_equal(st, LPQ_STATUS_OK);
    assert_true(r.charts_skipped);
    assert_int_equal(r.n_charts, 0);
    assert_non_null(strstr(r.charts_why, "gnuplot was not found"));
    char *md = read_text(dir, "EVALUATION_REPORT.md");
    assert_non_null(strstr(md, "**Warning:** charts were not rendered: gnuplot was not found"));
    assert_non_null(strstr(md, "## Summary"));
    assert_null(strstr(md, "charts/accuracy-vs-size.png"));
    free(md);
    /* the data files are still there */
    char p2[700];
    snprintf(p2, sizeof p2, "%s/charts/decode-vs-size.dat", dir);
    assert_int_equal(access(p2, R_OK), 0);
}

static void test_charts_rendered_when_gnuplot_present(void **state) {
    (void)state;
    char *out = NULL;
    if (tu_run("command -v gnuplot", &out) != 0) {
        free(out);
        skip();
    }
    free(out);
    const char *dir = make_folder("m4");
    struct lpq_report_params p = lpq_report_params_default();
    struct lpq_report_result r;
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_report_write(dir, &p, &r, &err), LPQ_STATUS_OK);
    assert_false(r.charts_skipped);
    assert_int_equal(r.n_charts, 5);
    static const char *const names[] = { "accuracy-vs-size", "kld-vs-bpw", "decode-vs-size", "accuracy-by-category", "latency" };
    for (size_t i = 0; i < 5; i++) {
        char p2[700];
        size_t n = 0;
        snprintf(p2, sizeof p2, "%s/charts/%s.png", dir, names[i]);
        unsigned char *png = tu_read_file(p2, &n);
        assert_non_null(png);
        assert_true(n > 1000 && !memcmp(png, "\x89PNG", 4));
        free(png);
        snprintf(p2, sizeof p2, "%s/charts/%s.svg", dir, names[i]);
        char *svg = tu_read_file(p2, &n);
        assert_non_null(svg);
        assert_non_null(strstr(svg, "<svg"));
        free(svg);
    }
    char *md = read_text(dir, "EVALUATION_REPORT.md");
    assert_non_null(strstr(md, "![Accuracy vs file size](charts/accuracy-vs-size.png)"));
    free(md);
}

static void test_no_files(void **state) {
    (void)state;
    const char *dir = tu_tmp("empty");
    fx_mkdirs(dir);
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_report_write(dir, NULL, NULL, &err), LPQ_STATUS_NOT_FOUND);
    assert_non_null(strstr(err.msg, "no evaluation files"));
    char p[700];
    snprintf(p, sizeof p, "%s/EVALUATION_REPORT.md", dir);
    assert_int_not_equal(access(p, F_OK), 0);     /* no empty report presented as success */
    assert_int_equal(lpq_report_write(tu_tmp("does-not-exist"), NULL, NULL, &err), LPQ_STATUS_NOT_FOUND);
    /* the command says so and exits non-zero */
    const char *bin = tu_bin("lpq-eval");
    if (access(bin, X_OK) == 0) {
        char cmd[1200], *out = NULL;
        snprintf(cmd, sizeof cmd, "%s report --model-dir %s", bin, dir);
        assert_int_equal(tu_run(cmd, &out), 1);
        assert_non_null(strstr(out, "no evaluation files"));
        free(out);
    }
}

static void test_mixed_schema(void **state) {
    (void)state;
    const char *dir = make_folder("m5");
    char p[700];
    snprintf(p, sizeof p, "%s/gguf/Q8_0/evaluation.old.json", dir);
    json_t *j = fx_eval(&FX_HW_A, &FX_VARS[1], "2026-01-01T00:00:00Z");
    json_object_set_new(j, "schema_version", json_integer(2));
    fx_seal(j);
    assert_int_equal(json_dump_file(j, p, 0), 0);
    json_decref(j);
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_report_write(dir, NULL, NULL, &err), LPQ_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "mixed schema versions"));
    assert_non_null(strstr(err.msg, "gguf/Q8_0/evaluation.old.json has schema_version 2"));
}

static void test_tampered_and_superseded(void **state) {
    (void)state;
    const char *dir = make_folder("m6");
    char p[700];
    /* a file whose figures were edited after sealing: skipped, named in the notes */
    snprintf(p, sizeof p, "%s/gguf/Q2_K/evaluation.edited.json", dir);
    json_t *j = fx_eval(&FX_HW_A, &FX_VARS[0], "2026-11-25T00:00:00Z");
    json_object_set_new(json_object_get(j, "model"), "variant", json_string("Q2_K"));
    assert_int_equal(json_dump_file(j, p, 0), 0);
    json_decref(j);
    /* a later run of Q8_0 on machine A copied in: it wins, the earlier one is superseded */
    struct fx_var later = FX_VARS[1];
    later.ppl = 10.04;
    assert_int_equal(fx_write(dir, &FX_HW_A, &later, "evaluation.rerun.json", "2026-11-22T00:00:00Z"), 0);
    struct lpq_grid *g = NULL;
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_grid_load(dir, &g, &err), LPQ_STATUS_OK);
    assert_int_equal(lpq_grid_n_entries(g), 8);
    bool tampered = false, superseded = false;
    for (size_t i = 0; i < lpq_grid_n_warnings(g); i++) {
        tampered |= strstr(lpq_grid_warning(g, i), "evaluation.edited.json skipped: integrity") != NULL;
        superseded |= strstr(lpq_grid_warning(g, i), "superseded by the later gguf/Q8_0/evaluation.rerun.json") != NULL;
    }
    assert_true(tampered);
    assert_true(superseded);
    lpq_grid_free(g);
    assert_int_equal(lpq_report_write(dir, NULL, NULL, &err), LPQ_STATUS_OK);
    char *md = read_text(dir, "EVALUATION_REPORT.md");
    char *l = line_with(md, "## Summary", "| Q8_0 ");
    assert_non_null(strstr(l, "10.040"));
    free(l);
    assert_non_null(strstr(md, "integrity digest does not match"));
    free(md);
}

int main(void) {
    tu_use_cmocka_allocator();   /* leaks in the report code fail the tests */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_renders_aligned_and_identical),
        cmocka_unit_test(test_recommendations),
        cmocka_unit_test(test_missing_gnuplot),
        cmocka_unit_test(test_charts_rendered_when_gnuplot_present),
        cmocka_unit_test(test_no_files),
        cmocka_unit_test(test_mixed_schema),
        cmocka_unit_test(test_tampered_and_superseded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
