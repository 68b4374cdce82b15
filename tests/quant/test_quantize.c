/*
 * test_quantize.c — the search quantizer (weighted error vs the reference codecs, importance,
 * NMSE vs llama.cpp's files on the fixture), the file pipeline (every type and mix on the
 * fixture and stories260K: planned types, metadata kept) and the CLI's bad-input handling.
 */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "quant/gguf.h"
#include "quant/quantize.h"

static const uint32_t all_types[] = {
    LPQ_TYPE_Q8_0, LPQ_TYPE_Q4_0, LPQ_TYPE_Q4_1, LPQ_TYPE_Q5_0, LPQ_TYPE_Q5_1, LPQ_TYPE_Q2_K,
    LPQ_TYPE_Q3_K, LPQ_TYPE_Q4_K, LPQ_TYPE_Q5_K, LPQ_TYPE_Q6_K, LPQ_TYPE_IQ4_NL, LPQ_TYPE_IQ4_XS,
};

static bool is_k(uint32_t t) { return t >= LPQ_TYPE_Q2_K && t <= LPQ_TYPE_Q6_K; }

/* Deterministic gaussian data with outliers (every 97th value ×25) and a few zero blocks. */
static void make_data(float *x, int64_t n, uint64_t seed) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i += 2) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u1 = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u2 = (double)(s >> 11) / 9007199254740992.0;
        double r = sqrt(-2 * log(u1));
        x[i] = (float)(0.02 * r * cos(6.283185307179586 * u2));
        if (i + 1 < n) x[i + 1] = (float)(0.02 * r * sin(6.283185307179586 * u2));
    }
    for (int64_t i = 13; i < n; i += 97) x[i] *= 25.0f;
    for (int64_t i = 512; i < 544 && i < n; i++) x[i] = 0;
}

#define NROW 16
#define NCOL 1024

/* Search quantizer vs the reference from_float: weighted error with the search's own weights
 * must be no worse for every type and strictly better for the K-quants. */
static void test_search_beats_reference(void **state) {
    (void)state;
    float *x = malloc(sizeof(float) * NROW * NCOL), *y = malloc(sizeof(float) * NCOL), *w = malloc(sizeof(float) * NCOL);
    uint8_t *q = malloc(NCOL * 4);
    make_data(x, NROW * NCOL, 7);
    for (size_t t = 0; t < LPQ_ARRAY_SIZE(all_types); t++) {
        const struct lpq_type_traits *tr = lpq_type_traits(all_types[t]);
        assert_non_null(tr);
        assert_true(lpq_quant_type_encodable(all_types[t]));
        double es = 0, er = 0, sx = 0, e_plain = 0;
        for (int r = 0; r < NROW; r++) {
            const float *xr = x + r * NCOL;
            lpq_quant_row_weights(xr, NCOL, NULL, w);
            assert_int_equal(lpq_quant_row_encode(all_types[t], xr, q, NCOL, NULL), LPQ_STATUS_OK);
            tr->to_float(q, y, NCOL);
            double s2;
            es += lpq_quant_weighted_err(xr, y, w, NCOL, &s2);
            e_plain += lpq_quant_weighted_err(xr, y, NULL, NCOL, NULL);
            sx += s2;
            for (int i = 0; i < NCOL; i++) assert_true(isfinite(y[i]));
            /* the zero block decodes to zeros */
            if (r == 0) for (int i = 512; i < 544; i++) assert_true(y[i] == 0.0f);
            assert_true(tr->from_float(xr, q, NCOL, NULL));
            tr->to_float(q, y, NCOL);
            er += lpq_quant_weighted_err(xr, y, w, NCOL, NULL);
        }
        double sxx = 0;
        for (int i = 0; i < NROW * NCOL; i++) sxx += (double)x[i] * x[i];
        print_message("  %-7s weighted NMSE search %.5g  reference %.5g  (%+.2f%%); plain NMSE %.4g\n", tr->name,
                      es / sx, er / sx, 100.0 * (es - er) / er, e_plain / sxx);
        assert_true(es <= er * (1 + 1e-6));
        if (is_k(all_types[t])) assert_true(es < er);
        /* valid blocks: plain error in the range the type can reach */
        double bound = all_types[t] == LPQ_TYPE_Q2_K ? 0.5 : all_types[t] == LPQ_TYPE_Q8_0 ? 1e-3 : 0.2;
        assert_true(e_plain / sxx < bound);
    }
    free(x); free(y); free(w); free(q);
}

