/*
 * kld.c — the `kld` suite: KL divergence of a variant's next-token distribution from the
 * baseline's over the same tokens, with every statistic llama-perplexity --kl-divergence prints.
 * Modes: side by side (baseline and variant loaded together, full vocabulary, exact), top-K
 * base file (compare against lpq's compact file, a lower bound) and writing that file.
 * One result item per chunk holds running sums plus the per-token KLD and Δp values
 * (float32, base64) so percentiles survive a resume.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "suites/stats.h"
#include "suites/suites-impl.h"

/* ---- per-token computations ------------------------------------------------------------ */

static int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

void lpq__kld_full(const float *base, const float *var, int32_t n_vocab, int32_t target, struct lpq__kld_tok *out) {
    double lse_p = lpq__log_sum_exp(base, n_vocab), lse_q = lpq__log_sum_exp(var, n_vocab);
    double kld = 0;
    for (int32_t v = 0; v < n_vocab; v++) {
        double lp = base[v] - lse_p, lq = var[v] - lse_q;
        kld += exp(lp) * (lp - lq);
    }
    out->kld = kld;
    out->nll = lse_q - var[target];
    out->nll_base = lse_p - base[target];
    out->dp = exp(-out->nll) - exp(-out->nll_base);
    out->same_top = argmax(base, n_vocab) == argmax(var, n_vocab);
}

/* "a ranks above b": larger logit, ties to the lower id */
static bool ranks_above(const float *x, int32_t a, int32_t b) { return x[a] > x[b] || (x[a] == x[b] && a < b); }

static void heap_down(int32_t *h, int32_t n, int32_t i, const float *x) {
    for (;;) {   /* min-heap on rank: h[0] is the weakest of the kept K */
        int32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && ranks_above(x, h[m], h[l])) m = l;
        if (r < n && ranks_above(x, h[m], h[r])) m = r;
        if (m == i) return;
        int32_t t = h[i]; h[i] = h[m]; h[m] = t;
        i = m;
    }
}

void lpq__kld_topk_make(const float *base, int32_t n_vocab, int32_t target, int32_t k, int32_t *work,
                        struct lpq__kld_topk *rec) {
    int32_t *h = rec->ids;
    int32_t n = 0;
    for (int32_t v = 0; v < n_vocab; v++) {
        if (n < k) {
            h[n++] = v;
            if (n == k)
                for (int32_t i = k / 2 - 1; i >= 0; i--) heap_down(h, k, i, base);
        } else if (ranks_above(base, v, h[0])) {
            h[0] = v;
            heap_down(h, k, 0, base);
        }
    }
    if (n < k) for (int32_t i = n / 2 - 1; i >= 0; i--) heap_down(h, n, i, base);
    /* heap-sort: pop weakest to the end → descending rank order */
    for (int32_t e = n - 1; e > 0; e--) {
        int32_t t = h[0]; h[0] = h[e]; h[e] = t;
        heap_down(h, e, 0, base);
    }
    double lse = lpq__log_sum_exp(base, n_vocab);
    memset(work, 0, (size_t)n_vocab * sizeof *work);
    for (int32_t i = 0; i < n; i++) {
        rec->lp[i] = (float)(base[h[i]] - lse);
        work[h[i]] = 1;
    }
    double rest = 0;   /* summed directly, not 1 − Σ top: a tiny remainder keeps its precision */
    for (int32_t v = 0; v < n_vocab; v++)
        if (!work[v]) rest += exp(base[v] - lse);
    rec->k = n;
    rec->target = target;
    rec->lp_target = (float)(base[target] - lse);
    rec->lp_rest = rest > 0 ? (float)log(rest) : -INFINITY;
}

