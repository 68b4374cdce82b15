/*
 * acc-items.c — item sets for the accuracy suite: the lpq-140 JSONL loader with its
 * validator (every problem named by file:line), seeded --limit sampling, and a JSON-schema
 * validator for the subset tool definitions use (type, properties, required, enum, items).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites/acc-items.h"

const struct lpq_acc_category lpq_acc_categories[6] = {
    { "knowledge", "know", 25 },     { "math", "math", 25 },          { "reasoning", "reas", 25 },
    { "common_sense", "comm", 25 },  { "truthfulness", "truth", 20 }, { "tool_calling", "tool", 20 },
};

const char *lpq_acc_type_name(enum lpq_acc_type t) {
    switch (t) {
    case LPQ_ACC_MC: return "mc";
    case LPQ_ACC_NUMERIC: return "numeric";
    case LPQ_ACC_TOOL_CALL: return "tool_call";
    }
    return "?";
}

/* ---- sets ---------------------------------------------------------------------------- */

struct lpq_acc_set *lpq_acc_set_new(const char *name) {
    struct lpq_acc_set *s = lpq_calloc(1, sizeof(*s));
    if (s) snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
    return s;
}

static void item_clear(struct lpq_acc_item *it) {
    lpq_free(it->prompt);
    for (int32_t c = 0; c < it->n_choices; c++) {
        if (it->choices) lpq_free(it->choices[c]);
        if (it->contexts) lpq_free(it->contexts[c]);
    }
    lpq_free(it->choices);
    lpq_free(it->contexts);
    lpq_free(it->is_true);
    json_decref(it->tools);
    json_decref(it->expected);
    memset(it, 0, sizeof(*it));
}

void lpq_acc_set_free(struct lpq_acc_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) item_clear(&s->items[i]);
    lpq_free(s->items);
    lpq_free(s->path);
    lpq_free(s);
}

struct lpq_acc_item *lpq_acc_set_push(struct lpq_acc_set *s) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct lpq_acc_item *p = lpq_realloc(s->items, cap * sizeof(*p));
        if (!p) return NULL;
        s->items = p;
        s->cap = cap;
    }
    struct lpq_acc_item *it = &s->items[s->n++];
    memset(it, 0, sizeof(*it));
    s->n_total = (int64_t)s->n;
    return it;
}

/* splitmix64: a tiny, well-mixed generator so sampling depends only on the seed. */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

void lpq_acc_set_sample(struct lpq_acc_set *s, int64_t limit, uint64_t seed) {
    s->n_total = (int64_t)s->n;
    if (limit <= 0 || (size_t)limit >= s->n) return;
    size_t n = s->n, k = (size_t)limit;
    size_t *idx = lpq_malloc_array(n, sizeof(size_t));
    uint8_t *keep = lpq_calloc(n, 1);
    if (!idx || !keep) goto done;   /* out of memory: keep everything rather than fail */
    for (size_t i = 0; i < n; i++) idx[i] = i;
    uint64_t st = seed;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + (size_t)(splitmix64(&st) % (uint64_t)(n - i));
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    qsort(idx, k, sizeof(size_t), cmp_size);
    for (size_t i = 0; i < k; i++) keep[idx[i]] = 1;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep[i]) s->items[w++] = s->items[i];
        else item_clear(&s->items[i]);
    }
    s->n = w;
    s->seed = seed;
done:
    lpq_free(idx);
    lpq_free(keep);
}

/* ---- JSON-schema subset -------------------------------------------------------------- */

static const char *const schema_types[] = { "object", "array", "string", "number", "integer", "boolean", "null" };

