/*
 * imatrix.c — importance matrices in llama.cpp's GGUF form: per weight matrix the sum of
 * squared input activations per column and the number of rows seen (see quantize.h for the
 * keys and tensor names). Reads files written by llama-imatrix, writes the same format, and
 * accumulates new statistics from activations (lpq_imatrix_add).
 */
#include "quant/quantize.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct im_entry {
    char *name;          /* weight tensor name, e.g. "blk.0.attn_q.weight" */
    int64_t n_cols;      /* input columns (ne0 of the weight) */
    int64_t n_mat;       /* stacked matrices (experts); 1 for dense */
    double *sum2;        /* [n_mat][n_cols] Σ x² */
    double *count;       /* [n_mat] rows accumulated */
};

struct lpq_imatrix {
    struct im_entry *e;
    int64_t n, cap;
    char **datasets;
    int64_t n_datasets;
    uint32_t chunk_count, chunk_size;
};

enum lpq_status lpq_imatrix_create(struct lpq_imatrix **out, struct lpq_err *err) {
    struct lpq_imatrix *im = lpq_calloc(1, sizeof(*im));
    if (!im) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "imatrix: out of memory");
    *out = im;
    return LPQ_STATUS_OK;
}

void lpq_imatrix_free(struct lpq_imatrix *im) {
    if (!im) return;
    for (int64_t i = 0; i < im->n; i++) {
        lpq_free(im->e[i].name);
        lpq_free(im->e[i].sum2);
        lpq_free(im->e[i].count);
    }
    lpq_free(im->e);
    for (int64_t i = 0; i < im->n_datasets; i++) lpq_free(im->datasets[i]);
    lpq_free(im->datasets);
    lpq_free(im);
}

int64_t lpq_imatrix_n_entries(const struct lpq_imatrix *im) { return im ? im->n : 0; }

const char *lpq_imatrix_entry_name(const struct lpq_imatrix *im, int64_t i) {
    return im && i >= 0 && i < im->n ? im->e[i].name : NULL;
}

void lpq_imatrix_set_chunks(struct lpq_imatrix *im, uint32_t chunk_count, uint32_t chunk_size) {
    im->chunk_count = chunk_count;
    im->chunk_size = chunk_size;
}

enum lpq_status lpq_imatrix_add_dataset(struct lpq_imatrix *im, const char *name) {
    char **nd = lpq_realloc(im->datasets, (size_t)(im->n_datasets + 1) * sizeof(*nd));
    if (!nd) return LPQ_STATUS_NO_MEMORY;
    im->datasets = nd;
    if (!(nd[im->n_datasets] = lpq_strdup(name))) return LPQ_STATUS_NO_MEMORY;
    im->n_datasets++;
    return LPQ_STATUS_OK;
}

static struct im_entry *find(const struct lpq_imatrix *im, const char *name) {
    for (int64_t i = 0; i < im->n; i++) {
        if (!strcmp(im->e[i].name, name)) return &im->e[i];
    }
    return NULL;
}

static struct im_entry *entry_new(struct lpq_imatrix *im, const char *name, int64_t n_cols, int64_t n_mat) {
    if (im->n == im->cap) {
        int64_t nc = im->cap ? im->cap * 2 : 64;
        struct im_entry *ne = lpq_realloc(im->e, (size_t)nc * sizeof(*ne));
        if (!ne) return NULL;
        im->e = ne;
        im->cap = nc;
    }
    struct im_entry *e = &im->e[im->n];
    memset(e, 0, sizeof(*e));
    e->name = lpq_strdup(name);
    e->sum2 = lpq_calloc((size_t)(n_cols * n_mat), sizeof(double));
    e->count = lpq_calloc((size_t)n_mat, sizeof(double));
    if (!e->name || !e->sum2 || !e->count) {
        lpq_free(e->name);
        lpq_free(e->sum2);
        lpq_free(e->count);
        return NULL;
    }
    e->n_cols = n_cols;
    e->n_mat = n_mat;
    im->n++;
    return e;
}