void lpq__kld_topk(const struct lpq__kld_topk *rec, const float *var, int32_t n_vocab, uint8_t *mask,
                   struct lpq__kld_tok *out) {
    double lse_q = lpq__log_sum_exp(var, n_vocab);
    double kld = 0;
    for (int32_t i = 0; i < rec->k; i++) {
        double lp = rec->lp[i], lq = var[rec->ids[i]] - lse_q;
        kld += exp(lp) * (lp - lq);
        mask[rec->ids[i]] = 1;
    }
    double q_rest = 0;
    for (int32_t v = 0; v < n_vocab; v++)
        if (!mask[v]) q_rest += exp(var[v] - lse_q);
    for (int32_t i = 0; i < rec->k; i++) mask[rec->ids[i]] = 0;
    if (isfinite(rec->lp_rest)) {
        double lpr = rec->lp_rest, lqr = log(q_rest > 1e-300 ? q_rest : 1e-300);
        kld += exp(lpr) * (lpr - lqr);
    }
    out->kld = kld;
    out->nll = lse_q - var[rec->target];
    out->nll_base = -(double)rec->lp_target;
    out->dp = exp(-out->nll) - exp(-out->nll_base);
    out->same_top = argmax(var, n_vocab) == rec->ids[0];
}

/* ---- base64 of float32 arrays (item storage) ------------------------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_t *f32_b64(const float *v, size_t n) {
    size_t nb = n * 4, no = (nb + 2) / 3 * 4;
    char *s = lpq_malloc(no + 1);
    if (!s) return NULL;
    const uint8_t *b = (const uint8_t *)v;   /* little-endian host, as everywhere in lpq */
    size_t o = 0;
    for (size_t i = 0; i < nb; i += 3) {
        uint32_t x = (uint32_t)b[i] << 16 | (i + 1 < nb ? (uint32_t)b[i + 1] << 8 : 0) | (i + 2 < nb ? b[i + 2] : 0);
        s[o++] = B64[x >> 18 & 63];
        s[o++] = B64[x >> 12 & 63];
        s[o++] = i + 1 < nb ? B64[x >> 6 & 63] : '=';
        s[o++] = i + 2 < nb ? B64[x & 63] : '=';
    }
    s[o] = 0;
    json_t *j = json_string(s);
    lpq_free(s);
    return j;
}

static int b64v(char c) {
    const char *p = strchr(B64, c);
    return c && p ? (int)(p - B64) : -1;
}

/* Decodes into out[n]; false when the string does not hold exactly n floats. */
static bool b64_f32(const char *s, float *out, size_t n) {
    size_t len = s ? strlen(s) : 0, nb = n * 4;
    if (len != (nb + 2) / 3 * 4) return false;
    uint8_t *b = (uint8_t *)out;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int a = b64v(s[i]), c = b64v(s[i + 1]), d = s[i + 2] == '=' ? 0 : b64v(s[i + 2]),
            e = s[i + 3] == '=' ? 0 : b64v(s[i + 3]);
        if (a < 0 || c < 0 || d < 0 || e < 0) return false;
        uint32_t x = (uint32_t)a << 18 | (uint32_t)c << 12 | (uint32_t)d << 6 | (uint32_t)e;
        if (o < nb) b[o++] = (uint8_t)(x >> 16);
        if (o < nb) b[o++] = (uint8_t)(x >> 8);
        if (o < nb) b[o++] = (uint8_t)x;
    }
    return true;
}

/* ---- chunk items and the summary ------------------------------------------------------- */

struct kld_sums {
    double n, nll, nll2, nll_b, nll_b2, nll_nll_b, kld, kld2, dp, dp2, dp4, same_top;
};

static void sums_add(struct kld_sums *s, const struct lpq__kld_tok *t) {
    s->n += 1;
    s->nll += t->nll;
    s->nll2 += t->nll * t->nll;
    s->nll_b += t->nll_base;
    s->nll_b2 += t->nll_base * t->nll_base;
    s->nll_nll_b += t->nll * t->nll_base;
    s->kld += t->kld;
    s->kld2 += t->kld * t->kld;
    s->dp += t->dp;
    s->dp2 += t->dp * t->dp;
    s->dp4 += t->dp * t->dp * t->dp * t->dp;
    s->same_top += t->same_top;
}

