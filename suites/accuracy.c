/*
 * accuracy.c — the `accuracy` suite: the 140 lpq questions (suites/lpq-140.jsonl) in six
 * categories, then the standard benchmarks found in --data-dir, each item stored in
 * evaluation.json as it finishes (resumable), with per-category / per-benchmark summaries
 * carrying Wilson 95 % intervals. Conventions: suites/SCHEMA-lpq-140.md and
 * ../shared/docs/METRICS.md (lm-evaluation-harness for benchmarks, no chat template there).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "suites/acc-items.h"
#include "suites/acc-score.h"
#include "suites/bench-readers.h"
#include "suites/chat-templates.h"
#include "suites/stats.h"
#include "suites/suite.h"
#include "suites/suites-impl.h"

#define SUITE "accuracy"
#define OUTPUT_KEEP 400   /* bytes of generated text kept per item */

struct acc_run {
    struct lpq_suite_ctx *ctx;
    struct lpq_chat_choice chat;
    int32_t n_predict_num;      /* tokens for numeric answers */
    int32_t n_predict_tool;     /* tokens for tool calls */
    int64_t limit;              /* benchmark items kept (0 = all) */
    int64_t done, total;        /* progress, items */
};

static bool file_exists(const char *p) {
    struct stat sb;
    return p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The lpq-140 file: $LPQ_ACC_ITEMS, <data-dir>/lpq-140.jsonl, beside this source file (build
 * tree), $LPQ_SOURCE_DIR/suites/lpq-140.jsonl. lpq_malloc'd; NULL when none exists. */
static char *items_path(const struct lpq_suite_opts *o) {
    const char *env = getenv("LPQ_ACC_ITEMS");
    if (env && *env) return lpq_strdup(env);
    char *p = o && o->data_dir ? lpq_asprintf("%s/lpq-140.jsonl", o->data_dir) : NULL;
    if (file_exists(p)) return p;
    lpq_free(p);
    const char *here = __FILE__, *slash = strrchr(here, '/');
    p = slash ? lpq_asprintf("%.*s/lpq-140.jsonl", (int)(slash - here), here) : NULL;
    if (file_exists(p)) return p;
    lpq_free(p);
    const char *src = getenv("LPQ_SOURCE_DIR");
    p = src ? lpq_asprintf("%s/suites/lpq-140.jsonl", src) : NULL;
    if (file_exists(p)) return p;
    lpq_free(p);
    return NULL;
}

static json_t *rate_json(double k, double n) {
    double lo, hi;
    lpq_stats_wilson(k, n, 1.96, &lo, &hi);
    return json_pack("{s:f, s:f, s:f, s:[f,f]}", "k", k, "n", n, "rate", n > 0 ? k / n : 0.0, "ci95", lo, hi);
}

static void progress(struct acc_run *r) {
    r->done++;
    if (r->ctx->progress) r->ctx->progress(r->ctx->progress_user, SUITE, r->done, r->total);
}

static json_t *clip_string(const char *s) {
    size_t n = strlen(s);
    if (n <= OUTPUT_KEEP) return json_string(s);
    /* cut at a UTF-8 boundary so the JSON stays valid */
    while (n > OUTPUT_KEEP || (n && ((unsigned char)s[n] & 0xC0) == 0x80)) n--;
    return json_stringn(s, n);
}

/* ---- one item ---------------------------------------------------------------------------- */

static enum lpq_status run_mc(struct acc_run *r, const struct lpq_acc_item *it, json_t *out, struct lpq_err *err) {
    const struct lpq_chat_tmpl *t = r->chat.tmpl;
    bool chat = !it->formatted && strcmp(t->name, "none");
    int32_t n = it->n_choices;
    const char **ctxs = lpq_calloc((size_t)n, sizeof(char *)), **conts = lpq_calloc((size_t)n, sizeof(char *));
    char **owned = lpq_calloc((size_t)n, sizeof(char *));
    struct lpq_acc_ll *ll = lpq_calloc((size_t)n, sizeof(*ll));
    char *context = NULL;
    enum lpq_status st = LPQ_STATUS_OK;
    if (!ctxs || !conts || !owned || !ll) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "accuracy: out of memory"); goto done; }
    if (it->formatted) context = lpq_strdup(it->prompt);
    else if (chat) context = lpq_chat_render(t, NULL, it->prompt);
    else context = lpq_asprintf("Question: %s\nAnswer:", it->prompt);
    if (!context) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "accuracy: out of memory"); goto done; }
    for (int32_t c = 0; c < n; c++) {
        ctxs[c] = it->contexts ? it->contexts[c] : context;
        if (it->formatted || chat) conts[c] = it->choices[c];
        else {
            if (!(owned[c] = lpq_asprintf(" %s", it->choices[c]))) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "accuracy: out of memory"); goto done; }
            conts[c] = owned[c];
        }
    }
    struct lpq_acc_eval_stats es;
    struct lpq_err ierr;
    lpq_err_clear(&ierr);
    st = lpq_acc_mc_loglik(r->ctx->model, ctxs, conts, n, chat, ll, &es, &ierr);
    if (st == LPQ_STATUS_BAD_ARG || st == LPQ_STATUS_RANGE) {
        /* this item cannot be scored on this model; recorded as wrong, the run goes on */
        json_object_set_new(out, "error", json_string(ierr.msg));
        json_object_set_new(out, "correct", json_false());
        st = LPQ_STATUS_OK;
        goto done;
    }
    if (st) { lpq_err_copy(err, &ierr); goto done; }
    json_t *jl = json_array(), *jt = json_array(), *jc = json_array(), *jb = json_array();
    for (int32_t c = 0; c < n; c++) {
        json_array_append_new(jl, json_real(ll[c].ll));
        json_array_append_new(jt, json_integer(ll[c].n_tokens));
        json_array_append_new(jc, json_integer(ll[c].n_chars));
        json_array_append_new(jb, json_integer(ll[c].n_bytes));
    }
    int32_t p_acc = lpq_acc_mc_pick(ll, n, LPQ_ACC_NORM_NONE), p_norm = lpq_acc_mc_pick(ll, n, LPQ_ACC_NORM_CHARS),
            p_bytes = lpq_acc_mc_pick(ll, n, LPQ_ACC_NORM_BYTES), p_tok = lpq_acc_mc_pick(ll, n, LPQ_ACC_NORM_TOKENS);
    json_object_set_new(out, "ll", jl);
    json_object_set_new(out, "n_tokens", jt);
    json_object_set_new(out, "n_chars", jc);
    json_object_set_new(out, "n_bytes", jb);
    json_object_set_new(out, "answer", json_integer(it->answer));
    json_object_set_new(out, "pick", json_pack("{s:i, s:i, s:i, s:i}", "acc", p_acc, "acc_norm", p_norm, "acc_bytes",
                                               p_bytes, "acc_norm_tokens", p_tok));
    json_object_set_new(out, "correct", json_boolean(p_acc == it->answer));
    json_object_set_new(out, "correct_norm", json_boolean(p_norm == it->answer));
    json_object_set_new(out, "correct_bytes", json_boolean(p_bytes == it->answer));
    json_object_set_new(out, "correct_norm_tokens", json_boolean(p_tok == it->answer));
    if (it->is_true) json_object_set_new(out, "mc2", json_real(lpq_acc_mc2(ll, it->is_true, n)));
    json_object_set_new(out, "tokens_evaluated", json_integer(es.n_evaluated));
    if (es.truncated) json_object_set_new(out, "truncated", json_true());
