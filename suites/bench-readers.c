/*
 * bench-readers.c — turns the public benchmark files in --data-dir into accuracy items with the
 * prompts and continuations lm-evaluation-harness uses (format facts documented per reader),
 * so figures are comparable. A file that is not in the expected format is refused with its
 * name, line and the fields that were expected.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "suites/bench-readers.h"

const struct lpq_bench_desc lpq_bench_builtin[] = {
    { "mmlu", { "mmlu", NULL, NULL }, "acc (log-likelihood of ' A'..' D' after a k-shot prompt; micro average over questions)" },
    { "arc_easy", { "llm-foundry/arc_easy.jsonl", "arc_easy.jsonl", NULL }, "acc, acc_norm (characters, lm-eval), acc_norm_tokens (llama.cpp)" },
    { "arc_challenge", { "llm-foundry/arc_challenge.jsonl", "arc_challenge.jsonl", NULL }, "acc, acc_norm (characters, lm-eval), acc_norm_tokens (llama.cpp)" },
    { "hellaswag", { "hellaswag_val_random1000.jsonl", "hellaswag_val.jsonl", "hellaswag.jsonl" }, "acc, acc_norm (characters, lm-eval), acc_norm_tokens (llama.cpp hellaswag)" },
    { "winogrande", { "llm-foundry/winogrande.jsonl", "winogrande.jsonl", NULL }, "acc (partial scoring: the shared continuation after each filled-in context)" },
    { "truthfulqa_mc1", { "truthfulqa/mc_task.json", "mc_task.json", NULL }, "acc (0-shot 'Q: ... A:' prompt; lm-eval uses a 6-shot primer)" },
    { "truthfulqa_mc2", { "truthfulqa/mc_task.json", "mc_task.json", NULL }, "mc2: normalised probability mass on true answers (mean ± stderr)" },
    { "gsm8k", { "gsm8k_test.jsonl", "gsm8k/test.jsonl", NULL }, "exact match, flexible extract (last number), 0-shot greedy" },
    { NULL, { NULL, NULL, NULL }, NULL },
};

const struct lpq_bench_desc *lpq_bench_find(const char *name) {
    for (size_t i = 0; name && lpq_bench_builtin[i].name; i++)
        if (!strcmp(lpq_bench_builtin[i].name, name)) return &lpq_bench_builtin[i];
    return NULL;
}

char *lpq_bench_locate(const struct lpq_bench_desc *b, const char *data_dir) {
    if (!b || !data_dir) return NULL;
    for (size_t i = 0; i < 3 && b->paths[i]; i++) {
        char *p = lpq_asprintf("%s/%s", data_dir, b->paths[i]);
        struct stat sb;
        if (p && stat(p, &sb) == 0) return p;
        lpq_free(p);
    }
    return NULL;
}

/* ---- text helpers -------------------------------------------------------------------- */

