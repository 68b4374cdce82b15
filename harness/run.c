/*
 * run.c — the evaluation loop (run.h): runtimes × variants (baseline first) × suites. Each
 * variant's results live in its own evaluation.json, opened per runtime under the run key
 * "<runtime>@<host>"; a variant that cannot be served is recorded as skipped with the reason, a
 * failure is recorded and the loop goes on, and the job's status says whether anything failed.
 */
#include "harness/run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "harness/env.h"
#include "harness/modeldir.h"
#include "quant/gguf.h"
#include "quant/quantize.h"

#define MAX_SUITES 16
#define MAX_RUNTIMES 8

struct lpq_run_params lpq_run_params_default(void) {
    struct lpq_run_params p;
    memset(&p, 0, sizeof p);
    p.suites = "ppl";
    p.runtimes = "auto";
    p.opts = lpq_suite_opts_default();
    p.rt = lpq_rt_params_default();
    return p;
}

/* ---- progress -------------------------------------------------------------------------- */

struct progress {
    bool tty;
    const char *variant, *runtime;
    const char *suite;
    uint64_t t0;                /* ns: first report of this suite in this session */
    int64_t done0;              /* units already done at t0 (resumed items) */
    bool drawn;
};

static void progress_cb(void *user, const char *suite, int64_t done, int64_t total) {
    struct progress *pg = user;
    if (!pg->tty) return;   /* quiet, line-oriented output when not a terminal */
    uint64_t now = lpq_time_ns();
    if (!pg->suite || strcmp(pg->suite, suite)) {
        pg->suite = suite;
        pg->t0 = now;
        pg->done0 = done - 1;
    }
    double el = (double)(now - pg->t0) * 1e-9, rate = done > pg->done0 ? el / (double)(done - pg->done0) : 0;
    double eta = rate * (double)(total - done);
    int w = 30, fill = total > 0 ? (int)(w * done / total) : 0;
    char bar[40];
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
    bar[w] = 0;
    fprintf(stderr, "\r%s %s %-6s [%s] %lld/%lld  ETA %d:%02d ", pg->variant, pg->runtime, suite, bar,
            (long long)done, (long long)total, (int)(eta / 60), (int)fmod(eta, 60));
    fflush(stderr);
    pg->drawn = true;
}

static void progress_end(struct progress *pg) {
    if (pg->drawn) fprintf(stderr, "\r%*s\r", 100, "");
    pg->drawn = false;
    pg->suite = NULL;
}

/* ---- helpers --------------------------------------------------------------------------- */

static enum lpq_status parse_suites(const char *list, const struct lpq_suite **out, size_t *n, bool *quick,
                                    struct lpq_err *err) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list ? list : "");
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        bool all = !strcmp(t, "full"), q = !strcmp(t, "quick");
        if (all || q) {
            if (q) *quick = true;
            for (size_t i = 0; lpq_suite_builtin[i] && *n < MAX_SUITES; i++)
                if (all || lpq_suite_builtin[i]->in_quick) out[(*n)++] = lpq_suite_builtin[i];
            continue;
        }
        const struct lpq_suite *s = lpq_suite_find(t);
        if (!s) {
            char names[256] = "";
            size_t o = 0;
            for (size_t i = 0; lpq_suite_builtin[i] && o < sizeof names - 32; i++)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s, ", lpq_suite_builtin[i]->name);
            return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "unknown suite '%s' (available: %squick, full)", t, names);
        }
        if (*n < MAX_SUITES) out[(*n)++] = s;
    }
    /* drop duplicates, keep order */
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        bool dup = false;
        for (size_t j = 0; j < k; j++) dup |= out[j] == out[i];
        if (!dup) out[k++] = out[i];
    }
    *n = k;
    if (!k) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "no suite given (--suite ppl,kld,speed | quick | full)");
    return LPQ_STATUS_OK;
}

struct rt_choice {
    const struct lpq_rt_reg *reg;   /* NULL when unusable */
    char name[32];
    char why[LPQ_ERR_MSG_MAX];      /* why unusable */
};

static const struct lpq_rt_reg *find_extra(const struct lpq_run_params *p, const char *name) {
    for (size_t i = 0; p->extra_runtimes && p->extra_runtimes[i]; i++)
        if (!strcmp(p->extra_runtimes[i]->name, name)) return p->extra_runtimes[i];
    return NULL;
}