#define KLD_SUM_FIELDS(X) X(n) X(nll) X(nll2) X(nll_b) X(nll_b2) X(nll_nll_b) X(kld) X(kld2) X(dp) X(dp2) X(dp4) X(same_top)

static json_t *item_make(const struct kld_sums *s, const float *kld, const float *dp, size_t n, double t_s) {
    json_t *it = json_object();
#define X(f) json_object_set_new(it, #f, json_real(s->f));
    KLD_SUM_FIELDS(X)
#undef X
    json_object_set_new(it, "kld_f32", f32_b64(kld, n));
    json_object_set_new(it, "dp_f32", f32_b64(dp, n));
    json_object_set_new(it, "t_s", json_real(t_s));
    return it;
}

static json_t *val_err(double v, double e) {
    json_t *o = json_object();
    json_object_set_new(o, "value", json_real(v));
    json_object_set_new(o, "err", json_real(e));
    return o;
}

static const struct { const char *key; double f; } PCT[] = {
    { "p99_9", 0.999 }, { "p99", 0.99 }, { "p95", 0.95 }, { "p90", 0.90 }, { "p75", 0.75 },
    { "p25", 0.25 }, { "p10", 0.10 }, { "p5", 0.05 }, { "p1", 0.01 }, { "p0_1", 0.001 },
};

static json_t *distribution(double *v, size_t n, double mean, double err, bool quartiles) {
    lpq_stats_sort(v, n);
    json_t *o = json_object();
    json_object_set_new(o, "mean", json_real(mean));
    json_object_set_new(o, "err", json_real(err));
    json_object_set_new(o, "max", json_real(n ? v[n - 1] : 0));
    json_object_set_new(o, "median", json_real(lpq_stats_median(v, n)));
    json_object_set_new(o, "min", json_real(n ? v[0] : 0));
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(PCT); i++) {
        if (!quartiles && (PCT[i].f == 0.75 || PCT[i].f == 0.25)) continue;
        json_object_set_new(o, PCT[i].key, json_real(lpq_stats_percentile(v, n, PCT[i].f)));
    }
    return o;
}