static char *read_all(const char *path, size_t *len, struct lpq_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        lpq_err_set(err, LPQ_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = lpq_malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = lpq_realloc(buf, cap * 2 + 1);
            if (!nb) {
                lpq_free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", path);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

char *lpq_bench_hellaswag_clean(const char *s) {
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) n--;
    while (n && isspace((unsigned char)*s)) { s++; n--; }
    char *a = lpq_malloc(n * 2 + 1), *b = lpq_malloc(n * 2 + 1);
    if (!a || !b) { lpq_free(a); lpq_free(b); return NULL; }
    size_t o = 0;
    for (size_t i = 0; i < n;) {   /* " [title]" → ". " */
        if (!strncmp(s + i, " [title]", 8) && i + 8 <= n) { memcpy(a + o, ". ", 2); o += 2; i += 8; }
        else a[o++] = s[i++];
    }
    a[o] = 0;
    size_t w = 0;
    for (size_t i = 0; a[i];) {    /* drop "[...]" (non-greedy, as the regex \[.*?\]) */
        if (a[i] == '[') {
            char *close = strchr(a + i + 1, ']');
            if (close) { i = (size_t)(close - a) + 1; continue; }
        }
        b[w++] = a[i++];
    }
    b[w] = 0;
    o = 0;
    for (size_t i = 0; b[i];) {    /* "  " → " ", one pass like str.replace */
        if (b[i] == ' ' && b[i + 1] == ' ') { a[o++] = ' '; i += 2; }
        else a[o++] = b[i++];
    }
    a[o] = 0;
    lpq_free(b);
    return a;
}

static enum lpq_status oom(struct lpq_err *err) { return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "benchmark: out of memory"); }

/* A new item of set `s`: id "<set>/<index>", category = the set's name, from file line `line`.
 * NULL when out of memory. */
static struct lpq_acc_item *push_item(struct lpq_acc_set *s, enum lpq_acc_type type, int64_t index, int64_t line) {
    struct lpq_acc_item *it = lpq_acc_set_push(s);
    if (!it) return NULL;
    snprintf(it->id, sizeof(it->id), "%s/%lld", s->name, (long long)index);
    snprintf(it->category, sizeof(it->category), "%s", s->name);
    it->type = type;
    it->formatted = true;
    it->line = line;
    return it;
}

/* Sets item choices from n strings, each prefixed with `delim`. */
static enum lpq_status set_choices(struct lpq_acc_item *it, int32_t n, const char *const *texts, const char *delim,
                                   struct lpq_err *err) {
    it->choices = lpq_calloc((size_t)n, sizeof(char *));
    if (!it->choices) return oom(err);
    it->n_choices = n;
    for (int32_t c = 0; c < n; c++)
        if (!(it->choices[c] = lpq_asprintf("%s%s", delim, texts[c]))) return oom(err);
    return LPQ_STATUS_OK;
}

typedef enum lpq_status (*line_fn)(json_t *o, struct lpq_acc_set *s, const char *path, int64_t line, int64_t index,
                                   struct lpq_err *err);

static enum lpq_status read_jsonl(const char *path, struct lpq_acc_set *s, line_fn fn, struct lpq_err *err) {
    size_t len = 0;
    char *buf = read_all(path, &len, err);
    if (!buf) return err ? err->status : LPQ_STATUS_IO;
    enum lpq_status st = LPQ_STATUS_OK;
    int64_t line = 0, index = 0;
    for (char *p = buf; p < buf + len && !st;) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);
        char *q = p;
        p += ll + (nl ? 1 : 0);
        line++;
        size_t k = 0;
        while (k < ll && isspace((unsigned char)q[k])) k++;
        if (k == ll) continue;
        json_error_t je;
        json_t *o = json_loadb(q, ll, 0, &je);
        if (!o || !json_is_object(o)) {
            st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s:%lld: not a JSON object per line (JSONL expected)%s%s", path,
                             (long long)line, o ? "" : ": ", o ? "" : je.text);
        } else {
            st = fn(o, s, path, line, index++, err);
        }
        json_decref(o);
    }
    lpq_free(buf);
    if (!st && !s->n) st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: no items", path);
    return st;
}

/* ---- ARC (llm-foundry: {"query": "Question: ...", "choices": [...], "gold": i}) ----------- */
static enum lpq_status arc_line(json_t *o, struct lpq_acc_set *s, const char *path, int64_t line, int64_t index,
                                struct lpq_err *err) {
    const char *q = json_string_value(json_object_get(o, "query"));
    json_t *ch = json_object_get(o, "choices"), *gold = json_object_get(o, "gold");
    size_t n = json_array_size(ch);
    if (!q || n < 2 || n > 16 || !json_is_integer(gold) || json_integer_value(gold) < 0 ||
        json_integer_value(gold) >= (json_int_t)n)
        return lpq_err_set(err, LPQ_STATUS_BAD_FILE,
                           "%s:%lld: not an llm-foundry multiple-choice record (expected query, choices[], gold)", path,
                           (long long)line);
    const char *texts[16];
    for (size_t c = 0; c < n; c++)
        if (!(texts[c] = json_string_value(json_array_get(ch, c))))
            return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s:%lld: choices[%zu] is not a string", path, (long long)line, c);
    struct lpq_acc_item *it = push_item(s, LPQ_ACC_MC, index, line);
    if (!it) return oom(err);
    it->answer = (int32_t)json_integer_value(gold);
    /* lm-eval: "Question: {q}\nAnswer:" + " " + choice; llm-foundry's query carries "Question: " */
    if (!(it->prompt = lpq_asprintf("%s\nAnswer:", q))) return oom(err);
    return set_choices(it, (int32_t)n, texts, " ", err);
}

