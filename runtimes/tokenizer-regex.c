/*
 * tokenizer-regex.c — a small backtracking regex engine over code points, enough for the
 * pre-tokenizer patterns of tokenizer.json files (gpt-2, llama-3, qwen2, deepseek, falcon,
 * starcoder, ...). Patterns are parsed into a tree, compiled to a tiny VM program, and run
 * leftmost-first (PCRE/ECMAScript alternation order, greedy quantifiers), which is what the
 * tokenizers the vocab tests come from use. Unicode categories come from the generated table.
 */
#include <string.h>

#include "runtimes/tokenizer-impl.h"

/* ---- UTF-8 ------------------------------------------------------------------------------ */

uint32_t lpq__utf8_decode(const uint8_t *s, size_t n, size_t *adv) {
    uint8_t c = s[0];
    *adv = 1;
    if (!(c & 0x80)) return c;
    if (!(c & 0x40)) return 0xFFFD;                     /* stray continuation byte */
    if (!(c & 0x20)) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) return 0xFFFD;
        *adv = 2;
        return ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (!(c & 0x10)) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0xFFFD;
        *adv = 3;
        return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    if (!(c & 0x08)) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0xFFFD;
        *adv = 4;
        return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
               ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    }
    return 0xFFFD;
}

size_t lpq__utf8_encode(uint32_t cp, char *out) {
    if (cp <= 0x7F) { out[0] = (char)cp; return 1; }
    if (cp <= 0x7FF) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp <= 0xFFFF) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | ((cp >> 18) & 0x07));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- compiled form ---------------------------------------------------------------------- */

struct re_class {
    bool neg;
    bool ws, not_ws;              /* \s, \S items */
    uint32_t cats;                /* LPQ__UCAT_BIT mask */
    uint32_t n_ranges;
    uint32_t (*ranges)[2];        /* inclusive code point ranges */
    uint64_t ascii[2];            /* precomputed membership of code points 0..127 */
};

enum re_op { OP_CLASS, OP_SPLIT, OP_JMP, OP_MATCH, OP_EOL, OP_BOL, OP_LOOK };

struct re_inst {
    uint8_t op;
    uint8_t neg;                  /* OP_LOOK: negative lookahead */
    int32_t x, y;                 /* CLASS: class; SPLIT: prefer x, then y; JMP: x; LOOK: y = after */
    int32_t memo;                 /* SPLIT of an unbounded loop outside lookahead: memo row, else -1 */
};

struct lpq__re {
    /* llama.cpp runs patterns without \p{..} through std::wregex on text where every
     * non-ASCII White_Space code point was replaced by U+000B, so such a character matches \s
     * but not a literal range that contains it (U+3000 in deepseek's "[　-。]"). */
    bool ws_as_vt;
    struct re_class *cls;
    uint32_t n_cls, cap_cls;
    struct re_inst *code;
    uint32_t n_code, cap_code;
    uint32_t n_memo;              /* memoised loop instructions */
    int look_depth;               /* while generating: inside a lookahead */
};

/* ---- parse tree ------------------------------------------------------------------------- */

enum node_kind { N_CLASS, N_CAT, N_ALT, N_REPEAT, N_LOOK, N_BOL, N_EOL, N_EMPTY };

struct node {
    enum node_kind kind;
    int32_t cls;                  /* N_CLASS */
    int32_t min, max;             /* N_REPEAT; max -1 = unbounded */
    bool neg;                     /* N_LOOK */
    struct node **kids;
    uint32_t n_kids, cap_kids;
};

struct parser {
    const uint8_t *s;
    size_t n, i;
    struct lpq__re *re;
    struct lpq_err *err;
    enum lpq_status st;
    const char *pattern;
};

static void node_free(struct node *nd) {
    if (!nd) return;
    for (uint32_t i = 0; i < nd->n_kids; i++) node_free(nd->kids[i]);
    lpq_free(nd->kids);
    lpq_free(nd);
}

