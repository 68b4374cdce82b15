/*
 * test_ppl.c — the ppl suite. Against the mock runtime: the perplexity and the rolling
 * log-likelihood equal an independent recomputation (straight double loops over the mock's
 * logits), each chunk costs one eval call, and dataset problems (missing file, wrong sha256)
 * give messages that say what to put where. Against the CPU engine on stories260K: llama-
 * perplexity's figures from ../shared/ref/stories260K/ppl.json at ctx 128 and 256 within 1e-5.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../harness/mock-rt.h"
#include "datasets/datasets.h"
#include "suites/suite.h"

struct run {
    struct lpq_rt_model *m;
    struct lpq_results *res;
    struct lpq_suite_opts o;
    struct lpq_suite_ctx ctx;
};

static enum lpq_status run_ppl(const struct lpq_rt_reg *reg, const char *model, const char *res_path,
                               struct lpq_suite_opts *o, struct lpq_rt_params *rp, json_t **summary,
                               struct lpq_err *e) {
    struct lpq_rt_model *m = NULL;
    struct lpq_results *res = NULL;
    assert_int_equal(lpq_rt_model_load(reg, model, rp, &m, e), LPQ_STATUS_OK);
    assert_int_equal(lpq_results_open(res_path, "t", false, &res, e), LPQ_STATUS_OK);
    struct lpq_suite_ctx ctx = { .model = m, .model_path = model, .runtime = reg, .rt_params = rp, .opts = o, .res = res };
    enum lpq_status st = lpq_suite_find("ppl")->run(&ctx, e);
    *summary = st ? NULL : json_deep_copy(lpq_results_summary(res, "ppl"));
    lpq_results_free(res);
    lpq_rt_model_free(m);
    return st;
}

static double num(json_t *o, const char *a, const char *b) {
    json_t *x = json_object_get(o, a);
    return json_number_value(b ? json_object_get(x, b) : x);
}

/* Independent: mock tokens of the text, then −log softmax of each scored target. */
static double mock_nll(int32_t prev, int32_t tok, int32_t target) {
    float l[MOCK_VOCAB];
    mock_logits(prev, tok, 0, l);
    double mx = l[0], s = 0;
    for (int v = 1; v < MOCK_VOCAB; v++) mx = l[v] > mx ? l[v] : mx;
    for (int v = 0; v < MOCK_VOCAB; v++) s += exp(l[v] - mx);
    return mx + log(s) - l[target];
}

