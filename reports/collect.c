/*
 * collect.c — loads every evaluation file of a model folder into the grid (report.h):
 * model × variant × runtime × hardware. Files from other machines live beside the local one
 * (gguf/<V>/evaluation*.json) or below results/; each run inside a file carries its own
 * fingerprint, so runs from different machines never overwrite each other in the grid.
 */
#include "quant/json-digest.h"
#include "reports/reports-impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "quant/quantize.h"

/* ---- small JSON helpers ----------------------------------------------------------------- */

static double jnum(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static char *dup_or_null(const char *s) { return s ? lpq_strdup(s) : NULL; }

struct lpq__fig lpq__fig_none(void) { return (struct lpq__fig){ NAN, NAN, NAN, NAN, NAN }; }

struct lpq__fig lpq__fig_from_json(json_t *o) {
    struct lpq__fig f = lpq__fig_none();
    if (json_is_number(o)) {
        f.v = json_number_value(o);
        return f;
    }
    if (!json_is_object(o)) return f;
    static const char *const vk[] = { "value", "mean", "rate", "acc", "accuracy" };
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(vk) && isnan(f.v); i++) f.v = jnum(o, vk[i]);
    static const char *const ek[] = { "err", "stddev", "stderr" };
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(ek) && isnan(f.err); i++) f.err = jnum(o, ek[i]);
    json_t *w = json_object_get(o, "wilson95");
    if (!json_is_array(w)) w = json_object_get(o, "ci95");
    if (json_is_array(w) && json_array_size(w) == 2) {
        f.lo = json_number_value(json_array_get(w, 0));
        f.hi = json_number_value(json_array_get(w, 1));
    } else {
        f.lo = jnum(o, "lo");
        f.hi = jnum(o, "hi");
    }
    f.n = jnum(o, "n");
    return f;
}

static struct lpq__dist dist_from_json(json_t *o) {
    struct lpq__dist d = { jnum(o, "mean"), jnum(o, "stddev"), jnum(o, "median"), jnum(o, "p90"),
                           jnum(o, "p99"), jnum(o, "min"), jnum(o, "max") };
    return d;
}

static struct lpq__dist dist_none(void) { return (struct lpq__dist){ NAN, NAN, NAN, NAN, NAN, NAN, NAN }; }

/* Sorted keys of a JSON object (lpq_malloc'd array of borrowed strings). */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char **sorted_keys(json_t *o, size_t *n) {
    *n = 0;
    size_t cap = json_object_size(o);
    const char **k = lpq_malloc_array(cap ? cap : 1, sizeof *k);
    if (!k) return NULL;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) { k[(*n)++] = key; }
    qsort(k, *n, sizeof *k, cmp_str);
    return k;
}

/* ---- the grid ----------------------------------------------------------------------------- */

void lpq__grid_warn(struct lpq_grid *g, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lpq_log(LPQ_LOG_WARN, "report: %s", buf);
    if (g->n_warn == g->cap_warn) {
        size_t cap = g->cap_warn ? 2 * g->cap_warn : 8;
        char **w = lpq_realloc(g->warn, cap * sizeof *w);
        if (!w) return;
        g->warn = w;
        g->cap_warn = cap;
    }
    char *s = lpq_strdup(buf);
    if (s) g->warn[g->n_warn++] = s;
}

static void entry_free(struct lpq__entry *e) {
    lpq_free(e->model);
    lpq_free(e->variant);
    lpq_free(e->runtime);
    lpq_free(e->hw_id);
    lpq_free(e->run_key);
    lpq_free(e->source);
    lpq_free(e->timestamp);
    lpq_free(e->ppl_dataset);
    lpq_free(e->kld_mode);
    for (size_t i = 0; i < e->n_cats; i++) lpq_free(e->cats[i].name);
    lpq_free(e->cats);
    for (size_t i = 0; i < e->n_bench; i++) lpq_free(e->bench[i].name);
    lpq_free(e->bench);
    for (size_t i = 0; i < e->n_st; i++) {
        lpq_free(e->st[i].suite);
        lpq_free(e->st[i].status);
        lpq_free(e->st[i].reason);
    }
    lpq_free(e->st);
}

