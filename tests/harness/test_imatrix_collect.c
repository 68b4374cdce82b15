/*
 * test_imatrix_collect.c — the runtime's activation hook (every matmul input, logits unchanged)
 * and `lpq-quant imatrix` on stories260K, 2 chunks of 128: entries, counts, blk.0.attn_q's sums
 * vs a recomputation from the GGUF weights, `quantize --imatrix`, bad input leaving no file.
 * Under harness/ because it needs both the runtime (tokenizer) and the quantizer.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quant/gguf.h"
#include "quant/quantize.h"
#include "runtimes/runtime.h"

#define CTX 128
#define CHUNKS 2

static const char *model_path(void) { return tu_shared("models/stories260K.gguf"); }
static const char *text_path(void) { return tu_shared("data/tinystories_valid_sample_30KB.txt"); }

/* Runs lpq-quant imatrix with `extra` options into `out`; returns the exit status. */
static int run_imatrix(const char *model, const char *text, const char *out, const char *extra, char **log) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s imatrix --model '%s' --text '%s' -o '%s' --ctx %d --chunks %d --threads 2 %s",
             tu_bin("lpq-quant"), model, text, out, CTX, CHUNKS, extra);
    return tu_run(cmd, log);
}

/* The single float of tensor `name` in an open GGUF, or NAN. */
static float scalar_of(struct lpq_gguf *g, const char *name) {
    int64_t i = lpq_gguf_find_tensor(g, name);
    if (i < 0) return NAN;
    return *(const float *)lpq_gguf_tensor(g, i)->data;
}

static void test_entries_and_counts(void **state) {
    (void)state;
    const char *out = tu_tmp("imx_all.gguf");
    unlink(out);
    char *log = NULL;
    int rc = run_imatrix(model_path(), text_path(), out, "--process-output", &log);
    if (rc != 0) fprintf(stderr, "%s\n", log ? log : "");
    assert_int_equal(rc, 0);
    free(log);

    struct lpq_gguf *mg = NULL, *ig = NULL;
    struct lpq_imatrix *im = NULL;
    assert_int_equal(lpq_gguf_open(model_path(), NULL, &mg, NULL), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_open(out, NULL, &ig, NULL), LPQ_STATUS_OK);
    assert_int_equal(lpq_imatrix_load(out, &im, NULL), LPQ_STATUS_OK);

    int64_t n_mat = 0;
    for (int64_t i = 0; i < lpq_gguf_n_tensors(mg); i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(mg, i);
        if (t->n_dims != 2 || !strcmp(t->name, "token_embd.weight")) continue;
        n_mat++;
        float *v = calloc((size_t)t->ne[0], sizeof(float));
        assert_int_equal(lpq_imatrix_get(im, t->name, 0, v, t->ne[0]), LPQ_STATUS_OK);
        for (int64_t j = 0; j < t->ne[0]; j++) assert_true(isfinite(v[j]) && v[j] > 0.0f);
        free(v);
        char cn[256];
        snprintf(cn, sizeof cn, "%s.counts", t->name);
        assert_float_equal(scalar_of(ig, cn), (float)(CTX * CHUNKS), 0.0f);
    }
    assert_int_equal(n_mat, 5 * 7 + 1);   /* 5 layers x (q k v o gate up down) + output */
    assert_int_equal(lpq_imatrix_n_entries(im), n_mat);

    int64_t k = lpq_gguf_find_key(ig, "imatrix.chunk_count");
    assert_true(k >= 0);
    int64_t v = 0;
    assert_int_equal(lpq_gguf_get_int(ig, "imatrix.chunk_count", &v), LPQ_STATUS_OK);
    assert_int_equal(v, CHUNKS);
    assert_int_equal(lpq_gguf_get_int(ig, "imatrix.chunk_size", &v), LPQ_STATUS_OK);
    assert_int_equal(v, CTX);
    k = lpq_gguf_find_key(ig, "imatrix.datasets");
    assert_true(k >= 0);
    assert_non_null(strstr(lpq_gguf_kv_str(ig, k, 0, NULL), "tinystories_valid_sample_30KB.txt"));

    lpq_imatrix_free(im);
    lpq_gguf_close(ig);
    lpq_gguf_close(mg);
}

/* blk.0.attn_q's input is RMSNorm(embedding) * attn_norm: no attention involved, so it can be
 * recomputed from the weights and the token ids alone (BOS replacing each chunk's first token). */
