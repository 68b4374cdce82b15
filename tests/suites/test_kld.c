/*
 * test_kld.c — the kld suite. Side-by-side and top-K modes, run through the suite on the mock
 * runtime, agree with an independent full-vocabulary computation written here with plain
 * double loops; top-K KLD is a lower bound that rises with K and is exact at K = n_vocab; the
 * base file has the documented size; damaged or mismatched base files are refused. Also
 * measures how far top-K is from exact on real logits (stories260K, the quant fixture model)
 * and on flat synthetic distributions (printed; the figures are in docs/METRICS-lpq.md).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../harness/mock-rt.h"
#include "quant/gguf.h"
#include "suites/suite.h"
#include "suites/suites-impl.h"

#define TEXT_BYTES 3000
#define CTX 64

static char g_text[TEXT_BYTES + 1];

static const char *write_text(void) {
    for (int i = 0; i < TEXT_BYTES; i++) g_text[i] = (char)('a' + (i * 11 + i / 7) % 26);
    static char p[1024];   /* tu_tmp's buffers rotate: keep our own copy */
    snprintf(p, sizeof p, "%s", tu_tmp("kld-text.txt"));
    tu_write_file(p, g_text, TEXT_BYTES);
    return p;
}

static struct lpq_rt_model *load(const char *path) {
    struct lpq_rt_model *m = NULL;
    struct lpq_err e;
    struct lpq_rt_params rp = lpq_rt_params_default();
    rp.n_ctx = CTX;
    assert_int_equal(lpq_rt_model_load(&mock_reg, path, &rp, &m, &e), LPQ_STATUS_OK);
    return m;
}

/* Runs the kld suite; returns a copy of the summary (NULL on failure, message in e). */
static json_t *run_kld(struct lpq_rt_model *m, struct lpq_rt_model *base, bool is_baseline, struct lpq_suite_opts *o,
                       const char *res_path, enum lpq_status *st, struct lpq_err *e) {
    struct lpq_results *res = NULL;
    assert_int_equal(lpq_results_open(res_path, "t", false, &res, e), LPQ_STATUS_OK);
    struct lpq_suite_ctx ctx = { .model = m, .model_path = "variant.gguf", .baseline = base,
                                 .baseline_path = base ? "base.gguf" : NULL, .is_baseline = is_baseline,
                                 .runtime = &mock_reg, .opts = o, .res = res };
    *st = lpq_suite_find("kld")->run(&ctx, e);
    json_t *s = *st ? NULL : json_deep_copy(lpq_results_summary(res, "kld"));
    lpq_results_free(res);
    return s;
}

static double num(json_t *o, const char *a, const char *b) {
    json_t *x = json_object_get(o, a);
    return json_number_value(b ? json_object_get(x, b) : x);
}

/* ---- the independent reference (no lpq code) ------------------------------------------- */

static void softmax_d(const float *l, int n, double *p) {
    double mx = l[0], s = 0;
    for (int i = 1; i < n; i++) mx = l[i] > mx ? l[i] : mx;
    for (int i = 0; i < n; i++) s += exp(l[i] - mx);
    for (int i = 0; i < n; i++) p[i] = exp(l[i] - mx) / s;
}

static double kl_exact(const double *p, const double *q, int n) {
    double k = 0;
    for (int i = 0; i < n; i++)
        if (p[i] > 0) k += p[i] * log(p[i] / q[i]);
    return k;
}

/* top-K bound computed from scratch: rank by p (ties: lower id), K terms + one "rest" term */
static double kl_topk(const double *p, const double *q, int n, int k) {
    int *idx = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int a = 0; a < k; a++) {           /* selection sort of the first k: plain and obviously right */
        int best = a;
        for (int b = a + 1; b < n; b++)
            if (p[idx[b]] > p[idx[best]] || (p[idx[b]] == p[idx[best]] && idx[b] < idx[best])) best = b;
        int t = idx[a]; idx[a] = idx[best]; idx[best] = t;
    }
    double kl = 0, pr = 0, qr = 0;
    for (int a = 0; a < n; a++) {
        if (a < k) kl += p[idx[a]] * log(p[idx[a]] / q[idx[a]]);
        else { pr += p[idx[a]]; qr += q[idx[a]]; }
    }
    if (pr > 0) kl += pr * log(pr / qr);
    free(idx);
    return kl;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *s, int n, double f) {   /* closest-ranks linear interpolation */
    double pos = f * (n - 1);
    int i = (int)floor(pos);
    if (i >= n - 1) return s[n - 1];
    return s[i] + (pos - i) * (s[i + 1] - s[i]);
}