static struct node *node_new(struct parser *p, enum node_kind k) {
    struct node *nd = lpq_calloc(1, sizeof(*nd));
    if (!nd) p->st = LPQ_STATUS_NO_MEMORY;
    else nd->kind = k;
    return nd;
}

static bool node_add(struct parser *p, struct node *parent, struct node *kid) {
    if (parent->n_kids == parent->cap_kids) {
        uint32_t nc = parent->cap_kids ? parent->cap_kids * 2 : 4;
        struct node **k = lpq_realloc(parent->kids, nc * sizeof(*k));
        if (!k) { p->st = LPQ_STATUS_NO_MEMORY; node_free(kid); return false; }
        parent->kids = k;
        parent->cap_kids = nc;
    }
    parent->kids[parent->n_kids++] = kid;
    return true;
}

static void fail(struct parser *p, const char *what) {
    if (p->st == LPQ_STATUS_OK) {
        p->st = lpq_err_set(p->err, LPQ_STATUS_BAD_ARG, "regex '%s': %s at offset %zu", p->pattern, what, p->i);
    }
}

static bool class_test_slow(const struct re_class *c, uint32_t cp, uint8_t props) {
    bool in = false;
    if (c->cats & LPQ__UCAT_BIT(props & LPQ__UPROP_CAT)) in = true;
    else if (c->ws && (props & LPQ__UPROP_WS)) in = true;
    else if (c->not_ws && !(props & LPQ__UPROP_WS)) in = true;
    else {
        for (uint32_t i = 0; i < c->n_ranges; i++) {
            if (cp >= c->ranges[i][0] && cp <= c->ranges[i][1]) { in = true; break; }
        }
    }
    return in != c->neg;
}

static inline bool class_test(const struct re_class *c, uint32_t cp, uint8_t props) {
    if (cp < 128) return (c->ascii[cp >> 6] >> (cp & 63)) & 1;
    return class_test_slow(c, cp, props);
}

static int32_t class_new(struct parser *p) {
    struct lpq__re *re = p->re;
    if (re->n_cls == re->cap_cls) {
        uint32_t nc = re->cap_cls ? re->cap_cls * 2 : 8;
        struct re_class *c = lpq_realloc(re->cls, nc * sizeof(*c));
        if (!c) { p->st = LPQ_STATUS_NO_MEMORY; return -1; }
        re->cls = c;
        re->cap_cls = nc;
    }
    memset(&re->cls[re->n_cls], 0, sizeof(re->cls[0]));
    return (int32_t)re->n_cls++;
}

static bool class_add_range(struct parser *p, int32_t ci, uint32_t lo, uint32_t hi) {
    struct re_class *c = &p->re->cls[ci];
    uint32_t (*r)[2] = lpq_realloc(c->ranges, (c->n_ranges + 1) * sizeof(*r));
    if (!r) { p->st = LPQ_STATUS_NO_MEMORY; return false; }
    c->ranges = r;
    r[c->n_ranges][0] = lo;
    r[c->n_ranges][1] = hi;
    c->n_ranges++;
    return true;
}

static void class_finish(struct lpq__re *re, int32_t ci) {
    struct re_class *c = &re->cls[ci];
    c->ascii[0] = c->ascii[1] = 0;
    for (uint32_t cp = 0; cp < 128; cp++) {
        if (class_test_slow(c, cp, lpq__unicode_props(cp))) c->ascii[cp >> 6] |= 1ull << (cp & 63);
    }
}

static uint32_t next_cp(struct parser *p) {
    size_t adv;
    uint32_t cp = lpq__utf8_decode(p->s + p->i, p->n - p->i, &adv);
    p->i += adv;
    return cp;
}

