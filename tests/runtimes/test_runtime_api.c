/*
 * test_runtime_api.c — the harness side of the runtime interface, driven through a MOCK
 * adapter defined here: registration checks, lookup, the wrappers' error handling and the
 * generic generate loop (greedy, n_predict, EOG, stop strings, callback, KV prefix reuse,
 * batched prompts, a failure injected mid-run). Nothing here needs a real model.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtimes/runtime.h"

/* ---- the mock adapter ----------------------------------------------------------------- */

#define MOCK_V 16
#define MOCK_CTX_MAX 256

/* Token 0 = BOS, 1 = EOG, 2..15 two-letter pieces. */
static const char *const mock_pieces[MOCK_V] = {
    "<s>", "</s>", "ab", "cd", "ef", "gh", "ij", "kl", "mn", "op", "qr", "st", "uv", "wx", "yz", "!?",
};

struct mock_model {
    struct lpq_rt_model_base base;
    int64_t n_ctx;              /* tokens */
    int64_t kv;                 /* tokens cached */
    int32_t ids[MOCK_CTX_MAX];  /* the cached ids: the "KV cache" */
    int fail_at;                /* eval call that fails (0 = never) */
    bool fail_silent;           /* fail without setting a message */
    int eog_at;                 /* position whose logits pick EOG (-1 = never) */
    /* counters the tests read */
    int eval_calls, eval_tokens, max_batch, trim_calls;
    int64_t last_trim;
};

/* The token the mock's logits favour after the cache holds ids[0..pos]: a hash of the whole
 * cached sequence, so a cache holding the wrong tokens gives different output. */
static int32_t mock_target(const int32_t *ids, int64_t pos, int eog_at) {
    if (pos == eog_at) return 1;
    uint64_t h = 0;
    for (int64_t i = 0; i <= pos; i++) h += (uint64_t)ids[i] * (uint64_t)(i + 1);
    return (int32_t)(2 + (h * 5 + (uint64_t)pos * 3) % 14);
}

static enum lpq_status mock_probe(struct lpq_err *err) { (void)err; return LPQ_STATUS_OK; }

static void mock_caps(struct lpq_rt_caps *caps) {
    *caps = (struct lpq_rt_caps){ .device = LPQ_RT_DEVICE_CPU, .batching = true, .kv_trim = true };
    snprintf(caps->device_name, sizeof(caps->device_name), "mock");
}

/* path: "mock[:opt,opt...]" with opt one of fail=N, silent, eog=P, ctx=C, bad. */
static enum lpq_status mock_load(const char *path, const struct lpq_rt_params *params,
                                 struct lpq_rt_model **out, struct lpq_err *err) {
    if (strncmp(path, "mock", 4) != 0 || strstr(path, "bad"))
        return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "mock: cannot load '%s': not a mock path", path);
    struct mock_model *m = lpq_calloc(1, sizeof(*m));
    if (!m) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "mock: no memory");
    m->n_ctx = params->n_ctx > 0 ? params->n_ctx : 64;
    if (m->n_ctx > MOCK_CTX_MAX) m->n_ctx = MOCK_CTX_MAX;
    m->eog_at = -1;
    const char *p;
    if ((p = strstr(path, "fail="))) m->fail_at = atoi(p + 5);
    if ((p = strstr(path, "eog="))) m->eog_at = atoi(p + 4);
    if ((p = strstr(path, "ctx="))) m->n_ctx = atoi(p + 4);
    m->fail_silent = strstr(path, "silent") != NULL;
    *out = (struct lpq_rt_model *)m;
    return LPQ_STATUS_OK;
}

static void mock_free(struct lpq_rt_model *m) { lpq_free(m); }
static int32_t mock_n_vocab(const struct lpq_rt_model *m) { (void)m; return MOCK_V; }
static int64_t mock_n_ctx(const struct lpq_rt_model *m) { return ((const struct mock_model *)m)->n_ctx; }

static enum lpq_status mock_tokenize(struct lpq_rt_model *m, const char *text, size_t len,
                                     bool add_special, bool parse_special, int32_t *ids, size_t cap,
                                     size_t *n_out) {
    (void)m; (void)parse_special;
    size_t n = 0;
    if (add_special && n < cap) ids[n++] = 0;
    for (size_t i = 0; i < len && n < cap; i++) ids[n++] = 2 + (unsigned char)text[i] % 14;
    *n_out = n;
    return LPQ_STATUS_OK;
}