/* ---- Winogrande (llm-foundry: {"context_options": [a, b], "continuation": s, "gold": i}) --- */
static enum lpq_status wino_line(json_t *o, struct lpq_acc_set *s, const char *path, int64_t line, int64_t index,
                                 struct lpq_err *err) {
    json_t *opts = json_object_get(o, "context_options"), *gold = json_object_get(o, "gold");
    const char *cont = json_string_value(json_object_get(o, "continuation"));
    size_t n = json_array_size(opts);
    if (!cont || n < 2 || n > 16 || !json_is_integer(gold) || json_integer_value(gold) < 0 ||
        json_integer_value(gold) >= (json_int_t)n)
        return lpq_err_set(err, LPQ_STATUS_BAD_FILE,
                           "%s:%lld: not an llm-foundry Winogrande record (expected context_options[], continuation, gold)",
                           path, (long long)line);
    struct lpq_acc_item *it = push_item(s, LPQ_ACC_MC, index, line);
    if (!it) return oom(err);
    it->answer = (int32_t)json_integer_value(gold);
    if (!(it->prompt = lpq_strdup(""))) return oom(err);
    it->contexts = lpq_calloc(n, sizeof(char *));
    it->choices = lpq_calloc(n, sizeof(char *));
    if (!it->contexts || !it->choices) return oom(err);
    it->n_choices = (int32_t)n;
    for (size_t c = 0; c < n; c++) {
        const char *ctx = json_string_value(json_array_get(opts, c));
        if (!ctx) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s:%lld: context_options[%zu] is not a string", path, (long long)line, c);
        if (!(it->contexts[c] = lpq_strdup(ctx)) || !(it->choices[c] = lpq_asprintf(" %s", cont))) return oom(err);
    }
    return LPQ_STATUS_OK;
}

/* ---- HellaSwag (original schema: ctx_a, ctx_b, activity_label, endings[4], label) ---------- */
static enum lpq_status hs_line(json_t *o, struct lpq_acc_set *s, const char *path, int64_t line, int64_t index,
                               struct lpq_err *err) {
    const char *a = json_string_value(json_object_get(o, "ctx_a")), *b = json_string_value(json_object_get(o, "ctx_b")),
               *act = json_string_value(json_object_get(o, "activity_label"));
    json_t *end = json_object_get(o, "endings"), *lab = json_object_get(o, "label");
    int64_t label = json_is_integer(lab) ? json_integer_value(lab)
                    : json_is_string(lab) && isdigit((unsigned char)*json_string_value(lab)) ? atoll(json_string_value(lab))
                                                                                          : -1;
    size_t n = json_array_size(end);
    if (!a || !b || !act || n < 2 || n > 16 || label < 0 || label >= (int64_t)n)
        return lpq_err_set(err, LPQ_STATUS_BAD_FILE,
                           "%s:%lld: not a HellaSwag record (expected ctx_a, ctx_b, activity_label, endings[], label)",
                           path, (long long)line);
    struct lpq_acc_item *it = push_item(s, LPQ_ACC_MC, index, line);
    if (!it) return oom(err);
    it->answer = (int32_t)label;
    /* ctx = ctx_a + " " + ctx_b.capitalize() (Python: first upper, rest lower) */
    char *bc = lpq_strdup(b);
    if (!bc) return oom(err);
    for (size_t i = 0; bc[i]; i++) bc[i] = (char)(i ? tolower((unsigned char)bc[i]) : toupper((unsigned char)bc[i]));
    char *raw = lpq_asprintf("%s: %s %s", act, a, bc);
    lpq_free(bc);
    if (!raw) return oom(err);
    it->prompt = lpq_bench_hellaswag_clean(raw);
    lpq_free(raw);
    if (!it->prompt) return oom(err);
    it->choices = lpq_calloc(n, sizeof(char *));
    if (!it->choices) return oom(err);
    it->n_choices = (int32_t)n;
    for (size_t c = 0; c < n; c++) {
        const char *e = json_string_value(json_array_get(end, c));
        if (!e) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s:%lld: endings[%zu] is not a string", path, (long long)line, c);
        char *clean = lpq_bench_hellaswag_clean(e);
        it->choices[c] = clean ? lpq_asprintf(" %s", clean) : NULL;
        lpq_free(clean);
        if (!it->choices[c]) return oom(err);
    }
    return LPQ_STATUS_OK;
}