struct ref {
    int n;
    double kld_mean, kld_err, kld[8];     /* max, p99, p90, median, p10, p1, min, p99_9 */
    double dp_mean, rms_dp, same_top, ppl_q, ppl_b, ln_ratio, ln_ratio_err, cor;
};

/* Walks the chunks exactly as llama-perplexity lays them out and computes every figure. */
static void reference(float noise, int topk, struct ref *r) {
    int n_ids = TEXT_BYTES + 1, n_chunks = n_ids / CTX, N = n_chunks * (CTX - 1 - CTX / 2);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)n_ids);
    double *kv = malloc(sizeof(double) * (size_t)N), *dv = malloc(sizeof(double) * (size_t)N);
    ids[0] = 1;
    for (int i = 0; i < TEXT_BYTES; i++) ids[i + 1] = 2 + (unsigned char)g_text[i] % (MOCK_VOCAB - 2);
    double s_nll = 0, s_nll2 = 0, s_b = 0, s_b2 = 0, s_nb = 0, s_k = 0, s_k2 = 0, s_dp = 0, s_dp2 = 0, top = 0;
    int t = 0;
    for (int c = 0; c < n_chunks; c++) {
        int32_t tok[CTX];
        memcpy(tok, ids + c * CTX, sizeof tok);
        tok[0] = 1;
        for (int j = CTX / 2; j <= CTX - 2; j++, t++) {
            float lb[MOCK_VOCAB], lq[MOCK_VOCAB];
            double p[MOCK_VOCAB], q[MOCK_VOCAB];
            int32_t prev = j ? tok[j - 1] : 0;
            mock_logits(prev, tok[j], 0, lb);
            mock_logits(prev, tok[j], noise, lq);
            softmax_d(lb, MOCK_VOCAB, p);
            softmax_d(lq, MOCK_VOCAB, q);
            double k = topk ? kl_topk(p, q, MOCK_VOCAB, topk) : kl_exact(p, q, MOCK_VOCAB);
            int target = tok[j + 1];
            double nll = -log(q[target]), nb = -log(p[target]), dp = q[target] - p[target];
            int ap = 0, aq = 0;
            for (int v = 1; v < MOCK_VOCAB; v++) {
                if (lb[v] > lb[ap]) ap = v;
                if (lq[v] > lq[aq]) aq = v;
            }
            kv[t] = k; dv[t] = dp;
            s_nll += nll; s_nll2 += nll * nll; s_b += nb; s_b2 += nb * nb; s_nb += nll * nb;
            s_k += k; s_k2 += k * k; s_dp += dp; s_dp2 += dp * dp; top += ap == aq;
        }
    }
    qsort(kv, (size_t)N, sizeof(double), cmp_d);
    r->n = N;
    r->kld_mean = s_k / N;
    r->kld_err = sqrt((s_k2 / N - r->kld_mean * r->kld_mean) / (N - 1));
    double f[8] = { 1, 0.99, 0.90, 0.5, 0.10, 0.01, 0, 0.999 };
    for (int i = 0; i < 8; i++) r->kld[i] = pct(kv, N, f[i]);
    r->dp_mean = s_dp / N;
    r->rms_dp = sqrt(s_dp2 / N);
    r->same_top = top / N;
    double lq = s_nll / N, lb = s_b / N;
    double eq = sqrt((s_nll2 / N - lq * lq) / (N - 1)), eb = sqrt((s_b2 / N - lb * lb) / (N - 1));
    double cov = (s_nb / N - lq * lb) / (N - 1);
    r->ppl_q = exp(lq);
    r->ppl_b = exp(lb);
    r->ln_ratio = lq - lb;
    r->ln_ratio_err = sqrt(eq * eq + eb * eb - 2 * cov);
    r->cor = cov / (eq * eb);
    free(ids); free(kv); free(dv);
}