static void test_values_match_recomputation(void **state) {
    (void)state;
    const char *out = tu_tmp("imx_default.gguf");
    unlink(out);
    char *log = NULL;
    assert_int_equal(run_imatrix(model_path(), text_path(), out, "", &log), 0);
    free(log);

    const struct lpq_rt_reg *reg = NULL;
    struct lpq_rt_model *m = NULL;
    assert_int_equal(lpq_rt_find("cpu", &reg, NULL), LPQ_STATUS_OK);
    struct lpq_rt_params rp = lpq_rt_params_default();
    rp.n_threads = 1;
    rp.n_ctx = CTX;
    assert_int_equal(lpq_rt_model_load(reg, model_path(), &rp, &m, NULL), LPQ_STATUS_OK);
    size_t len = 0;
    char *text = tu_read_file(text_path(), &len);
    assert_non_null(text);
    int32_t *ids = malloc((len + 16) * sizeof(int32_t));
    size_t n_tok = 0;
    assert_int_equal(lpq_rt_tokenize(m, text, len, true, false, ids, len + 16, &n_tok), LPQ_STATUS_OK);
    assert_true(n_tok >= CTX * CHUNKS);
    const int32_t bos = lpq_rt_token_bos(m);
    assert_true(bos >= 0 && lpq_rt_add_bos(m));
    lpq_rt_model_free(m);

    struct lpq_gguf *g = NULL;
    assert_int_equal(lpq_gguf_open(model_path(), NULL, &g, NULL), LPQ_STATUS_OK);
    double eps = 0;
    assert_int_equal(lpq_gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &eps), LPQ_STATUS_OK);
    const struct lpq_gguf_tensor *emb = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "token_embd.weight"));
    const struct lpq_gguf_tensor *nw = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.0.attn_norm.weight"));
    assert_int_equal(emb->type, LPQ_TYPE_F32);
    assert_int_equal(nw->type, LPQ_TYPE_F32);
    const int64_t E = emb->ne[0];
    double sum2[512] = { 0 };
    assert_true(E <= 512);
    for (int c = 0; c < CHUNKS; c++)
        for (int t = 0; t < CTX; t++) {
            const int32_t id = t == 0 ? bos : ids[c * CTX + t];
            const float *x = (const float *)emb->data + (size_t)id * (size_t)E;
            const float *w = nw->data;
            double ss = 0;
            for (int64_t j = 0; j < E; j++) ss += (double)x[j] * x[j];
            const double scale = 1.0 / sqrt(ss / (double)E + eps);
            for (int64_t j = 0; j < E; j++) {
                const double y = x[j] * scale * w[j];
                sum2[j] += y * y;
            }
        }

    struct lpq_gguf *ig = NULL;
    assert_int_equal(lpq_gguf_open(out, NULL, &ig, NULL), LPQ_STATUS_OK);
    int64_t it = lpq_gguf_find_tensor(ig, "blk.0.attn_q.weight.in_sum2");
    assert_true(it >= 0);
    const float *got = lpq_gguf_tensor(ig, it)->data;
    assert_int_equal(lpq_gguf_tensor(ig, it)->ne[0], E);
    for (int64_t j = 0; j < E; j++)
        assert_true(fabs(got[j] - sum2[j]) <= 1e-5 * sum2[j] + 1e-12);
    /* Like llama-imatrix by default: block weights only, no output.weight. */
    assert_true(lpq_gguf_find_tensor(ig, "output.weight.in_sum2") < 0);
    assert_true(lpq_gguf_find_tensor(ig, "blk.4.ffn_down.weight.in_sum2") >= 0);
    lpq_gguf_close(ig);
    lpq_gguf_close(g);

    /* quantize --imatrix accepts it */
    char cmd[8192];
    const char *q = tu_tmp("imx_q4km.gguf");
    snprintf(cmd, sizeof cmd, "%s quantize '%s' '%s' Q4_K_M --imatrix '%s' --threads 1", tu_bin("lpq-quant"),
             model_path(), q, out);
    log = NULL;
    int rc = tu_run(cmd, &log);
    if (rc != 0) fprintf(stderr, "%s\n", log ? log : "");
    assert_int_equal(rc, 0);
    assert_int_equal(access(q, F_OK), 0);
    free(log);
    unlink(q);
    free(ids);
    free(text);
}

/* What the hook saw during one eval. */
struct seen {
    char names[64][48];
    int64_t rows[64];
    int64_t cols[64];
    int n;
    double sum2_q0;                 /* Σx² over blk.0.attn_q's input */
    double sum2_k0;                 /* same over blk.0.attn_k's (the same x) */
};