enum lpq_status lpq_imatrix_add_mat(struct lpq_imatrix *im, const char *tensor_name, int64_t i_mat,
                                    int64_t n_mat, const float *x, int64_t n_cols, int64_t n_rows) {
    if (!im || !tensor_name || n_cols <= 0 || n_rows < 0 || n_mat <= 0 || i_mat < 0 || i_mat >= n_mat)
        return LPQ_STATUS_BAD_ARG;
    struct im_entry *e = find(im, tensor_name);
    if (!e) {
        e = entry_new(im, tensor_name, n_cols, n_mat);
        if (!e) return LPQ_STATUS_NO_MEMORY;
    }
    if (e->n_cols != n_cols || e->n_mat != n_mat) return LPQ_STATUS_BAD_ARG;
    double *s = e->sum2 + i_mat * n_cols;
    for (int64_t r = 0; r < n_rows; r++) {
        const float *row = x + r * n_cols;
        for (int64_t c = 0; c < n_cols; c++) s[c] += (double)row[c] * row[c];
    }
    e->count[i_mat] += (double)n_rows;
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_imatrix_add(struct lpq_imatrix *im, const char *tensor_name, const float *x,
                                int64_t n_cols, int64_t n_rows) {
    return lpq_imatrix_add_mat(im, tensor_name, 0, 1, x, n_cols, n_rows);
}

enum lpq_status lpq_imatrix_get(const struct lpq_imatrix *im, const char *tensor_name, int64_t i_mat,
                                float *out, int64_t n_cols) {
    const struct im_entry *e = im ? find(im, tensor_name) : NULL;
    if (!e) return LPQ_STATUS_NOT_FOUND;
    if (e->n_cols != n_cols || i_mat < 0 || i_mat >= e->n_mat) return LPQ_STATUS_BAD_ARG;
    double c = e->count[i_mat];
    if (!(c > 0)) return LPQ_STATUS_NOT_FOUND;
    const double *s = e->sum2 + i_mat * n_cols;
    for (int64_t k = 0; k < n_cols; k++) out[k] = (float)(s[k] / c);
    return LPQ_STATUS_OK;
}

static bool has_suffix(const char *s, const char *suf, size_t *stem) {
    size_t a = strlen(s), b = strlen(suf);
    if (a <= b || strcmp(s + a - b, suf)) return false;
    *stem = a - b;
    return true;
}

enum lpq_status lpq_imatrix_load(const char *path, struct lpq_imatrix **out, struct lpq_err *err) {
    enum lpq_status st;
    struct lpq_gguf *g = NULL;
    struct lpq_imatrix *im = NULL;
    char *base = NULL;
    st = lpq_gguf_open(path, NULL, &g, err);
    if (st) goto done;
    const char *gt = NULL;
    if (lpq_gguf_get_str(g, "general.type", &gt, NULL) == LPQ_STATUS_OK && strcmp(gt, "imatrix") != 0) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: general.type is '%s', not 'imatrix'", path, gt);
        goto done;
    }
    if ((st = lpq_imatrix_create(&im, err))) goto done;
    int64_t n_t = lpq_gguf_n_tensors(g);
    for (int64_t i = 0; i < n_t; i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
        size_t stem;
        if (!has_suffix(t->name, ".in_sum2", &stem)) continue;
        lpq_free(base);
        base = lpq_strndup(t->name, stem);
        char *cname = base ? lpq_asprintf("%s.counts", base) : NULL;
        int64_t ci = cname ? lpq_gguf_find_tensor(g, cname) : -1;
        lpq_free(cname);
        if (!base) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "imatrix: out of memory"); goto done; }
        if (ci < 0) {
            st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: %s has no matching %s.counts", path, t->name, base);
            goto done;
        }
        const struct lpq_gguf_tensor *c = lpq_gguf_tensor(g, ci);
        int64_t n_cols = t->ne[0], n_mat = t->ne[1] * t->ne[2] * t->ne[3];
        if (t->type != LPQ_TYPE_F32 || c->type != LPQ_TYPE_F32 || lpq_gguf_tensor_nelements(c) != n_mat || n_cols <= 0) {
            st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: %s / %s.counts: expected F32 [%" PRId64 ", n] and [1, n]",
                             path, t->name, base, n_cols);
            goto done;
        }
        if (find(im, base)) {
            st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: duplicate entry %s", path, base);
            goto done;
        }
        struct im_entry *e = entry_new(im, base, n_cols, n_mat);
        if (!e) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "imatrix: out of memory"); goto done; }
        const uint8_t *sd = t->data, *cd = c->data;
        for (int64_t k = 0; k < n_cols * n_mat; k++) {
            float v;
            memcpy(&v, sd + 4 * k, 4);
            e->sum2[k] = v;
        }
        for (int64_t k = 0; k < n_mat; k++) {
            float v;
            memcpy(&v, cd + 4 * k, 4);
            e->count[k] = v;
        }
    }
    uint64_t nd = 0;
    if (lpq_gguf_get_arr_str_n(g, "imatrix.datasets", &nd) == LPQ_STATUS_OK) {
        for (uint64_t k = 0; k < nd; k++) {
            const char *s = NULL;
            if (lpq_gguf_get_arr_str(g, "imatrix.datasets", k, &s, NULL) == LPQ_STATUS_OK &&
                lpq_imatrix_add_dataset(im, s) != LPQ_STATUS_OK) {
                st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "imatrix: out of memory");
                goto done;
            }
        }
    }
    int64_t v;
    if (lpq_gguf_get_int(g, "imatrix.chunk_count", &v) == LPQ_STATUS_OK) im->chunk_count = (uint32_t)v;
    if (lpq_gguf_get_int(g, "imatrix.chunk_size", &v) == LPQ_STATUS_OK) im->chunk_size = (uint32_t)v;
    if (im->n == 0) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: no '<tensor>.in_sum2' entries: not an imatrix file", path);
        goto done;
    }
    *out = im;
    im = NULL;