static bool why_set(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool why_set(char *why, size_t cap, const char *fmt, ...) {
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return false;
}

static bool type_matches(const char *type, const json_t *v) {
    if (!strcmp(type, "object")) return json_is_object(v);
    if (!strcmp(type, "array")) return json_is_array(v);
    if (!strcmp(type, "string")) return json_is_string(v);
    if (!strcmp(type, "number")) return json_is_number(v);
    if (!strcmp(type, "integer")) {
        if (json_is_integer(v)) return true;
        double d = json_is_real(v) ? json_real_value(v) : NAN;
        return isfinite(d) && d == floor(d);
    }
    if (!strcmp(type, "boolean")) return json_is_boolean(v);
    if (!strcmp(type, "null")) return json_is_null(v);
    return false;
}

static bool check_at(const json_t *sc, const char *at, char *why, size_t cap) {
    if (!json_is_object(sc)) return why_set(why, cap, "%s: schema is not an object", at);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)sc, key, v) {
        if (strcmp(key, "type") && strcmp(key, "properties") && strcmp(key, "required") && strcmp(key, "enum") &&
            strcmp(key, "items") && strcmp(key, "description"))
            return why_set(why, cap, "%s: unsupported schema keyword '%s'", at, key);
    }
    const char *type = json_string_value(json_object_get(sc, "type"));
    if (!type) return why_set(why, cap, "%s: schema has no string 'type'", at);
    bool known = false;
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(schema_types); i++) known |= !strcmp(type, schema_types[i]);
    if (!known) return why_set(why, cap, "%s: unknown type '%s'", at, type);
    json_t *d = json_object_get(sc, "description");
    if (d && !json_is_string(d)) return why_set(why, cap, "%s: description is not a string", at);
    json_t *props = json_object_get(sc, "properties"), *req = json_object_get(sc, "required");
    if ((props || req) && strcmp(type, "object"))
        return why_set(why, cap, "%s: properties/required on a '%s' schema", at, type);
    if (props) {
        if (!json_is_object(props)) return why_set(why, cap, "%s.properties: not an object", at);
        json_object_foreach(props, key, v) {
            char sub[256];
            snprintf(sub, sizeof(sub), "%s.%s", at, key);
            if (!check_at(v, sub, why, cap)) return false;
        }
    }
    if (req) {
        if (!json_is_array(req)) return why_set(why, cap, "%s.required: not an array", at);
        size_t i;
        json_array_foreach(req, i, v) {
            const char *name = json_string_value(v);
            if (!name) return why_set(why, cap, "%s.required[%zu]: not a string", at, i);
            if (!json_object_get(props, name))
                return why_set(why, cap, "%s.required: '%s' is not a declared property", at, name);
        }
    }
    json_t *items = json_object_get(sc, "items");
    if (items) {
        if (strcmp(type, "array")) return why_set(why, cap, "%s: items on a '%s' schema", at, type);
        char sub[256];
        snprintf(sub, sizeof(sub), "%s[]", at);
        if (!check_at(items, sub, why, cap)) return false;
    }
    json_t *en = json_object_get(sc, "enum");
    if (en) {
        if (!json_is_array(en) || !json_array_size(en)) return why_set(why, cap, "%s.enum: not a non-empty array", at);
        size_t i;
        json_array_foreach(en, i, v) {
            if (!type_matches(type, v)) return why_set(why, cap, "%s.enum[%zu]: not of type %s", at, i, type);
        }
    }
    return true;
}

bool lpq_acc_schema_check(const json_t *schema, char *why, size_t why_cap) {
    return check_at(schema, "$", why, why_cap);
}

static bool validate_at(const json_t *sc, const json_t *v, const char *at, char *why, size_t cap) {
    const char *type = json_string_value(json_object_get(sc, "type"));
    if (type && !type_matches(type, v)) return why_set(why, cap, "%s: expected %s", at, type);
    json_t *en = json_object_get(sc, "enum");
    if (en) {
        bool hit = false;
        size_t i;
        json_t *e;
        json_array_foreach(en, i, e) hit |= json_equal(e, (json_t *)v);
        if (!hit) return why_set(why, cap, "%s: value not in enum", at);
    }
    if (json_is_object(v)) {
        json_t *props = json_object_get(sc, "properties"), *req = json_object_get(sc, "required"), *x;
        size_t i;
        json_array_foreach(req, i, x) {
            const char *name = json_string_value(x);
            if (name && !json_object_get(v, name)) return why_set(why, cap, "%s: missing required '%s'", at, name);
        }
        const char *key;
        json_object_foreach((json_t *)v, key, x) {
            json_t *ps = json_object_get(props, key);
            if (!ps) continue;   /* additional properties are allowed, as in JSON schema */
            char sub[256];
            snprintf(sub, sizeof(sub), "%s.%s", at, key);
            if (!validate_at(ps, x, sub, why, cap)) return false;
        }
    }
    if (json_is_array(v) && json_object_get(sc, "items")) {
        size_t i;
        json_t *x;
        json_array_foreach((json_t *)v, i, x) {
            char sub[256];
            snprintf(sub, sizeof(sub), "%s[%zu]", at, i);
            if (!validate_at(json_object_get(sc, "items"), x, sub, why, cap)) return false;
        }
    }
    return true;
}

