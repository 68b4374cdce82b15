/*
 * table.c — markdown tables whose columns line up in a plain-text viewer: every cell of a
 * column is padded to the widest one (counted in UTF-8 code points, so "±", "Δ" and "—"
 * count as one column each), numeric columns right-aligned.
 */
#include "reports/reports-impl.h"

#include <stdarg.h>
#include <string.h>

struct lpq__table {
    size_t n_cols;
    char **cells;               /* row-major; the first row is the header */
    size_t n, cap;
    bool *right;                /* per column */
};

size_t lpq__utf8_width(const char *s) {
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) w++;
    return w;
}

struct lpq__table *lpq__table_new(size_t n_cols) {
    struct lpq__table *t = lpq_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->n_cols = n_cols;
    t->right = lpq_calloc(n_cols, sizeof *t->right);
    if (!t->right) {
        lpq_free(t);
        return NULL;
    }
    return t;
}

void lpq__table_free(struct lpq__table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) lpq_free(t->cells[i]);
    lpq_free(t->cells);
    lpq_free(t->right);
    lpq_free(t);
}

void lpq__table_right(struct lpq__table *t, size_t col) {
    if (t && col < t->n_cols) t->right[col] = true;
}

void lpq__table_cell(struct lpq__table *t, const char *fmt, ...) {
    if (!t) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* a '|' inside a cell would split it: markdown's escape keeps the column count */
    char esc[1024];
    size_t o = 0;
    for (const char *p = buf; *p && o + 2 < sizeof esc; p++) {
        if (*p == '|') esc[o++] = '\\';
        esc[o++] = *p == '\n' ? ' ' : *p;
    }
    esc[o] = 0;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **c = lpq_realloc(t->cells, cap * sizeof *c);
        if (!c) return;
        t->cells = c;
        t->cap = cap;
    }
    char *s = lpq_strdup(esc);
    if (s) t->cells[t->n++] = s;
}

static void pad(FILE *f, size_t n) {
    for (size_t i = 0; i < n; i++) fputc(' ', f);
}

void lpq__table_print(const struct lpq__table *t, FILE *f) {
    if (!t || !t->n_cols) return;
    size_t rows = t->n / t->n_cols;
    size_t w[64] = { 0 };
    size_t nc = LPQ_MIN(t->n_cols, LPQ_ARRAY_SIZE(w));
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < nc; c++) w[c] = LPQ_MAX(w[c], lpq__utf8_width(t->cells[r * t->n_cols + c]));
    for (size_t c = 0; c < nc; c++) w[c] = LPQ_MAX(w[c], 3);   /* room for the "---:" rule */
    for (size_t r = 0; r < rows; r++) {
        fputc('|', f);
        for (size_t c = 0; c < nc; c++) {
            const char *s = t->cells[r * t->n_cols + c];
            size_t sw = lpq__utf8_width(s);
            fputc(' ', f);
            if (t->right[c] && r > 0) pad(f, w[c] - sw);
            fputs(s, f);
            if (!t->right[c] || r == 0) pad(f, w[c] - sw);
            fputs(" |", f);
        }
        fputc('\n', f);
        if (r == 0) {
            fputc('|', f);
            for (size_t c = 0; c < nc; c++) {
                fputc(' ', f);
                for (size_t i = 0; i + 1 < w[c]; i++) fputc('-', f);
                fputc(t->right[c] ? ':' : '-', f);
                fputs(" |", f);
            }
            fputc('\n', f);
        }
    }
}