static void on_act(const char *name, const float *x, int64_t n_cols, int64_t n_rows, void *user) {
    struct seen *s = user;
    int i = 0;
    while (i < s->n && strcmp(s->names[i], name) != 0) i++;
    if (i == s->n && s->n < 64) snprintf(s->names[s->n++], sizeof s->names[0], "%s", name);
    if (i < 64) {
        s->rows[i] += n_rows;
        s->cols[i] = n_cols;
    }
    double ss = 0;
    for (int64_t j = 0; j < n_cols * n_rows; j++) ss += (double)x[j] * x[j];
    if (!strcmp(name, "blk.0.attn_q.weight")) s->sum2_q0 += ss;
    if (!strcmp(name, "blk.0.attn_k.weight")) s->sum2_k0 += ss;
}

/* The runtime hook: every matmul weight once per eval with all its rows, logits unchanged by
 * it, and silent once removed. */
static void test_runtime_hook(void **state) {
    (void)state;
    const struct lpq_rt_reg *reg = NULL;
    struct lpq_rt_model *m = NULL;
    assert_int_equal(lpq_rt_find("cpu", &reg, NULL), LPQ_STATUS_OK);
    struct lpq_rt_params rp = lpq_rt_params_default();
    rp.n_threads = 2;
    rp.n_ctx = 32;
    assert_int_equal(lpq_rt_model_load(reg, model_path(), &rp, &m, NULL), LPQ_STATUS_OK);
    const int32_t nv = lpq_rt_n_vocab(m);
    enum { T = 9 };
    const int32_t toks[T] = { 1, 403, 407, 261, 378, 324, 267, 302, 29 };
    bool want[T];
    for (int i = 0; i < T; i++) want[i] = true;
    float *a = malloc((size_t)T * (size_t)nv * sizeof(float)), *b = malloc((size_t)T * (size_t)nv * sizeof(float));

    assert_int_equal(lpq_rt_eval(m, toks, T, want, a), LPQ_STATUS_OK);
    struct seen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(lpq_rt_set_act_hook(m, on_act, &s), LPQ_STATUS_OK);
    assert_int_equal(lpq_rt_kv_trim(m, 0), LPQ_STATUS_OK);
    assert_int_equal(lpq_rt_eval(m, toks, T, want, b), LPQ_STATUS_OK);
    assert_memory_equal(a, b, (size_t)T * (size_t)nv * sizeof(float));
    assert_int_equal(s.n, 5 * 7 + 1);
    for (int i = 0; i < s.n; i++) {
        assert_int_equal(s.rows[i], T);
        const bool down = strstr(s.names[i], "ffn_down") != NULL;
        assert_int_equal(s.cols[i], down ? 172 : 64);
    }
    assert_true(s.sum2_q0 > 0 && s.sum2_q0 == s.sum2_k0);

    assert_int_equal(lpq_rt_set_act_hook(m, NULL, NULL), LPQ_STATUS_OK);
    const int n_before = s.n;
    s.rows[0] = 0;
    assert_int_equal(lpq_rt_kv_trim(m, 0), LPQ_STATUS_OK);
    assert_int_equal(lpq_rt_eval(m, toks, T, want, b), LPQ_STATUS_OK);
    assert_int_equal(s.n, n_before);
    assert_int_equal(s.rows[0], 0);
    free(a);
    free(b);
    lpq_rt_model_free(m);
}

/* Each failure: non-zero exit, one line naming the problem, no output file. */
static void test_bad_input(void **state) {
    (void)state;
    const char *out = tu_tmp("imx_bad.gguf");
    char *log = NULL;

    unlink(out);
    assert_int_not_equal(run_imatrix(model_path(), "/nonexistent/calib.txt", out, "", &log), 0);
    assert_non_null(strstr(log, "/nonexistent/calib.txt"));
    assert_int_not_equal(access(out, F_OK), 0);
    free(log);

    assert_int_not_equal(run_imatrix(text_path(), text_path(), out, "", &log), 0);   /* not a GGUF */
    assert_non_null(strstr(log, "lpq-quant imatrix:"));
    assert_int_not_equal(access(out, F_OK), 0);
    free(log);

    assert_int_not_equal(run_imatrix(model_path(), text_path(), "/nonexistent/dir/imx.gguf", "", &log), 0);
    assert_non_null(strstr(log, "/nonexistent/dir/imx.gguf"));
    free(log);

    /* an existing output is untouched when the run fails */
    assert_int_equal(tu_write_file(out, "keep", 4), 0);
    assert_int_not_equal(run_imatrix(model_path(), "/nonexistent/calib.txt", out, "", &log), 0);
    free(log);
    size_t n = 0;
    char *kept = tu_read_file(out, &n);
    assert_true(kept && n == 4 && !memcmp(kept, "keep", 4));
    free(kept);
    unlink(out);
}

int main(void) {
    if (!tu_have_shared()) {
        fprintf(stderr, "skipping: ../shared not found\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_hook),
        cmocka_unit_test(test_entries_and_counts),
        cmocka_unit_test(test_values_match_recomputation),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