bool lpq_acc_schema_validate(const json_t *schema, const json_t *value, char *why, size_t why_cap) {
    return validate_at(schema, value, "$", why, why_cap);
}

/* ---- lpq-140 JSONL ------------------------------------------------------------------- */

static const char *const item_keys[] = { "id", "category", "difficulty", "type", "prompt", "choices",
                                         "answer", "tolerance", "tools", "expected" };

/* Field accessors that report "file:line: ..." through err. */
#define BAD(...) lpq_err_set(err, LPQ_STATUS_BAD_FILE, __VA_ARGS__)

static enum lpq_status get_str(json_t *o, const char *key, const char *path, int64_t line, const char **out,
                               struct lpq_err *err) {
    json_t *v = json_object_get(o, key);
    if (!v) return BAD("%s:%lld: missing field '%s'", path, (long long)line, key);
    if (!json_is_string(v) || !json_string_length(v))
        return BAD("%s:%lld: field '%s' must be a non-empty string", path, (long long)line, key);
    *out = json_string_value(v);
    return LPQ_STATUS_OK;
}

static enum lpq_status parse_mc(json_t *o, struct lpq_acc_item *it, const char *path, int64_t line,
                                struct lpq_err *err) {
    json_t *ch = json_object_get(o, "choices"), *ans = json_object_get(o, "answer");
    if (!ch) return BAD("%s:%lld: missing field 'choices'", path, (long long)line);
    if (!ans) return BAD("%s:%lld: missing field 'answer'", path, (long long)line);
    if (!json_is_array(ch) || json_array_size(ch) < 2 || json_array_size(ch) > 16)
        return BAD("%s:%lld: 'choices' must be an array of 2 to 16 strings", path, (long long)line);
    size_t n = json_array_size(ch);
    it->choices = lpq_calloc(n, sizeof(char *));
    if (!it->choices) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "%s:%lld: out of memory", path, (long long)line);
    it->n_choices = (int32_t)n;
    for (size_t c = 0; c < n; c++) {
        const char *s = json_string_value(json_array_get(ch, c));
        if (!s || !*s) return BAD("%s:%lld: choices[%zu] must be a non-empty string", path, (long long)line, c);
        for (size_t d = 0; d < c; d++)
            if (!strcmp(s, it->choices[d])) return BAD("%s:%lld: choices[%zu] repeats choices[%zu]", path, (long long)line, c, d);
        if (!(it->choices[c] = lpq_strdup(s)))
            return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "%s:%lld: out of memory", path, (long long)line);
    }
    if (!json_is_integer(ans) || json_integer_value(ans) < 0 || json_integer_value(ans) >= (json_int_t)n)
        return BAD("%s:%lld: 'answer' must be a choice index in 0..%zu", path, (long long)line, n - 1);
    it->answer = (int32_t)json_integer_value(ans);
    return LPQ_STATUS_OK;
}

static enum lpq_status parse_numeric(json_t *o, struct lpq_acc_item *it, const char *path, int64_t line,
                                     struct lpq_err *err) {
    json_t *ans = json_object_get(o, "answer"), *tol = json_object_get(o, "tolerance");
    if (!ans) return BAD("%s:%lld: missing field 'answer'", path, (long long)line);
    if (!json_is_number(ans) || !isfinite(json_number_value(ans)))
        return BAD("%s:%lld: 'answer' of a numeric item must be a number", path, (long long)line);
    if (tol && (!json_is_number(tol) || !(json_number_value(tol) >= 0)))
        return BAD("%s:%lld: 'tolerance' must be a number >= 0", path, (long long)line);
    if (json_object_get(o, "choices")) return BAD("%s:%lld: a numeric item has no 'choices'", path, (long long)line);
    it->number = json_number_value(ans);
    it->tolerance = tol ? json_number_value(tol) : 0;
    return LPQ_STATUS_OK;
}

static const char *const compare_modes[] = { "exact", "casefold", "numeric", "set" };

