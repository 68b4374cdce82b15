/*
 * test_csv.c — results.csv round-trips through libcsv's parser: header, 14 fields on every
 * row, values that match the evaluation files, quoting of a model name with a comma and
 * quotes, and re-writing the parsed fields with csv_fwrite reproduces the file byte for byte.
 * Also checks results.json against the documented schema's required fields.
 */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "eval-fixture.h"
#include "reports/report.h"

#define MAX_ROWS 512
#define N_COLS 14

struct rows {
    char *f[MAX_ROWS][N_COLS + 2];
    int n_fields[MAX_ROWS];
    int n;
};

static void on_field(void *s, size_t len, void *data) {
    struct rows *r = data;
    if (r->n >= MAX_ROWS) return;
    int k = r->n_fields[r->n];
    if (k < N_COLS + 2) r->f[r->n][k] = strndup(s ? s : "", len);
    r->n_fields[r->n]++;
}

static void on_row(int c, void *data) {
    (void)c;
    struct rows *r = data;
    if (r->n < MAX_ROWS) r->n++;
}

static const char *cell(struct rows *r, const char *variant, const char *hw_prefix, const char *metric, int col) {
    for (int i = 1; i < r->n; i++)
        if (!strcmp(r->f[i][1], variant) && !strcmp(r->f[i][6], metric) &&
            (!hw_prefix || !strncmp(r->f[i][3], hw_prefix, strlen(hw_prefix))))
            return r->f[i][col];
    return NULL;
}

static void test_csv_round_trip(void **state) {
    (void)state;
    /* a model name that needs quoting: comma and double quotes */
    const char *dir = tu_tmp("odd,\"quoted\" model");
    fx_mkdirs(dir);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(fx_write(dir, &FX_HW_A, &FX_VARS[i], NULL, "2026-11-20T10:00:00Z"), 0);
        assert_int_equal(fx_write(dir, &FX_HW_B, &FX_VARS[i], "evaluation.beta.json", "2026-11-21T10:00:00Z"), 0);
    }
    struct lpq_grid *g = NULL;
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_grid_load(dir, &g, &err), LPQ_STATUS_OK);
    char path[700];
    snprintf(path, sizeof path, "%s/results.csv", dir);
    assert_int_equal(lpq_grid_write_csv(g, path, &err), LPQ_STATUS_OK);
    snprintf(path + strlen(path) - 3, 5, "json");
    assert_int_equal(lpq_grid_write_json(g, path, &err), LPQ_STATUS_OK);
    lpq_grid_free(g);

    snprintf(path, sizeof path, "%s/results.csv", dir);
    size_t n = 0;
    char *text = tu_read_file(path, &n);
    assert_non_null(text);
    struct csv_parser p;
    assert_int_equal(csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL), 0);
    static struct rows r;
    memset(&r, 0, sizeof r);
    assert_int_equal(csv_parse(&p, text, n, on_field, on_row, &r), n);
    assert_int_equal(csv_fini(&p, on_field, on_row, &r), 0);
    csv_free(&p);

    assert_true(r.n > 60);        /* 8 runs × (size, bpw, ppl, Δ, kld…, accuracy ×4, speed…) */
    static const char *const head[N_COLS] = { "model", "variant", "runtime", "hardware_id", "is_baseline", "metric_set",
                                              "metric", "value", "uncertainty", "ci_low", "ci_high", "n", "unit", "source" };
    for (int c = 0; c < N_COLS; c++) assert_string_equal(r.f[0][c], head[c]);
    for (int i = 0; i < r.n; i++) assert_int_equal(r.n_fields[i], N_COLS);
    assert_string_equal(r.f[1][0], "odd,\"quoted\" model");
    assert_non_null(strstr(text, "\"odd,\"\"quoted\"\" model\""));   /* quoted and doubled by csv_fwrite */

    const char *v = cell(&r, "Q8_0", NULL, "ppl", 7);
    assert_non_null(v);
    assert_true(fabs(atof(v) - 10.05) < 1e-12);
    assert_true(fabs(atof(cell(&r, "Q8_0", NULL, "ppl", 8)) - 0.05) < 1e-12);
    assert_true(fabs(atof(cell(&r, "Q2_K", NULL, "ppl_delta_pct", 7)) - 10.0) < 1e-9);
    double lo, hi;
    fx_wilson(6, 20, &lo, &hi);
    assert_true(fabs(atof(cell(&r, "Q2_K", NULL, "category:math", 7)) - 0.3) < 1e-12);
    assert_true(fabs(atof(cell(&r, "Q2_K", NULL, "category:math", 9)) - lo) < 1e-12);
    assert_true(fabs(atof(cell(&r, "Q2_K", NULL, "category:math", 10)) - hi) < 1e-12);
    assert_true(fabs(atof(cell(&r, "Q2_K", NULL, "benchmark:arc_easy", 7)) - 0.30) < 1e-12);   /* 15 of 50 */
    assert_string_equal(cell(&r, "Q2_K", NULL, "decode_tok_per_s", 12), "tok/s");
    assert_true(fabs(atof(cell(&r, "Q2_K", NULL, "decode_tok_per_s", 7)) - 22.0) < 1e-12);
    assert_string_equal(cell(&r, "F32", NULL, "size_bytes", 4), "1");
    assert_null(cell(&r, "F32", NULL, "mean_kld", 7));   /* the baseline has no KLD row */

    /* write the parsed fields back with csv_fwrite: the same bytes */
    char *back = NULL;
    size_t back_len = 0;
    FILE *f = open_memstream(&back, &back_len);
    assert_non_null(f);
    for (int i = 0; i < r.n; i++)
        for (int c = 0; c < N_COLS; c++) {
            csv_fwrite(f, r.f[i][c], strlen(r.f[i][c]));
            fputc(c + 1 == N_COLS ? '\n' : ',', f);
        }
    fclose(f);
    assert_int_equal(back_len, n);
    assert_memory_equal(back, text, n);
    free(back);
    free(text);
    for (int i = 0; i < r.n; i++)
        for (int c = 0; c < N_COLS + 2 && c < r.n_fields[i]; c++) free(r.f[i][c]);

    /* results.json: the schema's required fields (docs/RESULTS-GRID.md) */
    snprintf(path, sizeof path, "%s/results.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "lpq-results-grid");
    assert_int_equal(json_integer_value(json_object_get(j, "schema_version")), LPQ_REPORT_GRID_SCHEMA);
    assert_string_equal(json_string_value(json_object_get(j, "baseline")), "F32");
    assert_int_equal(json_object_size(json_object_get(j, "hardware")), 2);
    json_t *entries = json_object_get(j, "entries");
    assert_int_equal(json_array_size(entries), 8);
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        static const char *const req[] = { "model", "variant", "runtime", "hardware_id", "source", "is_baseline", "metrics", "suites" };
        for (size_t k = 0; k < sizeof req / sizeof req[0]; k++) assert_non_null(json_object_get(e, req[k]));
        assert_non_null(json_object_get(json_object_get(j, "hardware"), json_string_value(json_object_get(e, "hardware_id"))));
        json_t *ppl = json_object_get(json_object_get(json_object_get(e, "metrics"), "ppl"), "ppl");
        assert_true(json_is_number(json_object_get(ppl, "value")));
        assert_true(json_is_string(json_object_get(ppl, "unit")));
    }
    json_decref(j);
}

int main(void) {
    tu_use_cmocka_allocator();   /* leaks in the report code fail the tests */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
