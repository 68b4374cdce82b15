/*
 * acc-score.c — the accuracy scorers: choice log-likelihoods with the shared prefix evaluated
 * once, the normalisations lm-evaluation-harness and llama.cpp use, greedy answers, last-number
 * extraction, and tool calls scored on JSON validity, function and arguments. Nothing here
 * trusts model output: every parse failure scores zero.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites/acc-items.h"
#include "suites/acc-score.h"
#include "suites/suites-impl.h"

/* ---- multiple choice ------------------------------------------------------------------- */

int32_t lpq_acc_utf8_chars(const char *s, size_t len) {
    int32_t n = 0;
    for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static double normed(const struct lpq_acc_ll *c, enum lpq_acc_norm norm) {
    double d = 1;
    switch (norm) {
    case LPQ_ACC_NORM_NONE: d = 1; break;
    case LPQ_ACC_NORM_CHARS: d = c->n_chars; break;
    case LPQ_ACC_NORM_BYTES: d = c->n_bytes; break;
    case LPQ_ACC_NORM_TOKENS: d = c->n_tokens; break;
    }
    return c->ll / (d > 0 ? d : 1);
}

int32_t lpq_acc_mc_pick(const struct lpq_acc_ll *c, int32_t n, enum lpq_acc_norm norm) {
    int32_t best = -1;
    double bv = -INFINITY;
    for (int32_t i = 0; i < n; i++) {
        double v = normed(&c[i], norm);
        if (best < 0 || v > bv) {
            best = i;
            bv = v;
        }
    }
    return best;
}

double lpq_acc_mc2(const struct lpq_acc_ll *c, const uint8_t *is_true, int32_t n) {
    double mx = -INFINITY, all = 0, t = 0;
    for (int32_t i = 0; i < n; i++) mx = c[i].ll > mx ? c[i].ll : mx;
    if (n <= 0 || !isfinite(mx)) return 0;
    for (int32_t i = 0; i < n; i++) {
        double p = exp(c[i].ll - mx);
        all += p;
        if (is_true && is_true[i]) t += p;
    }
    return all > 0 ? t / all : 0;
}

/* Tokenizes text into a new array (*ids, *n); grows the buffer when the first guess is short. */
static enum lpq_status tokenize(struct lpq_rt_model *m, const char *text, bool parse_special, int32_t **ids,
                                size_t *n, struct lpq_err *err) {
    size_t len = strlen(text), cap = len + 16, got = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        int32_t *buf = lpq_malloc_array(cap, sizeof(int32_t));
        if (!buf) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "accuracy: out of memory tokenizing");
        enum lpq_status st = lpq_rt_tokenize(m, text, len, true, parse_special, buf, cap, &got);
        if (st == LPQ_STATUS_OK && got <= cap) {
            *ids = buf;
            *n = got;
            return LPQ_STATUS_OK;
        }
        lpq_free(buf);
        if (st != LPQ_STATUS_RANGE && st != LPQ_STATUS_OK)
            return lpq_err_set(err, st, "accuracy: tokenize: %s", lpq_rt_errmsg(m));
        cap = got > cap ? got + 16 : cap * 4;
    }
    return lpq_err_set(err, LPQ_STATUS_RANGE, "accuracy: tokenize: buffer too small");
}