static void hw_free(struct lpq__hw *h) {
    lpq_free(h->id);
    lpq_free(h->cpu);
    lpq_free(h->flags);
    lpq_free(h->os);
    lpq_free(h->compiler);
    lpq_free(h->lpq);
    lpq_free(h->hosts);
    lpq_free(h->devices);
    lpq_free(h->first_ts);
    lpq_free(h->last_ts);
}

void lpq_grid_free(struct lpq_grid *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n; i++) entry_free(&g->e[i]);
    lpq_free(g->e);
    for (size_t i = 0; i < g->n_hw; i++) hw_free(&g->hw[i]);
    lpq_free(g->hw);
    for (size_t i = 0; i < g->n_warn; i++) lpq_free(g->warn[i]);
    lpq_free(g->warn);
    lpq_free(g->root);
    lpq_free(g->model);
    lpq_free(g->baseline);
    lpq_free(g);
}

size_t lpq_grid_n_entries(const struct lpq_grid *g) { return g ? g->n : 0; }
size_t lpq_grid_n_warnings(const struct lpq_grid *g) { return g ? g->n_warn : 0; }
const char *lpq_grid_warning(const struct lpq_grid *g, size_t i) { return g && i < g->n_warn ? g->warn[i] : NULL; }

const struct lpq__hw *lpq__grid_hw(const struct lpq_grid *g, const char *id) {
    for (size_t i = 0; i < g->n_hw; i++)
        if (!strcmp(g->hw[i].id, id)) return &g->hw[i];
    return NULL;
}

const struct lpq__entry *lpq__grid_base_of(const struct lpq_grid *g, const struct lpq__entry *e) {
    for (size_t i = 0; i < g->n; i++) {
        const struct lpq__entry *b = &g->e[i];
        if (b->is_baseline && !strcmp(b->hw_id, e->hw_id) && !strcmp(b->runtime, e->runtime)) return b;
    }
    return NULL;
}

/* The runtime's own figure first: the process's peak RSS also holds the harness and, in
 * side-by-side KLD runs, the baseline model, so it overstates what the variant needs. */
double lpq__entry_mem(const struct lpq__entry *e) {
    if (lpq__ok(e->runtime_mem_bytes) && e->runtime_mem_bytes > 0) return e->runtime_mem_bytes;
    if (lpq__ok(e->peak_rss_bytes) && e->peak_rss_bytes > 0) return e->peak_rss_bytes;
    return NAN;
}

double lpq__entry_dppl_pct(const struct lpq_grid *g, const struct lpq__entry *e) {
    const struct lpq__entry *b = lpq__grid_base_of(g, e);
    if (!b || !lpq__ok(b->ppl.v) || !lpq__ok(e->ppl.v) || b->ppl.v <= 0) return NAN;
    return (e->ppl.v / b->ppl.v - 1.0) * 100.0;
}

/* ---- folder facts: manifest and metadata -------------------------------------------------- */

struct folder_facts {
    json_t *manifest;           /* manifest.json or NULL */
    double n_params;            /* from the manifest's architecture (NAN unknown) */
};

static double variant_bpw(const struct lpq_grid *g, const struct folder_facts *ff, const char *variant,
                          double size_bytes) {
    char *p = lpq_asprintf("%s/gguf/%s/metadata.json", g->root, variant);
    json_t *meta = p ? json_load_file(p, 0, NULL) : NULL;
    lpq_free(p);
    double bpw = jnum(json_object_get(meta, "plan"), "bits_per_weight");
    json_decref(meta);
    if (lpq__ok(bpw) && bpw > 0) return bpw;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(ff->manifest, "variants"), i, v) {
        const char *n = jstr(v, "name");
        if (n && !strcmp(n, variant)) {
            bpw = jnum(v, "bits_per_weight");
            if (lpq__ok(bpw) && bpw > 0) return bpw;
        }
    }
    /* baseline files have no quantization plan: the whole file over the parameter count */
    if (lpq__ok(ff->n_params) && ff->n_params > 0 && lpq__ok(size_bytes)) return size_bytes * 8.0 / ff->n_params;
    return NAN;
}

/* ---- hardware ------------------------------------------------------------------------------ */

/* The fingerprint's own hardware_id, else "hw-" + 8 hex digits of sha256(cpu|cores|memory):
 * the machine, not the host name, so a renamed or re-imaged box keeps its id. */
