/*
 * test_real_quick.c — the CI-sized real-model check: `lpq-eval --suite quick` on a two-variant
 * folder (Q8_0 as the baseline, Q4_0) requantized from the cached SmolLM2-135M-Instruct Q4_1, then
 * `lpq-eval report`, and the stored figures must be present and plausible. Sizes are cut (ctx 128,
 * 2 chunks, 4 lpq-140 items, no standard benchmarks) so it stays well under a minute. Skips with a
 * visible message when the model cache or ../shared is absent (same detection as test_real_models).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#define SMOL_FILE "SmolLM2-135M-Instruct.Q4_1.gguf"
#define SMOL_SIZE 98362432LL       /* bytes, as in scripts/test-models.lock */
#define CTX 128                    /* tokens per ppl/kld window */
#define CHUNKS 2
#define N_SCORED (CHUNKS * (CTX - CTX / 2 - 1))   /* positions scored, as llama-perplexity does */
#define ITEM_STRIDE 35             /* every 35th lpq-140 item: 4 items from different categories */

static char g_model[1024], g_items[1024];

static int setup(void **state) {
    (void)state;
    snprintf(g_model, sizeof g_model, "%s", tu_model_cache(SMOL_FILE));
    const char *src = getenv("LPQ_SOURCE_DIR");
    if (src && *src)
        snprintf(g_items, sizeof g_items, "%s/suites/lpq-140.jsonl", src);
    else {
        /* this file's folder (tests/harness) when LPQ_SOURCE_DIR is unset */
        const char *slash = strrchr(__FILE__, '/');
        snprintf(g_items, sizeof g_items, "%.*s/../../suites/lpq-140.jsonl",
                 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    }
    return 0;
}

static void skip_unless_ready(void) {
    struct stat st;
    tu_skip_unless_cached(g_model, SMOL_SIZE);
    if (!tu_have_shared()) {
        print_message("SKIP: ../shared (WikiText-2 test text) not present\n");
        skip();
    }
    if (stat(tu_bin("lpq-eval"), &st) != 0 || stat(tu_bin("lpq-quant"), &st) != 0) {
        print_message("SKIP: lpq-eval / lpq-quant not built (LPQ_BUILD_DIR)\n");
        skip();
    }
    if (stat(g_items, &st) != 0) {
        print_message("SKIP: %s not found (set LPQ_SOURCE_DIR)\n", g_items);
        skip();
    }
}

/* Writes every ITEM_STRIDE-th line of lpq-140.jsonl to PATH; returns the item count. */
static int write_item_subset(const char *path) {
    size_t n = 0;
    char *all = tu_read_file(g_items, &n);
    assert_non_null(all);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    int line = 0, kept = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && all[j] != '\n') j++;
        if (j > i && line++ % ITEM_STRIDE == 0) {
            fwrite(all + i, 1, j - i, f);
            fputc('\n', f);
            kept++;
        }
        i = j + 1;
    }
    fclose(f);
    free(all);
    return kept;
}

static void requantize(const char *dir, const char *type) {
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/gguf/%s' && '%s' quantize '%s' '%s/gguf/%s/model.gguf' %s "
             "--allow-requantize --threads 2", dir, type, tu_bin("lpq-quant"), g_model, dir, type, type);
    int rc = tu_run(cmd, &out);
    if (rc != 0) fail_msg("lpq-quant %s failed (%d): %s", type, rc, out ? out : "");
    free(out);
}

/* The summary object of SUITE in DIR/gguf/VARIANT/evaluation.json (one run); *root owns it. */
static json_t *suite_of(const char *dir, const char *variant, const char *suite, json_t **root) {
    char path[2048];
    snprintf(path, sizeof path, "%s/gguf/%s/evaluation.json", dir, variant);
    json_error_t je;
    *root = json_load_file(path, 0, &je);
    if (!*root) fail_msg("%s: %s", path, je.text);
    json_t *runs = json_object_get(*root, "runs");
    assert_true(json_is_object(runs));
    assert_int_equal(json_object_size(runs), 1);
    const char *key;
    json_t *run, *s = NULL;
    json_object_foreach(runs, key, run) s = json_object_get(json_object_get(run, "suites"), suite);
    if (!s) fail_msg("%s: no '%s' suite", path, suite);
    return s;
}

static double num(json_t *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = o;
    for (char *t = strtok(buf, "."); t && v; t = strtok(NULL, ".")) v = json_object_get(v, t);
    if (!json_is_number(v)) fail_msg("'%s' missing or not a number", path);
    return json_number_value(v);
}

