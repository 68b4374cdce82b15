/*
 * test_accuracy_e2e.c — the accuracy suite end to end. A mock runtime (byte tokens, BOS 256,
 * EOG 257) counts every token it evaluates and, when generating, emits a scripted reply:
 * the shared prompt of a question is evaluated once (exact token counts, and reuse across
 * questions), the lpq-140 run stores 140 items with per-category Wilson intervals, the
 * scripted tool call scores exactly where it should, a rerun evaluates nothing, benchmarks
 * from ../shared/data run with seeded --limit sampling, a wrong-format file is reported and
 * skipped. With the CPU runtime, stories260K runs end to end (near-chance figures printed).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quantize.h"
#include "suites/acc-score.h"
#include "suites/results.h"
#include "suites/stats.h"
#include "suites/suite.h"

extern const struct lpq_suite lpq_suite_accuracy;   /* suites/accuracy.c */

#define N_VOCAB 260
#define TOK_BOS 256
#define TOK_EOG 257
#define FAV 8.0f   /* logit of the favoured token; all others 0 */

struct mock_model {
    struct lpq_rt_model_base base;   /* must be first */
    int64_t kv;                      /* tokens in the cache */
    int64_t n_tokens;                /* tokens evaluated, all calls */
    int64_t gen_k;                   /* position in the scripted reply */
};
static const char *g_reply = "";     /* what the mock "answers" when generating */
static bool g_no_bos;                /* a vocabulary without BOS (Qwen-style) */

static enum lpq_status m_probe(struct lpq_err *err) { (void)err; return LPQ_STATUS_OK; }
static void m_caps(struct lpq_rt_caps *c) { memset(c, 0, sizeof(*c)); c->batching = true; c->kv_trim = true; }
static const struct lpq_rt_reg mock_reg;
static enum lpq_status m_load(const char *path, const struct lpq_rt_params *p, struct lpq_rt_model **out,
                              struct lpq_err *err) {
    (void)path; (void)p; (void)err;
    struct mock_model *m = calloc(1, sizeof(*m));
    m->base.reg = &mock_reg;
    *out = (struct lpq_rt_model *)m;
    return LPQ_STATUS_OK;
}
static void m_free(struct lpq_rt_model *m) { free(m); }
static int32_t m_n_vocab(const struct lpq_rt_model *m) { (void)m; return N_VOCAB; }
static int64_t m_n_ctx(const struct lpq_rt_model *m) { (void)m; return 4096; }
static enum lpq_status m_tokenize(struct lpq_rt_model *m, const char *text, size_t len, bool add_special,
                                  bool parse_special, int32_t *ids, size_t cap, size_t *n_out) {
    (void)m; (void)parse_special;
    add_special = add_special && !g_no_bos;
    size_t n = len + (add_special ? 1 : 0), o = 0;
    *n_out = n;
    if (n > cap) return LPQ_STATUS_RANGE;
    if (add_special) ids[o++] = TOK_BOS;
    for (size_t i = 0; i < len; i++) ids[o++] = (unsigned char)text[i];
    return LPQ_STATUS_OK;
}
static size_t m_piece(struct lpq_rt_model *m, int32_t id, char *buf, size_t cap, bool special) {
    (void)m; (void)special;
    if (id >= 256) return 0;
    if (cap > 1) { buf[0] = (char)id; buf[1] = 0; }
    return 1;
}
static int32_t m_bos(const struct lpq_rt_model *m) { (void)m; return TOK_BOS; }
static bool m_eog(const struct lpq_rt_model *m, int32_t id) { (void)m; return id == TOK_EOG; }
static bool m_add_bos(const struct lpq_rt_model *m) { (void)m; return !g_no_bos; }
static enum lpq_status m_eval(struct lpq_rt_model *mm, const int32_t *tokens, int64_t n, const bool *want,
                              float *logits) {
    struct mock_model *m = (struct mock_model *)mm;
    (void)tokens;
    if (n > 1) m->gen_k = 0;   /* a prompt: the scripted reply starts over */
    size_t rl = strlen(g_reply);
    int32_t fav = m->gen_k < (int64_t)rl ? (unsigned char)g_reply[m->gen_k] : TOK_EOG;
    int64_t n_out = 0;
    for (int64_t i = 0; i < n; i++) {
        if (want ? want[i] : i == n - 1) {
            for (int v = 0; v < N_VOCAB; v++) logits[n_out * N_VOCAB + v] = v == fav ? FAV : 0.0f;
            n_out++;
        }
    }
    m->gen_k++;
    m->kv += n;
    m->n_tokens += n;
    return LPQ_STATUS_OK;
}
static int64_t m_kv_len(const struct lpq_rt_model *m) { return ((const struct mock_model *)m)->kv; }
static enum lpq_status m_kv_trim(struct lpq_rt_model *mm, int64_t keep) {
    struct mock_model *m = (struct mock_model *)mm;
    if (keep < m->kv) m->kv = keep;
    return LPQ_STATUS_OK;
}
static const struct lpq_rt_i mock_iface = {
    .probe = m_probe, .caps = m_caps, .load = m_load, .free = m_free, .n_vocab = m_n_vocab,
    .n_ctx = m_n_ctx, .tokenize = m_tokenize, .token_to_piece = m_piece, .token_bos = m_bos,
    .token_is_eog = m_eog, .add_bos = m_add_bos, .eval = m_eval, .kv_len = m_kv_len,
    .kv_trim = m_kv_trim,
};
static const struct lpq_rt_reg mock_reg = { LPQ_RT_API_VERSION, "mock", 0, &mock_iface };