static void check_against(json_t *s, const struct ref *r, double tol) {
    json_t *k = json_object_get(s, "kld");
    assert_float_equal(num(s, "n_tokens", NULL), r->n, 0);
    assert_float_equal(num(k, "mean", NULL) / r->kld_mean, 1, tol);
    assert_float_equal(num(k, "err", NULL) / r->kld_err, 1, tol * 10);
    const char *keys[8] = { "max", "p99", "p90", "median", "p10", "p1", "min", "p99_9" };
    for (int i = 0; i < 8; i++)   /* per-token values are kept as float32 */
        assert_float_equal(num(k, keys[i], NULL), r->kld[i], 10 * tol * fabs(r->kld[i]) + 1e-7);
    assert_float_equal(num(s, "dp", "mean"), r->dp_mean, 1e-9);
    assert_float_equal(num(s, "rms_dp", "value"), r->rms_dp, 1e-9);
    assert_float_equal(num(s, "same_top", "value"), r->same_top, 1e-12);
    assert_float_equal(num(s, "ppl_q", "value") / r->ppl_q, 1, 1e-9);
    assert_float_equal(num(s, "ppl_base", "value") / r->ppl_b, 1, 1e-6);
    assert_float_equal(num(s, "ln_ppl_ratio", "value"), r->ln_ratio, 1e-6);
    assert_float_equal(num(s, "ln_ppl_ratio", "err"), r->ln_ratio_err, 1e-6);
    assert_float_equal(num(s, "cor_ln_ppl", NULL), r->cor, 1e-6);
}

static void test_side_by_side(void **state) {
    (void)state;
    struct lpq_suite_opts o = lpq_suite_opts_default();
    o.dataset = write_text();
    o.n_ctx = CTX;
    assert_int_equal(mock_write_model(tu_tmp("b.gguf"), LPQ_TYPE_F32, 0, -1, 0), 0);
    assert_int_equal(mock_write_model(tu_tmp("v.gguf"), LPQ_TYPE_Q8_0, 0.8f, -1, 0), 0);
    struct lpq_rt_model *b = load(tu_tmp("b.gguf")), *v = load(tu_tmp("v.gguf"));
    enum lpq_status st;
    struct lpq_err e;
    json_t *s = run_kld(v, b, false, &o, tu_tmp("sxs.json"), &st, &e);
    assert_int_equal(st, LPQ_STATUS_OK);
    struct ref r;
    reference(0.8f, 0, &r);
    print_message("side by side: KLD %.8f ± %.8f (independent %.8f ± %.8f), same top %.4f (%.4f), "
                  "ln PPL ratio %.6f ± %.6f, cor %.4f\n", num(s, "kld", "mean"), num(s, "kld", "err"), r.kld_mean,
                  r.kld_err, num(s, "same_top", "value"), r.same_top, num(s, "ln_ppl_ratio", "value"),
                  num(s, "ln_ppl_ratio", "err"), num(s, "cor_ln_ppl", NULL));
    check_against(s, &r, 1e-7);
    json_decref(s);
    /* the baseline itself is skipped with a reason, not compared */
    s = run_kld(b, NULL, true, &o, tu_tmp("sxs-base.json"), &st, &e);
    assert_int_equal(st, LPQ_STATUS_OK);
    assert_null(s);
    lpq_rt_model_free(b);
    lpq_rt_model_free(v);
}