static char *hardware_id(json_t *env) {
    const char *own = jstr(env, "hardware_id");
    if (own && *own) return lpq_strdup(own);
    json_t *cpu = json_object_get(env, "cpu");
    const char *model = jstr(cpu, "model");
    char *key = lpq_asprintf("%s|%lld|%.0f", model ? model : "?", (long long)json_integer_value(json_object_get(cpu, "cores_online")),
                             jnum(env, "memory_bytes"));
    if (!key) return NULL;
    struct lpq_sha256 h;
    uint8_t d[32];
    lpq_sha256_init(&h);
    lpq_sha256_update(&h, key, strlen(key));
    lpq_sha256_final(&h, d);
    lpq_free(key);
    return lpq_asprintf("hw-%02x%02x%02x%02x", d[0], d[1], d[2], d[3]);
}

/* Adds `item` to the comma list *list unless present. */
static void list_add(char **list, const char *item) {
    if (!item || !*item) return;
    if (*list) {
        size_t n = strlen(item);
        for (const char *p = *list; (p = strstr(p, item)); p += n)
            if ((p == *list || (p - *list >= 2 && p[-2] == ',')) && (p[n] == 0 || p[n] == ',')) return;
        char *s = lpq_asprintf("%s, %s", *list, item);
        if (!s) return;
        lpq_free(*list);
        *list = s;
    } else {
        *list = lpq_strdup(item);
    }
}

static void hw_note(struct lpq_grid *g, const char *id, json_t *env) {
    struct lpq__hw *h = (struct lpq__hw *)lpq__grid_hw(g, id);
    if (!h) {
        if (g->n_hw == g->cap_hw) {
            size_t cap = g->cap_hw ? 2 * g->cap_hw : 4;
            struct lpq__hw *n = lpq_realloc(g->hw, cap * sizeof *n);
            if (!n) return;
            g->hw = n;
            g->cap_hw = cap;
        }
        h = &g->hw[g->n_hw++];
        memset(h, 0, sizeof *h);
        h->id = lpq_strdup(id);
        json_t *cpu = json_object_get(env, "cpu");
        h->cpu = dup_or_null(jstr(cpu, "model"));
        json_t *cores = json_object_get(cpu, "cores_online");
        h->cores = json_is_integer(cores) ? (long long)json_integer_value(cores) : -1;
        h->memory_bytes = jnum(env, "memory_bytes");
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(cpu, "flags"), i, f) {
            const char *s = json_string_value(f);
            if (!s) continue;
            char *n = h->flags ? lpq_asprintf("%s %s", h->flags, s) : lpq_strdup(s);
            lpq_free(h->flags);
            h->flags = n;
        }
        h->os = dup_or_null(jstr(env, "os"));
        json_t *b = json_object_get(env, "build");
        h->compiler = dup_or_null(jstr(b, "compiler"));
        if (jstr(b, "lpq_version"))
            h->lpq = lpq_asprintf("%s (%s)", jstr(b, "lpq_version"), jstr(b, "lpq_commit") ? jstr(b, "lpq_commit") : "?");
    }
    list_add(&h->hosts, jstr(env, "hostname"));
    json_t *rt = json_object_get(env, "runtime");
    if (jstr(rt, "name")) {
        char *d = lpq_asprintf("%s: %s", jstr(rt, "name"), jstr(rt, "device_name") ? jstr(rt, "device_name") : "?");
        list_add(&h->devices, d);
        lpq_free(d);
    }
    const char *ts = jstr(env, "timestamp_utc");
    if (ts) {
        if (!h->first_ts || strcmp(ts, h->first_ts) < 0) {
            lpq_free(h->first_ts);
            h->first_ts = lpq_strdup(ts);
        }
        if (!h->last_ts || strcmp(ts, h->last_ts) > 0) {
            lpq_free(h->last_ts);
            h->last_ts = lpq_strdup(ts);
        }
    }
}

/* ---- suites ------------------------------------------------------------------------------- */

static void read_ppl(struct lpq__entry *e, json_t *s) {
    e->ppl.v = jnum(s, "ppl");
    e->ppl.err = jnum(s, "ppl_err");
    e->ppl.n = jnum(s, "n_scored");
    e->ppl_dataset = dup_or_null(jstr(s, "dataset"));
    e->ppl_ctx = jnum(s, "n_ctx");
}