done:
    for (int32_t c = 0; owned && c < n; c++) lpq_free(owned[c]);
    lpq_free(owned);
    lpq_free(ctxs);
    lpq_free(conts);
    lpq_free(ll);
    lpq_free(context);
    return st;
}

static const char *const stop_plain[] = { "\n\n", "Question:", NULL };

static enum lpq_status run_gen(struct acc_run *r, const struct lpq_acc_item *it, json_t *out, struct lpq_err *err) {
    const struct lpq_chat_tmpl *t = r->chat.tmpl;
    bool chat = !it->formatted && strcmp(t->name, "none");
    const char *stop_chat[2] = { t->eot, NULL };
    const char *const *stop = chat ? stop_chat : stop_plain;
    char *prompt = NULL, *sys = NULL, *user = NULL, *text = NULL;
    enum lpq_status st = LPQ_STATUS_OK;
    int32_t n_predict = it->type == LPQ_ACC_TOOL_CALL ? r->n_predict_tool : r->n_predict_num;
    if (it->formatted) prompt = lpq_strdup(it->prompt);
    else if (it->type == LPQ_ACC_NUMERIC) {
        prompt = chat ? (user = lpq_asprintf("%s\nEnd your reply with the final answer as a number.", it->prompt),
                         user ? lpq_chat_render(t, NULL, user) : NULL)
                      : lpq_asprintf("Question: %s\nAnswer:", it->prompt);
    } else {
        char *tools = json_dumps(it->tools, JSON_COMPACT | JSON_PRESERVE_ORDER);
        sys = tools ? lpq_asprintf("You can call these functions:\n%s\nTo call a function, reply with only a JSON "
                                   "object of the form {\"name\": \"<function name>\", \"arguments\": {\"<argument>\": "
                                   "<value>}}.", tools)
                    : NULL;
        free(tools);   /* jansson allocates with its own allocator */
        user = chat ? lpq_strdup(it->prompt) : lpq_asprintf("Request: %s\nCall:", it->prompt);
        prompt = sys && user ? lpq_chat_render(t, sys, user) : NULL;
    }
    if (!prompt) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "accuracy: out of memory"); goto done; }
    int32_t n_gen = 0;
    struct lpq_err ierr;
    lpq_err_clear(&ierr);
    st = lpq_acc_generate(r->ctx->model, prompt, chat, n_predict, stop, &text, &n_gen, &ierr);
    if (st == LPQ_STATUS_RANGE || st == LPQ_STATUS_BAD_ARG) {
        json_object_set_new(out, "error", json_string(ierr.msg));
        json_object_set_new(out, "correct", json_false());
        st = LPQ_STATUS_OK;
        goto done;
    }
    if (st) { lpq_err_copy(err, &ierr); goto done; }
    json_object_set_new(out, "output", clip_string(text));
    json_object_set_new(out, "n_gen", json_integer(n_gen));
    if (it->type == LPQ_ACC_NUMERIC) {
        double v = 0;
        bool found = lpq_acc_last_number(text, &v);
        json_object_set_new(out, "extracted", found ? json_real(v) : json_null());
        json_object_set_new(out, "answer", json_real(it->number));
        json_object_set_new(out, "correct", json_boolean(found && lpq_acc_numeric_match(v, it->number, it->tolerance)));
    } else {
        struct lpq_acc_tool_score ts;
        lpq_acc_tool_score(text, it->tools, it->expected, &ts);
        json_object_set_new(out, "valid_json", json_boolean(ts.valid_json));
        json_object_set_new(out, "right_function", json_boolean(ts.right_function));
        json_object_set_new(out, "schema_ok", json_boolean(ts.schema_ok));
        json_object_set_new(out, "n_args", json_integer(ts.n_args));
        json_object_set_new(out, "n_args_ok", json_integer(ts.n_args_ok));
        json_object_set_new(out, "correct", json_boolean(ts.correct));
        if (ts.note[0]) json_object_set_new(out, "note", json_string(ts.note));
    }