static void test_topk_file(void **state) {
    (void)state;
    struct lpq_suite_opts o = lpq_suite_opts_default();
    o.dataset = write_text();
    o.n_ctx = CTX;
    struct lpq_rt_model *b = load(tu_tmp("b.gguf")), *v = load(tu_tmp("v.gguf"));
    enum lpq_status st;
    struct lpq_err e;
    const int ks[2] = { 8, MOCK_VOCAB };
    for (int i = 0; i < 2; i++) {
        static char bpath[2][1024];
        char bp[64], rp[64], rp2[64];
        snprintf(bp, sizeof bp, "base-k%d.bin", ks[i]);
        snprintf(rp, sizeof rp, "wr-k%d.json", ks[i]);
        snprintf(rp2, sizeof rp2, "rd-k%d.json", ks[i]);
        snprintf(bpath[i], sizeof bpath[i], "%s", tu_tmp(bp));
        o.kld_base = bpath[i];
        o.kld_top_k = ks[i];
        o.kld_write = true;
        json_t *w = run_kld(b, NULL, true, &o, tu_tmp(rp), &st, &e);
        assert_int_equal(st, LPQ_STATUS_OK);
        int n_tok = (TEXT_BYTES + 1) / CTX * (CTX - 1 - CTX / 2);
        struct stat sb;
        assert_int_equal(stat(o.kld_base, &sb), 0);
        assert_int_equal((long long)sb.st_size, 192 + (long long)n_tok * (12 + 8 * ks[i]));
        assert_int_equal((long long)num(w, "bytes", NULL), (long long)sb.st_size);
        json_decref(w);
        o.kld_write = false;
        json_t *s = run_kld(v, NULL, false, &o, tu_tmp(rp2), &st, &e);
        assert_int_equal(st, LPQ_STATUS_OK);
        struct ref r, rx;
        reference(0.8f, ks[i], &r);
        reference(0.8f, 0, &rx);
        print_message("top-%d file: KLD %.8f (independent top-K %.8f, exact %.8f: %.3f %% low), %lld bytes\n", ks[i],
                      num(s, "kld", "mean"), r.kld_mean, rx.kld_mean, 100 * (1 - r.kld_mean / rx.kld_mean),
                      (long long)sb.st_size);
        check_against(s, &r, 1e-5);   /* base log-probs are stored as float32 */
        assert_true(r.kld_mean <= rx.kld_mean * (1 + 1e-12));
        if (ks[i] == MOCK_VOCAB) assert_float_equal(num(s, "kld", "mean") / rx.kld_mean, 1, 1e-6);
        json_decref(s);
    }
    /* a base file made from another text is refused */
    struct lpq_suite_opts o2 = o;
    char other[TEXT_BYTES];
    memset(other, 'z', sizeof other);
    char opath[1024], tpath[1024];
    snprintf(opath, sizeof opath, "%s", tu_tmp("other.txt"));
    tu_write_file(opath, other, sizeof other);
    o2.dataset = opath;
    json_t *s = run_kld(v, NULL, false, &o2, tu_tmp("mismatch.json"), &st, &e);
    assert_null(s);
    assert_int_equal(st, LPQ_STATUS_TYPE_MISMATCH);
    print_message("other text: %s\n", e.msg);
    /* a truncated base file is refused */
    size_t n;
    char *buf = tu_read_file(o.kld_base, &n);
    snprintf(tpath, sizeof tpath, "%s", tu_tmp("trunc.bin"));
    tu_write_file(tpath, buf, n - 100);
    free(buf);
    o2 = o;
    o2.kld_base = tpath;
    s = run_kld(v, NULL, false, &o2, tu_tmp("trunc.json"), &st, &e);
    assert_null(s);
    assert_int_equal(st, LPQ_STATUS_BAD_FILE);
    print_message("truncated: %s\n", e.msg);
    lpq_rt_model_free(b);
    lpq_rt_model_free(v);
}

/* ---- how far top-K is from exact ------------------------------------------------------- */

static float *read_logits(const char *rel, int *nv, int *nt) {
    struct lpq_gguf *g = NULL;
    if (lpq_gguf_open(tu_shared(rel), NULL, &g, NULL)) return NULL;
    const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "logits"));
    *nv = (int)t->ne[0];
    *nt = (int)t->ne[1];
    float *l = malloc(t->size);
    memcpy(l, t->data, t->size);
    lpq_gguf_close(g);
    return l;
}

static double gauss(uint64_t i) {   /* deterministic standard normal (Box-Muller on a hash) */
    double u1 = mock_hash01(i * 2 + 1), u2 = mock_hash01(i * 2 + 2);
    return sqrt(-2 * log(u1 + 1e-300)) * cos(2 * M_PI * u2);
}