static size_t parse_runtimes(const struct lpq_run_params *p, struct rt_choice *out) {
    char buf[256];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", p->runtimes && *p->runtimes ? p->runtimes : "auto");
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < MAX_RUNTIMES; t = strtok_r(NULL, ",", &save)) {
        struct rt_choice *c = &out[n++];
        memset(c, 0, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", t);
        struct lpq_err e;
        lpq_err_clear(&e);
        const struct lpq_rt_reg *reg = find_extra(p, t);
        if (reg) {
            if (lpq_rt_reg_check(reg, &e) == LPQ_STATUS_OK && reg->iface->probe(&e) == LPQ_STATUS_OK) c->reg = reg;
        } else if (lpq_rt_find(t, &reg, &e) == LPQ_STATUS_OK) {
            c->reg = reg;
            snprintf(c->name, sizeof c->name, "%s", reg->name);
        }
        if (!c->reg) snprintf(c->why, sizeof c->why, "%s", e.msg[0] ? e.msg : "not available");
    }
    return n;
}

/* NULL when rt can run every tensor type in the file, else why not (static buffer in `why`). */
static const char *cannot_serve(const struct lpq_rt_reg *rt, const char *path, char *why, size_t cap) {
    struct lpq_rt_caps caps;
    memset(&caps, 0, sizeof caps);
    rt->iface->caps(&caps);
    struct lpq_gguf *g = NULL;
    struct lpq_err e;
    lpq_err_clear(&e);
    if (lpq_gguf_open(path, NULL, &g, &e) != LPQ_STATUS_OK) {
        snprintf(why, cap, "%s", e.msg);
        return why;
    }
    const char *res = NULL;
    for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
        if (t->type >= LPQ_TYPE_COUNT || !caps.types[t->type]) {
            snprintf(why, cap, "%s cannot run tensor type %s (tensor %s)", rt->name, lpq_type_name(t->type), t->name);
            res = why;
            break;
        }
    }
    lpq_gguf_close(g);
    return res;
}

/* sha256 of the model, reused from the results file when path, size and mtime are unchanged. */
static void model_facts(struct lpq_results *res, const struct lpq_variant *v, bool is_baseline, char sha[65]) {
    struct stat sb;
    sha[0] = 0;
    long long mtime = stat(v->path, &sb) == 0 ? (long long)sb.st_mtime : 0;
    json_t *old = json_object_get(lpq_results_root(res), "model");
    const char *osha = json_string_value(json_object_get(old, "sha256"));
    if (osha && strlen(osha) == 64 && json_integer_value(json_object_get(old, "size_bytes")) == (json_int_t)v->size &&
        json_integer_value(json_object_get(old, "mtime")) == mtime &&
        !strcmp(json_string_value(json_object_get(old, "path")) ? json_string_value(json_object_get(old, "path")) : "", v->path)) {
        memcpy(sha, osha, 65);
    } else if (lpq_sha256_file(v->path, sha, NULL) != LPQ_STATUS_OK) {
        sha[0] = 0;
    }
    json_t *m = json_object();
    json_object_set_new(m, "variant", json_string(v->name));
    json_object_set_new(m, "path", json_string(v->path));
    json_object_set_new(m, "size_bytes", json_integer((json_int_t)v->size));
    json_object_set_new(m, "mtime", json_integer(mtime));
    if (sha[0]) json_object_set_new(m, "sha256", json_string(sha));
    json_object_set_new(m, "is_baseline", json_boolean(is_baseline));
    lpq_results_set_model(res, m);
    json_decref(m);
}

static double num(json_t *o, const char *a, const char *b) {
    json_t *x = json_object_get(o, a);
    if (b) x = json_object_get(x, b);
    return json_number_value(x);
}