done:
    lpq_free(prompt);
    lpq_free(sys);
    lpq_free(user);
    lpq_free(text);
    return st;
}

static enum lpq_status run_item(struct acc_run *r, const struct lpq_acc_set *s, const struct lpq_acc_item *it,
                                struct lpq_err *err) {
    char id[160];
    if (!strcmp(s->name, "lpq-140")) snprintf(id, sizeof(id), "lpq140/%s", it->id);
    else snprintf(id, sizeof(id), "%s", it->id);
    json_t *old = lpq_results_item(r->ctx->res, SUITE, id);
    const char *old_t = json_string_value(json_object_get(old, "template"));
    if (old && old_t && !strcmp(old_t, it->formatted ? "none" : r->chat.tmpl->name)) {
        progress(r);
        return LPQ_STATUS_OK;   /* resumed */
    }
    json_t *out = json_object();
    if (!out) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "accuracy: out of memory");
    json_object_set_new(out, "set", json_string(s->name));
    json_object_set_new(out, "category", json_string(it->category));
    json_object_set_new(out, "type", json_string(lpq_acc_type_name(it->type)));
    if (it->difficulty[0]) json_object_set_new(out, "difficulty", json_string(it->difficulty));
    json_object_set_new(out, "template", json_string(it->formatted ? "none" : r->chat.tmpl->name));
    uint64_t t0 = lpq_time_ns();
    enum lpq_status st = it->type == LPQ_ACC_MC ? run_mc(r, it, out, err) : run_gen(r, it, out, err);
    if (st) {
        json_decref(out);
        return st;
    }
    json_object_set_new(out, "ms", json_real((double)(lpq_time_ns() - t0) * 1e-6));
    if ((st = lpq_results_put_item(r->ctx->res, SUITE, id, out)))
        return lpq_err_set(err, st, "accuracy: saving results: %s", lpq_results_errmsg(r->ctx->res));
    progress(r);
    return LPQ_STATUS_OK;
}