static void test_mock_ppl(void **state) {
    (void)state;
    /* a text of our own: 3000 bytes + final newline (dropped, as llama-perplexity -f does) */
    char text[3002];
    for (int i = 0; i < 3000; i++) text[i] = (char)('a' + (i * 7 + i / 13) % 26);
    text[3000] = '\n';
    const char *tpath = tu_tmp("text.txt");
    tu_write_file(tpath, text, 3001);
    const char *model = tu_tmp("mock.gguf");
    assert_int_equal(mock_write_model(model, LPQ_TYPE_F32, 0, -1, 0), 0);
    struct lpq_suite_opts o = lpq_suite_opts_default();
    o.dataset = tpath;
    o.n_ctx = 64;
    struct lpq_rt_params rp = lpq_rt_params_default();
    rp.n_ctx = 64;
    json_t *s = NULL;
    struct lpq_err e;
    int64_t ev0 = mock_n_evals;
    assert_int_equal(run_ppl(&mock_reg, model, tu_tmp("ppl.json"), &o, &rp, &s, &e), LPQ_STATUS_OK);

    /* independent recomputation */
    int32_t ids[3001];
    ids[0] = 1;
    for (int i = 0; i < 3000; i++) ids[i + 1] = 2 + (unsigned char)text[i] % (MOCK_VOCAB - 2);
    int n = 3001, L = 64, n_chunks = n / L;
    double sum = 0, sum2 = 0, cnt = 0;
    for (int c = 0; c < n_chunks; c++) {
        int32_t t[64];
        memcpy(t, ids + c * L, sizeof t);
        t[0] = 1;
        for (int j = L / 2; j <= L - 2; j++) {
            double nll = mock_nll(j ? t[j - 1] : 0, t[j], t[j + 1]);
            sum += nll; sum2 += nll * nll; cnt++;
        }
    }
    double mean = sum / cnt, ppl = exp(mean), err = ppl * sqrt((sum2 / cnt - mean * mean) / (cnt - 1));
    print_message("mock ppl %.9f ± %.9f (independent %.9f ± %.9f), %g tokens\n", num(s, "ppl", NULL),
                  num(s, "ppl_err", NULL), ppl, err, cnt);
    assert_int_equal((int)num(s, "n_chunks", NULL), n_chunks);
    assert_float_equal(num(s, "n_scored", NULL), cnt, 0);
    assert_float_equal(num(s, "ppl", NULL) / ppl, 1, 1e-12);
    assert_float_equal(num(s, "ppl_err", NULL) / err, 1, 1e-9);

    /* rolling: lm-eval windows, every token after BOS scored exactly once */
    int m = n - 1, n_win = (m + L - 1) / L;
    double rsum = 0;
    for (int i = 0; i < m; i++) {       /* token x_i = ids[i+1], predicted at the position of ids[i] */
        int w = i / L, in_start;
        if (w == 0) in_start = 0;
        else {
            int end = (w + 1) * L < m ? (w + 1) * L : m;
            in_start = end - L;
        }
        int32_t prev = i == in_start ? 0 : ids[i - 1];
        rsum += mock_nll(prev, ids[i], ids[i + 1]);
    }
    json_t *r = json_object_get(s, "rolling");
    print_message("rolling: %g tokens, loglik %.6f (independent %.6f), bits/byte %.6f\n", num(r, "n_tokens", NULL),
                  num(r, "loglikelihood", NULL), -rsum, num(r, "bits_per_byte", NULL));
    assert_float_equal(num(r, "n_tokens", NULL), m, 0);
    assert_true(json_is_true(json_object_get(r, "complete")));
    assert_float_equal(num(r, "loglikelihood", NULL) / -rsum, 1, 1e-12);
    assert_float_equal(num(r, "bits_per_byte", NULL), rsum / 3000 / log(2.0), 1e-12);
    /* speed: one eval call per chunk and per window */
    assert_int_equal(mock_n_evals - ev0, n_chunks + n_win);
    json_decref(s);

    /* --chunks caps both the chunks and the windows; a second run resumes (no evals) */
    o.n_chunks = 3;
    ev0 = mock_n_evals;
    assert_int_equal(run_ppl(&mock_reg, model, tu_tmp("ppl3.json"), &o, &rp, &s, &e), LPQ_STATUS_OK);
    assert_int_equal(mock_n_evals - ev0, 6);
    assert_int_equal((int)num(s, "n_chunks", NULL), 3);
    json_decref(s);
    ev0 = mock_n_evals;
    assert_int_equal(run_ppl(&mock_reg, model, tu_tmp("ppl3.json"), &o, &rp, &s, &e), LPQ_STATUS_OK);
    assert_int_equal(mock_n_evals - ev0, 0);
    json_decref(s);

    /* too little text for the context */
    o.n_ctx = 2048;
    rp.n_ctx = 4096;
    assert_int_equal(run_ppl(&mock_reg, model, tu_tmp("ppl4.json"), &o, &rp, &s, &e), LPQ_STATUS_RANGE);
    print_message("short text: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "2 × ctx"));
}

static void test_dataset_errors(void **state) {
    (void)state;
    struct lpq_err e;
    char *path = NULL;
    const char *dir = tu_tmp("data");
    mkdir(dir, 0755);
    /* missing: names the file, the folder and the options */
    assert_int_equal(lpq_dataset_resolve("tinystories-valid-30k", dir, &path, NULL, &e), LPQ_STATUS_NOT_FOUND);
    print_message("missing: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "tinystories_valid_sample_30KB.txt"));
    assert_non_null(strstr(e.msg, dir));
    assert_non_null(strstr(e.msg, "--data-dir"));
    /* wrong content: expected and actual digests */
    char p[1024];
    snprintf(p, sizeof p, "%s/tinystories_valid_sample_30KB.txt", dir);
    tu_write_file(p, "not the text", 12);
    assert_int_equal(lpq_dataset_resolve("tinystories-valid-30k", dir, &path, NULL, &e), LPQ_STATUS_BAD_FILE);
    print_message("wrong sha: %s\n", e.msg);
    assert_non_null(strstr(e.msg, lpq_dataset_find("tinystories-valid-30k")->sha256));
    assert_non_null(strstr(e.msg, "expected"));
    assert_int_equal(lpq_dataset_resolve("no-such-set", dir, &path, NULL, &e), LPQ_STATUS_NOT_FOUND);
    assert_non_null(strstr(e.msg, "wikitext2-test"));
    /* the real files pass their checksums */
    if (!tu_have_shared()) skip();
    for (const struct lpq_dataset_info *d = lpq_dataset_list(); d->name; d++) {
        char hex[65];
        assert_int_equal(lpq_dataset_resolve(d->name, tu_shared("data"), &path, hex, &e), LPQ_STATUS_OK);
        lpq_free(path);
        assert_string_equal(hex, d->sha256);
    }
}

/* stories260K through lpq's CPU engine vs llama-perplexity (ref/stories260K/ppl.json) */
static void test_stories_cpu(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    const struct lpq_rt_reg *cpu = NULL;
    struct lpq_err e;
    if (lpq_rt_find("cpu", &cpu, &e) != LPQ_STATUS_OK) {
        print_message("SKIP: cpu runtime unavailable: %s\n", e.msg);
        skip();
    }
    json_error_t je;
    json_t *ref = json_load_file(tu_shared("ref/stories260K/ppl.json"), 0, &je);
    assert_non_null(ref);
    const int ctxs[2] = { 128, 256 };
    for (int k = 0; k < 2; k++) {
        char key[16];
        snprintf(key, sizeof key, "ctx%d", ctxs[k]);
        json_t *rr = json_object_get(json_object_get(json_object_get(ref, "tinystories_valid_sample_30KB.txt"), key),
                                     "full_precision_f32_kv_no_fa");
        json_t *rc = json_object_get(json_object_get(ref, "tinystories_valid_sample_30KB.txt"), key);
        struct lpq_suite_opts o = lpq_suite_opts_default();
        o.dataset = "tinystories-valid-30k";
        o.data_dir = tu_shared("data");
        o.n_ctx = ctxs[k];
        struct lpq_rt_params rp = lpq_rt_params_default();
        rp.n_ctx = ctxs[k];
        rp.n_batch = ctxs[k];
        rp.n_threads = 1;
        char rpath[64];
        snprintf(rpath, sizeof rpath, "stories-%d.json", ctxs[k]);
        json_t *s = NULL;
        uint64_t t0 = lpq_time_ns();
        enum lpq_status st = run_ppl(cpu, tu_shared("models/stories260K.gguf"), tu_tmp(rpath), &o, &rp, &s, &e);
        if (st) {
            print_message("SKIP: the CPU engine cannot run the ppl suite yet: %s\n", e.msg);
            json_decref(ref);
            skip();
        }
        double ppl = num(s, "ppl", NULL), err = num(s, "ppl_err", NULL);
        double rppl = num(rr, "ppl", NULL), rerr = num(rr, "ppl_err", NULL);
        print_message("stories260K ctx %d: lpq PPL %.9f ± %.9f, llama.cpp (F32 KV) %.9f ± %.9f, rel diff %.2e, "
                      "%g scored tokens, %.2f s (rolling bits/byte %.4f)\n", ctxs[k], ppl, err, rppl, rerr,
                      ppl / rppl - 1, num(s, "n_scored", NULL), (double)(lpq_time_ns() - t0) * 1e-9,
                      num(json_object_get(s, "rolling"), "bits_per_byte", NULL));
        assert_int_equal((int)num(s, "n_tokens_text", NULL), (int)num(rc, "n_tokens_in_file", NULL));
        assert_int_equal((int)num(s, "n_chunks", NULL), (int)num(rc, "n_chunks", NULL));
        assert_float_equal(num(s, "n_scored", NULL), num(rc, "n_scored_tokens", NULL), 0);
        assert_float_equal(ppl / rppl, 1, 1e-5);
        assert_float_equal(err / rerr, 1, 1e-4);
        json_decref(s);
    }
    json_decref(ref);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_ppl),
        cmocka_unit_test(test_dataset_errors),
        cmocka_unit_test(test_stories_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
