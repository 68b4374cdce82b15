/*
 * ppl.c — the `ppl` suite: perplexity exactly as llama-perplexity computes it (chunks of n_ctx
 * tokens from an empty cache, first token → BOS, second half scored), plus lm-evaluation-harness'
 * rolling log-likelihood (every token scored once) and bits per byte. Also the text → tokens →
 * chunk machinery the kld suite shares (suites-impl.h). One result item per chunk / window.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "datasets/datasets.h"
#include "quant/quantize.h"
#include "suites/stats.h"
#include "suites/suites-impl.h"

void lpq__hex(const uint8_t *d, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

bool lpq__unhex(const char *s, uint8_t *d, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (!s[2 * i] || !s[2 * i + 1] || sscanf(s + 2 * i, "%2x", &v) != 1) return false;
        d[i] = (uint8_t)v;
    }
    return true;
}

double lpq__log_sum_exp(const float *x, int32_t n) {
    float mx = x[0];
    for (int32_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double s = 0;
    for (int32_t i = 0; i < n; i++) s += exp((double)x[i] - mx);
    return mx + log(s);
}

void lpq__text_free(struct lpq__text *t) {
    if (!t) return;
    lpq_free(t->text);
    lpq_free(t->ids);
    memset(t, 0, sizeof *t);
}

enum lpq_status lpq__text_load(struct lpq_rt_model *m, const struct lpq_suite_opts *o, struct lpq__text *t,
                               struct lpq_err *err) {
    memset(t, 0, sizeof *t);
    const char *name = o->dataset ? o->dataset : lpq_dataset_default_text();
    snprintf(t->name, sizeof t->name, "%s", name);
    enum lpq_status st = lpq_dataset_load_text(name, o->data_dir, &t->text, &t->n_bytes, t->sha256, err);
    if (st) return st;
    /* llama-perplexity -f drops one final newline before tokenizing */
    if (t->n_bytes && t->text[t->n_bytes - 1] == '\n') t->text[--t->n_bytes] = 0;
    size_t cap = t->n_bytes + 16, n = 0;
    t->ids = lpq_malloc_array(cap, sizeof(int32_t));
    if (!t->ids) {
        lpq__text_free(t);
        return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "tokenizing %s: out of memory", name);
    }
    st = lpq_rt_tokenize(m, t->text, t->n_bytes, true, false, t->ids, cap, &n);
    if (st) {
        lpq_err_set(err, st, "tokenizing %s: %s", name, lpq_rt_errmsg(m));
        lpq__text_free(t);
        return st;
    }
    t->n_ids = (int64_t)n;
    t->add_bos = lpq_rt_add_bos(m);
    t->bos = lpq_rt_token_bos(m);
    /* digest of the ids as int32 little-endian (this code assumes a little-endian host, as GGUF does) */
    struct lpq_sha256 h;
    uint8_t d[32];
    lpq_sha256_init(&h);
    lpq_sha256_update(&h, t->ids, n * sizeof(int32_t));
    lpq_sha256_final(&h, d);
    lpq__hex(d, 32, t->ids_sha256);
    return LPQ_STATUS_OK;
}

enum lpq_status lpq__chunks_plan(const struct lpq__text *t, struct lpq_rt_model *m,
                                 const struct lpq_suite_opts *o, const char *suite,
                                 struct lpq__chunks *c, struct lpq_err *err) {
    c->n_ctx = o->n_ctx > 0 ? o->n_ctx : 512;
    int64_t model_ctx = lpq_rt_n_ctx(m);
    if (model_ctx > 0 && c->n_ctx > model_ctx)
        return lpq_err_set(err, LPQ_STATUS_RANGE, "%s: --ctx %lld exceeds the context the model was loaded with (%lld)",
                           suite, (long long)c->n_ctx, (long long)model_ctx);
    if (c->n_ctx < 4) return lpq_err_set(err, LPQ_STATUS_RANGE, "%s: --ctx %lld is too small (minimum 4)",
                                         suite, (long long)c->n_ctx);
    if (t->n_ids < 2 * c->n_ctx)
        return lpq_err_set(err, LPQ_STATUS_RANGE,
                           "%s: dataset %s has %lld tokens; at least 2 × ctx = %lld are needed (use a smaller --ctx)",
                           suite, t->name, (long long)t->n_ids, (long long)(2 * c->n_ctx));
    c->n_chunks = t->n_ids / c->n_ctx;
    int64_t cap = o->n_chunks > 0 ? o->n_chunks : (o->quick ? 4 : 0);
    if (cap > 0 && cap < c->n_chunks) c->n_chunks = cap;
    c->cap = cap;
    c->first = c->n_ctx / 2;
    c->n_scored = c->n_ctx - 1 - c->first;
    return LPQ_STATUS_OK;
}