static size_t lcp(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

#define MC_ROWS_MAX 64   /* logits rows per eval call: bounds memory for 150k-token vocabularies */

struct mc_seq {
    int32_t *ids;       /* context + choice tokens */
    size_t n;           /* tokens */
    size_t c;           /* first continuation token */
};

/* Evaluates ids[from, to) appending to the cache; the logits of positions p >= want_from land in
 * rows (at most MC_ROWS_MAX per call) and are scored against ids[p+1]. */
static enum lpq_status eval_score(struct lpq_rt_model *m, const int32_t *ids, size_t from, size_t to,
                                  size_t want_from, float *rows, bool *want, int32_t n_vocab, int64_t n_batch,
                                  double *ll, int64_t *n_eval, struct lpq_err *err) {
    size_t p = from;
    while (p < to) {
        size_t q = p, n_want = 0;
        while (q < to && (int64_t)(q - p) < n_batch) {
            bool w = q >= want_from;
            if (w && n_want == MC_ROWS_MAX) break;
            want[q - p] = w;
            n_want += w;
            q++;
        }
        enum lpq_status st = lpq_rt_eval(m, ids + p, (int64_t)(q - p), want, rows);
        if (st) return lpq_err_set(err, st, "accuracy: eval: %s", lpq_rt_errmsg(m));
        *n_eval += (int64_t)(q - p);
        size_t r = 0;
        for (size_t k = p; k < q; k++) {
            if (k < want_from) continue;
            const float *row = rows + r * (size_t)n_vocab;
            *ll += (double)row[ids[k + 1]] - lpq__log_sum_exp(row, n_vocab);
            r++;
        }
        p = q;
    }
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_acc_mc_loglik(struct lpq_rt_model *m, const char *const *contexts, const char *const *conts,
                                  int32_t n, bool parse_special, struct lpq_acc_ll *out,
                                  struct lpq_acc_eval_stats *stats, struct lpq_err *err) {
    enum lpq_status st = LPQ_STATUS_OK;
    struct lpq_acc_eval_stats es;
    memset(&es, 0, sizeof(es));
    struct mc_seq *seq = lpq_calloc((size_t)(n > 0 ? n : 1), sizeof(*seq));
    float *rows = NULL, *row0 = NULL;
    bool *want = NULL;
    int32_t *ctx_ids = NULL;
    struct lpq_acc_ll *res = lpq_calloc((size_t)(n > 0 ? n : 1), sizeof(*res));
    int32_t n_vocab = lpq_rt_n_vocab(m);
    int64_t n_ctx = lpq_rt_n_ctx(m);
    const struct lpq_rt_model_base *base = (const struct lpq_rt_model_base *)m;
    int64_t n_batch = base->n_batch > 0 ? base->n_batch : 512;
    if (!seq || !res) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "accuracy: out of memory"); goto done; }
    if (n < 1) { st = lpq_err_set(err, LPQ_STATUS_BAD_ARG, "accuracy: no choices"); goto done; }
    size_t n_max = 0;
    for (int32_t i = 0; i < n; i++) {
        const char *cont = conts[i];
        char *whole = lpq_asprintf("%s%s", contexts[i], cont);
        size_t n_c = 0;
        if (!whole) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "accuracy: out of memory"); goto done; }
        st = tokenize(m, whole, parse_special, &seq[i].ids, &seq[i].n, err);
        lpq_free(whole);
        if (st) goto done;
        if ((st = tokenize(m, contexts[i], parse_special, &ctx_ids, &n_c, err))) goto done;
        seq[i].c = lcp(ctx_ids, n_c, seq[i].ids, seq[i].n);
        lpq_free(ctx_ids);
        ctx_ids = NULL;
        if (seq[i].c == 0) seq[i].c = 1;   /* the first token has no prediction to score */
        if (seq[i].c >= seq[i].n) {
            st = lpq_err_set(err, LPQ_STATUS_BAD_ARG, "accuracy: choice %d ('%.40s') has no tokens of its own", i, cont);
            goto done;
        }
        n_max = seq[i].n > n_max ? seq[i].n : n_max;
        while (*cont == ' ') cont++;   /* lm-eval's lengths exclude the target delimiter */
        res[i].n_tokens = (int32_t)(seq[i].n - seq[i].c);
        res[i].n_bytes = (int32_t)strlen(cont);
        res[i].n_chars = lpq_acc_utf8_chars(cont, strlen(cont));
    }
    /* Too long: drop the same run of tokens right after BOS from every sequence, so they keep
     * their shared prefix (lm-eval truncates contexts on the left too). */
    if (n_ctx > 0 && (int64_t)n_max > n_ctx) {
        size_t drop = n_max - (size_t)n_ctx, keep0 = lpq_rt_add_bos(m) ? 1 : 0;
        for (int32_t i = 0; i < n; i++) {
            if (seq[i].c < keep0 + drop + 1) {
                st = lpq_err_set(err, LPQ_STATUS_RANGE, "accuracy: choice %d alone exceeds the context of %lld tokens",
                                 i, (long long)n_ctx);
                goto done;
            }
            memmove(seq[i].ids + keep0, seq[i].ids + keep0 + drop, (seq[i].n - keep0 - drop) * sizeof(int32_t));
            seq[i].n -= drop;
            seq[i].c -= drop;
        }
        es.truncated = true;
    }
    size_t s = seq[0].c;
    for (int32_t i = 0; i < n; i++) {
        s = seq[i].c < s ? seq[i].c : s;
        if (i) {
            size_t l = lcp(seq[0].ids, seq[0].n, seq[i].ids, seq[i].n);
            s = l < s ? l : s;
        }
    }
    es.n_prefix = (int64_t)s;
    size_t n_rows = (size_t)LPQ_MIN(n_batch, MC_ROWS_MAX);
    rows = lpq_malloc_array(n_rows * (size_t)n_vocab, sizeof(float));
    want = lpq_malloc_array((size_t)n_batch, sizeof(bool));
    row0 = lpq_malloc_array((size_t)n_vocab, sizeof(float));
    if (!rows || !want || !row0) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "accuracy: out of memory for logits");
        goto done;
    }
    /* The shared prefix: keep what the cache already holds of it (minus its last token, whose
     * logits we need), evaluate the rest once. */
    size_t keep = 0;
    if (base->kv_ids_n > 0 && base->kv_ids && lpq_rt_kv_len(m) == base->kv_ids_n)
        keep = lcp(base->kv_ids, (size_t)base->kv_ids_n, seq[0].ids, s);
    if (s > 0 && keep >= s) keep = s - 1;   /* s = 0 (no BOS, contexts differ at once): nothing shared */
    if ((st = lpq_rt_kv_trim(m, (int64_t)keep))) {
        st = lpq_err_set(err, st, "accuracy: kv_trim: %s", lpq_rt_errmsg(m));
        goto done;
    }
    es.n_reused = (int64_t)keep;
    for (size_t p = keep; p < s;) {
        size_t q = p + (size_t)n_batch < s ? p + (size_t)n_batch : s;
        if ((st = lpq_rt_eval(m, seq[0].ids + p, (int64_t)(q - p), NULL, row0))) {
            st = lpq_err_set(err, st, "accuracy: eval: %s", lpq_rt_errmsg(m));
            goto done;
        }
        es.n_evaluated += (int64_t)(q - p);
        p = q;
    }
    double lse0 = s > 0 ? lpq__log_sum_exp(row0, n_vocab) : 0;
    for (int32_t i = 0; i < n; i++) {
        double ll = 0;
        if (seq[i].c == s) ll += (double)row0[seq[i].ids[s]] - lse0;
        if (seq[i].n - 1 > s) {
            if ((st = lpq_rt_kv_trim(m, (int64_t)s))) {
                st = lpq_err_set(err, st, "accuracy: kv_trim: %s", lpq_rt_errmsg(m));
                break;
            }
            /* positions s .. n-2 predict tokens s+1 .. n-1; only those from c on count */
            st = eval_score(m, seq[i].ids, s, seq[i].n - 1, seq[i].c - 1, rows, want, n_vocab, n_batch, &ll,
                            &es.n_evaluated, err);
            if (st) break;
        }
        res[i].ll = ll;
    }
    if (st) goto done;
    memcpy(out, res, (size_t)n * sizeof(*res));
    if (stats) *stats = es;
