/*
 * test_cli_run.c — `lpq-eval run`, `logits` and `compare` end to end on stories260K: the
 * greedy text must equal llama.cpp's (../shared/ref/stories260K/greedy.txt), the logits must
 * match logits-T1.gguf at NMSE <= 1e-10, and usage / runtime errors give the documented exit
 * codes and one-line messages. Skips (saying why) when the CPU runtime cannot run the model.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

static char g_model[1024], g_ref_logits[1024];

/* Runs `lpq-eval ARGS` with stdout and stderr captured separately. */
static int eval_cmd(const char *args, char **out, char **err) {
    char cmd[4096];
    const char *errf = tu_tmp("stderr.txt");
    snprintf(cmd, sizeof(cmd), "'%s' %s 2>'%s'", tu_bin("lpq-eval"), args, errf);
    int rc = tu_run(cmd, out);
    if (err) {
        size_t n = 0;
        char *e = tu_read_file(errf, &n);
        *err = e ? realloc(e, n + 1) : calloc(1, 1);
        assert_non_null(*err);
        (*err)[e ? n : 0] = '\0';
    }
    return rc;
}

/* The TEXT line of greedy.txt, JSON-unescaped. */
static char *greedy_text(void) {
    size_t n;
    char *f = tu_read_file(tu_shared("ref/stories260K/greedy.txt"), &n);
    assert_non_null(f);
    char *buf = realloc(f, n + 1);
    buf[n] = '\0';
    char *p = strstr(buf, "\nTEXT: \"");
    assert_non_null(p);
    p += 8;
    char *out = malloc(n), *o = out;
    for (; *p && *p != '"'; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        *o++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
    }
    *o = '\0';
    free(buf);
    return out;
}

/* Skips unless the binary exists and the CPU runtime runs the model; a failure that is not
 * "unsupported" fails the test instead of hiding behind a skip. */
static int setup(void **state) {
    (void)state;
    if (!tu_have_shared()) {
        print_message("skip: ../shared not found\n");
        return 0;
    }
    snprintf(g_model, sizeof(g_model), "%s", tu_shared("models/stories260K.gguf"));
    snprintf(g_ref_logits, sizeof(g_ref_logits), "%s", tu_shared("ref/stories260K/logits-T1.gguf"));
    return 0;
}

static void require_runnable(void) {
    struct stat st;
    if (!tu_have_shared()) skip();
    if (stat(tu_bin("lpq-eval"), &st) != 0) {
        print_message("skip: %s not built\n", tu_bin("lpq-eval"));
        skip();
    }
    char args[2048], *out = NULL, *err = NULL;
    snprintf(args, sizeof(args), "run --model '%s' -p '' -n 1 --runtime cpu --threads 1", g_model);
    int rc = eval_cmd(args, &out, &err);
    if (rc != 0 && (strstr(err, "nsupported") || strstr(err, "not implemented"))) {
        print_message("skip: the cpu runtime cannot run stories260K yet: %s", err);
        free(out);
        free(err);
        skip();
    }
    if (rc != 0) fail_msg("lpq-eval run failed (%d): %s", rc, err);
    free(out);
    free(err);
}

static void test_run_greedy_matches_reference(void **state) {
    (void)state;
    require_runnable();
    char args[2048], *out = NULL, *err = NULL;
    snprintf(args, sizeof(args), "run --model '%s' -p '' -n 64 --runtime cpu --threads 1", g_model);
    assert_int_equal(eval_cmd(args, &out, &err), 0);
    char *want = greedy_text();
    if (strcmp(out, want) != 0) fail_msg("greedy text differs:\n got: [%s]\nwant: [%s]", out, want);
    /* Timing line on stderr, stdout untouched by it. */
    assert_non_null(strstr(err, "prompt: 1 tok, "));
    assert_non_null(strstr(err, " | decode: 64 tok, "));
    assert_non_null(strstr(err, " | TTFT "));
    free(want);
    free(out);
    free(err);
}

static void test_run_stop_string_and_threads(void **state) {
    (void)state;
    require_runnable();
    char args[2048], *out = NULL, *err = NULL;
    /* "Lily" is completed by the token ▁Lily; the output stops right there. */
    snprintf(args, sizeof(args), "run --model '%s' -p '' -n 64 --stop Lily --threads 2", g_model);
    assert_int_equal(eval_cmd(args, &out, &err), 0);
    assert_string_equal(out, " Once upon a time, there was a little girl named Lily");
    assert_non_null(strstr(err, "decode: 14 tok"));
    free(out);
    free(err);
}