/* \p{Name} after the 'p' was read. Returns a category mask, 0 on error. */
static uint32_t parse_prop(struct parser *p) {
    static const struct { const char *name; uint32_t mask; } props[] = {
        /* llama.cpp matches \p{Lu} \p{Ll} \p{Lt} \p{Lm} \p{Lo} as any letter (its regex
         * fallback collapses code points to one class per major category); so does lpq. */
        { "L", LPQ__UMASK_L }, { "Lu", LPQ__UMASK_L }, { "Ll", LPQ__UMASK_L }, { "Lt", LPQ__UMASK_L },
        { "Lm", LPQ__UMASK_L }, { "Lo", LPQ__UMASK_L }, { "M", LPQ__UMASK_M }, { "Mn", LPQ__UCAT_BIT(LPQ__UCAT_MN) },
        { "N", LPQ__UMASK_N }, { "Nd", LPQ__UCAT_BIT(LPQ__UCAT_ND) }, { "Nl", LPQ__UCAT_BIT(LPQ__UCAT_NL) },
        { "No", LPQ__UCAT_BIT(LPQ__UCAT_NO) }, { "P", LPQ__UMASK_P }, { "S", LPQ__UMASK_S },
        { "Z", LPQ__UMASK_Z }, { "C", LPQ__UMASK_C },
    };
    if (p->i >= p->n || p->s[p->i] != '{') { fail(p, "expected '{' after \\p"); return 0; }
    size_t start = ++p->i;
    while (p->i < p->n && p->s[p->i] != '}') p->i++;
    if (p->i >= p->n) { fail(p, "unterminated \\p{"); return 0; }
    size_t len = p->i - start;
    p->i++;
    for (size_t k = 0; k < LPQ_ARRAY_SIZE(props); k++) {
        if (strlen(props[k].name) == len && memcmp(props[k].name, p->s + start, len) == 0) return props[k].mask;
    }
    fail(p, "unknown \\p{} property");
    return 0;
}

static uint32_t escape_literal(uint32_t c) {
    switch (c) {
    case 'r': return '\r';
    case 'n': return '\n';
    case 't': return '\t';
    case 'f': return '\f';
    case 'v': return '\v';
    default: return c;
    }
}

/* One class item inside [...] or a top-level escape: adds to class ci. Returns the literal
 * code point when the item was a literal (for ranges), else UINT32_MAX. */
static uint32_t parse_class_item(struct parser *p, int32_t ci) {
    uint32_t c = next_cp(p);
    if (c != '\\') return c;
    if (p->i >= p->n) { fail(p, "trailing backslash"); return UINT32_MAX; }
    c = next_cp(p);
    struct re_class *k = &p->re->cls[ci];
    switch (c) {
    case 's': k->ws = true; return UINT32_MAX;
    case 'S': k->not_ws = true; return UINT32_MAX;
    case 'd': class_add_range(p, ci, '0', '9'); return UINT32_MAX;
    case 'p': {
        uint32_t m = parse_prop(p);
        p->re->cls[ci].cats |= m;
        return UINT32_MAX;
    }
    case 'x': {
        /* \x{HHHH}: a code point by number (keeps patterns free of characters an editor
         * might normalise). */
        uint32_t v = 0;
        if (p->i >= p->n || p->s[p->i] != '{') { fail(p, "expected '{' after \\x"); return UINT32_MAX; }
        p->i++;
        while (p->i < p->n && p->s[p->i] != '}') {
            uint8_t h = p->s[p->i++];
            int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : -1;
            if (d < 0 || v > 0x10FFFF) { fail(p, "bad \\x{}"); return UINT32_MAX; }
            v = v * 16 + (uint32_t)d;
        }
        if (p->i >= p->n || v > 0x10FFFF) { fail(p, "bad \\x{}"); return UINT32_MAX; }
        p->i++;
        return v;
    }
    default: return escape_literal(c);
    }
}

static struct node *parse_alt(struct parser *p);

static struct node *class_node(struct parser *p, int32_t ci) {
    if (ci < 0) return NULL;
    class_finish(p->re, ci);
    struct node *nd = node_new(p, N_CLASS);
    if (nd) nd->cls = ci;
    return nd;
}