static const char *status_of(json_t *suite) {
    const char *s = json_string_value(json_object_get(suite, "status"));
    return s ? s : "";
}

static void test_quick_suite_on_real_model(void **state) {
    (void)state;
    skip_unless_ready();
    const char *dir = tu_tmp("smollm2");
    const char *items = tu_tmp("items.jsonl");
    int n_items = write_item_subset(items);
    assert_int_equal(n_items, 4);
    requantize(dir, "Q8_0");
    requantize(dir, "Q4_0");

    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "LPQ_ACC_ITEMS='%s' '%s' --suite quick --model-dir '%s' --data-dir '%s' --ctx %d --chunks %d "
             "--benchmarks none --threads 2 --no-progress",
             items, tu_bin("lpq-eval"), dir, tu_shared("data"), CTX, CHUNKS);
    int rc = tu_run(cmd, &out);
    if (rc != 0) fail_msg("lpq-eval --suite quick failed (%d): %s", rc, out ? out : "");
    free(out);
    out = NULL;

    json_t *r8, *r4;
    /* ppl: both variants scored the same positions; a requantized 135M model reads WikiText-2 at
     * a PPL in the tens (23.4 for Q8_0 here); a broken kernel gives hundreds or NaN. */
    json_t *p8 = suite_of(dir, "Q8_0", "ppl", &r8), *p4 = suite_of(dir, "Q4_0", "ppl", &r4);
    assert_string_equal(status_of(p8), "done");
    assert_string_equal(status_of(p4), "done");
    double ppl8 = num(p8, "summary.ppl"), ppl4 = num(p4, "summary.ppl");
    assert_int_equal((int)num(p8, "summary.n_scored"), N_SCORED);
    assert_int_equal((int)num(p4, "summary.n_scored"), N_SCORED);
    assert_true(isfinite(ppl8) && ppl8 > 8.0 && ppl8 < 60.0);
    /* Q4_0 loses information against Q8_0: never much better, and not wildly worse */
    assert_true(ppl4 > ppl8 * 0.97 && ppl4 < ppl8 * 1.6);
    json_decref(r8);
    json_decref(r4);

    /* kld: Q8_0 is the baseline (no F32 here), Q4_0 is compared with it side by side */
    json_t *k8 = suite_of(dir, "Q8_0", "kld", &r8), *k4 = suite_of(dir, "Q4_0", "kld", &r4);
    assert_string_equal(status_of(k8), "skipped");
    assert_string_equal(status_of(k4), "done");
    double kld = num(k4, "summary.kld.mean"), top = num(k4, "summary.same_top.value");
    assert_int_equal((int)num(k4, "summary.n_tokens"), N_SCORED);
    assert_true(kld > 1e-3 && kld < 1.0);
    assert_true(top > 0.5 && top < 1.0);
    assert_true(fabs(num(k4, "summary.ppl_base.value") - ppl8) < 1e-6 * ppl8);
    json_decref(r8);
    json_decref(r4);

    /* speed and accuracy on one variant: present, positive, in range */
    json_t *s4 = suite_of(dir, "Q4_0", "speed", &r4);
    assert_string_equal(status_of(s4), "done");
    assert_true(num(s4, "summary.prefill_tok_per_s.mean") > 0);
    assert_true(num(s4, "summary.decode_tok_per_s.mean") > 0);
    json_decref(r4);
    json_t *a4 = suite_of(dir, "Q4_0", "accuracy", &r4);
    assert_string_equal(status_of(a4), "done");
    assert_int_equal((int)num(a4, "summary.lpq140.accuracy.n"), n_items);
    double acc = num(a4, "summary.lpq140.accuracy.rate");
    assert_true(acc >= 0.0 && acc <= 1.0);
    json_decref(r4);

    /* the report names both variants */
    snprintf(cmd, sizeof cmd, "'%s' report --model-dir '%s'", tu_bin("lpq-eval"), dir);
    rc = tu_run(cmd, &out);
    if (rc != 0) fail_msg("lpq-eval report failed (%d): %s", rc, out ? out : "");
    free(out);
    char path[2048];
    snprintf(path, sizeof path, "%s/EVALUATION_REPORT.md", dir);
    size_t n = 0;
    char *md = tu_read_file(path, &n);
    assert_non_null(md);
    char *txt = realloc(md, n + 1);
    assert_non_null(txt);
    txt[n] = '\0';
    assert_non_null(strstr(txt, "Q8_0"));
    assert_non_null(strstr(txt, "Q4_0"));
    free(txt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quick_suite_on_real_model),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