static struct lpq_rt_model *mock_load(void) {
    assert_int_equal(lpq_rt_reg_check(&mock_reg, NULL), LPQ_STATUS_OK);
    struct lpq_rt_params rp = lpq_rt_params_default();
    struct lpq_rt_model *m = NULL;
    assert_int_equal(lpq_rt_model_load(&mock_reg, "mock.gguf", &rp, &m, NULL), LPQ_STATUS_OK);
    return m;
}

static void set_items_env(void) {
    static char path[4096];
    const char *src = getenv("LPQ_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/suites/lpq-140.jsonl", src ? src : "..");
    setenv("LPQ_ACC_ITEMS", path, 1);
}

/* The shared prompt is evaluated once per question; each choice evaluates only its tail. */
static void test_prefix_evaluated_once(void **state) {
    (void)state;
    g_reply = "";
    struct lpq_rt_model *m = mock_load();
    struct mock_model *mm = (struct mock_model *)m;
    const char *ctx = "Question: Q\nAnswer:";   /* 19 bytes + BOS = 20 tokens */
    const char *ctxs[3] = { ctx, ctx, ctx }, *conts[3] = { " ab", " abcd", " x" };
    struct lpq_acc_ll ll[3];
    struct lpq_acc_eval_stats es;
    assert_int_equal(lpq_acc_mc_loglik(m, ctxs, conts, 3, false, ll, &es, NULL), LPQ_STATUS_OK);
    /* prefix 20 once + tails (23-1-20) + (25-1-20) + (22-1-20); naive would be 23+25+22 = 70 */
    assert_int_equal(es.n_prefix, 20);
    assert_int_equal(es.n_evaluated, 27);
    assert_int_equal(mm->n_tokens, 27);
    /* every continuation token is "not favoured": log p = -log(e^8 + 259) each */
    double lp = -log(exp(FAV) + (N_VOCAB - 1));
    assert_float_equal(ll[0].ll, 3 * lp, 1e-6);
    assert_float_equal(ll[1].ll, 5 * lp, 1e-6);
    assert_float_equal(ll[2].ll, 2 * lp, 1e-6);
    assert_int_equal(ll[1].n_tokens, 5);
    assert_int_equal(ll[1].n_chars, 4);   /* the leading space is the delimiter, not the choice */
    assert_int_equal(lpq_acc_mc_pick(ll, 3, LPQ_ACC_NORM_NONE), 2);
    /* the next question with the same prompt reuses the cached prefix (all but its last token) */
    mm->n_tokens = 0;
    assert_int_equal(lpq_acc_mc_loglik(m, ctxs, conts, 3, false, ll, &es, NULL), LPQ_STATUS_OK);
    assert_int_equal(es.n_reused, 19);
    assert_int_equal(mm->n_tokens, 1 + 7);
    /* a favoured continuation wins: the mock favours 'q' at every position */
    g_reply = "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq";
    const char *c2[2] = { " zz", "qq" };
    lpq_rt_kv_trim(m, 0);
    assert_int_equal(lpq_acc_mc_loglik(m, ctxs, c2, 2, false, ll, &es, NULL), LPQ_STATUS_OK);
    assert_int_equal(lpq_acc_mc_pick(ll, 2, LPQ_ACC_NORM_NONE), 1);
    /* a choice with no tokens of its own is refused, not scored */
    const char *c3[2] = { "", " a" };
    assert_int_equal(lpq_acc_mc_loglik(m, ctxs, c3, 2, false, ll, &es, NULL), LPQ_STATUS_BAD_ARG);
    /* without BOS, Winogrande-style contexts can differ at their first token: nothing is
     * shared, each sequence is evaluated whole (all but its last token) */
    g_no_bos = true;
    g_reply = "";
    const char *wctx[2] = { "Xa", "Ya" }, *wcont[2] = { " b", " b" };
    mm->n_tokens = 0;
    assert_int_equal(lpq_acc_mc_loglik(m, wctx, wcont, 2, false, ll, &es, NULL), LPQ_STATUS_OK);
    assert_int_equal(es.n_prefix, 0);
    assert_int_equal(mm->n_tokens, 3 + 3);
    assert_float_equal(ll[0].ll, 2 * lp, 1e-6);
    assert_float_equal(ll[1].ll, 2 * lp, 1e-6);
    g_no_bos = false;
    lpq_rt_model_free(m);
}