done:
    for (int32_t i = 0; seq && i < n; i++) lpq_free(seq[i].ids);
    lpq_free(seq);
    lpq_free(res);
    lpq_free(rows);
    lpq_free(row0);
    lpq_free(want);
    lpq_free(ctx_ids);
    return st;
}

/* ---- generated answers ----------------------------------------------------------------- */

enum lpq_status lpq_acc_generate(struct lpq_rt_model *m, const char *prompt, bool parse_special, int32_t n_predict,
                                 const char *const *stop, char **out_text, int32_t *n_gen, struct lpq_err *err) {
    int32_t *ids = NULL, *gen = NULL;
    size_t n = 0, len = 0, cap = 256;
    char *text = NULL;
    enum lpq_status st = tokenize(m, prompt, parse_special, &ids, &n, err);
    if (st) return st;
    int64_t n_ctx = lpq_rt_n_ctx(m);
    if (n_predict < 1) n_predict = 1;
    if (n_ctx > 0 && (int64_t)n + n_predict > n_ctx) {
        /* keep BOS and the end of the prompt, which holds the question */
        int64_t room = n_ctx - n_predict, keep0 = lpq_rt_add_bos(m) ? 1 : 0;
        if (room < keep0 + 8) { st = lpq_err_set(err, LPQ_STATUS_RANGE, "accuracy: context too small to answer"); goto done; }
        size_t drop = n - (size_t)room;
        memmove(ids + keep0, ids + keep0 + drop, (n - (size_t)keep0 - drop) * sizeof(int32_t));
        n -= drop;
    }
    gen = lpq_malloc_array((size_t)n_predict, sizeof(int32_t));
    text = lpq_malloc(cap);
    if (!gen || !text) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "accuracy: out of memory"); goto done; }
    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    gp.n_predict = n_predict;
    gp.sampler = lpq_rt_sampler_default();
    gp.sampler.temperature = 0;
    gp.stop = stop;
    gp.stop_at_eog = true;
    struct lpq_rt_gen_result gr;
    memset(&gr, 0, sizeof(gr));
    if ((st = lpq_rt_generate(m, ids, (int64_t)n, &gp, gen, (size_t)n_predict, &gr))) {
        st = lpq_err_set(err, st, "accuracy: generate: %s", lpq_rt_errmsg(m));
        goto done;
    }
    text[0] = 0;
    for (int32_t i = 0; i < gr.n_gen; i++) {
        char piece[256];
        size_t pl = lpq_rt_token_to_piece(m, gen[i], piece, sizeof(piece), false);
        if (pl > sizeof(piece)) pl = sizeof(piece);
        if (len + pl + 1 > cap) {
            size_t nc = (len + pl + 1) * 2;
            char *nt = lpq_realloc(text, nc);
            if (!nt) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "accuracy: out of memory"); goto done; }
            text = nt;
            cap = nc;
        }
        memcpy(text + len, piece, pl);
        len += pl;
        text[len] = 0;
    }
    for (size_t k = 0; stop && stop[k]; k++) {
        char *hit = strstr(text, stop[k]);
        if (hit) *hit = 0;
    }
    if (n_gen) *n_gen = gr.n_gen;
    *out_text = text;
    text = NULL;