/* mean exact vs mean top-K (through lpq's own functions) over T positions of V logits */
static void topk_error(const char *what, const float *lp, const float *lq, int V, int T) {
    int32_t *work = malloc(sizeof(int32_t) * (size_t)V), ids[256];
    uint8_t *mask = calloc((size_t)V, 1);
    float lpk[256];
    const int ks[4] = { 8, 32, 64, 256 };
    double exact = 0, tk[4] = { 0 };
    for (int t = 0; t < T; t++) {
        struct lpq__kld_tok r;
        lpq__kld_full(lp + (size_t)t * V, lq + (size_t)t * V, V, 0, &r);
        exact += r.kld / T;
        for (int i = 0; i < 4; i++) {
            struct lpq__kld_topk rec = { .ids = ids, .lp = lpk };
            lpq__kld_topk_make(lp + (size_t)t * V, V, 0, ks[i], work, &rec);
            lpq__kld_topk(&rec, lq + (size_t)t * V, V, mask, &r);
            tk[i] += r.kld / T;
        }
    }
    print_message("top-K error, %-34s exact %.6g; K=8 %.3f %%, K=32 %.3f %%, K=64 %.3f %%, K=256 %.3f %% below\n",
                  what, exact, 100 * (1 - tk[0] / exact), 100 * (1 - tk[1] / exact), 100 * (1 - tk[2] / exact),
                  100 * (1 - tk[3] / exact));
    for (int i = 0; i < 4; i++) {
        /* a lower bound, and a finer split is tighter (up to the float32 rounding of the stored
         * log-probs: ~1e-7 absolute) */
        assert_true(tk[i] <= exact + 1e-6);
        if (i) assert_true(tk[i] >= tk[i - 1] - 1e-6);
    }
    free(work);
    free(mask);
}

static void test_topk_error(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    int V, T, V2, T2;
    /* stories260K's real logits, variant = logits + Gaussian noise (a stand-in for quantization) */
    float *p = read_logits("ref/stories260K/logits-T1.gguf", &V, &T);
    assert_non_null(p);
    float *q = malloc(sizeof(float) * (size_t)V * T);
    const double sig[3] = { 0.05, 0.3, 1.0 };
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < (size_t)V * T; i++) q[i] = p[i] + (float)(sig[s] * gauss(i + 1000u * s));
        char what[64];
        snprintf(what, sizeof what, "stories260K, noise sigma %.2f:", sig[s]);
        topk_error(what, p, q, V, T);
    }
    free(q);
    /* the quant fixture (random weights, flatter distributions): llama.cpp's own F32 vs quantized logits */
    const char *types[3] = { "Q8_0", "Q4_0", "Q2_K" };
    float *f = read_logits("ref/quant/logits-F32-T1.gguf", &V2, &T2);
    assert_non_null(f);
    for (int i = 0; i < 3; i++) {
        char rel[64], what[64];
        snprintf(rel, sizeof rel, "ref/quant/logits-%s-T1.gguf", types[i]);
        float *g = read_logits(rel, &V, &T);
        assert_non_null(g);
        snprintf(what, sizeof what, "fixture F32 vs %s:", types[i]);
        topk_error(what, f, g, V, T);
        free(g);
    }
    free(f);
    free(p);
    /* synthetic flat distributions over a 150k vocabulary: the worst case */
    int VV = 150000, TT = 3;
    float *a = malloc(sizeof(float) * (size_t)VV * TT), *b = malloc(sizeof(float) * (size_t)VV * TT);
    for (size_t i = 0; i < (size_t)VV * TT; i++) {
        a[i] = (float)(0.5 * gauss(i + 7));
        b[i] = a[i] + (float)(0.1 * gauss(i + 9000000u));
    }
    topk_error("flat 150k vocab, logits N(0,.5)+N(0,.1):", a, b, VV, TT);
    free(a);
    free(b);
    /* the base-file size for 100k scored tokens is independent of the vocabulary */
    double mb = (192 + 100000.0 * (double)lpq__kld_base_record_size(32)) / 1e6;
    print_message("base file, 100k tokens, K=32: %.1f MB (llama.cpp's full-vocab file for a 150k vocab: %.1f GB)\n", mb,
                  100000.0 * 150000 * 2 / 1e9);
    assert_true(mb < 50);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_side_by_side),
        cmocka_unit_test(test_topk_file),
        cmocka_unit_test(test_topk_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