/* Evaluates tok[0..n) from an empty cache; logits for positions [first, last] go to `logits`. */
static enum lpq_status eval_span(struct lpq_rt_model *m, const int32_t *tok, int64_t n, int64_t first,
                                 int64_t last, float *logits, struct lpq_err *err) {
    enum lpq_status st = lpq_rt_kv_trim(m, 0);
    if (st) return lpq_err_set(err, st, "clearing the KV cache: %s", lpq_rt_errmsg(m));
    const struct lpq_rt_reg *reg = lpq_rt_model_reg(m);
    struct lpq_rt_caps caps;
    memset(&caps, 0, sizeof caps);
    reg->iface->caps(&caps);
    int64_t nb = caps.n_batch_max > 0 ? caps.n_batch_max : n;
    /* the batch size the model was loaded with (lpq_rt_params.n_batch) bounds one call too */
    int64_t loaded = ((const struct lpq_rt_model_base *)m)->n_batch;
    if (loaded > 0 && loaded < nb) nb = loaded;
    if (!caps.batching) nb = 1;
    int32_t nv = lpq_rt_n_vocab(m);
    bool *want = lpq_calloc((size_t)(nb > 0 ? nb : 1), sizeof *want);
    if (!want) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "eval: out of memory");
    float *out = logits;
    for (int64_t s = 0; s < n && st == LPQ_STATUS_OK; s += nb) {
        int64_t e = s + nb < n ? s + nb : n;
        bool any = false;
        for (int64_t j = s; j < e; j++) any |= (want[j - s] = (j >= first && j <= last));
        /* want = NULL would mean "last only"; a batch with nothing wanted still needs a flag
         * array, all false, so nothing is written */
        st = lpq_rt_eval(m, tok + s, e - s, want, out);
        if (st) {
            lpq_err_set(err, st, "eval: %s", lpq_rt_errmsg(m));
            break;
        }
        if (any) {
            int64_t lo = s > first ? s : first, hi = (e - 1) < last ? (e - 1) : last;
            out += (size_t)(hi - lo + 1) * (size_t)nv;
        }
    }
    lpq_free(want);
    return st;
}

enum lpq_status lpq__chunk_eval(struct lpq_rt_model *m, const struct lpq__text *t, const struct lpq__chunks *c,
                                int64_t i, int32_t *tok, float *logits, struct lpq_err *err) {
    memcpy(tok, t->ids + i * c->n_ctx, (size_t)c->n_ctx * sizeof(int32_t));
    if (t->add_bos && t->bos >= 0) tok[0] = t->bos;
    return eval_span(m, tok, c->n_ctx, c->first, c->n_ctx - 2, logits, err);
}

static void report(struct lpq_suite_ctx *ctx, int64_t done, int64_t total) {
    if (ctx->progress) ctx->progress(ctx->progress_user, "ppl", done, total);
}

static enum lpq_status put(struct lpq_suite_ctx *ctx, const char *id, json_t *item, struct lpq_err *err) {
    enum lpq_status st = lpq_results_put_item(ctx->res, "ppl", id, item);
    if (st) lpq_err_set(err, st, "ppl: saving results: %s", lpq_results_errmsg(ctx->res));
    return st;
}

/* Rolling windows (lm-evaluation-harness loglikelihood_rolling, context_len 1): with x = ids[1..]
 * and prefix ids[0], window 0 feeds [prefix, x0..x_{L-2}] and scores x0..x_{L-1}; later windows
 * score the next ≤ L tokens, fed the L tokens before each (so each token is scored once). */
struct rolling_win {
    int64_t in_start;           /* index into ids of the window's first input token */
    int64_t n_in;               /* tokens fed */
    int64_t first;              /* first scored position inside the window */
};

static int64_t rolling_n_windows(int64_t m, int64_t L) { return (m + L - 1) / L; }

static struct rolling_win rolling_window(int64_t m, int64_t L, int64_t w) {
    struct rolling_win r;
    if (w == 0) {
        int64_t n_pred = m < L ? m : L;
        r.in_start = 0;          /* prefix = ids[0], then x0.. = ids[1..] */
        r.n_in = n_pred;
        r.first = 0;
        return r;
    }
    int64_t predicted = w * L;
    int64_t n_pred = m - predicted < L ? m - predicted : L;
    int64_t end = predicted + n_pred;           /* in x coordinates */
    /* input x[end-L-1 .. end-1) = ids[end-L .. end) */
    r.in_start = end - L;
    r.n_in = L;
    r.first = L - n_pred;
    return r;
}