static enum lpq_status parse_tool(json_t *o, struct lpq_acc_item *it, const char *path, int64_t line,
                                  struct lpq_err *err) {
    json_t *tools = json_object_get(o, "tools"), *ex = json_object_get(o, "expected");
    char why[256];
    if (!tools) return BAD("%s:%lld: missing field 'tools'", path, (long long)line);
    if (!ex) return BAD("%s:%lld: missing field 'expected'", path, (long long)line);
    if (!json_is_array(tools) || !json_array_size(tools))
        return BAD("%s:%lld: 'tools' must be a non-empty array", path, (long long)line);
    size_t i;
    json_t *t, *tool_of_call = NULL;
    const char *call = json_string_value(json_object_get(ex, "name"));
    json_array_foreach(tools, i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        json_t *params = json_object_get(t, "parameters");
        if (!json_is_object(t) || !name || !*name)
            return BAD("%s:%lld: tools[%zu] needs a string 'name'", path, (long long)line, i);
        const char *ptype = json_string_value(json_object_get(params, "type"));
        if (!json_is_object(params) || !ptype || strcmp(ptype, "object"))
            return BAD("%s:%lld: tool '%s': 'parameters' must be an object schema", path, (long long)line, name);
        if (!lpq_acc_schema_check(params, why, sizeof(why)))
            return BAD("%s:%lld: tool '%s': %s", path, (long long)line, name, why);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(name, json_string_value(json_object_get(json_array_get(tools, j), "name"))))
                return BAD("%s:%lld: tool '%s' is declared twice", path, (long long)line, name);
        if (call && !strcmp(call, name)) tool_of_call = t;
    }
    if (!json_is_object(ex) || !call) return BAD("%s:%lld: 'expected' needs a string 'name'", path, (long long)line);
    if (!tool_of_call) return BAD("%s:%lld: expected call '%s' is not one of the tools", path, (long long)line, call);
    json_t *args = json_object_get(ex, "arguments"), *req = json_object_get(ex, "required"),
           *cmp = json_object_get(ex, "compare");
    if (!json_is_object(args)) return BAD("%s:%lld: expected.arguments must be an object", path, (long long)line);
    if (!json_is_array(req)) return BAD("%s:%lld: expected.required must be an array", path, (long long)line);
    if (!json_is_object(cmp)) return BAD("%s:%lld: expected.compare must be an object", path, (long long)line);
    if (!lpq_acc_schema_validate(json_object_get(tool_of_call, "parameters"), args, why, sizeof(why)))
        return BAD("%s:%lld: expected call does not validate against tool '%s': %s", path, (long long)line, call, why);
    json_t *v;
    json_array_foreach(req, i, v) {
        const char *a = json_string_value(v);
        if (!a || !json_object_get(args, a))
            return BAD("%s:%lld: expected.required[%zu] does not name an expected argument", path, (long long)line, i);
    }
    const char *key;
    json_object_foreach(args, key, v) {
        const char *mode = json_string_value(json_object_get(cmp, key));
        bool ok = false;
        for (size_t m = 0; mode && m < LPQ_ARRAY_SIZE(compare_modes); m++) ok |= !strcmp(mode, compare_modes[m]);
        if (!ok) return BAD("%s:%lld: expected.compare['%s'] must be exact|casefold|numeric|set", path, (long long)line, key);
    }
    json_object_foreach(cmp, key, v) {
        if (!json_object_get(args, key))
            return BAD("%s:%lld: expected.compare names '%s', which is not an expected argument", path, (long long)line, key);
    }
    it->tools = json_incref(tools);
    it->expected = json_incref(ex);
    return LPQ_STATUS_OK;
}