static void read_kld(struct lpq__entry *e, json_t *s) {
    e->kld_mode = dup_or_null(jstr(s, "mode"));
    json_t *k = json_object_get(s, "kld");
    if (!k) return;                       /* write-base summaries hold no divergence */
    e->kld = lpq__fig_from_json(k);
    e->kld.n = jnum(s, "n_tokens");
    e->kld_p99 = jnum(k, "p99");
    e->kld_max = jnum(k, "max");
    e->same_top = lpq__fig_from_json(json_object_get(s, "same_top"));
    e->ppl_ratio = lpq__fig_from_json(json_object_get(s, "ppl_ratio"));
}

/* An accuracy figure as suites/accuracy.c writes it: {k, n, rate, ci95: [lo, hi]}, possibly
 * wrapped as {n, accuracy|acc: {...}}; also a plain fig. Percent (> 1) is scaled to a fraction. */
static struct lpq__fig acc_fig(json_t *o) {
    json_t *inner = json_object_get(o, "accuracy");
    if (!json_is_object(inner)) inner = json_object_get(o, "acc");
    if (json_is_object(inner)) o = inner;
    struct lpq__fig f = lpq__fig_from_json(o);
    if (lpq__ok(f.v) && f.v > 1.0) {
        f.v /= 100.0;
        f.lo /= 100.0;
        f.hi /= 100.0;
        f.err /= 100.0;
    }
    if (isnan(f.n)) f.n = jnum(o, "total");
    return f;
}

static struct lpq__cat *cats_from(json_t *obj, size_t *n_out) {
    *n_out = 0;
    if (!json_is_object(obj)) return NULL;
    size_t n;
    const char **keys = sorted_keys(obj, &n);
    if (!keys) return NULL;
    struct lpq__cat *c = lpq_calloc(n ? n : 1, sizeof *c);
    for (size_t i = 0; c && i < n; i++) {
        struct lpq__fig f = acc_fig(json_object_get(obj, keys[i]));
        if (!lpq__ok(f.v) || (lpq__ok(f.n) && f.n <= 0)) continue;   /* a category with no items scored */
        c[*n_out].name = lpq_strdup(keys[i]);
        c[*n_out].acc = f;
        c[*n_out].chance = jnum(json_object_get(obj, keys[i]), "chance");
        (*n_out)++;
    }
    lpq_free(keys);
    return c;
}

/* summary.lpq140 {accuracy, categories: {name: {accuracy}}} and summary.benchmarks {name: {acc}}
 * (suites/accuracy.c); older or hand-written files: {overall, categories} or a fig at the top. */
static void read_accuracy(struct lpq__entry *e, json_t *s) {
    json_t *l = json_object_get(s, "lpq140");
    json_t *top = l ? l : json_object_get(s, "overall") ? json_object_get(s, "overall") : s;
    e->acc = acc_fig(top);
    e->acc_chance = jnum(top, "chance");
    if (lpq__ok(e->acc.n) && e->acc.n <= 0) e->acc = lpq__fig_none();
    json_t *cats = json_object_get(l ? l : s, "categories");
    if (!cats) cats = json_object_get(s, "per_category");
    e->cats = cats_from(cats, &e->n_cats);
    e->bench = cats_from(json_object_get(s, "benchmarks"), &e->n_bench);
}

/* Speed items: "pp<N>/t<T>", "tg<N>/t<T>", "pg<P>+<G>/t<T>", "load", "roofline". The item at
 * the run's own thread count wins; without one, the highest thread count. */