static size_t mock_token_to_piece(struct lpq_rt_model *m, int32_t id, char *buf, size_t cap, bool special) {
    (void)m;
    const char *s = id >= 0 && id < MOCK_V && (special || id >= 2) ? mock_pieces[id] : "";
    size_t n = strlen(s);
    if (cap) {
        memcpy(buf, s, n < cap ? n : cap);
    }
    return n;
}

static int32_t mock_token_bos(const struct lpq_rt_model *m) { (void)m; return 0; }
static bool mock_token_is_eog(const struct lpq_rt_model *m, int32_t id) { (void)m; return id == 1; }
static bool mock_add_bos(const struct lpq_rt_model *m) { (void)m; return true; }

static enum lpq_status mock_eval(struct lpq_rt_model *mm, const int32_t *tokens, int64_t n,
                                 const bool *want, float *logits) {
    struct mock_model *m = (struct mock_model *)mm;
    m->eval_calls++;
    if (m->fail_at && m->eval_calls == m->fail_at) {
        if (m->fail_silent) return LPQ_STATUS_RUNTIME;
        return lpq_err_set(&m->base.err, LPQ_STATUS_RUNTIME, "mock: injected failure at eval call %d",
                           m->eval_calls);
    }
    if (m->kv + n > m->n_ctx)
        return lpq_err_set(&m->base.err, LPQ_STATUS_RANGE, "mock: context overflow");
    m->eval_tokens += (int)n;
    if (n > m->max_batch) m->max_batch = (int)n;
    float *row = logits;
    for (int64_t i = 0; i < n; i++) {
        int64_t pos = m->kv + i;
        m->ids[pos] = tokens[i];
        if (want ? !want[i] : i != n - 1) continue;
        int32_t t = mock_target(m->ids, pos, m->eog_at);
        for (int v = 0; v < MOCK_V; v++) row[v] = -(float)abs(v - t);
        row += MOCK_V;
    }
    m->kv += n;
    return LPQ_STATUS_OK;
}

static int64_t mock_kv_len(const struct lpq_rt_model *m) { return ((const struct mock_model *)m)->kv; }

static enum lpq_status mock_kv_trim(struct lpq_rt_model *mm, int64_t n_keep) {
    struct mock_model *m = (struct mock_model *)mm;
    m->trim_calls++;
    m->last_trim = n_keep;
    if (n_keep < m->kv) m->kv = n_keep;
    return LPQ_STATUS_OK;
}

static const struct lpq_rt_i mock_iface = {
    .probe = mock_probe,
    .caps = mock_caps,
    .load = mock_load,
    .free = mock_free,
    .n_vocab = mock_n_vocab,
    .n_ctx = mock_n_ctx,
    .tokenize = mock_tokenize,
    .token_to_piece = mock_token_to_piece,
    .token_bos = mock_token_bos,
    .token_is_eog = mock_token_is_eog,
    .add_bos = mock_add_bos,
    .eval = mock_eval,
    .kv_len = mock_kv_len,
    .kv_trim = mock_kv_trim,
};

static const struct lpq_rt_reg mock_reg = {
    .api_version = LPQ_RT_API_VERSION, .name = "mock", .priority = 1, .iface = &mock_iface,
};

/* ---- helpers --------------------------------------------------------------------------- */

static struct mock_model *load_mock(const char *path, int64_t n_batch) {
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_rt_reg_check(&mock_reg, &err), LPQ_STATUS_OK);
    struct lpq_rt_params p = lpq_rt_params_default();
    p.n_batch = n_batch;
    struct lpq_rt_model *m = NULL;
    enum lpq_status st = lpq_rt_model_load(&mock_reg, path, &p, &m, &err);
    if (st != LPQ_STATUS_OK) fail_msg("load %s: %s", path, err.msg);
    assert_ptr_equal(lpq_rt_model_reg(m), &mock_reg);
    return (struct mock_model *)m;
}