/* ---- GSM8K ({"question", "answer": "...#### 18"}) ------------------------------------------ */
static enum lpq_status gsm_line(json_t *o, struct lpq_acc_set *s, const char *path, int64_t line, int64_t index,
                                struct lpq_err *err) {
    const char *q = json_string_value(json_object_get(o, "question")), *a = json_string_value(json_object_get(o, "answer"));
    const char *mark = a ? strstr(a, "####") : NULL;
    if (!q || !mark)
        return lpq_err_set(err, LPQ_STATUS_BAD_FILE,
                           "%s:%lld: not a GSM8K record (expected question and an answer ending in '#### N')", path,
                           (long long)line);
    char num[64];
    size_t o2 = 0;
    for (const char *p = mark + 4; *p && o2 < sizeof(num) - 1; p++)
        if (*p != ',' && !isspace((unsigned char)*p)) num[o2++] = *p;
    num[o2] = 0;
    char *endp = NULL;
    double v = strtod(num, &endp);
    if (!o2 || *endp)
        return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s:%lld: answer after '####' is not a number", path, (long long)line);
    struct lpq_acc_item *it = push_item(s, LPQ_ACC_NUMERIC, index, line);
    if (!it) return oom(err);
    it->number = v;
    if (!(it->prompt = lpq_asprintf("Question: %s\nAnswer:", q))) return oom(err);
    return LPQ_STATUS_OK;
}

/* ---- TruthfulQA (mc_task.json: [{question, mc1_targets{text: 0|1}, mc2_targets{...}}]) ---- */
static enum lpq_status tqa_load(const char *path, struct lpq_acc_set *s, bool mc2, struct lpq_err *err) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    enum lpq_status st = LPQ_STATUS_OK;
    if (!root || !json_is_array(root)) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s:%d: not TruthfulQA's mc_task.json (a JSON array expected)%s%s",
                         path, root ? 1 : je.line, root ? "" : ": ", root ? "" : je.text);
        goto done;
    }
    size_t i;
    json_t *e;
    json_array_foreach(root, i, e) {
        const char *q = json_string_value(json_object_get(e, "question"));
        json_t *tg = json_object_get(e, mc2 ? "mc2_targets" : "mc1_targets");
        size_t n = json_object_size(tg);
        if (!q || !json_is_object(tg) || n < 2) {
            st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: entry %zu: expected question and %s with 2+ answers", path, i,
                             mc2 ? "mc2_targets" : "mc1_targets");
            goto done;
        }
        struct lpq_acc_item *it = push_item(s, LPQ_ACC_MC, (int64_t)i, (int64_t)i + 1);
        if (!it) { st = oom(err); goto done; }
        it->answer = -1;
        it->choices = lpq_calloc(n, sizeof(char *));
        it->is_true = lpq_calloc(n, 1);
        if (!(it->prompt = lpq_asprintf("Q: %s\nA:", q)) || !it->choices || !it->is_true) { st = oom(err); goto done; }
        it->n_choices = (int32_t)n;
        const char *key;
        json_t *v;
        size_t c = 0;
        json_object_foreach(tg, key, v) {   /* jansson keeps insertion order */
            if (!(it->choices[c] = lpq_asprintf(" %s", key))) { st = oom(err); goto done; }
            it->is_true[c] = json_integer_value(v) != 0;
            if (it->is_true[c] && it->answer < 0) it->answer = (int32_t)c;
            c++;
        }
        if (it->answer < 0) {
            st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: entry %zu: no answer marked 1", path, i);
            goto done;
        }
    }
done:
    json_decref(root);
    return st;
}

/* ---- MMLU (folders test/ and dev/ of <subject>_test.csv / <subject>_dev.csv) -------------- */

/* One CSV record (RFC 4180: quotes, "" escapes, newlines inside quotes) into fields[6]; returns
 * the number of fields, advancing *p. */
static int csv_record(char **p, char *end, char **fields, int max) {
    int n = 0;
    char *s = *p;
    if (s >= end) return 0;
    for (;;) {
        char *w = s, *start = s;
        if (s < end && *s == '"') {
            s++;
            while (s < end) {
                if (*s == '"' && s + 1 < end && s[1] == '"') { *w++ = '"'; s += 2; }
                else if (*s == '"') { s++; break; }
                else *w++ = *s++;
            }
            while (s < end && *s != ',' && *s != '\n') s++;   /* junk after the closing quote */
        } else {
            while (s < end && *s != ',' && *s != '\n') *w++ = *s++;
            if (w > start && w[-1] == '\r') w--;
        }
        char sep = s < end ? *s : '\n';
        *w = 0;
        if (n < max) fields[n] = start;
        n++;
        s++;
        if (sep == '\n') break;
    }
    *p = s;
    return n;
}

