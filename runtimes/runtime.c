/*
 * runtime.c — the harness side of the runtime interface: parameter defaults, registry lookup
 * (by name, or `auto` by priority and probe), registration checks, the public wrappers that
 * guard optional members and keep the last error on the model, and the generic generate loop
 * (KV prefix reuse, batched prompt, sampling, stop strings) for adapters without `generate`.
 */
#include "runtimes/runtime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Longest detokenized piece the generate loop looks at (bytes); longer pieces are cut for
 * the stop-string check and the callback. Real vocabularies stay far below this. */
#define PIECE_MAX 512

struct lpq_rt_params lpq_rt_params_default(void) {
    return (struct lpq_rt_params){
        .n_threads = 0,
        .n_ctx = 0,
        .n_batch = 0,
        .seed = 0,
        .use_mmap = true,
        .device = 0,
    };
}

struct lpq_rt_sampler lpq_rt_sampler_default(void) {
    return (struct lpq_rt_sampler){
        .temperature = 0.0f,
        .top_k = 0,
        .top_p = 1.0f,
        .min_p = 0.0f,
        .repeat_penalty = 1.0f,
        .repeat_last_n = 64,
        .seed = 0,
    };
}

struct lpq_rt_gen_params lpq_rt_gen_params_default(void) {
    return (struct lpq_rt_gen_params){
        .n_predict = 128,
        .sampler = lpq_rt_sampler_default(),
        .stop = NULL,
        .stop_at_eog = true,
        .cb = NULL,
        .cb_user = NULL,
    };
}

uint64_t lpq_time_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- registration and lookup ----------------------------------------------------------- */

enum lpq_status lpq_rt_reg_check(const struct lpq_rt_reg *reg, struct lpq_err *err) {
    if (!reg) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "runtime registration is NULL");
    const char *name = reg->name ? reg->name : "(unnamed)";
    if (!reg->name || !reg->name[0])
        return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "runtime registration has no name");
    if (reg->api_version != LPQ_RT_API_VERSION)
        return lpq_err_set(err, LPQ_STATUS_UNSUPPORTED,
                           "runtime '%s': written for runtime API version %d, this build has version %d",
                           name, reg->api_version, LPQ_RT_API_VERSION);
    const struct lpq_rt_i *I = reg->iface;
    if (!I) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "runtime '%s': no interface table", name);
    /* Required members, in declaration order, so the first missing one is named. */
#define REQ(member)                                                                         \
    if (!I->member)                                                                         \
        return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "runtime '%s': required member '%s' is NULL", \
                           name, #member);
    REQ(probe) REQ(caps) REQ(load) REQ(free) REQ(n_vocab) REQ(n_ctx) REQ(tokenize)
    REQ(token_to_piece) REQ(token_bos) REQ(token_is_eog) REQ(add_bos) REQ(eval) REQ(kv_len)
    REQ(kv_trim)
#undef REQ
    return LPQ_STATUS_OK;
}

/* Probe one adapter; a probe that fails without saying why still gets a message. */
static enum lpq_status probe_reg(const struct lpq_rt_reg *reg, struct lpq_err *err) {
    struct lpq_err e;
    lpq_err_clear(&e);
    enum lpq_status st = lpq_rt_reg_check(reg, &e);
    if (st == LPQ_STATUS_OK) st = reg->iface->probe(&e);
    if (st != LPQ_STATUS_OK && (e.status == LPQ_STATUS_OK || !e.msg[0]))
        lpq_err_set(&e, st, "%s: unavailable (%s)", reg->name, lpq_status_str(st));
    if (st != LPQ_STATUS_OK) lpq_err_copy(err, &e);
    return st;
}

/* "cpu, cuda" — the adapters whose probe succeeds. */
static void list_available(char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; lpq_rt_builtin[i]; i++) {
        if (probe_reg(lpq_rt_builtin[i], NULL) != LPQ_STATUS_OK) continue;
        int n = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", lpq_rt_builtin[i]->name);
        if (n < 0 || (size_t)n >= cap - len) break;
        len += (size_t)n;
    }
    if (!len) snprintf(buf, cap, "none");
}