static struct lpq_rt_model *M(struct mock_model *m) { return (struct lpq_rt_model *)m; }

/* What greedy decoding of the mock must give: n tokens after prompt (stops before EOG). */
static int expect_greedy(const int32_t *prompt, int n_prompt, int n, int eog_at, int32_t *out) {
    int32_t seq[MOCK_CTX_MAX];
    memcpy(seq, prompt, (size_t)n_prompt * sizeof(int32_t));
    int len = n_prompt, k = 0;
    while (k < n) {
        int32_t t = mock_target(seq, len - 1, eog_at);
        if (t == 1) break;
        out[k++] = seq[len++] = t;
    }
    return k;
}

static int setup(void **state) {
    (void)state;
    tu_use_cmocka_allocator();
    return 0;
}

/* ---- registration and lookup ---------------------------------------------------------- */

static void test_reg_check(void **state) {
    (void)state;
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_rt_reg_check(&mock_reg, &err), LPQ_STATUS_OK);

    struct lpq_rt_reg r = mock_reg;
    r.api_version = 99;
    assert_int_equal(lpq_rt_reg_check(&r, &err), LPQ_STATUS_UNSUPPORTED);
    assert_string_equal(err.msg, "runtime 'mock': written for runtime API version 99, this build has version 1");

    struct lpq_rt_i bad = mock_iface;
    bad.eval = NULL;
    r = mock_reg;
    r.iface = &bad;
    assert_int_equal(lpq_rt_reg_check(&r, &err), LPQ_STATUS_BAD_ARG);
    assert_string_equal(err.msg, "runtime 'mock': required member 'eval' is NULL");
    bad = mock_iface;
    bad.kv_trim = NULL;
    assert_int_equal(lpq_rt_reg_check(&r, &err), LPQ_STATUS_BAD_ARG);
    assert_string_equal(err.msg, "runtime 'mock': required member 'kv_trim' is NULL");
    /* Optional members may be NULL. */
    bad = mock_iface;
    bad.generate = NULL;
    bad.mem = NULL;
    assert_int_equal(lpq_rt_reg_check(&r, &err), LPQ_STATUS_OK);

    r.iface = NULL;
    assert_int_equal(lpq_rt_reg_check(&r, &err), LPQ_STATUS_BAD_ARG);
    assert_string_equal(err.msg, "runtime 'mock': no interface table");
    assert_int_equal(lpq_rt_reg_check(NULL, &err), LPQ_STATUS_BAD_ARG);

    /* load refuses a bad registration before calling anything. */
    r = mock_reg;
    r.api_version = 2;
    struct lpq_rt_model *m = (struct lpq_rt_model *)&err;   /* sentinel: must stay untouched */
    assert_int_equal(lpq_rt_model_load(&r, "mock", NULL, &m, &err), LPQ_STATUS_UNSUPPORTED);
    assert_ptr_equal(m, (struct lpq_rt_model *)&err);
    assert_non_null(strstr(err.msg, "version 2"));
}

static void test_find(void **state) {
    (void)state;
    struct lpq_err err;
    lpq_err_clear(&err);
    const struct lpq_rt_reg *r = NULL;
    for (size_t i = 0; lpq_rt_builtin[i]; i++) assert_int_equal(lpq_rt_reg_check(lpq_rt_builtin[i], &err), 0);

    assert_int_equal(lpq_rt_find("cpu", &r, &err), LPQ_STATUS_OK);
    assert_string_equal(r->name, "cpu");
    assert_int_equal(r->priority, 10);

    const struct lpq_rt_reg *keep = r;
    assert_int_equal(lpq_rt_find("cuda", &r, &err), LPQ_STATUS_UNSUPPORTED);
    assert_ptr_equal(r, keep);   /* untouched on failure */
    assert_string_equal(err.msg, "cuda: not built (configure with -DLPQ_WITH_CUDA=ON)");

    assert_int_equal(lpq_rt_find("nope", &r, &err), LPQ_STATUS_NOT_FOUND);
    assert_string_equal(err.msg, "unknown runtime 'nope' (available: cpu)");

    /* auto: cuda has the higher priority but is not built, so cpu. */
    r = NULL;
    assert_int_equal(lpq_rt_find("auto", &r, &err), LPQ_STATUS_OK);
    assert_string_equal(r->name, "cpu");
    r = NULL;
    assert_int_equal(lpq_rt_find(NULL, &r, &err), LPQ_STATUS_OK);
    assert_string_equal(r->name, "cpu");

    /* The cuda stub's load says the same as its probe. */
    const struct lpq_rt_reg *cuda = NULL;
    for (size_t i = 0; lpq_rt_builtin[i]; i++)
        if (!strcmp(lpq_rt_builtin[i]->name, "cuda")) cuda = lpq_rt_builtin[i];
    assert_non_null(cuda);
    assert_int_equal(cuda->priority, 100);
    struct lpq_rt_model *m = NULL;
    assert_int_equal(lpq_rt_model_load(cuda, "x.gguf", NULL, &m, &err), LPQ_STATUS_UNSUPPORTED);
    assert_null(m);
    assert_non_null(strstr(err.msg, "cuda: not built"));
}