struct mmlu_row {
    char *f[6];
};

/* Parses a whole MMLU CSV into rows (pointers into buf, which is modified). */
static enum lpq_status mmlu_parse(const char *path, char *buf, size_t len, struct mmlu_row **rows, size_t *n_rows,
                                  struct lpq_err *err) {
    size_t cap = 64, n = 0;
    struct mmlu_row *r = lpq_malloc_array(cap, sizeof(*r));
    char *p = buf, *end = buf + len;
    int64_t rec = 0;
    if (!r) return oom(err);
    while (p < end) {
        struct mmlu_row row;
        rec++;
        if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) { p += *p == '\r' ? 2 : 1; continue; }
        int nf = csv_record(&p, end, row.f, 6);
        if (nf != 6) {
            lpq_free(r);
            return lpq_err_set(err, LPQ_STATUS_BAD_FILE,
                               "%s: record %lld: %d fields, expected 6 (question, 4 choices, answer)", path, (long long)rec, nf);
        }
        if (rec == 1 && !strcmp(row.f[0], "question")) continue;   /* header line */
        if (n == cap) {
            struct mmlu_row *nr = lpq_realloc(r, cap * 2 * sizeof(*r));
            if (!nr) { lpq_free(r); return oom(err); }
            r = nr;
            cap *= 2;
        }
        r[n++] = row;
    }
    *rows = r;
    *n_rows = n;
    return LPQ_STATUS_OK;
}

/* Answer as 0-3 or A-D; -1 otherwise. */
static int mmlu_answer(const char *a) {
    while (isspace((unsigned char)*a)) a++;
    if (*a >= '0' && *a <= '3' && !a[1]) return *a - '0';
    if (*a >= 'A' && *a <= 'D' && !a[1]) return *a - 'A';
    return -1;
}