/* ---- summaries --------------------------------------------------------------------------- */

struct tally {
    double n, ok, norm, bytes, tok, n_mc, errors, chance;
    double json_ok, fn_ok, args, args_ok, n_tool;
    struct lpq_stats_acc mc2;
};

static void tally_add(struct tally *t, const struct lpq_acc_item *it, json_t *r) {
    t->n++;
    t->ok += json_is_true(json_object_get(r, "correct"));
    if (json_object_get(r, "error")) t->errors++;
    if (it->type == LPQ_ACC_MC) {
        t->n_mc++;
        t->chance += 1.0 / it->n_choices;
        t->norm += json_is_true(json_object_get(r, "correct_norm"));
        t->bytes += json_is_true(json_object_get(r, "correct_bytes"));
        t->tok += json_is_true(json_object_get(r, "correct_norm_tokens"));
        json_t *m2 = json_object_get(r, "mc2");
        if (m2) lpq_stats_acc_add(&t->mc2, json_number_value(m2));
    } else if (it->type == LPQ_ACC_TOOL_CALL) {
        t->n_tool++;
        t->json_ok += json_is_true(json_object_get(r, "valid_json"));
        t->fn_ok += json_is_true(json_object_get(r, "right_function"));
        json_t *na = json_object_get(r, "n_args");
        /* an item that failed before scoring is charged its required arguments */
        t->args += na ? (double)json_integer_value(na) : (double)json_array_size(json_object_get(it->expected, "required"));
        t->args_ok += (double)json_integer_value(json_object_get(r, "n_args_ok"));
    }
}

static json_t *tally_json(const struct tally *t, bool benchmark) {
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)t->n));
    json_object_set_new(o, benchmark ? "acc" : "accuracy", rate_json(t->ok, t->n));
    json_object_set_new(o, "chance", json_real(t->n > 0 ? t->chance / t->n : 0));
    if (t->errors) json_object_set_new(o, "unscorable", json_integer((json_int_t)t->errors));
    if (t->n_mc) {
        json_object_set_new(o, "acc_norm", rate_json(t->norm, t->n_mc));
        json_object_set_new(o, "acc_bytes", rate_json(t->bytes, t->n_mc));
        json_object_set_new(o, "acc_norm_tokens", rate_json(t->tok, t->n_mc));
    }
    if (t->n_tool) {
        json_object_set_new(o, "valid_json", rate_json(t->json_ok, t->n_tool));
        json_object_set_new(o, "correct_function", rate_json(t->fn_ok, t->n_tool));
        json_object_set_new(o, "arguments", rate_json(t->args_ok, t->args));
    }
    if (t->mc2.n > 0) {
        double mean, se;
        lpq_stats_mean_err_any(t->mc2.n, t->mc2.sum, t->mc2.sum2, &mean, &se);
        json_object_set_new(o, "mc2", json_pack("{s:f, s:f, s:i}", "mean", mean, "stderr", se, "n", (int)t->mc2.n));
    }
    return o;
}