done:
    lpq_free(ids);
    lpq_free(gen);
    lpq_free(text);
    return st;
}

/* Reads one number at s (digits, ',' groups of three, decimals, "/denominator"); returns the
 * characters consumed, 0 when s does not start with a digit. */
static size_t read_number(const char *s, double *v) {
    if (!isdigit((unsigned char)*s)) return 0;
    char buf[128];
    size_t i = 0, o = 0;
    while (o < sizeof(buf) - 2) {
        if (isdigit((unsigned char)s[i])) buf[o++] = s[i++];
        else if (s[i] == ',' && isdigit((unsigned char)s[i + 1]) && isdigit((unsigned char)s[i + 2]) &&
                 isdigit((unsigned char)s[i + 3]) && !isdigit((unsigned char)s[i + 4]))
            i++;   /* thousands separator */
        else break;
    }
    if (s[i] == '.' && isdigit((unsigned char)s[i + 1])) {
        buf[o++] = s[i++];
        while (isdigit((unsigned char)s[i]) && o < sizeof(buf) - 1) buf[o++] = s[i++];
    }
    buf[o] = 0;
    *v = strtod(buf, NULL);
    if (s[i] == '/' && isdigit((unsigned char)s[i + 1])) {
        double d = 0;
        size_t j = read_number(s + i + 1, &d);
        if (j && d != 0) {
            *v /= d;
            i += 1 + j;
        }
    }
    return i;
}