static char *mmlu_question(const struct mmlu_row *r) {
    const char *q = r->f[0];
    while (isspace((unsigned char)*q)) q++;
    size_t ql = strlen(q);
    while (ql && isspace((unsigned char)q[ql - 1])) ql--;
    return lpq_asprintf("%.*s\nA. %s\nB. %s\nC. %s\nD. %s\nAnswer:", (int)ql, q, r->f[1], r->f[2], r->f[3], r->f[4]);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static enum lpq_status mmlu_subject(const char *dir, const char *subject, int32_t shots, struct lpq_acc_set *s,
                                    struct lpq_err *err) {
    static const char *const letters[4] = { "A", "B", "C", "D" };
    enum lpq_status st = LPQ_STATUS_OK;
    char *tpath = lpq_asprintf("%s/test/%s_test.csv", dir, subject), *dpath = lpq_asprintf("%s/dev/%s_dev.csv", dir, subject);
    char *tbuf = NULL, *dbuf = NULL, *prefix = NULL, *name = lpq_strdup(subject);
    struct mmlu_row *trows = NULL, *drows = NULL;
    size_t nt = 0, nd = 0, len;
    if (!tpath || !dpath || !name) { st = oom(err); goto done; }
    for (char *c = name; *c; c++) if (*c == '_') *c = ' ';
    if (!(tbuf = read_all(tpath, &len, err))) { st = err ? err->status : LPQ_STATUS_IO; goto done; }
    if ((st = mmlu_parse(tpath, tbuf, len, &trows, &nt, err))) goto done;
    if (shots > 0) {
        if (!(dbuf = read_all(dpath, &len, err))) { st = err ? err->status : LPQ_STATUS_IO; goto done; }
        if ((st = mmlu_parse(dpath, dbuf, len, &drows, &nd, err))) goto done;
    }
    /* lm-eval: description, then k solved examples separated by blank lines */
    prefix = lpq_asprintf("The following are multiple choice questions (with answers) about %s.\n\n", name);
    for (size_t k = 0; prefix && k < (size_t)shots && k < nd; k++) {
        int a = mmlu_answer(drows[k].f[5]);
        char *q = mmlu_question(&drows[k]);
        char *np = (q && a >= 0) ? lpq_asprintf("%s%s %s\n\n", prefix, q, letters[a]) : NULL;
        lpq_free(q);
        if (a < 0) { st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: record %zu: answer '%s' is not 0-3 or A-D", dpath, k + 1, drows[k].f[5]); goto done; }
        lpq_free(prefix);
        prefix = np;
    }
    if (!prefix) { st = oom(err); goto done; }
    for (size_t i = 0; i < nt; i++) {
        int a = mmlu_answer(trows[i].f[5]);
        if (a < 0) { st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: record %zu: answer '%s' is not 0-3 or A-D", tpath, i + 1, trows[i].f[5]); goto done; }
        struct lpq_acc_item *it = lpq_acc_set_push(s);
        if (!it) { st = oom(err); goto done; }
        snprintf(it->id, sizeof(it->id), "mmlu/%s/%zu", subject, i);
        snprintf(it->category, sizeof(it->category), "mmlu");
        it->type = LPQ_ACC_MC;
        it->formatted = true;
        it->line = (int64_t)i + 1;
        it->answer = a;
        char *q = mmlu_question(&trows[i]);
        it->prompt = q ? lpq_asprintf("%s%s", prefix, q) : NULL;
        lpq_free(q);
        if (!it->prompt || (st = set_choices(it, 4, letters, " ", err))) { st = st ? st : oom(err); goto done; }
    }
done:
    lpq_free(tpath);
    lpq_free(dpath);
    lpq_free(tbuf);
    lpq_free(dbuf);
    lpq_free(trows);
    lpq_free(drows);
    lpq_free(prefix);
    lpq_free(name);
    return st;
}

static enum lpq_status mmlu_load(const char *dir, int32_t shots, struct lpq_acc_set *s, struct lpq_err *err) {
    char *tdir = lpq_asprintf("%s/test", dir);
    DIR *d = tdir ? opendir(tdir) : NULL;
    char **subj = NULL;
    size_t n = 0, cap = 0;
    enum lpq_status st = LPQ_STATUS_OK;
    if (!d) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: not an MMLU folder (expected test/<subject>_test.csv and dev/<subject>_dev.csv)", dir);
        goto done;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l <= 9 || strcmp(de->d_name + l - 9, "_test.csv")) continue;
        if (n == cap) {
            char **ns = lpq_realloc(subj, (cap ? cap * 2 : 64) * sizeof(char *));
            if (!ns) { st = oom(err); goto done; }
            subj = ns;
            cap = cap ? cap * 2 : 64;
        }
        if (!(subj[n] = lpq_strndup(de->d_name, l - 9))) { st = oom(err); goto done; }
        n++;
    }
    if (!n) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: no <subject>_test.csv files (MMLU CSV folder expected)", tdir);
        goto done;
    }
    qsort(subj, n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < n && !st; i++) st = mmlu_subject(dir, subj[i], shots, s, err);
done:
    if (d) closedir(d);
    for (size_t i = 0; i < n; i++) lpq_free(subj[i]);
    lpq_free(subj);
    lpq_free(tdir);
    return st;
}

enum lpq_status lpq_bench_load(const struct lpq_bench_desc *b, const char *path, const struct lpq_bench_opts *o,
                               struct lpq_acc_set **out, struct lpq_err *err) {
    struct lpq_acc_set *s = lpq_acc_set_new(b->name);
    enum lpq_status st;
    if (!s || !(s->path = lpq_strdup(path))) { lpq_acc_set_free(s); return oom(err); }
    const char *n = b->name;
    int32_t shots = o && o->mmlu_shots >= 0 ? (o->mmlu_shots > 5 ? 5 : o->mmlu_shots) : 5;
    if (!strcmp(n, "mmlu")) {
        s->n_shot = shots;
        st = mmlu_load(path, shots, s, err);
    } else if (!strcmp(n, "arc_easy") || !strcmp(n, "arc_challenge")) st = read_jsonl(path, s, arc_line, err);
    else if (!strcmp(n, "winogrande")) st = read_jsonl(path, s, wino_line, err);
    else if (!strcmp(n, "hellaswag")) st = read_jsonl(path, s, hs_line, err);
    else if (!strcmp(n, "gsm8k")) st = read_jsonl(path, s, gsm_line, err);
    else if (!strcmp(n, "truthfulqa_mc1") || !strcmp(n, "truthfulqa_mc2")) st = tqa_load(path, s, !strcmp(n, "truthfulqa_mc2"), err);
    else st = lpq_err_set(err, LPQ_STATUS_BAD_ARG, "unknown benchmark '%s'", n);
    if (st) {
        lpq_acc_set_free(s);
        return st;
    }
    lpq_acc_set_sample(s, o ? o->limit : 0, o ? o->seed : 0);
    *out = s;
    return LPQ_STATUS_OK;
}