/* A non-uniform importance lowers the importance-weighted error. */
static void test_importance_helps(void **state) {
    (void)state;
    float *x = malloc(sizeof(float) * NCOL), *imp = malloc(sizeof(float) * NCOL);
    float *y = malloc(sizeof(float) * NCOL), *w = malloc(sizeof(float) * NCOL);
    uint8_t *q = malloc(NCOL * 4);
    make_data(x, NCOL, 11);
    for (int i = 0; i < NCOL; i++) imp[i] = (i % 5 == 0) ? 50.0f : (i % 3 == 0 ? 0.01f : 1.0f);
    lpq_quant_row_weights(x, NCOL, imp, w);
    for (size_t t = 0; t < LPQ_ARRAY_SIZE(all_types); t++) {
        const struct lpq_type_traits *tr = lpq_type_traits(all_types[t]);
        assert_int_equal(lpq_quant_row_encode(all_types[t], x, q, NCOL, imp), LPQ_STATUS_OK);
        tr->to_float(q, y, NCOL);
        double ew = lpq_quant_weighted_err(x, y, w, NCOL, NULL);
        assert_int_equal(lpq_quant_row_encode(all_types[t], x, q, NCOL, NULL), LPQ_STATUS_OK);
        tr->to_float(q, y, NCOL);
        double eu = lpq_quant_weighted_err(x, y, w, NCOL, NULL);
        print_message("  %-7s importance-weighted error with imatrix %.4g, without %.4g\n", tr->name, ew, eu);
        assert_true(ew < eu);
    }
    free(x); free(imp); free(y); free(w); free(q);
}

static void test_encode_bad_args(void **state) {
    (void)state;
    float x[256];
    uint8_t q[1024];
    make_data(x, 256, 3);
    assert_int_equal(lpq_quant_row_encode(LPQ_TYPE_Q4_K, x, q, 255, NULL), LPQ_STATUS_BAD_ARG);
    assert_int_equal(lpq_quant_row_encode(LPQ_TYPE_Q4_0, x, q, 48, NULL), LPQ_STATUS_BAD_ARG);
    assert_int_equal(lpq_quant_row_encode(LPQ_TYPE_IQ2_XXS, x, q, 256, NULL), LPQ_STATUS_UNSUPPORTED);
    assert_false(lpq_quant_type_encodable(LPQ_TYPE_IQ2_XXS));
    x[100] = NAN;
    assert_int_equal(lpq_quant_row_encode(LPQ_TYPE_Q8_0, x, q, 256, NULL), LPQ_STATUS_BAD_ARG);
    x[100] = INFINITY;
    assert_int_equal(lpq_quant_row_encode(LPQ_TYPE_Q6_K, x, q, 256, NULL), LPQ_STATUS_BAD_ARG);
}

/* Threads change nothing: rows are independent. */
static void test_rows_threads_identical(void **state) {
    (void)state;
    int64_t nr = 37, n = 512;
    float *x = malloc(sizeof(float) * (size_t)(nr * n));
    make_data(x, nr * n, 5);
    size_t rs = lpq_type_row_size(LPQ_TYPE_Q4_K, n);
    uint8_t *a = malloc(rs * (size_t)nr), *b = malloc(rs * (size_t)nr);
    assert_int_equal(lpq_quant_rows(LPQ_TYPE_Q4_K, x, a, nr, n, NULL, 1), LPQ_STATUS_OK);
    assert_int_equal(lpq_quant_rows(LPQ_TYPE_Q4_K, x, b, nr, n, NULL, 3), LPQ_STATUS_OK);
    assert_memory_equal(a, b, rs * (size_t)nr);
    free(x); free(a); free(b);
}