static json_t *set_summary(struct acc_run *r, const struct lpq_acc_set *s, bool lpq140) {
    struct tally all, cat[LPQ_ARRAY_SIZE(lpq_acc_categories)], diff[3];
    static const char *const diffs[3] = { "easy", "medium", "hard" };
    memset(&all, 0, sizeof(all));
    memset(cat, 0, sizeof(cat));
    memset(diff, 0, sizeof(diff));
    for (size_t i = 0; i < s->n; i++) {
        const struct lpq_acc_item *it = &s->items[i];
        char id[160];
        if (lpq140) snprintf(id, sizeof(id), "lpq140/%s", it->id);
        else snprintf(id, sizeof(id), "%s", it->id);
        json_t *res = lpq_results_item(r->ctx->res, SUITE, id);
        if (!res) continue;
        tally_add(&all, it, res);
        for (size_t c = 0; lpq140 && c < LPQ_ARRAY_SIZE(lpq_acc_categories); c++)
            if (!strcmp(it->category, lpq_acc_categories[c].name)) tally_add(&cat[c], it, res);
        for (size_t d = 0; d < 3; d++)
            if (!strcmp(it->difficulty, diffs[d])) tally_add(&diff[d], it, res);
    }
    json_t *o = tally_json(&all, !lpq140);
    if (lpq140) {
        json_t *jc = json_object(), *jd = json_object();
        for (size_t c = 0; c < LPQ_ARRAY_SIZE(lpq_acc_categories); c++)
            json_object_set_new(jc, lpq_acc_categories[c].name, tally_json(&cat[c], false));
        for (size_t d = 0; d < 3; d++) json_object_set_new(jd, diffs[d], tally_json(&diff[d], false));
        json_object_set_new(o, "categories", jc);
        json_object_set_new(o, "difficulty", jd);
    } else {
        json_object_set_new(o, "n_total", json_integer(s->n_total));
        json_object_set_new(o, "limit", json_integer(r->limit));
        json_object_set_new(o, "seed", json_integer((json_int_t)s->seed));
        if (!strcmp(s->name, "mmlu")) json_object_set_new(o, "n_shot", json_integer(s->n_shot));
        const struct lpq_bench_desc *b = lpq_bench_find(s->name);
        if (b) json_object_set_new(o, "metrics", json_string(b->metrics));
        json_object_set_new(o, "path", json_string(s->path ? s->path : ""));
    }
    return o;
}

/* ---- the suite --------------------------------------------------------------------------- */

static bool bench_wanted(const char *list, const char *name) {
    if (!list) return true;   /* default: every benchmark present in the data dir */
    if (!strcmp(list, "all")) return true;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += n) {
        bool start = p == list || p[-1] == ',', end = p[n] == 0 || p[n] == ',';
        if (start && end) return true;
    }
    return false;
}