/* Builds the summary from the stored items of chunks 0..n_chunks-1 (llama.cpp's formulas). */
static enum lpq_status summarize(struct lpq_results *res, const char *prefix, int64_t n_chunks, int64_t n_scored,
                                 json_t *summary, struct lpq_err *err) {
    struct kld_sums s;
    memset(&s, 0, sizeof s);
    size_t cap = (size_t)(n_chunks * n_scored), n = 0;
    double *kv = lpq_malloc_array(cap ? cap : 1, sizeof(double)), *dv = lpq_malloc_array(cap ? cap : 1, sizeof(double));
    float *tmp = lpq_malloc_array((size_t)(n_scored > 0 ? n_scored : 1), sizeof(float));
    enum lpq_status st = LPQ_STATUS_OK;
    char id[240];
    if (!kv || !dv || !tmp) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "kld: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n_chunks; i++) {
        snprintf(id, sizeof id, "%s/chunk/%lld", prefix, (long long)i);
        json_t *it = lpq_results_item(res, "kld", id);
#define X(f) s.f += json_number_value(json_object_get(it, #f));
        KLD_SUM_FIELDS(X)
#undef X
        if (!b64_f32(json_string_value(json_object_get(it, "kld_f32")), tmp, (size_t)n_scored)) goto bad;
        for (int64_t j = 0; j < n_scored; j++) kv[n + (size_t)j] = tmp[j];
        if (!b64_f32(json_string_value(json_object_get(it, "dp_f32")), tmp, (size_t)n_scored)) goto bad;
        for (int64_t j = 0; j < n_scored; j++) dv[n + (size_t)j] = tmp[j];
        n += (size_t)n_scored;
        continue;
    bad:
        st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "kld: stored item %s is damaged (per-token arrays); rerun with --fresh", id);
        goto done;
    }
    double lq, eq, lb, eb, km, ke, dm, de, mse, mse_e;
    lpq_stats_mean_err(s.n, s.nll, s.nll2, &lq, &eq);
    lpq_stats_mean_err(s.n, s.nll_b, s.nll_b2, &lb, &eb);
    lpq_stats_mean_err(s.n, s.kld, s.kld2, &km, &ke);
    lpq_stats_mean_err(s.n, s.dp, s.dp2, &dm, &de);
    lpq_stats_mean_err(s.n, s.dp2, s.dp4, &mse, &mse_e);
    double cov = lpq_stats_cov_of_means(s.n, s.nll, s.nll_b, s.nll_nll_b);
    double ppl = exp(lq), ppl_b = exp(lb);
    double ratio = lq - lb, ratio_e2 = eq * eq + eb * eb - 2 * cov;
    double ratio_e = ratio_e2 > 0 ? sqrt(ratio_e2) : 0;
    double diff_e2 = ppl * eq * ppl * eq + ppl_b * eb * ppl_b * eb - 2 * ppl * ppl_b * cov;
    double rms = sqrt(mse > 0 ? mse : 0);
    double top = s.n > 0 ? s.same_top / s.n : 0;
    double lo, hi;
    lpq_stats_wilson(s.same_top, s.n, 1.959963984540054, &lo, &hi);
    json_object_set_new(summary, "n_tokens", json_real(s.n));
    json_object_set_new(summary, "ppl_q", val_err(ppl, ppl * eq));
    json_object_set_new(summary, "ppl_base", val_err(ppl_b, ppl_b * eb));
    json_object_set_new(summary, "cov_ln_ppl", json_real(cov));
    json_object_set_new(summary, "cor_ln_ppl", json_real(eq > 0 && eb > 0 ? cov / (eq * eb) : 0));
    json_object_set_new(summary, "ln_ppl_ratio", val_err(ratio, ratio_e));
    json_object_set_new(summary, "ppl_ratio", val_err(exp(ratio), exp(ratio) * ratio_e));
    json_object_set_new(summary, "ppl_diff", val_err(ppl - ppl_b, diff_e2 > 0 ? sqrt(diff_e2) : 0));
    json_object_set_new(summary, "kld", distribution(kv, n, km, ke, false));
    json_object_set_new(summary, "dp", distribution(dv, n, dm, de, true));
    json_object_set_new(summary, "rms_dp", val_err(rms, rms > 0 ? 0.5 / rms * mse_e : 0));
    json_t *t = val_err(top, s.n > 1 ? sqrt(top * (1 - top) / (s.n - 1)) : 0);
    json_object_set_new(t, "wilson95", json_pack("[ff]", lo, hi));
    json_object_set_new(summary, "same_top", t);
done:
    lpq_free(kv);
    lpq_free(dv);
    lpq_free(tmp);
    return st;
}