static struct node *parse_bracket(struct parser *p) {
    int32_t ci = class_new(p);
    if (ci < 0) return NULL;
    if (p->i < p->n && p->s[p->i] == '^') { p->re->cls[ci].neg = true; p->i++; }
    bool first = true;
    while (p->st == LPQ_STATUS_OK) {
        if (p->i >= p->n) { fail(p, "unterminated ["); return NULL; }
        if (p->s[p->i] == ']' && !first) { p->i++; break; }
        first = false;
        if (p->s[p->i] == '[') { fail(p, "nested classes are not supported"); return NULL; }
        uint32_t lo = parse_class_item(p, ci);
        if (lo == UINT32_MAX) continue;
        if (p->i + 1 < p->n && p->s[p->i] == '-' && p->s[p->i + 1] != ']') {
            p->i++;
            uint32_t hi = parse_class_item(p, ci);
            if (hi == UINT32_MAX || hi < lo) { fail(p, "bad range"); return NULL; }
            class_add_range(p, ci, lo, hi);
        } else {
            class_add_range(p, ci, lo, lo);
        }
    }
    if (p->st != LPQ_STATUS_OK) return NULL;
    return class_node(p, ci);
}

static struct node *parse_atom(struct parser *p) {
    uint8_t c = p->s[p->i];
    if (c == '(') {
        p->i++;
        struct node *look = NULL;
        if (p->i + 1 < p->n && p->s[p->i] == '?') {
            uint8_t k = p->s[p->i + 1];
            if (k == ':') p->i += 2;
            else if (k == '!' || k == '=') {
                p->i += 2;
                look = node_new(p, N_LOOK);
                if (!look) return NULL;
                look->neg = (k == '!');
            } else { fail(p, "unsupported group kind"); return NULL; }
        }
        struct node *inner = parse_alt(p);
        if (!inner) { node_free(look); return NULL; }
        if (p->i >= p->n || p->s[p->i] != ')') { fail(p, "missing )"); node_free(inner); node_free(look); return NULL; }
        p->i++;
        if (look) {
            if (!node_add(p, look, inner)) { node_free(look); return NULL; }
            return look;
        }
        return inner;
    }
    if (c == '[') { p->i++; return parse_bracket(p); }
    if (c == '$') { p->i++; return node_new(p, N_EOL); }
    if (c == '^') { p->i++; return node_new(p, N_BOL); }
    if (c == '.') { fail(p, "'.' is not supported"); return NULL; }
    int32_t ci = class_new(p);
    if (ci < 0) return NULL;
    uint32_t lit = parse_class_item(p, ci);
    if (p->st != LPQ_STATUS_OK) return NULL;
    if (lit != UINT32_MAX && !class_add_range(p, ci, lit, lit)) return NULL;
    return class_node(p, ci);
}

static bool parse_int(struct parser *p, int32_t *out) {
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') return false;
    int32_t v = 0;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9' && v < 100000) v = v * 10 + (p->s[p->i++] - '0');
    *out = v;
    return true;
}

static struct node *parse_repeat(struct parser *p) {
    struct node *atom = parse_atom(p);
    while (atom && p->i < p->n) {
        uint8_t c = p->s[p->i];
        int32_t mn, mx;
        if (c == '?') { mn = 0; mx = 1; p->i++; }
        else if (c == '*') { mn = 0; mx = -1; p->i++; }
        else if (c == '+') { mn = 1; mx = -1; p->i++; }
        else if (c == '{') {
            p->i++;
            if (!parse_int(p, &mn)) { fail(p, "bad {n,m}"); node_free(atom); return NULL; }
            mx = mn;
            if (p->i < p->n && p->s[p->i] == ',') {
                p->i++;
                if (!parse_int(p, &mx)) mx = -1;
            }
            if (p->i >= p->n || p->s[p->i] != '}' || (mx >= 0 && mx < mn) || mn > 1024 || mx > 1024) {
                fail(p, "bad {n,m}");
                node_free(atom);
                return NULL;
            }
            p->i++;
        } else break;
        if (p->i < p->n && (p->s[p->i] == '?' || p->s[p->i] == '+')) {
            fail(p, "lazy/possessive quantifiers are not supported");
            node_free(atom);
            return NULL;
        }
        struct node *r = node_new(p, N_REPEAT);
        if (!r) { node_free(atom); return NULL; }
        r->min = mn;
        r->max = mx;
        if (!node_add(p, r, atom)) { node_free(r); return NULL; }
        atom = r;
    }
    return atom;
}