static void read_speed(struct lpq__entry *e, json_t *s) {
    json_t *items = json_object_get(s, "items");
    size_t n;
    const char **keys = sorted_keys(items, &n);
    if (!keys) return;
    int best_t[3] = { -1, -1, -1 };
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_object_get(items, keys[i]);
        long a = 0, b = 0;
        int t = 0, k = -1;
        if (sscanf(keys[i], "pp%ld/t%d", &a, &t) == 2) k = 0;
        else if (sscanf(keys[i], "tg%ld/t%d", &a, &t) == 2) k = 1;
        else if (sscanf(keys[i], "pg%ld+%ld/t%d", &a, &b, &t) == 3) k = 2;
        if (k >= 0) {
            bool own = e->threads > 0 && t == e->threads;
            bool was_own = e->threads > 0 && best_t[k] == e->threads;
            if (best_t[k] >= 0 && (was_own || (!own && t <= best_t[k]))) continue;
            best_t[k] = t;
            double rss = jnum(it, "peak_rss_bytes");
            if (k == 0) {
                e->pp_tps = lpq__fig_from_json(json_object_get(it, "tok_per_s"));
                e->pp_n = (double)a;
            } else if (k == 1) {
                e->tg_tps = lpq__fig_from_json(json_object_get(it, "tok_per_s"));
                e->tg_n = (double)a;
                if (isnan(e->itl.median)) e->itl = dist_from_json(json_object_get(it, "token_latency_ms"));
            } else {
                e->ttft = dist_from_json(json_object_get(it, "ttft_ms"));
                e->tpot = dist_from_json(json_object_get(it, "tpot_ms"));
                e->itl = dist_from_json(json_object_get(it, "itl_ms"));
            }
            if (lpq__ok(rss) && (isnan(e->peak_rss_bytes) || rss > e->peak_rss_bytes)) e->peak_rss_bytes = rss;
        } else if (!strcmp(keys[i], "load")) {
            e->load_cold_ms = jnum(it, "cold_ms");
            e->load_warm_ms = jnum(json_object_get(it, "warm_ms"), "mean");
            json_t *m = json_object_get(it, "runtime_memory");
            if (m) {
                double sum = 0;
                static const char *const parts[] = { "weights_bytes", "kv_cache_bytes", "scratch_bytes" };
                for (size_t p = 0; p < LPQ_ARRAY_SIZE(parts); p++)
                    if (lpq__ok(jnum(m, parts[p]))) sum += jnum(m, parts[p]);
                e->runtime_mem_bytes = sum;
            }
        } else if (!strcmp(keys[i], "roofline")) {
            e->roofline_tps = jnum(it, "decode_roofline_tok_per_s");
        }
    }
    lpq_free(keys);
}

static void entry_init(struct lpq__entry *e) {
    memset(e, 0, sizeof *e);
    e->size_bytes = e->bpw = e->ppl_ctx = NAN;
    e->ppl = e->kld = e->same_top = e->ppl_ratio = e->acc = e->pp_tps = e->tg_tps = lpq__fig_none();
    e->kld_p99 = e->kld_max = e->pp_n = e->tg_n = e->acc_chance = NAN;
    e->ttft = e->tpot = e->itl = dist_none();
    e->peak_rss_bytes = e->runtime_mem_bytes = e->load_cold_ms = e->load_warm_ms = e->roofline_tps = NAN;
}

static void read_suites(struct lpq__entry *e, json_t *suites) {
    size_t n;
    const char **keys = sorted_keys(suites, &n);
    if (!keys) return;
    e->st = lpq_calloc(n ? n : 1, sizeof *e->st);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_object_get(suites, keys[i]);
        const char *status = jstr(s, "status");
        if (e->st) {
            struct lpq__suite_status *ss = &e->st[e->n_st++];
            ss->suite = lpq_strdup(keys[i]);
            ss->status = lpq_strdup(status ? status : "unknown");
            ss->reason = dup_or_null(jstr(s, "reason"));
        }
        json_t *sum = json_object_get(s, "summary");
        if (!strcmp(keys[i], "speed")) {
            /* the summary names the thread count the run resolved ("all cores" → 16) */
            json_t *t = json_object_get(sum, "threads");
            if (json_is_integer(t) && json_integer_value(t) > 0) e->threads = (int)json_integer_value(t);
            read_speed(e, s);                               /* items are usable before the suite ends */
        }
        if (!sum) continue;
        if (!strcmp(keys[i], "ppl")) read_ppl(e, sum);
        else if (!strcmp(keys[i], "kld")) read_kld(e, sum);
        else if (!strcmp(keys[i], "accuracy")) read_accuracy(e, sum);
    }
    lpq_free(keys);
}

/* ---- files -------------------------------------------------------------------------------- */

struct paths {
    char **p;
    size_t n, cap;
};

static void paths_add(struct paths *ps, char *p) {
    if (!p) return;
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 16;
        char **n = lpq_realloc(ps->p, cap * sizeof *n);
        if (!n) {
            lpq_free(p);
            return;
        }
        ps->p = n;
        ps->cap = cap;
    }
    ps->p[ps->n++] = p;
}

static bool is_eval_name(const char *name, bool any_json) {
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 5, ".json")) return false;
    if (strstr(name, ".corrupt-") || strstr(name, ".tmp-")) return false;
    return any_json || !strncmp(name, "evaluation", 10);
}