/* NMSE on the fixture's ffn_up with no imatrix is at or below llama.cpp's (fixture README). */
static void test_fixture_nmse_vs_llama(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    static const struct { uint32_t t; double llama; } ref[] = {
        { LPQ_TYPE_Q8_0, 3.245e-05 }, { LPQ_TYPE_Q4_0, 0.007914 }, { LPQ_TYPE_Q4_1, 0.006238 },
        { LPQ_TYPE_Q5_0, 0.0021 },    { LPQ_TYPE_Q5_1, 0.001472 }, { LPQ_TYPE_Q2_K, 0.08589 },
        { LPQ_TYPE_Q3_K, 0.02255 },   { LPQ_TYPE_Q4_K, 0.005239 }, { LPQ_TYPE_Q5_K, 0.001349 },
        { LPQ_TYPE_Q6_K, 0.0003426 }, { LPQ_TYPE_IQ4_NL, 0.006139 }, { LPQ_TYPE_IQ4_XS, 0.00624 },
    };
    struct lpq_gguf *g = NULL;
    assert_int_equal(lpq_gguf_open(tu_shared("ref/quant/fixture-f32.gguf"), NULL, &g, NULL), LPQ_STATUS_OK);
    const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.0.ffn_up.weight"));
    assert_non_null(t);
    int64_t n = t->ne[0], nr = t->ne[1];
    float *y = malloc(sizeof(float) * (size_t)n);
    uint8_t *q = malloc((size_t)n * 4);
    for (size_t k = 0; k < LPQ_ARRAY_SIZE(ref); k++) {
        const struct lpq_type_traits *tr = lpq_type_traits(ref[k].t);
        double se = 0, sx = 0;
        for (int64_t r = 0; r < nr; r++) {
            const float *x = (const float *)t->data + r * n;
            assert_int_equal(lpq_quant_row_encode(ref[k].t, x, q, n, NULL), LPQ_STATUS_OK);
            tr->to_float(q, y, n);
            double s2;
            se += lpq_quant_weighted_err(x, y, NULL, n, &s2);
            sx += s2;
        }
        print_message("  %-7s ffn_up NMSE lpq %.5g  llama.cpp %.5g\n", tr->name, se / sx, ref[k].llama);
        assert_true(se / sx <= ref[k].llama);
    }
    free(y); free(q);
    lpq_gguf_close(g);
}

/* ---- the file pipeline ---------------------------------------------------------------------- */

static const char *all_ftypes[] = { "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K",
                                    "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M",
                                    "Q6_K", "IQ4_NL", "IQ4_XS" };

static void check_same_kv(struct lpq_gguf *a, struct lpq_gguf *b) {
    for (int64_t i = 0; i < lpq_gguf_n_kv(a); i++) {
        const char *k = lpq_gguf_kv_key(a, i);
        if (!strcmp(k, "general.file_type") || !strcmp(k, "general.quantization_version")) continue;
        int64_t j = lpq_gguf_find_key(b, k);
        assert_true(j >= 0);
        assert_int_equal(lpq_gguf_kv_type(a, i), lpq_gguf_kv_type(b, j));
        assert_int_equal(lpq_gguf_kv_arr_n(a, i), lpq_gguf_kv_arr_n(b, j));
        if (lpq_gguf_kv_type(a, i) == LPQ_GGUF_STRING) {
            size_t la, lb;
            const char *sa = lpq_gguf_kv_str(a, i, 0, &la), *sb = lpq_gguf_kv_str(b, j, 0, &lb);
            assert_int_equal(la, lb);
            assert_memory_equal(sa, sb, la);
        }
    }
}