static enum lpq_status run_rolling(struct lpq_suite_ctx *ctx, const struct lpq__text *t, const struct lpq__chunks *c,
                                   const char *prefix, json_t *summary, struct lpq_err *err) {
    enum lpq_status st = LPQ_STATUS_OK;
    int64_t L = c->n_ctx, m = t->n_ids - 1;
    int64_t n_win = rolling_n_windows(m, L);
    bool capped = false;
    if (c->cap > 0 && n_win > c->cap) {
        n_win = c->cap;
        capped = true;
    }
    int32_t nv = lpq_rt_n_vocab(ctx->model);
    float *logits = lpq_malloc_array((size_t)L * (size_t)nv, sizeof(float));
    char id[200];
    if (!logits) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "ppl: out of memory");
    for (int64_t w = 0; w < n_win; w++) {
        snprintf(id, sizeof id, "%s/rolling/%lld", prefix, (long long)w);
        if (lpq_results_item(ctx->res, "ppl", id)) continue;
        struct rolling_win rw = rolling_window(m, L, w);
        uint64_t t0 = lpq_time_ns();
        st = eval_span(ctx->model, t->ids + rw.in_start, rw.n_in, rw.first, rw.n_in - 1, logits, err);
        if (st) goto done;
        double s = 0;
        int64_t n = 0, bytes = 0;
        for (int64_t j = rw.first; j < rw.n_in; j++, n++) {
            int32_t target = t->ids[rw.in_start + j + 1];
            const float *row = logits + (size_t)(j - rw.first) * (size_t)nv;
            s += lpq__log_sum_exp(row, nv) - row[target];
            char piece[256];
            size_t pl = lpq_rt_token_to_piece(ctx->model, target, piece, sizeof piece, false);
            bytes += (int64_t)(pl < sizeof piece ? pl : sizeof piece);
        }
        json_t *item = json_object();
        json_object_set_new(item, "n", json_integer(n));
        json_object_set_new(item, "sum_nll", json_real(s));
        json_object_set_new(item, "piece_bytes", json_integer(bytes));
        json_object_set_new(item, "t_s", json_real((double)(lpq_time_ns() - t0) * 1e-9));
        if ((st = put(ctx, id, item, err))) goto done;
        report(ctx, c->n_chunks + w + 1, c->n_chunks + n_win);
    }
    double sum = 0, n = 0, piece_bytes = 0;
    for (int64_t w = 0; w < n_win; w++) {
        snprintf(id, sizeof id, "%s/rolling/%lld", prefix, (long long)w);
        json_t *it = lpq_results_item(ctx->res, "ppl", id);
        sum += json_number_value(json_object_get(it, "sum_nll"));
        n += (double)json_integer_value(json_object_get(it, "n"));
        piece_bytes += (double)json_integer_value(json_object_get(it, "piece_bytes"));
    }
    /* bytes: the text's own length when every token was scored; else the scored tokens' pieces */
    double bytes = capped ? piece_bytes : (double)t->n_bytes;
    json_t *r = json_object();
    json_object_set_new(r, "windows", json_integer(n_win));
    json_object_set_new(r, "complete", json_boolean(!capped));
    json_object_set_new(r, "n_tokens", json_real(n));
    json_object_set_new(r, "n_bytes", json_real(bytes));
    json_object_set_new(r, "loglikelihood", json_real(-sum));
    json_object_set_new(r, "token_perplexity", json_real(n > 0 ? exp(sum / n) : 0));
    json_object_set_new(r, "byte_perplexity", json_real(bytes > 0 ? exp(sum / bytes) : 0));
    json_object_set_new(r, "bits_per_byte", json_real(bytes > 0 ? sum / bytes / log(2.0) : 0));
    json_object_set_new(summary, "rolling", r);
done:
    lpq_free(logits);
    return st;
}