bool lpq_acc_last_number(const char *text, double *out) {
    bool found = false;
    double last = 0;
    for (size_t i = 0; text && text[i];) {
        double v;
        size_t k = read_number(text + i, &v);
        if (!k) {
            i++;
            continue;
        }
        /* a '-' right before the digits is a sign unless it joins two words ("3-5", "x-2") */
        bool neg = i > 0 && text[i - 1] == '-' && (i < 2 || !isalnum((unsigned char)text[i - 2]));
        last = neg ? -v : v;
        found = true;
        i += k;
    }
    if (found) *out = last;
    return found;
}

bool lpq_acc_numeric_match(double got, double want, double tol) {
    if (!(tol > 0)) tol = 1e-6 * (fabs(want) > 1 ? fabs(want) : 1);
    return isfinite(got) && fabs(got - want) <= tol;
}

/* ---- tool calls ------------------------------------------------------------------------ */

/* Trimmed, ASCII-case-insensitive equality; a trailing '.' is ignored. */
static bool casefold_eq(const char *a, const char *b) {
    while (isspace((unsigned char)*a)) a++;
    while (isspace((unsigned char)*b)) b++;
    size_t la = strlen(a), lb = strlen(b);
    while (la && (isspace((unsigned char)a[la - 1]) || a[la - 1] == '.')) la--;
    while (lb && (isspace((unsigned char)b[lb - 1]) || b[lb - 1] == '.')) lb--;
    if (la != lb) return false;
    for (size_t i = 0; i < la; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return false;
    return true;
}

static bool as_number(const json_t *v, double *out) {
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    if (!s) return false;
    while (isspace((unsigned char)*s) || *s == '$') s++;
    bool neg = *s == '-';
    if (neg) s++;
    double d;
    size_t k = read_number(s, &d);
    if (!k) return false;
    while (isspace((unsigned char)s[k])) k++;
    if (s[k]) return false;
    *out = neg ? -d : d;
    return true;
}

static bool elem_match(const json_t *a, const json_t *b) {
    double x, y;
    if (json_is_string(a) && json_is_string(b)) return casefold_eq(json_string_value(a), json_string_value(b));
    if (json_is_number(a) && as_number(b, &y) && as_number(a, &x)) return lpq_acc_numeric_match(y, x, 0);
    return json_equal((json_t *)a, (json_t *)b);
}

bool lpq_acc_arg_match(const char *mode, const json_t *want, const json_t *got) {
    if (!mode || !want || !got) return false;
    if (!strcmp(mode, "exact")) {
        if (json_is_number(want) && json_is_number(got))
            return json_number_value(want) == json_number_value(got);
        return json_equal((json_t *)want, (json_t *)got);
    }
    if (!strcmp(mode, "casefold")) {
        if (json_is_string(want) && json_is_string(got)) return casefold_eq(json_string_value(want), json_string_value(got));
        return json_equal((json_t *)want, (json_t *)got);
    }
    if (!strcmp(mode, "numeric")) {
        double w, g;
        return as_number(want, &w) && as_number(got, &g) && lpq_acc_numeric_match(g, w, 0);
    }
    if (!strcmp(mode, "set")) {
        if (!json_is_array(want) || !json_is_array(got)) return false;
        size_t i, j;
        json_t *a, *b;
        json_array_foreach((json_t *)want, i, a) {
            bool hit = false;
            json_array_foreach((json_t *)got, j, b) hit = hit || elem_match(a, b);
            if (!hit) return false;
        }
        json_array_foreach((json_t *)got, j, b) {
            bool hit = false;
            json_array_foreach((json_t *)want, i, a) hit = hit || elem_match(a, b);
            if (!hit) return false;
        }
        return true;
    }
    return false;
}

/* The first JSON value starting at a '{' or '[' in text (after <tool_call> or a ``` fence
 * when present); NULL when none parses. */
static json_t *find_json(const char *text) {
    const char *p = strstr(text, "<tool_call>");
    p = p ? p + strlen("<tool_call>") : text;
    const char *fence = strstr(p, "```");
    if (fence) p = fence + 3;
    for (; *p; p++) {
        if (*p != '{' && *p != '[') continue;
        json_error_t je;
        json_t *v = json_loads(p, JSON_DISABLE_EOF_CHECK, &je);
        if (v) return v;
    }
    return NULL;
}

void lpq_acc_tool_score(const char *output, const json_t *tools, const json_t *expected,
                        struct lpq_acc_tool_score *s) {
    memset(s, 0, sizeof(*s));
    json_t *args_owned = NULL;
    json_t *v = output ? find_json(output) : NULL;
    json_t *call = v;
    const json_t *exp_args = json_object_get(expected, "arguments"), *req = json_object_get(expected, "required"),
                 *cmp = json_object_get(expected, "compare");
    const char *want_name = json_string_value(json_object_get(expected, "name"));
    /* what a wrong or unparsable call is charged: the required arguments */
    int32_t n_req = (int32_t)json_array_size(req);
    if (json_is_array(call) && json_array_size(call) >= 1) call = json_array_get(call, 0);
    if (json_is_object(call) && json_is_object(json_object_get(call, "function"))) call = json_object_get(call, "function");
    const char *name = json_is_object(call) ? json_string_value(json_object_get(call, "name")) : NULL;
    if (!name) {
        s->n_args = n_req;
        snprintf(s->note, sizeof(s->note), "%s", v ? "JSON without a function name" : "no parsable JSON in the output");
        goto done;
    }
    s->valid_json = true;
    if (!want_name || strcmp(name, want_name)) {
        s->n_args = n_req;
        snprintf(s->note, sizeof(s->note), "called '%.60s' instead of '%.60s'", name, want_name ? want_name : "?");
        goto done;
    }
    s->right_function = true;
    json_t *args = json_object_get(call, "arguments");
    if (!args) args = json_object_get(call, "parameters");
    if (json_is_string(args)) {
        args_owned = json_loads(json_string_value(args), 0, NULL);
        args = args_owned;
    }
    if (!args) args = args_owned = json_object();
    if (!json_is_object(args)) {
        s->n_args = n_req;
        snprintf(s->note, sizeof(s->note), "arguments are not an object");
        goto done;
    }
    const json_t *tool = NULL, *t;
    size_t i;
    json_array_foreach((json_t *)tools, i, t) {
        const char *tn = json_string_value(json_object_get(t, "name"));
        if (tn && !strcmp(tn, name)) tool = t;
    }
    const json_t *params = json_object_get(tool, "parameters");
    char why[128];
    s->schema_ok = params && lpq_acc_schema_validate(params, args, why, sizeof(why));
    const char *key;
    json_t *want;
    json_object_foreach((json_t *)exp_args, key, want) {
        bool required = false;
        json_t *r;
        json_array_foreach((json_t *)req, i, r) required = required || !strcmp(json_string_value(r), key);
        json_t *got = json_object_get(args, key);
        if (!got && !required) continue;   /* optional and not given: not scored */
        s->n_args++;
        if (got && lpq_acc_arg_match(json_string_value(json_object_get(cmp, key)), want, got)) s->n_args_ok++;
        else if (!s->note[0])
            snprintf(s->note, sizeof(s->note), got ? "argument '%.60s' has the wrong value" : "argument '%.60s' is missing", key);
    }
    json_t *props = json_object_get(params, "properties"), *x;
    json_object_foreach(args, key, x) {
        if (json_object_get(exp_args, key) || json_object_get(props, key)) continue;
        s->n_args++;   /* an argument the tool does not have counts as a wrong one */
        if (!s->note[0]) snprintf(s->note, sizeof(s->note), "unknown argument '%.60s'", key);
    }
    s->correct = s->n_args_ok == s->n_args;
done:
    json_decref(args_owned);
    json_decref(v);
}