static void print_summary(FILE *out, const char *vname, const char *rt, const char *suite, json_t *s) {
    if (!strcmp(suite, "ppl")) {
        fprintf(out, "%s %s ppl: PPL %.4f ± %.5f (%s, ctx %lld, %lld chunks), bits/byte %.4f, %.1f tok/s\n", vname, rt,
                num(s, "ppl", NULL), num(s, "ppl_err", NULL), json_string_value(json_object_get(s, "dataset")),
                (long long)json_integer_value(json_object_get(s, "n_ctx")),
                (long long)json_integer_value(json_object_get(s, "n_chunks")), num(s, "rolling", "bits_per_byte"),
                num(s, "eval_tokens_per_second", NULL));
    } else if (!strcmp(suite, "kld") && json_object_get(s, "kld")) {
        fprintf(out, "%s %s kld: mean KLD %.6f ± %.6f, same top %.2f ± %.2f %%, PPL ratio %.5f ± %.5f (%s)\n", vname, rt,
                num(s, "kld", "mean"), num(s, "kld", "err"), 100 * num(s, "same_top", "value"),
                100 * num(s, "same_top", "err"), num(s, "ppl_ratio", "value"), num(s, "ppl_ratio", "err"),
                json_string_value(json_object_get(s, "mode")));
    } else if (!strcmp(suite, "kld")) {
        fprintf(out, "%s %s kld: wrote %s (%lld bytes, %.0f tokens, top-%lld)\n", vname, rt,
                json_string_value(json_object_get(s, "base_file")), (long long)json_integer_value(json_object_get(s, "bytes")),
                num(s, "n_tokens", NULL), (long long)json_integer_value(json_object_get(s, "top_k")));
    } else if (!strcmp(suite, "speed")) {
        fprintf(out, "%s %s speed: pp%lld %.1f ± %.1f tok/s, tg%lld %.1f ± %.1f tok/s (%.0f %% of roofline), "
                     "TTFT %.1f ms, ITL p99 %.2f ms, %lld threads\n", vname, rt,
                (long long)json_integer_value(json_object_get(s, "n_prompt")), num(s, "prefill_tok_per_s", "mean"),
                num(s, "prefill_tok_per_s", "stddev"), (long long)json_integer_value(json_object_get(s, "n_gen")),
                num(s, "decode_tok_per_s", "mean"), num(s, "decode_tok_per_s", "stddev"),
                100 * num(json_object_get(s, "roofline"), "decode_fraction_of_roofline", NULL),
                num(s, "ttft_ms", "median"), num(s, "itl_ms", "p99"),
                (long long)json_integer_value(json_object_get(s, "threads")));
    } else {
        fprintf(out, "%s %s %s: done\n", vname, rt, suite);
    }
}

/* Records `status` with `reason` for every suite of a variant and prints one line. */
static void mark_all(struct lpq_results *res, const struct lpq_suite **suites, size_t n_suites, const char *status,
                     const char *reason, FILE *out, const char *vname, const char *rt) {
    for (size_t i = 0; i < n_suites; i++)
        if (res) lpq_results_put_status(res, suites[i]->name, status, reason);
    fprintf(out, "%s %s: %s: %s\n", vname, rt, status, reason);
}

/* ---- the loop -------------------------------------------------------------------------- */