static enum lpq_status ppl_run(struct lpq_suite_ctx *ctx, struct lpq_err *err) {
    struct lpq__text t;
    struct lpq__chunks c;
    enum lpq_status st = lpq__text_load(ctx->model, ctx->opts, &t, err);
    if (st) return st;
    float *logits = NULL;
    int32_t *tok = NULL;
    char prefix[160], id[200];
    if ((st = lpq__chunks_plan(&t, ctx->model, ctx->opts, "ppl", &c, err))) goto done;
    int32_t nv = lpq_rt_n_vocab(ctx->model);
    logits = lpq_malloc_array((size_t)c.n_scored * (size_t)nv, sizeof(float));
    tok = lpq_malloc_array((size_t)c.n_ctx, sizeof(int32_t));
    if (!logits || !tok) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "ppl: out of memory for %lld × %d logits",
                         (long long)c.n_scored, nv);
        goto done;
    }
    /* item ids name what determines their values, so a change of dataset or ctx never reuses them */
    snprintf(prefix, sizeof prefix, "%s/ctx%lld", t.name, (long long)c.n_ctx);
    json_t *params = json_object();
    json_object_set_new(params, "dataset", json_string(t.name));
    json_object_set_new(params, "dataset_sha256", json_string(t.sha256));
    json_object_set_new(params, "n_ctx", json_integer(c.n_ctx));
    json_object_set_new(params, "n_chunks", json_integer(c.n_chunks));
    json_object_set_new(params, "tokens_sha256", json_string(t.ids_sha256));
    lpq_results_put_params(ctx->res, "ppl", params);

    int64_t n_win = rolling_n_windows(t.n_ids - 1, c.n_ctx);
    if (c.cap > 0 && n_win > c.cap) n_win = c.cap;
    int64_t total = c.n_chunks + n_win, done = 0;
    for (int64_t i = 0; i < c.n_chunks; i++, done++) {
        snprintf(id, sizeof id, "%s/chunk/%lld", prefix, (long long)i);
        if (lpq_results_item(ctx->res, "ppl", id)) continue;
        uint64_t t0 = lpq_time_ns();
        if ((st = lpq__chunk_eval(ctx->model, &t, &c, i, tok, logits, err))) goto done;
        double s = 0, s2 = 0;
        for (int64_t j = 0; j < c.n_scored; j++) {
            const float *row = logits + (size_t)j * (size_t)nv;
            int32_t target = tok[c.first + j + 1];
            double nll = lpq__log_sum_exp(row, nv) - row[target];
            s += nll;
            s2 += nll * nll;
        }
        json_t *item = json_object();
        json_object_set_new(item, "n", json_integer(c.n_scored));
        json_object_set_new(item, "sum_nll", json_real(s));
        json_object_set_new(item, "sum_nll2", json_real(s2));
        json_object_set_new(item, "tokens", json_integer(c.n_ctx));
        json_object_set_new(item, "t_s", json_real((double)(lpq_time_ns() - t0) * 1e-9));
        if ((st = put(ctx, id, item, err))) goto done;
        report(ctx, done + 1, total);
    }
    /* The summary is computed from the stored items alone, in chunk order, so a resumed run
     * gives bit-identical figures. */
    double n = 0, s = 0, s2 = 0, t_s = 0, toks = 0;
    for (int64_t i = 0; i < c.n_chunks; i++) {
        snprintf(id, sizeof id, "%s/chunk/%lld", prefix, (long long)i);
        json_t *it = lpq_results_item(ctx->res, "ppl", id);
        n += (double)json_integer_value(json_object_get(it, "n"));
        s += json_number_value(json_object_get(it, "sum_nll"));
        s2 += json_number_value(json_object_get(it, "sum_nll2"));
        t_s += json_number_value(json_object_get(it, "t_s"));
        toks += (double)json_integer_value(json_object_get(it, "tokens"));
    }
    double mean, err_mean;
    lpq_stats_mean_err_any(n, s, s2, &mean, &err_mean);
    json_t *sum = json_object();
    json_object_set_new(sum, "dataset", json_string(t.name));
    json_object_set_new(sum, "dataset_sha256", json_string(t.sha256));
    json_object_set_new(sum, "n_tokens_text", json_integer(t.n_ids));
    json_object_set_new(sum, "n_ctx", json_integer(c.n_ctx));
    json_object_set_new(sum, "n_chunks", json_integer(c.n_chunks));
    json_object_set_new(sum, "n_scored", json_real(n));
    json_object_set_new(sum, "mean_nll", json_real(mean));
    json_object_set_new(sum, "mean_nll_err", json_real(err_mean));
    json_object_set_new(sum, "ppl", json_real(exp(mean)));
    json_object_set_new(sum, "ppl_err", json_real(exp(mean) * err_mean));
    json_object_set_new(sum, "eval_tokens", json_real(toks));
    json_object_set_new(sum, "eval_seconds", json_real(t_s));
    json_object_set_new(sum, "eval_tokens_per_second", json_real(t_s > 0 ? toks / t_s : 0));
    st = run_rolling(ctx, &t, &c, prefix, sum, err);
    report(ctx, total, total);
    if (st) {
        json_decref(sum);
        goto done;
    }
    if ((st = lpq_results_put_summary(ctx->res, "ppl", sum)))
        lpq_err_set(err, st, "ppl: saving results: %s", lpq_results_errmsg(ctx->res));
done:
    lpq_free(logits);
    lpq_free(tok);
    lpq__text_free(&t);
    return st;
}

const struct lpq_suite lpq_suite_ppl = {
    .name = "ppl",
    .desc = "perplexity as llama-perplexity computes it, rolling log-likelihood, bits per byte",
    .needs_baseline = false,
    .in_quick = true,
    .uses_text = true,
    .run = ppl_run,
};
