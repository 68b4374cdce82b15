/*
 * test_modeldir.c — model folders and the run loop's handling of bad input, with the mock
 * runtime: discovery and manifest, baseline choice and --baseline, missing/empty folders,
 * unreadable GGUF files, a variant no runtime can serve, a runtime failing mid-run, missing
 * datasets and unknown suites — each a clear message, the other variants' results kept, and a
 * non-zero status whenever something failed.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/env.h"
#include "harness/modeldir.h"
#include "harness/run.h"
#include "mock-rt.h"
#include "suites/results.h"

static char g_text[1024];

static const char *mkpath(const char *fmt, const char *a, const char *b) {
    static char buf[4][4096];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, sizeof buf[0], fmt, a, b);
    return p;
}

/* models/<name>/gguf/<V>/m.gguf for each variant; type by name, noise for non-F32 */
static const char *make_dir(const char *name, const char *const *variants, int n, int fail_variant) {
    static char root[4][1024];
    static int slot;
    char *r = root[slot++ % 4];
    snprintf(r, sizeof root[0], "%s", tu_tmp(name));
    mkdir(r, 0755);
    mkdir(mkpath("%s/gguf%s", r, ""), 0755);
    for (int i = 0; i < n; i++) {
        char vd[2048];
        snprintf(vd, sizeof vd, "%s/gguf/%s", r, variants[i]);
        mkdir(vd, 0755);
        enum lpq_type t = LPQ_TYPE_F32;
        lpq_type_from_name(variants[i], &t);
        if (!strcmp(variants[i], "BROKEN")) {
            tu_write_file(mkpath("%s/%s", vd, "m.gguf"), "GGUF not really", 15);
            continue;
        }
        assert_int_equal(mock_write_model(mkpath("%s/%s", vd, "m.gguf"), t, t == LPQ_TYPE_F32 ? 0 : 0.5f,
                                          i == fail_variant ? 2 : -1, 0), 0);
    }
    return r;
}