/* results/ may be nested (results/<machine>/<variant>/evaluation.json); depth-limited. */
static void scan(const char *dir, int depth, bool any_json, struct paths *ps) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *p = lpq_asprintf("%s/%s", dir, de->d_name);
        struct stat sb;
        if (!p || stat(p, &sb) != 0) {
            lpq_free(p);
            continue;
        }
        if (S_ISDIR(sb.st_mode) && depth > 0) {
            scan(p, depth - 1, any_json, ps);
            lpq_free(p);
        } else if (S_ISREG(sb.st_mode) && is_eval_name(de->d_name, any_json)) {
            paths_add(ps, p);
        } else {
            lpq_free(p);
        }
    }
    closedir(d);
}

static struct lpq__entry *grid_push(struct lpq_grid *g) {
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        struct lpq__entry *n = lpq_realloc(g->e, cap * sizeof *n);
        if (!n) return NULL;
        g->e = n;
        g->cap = cap;
    }
    struct lpq__entry *e = &g->e[g->n++];
    entry_init(e);
    return e;
}

/* Variant name of a file: the gguf/<V>/ folder it sits in (the slot it is presented as), else
 * its model.variant. A file whose own variant disagrees with its folder is reported. */
static char *variant_of(struct lpq_grid *g, json_t *root, const char *rel) {
    const char *v = jstr(json_object_get(root, "model"), "variant");
    if (!strncmp(rel, "gguf/", 5)) {
        const char *slash = strchr(rel + 5, '/');
        if (slash) {
            char *folder = lpq_strndup(rel + 5, (size_t)(slash - rel - 5));
            if (folder && v && strcmp(v, folder))
                lpq__grid_warn(g, "%s says variant %s but sits in gguf/%s/: reported as %s", rel, v, folder, folder);
            return folder;
        }
    }
    return lpq_strdup(v && *v ? v : "?");
}

/* One file → entries. Returns OK, or UNSUPPORTED / BAD_FILE for the caller to decide on. */
static enum lpq_status load_file(struct lpq_grid *g, const struct folder_facts *ff, const char *path,
                                 const char *rel, int *schema_seen, char *first_schema_file, size_t fcap,
                                 bool lone, struct lpq_err *err) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    enum lpq_status st = LPQ_STATUS_OK;
    if (!root) {
        if (lone) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s does not parse (line %d: %s)", path, je.line, je.text);
        lpq__grid_warn(g, "%s skipped: does not parse (line %d: %s)", rel, je.line, je.text);
        return LPQ_STATUS_OK;
    }
    const char *kind = jstr(root, "kind");
    json_t *sv = json_object_get(root, "schema_version");
    json_t *runs = json_object_get(root, "runs");
    if ((kind && strcmp(kind, "lpq-evaluation")) || !json_is_integer(sv) || !json_is_object(runs)) {
        if (lone) st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s is not an lpq evaluation file (needs kind \"lpq-evaluation\", an integer schema_version and a \"runs\" object)", path);
        else if (!kind || !strcmp(kind, "lpq-evaluation")) lpq__grid_warn(g, "%s skipped: not an lpq evaluation file (no schema_version or runs)", rel);
        goto done;
    }
    int ver = (int)json_integer_value(sv);
    if (ver != LPQ_REPORT_EVAL_SCHEMA) {
        if (*schema_seen > 0 && *schema_seen != ver)
            st = lpq_err_set(err, LPQ_STATUS_UNSUPPORTED,
                             "mixed schema versions: %s has schema_version %d, %s has %d; this lpq reads %d — "
                             "re-run lpq-eval for the old files or use the lpq that wrote them", rel, ver,
                             first_schema_file, *schema_seen, LPQ_REPORT_EVAL_SCHEMA);
        else
            st = lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, "%s has schema_version %d; this lpq reads %d", rel, ver,
                             LPQ_REPORT_EVAL_SCHEMA);
        goto done;
    }
    if (*schema_seen <= 0) {
        *schema_seen = ver;
        snprintf(first_schema_file, fcap, "%s", rel);
    }
    bool present;
    if (!lpq_json_digest_ok(root, &present)) {
        if (present) {
            if (lone) st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: integrity digest does not match its content (edited or damaged)", path);
            else lpq__grid_warn(g, "%s skipped: integrity digest does not match its content (edited or damaged)", rel);
            goto done;
        }
        lpq__grid_warn(g, "%s has no integrity digest; read as is", rel);
    }
    g->n_files++;
    json_t *model = json_object_get(root, "model");
    size_t n_keys;
    const char **keys = sorted_keys(runs, &n_keys);
    for (size_t k = 0; keys && k < n_keys; k++) {
        json_t *run = json_object_get(runs, keys[k]);
        json_t *env = json_object_get(run, "env");
        json_t *suites = json_object_get(run, "suites");
        if (!json_is_object(suites)) continue;
        struct lpq__entry *e = grid_push(g);
        if (!e) {
            st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "report: out of memory");
            break;
        }
        e->model = lpq_strdup(g->model);
        e->variant = variant_of(g, root, rel);
        const char *rt = jstr(json_object_get(env, "runtime"), "name");
        const char *at = strchr(keys[k], '@');
        e->runtime = rt ? lpq_strdup(rt) : at ? lpq_strndup(keys[k], (size_t)(at - keys[k])) : lpq_strdup(keys[k]);
        e->hw_id = env ? hardware_id(env) : lpq_strdup("unknown");
        e->run_key = lpq_strdup(keys[k]);
        e->source = lpq_strdup(rel);
        e->timestamp = dup_or_null(jstr(env, "timestamp_utc"));
        e->is_baseline = json_is_true(json_object_get(model, "is_baseline"));
        e->size_bytes = jnum(model, "size_bytes");
        json_t *thr = json_object_get(json_object_get(json_object_get(env, "runtime"), "params"), "n_threads");
        e->threads = json_is_integer(thr) ? (int)json_integer_value(thr) : 0;
        if (env && e->hw_id) hw_note(g, e->hw_id, env);
        read_suites(e, suites);
        if (e->variant) e->bpw = variant_bpw(g, ff, e->variant, e->size_bytes);
        if (!e->model || !e->variant || !e->runtime || !e->hw_id || !e->run_key || !e->source) {
            st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "report: out of memory");
            break;
        }
    }
    lpq_free(keys);