static void test_run_sampling_seeded(void **state) {
    (void)state;
    require_runnable();
    char args[2048], *a = NULL, *b = NULL, *c = NULL, *err = NULL;
    const char *fmt = "run --model '%s' -p 'Once upon' -n 48 --temp 1.0 --top-k 40 --top-p 0.95 "
                      "--min-p 0.02 --repeat-penalty 1.1 --seed %d --threads 1";
    snprintf(args, sizeof(args), fmt, g_model, 5);
    assert_int_equal(eval_cmd(args, &a, &err), 0);
    free(err);
    assert_int_equal(eval_cmd(args, &b, &err), 0);
    free(err);
    snprintf(args, sizeof(args), fmt, g_model, 6);
    assert_int_equal(eval_cmd(args, &c, &err), 0);
    free(err);
    assert_string_equal(a, b);
    assert_true(strcmp(a, c) != 0);
    assert_true(strlen(a) > 20);
    free(a);
    free(b);
    free(c);
}

static const char t1_tokens[] =
    "1,403,407,261,378,432,383,286,261,376,298,315,421,395,317,426,338,401,396,267,337,410,408,419,"
    "292,411,322,265,282,295,433,426";

static double parse_nmse(const char *out) {
    const char *p = strstr(out, "nmse ");
    assert_non_null(p);
    return strtod(p + 5, NULL);
}

static void test_logits_match_reference(void **state) {
    (void)state;
    require_runnable();
    char args[4096], *out = NULL, *err = NULL;
    const char *mine = tu_tmp("logits-T1.gguf");
    snprintf(args, sizeof(args), "logits --model '%s' --tokens %s -o '%s' --threads 1", g_model,
             t1_tokens, mine);
    if (eval_cmd(args, &out, &err) != 0) fail_msg("logits: %s", err);
    free(out);
    free(err);
    snprintf(args, sizeof(args), "compare '%s' '%s' --nmse-max 1e-10 --top1-min 1", mine, g_ref_logits);
    int rc = eval_cmd(args, &out, &err);
    if (rc != 0) fail_msg("compare (%d): %s %s", rc, out, err);
    double nmse = parse_nmse(out);
    print_message("stories260K T1 vs llama.cpp: %s", out);
    assert_true(nmse <= 1e-10);
    assert_non_null(strstr(out, "top1 32/32"));
    assert_null(strstr(err, "differ"));
    free(out);
    free(err);

    /* The same through -p: the tokenizer and BOS rule give the same 32 ids. */
    const char *viatext = tu_tmp("logits-text.gguf");
    snprintf(args, sizeof(args),
             "logits --model '%s' -p 'Once upon a time, there was a little girl named Lily. She loved to "
             "play outside in the park.' -o '%s' --threads 2", g_model, viatext);
    if (eval_cmd(args, &out, &err) != 0) fail_msg("logits -p: %s", err);
    free(out);
    free(err);
    snprintf(args, sizeof(args), "compare '%s' '%s' --nmse-max 1e-10", viatext, g_ref_logits);
    assert_int_equal(eval_cmd(args, &out, &err), 0);
    assert_null(strstr(err, "ref.tokens differ"));
    free(out);
    free(err);
}

/* Every quantized fixture of ../shared/ref/quant against llama.cpp's logits for it, with the
 * per-type bounds of tolerances.json (the "every quantized fixture runs" check). */
static void test_quant_fixtures_match_llama_cpp(void **state) {
    (void)state;
    require_runnable();
    json_error_t jerr;
    json_t *tol = json_load_file(tu_shared("ref/quant/tolerances.json"), 0, &jerr);
    if (!tol) fail_msg("tolerances.json: %s", jerr.text);
    const char *type;
    json_t *bounds;
    int n_checked = 0;
    json_object_foreach(tol, type, bounds) {
        char model[1024], ref[1024], args[4096], *out = NULL, *err = NULL;
        const char *rel = !strcmp(type, "F32") ? "ref/quant/fixture-f32.gguf" : NULL;
        if (rel) snprintf(model, sizeof(model), "%s", tu_shared(rel));
        else if (!strncmp(type, "mix-", 4))
            snprintf(model, sizeof(model), "%s/%s.gguf", tu_shared("ref/quant"), type);
        else snprintf(model, sizeof(model), "%s/q-%s.gguf", tu_shared("ref/quant"), type);
        snprintf(ref, sizeof(ref), "%s/logits-%s-T1.gguf", tu_shared("ref/quant"), type);
        const char *mine = tu_tmp("logits-q.gguf");
        snprintf(args, sizeof(args), "logits --model '%s' --tokens %s -o '%s' --threads 2", model,
                 t1_tokens, mine);
        if (eval_cmd(args, &out, &err) != 0) fail_msg("%s: logits: %s", type, err);
        free(out);
        free(err);
        double nmse_max = json_number_value(json_object_get(bounds, "nmse_max"));
        double top1_min = json_number_value(json_object_get(bounds, "top1_min"));
        assert_true(nmse_max > 0 && top1_min > 0);
        snprintf(args, sizeof(args), "compare '%s' '%s' --nmse-max %.17g --top1-min %.17g", mine, ref,
                 nmse_max, top1_min);
        int rc = eval_cmd(args, &out, &err);
        print_message("%-11s %s", type, out);
        if (rc != 0) fail_msg("%s outside its bounds (nmse_max %g, top1_min %g): %s", type, nmse_max,
                              top1_min, err);
        free(out);
        free(err);
        n_checked++;
    }
    assert_true(n_checked >= 18);
    json_decref(tol);
}