static enum lpq_status acc_run(struct lpq_suite_ctx *ctx, struct lpq_err *err) {
    const struct lpq_suite_opts *o = ctx->opts;
    struct acc_run r;
    memset(&r, 0, sizeof(r));
    r.ctx = ctx;
    r.n_predict_num = o->quick ? 48 : 256;
    r.n_predict_tool = o->quick ? 96 : 192;
    /* Full benchmarks take hours on a CPU (MMLU alone is 14,042 five-shot questions), so an
     * unset limit means a seeded sample: 20 per benchmark in quick mode, 200 otherwise;
     * limit < 0 runs everything. The limit used is recorded with each benchmark. */
    r.limit = o->limit > 0 ? o->limit : o->limit < 0 ? 0 : (o->quick ? 20 : 200);
    enum lpq_status st;
    struct lpq_acc_set *sets[1 + 16];
    size_t n_sets = 0;
    char *ipath = NULL;
    json_t *skipped = json_object(), *summary = NULL;
    if ((st = lpq_chat_select(ctx->model_path, o->chat_template, o->no_chat, &r.chat, err)))
        goto done;
    if (!strcmp(r.chat.source, "fallback")) lpq_log(LPQ_LOG_WARN, "accuracy: %s", r.chat.note);
    if (!(ipath = items_path(o))) {
        st = lpq_err_set(err, LPQ_STATUS_NOT_FOUND,
                         "accuracy: lpq-140.jsonl not found (set LPQ_ACC_ITEMS, or put it in --data-dir)");
        goto done;
    }
    if ((st = lpq_acc_set_load(ipath, &sets[0], err))) goto done;
    n_sets = 1;
    const char *blist = o->benchmarks;
    if (blist && (!*blist || !strcmp(blist, "none"))) blist = "";
    struct lpq_bench_opts bo = { .limit = r.limit, .seed = o->seed,
                                 .mmlu_shots = o->mmlu_shots > 0 ? o->mmlu_shots : 5 };
    for (size_t b = 0; lpq_bench_builtin[b].name && n_sets < LPQ_ARRAY_SIZE(sets); b++) {
        const struct lpq_bench_desc *bd = &lpq_bench_builtin[b];
        if (!bench_wanted(blist, bd->name)) continue;
        char *bp = lpq_bench_locate(bd, o->data_dir);
        if (!bp) {
            if (blist && *blist) json_object_set_new(skipped, bd->name, json_string("file not found in --data-dir"));
            continue;
        }
        struct lpq_err berr;
        lpq_err_clear(&berr);
        struct lpq_acc_set *bs = NULL;
        if (lpq_bench_load(bd, bp, &bo, &bs, &berr)) {
            /* a bad benchmark file is reported and skipped; the other sets still run */
            lpq_log(LPQ_LOG_WARN, "accuracy: %s", berr.msg);
            json_object_set_new(skipped, bd->name, json_string(berr.msg));
        } else {
            sets[n_sets++] = bs;
        }
        lpq_free(bp);
    }
    for (size_t i = 0; i < n_sets; i++) r.total += (int64_t)sets[i]->n;
    json_t *params = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:b}", "items_file", ipath, "chat_template",
                               r.chat.tmpl->name, "chat_template_source", r.chat.source, "chat_template_note",
                               r.chat.note, "n_predict_numeric", r.n_predict_num, "n_predict_tool", r.n_predict_tool,
                               "limit", (json_int_t)r.limit, "seed", (json_int_t)o->seed, "quick", o->quick);
    json_t *bl = json_array();
    for (size_t i = 1; i < n_sets; i++) json_array_append_new(bl, json_string(sets[i]->name));
    json_object_set_new(params, "benchmarks", bl);
    json_object_set(params, "benchmarks_skipped", skipped);
    lpq_results_put_params(ctx->res, SUITE, params);
    for (size_t i = 0; i < n_sets; i++)
        for (size_t k = 0; k < sets[i]->n; k++)
            if ((st = run_item(&r, sets[i], &sets[i]->items[k], err))) goto summarize;
summarize:
    summary = json_object();
    json_object_set_new(summary, "chat_template", json_pack("{s:s, s:s, s:s}", "name", r.chat.tmpl->name, "source",
                                                            r.chat.source, "note", r.chat.note));
    json_object_set_new(summary, "lpq140", set_summary(&r, sets[0], true));
    json_t *jb = json_object();
    for (size_t i = 1; i < n_sets; i++) json_object_set_new(jb, sets[i]->name, set_summary(&r, sets[i], false));
    json_object_set_new(summary, "benchmarks", jb);
    json_object_set(summary, "benchmarks_skipped", skipped);
    json_object_set_new(summary, "conventions", json_string(
        "mc: acc = argmax of summed log-likelihood; acc_norm = divided by characters (lm-eval); acc_bytes = by UTF-8 "
        "bytes; acc_norm_tokens = by token count (llama.cpp hellaswag). lpq-140 accuracy uses acc for mc, exact "
        "numeric match of the last number for math, a fully correct call for tool calling. Intervals: Wilson 95 %."));
    if (!st) {
        enum lpq_status st2 = lpq_results_put_summary(ctx->res, SUITE, summary);
        summary = NULL;
        if (st2) st = lpq_err_set(err, st2, "accuracy: saving results: %s", lpq_results_errmsg(ctx->res));
    }
done:
    json_decref(summary);
    json_decref(skipped);
    for (size_t i = 0; i < n_sets; i++) lpq_acc_set_free(sets[i]);
    lpq_free(ipath);
    return st;
}

const struct lpq_suite lpq_suite_accuracy = {
    .name = "accuracy",
    .desc = "lpq-140 questions (6 categories incl. tool calling) + standard benchmarks found in --data-dir",
    .needs_baseline = false,
    .in_quick = true,
    .run = acc_run,
};