enum lpq_status lpq_run(const struct lpq_run_params *p, struct lpq_err *err) {
    FILE *out = p->out ? p->out : stdout;
    const struct lpq_suite *suites[MAX_SUITES];
    size_t n_suites = 0, n_fail = 0, n_runs = 0;
    struct rt_choice rts[MAX_RUNTIMES];
    struct lpq_suite_opts opts = p->opts;
    struct lpq_modeldir *md = NULL;
    enum lpq_status st;
    if ((st = parse_suites(p->suites, suites, &n_suites, &opts.quick, err))) return st;
    if (p->model_file) st = lpq_modeldir_single(p->model_file, &md, err);
    else if (p->model_dir) st = lpq_modeldir_open(p->model_dir, p->baseline, &md, err);
    else st = lpq_err_set(err, LPQ_STATUS_BAD_ARG, "give --model-dir DIR or --model FILE");
    if (st) return st;
    /* a missing or wrong dataset stops the job before any model is loaded */
    for (size_t i = 0; i < n_suites; i++) {
        if (!suites[i]->uses_text) continue;
        char *dpath = NULL;
        st = lpq_dataset_resolve(opts.dataset ? opts.dataset : lpq_dataset_default_text(), opts.data_dir, &dpath,
                                 NULL, err);
        lpq_free(dpath);
        if (st) goto done;
        break;
    }
    size_t n_rt = parse_runtimes(p, rts), n_usable = 0;
    for (size_t r = 0; r < n_rt; r++) {
        if (rts[r].reg) n_usable++;
        else fprintf(out, "runtime %s: skipped: %s\n", rts[r].name, rts[r].why);
    }
    if (!n_usable) {
        st = lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, "no usable runtime among '%s' (%s)", p->runtimes ? p->runtimes : "auto",
                         n_rt ? rts[0].why : "none given");
        goto done;
    }
    bool kld_sxs = false;
    for (size_t i = 0; i < n_suites; i++) kld_sxs |= suites[i]->needs_baseline && !(opts.kld_base && *opts.kld_base);
    /* single file + --kld-write: that file is the baseline the base file is written from */
    int base_idx = md->baseline;
    if (p->model_file && opts.kld_write) base_idx = 0;

    /* baseline first, so side-by-side and --kld-write have it ready for the others */
    size_t order[256], n_order = 0;
    if (base_idx >= 0) order[n_order++] = (size_t)base_idx;
    for (size_t i = 0; i < md->n && n_order < LPQ_ARRAY_SIZE(order); i++)
        if ((int)i != base_idx) order[n_order++] = i;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;

    for (size_t r = 0; r < n_rt; r++) {
        const struct lpq_rt_reg *rt = rts[r].reg;
        if (!rt) {
            /* a requested runtime that is not available here: say so in every variant's file */
            for (size_t k = 0; k < n_order; k++) {
                struct lpq_variant *v = &md->v[order[k]];
                struct lpq_results *res = NULL;
                char key[128];
                snprintf(key, sizeof key, "%s@%s", rts[r].name, host);
                if (lpq_results_open(v->results, key, false, &res, NULL) == LPQ_STATUS_OK)
                    mark_all(res, suites, n_suites, "skipped", rts[r].why, out, v->name, rts[r].name);
                lpq_results_free(res);
            }
            continue;
        }
        struct lpq_rt_params rtp = p->rt;
        int64_t need_ctx = opts.n_ctx > 0 ? opts.n_ctx : 512;
        if (rtp.n_batch < need_ctx) rtp.n_batch = need_ctx;   /* a whole chunk in one eval call */
        /* n_ctx 0 lets the runtime pick the model's context (capped at 4096); ask for more only
         * when a window needs it */
        if (rtp.n_ctx != 0 ? rtp.n_ctx < need_ctx : need_ctx > 4096) rtp.n_ctx = need_ctx;
        struct lpq_rt_model *base_model = NULL;
        bool base_tried = false;
        char base_why[LPQ_ERR_MSG_MAX] = "";
        for (size_t k = 0; k < n_order; k++) {
            struct lpq_variant *v = &md->v[order[k]];
            bool is_base = (int)order[k] == base_idx;
            struct lpq_results *res = NULL;
            struct lpq_rt_model *m = NULL;
            struct lpq_err e;
            char key[128], why[LPQ_ERR_MSG_MAX], sha[65];
            lpq_err_clear(&e);
            snprintf(key, sizeof key, "%s@%s", rt->name, host);
            n_runs++;
            /* --fresh recomputes the suites of this command only: results of suites not named
             * (e.g. ppl when rerunning speed on a quiet machine) are kept. */
            if (lpq_results_open(v->results, key, false, &res, &e) != LPQ_STATUS_OK) {
                fprintf(out, "%s %s: failed: %s\n", v->name, rt->name, e.msg);
                n_fail++;
                continue;
            }
            if (p->fresh)
                for (size_t i = 0; i < n_suites; i++) lpq_results_drop_suite(res, suites[i]->name);
            if (lpq_results_recovered(res))
                fprintf(out, "%s: %s was corrupt; kept it as %s and started afresh\n", v->name, v->results,
                        lpq_results_recovered(res));
            if (v->error) {
                snprintf(why, sizeof why, "cannot read %s: %s", v->path, v->error);
                mark_all(res, suites, n_suites, "failed", why, out, v->name, rt->name);
                n_fail++;
                goto next;
            }
            if (cannot_serve(rt, v->path, why, sizeof why)) {
                mark_all(res, suites, n_suites, "skipped", why, out, v->name, rt->name);
                goto next;
            }
            model_facts(res, v, is_base, sha);
            json_t *env = lpq_env_fingerprint(rt, &rtp, v->path, sha[0] ? sha : NULL);
            lpq_results_set_env(res, env);
            json_decref(env);
            uint64_t t0 = lpq_time_ns();
            if ((st = lpq_rt_model_load(rt, v->path, &rtp, &m, &e)) != LPQ_STATUS_OK) {
                snprintf(why, sizeof why, "%s", e.msg);
                bool unsupported = st == LPQ_STATUS_UNSUPPORTED;
                mark_all(res, suites, n_suites, unsupported ? "skipped" : "failed", why, out, v->name, rt->name);
                if (!unsupported) n_fail++;
                st = LPQ_STATUS_OK;
                goto next;
            }
            fprintf(out, "%s %s: loaded %s in %.2f s\n", v->name, rt->name, v->path, (double)(lpq_time_ns() - t0) * 1e-9);
            if (kld_sxs && !is_base && !base_tried && base_idx >= 0) {
                base_tried = true;
                struct lpq_err be;
                lpq_err_clear(&be);
                struct lpq_variant *bv = &md->v[base_idx];
                if (bv->error) snprintf(base_why, sizeof base_why, "baseline %s unreadable: %s", bv->name, bv->error);
                else if (lpq_rt_model_load(rt, bv->path, &rtp, &base_model, &be) != LPQ_STATUS_OK)
                    snprintf(base_why, sizeof base_why, "baseline %.60s: %.400s", bv->name, be.msg);
            }
            struct progress pg = { .tty = opts.progress, .variant = v->name, .runtime = rt->name };
            bool failed = false;
            for (size_t i = 0; i < n_suites; i++) {
                const struct lpq_suite *s = suites[i];
                struct lpq_suite_ctx ctx = {
                    .model = m, .model_path = v->path, .model_sha256 = sha[0] ? sha : NULL,
                    .baseline = is_base ? NULL : base_model,
                    .baseline_path = base_idx >= 0 && !is_base ? md->v[base_idx].path : NULL,
                    .is_baseline = is_base, .runtime = rt, .rt_params = &rtp, .opts = &opts, .res = res,
                    .progress = progress_cb, .progress_user = &pg,
                };
                if (s->needs_baseline && kld_sxs && !is_base && !base_model && base_why[0]) {
                    lpq_results_put_status(res, s->name, "failed", base_why);
                    fprintf(out, "%s %s %s: failed: %s\n", v->name, rt->name, s->name, base_why);
                    failed = true;
                    continue;
                }
                lpq_err_clear(&e);
                enum lpq_status sst = s->run(&ctx, &e);
                progress_end(&pg);
                if (sst != LPQ_STATUS_OK) {
                    if (!e.msg[0]) snprintf(e.msg, sizeof e.msg, "%s", lpq_status_str(sst));
                    lpq_results_put_status(res, s->name, "failed", e.msg);
                    fprintf(out, "%s %s %s: failed: %s\n", v->name, rt->name, s->name, e.msg);
                    failed = true;
                    continue;
                }
                json_t *so = lpq_results_suite(res, s->name);
                const char *status = json_string_value(json_object_get(so, "status"));
                if (status && !strcmp(status, "done"))
                    print_summary(out, v->name, rt->name, s->name, json_object_get(so, "summary"));
                else
                    fprintf(out, "%s %s %s: %s: %s\n", v->name, rt->name, s->name, status ? status : "?",
                            json_string_value(json_object_get(so, "reason")) ? json_string_value(json_object_get(so, "reason")) : "");
            }
            if (failed) n_fail++;
        next:
            fflush(out);
            lpq_rt_model_free(m);
            lpq_results_free(res);
        }
        lpq_rt_model_free(base_model);
    }
    if (n_fail) st = lpq_err_set(err, LPQ_STATUS_RUNTIME, "%zu of %zu variant runs failed (reasons above and in their evaluation.json)",
                                 n_fail, n_runs);
    else st = LPQ_STATUS_OK;
done:
    lpq_modeldir_free(md);
    return st;
}