static void test_compare_self_and_shape_mismatch(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    struct stat st;
    if (stat(tu_bin("lpq-eval"), &st) != 0) skip();
    char args[4096], *out = NULL, *err = NULL;
    snprintf(args, sizeof(args), "compare '%s' '%s'", g_ref_logits, g_ref_logits);
    assert_int_equal(eval_cmd(args, &out, &err), 0);
    assert_non_null(strstr(out, "nmse 0.0000e+00 | max_abs 0.0000e+00 | top1 32/32"));
    free(out);
    free(err);

    /* A 4-token file from this model cannot be compared with the 32-token reference. */
    require_runnable();
    const char *short_f = tu_tmp("logits-4.gguf");
    snprintf(args, sizeof(args), "logits --model '%s' --tokens 1,403,407,261 -o '%s'", g_model, short_f);
    assert_int_equal(eval_cmd(args, &out, &err), 0);
    free(out);
    free(err);
    snprintf(args, sizeof(args), "compare '%s' '%s'", short_f, g_ref_logits);
    assert_int_equal(eval_cmd(args, &out, &err), 1);
    assert_non_null(strstr(err, "lpq-eval: shapes differ: "));
    assert_non_null(strstr(err, "is [512, 4]"));
    free(out);
    free(err);
}

static void test_errors_and_usage(void **state) {
    (void)state;
    struct stat st;
    if (stat(tu_bin("lpq-eval"), &st) != 0) skip();
    char args[2048], *out = NULL, *err = NULL;

    assert_int_equal(eval_cmd("run", &out, &err), 2);
    free(out);
    free(err);
    assert_int_equal(eval_cmd("run --model x.gguf -p hi --top-k abc", &out, &err), 2);
    assert_non_null(strstr(err, "bad value for --top-k"));
    free(out);
    free(err);
    assert_int_equal(eval_cmd("logits --model x.gguf --tokens 1,,2 -o y.gguf", &out, &err), 2);
    free(out);
    free(err);
    assert_int_equal(eval_cmd("compare onlyone.gguf", &out, &err), 2);
    free(out);
    free(err);

    /* Runtime errors: exit 1, exactly one line "lpq-eval: <message>". */
    snprintf(args, sizeof(args), "run --model '%s' -p hi --runtime cuda", g_model);
    assert_int_equal(eval_cmd(args, &out, &err), 1);
    assert_string_equal(err, "lpq-eval: cuda: not built (configure with -DLPQ_WITH_CUDA=ON)\n");
    free(out);
    free(err);
    snprintf(args, sizeof(args), "run --model '%s' -p hi --runtime nope", g_model);
    assert_int_equal(eval_cmd(args, &out, &err), 1);
    assert_string_equal(err, "lpq-eval: unknown runtime 'nope' (available: cpu)\n");
    free(out);
    free(err);
    assert_int_equal(eval_cmd("run --model /nonexistent/m.gguf -p hi", &out, &err), 1);
    assert_true(!strncmp(err, "lpq-eval: ", 10));
    assert_non_null(strstr(err, "/nonexistent/m.gguf"));
    int lines = 0;
    for (const char *c = err; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, 1);
    free(out);
    free(err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_and_usage),
        cmocka_unit_test(test_compare_self_and_shape_mismatch),
        cmocka_unit_test(test_run_greedy_matches_reference),
        cmocka_unit_test(test_run_stop_string_and_threads),
        cmocka_unit_test(test_run_sampling_seeded),
        cmocka_unit_test(test_logits_match_reference),
        cmocka_unit_test(test_quant_fixtures_match_llama_cpp),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
