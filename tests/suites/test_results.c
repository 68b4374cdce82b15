/*
 * test_results.c — the evaluation.json store: items survive reopening, run keys keep runs
 * apart, --fresh discards, writes are atomic (no temp files left), and a truncated, edited or
 * unparsable file is detected, moved aside and rebuilt, while a newer schema is refused.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "suites/results.h"

static struct lpq_results *open_ok(const char *path, const char *key, bool fresh) {
    struct lpq_results *r = NULL;
    struct lpq_err e;
    assert_int_equal(lpq_results_open(path, key, fresh, &r, &e), LPQ_STATUS_OK);
    return r;
}

static void test_roundtrip(void **state) {
    (void)state;
    const char *p = tu_tmp("rt.json");
    struct lpq_results *r = open_ok(p, "cpu@h", false);
    assert_null(lpq_results_item(r, "ppl", "c0"));
    assert_int_equal(lpq_results_put_item(r, "ppl", "c0", json_pack("{sf}", "sum_nll", 0.1 + 0.2)), LPQ_STATUS_OK);
    assert_int_equal(lpq_results_put_item(r, "ppl", "c1", json_pack("{si}", "n", 7)), LPQ_STATUS_OK);
    json_t *env = json_pack("{ss}", "cpu", "x");
    lpq_results_set_env(r, env);
    json_decref(env);
    lpq_results_free(r);

    r = open_ok(p, "cpu@h", false);
    assert_null(lpq_results_recovered(r));
    json_t *it = lpq_results_item(r, "ppl", "c0");
    assert_non_null(it);
    /* 17 significant digits: doubles come back bit-exact */
    assert_true(json_real_value(json_object_get(it, "sum_nll")) == 0.1 + 0.2);
    assert_int_equal(lpq_results_n_items(r, "ppl"), 2);
    lpq_results_free(r);

    /* another run key sees nothing, but the first run's items stay in the file */
    r = open_ok(p, "cuda@h", false);
    assert_null(lpq_results_item(r, "ppl", "c0"));
    lpq_results_put_summary(r, "ppl", json_pack("{sf}", "ppl", 5.0));
    lpq_results_free(r);
    r = open_ok(p, "cpu@h", false);
    assert_non_null(lpq_results_item(r, "ppl", "c1"));
    lpq_results_free(r);

    /* fresh: this run's items are gone, the other run's summary is kept */
    r = open_ok(p, "cpu@h", true);
    assert_null(lpq_results_item(r, "ppl", "c0"));
    lpq_results_put_status(r, "kld", "skipped", "no baseline");
    json_t *s = lpq_results_suite(r, "kld");
    assert_string_equal(json_string_value(json_object_get(s, "status")), "skipped");
    lpq_results_free(r);
    r = open_ok(p, "cuda@h", false);
    assert_non_null(lpq_results_summary(r, "ppl"));
    lpq_results_free(r);

    /* no temp files left behind */
    DIR *d = opendir(tu_tmpdir());
    struct dirent *e;
    while ((e = readdir(d))) assert_null(strstr(e->d_name, ".tmp-"));
    closedir(d);
}

static void expect_recovery(const char *p, const char *why) {
    struct lpq_results *r = open_ok(p, "cpu@h", false);
    print_message("recovery (%s): %s\n", why, lpq_results_recovered(r) ? lpq_results_recovered(r) : "(none)");
    assert_non_null(lpq_results_recovered(r));
    assert_int_equal(access(lpq_results_recovered(r), F_OK), 0);   /* the bad file is kept aside */
    assert_null(lpq_results_item(r, "ppl", "c0"));                 /* and never trusted */
    assert_int_equal(lpq_results_put_item(r, "ppl", "c0", json_integer(1)), LPQ_STATUS_OK);
    lpq_results_free(r);
    r = open_ok(p, "cpu@h", false);                                 /* the rebuilt file is fine */
    assert_null(lpq_results_recovered(r));
    assert_non_null(lpq_results_item(r, "ppl", "c0"));
    lpq_results_free(r);
}

static void make_file(const char *p) {
    unlink(p);
    struct lpq_results *r = open_ok(p, "cpu@h", false);
    lpq_results_put_item(r, "ppl", "c0", json_pack("{sf}", "sum_nll", 123.456));
    lpq_results_free(r);
}

static void test_corrupt(void **state) {
    (void)state;
    const char *p = tu_tmp("bad.json");
    size_t n;
    char *buf;

    make_file(p);   /* truncated mid-file */
    buf = tu_read_file(p, &n);
    tu_write_file(p, buf, n / 2);
    free(buf);
    expect_recovery(p, "truncated");

    make_file(p);   /* valid JSON, one figure edited: the digest catches it */
    buf = tu_read_file(p, &n);
    char *x = strstr(buf, "123.456");
    assert_non_null(x);
    x[0] = '9';
    tu_write_file(p, buf, n);
    free(buf);
    expect_recovery(p, "edited");

    tu_write_file(p, "", 0);   /* empty */
    expect_recovery(p, "empty");
    tu_write_file(p, "[1,2]", 5);
    expect_recovery(p, "not an object");

    /* a newer schema is refused, not overwritten */
    const char *newer = "{\"schema_version\": 99, \"runs\": {}}";
    tu_write_file(p, newer, strlen(newer));
    struct lpq_results *r = NULL;
    struct lpq_err e;
    assert_int_equal(lpq_results_open(p, "cpu@h", false, &r, &e), LPQ_STATUS_UNSUPPORTED);
    assert_null(r);
    assert_non_null(strstr(e.msg, "newer"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