static void quantize_all(const char *src) {
    for (size_t k = 0; k < LPQ_ARRAY_SIZE(all_ftypes); k++) {
        const struct lpq_ftype *ft = lpq_ftype_find(all_ftypes[k]);
        assert_non_null(ft);
        struct lpq_quantize_params p = lpq_quantize_params_default(ft);
        p.n_threads = 2;
        struct lpq_err err;
        lpq_err_clear(&err);
        const char *out = tu_tmp("q.gguf");
        struct lpq_quantize_stats st;
        enum lpq_status s = lpq_quantize_file(src, out, &p, &st, &err);
        if (s) print_message("%s\n", err.msg);
        assert_int_equal(s, LPQ_STATUS_OK);
        struct lpq_gguf *gi = NULL, *go = NULL;
        struct lpq_plan *plan = NULL;
        assert_int_equal(lpq_gguf_open(src, NULL, &gi, NULL), LPQ_STATUS_OK);
        assert_int_equal(lpq_gguf_open(out, NULL, &go, &err), LPQ_STATUS_OK);
        assert_int_equal(lpq_plan_build_gguf(gi, &p.plan, &plan, NULL), LPQ_STATUS_OK);
        assert_int_equal(lpq_gguf_n_tensors(go), (int64_t)plan->n_entries);
        for (size_t i = 0; i < plan->n_entries; i++) {
            const struct lpq_gguf_tensor *t = lpq_gguf_tensor(go, (int64_t)i);
            assert_string_equal(t->name, plan->entries[i].name);
            assert_int_equal(t->type, plan->entries[i].type);
            /* decodes, close to the source */
            const struct lpq_gguf_tensor *ti = lpq_gguf_tensor(gi, lpq_gguf_find_tensor(gi, t->name));
            float *a = malloc(sizeof(float) * (size_t)t->ne[0]), *b = malloc(sizeof(float) * (size_t)t->ne[0]);
            assert_int_equal(lpq_quant_row_to_float(t->type, t->data, a, t->ne[0]), LPQ_STATUS_OK);
            assert_int_equal(lpq_quant_row_to_float(ti->type, ti->data, b, t->ne[0]), LPQ_STATUS_OK);
            double se = 0, sx = 0;
            for (int64_t c = 0; c < t->ne[0]; c++) { se += (a[c] - b[c]) * (double)(a[c] - b[c]); sx += (double)b[c] * b[c]; }
            if (sx > 0) assert_true(se / sx < 0.25);
            free(a); free(b);
        }
        uint32_t ftv = 0, qv = 0;
        assert_int_equal(lpq_gguf_get_u32(go, "general.file_type", &ftv), LPQ_STATUS_OK);
        assert_int_equal(ftv, (uint32_t)ft->llama_ftype);
        assert_int_equal(lpq_gguf_get_u32(go, "general.quantization_version", &qv), LPQ_STATUS_OK);
        assert_int_equal(qv, 2);
        check_same_kv(gi, go);
        lpq_plan_free(plan);
        lpq_gguf_close(gi);
        lpq_gguf_close(go);
    }
}

static void test_pipeline_fixture_all_types(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    quantize_all(tu_shared("ref/quant/fixture-f32.gguf"));
}

static void test_pipeline_stories_all_types(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    quantize_all(tu_shared("models/stories260K.gguf"));
}

/* ---- the CLI: bad input ---------------------------------------------------------------------- */