static json_t *cat_of(json_t *summary, const char *cat) {
    return json_object_get(json_object_get(json_object_get(summary, "lpq140"), "categories"), cat);
}
static double num(json_t *o, const char *a, const char *b) {
    return json_number_value(json_object_get(json_object_get(o, a), b));
}

static void test_suite_on_mock(void **state) {
    (void)state;
    set_items_env();
    g_reply = "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lisbon\", \"unit\": \"celsius\"}}";
    struct lpq_rt_model *m = mock_load();
    struct mock_model *mm = (struct mock_model *)m;
    struct lpq_results *res = NULL;
    assert_int_equal(lpq_results_open(tu_tmp("acc-mock.json"), "mock", false, &res, NULL), LPQ_STATUS_OK);
    struct lpq_suite_opts o = lpq_suite_opts_default();
    o.quick = true;
    o.benchmarks = "none";
    struct lpq_rt_params rp = lpq_rt_params_default();
    struct lpq_suite_ctx ctx = { .model = m, .model_path = NULL, .runtime = &mock_reg, .rt_params = &rp, .opts = &o,
                                 .res = res };
    struct lpq_err err;
    lpq_err_clear(&err);
    enum lpq_status st = lpq_suite_accuracy.run(&ctx, &err);
    if (st) fail_msg("%s", err.msg);
    assert_int_equal((int)lpq_results_n_items(res, "accuracy"), 140);
    json_t *t1 = lpq_results_item(res, "accuracy", "lpq140/tool-001");
    assert_non_null(t1);
    assert_true(json_is_true(json_object_get(t1, "correct")));
    json_t *t13 = lpq_results_item(res, "accuracy", "lpq140/tool-013");   /* Reykjavik, fahrenheit */
    assert_true(json_is_true(json_object_get(t13, "right_function")));
    assert_false(json_is_true(json_object_get(t13, "correct")));
    assert_int_equal(json_integer_value(json_object_get(t13, "n_args_ok")), 0);
    json_t *t3 = lpq_results_item(res, "accuracy", "lpq140/tool-003");
    assert_true(json_is_true(json_object_get(t3, "valid_json")));
    assert_false(json_is_true(json_object_get(t3, "right_function")));
    json_t *m1 = lpq_results_item(res, "accuracy", "lpq140/math-001");
    assert_true(json_is_null(json_object_get(m1, "extracted")));   /* the reply has no digits */
    assert_false(json_is_true(json_object_get(m1, "correct")));
    json_t *k1 = lpq_results_item(res, "accuracy", "lpq140/know-001");
    assert_int_equal((int)json_array_size(json_object_get(k1, "ll")), 4);

    json_t *sum = lpq_results_summary(res, "accuracy");
    assert_non_null(sum);
    const int want_n[6] = { 25, 25, 25, 25, 20, 20 };
    const char *cats[6] = { "knowledge", "math", "reasoning", "common_sense", "truthfulness", "tool_calling" };
    for (int c = 0; c < 6; c++) {
        json_t *jc = cat_of(sum, cats[c]);
        assert_int_equal((int)json_integer_value(json_object_get(jc, "n")), want_n[c]);
        json_t *ci = json_object_get(json_object_get(jc, "accuracy"), "ci95");
        assert_int_equal((int)json_array_size(ci), 2);
        double k = num(jc, "accuracy", "k"), lo, hi;
        lpq_stats_wilson(k, want_n[c], 1.96, &lo, &hi);
        assert_float_equal(json_number_value(json_array_get(ci, 0)), lo, 1e-9);
        assert_float_equal(json_number_value(json_array_get(ci, 1)), hi, 1e-9);
    }
    json_t *tc = cat_of(sum, "tool_calling");
    assert_float_equal(num(tc, "valid_json", "k"), 20, 0);
    assert_float_equal(num(tc, "correct_function", "k"), 2, 0);   /* tool-001 and tool-013 call get_weather */
    assert_float_equal(num(tc, "accuracy", "k"), 1, 0);
    assert_float_equal(num(cat_of(sum, "math"), "accuracy", "k"), 0, 0);
    assert_float_equal(json_number_value(json_object_get(cat_of(sum, "knowledge"), "chance")), 0.25, 1e-9);
    json_t *all = json_object_get(sum, "lpq140");
    assert_int_equal((int)json_integer_value(json_object_get(all, "n")), 140);
    assert_string_equal(json_string_value(json_object_get(json_object_get(sum, "chat_template"), "name")), "none");

    /* resume: everything is there, nothing is evaluated again */
    int64_t before = mm->n_tokens;
    assert_int_equal(lpq_suite_accuracy.run(&ctx, &err), LPQ_STATUS_OK);
    assert_int_equal(mm->n_tokens, before);
    assert_int_equal((int)lpq_results_n_items(res, "accuracy"), 140);

    /* a forced chat template re-scores the items rendered through it */
    o.chat_template = "chatml";
    assert_int_equal(lpq_suite_accuracy.run(&ctx, &err), LPQ_STATUS_OK);
    assert_true(mm->n_tokens > before);
    json_t *k1c = lpq_results_item(res, "accuracy", "lpq140/know-001");
    assert_string_equal(json_string_value(json_object_get(k1c, "template")), "chatml");
    assert_true(json_is_true(json_object_get(lpq_results_item(res, "accuracy", "lpq140/tool-001"), "correct")));
    o.chat_template = NULL;
    lpq_results_free(res);
    lpq_rt_model_free(m);
}