done:
    json_decref(root);
    return st;
}

/* ---- ordering and duplicates ---------------------------------------------------------------- */

static int cmp_entry(const void *pa, const void *pb) {
    const struct lpq__entry *a = pa, *b = pb;
    int c = strcmp(a->hw_id, b->hw_id);
    if (c) return c;
    if ((c = strcmp(a->runtime, b->runtime))) return c;
    if (a->is_baseline != b->is_baseline) return a->is_baseline ? -1 : 1;
    double sa = lpq__ok(a->size_bytes) ? a->size_bytes : -1, sb = lpq__ok(b->size_bytes) ? b->size_bytes : -1;
    if (sa != sb) return sa > sb ? -1 : 1;
    if ((c = strcmp(a->variant, b->variant))) return c;
    /* equal keys: the later run first, so dedup keeps it */
    const char *ta = a->timestamp ? a->timestamp : "", *tb = b->timestamp ? b->timestamp : "";
    if ((c = strcmp(tb, ta))) return c;
    return strcmp(a->source, b->source);
}

static int cmp_hw(const void *pa, const void *pb) {
    return strcmp(((const struct lpq__hw *)pa)->id, ((const struct lpq__hw *)pb)->id);
}

static void dedup(struct lpq_grid *g) {
    size_t w = 0;
    for (size_t i = 0; i < g->n; i++) {
        struct lpq__entry *e = &g->e[i];
        if (w > 0) {
            struct lpq__entry *k = &g->e[w - 1];
            if (!strcmp(k->variant, e->variant) && !strcmp(k->runtime, e->runtime) && !strcmp(k->hw_id, e->hw_id)) {
                lpq__grid_warn(g, "%s %s on %s: %s (run %s, %s) superseded by the later %s (run %s, %s)", e->variant,
                               e->runtime, e->hw_id, e->source, e->run_key, e->timestamp ? e->timestamp : "no time",
                               k->source, k->run_key, k->timestamp ? k->timestamp : "no time");
                entry_free(e);
                continue;
            }
        }
        if (w != i) g->e[w] = *e;
        w++;
    }
    g->n = w;
}

/* ---- entry point ---------------------------------------------------------------------------- */