static enum lpq_status parse_line(json_t *o, struct lpq_acc_item *it, const char *path, int64_t line,
                                  struct lpq_err *err) {
    enum lpq_status st;
    const char *id, *cat, *diff, *type, *prompt;
    if (!json_is_object(o)) return BAD("%s:%lld: not a JSON object", path, (long long)line);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        bool ok = false;
        for (size_t k = 0; k < LPQ_ARRAY_SIZE(item_keys); k++) ok |= !strcmp(key, item_keys[k]);
        if (!ok) return BAD("%s:%lld: unknown field '%s'", path, (long long)line, key);
    }
    if ((st = get_str(o, "id", path, line, &id, err)) || (st = get_str(o, "category", path, line, &cat, err)) ||
        (st = get_str(o, "difficulty", path, line, &diff, err)) || (st = get_str(o, "type", path, line, &type, err)) ||
        (st = get_str(o, "prompt", path, line, &prompt, err)))
        return st;
    it->line = line;
    if (strlen(id) >= sizeof(it->id)) return BAD("%s:%lld: id too long", path, (long long)line);
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return BAD("%s:%lld: id '%s' may hold only letters, digits, '-' and '_'", path, (long long)line, id);
    const struct lpq_acc_category *c = NULL;
    for (size_t k = 0; k < LPQ_ARRAY_SIZE(lpq_acc_categories); k++)
        if (!strcmp(cat, lpq_acc_categories[k].name)) c = &lpq_acc_categories[k];
    if (!c) return BAD("%s:%lld: unknown category '%s'", path, (long long)line, cat);
    size_t pl = strlen(c->id_prefix);
    if (strncmp(id, c->id_prefix, pl) || id[pl] != '-')
        return BAD("%s:%lld: id '%s' must start with '%s-' for category %s", path, (long long)line, id, c->id_prefix, cat);
    if (strcmp(diff, "easy") && strcmp(diff, "medium") && strcmp(diff, "hard"))
        return BAD("%s:%lld: unknown difficulty '%s' (easy|medium|hard)", path, (long long)line, diff);
    snprintf(it->id, sizeof(it->id), "%s", id);
    snprintf(it->category, sizeof(it->category), "%s", cat);
    snprintf(it->difficulty, sizeof(it->difficulty), "%s", diff);
    if (!(it->prompt = lpq_strdup(prompt)))
        return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "%s:%lld: out of memory", path, (long long)line);
    if (!strcmp(type, "mc")) it->type = LPQ_ACC_MC;
    else if (!strcmp(type, "numeric")) it->type = LPQ_ACC_NUMERIC;
    else if (!strcmp(type, "tool_call")) it->type = LPQ_ACC_TOOL_CALL;
    else return BAD("%s:%lld: unknown type '%s' (mc|numeric|tool_call)", path, (long long)line, type);
    if ((it->type == LPQ_ACC_TOOL_CALL) != !strcmp(cat, "tool_calling"))
        return BAD("%s:%lld: type tool_call goes with category tool_calling only", path, (long long)line);
    if (it->type != LPQ_ACC_TOOL_CALL && (json_object_get(o, "tools") || json_object_get(o, "expected")))
        return BAD("%s:%lld: 'tools'/'expected' belong to tool_call items", path, (long long)line);
    switch (it->type) {
    case LPQ_ACC_MC: return parse_mc(o, it, path, line, err);
    case LPQ_ACC_NUMERIC: return parse_numeric(o, it, path, line, err);
    case LPQ_ACC_TOOL_CALL: return parse_tool(o, it, path, line, err);
    }
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_acc_set_load(const char *path, struct lpq_acc_set **out, struct lpq_err *err) {
    enum lpq_status st = LPQ_STATUS_OK;
    struct lpq_acc_set *s = NULL;
    json_t *seen = NULL;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lpq_err_set(err, LPQ_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0, got;
    buf = lpq_malloc(cap + 1);
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = lpq_realloc(buf, cap * 2 + 1);
            if (!nb) { lpq_free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    bool rd_err = ferror(f);
    fclose(f);
    if (!buf) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", path); goto done; }
    if (rd_err) { st = lpq_err_set(err, LPQ_STATUS_IO, "%s: read error", path); goto done; }
    buf[len] = 0;
    s = lpq_acc_set_new("lpq-140");
    seen = json_object();
    if (!s || !seen || !(s->path = lpq_strdup(path))) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", path); goto done; }
    int64_t line = 0;
    for (char *p = buf; p < buf + len;) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);
        line++;
        char *q = p;
        p += ll + (nl ? 1 : 0);
        while (ll && isspace((unsigned char)q[ll - 1])) ll--;
        size_t lead = 0;
        while (lead < ll && isspace((unsigned char)q[lead])) lead++;
        if (lead == ll) continue;   /* blank lines are allowed */
        json_error_t je;
        json_t *o = json_loadb(q, ll, JSON_REJECT_DUPLICATES, &je);
        if (!o) {
            st = BAD("%s:%lld: broken JSON at column %d: %s", path, (long long)line, je.column, je.text);
            goto done;
        }
        struct lpq_acc_item *it = lpq_acc_set_push(s);
        if (!it) { json_decref(o); st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", path); goto done; }
        st = parse_line(o, it, path, line, err);
        json_decref(o);
        if (st) goto done;
        json_t *first = json_object_get(seen, it->id);
        if (first) {
            st = BAD("%s:%lld: duplicate id '%s' (first on line %lld)", path, (long long)line, it->id,
                     (long long)json_integer_value(first));
            goto done;
        }
        json_object_set_new(seen, it->id, json_integer(line));
    }
    if (!s->n) { st = BAD("%s: no items", path); goto done; }
    *out = s;
    s = NULL;
done:
    json_decref(seen);
    lpq_free(buf);
    lpq_acc_set_free(s);
    return st;
}