static struct node *parse_cat(struct parser *p) {
    struct node *cat = node_new(p, N_CAT);
    if (!cat) return NULL;
    while (p->i < p->n && p->s[p->i] != '|' && p->s[p->i] != ')') {
        struct node *r = parse_repeat(p);
        if (!r || !node_add(p, cat, r)) { node_free(cat); return NULL; }
    }
    return cat;
}

static struct node *parse_alt(struct parser *p) {
    struct node *alt = node_new(p, N_ALT);
    if (!alt) return NULL;
    for (;;) {
        struct node *c = parse_cat(p);
        if (!c || !node_add(p, alt, c)) { node_free(alt); return NULL; }
        if (p->i < p->n && p->s[p->i] == '|') { p->i++; continue; }
        break;
    }
    return alt;
}

/* ---- code generation -------------------------------------------------------------------- */

static int32_t emit(struct lpq__re *re, uint8_t op, int32_t x, int32_t y) {
    if (re->n_code == re->cap_code) {
        uint32_t nc = re->cap_code ? re->cap_code * 2 : 64;
        struct re_inst *c = lpq_realloc(re->code, nc * sizeof(*c));
        if (!c) return -1;
        re->code = c;
        re->cap_code = nc;
    }
    re->code[re->n_code] = (struct re_inst){ .op = op, .x = x, .y = y, .memo = -1 };
    return (int32_t)re->n_code++;
}

static bool gen(struct lpq__re *re, const struct node *nd) {
    switch (nd->kind) {
    case N_CLASS: return emit(re, OP_CLASS, nd->cls, 0) >= 0;
    case N_BOL: return emit(re, OP_BOL, 0, 0) >= 0;
    case N_EOL: return emit(re, OP_EOL, 0, 0) >= 0;
    case N_EMPTY: return true;
    case N_CAT:
        for (uint32_t i = 0; i < nd->n_kids; i++) if (!gen(re, nd->kids[i])) return false;
        return true;
    case N_ALT: {
        if (nd->n_kids == 1) return gen(re, nd->kids[0]);
        /* SPLIT a, next; a: kid; JMP end; next: SPLIT ... ; last kid; end: */
        int32_t jmps[64];
        uint32_t nj = 0;
        if (nd->n_kids > LPQ_ARRAY_SIZE(jmps)) return false;
        for (uint32_t i = 0; i < nd->n_kids; i++) {
            if (i + 1 < nd->n_kids) {
                int32_t sp = emit(re, OP_SPLIT, 0, 0);
                if (sp < 0) return false;
                re->code[sp].x = sp + 1;
                if (!gen(re, nd->kids[i])) return false;
                int32_t j = emit(re, OP_JMP, 0, 0);
                if (j < 0) return false;
                jmps[nj++] = j;
                re->code[sp].y = (int32_t)re->n_code;
            } else if (!gen(re, nd->kids[i])) return false;
        }
        for (uint32_t i = 0; i < nj; i++) re->code[jmps[i]].x = (int32_t)re->n_code;
        return true;
    }
    case N_REPEAT: {
        const struct node *kid = nd->kids[0];
        for (int32_t i = 0; i < nd->min; i++) if (!gen(re, kid)) return false;
        if (nd->max < 0) {
            /* L: SPLIT body, out; body: kid; JMP L; out: */
            int32_t sp = emit(re, OP_SPLIT, 0, 0);
            if (sp < 0) return false;
            re->code[sp].x = sp + 1;
            /* A lookahead body is re-run from scratch each time, so its states are not
             * memoised (a success there would poison the memo). */
            if (re->look_depth == 0) re->code[sp].memo = (int32_t)re->n_memo++;
            if (!gen(re, kid)) return false;
            if (emit(re, OP_JMP, sp, 0) < 0) return false;
            re->code[sp].y = (int32_t)re->n_code;
            return true;
        }
        int32_t splits[1024];
        int32_t ns = 0;
        for (int32_t i = nd->min; i < nd->max; i++) {
            int32_t sp = emit(re, OP_SPLIT, 0, 0);
            if (sp < 0) return false;
            re->code[sp].x = sp + 1;
            splits[ns++] = sp;
            if (!gen(re, kid)) return false;
        }
        for (int32_t i = 0; i < ns; i++) re->code[splits[i]].y = (int32_t)re->n_code;
        return true;
    }
    case N_LOOK: {
        int32_t lk = emit(re, OP_LOOK, 0, 0);
        if (lk < 0) return false;
        re->code[lk].neg = nd->neg;
        re->look_depth++;
        bool ok = gen(re, nd->kids[0]);
        re->look_depth--;
        if (!ok) return false;
        if (emit(re, OP_MATCH, 0, 0) < 0) return false;
        re->code[lk].y = (int32_t)re->n_code;
        return true;
    }
    }
    return false;
}

