/*
 * test_eval_cpu.c — the main job end to end on lpq's CPU engine: a model folder holding
 * stories260K (F32, the baseline) and Q8_0 / Q4_0 versions made with lpq's quantizer, evaluated
 * with ppl and kld (side by side, then through a top-K base file) on TinyStories. Checks the
 * ordering quantization must produce and that top-K KLD stays a close lower bound on real logits.
 * Skips with a message when the CPU engine or the shared fixtures are unavailable.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/run.h"
#include "quant/quantize.h"

static json_t *summary(const char *dir, const char *variant, const char *suite) {
    char p[2048];
    snprintf(p, sizeof p, "%s/gguf/%s/evaluation.json", dir, variant);
    json_error_t je;
    json_t *root = json_load_file(p, 0, &je), *out = NULL;
    const char *k;
    json_t *run;
    json_object_foreach(json_object_get(root, "runs"), k, run) {
        if (!strncmp(k, "cpu@", 4))
            out = json_deep_copy(json_object_get(json_object_get(json_object_get(run, "suites"), suite), "summary"));
    }
    json_decref(root);
    return out;
}

static double num(json_t *o, const char *a, const char *b) {
    json_t *x = json_object_get(o, a);
    return json_number_value(b ? json_object_get(x, b) : x);
}

static void test_stories_folder(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    const struct lpq_rt_reg *cpu = NULL;
    struct lpq_err e;
    if (lpq_rt_find("cpu", &cpu, &e) != LPQ_STATUS_OK) {
        print_message("SKIP: %s\n", e.msg);
        skip();
    }
    char dir[1024], p[2048], base[2048];
    snprintf(dir, sizeof dir, "%s", tu_tmp("stories"));
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/gguf", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/gguf/F32", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/gguf/F32/stories260K.gguf", dir);
    assert_int_equal(symlink(tu_shared("models/stories260K.gguf"), p), 0);
    const char *types[2] = { "Q8_0", "Q4_0" };
    for (int i = 0; i < 2; i++) {
        char out[2048];
        snprintf(out, sizeof out, "%s/gguf/%s", dir, types[i]);
        mkdir(out, 0755);
        snprintf(out, sizeof out, "%s/gguf/%s/stories260K-%s.gguf", dir, types[i], types[i]);
        struct lpq_quantize_params qp = lpq_quantize_params_default(lpq_ftype_find(types[i]));
        qp.n_threads = 1;
        if (lpq_quantize_file(tu_shared("models/stories260K.gguf"), out, &qp, NULL, &e) != LPQ_STATUS_OK) {
            print_message("SKIP: cannot quantize stories260K to %s: %s\n", types[i], e.msg);
            skip();
        }
    }
    FILE *out = fopen(tu_tmp("out.txt"), "w+");
    struct lpq_run_params rp = lpq_run_params_default();
    rp.model_dir = dir;
    rp.suites = "ppl,kld";
    rp.runtimes = "cpu";
    rp.opts.dataset = "tinystories-valid-30k";
    rp.opts.data_dir = tu_shared("data");
    rp.opts.n_ctx = 128;
    rp.opts.n_chunks = 16;
    rp.rt.n_threads = 1;
    rp.out = out;
    enum lpq_status st = lpq_run(&rp, &e);
    rewind(out);
    char line[2048];
    while (fgets(line, sizeof line, out)) print_message("  | %s", line);
    fclose(out);
    assert_int_equal(st, LPQ_STATUS_OK);
    json_t *f = summary(dir, "F32", "ppl"), *k8 = summary(dir, "Q8_0", "kld"), *k4 = summary(dir, "Q4_0", "kld");
    assert_non_null(f);
    assert_non_null(k8);
    assert_non_null(k4);
    /* quantization costs more the fewer the bits, and Q8_0 is close to lossless */
    assert_true(num(k8, "kld", "mean") > 0 && num(k8, "kld", "mean") < num(k4, "kld", "mean"));
    assert_true(num(k8, "same_top", "value") >= num(k4, "same_top", "value"));
    assert_true(num(k8, "kld", "mean") < 0.01);
    /* kld's PPL(base) is the baseline's ppl over the same tokens */
    assert_float_equal(num(k8, "ppl_base", "value") / num(f, "ppl", NULL), 1, 1e-5);

    /* top-K base file from the baseline, then Q4_0 against it */
    snprintf(base, sizeof base, "%s/base-k32.bin", dir);
    rp.opts.kld_base = base;
    rp.opts.kld_write = true;
    rp.suites = "kld";
    rp.out = fopen("/dev/null", "w");
    assert_int_equal(lpq_run(&rp, &e), LPQ_STATUS_OK);
    fclose(rp.out);
    json_t *t4 = summary(dir, "Q4_0", "kld"), *w = summary(dir, "F32", "kld");
    print_message("stories260K Q4_0 vs F32, 16 chunks × 63 tokens: KLD side by side %.6f, top-32 %.6f (%.3f %% low); "
                  "same top %.4f vs %.4f; base file %lld bytes (%g B/token)\n",
                  num(k4, "kld", "mean"), num(t4, "kld", "mean"), 100 * (1 - num(t4, "kld", "mean") / num(k4, "kld", "mean")),
                  num(k4, "same_top", "value"), num(t4, "same_top", "value"), (long long)num(w, "bytes", NULL),
                  num(w, "bytes_per_token", NULL));
    assert_string_equal(json_string_value(json_object_get(t4, "mode")), "top-k");
    assert_true(num(t4, "kld", "mean") <= num(k4, "kld", "mean") * (1 + 1e-5));
    assert_true(num(t4, "kld", "mean") >= num(k4, "kld", "mean") * 0.9);
    assert_float_equal(num(t4, "same_top", "value"), num(k4, "same_top", "value"), 1e-12);
    assert_float_equal(num(t4, "ppl_q", "value") / num(k4, "ppl_q", "value"), 1, 1e-9);
    json_decref(f); json_decref(k8); json_decref(k4); json_decref(t4); json_decref(w);
}

int main(void) {
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_stories_folder) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