static void test_benchmarks_on_mock(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    set_items_env();
    g_reply = " 18";
    struct lpq_rt_model *m = mock_load();
    struct lpq_results *res = NULL;
    assert_int_equal(lpq_results_open(tu_tmp("acc-bench.json"), "mock", false, &res, NULL), LPQ_STATUS_OK);
    struct lpq_suite_opts o = lpq_suite_opts_default();
    o.quick = true;
    o.limit = 3;
    o.benchmarks = "all";
    o.seed = 11;
    char data[4096];
    snprintf(data, sizeof(data), "%s", tu_shared("data"));
    o.data_dir = data;
    struct lpq_rt_params rp = lpq_rt_params_default();
    struct lpq_suite_ctx ctx = { .model = m, .runtime = &mock_reg, .rt_params = &rp, .opts = &o, .res = res };
    struct lpq_err err;
    lpq_err_clear(&err);
    enum lpq_status st = lpq_suite_accuracy.run(&ctx, &err);
    if (st) fail_msg("%s", err.msg);
    assert_int_equal((int)lpq_results_n_items(res, "accuracy"), 140 + 8 * 3);
    json_t *b = json_object_get(lpq_results_summary(res, "accuracy"), "benchmarks");
    const char *names[8] = { "mmlu", "arc_easy", "arc_challenge", "hellaswag", "winogrande", "truthfulqa_mc1",
                             "truthfulqa_mc2", "gsm8k" };
    for (int i = 0; i < 8; i++) {
        json_t *jb = json_object_get(b, names[i]);
        if (!jb) fail_msg("benchmark %s missing", names[i]);
        assert_int_equal((int)json_integer_value(json_object_get(jb, "n")), 3);
        assert_int_equal((int)json_integer_value(json_object_get(jb, "limit")), 3);
        assert_int_equal((int)json_integer_value(json_object_get(jb, "seed")), 11);
        assert_non_null(json_object_get(json_object_get(jb, "acc"), "ci95"));
    }
    assert_int_equal((int)json_integer_value(json_object_get(json_object_get(b, "arc_easy"), "n_total")), 2376);
    assert_int_equal((int)json_integer_value(json_object_get(json_object_get(b, "mmlu"), "n_total")), 14042);
    assert_int_equal((int)json_integer_value(json_object_get(json_object_get(b, "mmlu"), "n_shot")), 5);
    assert_non_null(json_object_get(json_object_get(b, "truthfulqa_mc2"), "mc2"));
    assert_non_null(json_object_get(json_object_get(b, "arc_easy"), "acc_norm_tokens"));
    lpq_results_free(res);

    /* a benchmark file in the wrong format is reported and skipped; the rest still runs */
    char bad[4096];
    snprintf(bad, sizeof(bad), "%s", tu_tmp("baddata"));
    char cmd[16384];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/llm-foundry && head -3 %s > %s/llm-foundry/arc_easy.jsonl", bad,
             tu_shared("data/hellaswag_val_random1000.jsonl"), bad);
    assert_int_equal(system(cmd), 0);
    o.data_dir = bad;
    assert_int_equal(lpq_results_open(tu_tmp("acc-bad.json"), "mock", true, &res, NULL), LPQ_STATUS_OK);
    ctx.res = res;
    assert_int_equal(lpq_suite_accuracy.run(&ctx, &err), LPQ_STATUS_OK);
    json_t *sk = json_object_get(lpq_results_summary(res, "accuracy"), "benchmarks_skipped");
    const char *why = json_string_value(json_object_get(sk, "arc_easy"));
    assert_non_null(why);
    assert_non_null(strstr(why, "arc_easy.jsonl:1: not an llm-foundry multiple-choice record"));
    assert_int_equal((int)lpq_results_n_items(res, "accuracy"), 140);
    lpq_results_free(res);
    lpq_rt_model_free(m);
}