enum lpq_status lpq_grid_load(const char *path, struct lpq_grid **out, struct lpq_err *err) {
    enum lpq_status st = LPQ_STATUS_OK;
    struct paths ps = { 0 };
    struct folder_facts ff = { NULL, NAN };
    struct lpq_grid *g = lpq_calloc(1, sizeof *g);
    struct stat sb;
    if (!g) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "report: out of memory");
    if (!path || stat(path, &sb) != 0) {
        st = lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "%s: %s", path ? path : "(null)", path ? strerror(errno) : "no path");
        goto done;
    }
    bool lone = S_ISREG(sb.st_mode);
    if (lone) {
        char *slash = strrchr(path, '/');
        g->root = slash ? lpq_strndup(path, (size_t)(slash - path)) : lpq_strdup(".");
        paths_add(&ps, lpq_strdup(path));
    } else {
        g->root = lpq_strdup(path);
        char *p = lpq_asprintf("%s/gguf", path);
        if (p) scan(p, 1, false, &ps);
        lpq_free(p);
        p = lpq_asprintf("%s/results", path);
        if (p) scan(p, 4, true, &ps);
        lpq_free(p);
        if (ps.n) qsort(ps.p, ps.n, sizeof *ps.p, cmp_str);
    }
    char *mp = lpq_asprintf("%s/manifest.json", g->root);
    ff.manifest = mp ? json_load_file(mp, 0, NULL) : NULL;
    lpq_free(mp);
    ff.n_params = jnum(json_object_get(ff.manifest, "architecture"), "n_params");
    const char *mname = jstr(ff.manifest, "name");
    if (mname) {
        g->model = lpq_strdup(mname);
    } else {
        const char *end = g->root + strlen(g->root);
        while (end > g->root && end[-1] == '/') end--;
        const char *b = end;
        while (b > g->root && b[-1] != '/') b--;
        g->model = end > b ? lpq_strndup(b, (size_t)(end - b)) : lpq_strdup("model");
    }
    if (!ps.n) {
        st = lpq_err_set(err, LPQ_STATUS_NOT_FOUND,
                         "%s: no evaluation files (looked for gguf/<VARIANT>/evaluation*.json and results/**/*.json); "
                         "run `lpq-eval --suite quick --model-dir %s` first", path, path);
        goto done;
    }
    int schema_seen = 0;
    char first_schema_file[512] = "";
    size_t root_len = strlen(g->root);
    for (size_t i = 0; i < ps.n; i++) {
        const char *rel = ps.p[i];
        if (!lone && !strncmp(rel, g->root, root_len) && rel[root_len] == '/') rel += root_len + 1;
        st = load_file(g, &ff, ps.p[i], rel, &schema_seen, first_schema_file, sizeof first_schema_file, lone, err);
        if (st) goto done;
    }
    if (!g->n) {
        st = lpq_err_set(err, lone ? LPQ_STATUS_BAD_FILE : LPQ_STATUS_NOT_FOUND,
                         "%s: %zu evaluation file(s) found but none holds a usable run%s%s", path, ps.n,
                         g->n_warn ? " — " : "", g->n_warn ? g->warn[0] : "");
        goto done;
    }
    /* files written before is_baseline existed: the manifest names the baseline */
    const char *mbase = jstr(ff.manifest, "baseline");
    bool any_base = false;
    for (size_t i = 0; i < g->n; i++) any_base |= g->e[i].is_baseline;
    for (size_t i = 0; mbase && !any_base && i < g->n; i++) g->e[i].is_baseline = !strcmp(g->e[i].variant, mbase);
    qsort(g->e, g->n, sizeof *g->e, cmp_entry);
    dedup(g);
    if (g->n_hw) qsort(g->hw, g->n_hw, sizeof *g->hw, cmp_hw);
    for (size_t i = 0; i < g->n && !g->baseline; i++)
        if (g->e[i].is_baseline) g->baseline = lpq_strdup(g->e[i].variant);
    if (!g->baseline && jstr(ff.manifest, "baseline")) g->baseline = lpq_strdup(jstr(ff.manifest, "baseline"));
    *out = g;
    g = NULL;
done:
    for (size_t i = 0; i < ps.n; i++) lpq_free(ps.p[i]);
    lpq_free(ps.p);
    json_decref(ff.manifest);
    lpq_grid_free(g);
    return st;
}