enum lpq_status lpq_rt_find(const char *name, const struct lpq_rt_reg **out, struct lpq_err *err) {
    if (!out) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "lpq_rt_find: out is NULL");
    if (!name || !strcmp(name, "auto")) {
        /* Highest priority whose probe succeeds; ties go to the earlier table entry. */
        const struct lpq_rt_reg *best = NULL;
        for (size_t i = 0; lpq_rt_builtin[i]; i++) {
            const struct lpq_rt_reg *r = lpq_rt_builtin[i];
            if (probe_reg(r, NULL) != LPQ_STATUS_OK) continue;
            if (!best || r->priority > best->priority) best = r;
        }
        if (!best) return lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "no usable runtime in this build");
        *out = best;
        return LPQ_STATUS_OK;
    }
    for (size_t i = 0; lpq_rt_builtin[i]; i++) {
        const struct lpq_rt_reg *r = lpq_rt_builtin[i];
        if (!r->name || strcmp(r->name, name) != 0) continue;
        enum lpq_status st = probe_reg(r, err);
        if (st != LPQ_STATUS_OK) return st;
        *out = r;
        return LPQ_STATUS_OK;
    }
    char avail[256];
    list_available(avail, sizeof(avail));
    return lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "unknown runtime '%s' (available: %s)", name, avail);
}

/* ---- wrappers --------------------------------------------------------------------------- */

static struct lpq_rt_model_base *base_of(struct lpq_rt_model *m) {
    return (struct lpq_rt_model_base *)m;
}
static const struct lpq_rt_model_base *cbase_of(const struct lpq_rt_model *m) {
    return (const struct lpq_rt_model_base *)m;
}
static const struct lpq_rt_i *iface_of(const struct lpq_rt_model *m) {
    return cbase_of(m)->reg->iface;
}

/* After an adapter call failed: make sure the model's error says something. */
static enum lpq_status fail_generic(struct lpq_rt_model *m, enum lpq_status st, const char *what) {
    struct lpq_rt_model_base *b = base_of(m);
    if (b->err.status == LPQ_STATUS_OK || !b->err.msg[0])
        lpq_err_set(&b->err, st, "%s: %s failed: %s", b->reg->name, what, lpq_status_str(st));
    else
        b->err.status = st;
    return st;
}

static enum lpq_status unsupported(struct lpq_rt_model *m, const char *what) {
    struct lpq_rt_model_base *b = base_of(m);
    return lpq_err_set(&b->err, LPQ_STATUS_UNSUPPORTED, "%s: %s is not supported by this runtime",
                       b->reg->name, what);
}

enum lpq_status lpq_rt_model_load(const struct lpq_rt_reg *reg, const char *path,
                                  const struct lpq_rt_params *params, struct lpq_rt_model **out,
                                  struct lpq_err *err) {
    if (!path || !out) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "model load: path or out is NULL");
    enum lpq_status st = lpq_rt_reg_check(reg, err);
    if (st != LPQ_STATUS_OK) return st;
    struct lpq_rt_params defaults = lpq_rt_params_default();
    if (!params) params = &defaults;
    if (params->n_threads < 0 || params->n_ctx < 0 || params->n_batch < 0)
        return lpq_err_set(err, LPQ_STATUS_BAD_ARG,
                           "model load: negative parameter (threads %d, ctx %lld, batch %lld)",
                           (int)params->n_threads, (long long)params->n_ctx,
                           (long long)params->n_batch);

    struct lpq_err e;
    lpq_err_clear(&e);
    struct lpq_rt_model *m = NULL;
    st = reg->iface->load(path, params, &m, &e);
    if (st != LPQ_STATUS_OK || !m) {
        if (st == LPQ_STATUS_OK) st = LPQ_STATUS_ERROR;
        if (e.status == LPQ_STATUS_OK || !e.msg[0])
            lpq_err_set(&e, st, "%s: cannot load '%s': %s", reg->name, path, lpq_status_str(st));
        lpq_err_copy(err, &e);
        return st;
    }

    struct lpq_rt_model_base *b = base_of(m);
    b->reg = reg;
    lpq_err_clear(&b->err);
    b->kv_ids = NULL;
    b->kv_ids_n = reg->iface->kv_len(m) == 0 ? 0 : -1;
    b->kv_ids_cap = reg->iface->n_ctx(m);
    struct lpq_rt_caps caps;
    memset(&caps, 0, sizeof(caps));
    reg->iface->caps(&caps);
    b->n_batch = params->n_batch > 0 ? params->n_batch : 512;
    if (caps.n_batch_max > 0 && b->n_batch > caps.n_batch_max) b->n_batch = caps.n_batch_max;
    if (!caps.batching) b->n_batch = 1;
    if (b->kv_ids_cap > 0) {
        b->kv_ids = lpq_malloc_array((size_t)b->kv_ids_cap, sizeof(int32_t));
        if (!b->kv_ids) {
            reg->iface->free(m);
            return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "%s: no memory for %lld token ids",
                               reg->name, (long long)b->kv_ids_cap);
        }
    } else {
        b->kv_ids_n = -1;
    }
    *out = m;
    return LPQ_STATUS_OK;
}