/* ---- the suite ------------------------------------------------------------------------- */

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static enum lpq_status write_base(struct lpq_suite_ctx *ctx, const struct lpq__text *t, const struct lpq__chunks *c,
                                  struct lpq_err *err) {
    const struct lpq_suite_opts *o = ctx->opts;
    int32_t nv = lpq_rt_n_vocab(ctx->model), k = o->kld_top_k > 0 ? o->kld_top_k : 32;
    if (k > nv) k = nv;
    struct lpq__kld_base_hdr h;
    memset(&h, 0, sizeof h);
    h.version = 1;
    h.top_k = (uint32_t)k;
    h.n_vocab = (uint32_t)nv;
    h.n_ctx = (uint32_t)c->n_ctx;
    h.n_chunks = (uint32_t)c->n_chunks;
    h.n_scored = (uint32_t)c->n_scored;
    lpq__unhex(t->ids_sha256, h.ids_sha256, 32);
    if (ctx->model_sha256) lpq__unhex(ctx->model_sha256, h.model_sha256, 32);
    snprintf(h.dataset, sizeof h.dataset, "%.63s", t->name);

    /* already written for these tokens and K: keep it (the write is one step, not resumable) */
    struct lpq__kld_base_reader *rd = NULL;
    struct lpq__kld_base_hdr old;
    if (lpq__kld_base_open(o->kld_base, &rd, &old, NULL) == LPQ_STATUS_OK) {
        bool same = old.top_k == h.top_k && old.n_ctx == h.n_ctx && old.n_chunks == h.n_chunks &&
                    !memcmp(old.ids_sha256, h.ids_sha256, 32) && old.n_vocab == h.n_vocab;
        lpq__kld_base_close(rd);
        if (same && lpq_results_summary(ctx->res, "kld")) return LPQ_STATUS_OK;
    }
    struct lpq__kld_base_writer *w = NULL;
    enum lpq_status st = lpq__kld_base_create(o->kld_base, &h, &w, err);
    if (st) return st;
    float *logits = lpq_malloc_array((size_t)c->n_scored * (size_t)nv, sizeof(float));
    int32_t *tok = lpq_malloc_array((size_t)c->n_ctx, sizeof(int32_t));
    int32_t *work = lpq_malloc_array((size_t)nv, sizeof(int32_t));
    int32_t *ids = lpq_malloc_array((size_t)k, sizeof(int32_t));
    float *lp = lpq_malloc_array((size_t)k, sizeof(float));
    if (!logits || !tok || !work || !ids || !lp) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "kld: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < c->n_chunks; i++) {
        if ((st = lpq__chunk_eval(ctx->model, t, c, i, tok, logits, err))) goto done;
        for (int64_t j = 0; j < c->n_scored; j++) {
            struct lpq__kld_topk rec = { .ids = ids, .lp = lp };
            lpq__kld_topk_make(logits + (size_t)j * (size_t)nv, nv, tok[c->first + j + 1], k, work, &rec);
            if ((st = lpq__kld_base_write(w, &rec, err))) goto done;
        }
        if (ctx->progress) ctx->progress(ctx->progress_user, "kld", i + 1, c->n_chunks);
    }
    st = lpq__kld_base_finish(w, err);
    w = NULL;
    if (st) goto done;
    struct stat sb;
    double n_tok = (double)c->n_chunks * (double)c->n_scored;
    json_t *s = json_object();
    json_object_set_new(s, "mode", json_string("write-base"));
    json_object_set_new(s, "base_file", json_string(o->kld_base));
    json_object_set_new(s, "top_k", json_integer(k));
    json_object_set_new(s, "n_tokens", json_real(n_tok));
    json_object_set_new(s, "bytes", json_integer(stat(o->kld_base, &sb) == 0 ? (json_int_t)sb.st_size : 0));
    json_object_set_new(s, "bytes_per_token", json_real((double)lpq__kld_base_record_size((uint32_t)k)));
    st = lpq_results_put_summary(ctx->res, "kld", s);
    if (st) lpq_err_set(err, st, "kld: saving results: %s", lpq_results_errmsg(ctx->res));
done:
    lpq__kld_base_abort(w);
    lpq_free(logits);
    lpq_free(tok);
    lpq_free(work);
    lpq_free(ids);
    lpq_free(lp);
    return st;
}