void lpq__re_free(struct lpq__re *re) {
    if (!re) return;
    for (uint32_t i = 0; i < re->n_cls; i++) lpq_free(re->cls[i].ranges);
    lpq_free(re->cls);
    lpq_free(re->code);
    lpq_free(re);
}

enum lpq_status lpq__re_compile(const char *pattern, struct lpq__re **out, struct lpq_err *err) {
    struct lpq__re *re = lpq_calloc(1, sizeof(*re));
    if (!re) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "regex: out of memory");
    re->ws_as_vt = strstr(pattern, "\\p{") == NULL;
    struct parser p = { .s = (const uint8_t *)pattern, .n = strlen(pattern), .re = re, .err = err,
                        .st = LPQ_STATUS_OK, .pattern = pattern };
    struct node *root = p.n ? parse_alt(&p) : NULL;
    if (p.st == LPQ_STATUS_OK && (!root || p.i != p.n)) fail(&p, "unexpected character");
    if (p.st == LPQ_STATUS_OK && (!gen(re, root) || emit(re, OP_MATCH, 0, 0) < 0)) {
        p.st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "regex '%s': cannot compile", pattern);
    }
    node_free(root);
    if (p.st != LPQ_STATUS_OK) {
        if (p.st == LPQ_STATUS_NO_MEMORY && (!err || err->status != LPQ_STATUS_NO_MEMORY)) {
            lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "regex: out of memory");
        }
        lpq__re_free(re);
        return p.st;
    }
    *out = re;
    return LPQ_STATUS_OK;
}

/* ---- matching --------------------------------------------------------------------------- */

void lpq__re_scratch_free(struct lpq__re_scratch *sc) {
    if (!sc) return;
    lpq_free(sc->stack);
    lpq_free(sc->memo);
    memset(sc, 0, sizeof(*sc));
}

static bool push(struct lpq__re_scratch *sc, size_t *sp, int64_t pc, int64_t pos) {
    if (*sp + 2 > sc->cap) {
        size_t nc = sc->cap ? sc->cap * 2 : 256;
        int64_t *s = lpq_realloc(sc->stack, nc * sizeof(*s));
        if (!s) return false;
        sc->stack = s;
        sc->cap = nc;
    }
    sc->stack[(*sp)++] = pc;
    sc->stack[(*sp)++] = pos;
    return true;
}