void lpq_rt_model_free(struct lpq_rt_model *m) {
    if (!m) return;
    struct lpq_rt_model_base *b = base_of(m);
    LPQ_ASSERT(b->reg && b->reg->iface);
    lpq_free(b->kv_ids);
    b->kv_ids = NULL;
    b->reg->iface->free(m);
}

const char *lpq_rt_errmsg(const struct lpq_rt_model *m) {
    return m ? cbase_of(m)->err.msg : "";
}

const struct lpq_rt_reg *lpq_rt_model_reg(const struct lpq_rt_model *m) {
    return m ? cbase_of(m)->reg : NULL;
}

int32_t lpq_rt_n_vocab(const struct lpq_rt_model *m) { return iface_of(m)->n_vocab(m); }
int64_t lpq_rt_n_ctx(const struct lpq_rt_model *m) { return iface_of(m)->n_ctx(m); }
int32_t lpq_rt_token_bos(const struct lpq_rt_model *m) { return iface_of(m)->token_bos(m); }
bool lpq_rt_token_is_eog(const struct lpq_rt_model *m, int32_t id) { return iface_of(m)->token_is_eog(m, id); }
bool lpq_rt_add_bos(const struct lpq_rt_model *m) { return iface_of(m)->add_bos(m); }
int64_t lpq_rt_kv_len(const struct lpq_rt_model *m) { return iface_of(m)->kv_len(m); }

enum lpq_status lpq_rt_tokenize(struct lpq_rt_model *m, const char *text, size_t len, bool add_special,
                                bool parse_special, int32_t *ids, size_t cap, size_t *n_out) {
    struct lpq_rt_model_base *b = base_of(m);
    lpq_err_clear(&b->err);
    if ((!text && len) || !n_out || (!ids && cap))
        return lpq_err_set(&b->err, LPQ_STATUS_BAD_ARG, "tokenize: NULL text, ids or n_out");
    enum lpq_status st = b->reg->iface->tokenize(m, text ? text : "", len, add_special,
                                                 parse_special, ids, cap, n_out);
    return st == LPQ_STATUS_OK ? st : fail_generic(m, st, "tokenize");
}

size_t lpq_rt_token_to_piece(struct lpq_rt_model *m, int32_t id, char *buf, size_t cap, bool special) {
    return iface_of(m)->token_to_piece(m, id, buf, cap, special);
}

/* Keeps the wrapper's copy of the cached ids in step with an eval of n tokens at kv0. */
static void track_eval(struct lpq_rt_model_base *b, int64_t kv0, const int32_t *tokens, int64_t n) {
    if (b->kv_ids_n != kv0 || kv0 + n > b->kv_ids_cap) {
        b->kv_ids_n = -1;
        return;
    }
    memcpy(b->kv_ids + kv0, tokens, (size_t)n * sizeof(int32_t));
    b->kv_ids_n = kv0 + n;
}