static int n_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static int dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void test_cli_bad_input(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    const char *bin = tu_bin("lpq-quant");
    struct stat sb;
    assert_int_equal(stat(bin, &sb), 0);   /* lpq-quant must be built */
    char cmd[4096], *out = NULL;
    const char *fix = tu_shared("ref/quant/fixture-f32.gguf");

    /* unknown type */
    snprintf(cmd, sizeof(cmd), "%s quantize %s %s Q9_Z", bin, fix, tu_tmp("x.gguf"));
    assert_int_not_equal(tu_run(cmd, &out), 0);
    assert_int_equal(n_lines(out), 1);
    assert_non_null(strstr(out, "unknown type"));
    free(out);

    /* quantized input without --allow-requantize; then with it */
    snprintf(cmd, sizeof(cmd), "%s quantize %s %s Q8_0", bin, tu_shared("ref/quant/q-Q4_0.gguf"), tu_tmp("x.gguf"));
    assert_int_not_equal(tu_run(cmd, &out), 0);
    assert_int_equal(n_lines(out), 1);
    assert_non_null(strstr(out, "--allow-requantize"));
    free(out);
    assert_int_not_equal(stat(tu_tmp("x.gguf"), &sb), 0);
    snprintf(cmd, sizeof(cmd), "%s quantize %s %s Q8_0 --allow-requantize", bin, tu_shared("ref/quant/q-Q4_0.gguf"), tu_tmp("x.gguf"));
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "requantiz"));
    free(out);

    /* truncated input */
    size_t n = 0;
    void *buf = tu_read_file(fix, &n);
    assert_non_null(buf);
    assert_int_equal(tu_write_file(tu_tmp("trunc.gguf"), buf, n / 2), 0);
    free(buf);
    snprintf(cmd, sizeof(cmd), "%s quantize %s %s Q4_K_M", bin, tu_tmp("trunc.gguf"), tu_tmp("y.gguf"));
    assert_int_not_equal(tu_run(cmd, &out), 0);
    assert_int_equal(n_lines(out), 1);
    free(out);
    assert_int_not_equal(stat(tu_tmp("y.gguf"), &sb), 0);

    /* output path that cannot be written */
    snprintf(cmd, sizeof(cmd), "%s quantize %s /nonexistent-dir/out.gguf Q4_0", bin, fix);
    assert_int_not_equal(tu_run(cmd, &out), 0);
    assert_int_equal(n_lines(out), 1);
    free(out);

    /* a failure mid-way (NaN in the second tensor) leaves an existing output untouched and
     * no temporary file behind */
    const char *dir = tu_tmp("keep");
    mkdir(dir, 0755);
    char in_nan[1024], keep[1024];
    snprintf(in_nan, sizeof(in_nan), "%s/nan.gguf", dir);
    snprintf(keep, sizeof(keep), "%s/out.gguf", dir);
    {
        struct lpq_gguf_writer *w = NULL;
        assert_int_equal(lpq_gguf_writer_create(in_nan, &w, NULL), LPQ_STATUS_OK);
        lpq_gguf_writer_set_str(w, "general.architecture", "llama");
        int64_t ne[2] = { 256, 8 };
        assert_int_equal(lpq_gguf_writer_add_tensor(w, "a.weight", LPQ_TYPE_F32, 2, ne), LPQ_STATUS_OK);
        assert_int_equal(lpq_gguf_writer_add_tensor(w, "b.weight", LPQ_TYPE_F32, 2, ne), LPQ_STATUS_OK);
        float *d = calloc(256 * 8, sizeof(float));
        make_data(d, 256 * 8, 1);
        assert_int_equal(lpq_gguf_writer_write_tensor(w, d, 256 * 8 * 4), LPQ_STATUS_OK);
        d[700] = NAN;
        assert_int_equal(lpq_gguf_writer_write_tensor(w, d, 256 * 8 * 4), LPQ_STATUS_OK);
        assert_int_equal(lpq_gguf_writer_finish(w), LPQ_STATUS_OK);
        lpq_gguf_writer_free(w);
        free(d);
    }
    assert_int_equal(tu_write_file(keep, "hello", 5), 0);
    snprintf(cmd, sizeof(cmd), "%s quantize %s %s Q4_K_M", bin, in_nan, keep);
    assert_int_not_equal(tu_run(cmd, &out), 0);
    assert_int_equal(n_lines(out), 1);
    assert_non_null(strstr(out, "NaN"));
    free(out);
    size_t kn = 0;
    char *kb = tu_read_file(keep, &kn);
    assert_int_equal(kn, 5);
    assert_memory_equal(kb, "hello", 5);
    free(kb);
    assert_int_equal(dir_entries(dir), 2);   /* nan.gguf and out.gguf only */

    /* --dry-run prints the plan and writes nothing */
    snprintf(cmd, sizeof(cmd), "%s quantize %s %s Q4_K_M --dry-run", bin, fix, tu_tmp("dry.gguf"));
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "bits per weight"));
    assert_non_null(strstr(out, "blk.0.attn_v.weight"));
    free(out);
    assert_int_not_equal(stat(tu_tmp("dry.gguf"), &sb), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_beats_reference),
        cmocka_unit_test(test_importance_helps),
        cmocka_unit_test(test_encode_bad_args),
        cmocka_unit_test(test_rows_threads_identical),
        cmocka_unit_test(test_fixture_nmse_vs_llama),
        cmocka_unit_test(test_pipeline_fixture_all_types),
        cmocka_unit_test(test_pipeline_stories_all_types),
        cmocka_unit_test(test_cli_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