static void test_load_failure_and_free_null(void **state) {
    (void)state;
    struct lpq_err err;
    lpq_err_clear(&err);
    struct lpq_rt_model *m = NULL;
    assert_int_equal(lpq_rt_model_load(&mock_reg, "mock:bad", NULL, &m, &err), LPQ_STATUS_BAD_FILE);
    assert_null(m);
    assert_string_equal(err.msg, "mock: cannot load 'mock:bad': not a mock path");
    struct lpq_rt_params p = lpq_rt_params_default();
    p.n_threads = -1;
    assert_int_equal(lpq_rt_model_load(&mock_reg, "mock", &p, &m, &err), LPQ_STATUS_BAD_ARG);
    lpq_rt_model_free(NULL);
    assert_string_equal(lpq_rt_errmsg(NULL), "");
}

/* ---- wrappers ------------------------------------------------------------------------- */

static void test_wrappers(void **state) {
    (void)state;
    struct mock_model *mm = load_mock("mock:ctx=8", 0);
    struct lpq_rt_model *m = M(mm);
    assert_int_equal(lpq_rt_n_vocab(m), MOCK_V);
    assert_int_equal(lpq_rt_n_ctx(m), 8);
    assert_int_equal(lpq_rt_token_bos(m), 0);
    assert_true(lpq_rt_token_is_eog(m, 1));
    assert_true(lpq_rt_add_bos(m));

    struct lpq_rt_mem mem;
    assert_int_equal(lpq_rt_mem(m, &mem), LPQ_STATUS_UNSUPPORTED);
    assert_string_equal(lpq_rt_errmsg(m), "mock: memory report is not supported by this runtime");
    char buf[32] = "junk";
    assert_int_equal(lpq_rt_describe(m, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");

    int32_t ids[16];
    size_t n = 0;
    assert_int_equal(lpq_rt_tokenize(m, "ab", 2, true, false, ids, 16, &n), LPQ_STATUS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 0);
    assert_string_equal(lpq_rt_errmsg(m), "");   /* a successful call clears the last error */

    /* Context limit: checked by the wrapper, before the adapter sees the batch. */
    int32_t toks[9] = { 0, 2, 3, 4, 5, 6, 7, 8, 9 };
    float logits[9 * MOCK_V];
    assert_int_equal(lpq_rt_eval(m, toks, 9, NULL, logits), LPQ_STATUS_RANGE);
    assert_string_equal(lpq_rt_errmsg(m), "eval: 9 tokens at position 0 exceed the context of 8 tokens");
    assert_int_equal(mm->eval_calls, 0);

    /* want: only the flagged positions are written, consecutively. */
    bool want[4] = { true, false, true, false };
    assert_int_equal(lpq_rt_eval(m, toks, 4, want, logits), LPQ_STATUS_OK);
    assert_int_equal(lpq_rt_kv_len(m), 4);
    assert_float_equal(logits[mock_target(toks, 0, -1)], 0.0f, 0);
    assert_float_equal(logits[MOCK_V + mock_target(toks, 2, -1)], 0.0f, 0);

    assert_int_equal(lpq_rt_kv_trim(m, -1), LPQ_STATUS_BAD_ARG);
    assert_int_equal(lpq_rt_kv_trim(m, 10), LPQ_STATUS_OK);   /* beyond the cache: no-op */
    assert_int_equal(mm->trim_calls, 0);
    assert_int_equal(lpq_rt_kv_trim(m, 2), LPQ_STATUS_OK);
    assert_int_equal(lpq_rt_kv_len(m), 2);

    /* generate: empty prompt and a prompt longer than the context are refused. */
    struct lpq_rt_gen_result res;
    int32_t out[8];
    assert_int_equal(lpq_rt_generate(m, toks, 0, NULL, out, 8, &res), LPQ_STATUS_BAD_ARG);
    assert_non_null(strstr(lpq_rt_errmsg(m), "empty prompt"));
    assert_int_equal(lpq_rt_generate(m, toks, 9, NULL, out, 8, &res), LPQ_STATUS_RANGE);
    assert_string_equal(lpq_rt_errmsg(m), "generate: prompt of 9 tokens exceeds the context of 8 tokens");
    lpq_rt_model_free(m);
}

/* ---- generate ------------------------------------------------------------------------- */

static void test_generate_greedy(void **state) {
    (void)state;
    struct mock_model *mm = load_mock("mock", 0);
    const int32_t prompt[3] = { 0, 2, 3 };
    int32_t want[10], out[10];
    assert_int_equal(expect_greedy(prompt, 3, 10, -1, want), 10);

    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    gp.n_predict = 10;
    struct lpq_rt_gen_result res;
    assert_int_equal(lpq_rt_generate(M(mm), prompt, 3, &gp, out, 10, &res), LPQ_STATUS_OK);
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(res.n_gen, 10);
    assert_int_equal(res.n_prompt, 3);
    assert_int_equal(res.n_decode, 9);
    assert_int_equal(res.stop_reason, LPQ_RT_STOP_N_PREDICT);
    assert_true(res.t_start_ns <= res.t_first_ns && res.t_first_ns <= res.t_end_ns);
    /* One prompt batch, then one eval per generated token but the last. */
    assert_int_equal(mm->eval_calls, 1 + 9);
    assert_int_equal(mm->eval_tokens, 3 + 9);
    assert_int_equal(lpq_rt_kv_len(M(mm)), 12);

    /* `cap` bounds the output as n_predict does. */
    lpq_rt_kv_trim(M(mm), 0);
    gp.n_predict = 100;
    assert_int_equal(lpq_rt_generate(M(mm), prompt, 3, &gp, out, 4, &res), LPQ_STATUS_OK);
    assert_int_equal(res.n_gen, 4);
    assert_memory_equal(out, want, 4 * sizeof(int32_t));
    lpq_rt_model_free(M(mm));
}

static void test_generate_eog(void **state) {
    (void)state;
    /* Logits at position 5 pick EOG: prompt 0..2, generated tokens evaluated at 3 and 4, so
     * the third sampled token is EOG. */
    struct mock_model *mm = load_mock("mock:eog=5", 0);
    const int32_t prompt[3] = { 0, 4, 4 };
    int32_t want[10], out[10];
    assert_int_equal(expect_greedy(prompt, 3, 10, 5, want), 3);
    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    gp.n_predict = 10;
    struct lpq_rt_gen_result res;
    assert_int_equal(lpq_rt_generate(M(mm), prompt, 3, &gp, out, 10, &res), LPQ_STATUS_OK);
    assert_int_equal(res.stop_reason, LPQ_RT_STOP_EOG);
    assert_int_equal(res.n_gen, 3);
    assert_memory_equal(out, want, 3 * sizeof(int32_t));

    /* stop_at_eog off: EOG is an ordinary token. */
    lpq_rt_kv_trim(M(mm), 0);
    gp.stop_at_eog = false;
    assert_int_equal(lpq_rt_generate(M(mm), prompt, 3, &gp, out, 10, &res), LPQ_STATUS_OK);
    assert_int_equal(res.n_gen, 10);
    assert_int_equal(out[3], 1);
    lpq_rt_model_free(M(mm));
}

static void test_generate_stop_string_spans_tokens(void **state) {
    (void)state;
    struct mock_model *mm = load_mock("mock", 0);
    const int32_t prompt[2] = { 0, 7 };
    int32_t want[20], out[20];
    assert_int_equal(expect_greedy(prompt, 2, 20, -1, want), 20);
    /* Stop = last letter of the 3rd piece + first letter of the 4th: only visible on the
     * detokenized text, never inside one piece. */
    char stop[3] = { mock_pieces[want[2]][1], mock_pieces[want[3]][0], 0 };
    char text[64] = "";
    int expect_n = 0;
    for (int k = 0; k < 20 && !expect_n; k++) {
        strcat(text, mock_pieces[want[k]]);
        if (strstr(text, stop)) expect_n = k + 1;
    }
    assert_true(expect_n >= 2 && expect_n <= 4);
    /* The match straddles a piece boundary. */
    for (int k = 0; k < expect_n; k++) assert_null(strstr(mock_pieces[want[k]], stop));

    const char *stops[] = { "zzzz-never", stop, NULL };
    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    gp.n_predict = 20;
    gp.stop = stops;
    struct lpq_rt_gen_result res;
    assert_int_equal(lpq_rt_generate(M(mm), prompt, 2, &gp, out, 20, &res), LPQ_STATUS_OK);
    assert_int_equal(res.stop_reason, LPQ_RT_STOP_STRING);
    assert_int_equal(res.n_gen, expect_n);
    assert_memory_equal(out, want, (size_t)expect_n * sizeof(int32_t));
    lpq_rt_model_free(M(mm));
}

struct cb_log {
    int n, stop_after;
    uint64_t last_t;
    char text[256];
    int32_t toks[64];
};

static bool record_cb(int32_t tok, const char *piece, size_t len, uint64_t t_ns, void *user) {
    struct cb_log *c = user;
    assert_true(t_ns >= c->last_t);
    c->last_t = t_ns;
    assert_int_equal(len, strlen(mock_pieces[tok]));
    assert_memory_equal(piece, mock_pieces[tok], len);
    strncat(c->text, piece, len);
    c->toks[c->n++] = tok;
    return c->n < c->stop_after;
}

static void test_generate_callback(void **state) {
    (void)state;
    struct mock_model *mm = load_mock("mock", 0);
    const int32_t prompt[2] = { 0, 9 };
    int32_t out[10];
    struct cb_log log = { .stop_after = 3 };
    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    gp.n_predict = 10;
    gp.cb = record_cb;
    gp.cb_user = &log;
    struct lpq_rt_gen_result res;
    assert_int_equal(lpq_rt_generate(M(mm), prompt, 2, &gp, out, 10, &res), LPQ_STATUS_OK);
    assert_int_equal(res.stop_reason, LPQ_RT_STOP_CALLBACK);
    assert_int_equal(res.n_gen, 3);
    assert_int_equal(log.n, 3);
    assert_memory_equal(log.toks, out, 3 * sizeof(int32_t));
    assert_int_equal(strlen(log.text), 6);
    assert_true(log.last_t <= res.t_end_ns && res.t_first_ns <= log.last_t);
    lpq_rt_model_free(M(mm));
}

static void test_generate_kv_prefix_reuse(void **state) {
    (void)state;
    struct mock_model *mm = load_mock("mock", 0);
    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    gp.n_predict = 3;
    struct lpq_rt_gen_result res;
    int32_t out[8], want[8];

    const int32_t p1[6] = { 0, 2, 3, 4, 5, 6 };
    assert_int_equal(lpq_rt_generate(M(mm), p1, 6, &gp, out, 8, &res), LPQ_STATUS_OK);
    assert_int_equal(lpq_rt_kv_len(M(mm)), 8);   /* prompt + 2 evaluated generated tokens */

    /* Shares 4 tokens with the cache: trim to 4, evaluate only the 3 new ones. */
    const int32_t p2[7] = { 0, 2, 3, 4, 9, 9, 9 };
    mm->eval_calls = mm->eval_tokens = 0;
    assert_int_equal(lpq_rt_generate(M(mm), p2, 7, &gp, out, 8, &res), LPQ_STATUS_OK);
    assert_int_equal(mm->last_trim, 4);
    assert_int_equal(res.n_prompt, 3);
    assert_int_equal(mm->eval_tokens, 3 + 2);
    expect_greedy(p2, 7, 3, -1, want);
    assert_memory_equal(out, want, 3 * sizeof(int32_t));

    /* The same prompt again: everything but its last token is reused. */
    mm->eval_calls = mm->eval_tokens = 0;
    assert_int_equal(lpq_rt_generate(M(mm), p2, 7, &gp, out, 8, &res), LPQ_STATUS_OK);
    assert_int_equal(mm->last_trim, 6);
    assert_int_equal(res.n_prompt, 1);
    assert_int_equal(mm->eval_tokens, 1 + 2);
    assert_memory_equal(out, want, 3 * sizeof(int32_t));

    /* A continuation of prompt + output (a chat turn) reuses the whole cache. */
    int32_t p3[12];
    memcpy(p3, p2, sizeof(p2));
    memcpy(p3 + 7, out, 3 * sizeof(int32_t));
    p3[10] = 5;
    p3[11] = 6;
    mm->eval_calls = mm->eval_tokens = 0;
    int trims = mm->trim_calls;
    assert_int_equal(lpq_rt_generate(M(mm), p3, 12, &gp, out, 8, &res), LPQ_STATUS_OK);
    assert_int_equal(mm->trim_calls, trims);   /* nothing to trim: cache = p3[0..9) */
    assert_int_equal(res.n_prompt, 12 - 9);
    expect_greedy(p3, 12, 3, -1, want);
    assert_memory_equal(out, want, 3 * sizeof(int32_t));

    /* A cache changed behind the wrappers' back is not trusted: full re-evaluation. */
    mm->kv = 5;
    mm->eval_tokens = 0;
    assert_int_equal(lpq_rt_generate(M(mm), p2, 7, &gp, out, 8, &res), LPQ_STATUS_OK);
    assert_int_equal(mm->last_trim, 0);
    assert_int_equal(res.n_prompt, 7);
    expect_greedy(p2, 7, 3, -1, want);
    assert_memory_equal(out, want, 3 * sizeof(int32_t));
    lpq_rt_model_free(M(mm));
}

static void test_generate_prompt_batches(void **state) {
    (void)state;
    struct mock_model *mm = load_mock("mock", 4);   /* n_batch 4 */
    int32_t prompt[10], out[5], want[5];
    for (int i = 0; i < 10; i++) prompt[i] = 2 + (i * 3) % 14;
    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    gp.n_predict = 5;
    struct lpq_rt_gen_result res;
    assert_int_equal(lpq_rt_generate(M(mm), prompt, 10, &gp, out, 5, &res), LPQ_STATUS_OK);
    assert_int_equal(mm->max_batch, 4);
    assert_int_equal(mm->eval_calls, 3 + 4);   /* 4 + 4 + 2, then 4 decode steps */
    expect_greedy(prompt, 10, 5, -1, want);
    assert_memory_equal(out, want, sizeof(want));
    lpq_rt_model_free(M(mm));
}

static void test_generate_ctx_full(void **state) {
    (void)state;
    struct mock_model *mm = load_mock("mock:ctx=8", 0);
    const int32_t prompt[3] = { 0, 2, 2 };
    int32_t out[100];
    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    gp.n_predict = -1;   /* until something stops it */
    struct lpq_rt_gen_result res;
    assert_int_equal(lpq_rt_generate(M(mm), prompt, 3, &gp, out, 100, &res), LPQ_STATUS_OK);
    assert_int_equal(res.stop_reason, LPQ_RT_STOP_CTX_FULL);
    assert_int_equal(lpq_rt_kv_len(M(mm)), 8);
    assert_int_equal(res.n_gen, 6);   /* 5 evaluated + the last sampled one */
    lpq_rt_model_free(M(mm));
}

static void test_generate_failure_mid_run(void **state) {
    (void)state;
    struct mock_model *mm = load_mock("mock:fail=3", 0);
    const int32_t prompt[3] = { 0, 2, 3 };
    int32_t out[10], want[10];
    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    gp.n_predict = 10;
    struct lpq_rt_gen_result res;
    assert_int_equal(lpq_rt_generate(M(mm), prompt, 3, &gp, out, 10, &res), LPQ_STATUS_RUNTIME);
    assert_string_equal(lpq_rt_errmsg(M(mm)), "mock: injected failure at eval call 3");
    /* Calls 1 (prompt) and 2 (first decode) worked: two tokens came out before the failure. */
    assert_int_equal(res.n_gen, 2);
    expect_greedy(prompt, 3, 2, -1, want);
    assert_memory_equal(out, want, 2 * sizeof(int32_t));
    lpq_rt_model_free(M(mm));

    /* An adapter that fails without a message still yields one. */
    mm = load_mock("mock:fail=1,silent", 0);
    assert_int_equal(lpq_rt_generate(M(mm), prompt, 3, &gp, out, 10, &res), LPQ_STATUS_RUNTIME);
    assert_string_equal(lpq_rt_errmsg(M(mm)), "mock: eval failed: runtime failure");
    lpq_rt_model_free(M(mm));
}

/* An adapter with its own `generate` is called instead of the generic loop. */
static int g_own_generate_calls;
static enum lpq_status own_generate(struct lpq_rt_model *m, const int32_t *prompt, int64_t n_prompt,
                                    const struct lpq_rt_gen_params *gp, int32_t *out, size_t cap,
                                    struct lpq_rt_gen_result *res) {
    (void)m; (void)prompt; (void)gp; (void)out; (void)cap;
    g_own_generate_calls++;
    res->n_prompt = (int32_t)n_prompt;
    return LPQ_STATUS_INTERRUPTED;
}

static void test_adapter_generate_used(void **state) {
    (void)state;
    struct lpq_rt_i with_gen = mock_iface;
    with_gen.generate = own_generate;
    const struct lpq_rt_reg reg = { .api_version = LPQ_RT_API_VERSION, .name = "mock2", .iface = &with_gen };
    struct lpq_err err;
    lpq_err_clear(&err);
    struct lpq_rt_model *m = NULL;
    assert_int_equal(lpq_rt_model_load(&reg, "mock", NULL, &m, &err), LPQ_STATUS_OK);
    const int32_t prompt[2] = { 0, 2 };
    struct lpq_rt_gen_result res;
    assert_int_equal(lpq_rt_generate(m, prompt, 2, NULL, NULL, 0, &res), LPQ_STATUS_INTERRUPTED);
    assert_int_equal(g_own_generate_calls, 1);
    assert_int_equal(res.n_prompt, 2);
    assert_string_equal(lpq_rt_errmsg(m), "mock2: generate failed: interrupted");
    lpq_rt_model_free(m);
}

static void test_defaults(void **state) {
    (void)state;
    struct lpq_rt_params p = lpq_rt_params_default();
    assert_true(p.use_mmap);
    assert_int_equal(p.n_threads, 0);
    struct lpq_rt_sampler s = lpq_rt_sampler_default();
    assert_true(s.temperature <= 0.0f);   /* greedy */
    assert_float_equal(s.top_p, 1.0f, 0);
    assert_float_equal(s.repeat_penalty, 1.0f, 0);
    struct lpq_rt_gen_params g = lpq_rt_gen_params_default();
    assert_true(g.stop_at_eog);
    assert_true(g.n_predict > 0);
    uint64_t t0 = lpq_time_ns(), t1 = lpq_time_ns();
    assert_true(t0 > 0 && t1 >= t0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, setup),
        cmocka_unit_test_setup(test_reg_check, setup),
        cmocka_unit_test_setup(test_find, setup),
        cmocka_unit_test_setup(test_load_failure_and_free_null, setup),
        cmocka_unit_test_setup(test_wrappers, setup),
        cmocka_unit_test_setup(test_generate_greedy, setup),
        cmocka_unit_test_setup(test_generate_eog, setup),
        cmocka_unit_test_setup(test_generate_stop_string_spans_tokens, setup),
        cmocka_unit_test_setup(test_generate_callback, setup),
        cmocka_unit_test_setup(test_generate_kv_prefix_reuse, setup),
        cmocka_unit_test_setup(test_generate_prompt_batches, setup),
        cmocka_unit_test_setup(test_generate_ctx_full, setup),
        cmocka_unit_test_setup(test_generate_failure_mid_run, setup),
        cmocka_unit_test_setup(test_adapter_generate_used, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