enum lpq_status lpq_rt_eval(struct lpq_rt_model *m, const int32_t *tokens, int64_t n,
                            const bool *want, float *logits) {
    struct lpq_rt_model_base *b = base_of(m);
    const struct lpq_rt_i *I = b->reg->iface;
    lpq_err_clear(&b->err);
    if (n < 0 || (n > 0 && !tokens))
        return lpq_err_set(&b->err, LPQ_STATUS_BAD_ARG, "eval: %lld tokens at %p", (long long)n,
                           (const void *)tokens);
    if (n == 0) return LPQ_STATUS_OK;
    int64_t kv0 = I->kv_len(m), n_ctx = I->n_ctx(m);
    if (n_ctx > 0 && n > n_ctx - kv0)
        return lpq_err_set(&b->err, LPQ_STATUS_RANGE,
                           "eval: %lld tokens at position %lld exceed the context of %lld tokens",
                           (long long)n, (long long)kv0, (long long)n_ctx);
    enum lpq_status st = I->eval(m, tokens, n, want, logits);
    if (st != LPQ_STATUS_OK) {
        /* The adapter may have kept part of the batch; only trust the copy if it did not. */
        if (I->kv_len(m) != kv0) b->kv_ids_n = -1;
        return fail_generic(m, st, "eval");
    }
    track_eval(b, kv0, tokens, n);
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_rt_kv_trim(struct lpq_rt_model *m, int64_t n_keep) {
    struct lpq_rt_model_base *b = base_of(m);
    lpq_err_clear(&b->err);
    if (n_keep < 0)
        return lpq_err_set(&b->err, LPQ_STATUS_BAD_ARG, "kv_trim: negative n_keep %lld", (long long)n_keep);
    if (n_keep >= b->reg->iface->kv_len(m)) return LPQ_STATUS_OK;
    enum lpq_status st = b->reg->iface->kv_trim(m, n_keep);
    if (st != LPQ_STATUS_OK) {
        b->kv_ids_n = -1;
        return fail_generic(m, st, "kv_trim");
    }
    if (b->kv_ids_n > n_keep) b->kv_ids_n = n_keep;
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_rt_mem(const struct lpq_rt_model *m, struct lpq_rt_mem *mem) {
    struct lpq_rt_model *mm = (struct lpq_rt_model *)m;   /* the error buffer is mutable state */
    if (!mem) return lpq_err_set(&base_of(mm)->err, LPQ_STATUS_BAD_ARG, "mem: NULL output");
    if (!iface_of(m)->mem) return unsupported(mm, "memory report");
    memset(mem, 0, sizeof(*mem));
    iface_of(m)->mem(m, mem);
    return LPQ_STATUS_OK;
}

size_t lpq_rt_describe(const struct lpq_rt_model *m, char *buf, size_t cap) {
    if (cap) buf[0] = '\0';
    if (!iface_of(m)->describe) {
        unsupported((struct lpq_rt_model *)m, "describe");
        return 0;
    }
    return iface_of(m)->describe(m, buf, cap);
}

enum lpq_status lpq_rt_set_act_hook(struct lpq_rt_model *m, lpq_rt_act_hook hook, void *user) {
    if (!iface_of(m)->set_act_hook) return unsupported(m, "activation hook");
    return iface_of(m)->set_act_hook(m, hook, user);
}

/* ---- generic generate loop -------------------------------------------------------------- */

/* Rolling tail of the generated text, long enough to see a stop string that spans pieces. */
struct stop_window {
    const char *const *stop;
    size_t stop_max;            /* bytes: longest stop string */
    char *buf;                  /* stop_max + PIECE_MAX bytes */
    size_t len;                 /* bytes in buf */
};

/* Appends a piece; true when a stop string ends inside it. */
static bool stop_window_push(struct stop_window *w, const char *piece, size_t n) {
    if (!w->stop_max) return false;
    memcpy(w->buf + w->len, piece, n);
    w->len += n;
    bool hit = false;
    for (size_t s = 0; w->stop[s] && !hit; s++) {
        size_t sl = strlen(w->stop[s]);
        if (!sl || sl > w->len) continue;
        /* Only matches that end in the new piece; earlier ones were checked before. */
        size_t first = w->len >= n + sl - 1 ? w->len - n - sl + 1 : 0;
        for (size_t i = first; i + sl <= w->len; i++) {
            if (!memcmp(w->buf + i, w->stop[s], sl)) {
                hit = true;
                break;
            }
        }
    }
    /* Keep the last stop_max - 1 bytes: all a future match can borrow from the past. */
    size_t keep = w->stop_max - 1;
    if (w->len > keep) {
        memmove(w->buf, w->buf + w->len - keep, keep);
        w->len = keep;
    }
    return hit;
}

/* Trims the cache to the longest prefix it shares with the prompt (always re-evaluating at
 * least the last prompt token, whose logits start the generation); returns that length. */
static enum lpq_status reuse_prefix(struct lpq_rt_model *m, const int32_t *prompt, int64_t n_prompt,
                                    int64_t *n_keep_out) {
    struct lpq_rt_model_base *b = base_of(m);
    int64_t kv = b->reg->iface->kv_len(m);
    int64_t keep = 0;
    if (kv > 0 && b->kv_ids_n == kv) {
        int64_t lim = LPQ_MIN(kv, n_prompt);
        while (keep < lim && b->kv_ids[keep] == prompt[keep]) keep++;
    }
    if (keep >= n_prompt) keep = n_prompt - 1;
    enum lpq_status st = LPQ_STATUS_OK;
    if (keep < kv) {
        st = lpq_rt_kv_trim(m, keep);
        if (st == LPQ_STATUS_UNSUPPORTED && keep > 0) {
            keep = 0;
            st = lpq_rt_kv_trim(m, 0);
        }
    }
    if (st == LPQ_STATUS_OK) *n_keep_out = keep;
    return st;
}

static enum lpq_status generate_generic(struct lpq_rt_model *m, const int32_t *prompt, int64_t n_prompt,
                                        const struct lpq_rt_gen_params *gp, int32_t *out, size_t cap,
                                        struct lpq_rt_gen_result *res) {
    struct lpq_rt_model_base *b = base_of(m);
    const struct lpq_rt_i *I = b->reg->iface;
    enum lpq_status st = LPQ_STATUS_OK;
    float *logits = NULL;
    void *work = NULL;
    int32_t *hist = NULL;
    char *stop_buf = NULL;
    char piece[PIECE_MAX];
    struct stop_window sw = { .stop = gp->stop };
    struct lpq_rng rng;
    int64_t n_keep = 0, n_hist = 0;

    const int32_t n_vocab = I->n_vocab(m);
    const int64_t n_ctx = I->n_ctx(m);
    if (n_vocab <= 0 || n_ctx <= 0) {
        st = lpq_err_set(&b->err, LPQ_STATUS_RUNTIME, "generate: model reports %d vocab, %lld context",
                         (int)n_vocab, (long long)n_ctx);
        goto done;
    }
    if (n_prompt > n_ctx) {
        st = lpq_err_set(&b->err, LPQ_STATUS_RANGE,
                         "generate: prompt of %lld tokens exceeds the context of %lld tokens",
                         (long long)n_prompt, (long long)n_ctx);
        goto done;
    }

    /* Everything the token loop needs, allocated once. History holds prompt + generated
     * tokens, which the context bounds (plus the last sampled one, never evaluated). */
    for (size_t s = 0; gp->stop && gp->stop[s]; s++) sw.stop_max = LPQ_MAX(sw.stop_max, strlen(gp->stop[s]));
    logits = lpq_malloc_array((size_t)n_vocab, sizeof(float));
    work = lpq_malloc(lpq_rt_sample_work_size(n_vocab));
    hist = lpq_malloc_array((size_t)n_ctx + 1, sizeof(int32_t));
    if (sw.stop_max) stop_buf = sw.buf = lpq_malloc(sw.stop_max + PIECE_MAX);
    if (!logits || !work || !hist || (sw.stop_max && !stop_buf)) {
        st = lpq_err_set(&b->err, LPQ_STATUS_NO_MEMORY, "generate: no memory for %d-token buffers",
                         (int)n_vocab);
        goto done;
    }

    st = reuse_prefix(m, prompt, n_prompt, &n_keep);
    if (st != LPQ_STATUS_OK) goto done;
    for (int64_t i = n_keep; i < n_prompt; i += b->n_batch) {
        int64_t n = LPQ_MIN(b->n_batch, n_prompt - i);
        st = lpq_rt_eval(m, prompt + i, n, NULL, logits);
        if (st != LPQ_STATUS_OK) goto done;
    }
    res->n_prompt = (int32_t)(n_prompt - n_keep);
    memcpy(hist, prompt, (size_t)n_prompt * sizeof(int32_t));
    n_hist = n_prompt;
    lpq_rng_seed(&rng, gp->sampler.seed);
    int64_t n_predict = gp->n_predict < 0 ? INT64_MAX : gp->n_predict;
    if (out == NULL) cap = SIZE_MAX;
    res->stop_reason = LPQ_RT_STOP_N_PREDICT;
    res->t_first_ns = lpq_time_ns();
    while (res->n_gen < n_predict && (size_t)res->n_gen < cap) {
        int32_t tok = lpq_rt_sample(&gp->sampler, logits, n_vocab, hist, n_hist, &rng, work);
        uint64_t t = lpq_time_ns();
        if (res->n_gen == 0) res->t_first_ns = t;
        if (gp->stop_at_eog && I->token_is_eog(m, tok)) {
            res->stop_reason = LPQ_RT_STOP_EOG;
            break;
        }
        if (out) out[res->n_gen] = tok;
        hist[n_hist++] = tok;
        res->n_gen++;
        size_t pl = 0;
        if (gp->cb || sw.stop_max) {
            pl = I->token_to_piece(m, tok, piece, sizeof(piece), false);
            if (pl > sizeof(piece)) pl = sizeof(piece);
        }
        if (gp->cb && !gp->cb(tok, piece, pl, t, gp->cb_user)) {
            res->stop_reason = LPQ_RT_STOP_CALLBACK;
            break;
        }
        if (stop_window_push(&sw, piece, pl)) {
            res->stop_reason = LPQ_RT_STOP_STRING;
            break;
        }
        if (res->n_gen >= n_predict) break;
        if (I->kv_len(m) >= n_ctx) {
            res->stop_reason = LPQ_RT_STOP_CTX_FULL;
            break;
        }
        if ((size_t)res->n_gen >= cap) break;
        st = lpq_rt_eval(m, &tok, 1, NULL, logits);
        if (st != LPQ_STATUS_OK) goto done;
        res->n_decode++;
    }

done:
    res->t_end_ns = lpq_time_ns();
    if (!res->t_first_ns) res->t_first_ns = res->t_end_ns;
    lpq_free(logits);
    lpq_free(work);
    lpq_free(hist);
    lpq_free(stop_buf);
    return st;
}

enum lpq_status lpq_rt_generate(struct lpq_rt_model *m, const int32_t *prompt, int64_t n_prompt,
                                const struct lpq_rt_gen_params *gp, int32_t *out, size_t cap,
                                struct lpq_rt_gen_result *res) {
    struct lpq_rt_model_base *b = base_of(m);
    lpq_err_clear(&b->err);
    struct lpq_rt_gen_params defaults = lpq_rt_gen_params_default();
    struct lpq_rt_gen_result local;
    if (!gp) gp = &defaults;
    if (!res) res = &local;
    memset(res, 0, sizeof(*res));
    res->t_start_ns = lpq_time_ns();
    if (n_prompt < 1 || !prompt)
        return lpq_err_set(&b->err, LPQ_STATUS_BAD_ARG,
                           "generate: empty prompt (start it with BOS to generate from nothing)");
    if (b->reg->iface->generate) {
        enum lpq_status st = b->reg->iface->generate(m, prompt, n_prompt, gp, out, cap, res);
        b->kv_ids_n = -1;   /* the adapter's own loop does not report which ids it cached */
        return st == LPQ_STATUS_OK ? st : fail_generic(m, st, "generate");
    }
    return generate_generic(m, prompt, n_prompt, gp, out, cap, res);
}