done:
    lpq_free(base);
    lpq_imatrix_free(im);
    lpq_gguf_close(g);
    return st;
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp((*(const struct im_entry *const *)a)->name, (*(const struct im_entry *const *)b)->name);
}

enum lpq_status lpq_imatrix_save(const struct lpq_imatrix *im, const char *path, struct lpq_err *err) {
    enum lpq_status st;
    struct lpq_gguf_writer *w = NULL;
    const struct im_entry **ord = NULL;
    float *buf = NULL;
    st = lpq_gguf_writer_create(path, &w, err);
    if (st) goto done;
    ord = lpq_calloc((size_t)LPQ_MAX(im->n, 1), sizeof(*ord));
    if (!ord) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "imatrix: out of memory"); goto done; }
    for (int64_t i = 0; i < im->n; i++) ord[i] = &im->e[i];
    /* Sorted names, as llama-imatrix writes them: deterministic files. */
    qsort(ord, (size_t)im->n, sizeof(*ord), cmp_entry);
    if ((st = lpq_gguf_writer_set_str(w, "general.type", "imatrix")) ||
        (st = lpq_gguf_writer_set_arr_str(w, "imatrix.datasets", (const char *const *)im->datasets, NULL,
                                          (uint64_t)im->n_datasets)) ||
        (st = lpq_gguf_writer_set_u32(w, "imatrix.chunk_count", im->chunk_count)) ||
        (st = lpq_gguf_writer_set_u32(w, "imatrix.chunk_size", im->chunk_size)))
        goto werr;
    int64_t maxn = 1;
    for (int64_t i = 0; i < im->n; i++) {
        const struct im_entry *e = ord[i];
        char name[512];
        int64_t ne_s[2] = { e->n_cols, e->n_mat }, ne_c[2] = { 1, e->n_mat };
        uint32_t nd = e->n_mat > 1 ? 2 : 1;
        snprintf(name, sizeof(name), "%s.in_sum2", e->name);
        if ((st = lpq_gguf_writer_add_tensor(w, name, LPQ_TYPE_F32, nd, ne_s))) goto werr;
        snprintf(name, sizeof(name), "%s.counts", e->name);
        if ((st = lpq_gguf_writer_add_tensor(w, name, LPQ_TYPE_F32, nd, ne_c))) goto werr;
        maxn = LPQ_MAX(maxn, e->n_cols * e->n_mat);
    }
    buf = lpq_malloc_array((size_t)maxn, sizeof(float));
    if (!buf) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "imatrix: out of memory"); goto done; }
    for (int64_t i = 0; i < im->n; i++) {
        const struct im_entry *e = ord[i];
        for (int64_t k = 0; k < e->n_cols * e->n_mat; k++) buf[k] = (float)e->sum2[k];
        if ((st = lpq_gguf_writer_write_tensor(w, buf, (uint64_t)(e->n_cols * e->n_mat) * 4))) goto werr;
        for (int64_t k = 0; k < e->n_mat; k++) buf[k] = (float)e->count[k];
        if ((st = lpq_gguf_writer_write_tensor(w, buf, (uint64_t)e->n_mat * 4))) goto werr;
    }
    if ((st = lpq_gguf_writer_finish(w))) goto werr;
    goto done;
werr:
    st = lpq_err_set(err, st, "%s", lpq_gguf_writer_errmsg(w));
done:
    lpq_free(buf);
    lpq_free(ord);
    lpq_gguf_writer_free(w);
    return st;
}