/* Runs the program from `pc0` at `pos0`; the backtrack stack lives above `base`. */
static int64_t run(const struct lpq__re *re, int32_t pc0, const struct lpq__utext *txt, size_t lo,
                   size_t hi, size_t pos0, struct lpq__re_scratch *sc, size_t base) {
    size_t sp = base;
    if (!push(sc, &sp, pc0, (int64_t)pos0)) return -2;
    while (sp > base) {
        size_t pos = (size_t)sc->stack[--sp];
        int32_t pc = (int32_t)sc->stack[--sp];
        for (;;) {
            const struct re_inst *in = &re->code[pc];
            if (in->op == OP_CLASS) {
                uint32_t c = pos < hi ? txt->cp[pos] : 0;
                if (c >= 128 && re->ws_as_vt && (txt->props[pos] & LPQ__UPROP_WS)) c = 0x0B;
                if (pos < hi && class_test(&re->cls[in->x], c, txt->props[pos])) {
                    pos++;
                    pc++;
                    continue;
                }
                break;
            } else if (in->op == OP_SPLIT) {
                if (in->memo >= 0) {
                    /* Visited before: it failed then (or is being explored by a path of
                     * higher priority), so it cannot give a better match now. */
                    size_t bit = (size_t)in->memo * (sc->memo_hi - sc->memo_lo + 1) + (pos - sc->memo_lo);
                    if ((sc->memo[bit >> 6] >> (bit & 63)) & 1) break;
                    sc->memo[bit >> 6] |= 1ull << (bit & 63);
                    if (pos < sc->dmin) sc->dmin = pos;
                    if (pos > sc->dmax) sc->dmax = pos;
                }
                if (!push(sc, &sp, in->y, (int64_t)pos)) return -2;
                pc = in->x;
            } else if (in->op == OP_JMP) {
                pc = in->x;
            } else if (in->op == OP_MATCH) {
                return (int64_t)pos;
            } else if (in->op == OP_EOL) {
                if (pos != hi) break;
                pc++;
            } else if (in->op == OP_BOL) {
                if (pos != lo) break;
                pc++;
            } else { /* OP_LOOK */
                int64_t r = run(re, pc + 1, txt, lo, hi, pos, sc, sp);
                if (r == -2) return -2;
                if ((r >= 0) == (bool)in->neg) break;
                pc = in->y;
            }
        }
    }
    return -1;
}

int64_t lpq__re_match_at(const struct lpq__re *re, const struct lpq__utext *txt, size_t lo, size_t hi,
                         size_t pos, struct lpq__re_scratch *sc) {
    size_t width = hi - lo + 1;                 /* positions lo..hi */
    if (re->n_memo && (sc->memo_re != re || sc->memo_lo != lo || sc->memo_hi != hi)) {
        /* New window: states of another window or pattern say nothing here. */
        size_t words = (re->n_memo * width + 63) / 64;
        if (words > sc->memo_words) {
            uint64_t *m = lpq_realloc(sc->memo, words * sizeof(*m));
            if (!m) return -2;
            sc->memo = m;
            sc->memo_words = words;
        }
        memset(sc->memo, 0, words * sizeof(*sc->memo));
        sc->memo_re = re;
        sc->memo_lo = lo;
        sc->memo_hi = hi;
    }
    sc->dmin = SIZE_MAX;
    sc->dmax = 0;
    int64_t r = run(re, 0, txt, lo, hi, pos, sc, 0);
    if (r >= 0 && re->n_memo && sc->dmin <= sc->dmax) {
        /* A successful attempt's states are not failures: forget what it marked. */
        for (uint32_t m = 0; m < re->n_memo; m++) {
            for (size_t p = sc->dmin; p <= sc->dmax; p++) {
                size_t bit = (size_t)m * width + (p - lo);
                sc->memo[bit >> 6] &= ~(1ull << (bit & 63));
            }
        }
    }
    if (r >= 0 && (size_t)r == pos) return -1;
    return r;
}