static void test_discovery(void **state) {
    (void)state;
    const char *vars[] = { "Q4_0", "Q8_0", "F32", "F16" };
    const char *d = make_dir("m1", vars, 4, -1);
    struct lpq_modeldir *md = NULL;
    struct lpq_err e;
    assert_int_equal(lpq_modeldir_open(d, NULL, &md, &e), LPQ_STATUS_OK);
    assert_int_equal(md->n, 4);
    assert_string_equal(md->v[md->baseline].name, "F32");   /* F32 > BF16 > F16 > Q8_0 */
    assert_string_equal(md->v[0].name, "F32");
    assert_string_equal(md->v[1].name, "F16");
    assert_string_equal(md->name, "m1");
    assert_non_null(strstr(md->v[0].results, "/gguf/F32/evaluation.json"));
    lpq_modeldir_free(md);
    assert_int_equal(lpq_modeldir_open(d, "q8_0", &md, &e), LPQ_STATUS_OK);
    assert_string_equal(md->v[md->baseline].name, "Q8_0");
    lpq_modeldir_free(md);
    assert_int_equal(lpq_modeldir_open(d, "Q5_K", &md, &e), LPQ_STATUS_BAD_ARG);
    print_message("bad --baseline: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "Q4_0"));

    /* manifest wins over discovery */
    const char *man = "{\"name\": \"tiny\", \"baseline\": \"F16\", \"variants\": ["
                      "{\"name\": \"F16\", \"file\": \"gguf/F16/m.gguf\"}, {\"name\": \"Q4_0\", \"file\": \"gguf/Q4_0/m.gguf\"}]}";
    tu_write_file(mkpath("%s/%s", d, "manifest.json"), man, strlen(man));
    assert_int_equal(lpq_modeldir_open(d, NULL, &md, &e), LPQ_STATUS_OK);
    assert_int_equal(md->n, 2);
    assert_string_equal(md->name, "tiny");
    assert_string_equal(md->v[md->baseline].name, "F16");
    lpq_modeldir_free(md);
    tu_write_file(mkpath("%s/%s", d, "manifest.json"), "{\"variants\": [{}]}", 17);
    assert_int_equal(lpq_modeldir_open(d, NULL, &md, &e), LPQ_STATUS_BAD_FILE);
    print_message("bad manifest: %s\n", e.msg);
    remove(mkpath("%s/%s", d, "manifest.json"));

    /* missing, empty, not a folder */
    assert_int_equal(lpq_modeldir_open(tu_tmp("nope"), NULL, &md, &e), LPQ_STATUS_NOT_FOUND);
    print_message("missing: %s\n", e.msg);
    mkdir(tu_tmp("empty"), 0755);
    assert_int_equal(lpq_modeldir_open(tu_tmp("empty"), NULL, &md, &e), LPQ_STATUS_NOT_FOUND);
    print_message("empty: %s\n", e.msg);
    mkdir(tu_tmp("empty2"), 0755);
    mkdir(tu_tmp("empty2/gguf"), 0755);
    assert_int_equal(lpq_modeldir_open(tu_tmp("empty2"), NULL, &md, &e), LPQ_STATUS_NOT_FOUND);
    assert_non_null(strstr(e.msg, "no variants"));

    /* single file */
    assert_int_equal(lpq_modeldir_single(mkpath("%s/gguf/%s", d, "Q8_0/m.gguf"), &md, &e), LPQ_STATUS_OK);
    assert_int_equal(md->n, 1);
    assert_non_null(strstr(md->v[0].results, "Q8_0/m.evaluation.json"));
    lpq_modeldir_free(md);
    assert_int_equal(lpq_variant_rank("model-BF16"), 1);
    assert_int_equal(lpq_variant_rank("Q8_0"), 3);
    assert_int_equal(lpq_variant_rank("Q4_K_M"), 100);
}

static struct lpq_run_params params(const char *dir, const char *suites) {
    struct lpq_run_params p = lpq_run_params_default();
    p.model_dir = dir;
    p.suites = suites;
    p.runtimes = "mock";
    p.extra_runtimes = mock_regs;
    p.opts.dataset = g_text;
    p.opts.n_ctx = 32;
    p.opts.n_chunks = 3;
    p.rt.n_ctx = 64;
    return p;
}

static json_t *suite_of(const char *dir, const char *variant, const char *suite) {
    json_error_t je;
    json_t *root = json_load_file(mkpath("%s/gguf/%s/evaluation.json", dir, variant), 0, &je);
    if (!root) return NULL;
    const char *k;
    json_t *run, *out = NULL;
    json_object_foreach(json_object_get(root, "runs"), k, run) {
        if (!strncmp(k, "mock@", 5)) out = json_deep_copy(json_object_get(json_object_get(run, "suites"), suite));
    }
    json_decref(root);
    return out;
}

static const char *status_of(json_t *s) { return json_string_value(json_object_get(s, "status")); }

static void test_run_bad_input(void **state) {
    (void)state;
    char text[2000];
    for (size_t i = 0; i < sizeof text; i++) text[i] = (char)('a' + i % 23);
    snprintf(g_text, sizeof g_text, "%s", tu_tmp("text.txt"));
    tu_write_file(g_text, text, sizeof text);
    struct lpq_err e;
    FILE *out = fopen(tu_tmp("out.txt"), "w+");

    /* F32 (baseline), Q8_0 fails after 2 eval calls, Q4_0 no runtime can serve, BROKEN unreadable */
    const char *vars[] = { "F32", "Q8_0", "Q4_0", "BROKEN" };
    const char *d = make_dir("m2", vars, 4, 1);
    struct lpq_run_params p = params(d, "ppl,kld");
    p.out = out;
    enum lpq_status st = lpq_run(&p, &e);
    print_message("run status %s: %s\n", lpq_status_name(st), e.msg);
    assert_int_equal(st, LPQ_STATUS_RUNTIME);
    assert_non_null(strstr(e.msg, "2 of 4"));
    json_t *s;
    s = suite_of(d, "F32", "ppl");
    assert_string_equal(status_of(s), "done");           /* the good variant's results are kept */
    json_decref(s);
    s = suite_of(d, "F32", "kld");
    assert_string_equal(status_of(s), "skipped");        /* the baseline is not compared with itself */
    json_decref(s);
    s = suite_of(d, "Q8_0", "ppl");
    assert_string_equal(status_of(s), "failed");
    assert_non_null(strstr(json_string_value(json_object_get(s, "reason")), "device lost"));
    assert_true(json_object_size(json_object_get(s, "items")) == 2);   /* items before the failure are kept */
    json_decref(s);
    s = suite_of(d, "Q4_0", "ppl");
    assert_string_equal(status_of(s), "skipped");
    print_message("Q4_0: %s\n", json_string_value(json_object_get(s, "reason")));
    assert_non_null(strstr(json_string_value(json_object_get(s, "reason")), "Q4_0"));
    json_decref(s);
    s = suite_of(d, "BROKEN", "ppl");
    assert_string_equal(status_of(s), "failed");
    json_decref(s);
    /* every line of output names the variant; print them */
    rewind(out);
    char line[1024];
    while (fgets(line, sizeof line, out)) print_message("  | %s", line);
    fclose(out);

    /* evaluation.json carries the fingerprint */
    json_error_t je;
    json_t *root = json_load_file(mkpath("%s/gguf/%s/evaluation.json", d, "F32"), 0, &je);
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "schema_version")), LPQ_RESULTS_SCHEMA_VERSION);
    assert_int_equal(strlen(json_string_value(json_object_get(json_object_get(root, "model"), "sha256"))), 64);
    const char *k;
    json_t *run;
    json_object_foreach(json_object_get(root, "runs"), k, run) {
        json_t *env = json_object_get(run, "env");
        assert_non_null(json_object_get(json_object_get(env, "cpu"), "model"));
        assert_non_null(json_object_get(json_object_get(env, "build"), "lpq_commit"));
        assert_non_null(json_object_get(json_object_get(env, "libraries"), "jansson"));
        assert_string_equal(json_string_value(json_object_get(json_object_get(env, "runtime"), "name")), "mock");
        assert_non_null(json_object_get(env, "timestamp_utc"));
    }
    json_decref(root);

    /* jobs that cannot start: one-line message, no partial work */
    p = params(tu_tmp("missing"), "ppl");
    p.out = fopen("/dev/null", "w");
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_NOT_FOUND);
    print_message("missing dir: %s\n", e.msg);
    assert_null(strchr(e.msg, '\n'));
    mkdir(tu_tmp("empty3"), 0755);
    p.model_dir = tu_tmp("empty3");
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_NOT_FOUND);
    const char *ok[] = { "F32" };
    p.model_dir = make_dir("m3", ok, 1, -1);
    p.suites = "ppl,bogus";
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_BAD_ARG);
    print_message("bad suite: %s\n", e.msg);
    p.suites = "ppl";
    p.runtimes = "nosuch";
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_UNSUPPORTED);
    print_message("bad runtime: %s\n", e.msg);
    /* a missing dataset fails the suite with the message saying where to put it */
    p.runtimes = "mock";
    p.opts.dataset = "wikitext2-test";
    p.opts.data_dir = tu_tmp("no-data");
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_NOT_FOUND);
    print_message("missing dataset: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "wikitext2_test.nonblank_crlf.raw"));
    /* a wrong copy: expected and actual digests */
    mkdir(tu_tmp("bad-data"), 0755);
    tu_write_file(mkpath("%s/%s", tu_tmp("bad-data"), "wikitext2_test.nonblank_crlf.raw"), "x", 1);
    p.opts.data_dir = tu_tmp("bad-data");
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_BAD_FILE);
    print_message("wrong dataset: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "expected 4f3e427e"));
    fclose(p.out);
}

static void test_env(void **state) {
    (void)state;
    json_t *h = lpq_env_host();
    assert_true(json_integer_value(json_object_get(json_object_get(h, "cpu"), "cores_online")) >= 1);
    assert_true(json_integer_value(json_object_get(h, "memory_bytes")) > 0);
    assert_non_null(json_string_value(json_object_get(h, "os")));
    char *s = json_dumps(h, JSON_COMPACT);
    print_message("host: %.300s\n", s);
    free(s);
    json_decref(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_run_bad_input),
        cmocka_unit_test(test_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
