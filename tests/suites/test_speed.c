/*
 * test_speed.c — the speed suite against a mock runtime whose eval sleeps a known time per
 * token: every phase is recorded, figures are internally consistent (TTFT < end-to-end, one
 * latency sample per generated token), tok/s can never exceed what the sleep allows (a
 * suite that miscounts tokens or time breaks that), and a rerun resumes without re-measuring.
 */
#include "testutil.h"

#include <string.h>
#include <time.h>

#include "suites/results.h"
#include "suites/suite.h"
#include "suites/suites-impl.h"

#define N_VOCAB 16
#define US_PER_TOKEN 200

struct mock_model {
    struct lpq_rt_model_base base;   /* must be first */
    int64_t kv;
    int64_t n_evals;
};

static enum lpq_status m_probe(struct lpq_err *err) { (void)err; return LPQ_STATUS_OK; }
static void m_caps(struct lpq_rt_caps *c) { memset(c, 0, sizeof(*c)); c->batching = true; }
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
static int64_t m_n_ctx(const struct lpq_rt_model *m) { (void)m; return 1024; }
static enum lpq_status m_tokenize(struct lpq_rt_model *m, const char *text, size_t len, bool add_special,
                                  bool parse_special, int32_t *ids, size_t cap, size_t *n_out) {
    (void)m; (void)add_special; (void)parse_special;
    for (size_t i = 0; i < len && i < cap; i++) ids[i] = (unsigned char)text[i] % N_VOCAB;
    *n_out = len;
    return len <= cap ? LPQ_STATUS_OK : LPQ_STATUS_RANGE;
}
static size_t m_piece(struct lpq_rt_model *m, int32_t id, char *buf, size_t cap, bool special) {
    (void)m; (void)special;
    if (cap > 1) { buf[0] = (char)('a' + id); buf[1] = 0; }
    return 1;
}
static int32_t m_bos(const struct lpq_rt_model *m) { (void)m; return 1; }
static bool m_eog(const struct lpq_rt_model *m, int32_t id) { (void)m; (void)id; return false; }
static bool m_add_bos(const struct lpq_rt_model *m) { (void)m; return true; }
static enum lpq_status m_eval(struct lpq_rt_model *mm, const int32_t *tokens, int64_t n, const bool *want,
                              float *logits) {
    struct mock_model *m = (struct mock_model *)mm;
    (void)tokens;
    struct timespec ts = { 0, (long)n * US_PER_TOKEN * 1000 };
    nanosleep(&ts, NULL);
    int64_t n_out = 0;
    for (int64_t i = 0; i < n; i++) {
        if (want ? want[i] : i == n - 1) {
            for (int v = 0; v < N_VOCAB; v++) logits[n_out * N_VOCAB + v] = (float)((m->kv + i + v) % 7);
            n_out++;
        }
    }
    m->kv += n;
    m->n_evals++;
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

static double item_num(json_t *item, const char *a, const char *b) {
    json_t *x = json_object_get(item, a);
    if (b) x = json_object_get(x, b);
    return json_number_value(x);
}

static void test_speed_quick_on_mock(void **state) {
    (void)state;
    assert_int_equal(lpq_rt_reg_check(&mock_reg, NULL), LPQ_STATUS_OK);
    struct lpq_rt_params rp = lpq_rt_params_default();
    rp.n_threads = 1;
    struct lpq_rt_model *m = NULL;
    assert_int_equal(lpq_rt_model_load(&mock_reg, tu_shared("models/stories260K.gguf"), &rp, &m, NULL), LPQ_STATUS_OK);
    struct lpq_results *res = NULL;
    assert_int_equal(lpq_results_open(tu_tmp("speed.json"), "mock/t1", false, &res, NULL), LPQ_STATUS_OK);
    struct lpq_suite_opts o = lpq_suite_opts_default();
    o.quick = true;
    o.reps = 2;
    struct lpq_suite_ctx ctx = { .model = m, .model_path = tu_shared("models/stories260K.gguf"),
                                 .runtime = &mock_reg, .rt_params = &rp, .opts = &o, .res = res };
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_suite_speed.run(&ctx, &err), LPQ_STATUS_OK);

    json_t *pp = lpq_results_item(res, "speed", "pp64/t1");
    json_t *tg = lpq_results_item(res, "speed", "tg16/t1");
    json_t *pg = lpq_results_item(res, "speed", "pg64+16/t1");
    assert_non_null(pp);
    assert_non_null(tg);
    assert_non_null(pg);
    assert_non_null(lpq_results_item(res, "speed", "load"));
    /* The mock sleeps US_PER_TOKEN per token: no honest measurement can beat that rate. */
    double limit = 1e6 / US_PER_TOKEN;
    assert_true(item_num(pp, "tok_per_s", "mean") <= limit * 1.001);
    assert_true(item_num(pp, "tok_per_s", "mean") > limit * 0.05);
    assert_true(item_num(tg, "tok_per_s", "max") <= limit * 1.001);
    assert_int_equal((int)item_num(tg, "token_latency_ms", "n"), 2 * 16);
    assert_true(item_num(tg, "token_latency_ms", "min") >= US_PER_TOKEN * 1e-3 * 0.999);
    /* TTFT covers the 64-token prompt; the whole request takes longer. */
    assert_true(item_num(pg, "ttft_ms", "min") >= 64 * US_PER_TOKEN * 1e-3 * 0.999);
    assert_true(item_num(pg, "e2e_ms", "mean") > item_num(pg, "ttft_ms", "mean"));
    assert_int_equal((int)item_num(pg, "itl_ms", "n"), 2 * 15);
    json_t *perf = json_object_get(pp, "perf");
    assert_non_null(json_object_get(perf, "cycles"));   /* a number or "unsupported" */

    /* Resume: a second run finds every item and evaluates nothing. */
    int64_t evals = ((struct mock_model *)m)->n_evals;
    assert_int_equal(lpq_suite_speed.run(&ctx, &err), LPQ_STATUS_OK);
    assert_int_equal(((struct mock_model *)m)->n_evals, evals);
    lpq_results_free(res);
    lpq_rt_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_speed_quick_on_mock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