static enum lpq_status kld_run(struct lpq_suite_ctx *ctx, struct lpq_err *err) {
    const struct lpq_suite_opts *o = ctx->opts;
    bool topk = o->kld_base && *o->kld_base;
    bool writing = topk && o->kld_write && ctx->is_baseline;
    if (!topk && ctx->is_baseline)
        return lpq_results_put_status(ctx->res, "kld", "skipped",
                                      "this variant is the baseline (side-by-side mode compares the others to it)");
    if (!topk && !ctx->baseline)
        return lpq_results_put_status(ctx->res, "kld", "skipped",
                                      "no baseline loaded: the folder has no F32/BF16/F16/Q8_0 variant "
                                      "(name one with --baseline) or use --kld-base FILE");
    struct lpq__text t, tb;
    struct lpq__chunks c;
    memset(&tb, 0, sizeof tb);
    struct lpq__kld_base_reader *rd = NULL;
    struct lpq__kld_base_hdr h;
    float *lq = NULL, *lb = NULL, *kv = NULL, *dv = NULL;
    int32_t *tok = NULL;
    uint8_t *mask = NULL;
    char prefix[200], id[240];
    enum lpq_status st = lpq__text_load(ctx->model, o, &t, err);
    if (st) return st;
    if ((st = lpq__chunks_plan(&t, ctx->model, o, "kld", &c, err))) goto done;
    if (writing) {
        st = write_base(ctx, &t, &c, err);
        goto done;
    }
    int32_t nv = lpq_rt_n_vocab(ctx->model);
    if (topk) {
        if ((st = lpq__kld_base_open(o->kld_base, &rd, &h, err))) goto done;
        uint8_t ids_sha[32];
        lpq__unhex(t.ids_sha256, ids_sha, 32);
        if (memcmp(ids_sha, h.ids_sha256, 32) || h.n_ctx != (uint32_t)c.n_ctx || h.n_vocab != (uint32_t)nv) {
            st = lpq_err_set(err, LPQ_STATUS_TYPE_MISMATCH,
                             "kld base %s was made for other tokens or settings (dataset %s, ctx %u, vocab %u; "
                             "this run: %s, ctx %lld, vocab %d)", o->kld_base, h.dataset, h.n_ctx, h.n_vocab,
                             t.name, (long long)c.n_ctx, nv);
            goto done;
        }
        if (c.n_chunks > (int64_t)h.n_chunks) c.n_chunks = h.n_chunks;
        char ms[65] = "unknown";
        static const uint8_t zero[32];
        if (memcmp(h.model_sha256, zero, 32)) lpq__hex(h.model_sha256, 32, ms);
        snprintf(prefix, sizeof prefix, "%s/ctx%lld/top%u:%.16s", t.name, (long long)c.n_ctx, h.top_k, ms);
    } else {
        if (lpq_rt_n_vocab(ctx->baseline) != nv) {
            st = lpq_err_set(err, LPQ_STATUS_TYPE_MISMATCH, "kld: baseline %s has %d tokens in its vocabulary, variant %d",
                             ctx->baseline_path, lpq_rt_n_vocab(ctx->baseline), nv);
            goto done;
        }
        if ((st = lpq__text_load(ctx->baseline, o, &tb, err))) goto done;
        if (strcmp(tb.ids_sha256, t.ids_sha256)) {
            st = lpq_err_set(err, LPQ_STATUS_TYPE_MISMATCH,
                             "kld: baseline %s and variant %s tokenize %s differently (%lld vs %lld tokens)",
                             ctx->baseline_path, ctx->model_path, t.name, (long long)tb.n_ids, (long long)t.n_ids);
            goto done;
        }
        snprintf(prefix, sizeof prefix, "%s/ctx%lld/sxs:%s", t.name, (long long)c.n_ctx, base_name(ctx->baseline_path));
    }
    size_t rows = (size_t)c.n_scored * (size_t)nv;
    lq = lpq_malloc_array(rows, sizeof(float));
    lb = topk ? NULL : lpq_malloc_array(rows, sizeof(float));
    kv = lpq_malloc_array((size_t)c.n_scored, sizeof(float));
    dv = lpq_malloc_array((size_t)c.n_scored, sizeof(float));
    tok = lpq_malloc_array((size_t)c.n_ctx, sizeof(int32_t));
    mask = lpq_calloc((size_t)nv, 1);
    if (!lq || (!topk && !lb) || !kv || !dv || !tok || !mask) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "kld: out of memory for %lld × %d logits", (long long)c.n_scored, nv);
        goto done;
    }
    json_t *params = json_object();
    json_object_set_new(params, "mode", json_string(topk ? "top-k" : "side-by-side"));
    json_object_set_new(params, "dataset", json_string(t.name));
    json_object_set_new(params, "dataset_sha256", json_string(t.sha256));
    json_object_set_new(params, "n_ctx", json_integer(c.n_ctx));
    json_object_set_new(params, "n_chunks", json_integer(c.n_chunks));
    json_object_set_new(params, "baseline", json_string(topk ? o->kld_base : ctx->baseline_path));
    lpq_results_put_params(ctx->res, "kld", params);
    for (int64_t i = 0; i < c.n_chunks; i++) {
        snprintf(id, sizeof id, "%s/chunk/%lld", prefix, (long long)i);
        if (lpq_results_item(ctx->res, "kld", id)) continue;
        uint64_t t0 = lpq_time_ns();
        if (!topk && (st = lpq__chunk_eval(ctx->baseline, &t, &c, i, tok, lb, err))) goto done;
        if ((st = lpq__chunk_eval(ctx->model, &t, &c, i, tok, lq, err))) goto done;
        struct kld_sums s;
        memset(&s, 0, sizeof s);
        for (int64_t j = 0; j < c.n_scored; j++) {
            struct lpq__kld_tok r;
            int32_t target = tok[c.first + j + 1];
            const float *q = lq + (size_t)j * (size_t)nv;
            if (topk) {
                struct lpq__kld_topk rec;
                if ((st = lpq__kld_base_read(rd, i, j, &rec, err))) goto done;
                if (rec.target != target) {
                    st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "kld base %s: chunk %lld token %lld is %d, the text has %d",
                                     o->kld_base, (long long)i, (long long)j, rec.target, target);
                    goto done;
                }
                lpq__kld_topk(&rec, q, nv, mask, &r);
            } else {
                lpq__kld_full(lb + (size_t)j * (size_t)nv, q, nv, target, &r);
            }
            sums_add(&s, &r);
            kv[j] = (float)r.kld;
            dv[j] = (float)r.dp;
        }
        json_t *item = item_make(&s, kv, dv, (size_t)c.n_scored, (double)(lpq_time_ns() - t0) * 1e-9);
        if ((st = lpq_results_put_item(ctx->res, "kld", id, item))) {
            lpq_err_set(err, st, "kld: saving results: %s", lpq_results_errmsg(ctx->res));
            goto done;
        }
        if (ctx->progress) ctx->progress(ctx->progress_user, "kld", i + 1, c.n_chunks);
    }
    json_t *sum = json_object();
    json_object_set_new(sum, "mode", json_string(topk ? "top-k" : "side-by-side"));
    if (topk) json_object_set_new(sum, "top_k", json_integer(h.top_k));
    json_object_set_new(sum, "baseline", json_string(topk ? o->kld_base : ctx->baseline_path));
    json_object_set_new(sum, "dataset", json_string(t.name));
    json_object_set_new(sum, "n_ctx", json_integer(c.n_ctx));
    json_object_set_new(sum, "n_chunks", json_integer(c.n_chunks));
    if ((st = summarize(ctx->res, prefix, c.n_chunks, c.n_scored, sum, err))) {
        json_decref(sum);
        goto done;
    }
    if ((st = lpq_results_put_summary(ctx->res, "kld", sum)))
        lpq_err_set(err, st, "kld: saving results: %s", lpq_results_errmsg(ctx->res));
done:
    lpq__kld_base_close(rd);
    lpq__text_free(&t);
    lpq__text_free(&tb);
    lpq_free(lq);
    lpq_free(lb);
    lpq_free(kv);
    lpq_free(dv);
    lpq_free(tok);
    lpq_free(mask);
    return st;
}

const struct lpq_suite lpq_suite_kld = {
    .name = "kld",
    .desc = "KL divergence vs the baseline (side by side, or against a top-K base file)",
    .needs_baseline = true,
    .in_quick = true,
    .uses_text = true,
    .run = kld_run,
};