/* Runs the quick suite on a GGUF with the CPU runtime and prints the per-category table;
 * returns the summary's overall MC accuracy (knowledge, reasoning, common sense,
 * truthfulness). Skips when the CPU runtime cannot load the file. */
static double run_cpu(const char *label, const char *path, const char *benchmarks, int64_t limit) {
    const struct lpq_rt_reg *cpu = NULL;
    if (lpq_rt_find("cpu", &cpu, NULL) != LPQ_STATUS_OK) skip();
    set_items_env();
    struct lpq_rt_params rp = lpq_rt_params_default();
    rp.n_threads = 1;
    struct lpq_rt_model *m = NULL;
    struct lpq_err err;
    lpq_err_clear(&err);
    if (lpq_rt_model_load(cpu, path, &rp, &m, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "cpu runtime cannot load %s: %s\n", path, err.msg);
        skip();
    }
    struct lpq_results *res = NULL;
    char rname[256];
    snprintf(rname, sizeof(rname), "acc-%s.json", label);
    assert_int_equal(lpq_results_open(tu_tmp(rname), "cpu/t1", false, &res, NULL), LPQ_STATUS_OK);
    struct lpq_suite_opts o = lpq_suite_opts_default();
    o.quick = true;
    o.limit = limit;
    o.benchmarks = benchmarks;
    char data[4096];
    snprintf(data, sizeof(data), "%s", tu_shared("data"));
    o.data_dir = data;
    struct lpq_suite_ctx ctx = { .model = m, .model_path = path, .runtime = cpu, .rt_params = &rp, .opts = &o, .res = res };
    enum lpq_status st = lpq_suite_accuracy.run(&ctx, &err);
    if (st) fail_msg("%s", err.msg);
    json_t *sum = lpq_results_summary(res, "accuracy");
    assert_string_equal(json_string_value(json_object_get(json_object_get(sum, "chat_template"), "source")), "absent");
    json_t *cats = json_object_get(json_object_get(sum, "lpq140"), "categories");
    const char *key;
    json_t *jc;
    printf("%s (cpu, quick, template none):\n", label);
    json_object_foreach(cats, key, jc) {
        json_t *a = json_object_get(jc, "accuracy");
        double k = num(jc, "accuracy", "k"), n = num(jc, "accuracy", "n");
        printf("  %-13s %2.0f/%2.0f = %.3f  [%.3f, %.3f]  chance %.3f\n", key, k, n, k / n,
               json_number_value(json_array_get(json_object_get(a, "ci95"), 0)),
               json_number_value(json_array_get(json_object_get(a, "ci95"), 1)),
               json_number_value(json_object_get(jc, "chance")));
        if (!strcmp(key, "tool_calling"))
            printf("  %-13s valid_json %.0f/20, function %.0f/20, args %.0f/%.0f\n", "", num(jc, "valid_json", "k"),
                   num(jc, "correct_function", "k"), num(jc, "arguments", "k"), num(jc, "arguments", "n"));
    }
    json_t *all = json_object_get(sum, "lpq140");
    printf("  overall       %.0f/140 = %.3f [%.3f, %.3f]\n", num(all, "accuracy", "k"), num(all, "accuracy", "rate"),
           json_number_value(json_array_get(json_object_get(json_object_get(all, "accuracy"), "ci95"), 0)),
           json_number_value(json_array_get(json_object_get(json_object_get(all, "accuracy"), "ci95"), 1)));
    json_t *b = json_object_get(sum, "benchmarks");
    json_object_foreach(b, key, jc) {
        printf("  %-13s n=%.0f acc %.3f [%.3f, %.3f] acc_norm %.3f acc_norm_tokens %.3f\n", key,
               json_number_value(json_object_get(jc, "n")), num(jc, "acc", "rate"),
               json_number_value(json_array_get(json_object_get(json_object_get(jc, "acc"), "ci95"), 0)),
               json_number_value(json_array_get(json_object_get(json_object_get(jc, "acc"), "ci95"), 1)),
               num(jc, "acc_norm", "rate"), num(jc, "acc_norm_tokens", "rate"));
    }
    assert_int_equal((int)json_integer_value(json_object_get(all, "n")), 140);
    assert_int_equal((int)lpq_results_n_items(res, "accuracy"), 140 + (int)json_object_size(b) * (int)limit);
    double mc_k = 0, mc_n = 0;
    const char *mc_cats[5] = { "knowledge", "reasoning", "common_sense", "truthfulness", NULL };
    for (int c = 0; mc_cats[c]; c++) {
        mc_k += num(json_object_get(cats, mc_cats[c]), "accuracy", "k");
        mc_n += num(json_object_get(cats, mc_cats[c]), "accuracy", "n");
    }
    assert_int_equal((int)mc_n, 95);
    lpq_results_free(res);
    lpq_rt_model_free(m);
    return mc_k / mc_n;
}

/* stories260K: runs end to end; a 260K-parameter story model knows no facts, so its
 * multiple-choice accuracy stays near chance (0.25). */
static void test_stories260k_cpu(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    double mc = run_cpu("stories260K", tu_shared("models/stories260K.gguf"), "arc_easy,hellaswag", 40);
    assert_true(mc < 0.6);
    assert_true(mc > 0.02);
}

/* A synthetic model (lpq's "tiny" shape, random weights, Q8_0) runs end to end too. */
static void test_synthetic_cpu(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    struct lpq_synth_params sp = lpq_synth_params_default();
    sp.shape = "tiny";
    sp.type = "Q8_0";
    sp.n_threads = 1;
    const char *path = tu_tmp("synth-tiny-q8_0.gguf");
    struct lpq_err err;
    lpq_err_clear(&err);
    if (lpq_synth_write(path, &sp, &err)) fail_msg("%s", err.msg);
    double mc = run_cpu("synthetic tiny Q8_0", path, "none", 0);
    assert_true(mc < 0.6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_evaluated_once),
        cmocka_unit_test(test_suite_on_mock),
        cmocka_unit_test(test_benchmarks_on_mock),
        cmocka_unit_test(test_stories260k_cpu),
        cmocka_unit_test(test_synthetic_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
