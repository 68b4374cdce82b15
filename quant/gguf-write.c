/*
 * gguf-write.c — the streaming GGUF writer: metadata and tensor infos are kept in memory
 * (header-sized), tensor data goes straight to a temporary file beside the output, one
 * tensor at a time, and finish() fsyncs and renames it into place. An output that is not
 * finished never appears, and an existing file at the path is left alone until then.
 *
 * Layout written (little-endian, version 3):
 *   "GGUF" | u32 3 | u64 n_tensors | u64 n_kv | kvs | tensor infos | zeros to alignment
 *   (none when there are no tensors), then each tensor's data followed by zeros to the
 *   alignment (the last one too, as ggml does), so tensor i sits at data_start + offset_i
 *   with offset_i a multiple of the alignment.
 */
#include "quant/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quant/gguf-impl.h"

#define WBUF_SIZE (1u << 20)   /* bytes buffered before a write(2) */

struct wkv {
    char *key;
    uint32_t type;             /* enum lpq_gguf_vtype */
    unsigned char *val;        /* the value exactly as it goes in the file (after the type) */
    uint64_t val_size;         /* bytes */
};

struct wtensor {
    char *name;
    uint32_t n_dims;
    int64_t ne[LPQ_GGUF_MAX_DIMS];
    uint32_t type;             /* GGUF type id */
    uint64_t size;             /* bytes of data */
    uint64_t offset;           /* bytes, relative to the data section; set when the header is written */
};

struct lpq_gguf_writer {
    char *path;                /* final output */
    char *tmp_path;            /* where the output is built */
    int fd;                    /* of tmp_path; -1 once closed */
    uint32_t alignment;        /* bytes */

    struct wkv *kv;
    int64_t n_kv, cap_kv;
    struct wtensor *t;
    int64_t n_t, cap_t;

    bool header_written;
    bool finished;
    enum lpq_status failed;    /* sticky: once set every call returns it */
    int64_t cur;               /* tensor whose data is being written */
    uint64_t cur_done;         /* bytes of it written so far */
    uint64_t pos;              /* bytes handed to the file so far, buffer included */

    unsigned char *buf;        /* WBUF_SIZE bytes */
    size_t buf_len;            /* bytes */
    struct lpq_err err;
};

static const unsigned char zeros[4096];

const char *lpq_gguf_writer_errmsg(const struct lpq_gguf_writer *w) { return w ? w->err.msg : ""; }

/* A failure that leaves no usable output: record it, drop the temporary file. */
static enum lpq_status die(struct lpq_gguf_writer *w, enum lpq_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum lpq_status die(struct lpq_gguf_writer *w, enum lpq_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lpq_err_setv(&w->err, st, fmt, ap);
    va_end(ap);
    w->failed = st;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (w->tmp_path) unlink(w->tmp_path);
    return st;
}

/* A refused call that changed nothing; the writer stays usable. */
static enum lpq_status refuse(struct lpq_gguf_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum lpq_status refuse(struct lpq_gguf_writer *w, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lpq_err_setv(&w->err, LPQ_STATUS_BAD_ARG, fmt, ap);
    va_end(ap);
    return LPQ_STATUS_BAD_ARG;
}

/* ---- file output ------------------------------------------------------------------- */

static enum lpq_status write_all(struct lpq_gguf_writer *w, const void *data, uint64_t n) {
    const unsigned char *p = data;
    while (n > 0) {
        size_t chunk = (size_t)LPQ_MIN(n, (uint64_t)1 << 30);
        ssize_t r = write(w->fd, p, chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            return die(w, LPQ_STATUS_IO, "%s: cannot write temporary file '%s': %s", w->path, w->tmp_path,
                       r < 0 ? strerror(errno) : "no progress");
        }
        p += r;
        n -= (uint64_t)r;
    }
    return LPQ_STATUS_OK;
}

static enum lpq_status flush(struct lpq_gguf_writer *w) {
    enum lpq_status st = write_all(w, w->buf, w->buf_len);
    w->buf_len = 0;
    return st;
}

static enum lpq_status out(struct lpq_gguf_writer *w, const void *data, uint64_t n) {
    enum lpq_status st;
    if (w->buf_len + n > WBUF_SIZE) {
        if ((st = flush(w))) return st;
    }
    if (n >= WBUF_SIZE) {
        if ((st = write_all(w, data, n))) return st;
    } else {
        memcpy(w->buf + w->buf_len, data, (size_t)n);
        w->buf_len += (size_t)n;
    }
    w->pos += n;
    return LPQ_STATUS_OK;
}

static enum lpq_status out_u32(struct lpq_gguf_writer *w, uint32_t v) { return out(w, &v, 4); }
static enum lpq_status out_u64(struct lpq_gguf_writer *w, uint64_t v) { return out(w, &v, 8); }

static enum lpq_status out_str(struct lpq_gguf_writer *w, const char *s, uint64_t len) {
    enum lpq_status st = out_u64(w, len);
    return st ? st : out(w, s, len);
}

static enum lpq_status pad(struct lpq_gguf_writer *w) {
    uint64_t n = (w->alignment - w->pos % w->alignment) % w->alignment;
    enum lpq_status st = LPQ_STATUS_OK;
    while (n > 0 && !st) {
        uint64_t k = LPQ_MIN(n, (uint64_t)sizeof(zeros));
        st = out(w, zeros, k);
        n -= k;
    }
    return st;
}

/* ---- create / free ----------------------------------------------------------------- */

enum lpq_status lpq_gguf_writer_create(const char *path, struct lpq_gguf_writer **out_w, struct lpq_err *err) {
    struct lpq_gguf_writer *w = NULL;
    enum lpq_status st = LPQ_STATUS_NO_MEMORY;

    if (!path || !*path || !out_w) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "lpq_gguf_writer_create: no path");
    w = lpq_calloc(1, sizeof(*w));
    if (!w) goto nomem;
    w->fd = -1;
    w->alignment = LPQ_GGUF_DEFAULT_ALIGNMENT;
    w->path = lpq_strdup(path);
    w->buf = lpq_malloc(WBUF_SIZE);
    if (!w->path || !w->buf) goto nomem;

    /* Beside the output so the final rename stays within one file system. O_EXCL: never
     * clobber someone else's file; a second writer in this process picks the next suffix. */
    for (int k = 0; k < 100 && w->fd < 0; k++) {
        lpq_free(w->tmp_path);
        w->tmp_path = k ? lpq_asprintf("%s.tmp.%ld.%d", path, (long)getpid(), k)
                        : lpq_asprintf("%s.tmp.%ld", path, (long)getpid());
        if (!w->tmp_path) goto nomem;
        w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (w->fd < 0 && errno != EEXIST) break;
    }
    if (w->fd < 0) {
        st = lpq_err_set(err, LPQ_STATUS_IO, "%s: cannot create temporary file '%s': %s", path,
                         w->tmp_path, strerror(errno));
        lpq_free(w->tmp_path);
        w->tmp_path = NULL;   /* nothing of ours to remove */
        goto fail;
    }
    *out_w = w;
    return LPQ_STATUS_OK;
nomem:
    st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", path);
fail:
    lpq_gguf_writer_free(w);
    return st;
}

void lpq_gguf_writer_free(struct lpq_gguf_writer *w) {
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    if (!w->finished && w->tmp_path) unlink(w->tmp_path);
    for (int64_t i = 0; i < w->n_kv; i++) {
        lpq_free(w->kv[i].key);
        lpq_free(w->kv[i].val);
    }
    for (int64_t i = 0; i < w->n_t; i++) lpq_free(w->t[i].name);
    lpq_free(w->kv);
    lpq_free(w->t);
    lpq_free(w->buf);
    lpq_free(w->path);
    lpq_free(w->tmp_path);
    lpq_free(w);
}

/* ---- metadata ---------------------------------------------------------------------- */

static enum lpq_status can_set(struct lpq_gguf_writer *w, const char *key) {
    if (w->failed) return w->failed;
    if (w->header_written) return refuse(w, "%s: key '%s': the header is already written", w->path, key ? key : "(null)");
    if (!key) return refuse(w, "%s: no key", w->path);
    return LPQ_STATUS_OK;
}

static int64_t find_kv(const struct lpq_gguf_writer *w, const char *key) {
    for (int64_t i = 0; i < w->n_kv; i++) {
        if (!strcmp(w->kv[i].key, key)) return i;
    }
    return -1;
}

/* Stores an encoded value; takes ownership of `val` (freed on failure too). A repeated key
 * keeps its place and gets the new value. */
static enum lpq_status put_kv(struct lpq_gguf_writer *w, const char *key, uint32_t type,
                              unsigned char *val, uint64_t val_size) {
    if (!strcmp(key, "general.alignment")) {
        uint32_t a = 0;
        if (type == LPQ_GGUF_U32) memcpy(&a, val, 4);
        if (type != LPQ_GGUF_U32 || a == 0 || (a & (a - 1))) {
            lpq_free(val);
            return refuse(w, "%s: general.alignment must be a u32 nonzero power of two", w->path);
        }
        w->alignment = a;
    }
    int64_t i = find_kv(w, key);
    if (i < 0) {
        if (w->n_kv == w->cap_kv) {
            int64_t cap = w->cap_kv ? 2 * w->cap_kv : 32;
            struct wkv *nk = lpq_realloc(w->kv, (size_t)cap * sizeof(*nk));
            if (!nk) goto nomem;
            w->kv = nk;
            w->cap_kv = cap;
        }
        char *k = lpq_strdup(key);
        if (!k) goto nomem;
        i = w->n_kv++;
        w->kv[i] = (struct wkv){ .key = k };
    }
    lpq_free(w->kv[i].val);
    w->kv[i].type = type;
    w->kv[i].val = val;
    w->kv[i].val_size = val_size;
    return LPQ_STATUS_OK;
nomem:
    lpq_free(val);
    lpq_err_set(&w->err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", w->path);
    return LPQ_STATUS_NO_MEMORY;
}

static unsigned char *alloc_val(struct lpq_gguf_writer *w, uint64_t n) {
    unsigned char *v = (n <= SIZE_MAX) ? lpq_malloc((size_t)n) : NULL;
    if (!v) lpq_err_set(&w->err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", w->path);
    return v;
}

enum lpq_status lpq_gguf_writer_set_val(struct lpq_gguf_writer *w, const char *key,
                                        enum lpq_gguf_vtype type, const void *val) {
    enum lpq_status st = can_set(w, key);
    if (st) return st;
    uint32_t sz = lpq__gguf_vtype_size(type);
    if (!sz || !val) return refuse(w, "%s: key '%s': type %s is not a fixed-size scalar", w->path, key, lpq_gguf_vtype_name(type));
    unsigned char *v = alloc_val(w, sz);
    if (!v) return LPQ_STATUS_NO_MEMORY;
    memcpy(v, val, sz);
    return put_kv(w, key, type, v, sz);
}

enum lpq_status lpq_gguf_writer_set_u32(struct lpq_gguf_writer *w, const char *key, uint32_t v) {
    return lpq_gguf_writer_set_val(w, key, LPQ_GGUF_U32, &v);
}
enum lpq_status lpq_gguf_writer_set_i32(struct lpq_gguf_writer *w, const char *key, int32_t v) {
    return lpq_gguf_writer_set_val(w, key, LPQ_GGUF_I32, &v);
}
enum lpq_status lpq_gguf_writer_set_u64(struct lpq_gguf_writer *w, const char *key, uint64_t v) {
    return lpq_gguf_writer_set_val(w, key, LPQ_GGUF_U64, &v);
}
enum lpq_status lpq_gguf_writer_set_f32(struct lpq_gguf_writer *w, const char *key, float v) {
    return lpq_gguf_writer_set_val(w, key, LPQ_GGUF_F32, &v);
}
enum lpq_status lpq_gguf_writer_set_bool(struct lpq_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    return lpq_gguf_writer_set_val(w, key, LPQ_GGUF_BOOL, &b);
}

enum lpq_status lpq_gguf_writer_set_strn(struct lpq_gguf_writer *w, const char *key, const char *s, size_t len) {
    enum lpq_status st = can_set(w, key);
    if (st) return st;
    if (!s && len) return refuse(w, "%s: key '%s': no string", w->path, key);
    unsigned char *v = alloc_val(w, 8 + (uint64_t)len);
    if (!v) return LPQ_STATUS_NO_MEMORY;
    uint64_t n = len;
    memcpy(v, &n, 8);
    if (len) memcpy(v + 8, s, len);
    return put_kv(w, key, LPQ_GGUF_STRING, v, 8 + (uint64_t)len);
}

enum lpq_status lpq_gguf_writer_set_str(struct lpq_gguf_writer *w, const char *key, const char *s) {
    return lpq_gguf_writer_set_strn(w, key, s, s ? strlen(s) : 0);
}

/* Array header: u32 element type, u64 count. */
static void put_arr_head(unsigned char *v, uint32_t elem, uint64_t n) {
    memcpy(v, &elem, 4);
    memcpy(v + 4, &n, 8);
}

enum lpq_status lpq_gguf_writer_set_arr(struct lpq_gguf_writer *w, const char *key,
                                        enum lpq_gguf_vtype elem, const void *data, uint64_t n) {
    enum lpq_status st = can_set(w, key);
    if (st) return st;
    uint32_t esz = lpq__gguf_vtype_size(elem);
    uint64_t bytes, total;
    if (!esz) return refuse(w, "%s: key '%s': arrays of %s need set_arr_str or are unsupported", w->path, key, lpq_gguf_vtype_name(elem));
    if (!data && n) return refuse(w, "%s: key '%s': no data", w->path, key);
    if (!lpq_mul_u64(n, esz, &bytes) || !lpq_add_u64(bytes, 12, &total)) {
        return refuse(w, "%s: key '%s': array of %" PRIu64 " elements is too large", w->path, key, n);
    }
    unsigned char *v = alloc_val(w, total);
    if (!v) return LPQ_STATUS_NO_MEMORY;
    put_arr_head(v, elem, n);
    if (bytes) memcpy(v + 12, data, (size_t)bytes);
    return put_kv(w, key, LPQ_GGUF_ARRAY, v, total);
}

enum lpq_status lpq_gguf_writer_set_arr_str(struct lpq_gguf_writer *w, const char *key,
                                            const char *const *strs, const size_t *lens, uint64_t n) {
    enum lpq_status st = can_set(w, key);
    if (st) return st;
    uint64_t total = 12;
    if (!strs && n) return refuse(w, "%s: key '%s': no strings", w->path, key);
    for (uint64_t j = 0; j < n; j++) {
        uint64_t len = lens ? lens[j] : (strs[j] ? strlen(strs[j]) : 0);
        if (!strs[j] && len) return refuse(w, "%s: key '%s': string %" PRIu64 " is NULL", w->path, key, j);
        if (!lpq_add_u64(total, 8, &total) || !lpq_add_u64(total, len, &total)) {
            return refuse(w, "%s: key '%s': array too large", w->path, key);
        }
    }
    unsigned char *v = alloc_val(w, total), *p;
    if (!v) return LPQ_STATUS_NO_MEMORY;
    put_arr_head(v, LPQ_GGUF_STRING, n);
    p = v + 12;
    for (uint64_t j = 0; j < n; j++) {
        uint64_t len = lens ? lens[j] : (strs[j] ? strlen(strs[j]) : 0);
        memcpy(p, &len, 8);
        if (len) memcpy(p + 8, strs[j], (size_t)len);
        p += 8 + len;
    }
    return put_kv(w, key, LPQ_GGUF_ARRAY, v, total);
}

enum lpq_status lpq_gguf_writer_copy_kv(struct lpq_gguf_writer *w, const struct lpq_gguf *src, int64_t i) {
    const char *key = src ? lpq_gguf_kv_key(src, i) : NULL;
    enum lpq_status st = can_set(w, key);
    if (st) return st;
    enum lpq_gguf_vtype type = lpq_gguf_kv_type(src, i);
    if (type == LPQ_GGUF_STRING) {
        size_t len = 0;
        const char *s = lpq_gguf_kv_str(src, i, 0, &len);
        return lpq_gguf_writer_set_strn(w, key, s, len);
    }
    if (type != LPQ_GGUF_ARRAY) return lpq_gguf_writer_set_val(w, key, type, lpq_gguf_kv_data(src, i));

    enum lpq_gguf_vtype elem = lpq_gguf_kv_arr_type(src, i);
    uint64_t n = lpq_gguf_kv_arr_n(src, i);
    if (elem != LPQ_GGUF_STRING) return lpq_gguf_writer_set_arr(w, key, elem, lpq_gguf_kv_data(src, i), n);

    /* Strings may hold NUL bytes, so lengths travel with them. */
    const char **strs = lpq_malloc_array((size_t)n, sizeof(*strs));
    size_t *lens = lpq_malloc_array((size_t)n, sizeof(*lens));
    if (!strs || !lens) {
        st = lpq_err_set(&w->err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", w->path);
        goto done;
    }
    for (uint64_t j = 0; j < n; j++) strs[j] = lpq_gguf_kv_str(src, i, j, &lens[j]);
    st = lpq_gguf_writer_set_arr_str(w, key, strs, lens, n);
done:
    lpq_free(strs);
    lpq_free(lens);
    return st;
}

void lpq_gguf_writer_remove_kv(struct lpq_gguf_writer *w, const char *key) {
    if (!w || !key || w->header_written) return;
    int64_t i = find_kv(w, key);
    if (i < 0) return;
    lpq_free(w->kv[i].key);
    lpq_free(w->kv[i].val);
    memmove(&w->kv[i], &w->kv[i + 1], (size_t)(w->n_kv - i - 1) * sizeof(*w->kv));
    w->n_kv--;
    if (!strcmp(key, "general.alignment")) w->alignment = LPQ_GGUF_DEFAULT_ALIGNMENT;
}

enum lpq_status lpq_gguf_writer_set_alignment(struct lpq_gguf_writer *w, uint32_t alignment) {
    enum lpq_status st = can_set(w, "general.alignment");
    if (st) return st;
    if (alignment == 0 || (alignment & (alignment - 1))) {
        return refuse(w, "%s: alignment %" PRIu32 " is not a nonzero power of two", w->path, alignment);
    }
    if (alignment == LPQ_GGUF_DEFAULT_ALIGNMENT && find_kv(w, "general.alignment") < 0) {
        w->alignment = alignment;
        return LPQ_STATUS_OK;
    }
    return lpq_gguf_writer_set_u32(w, "general.alignment", alignment);
}

/* ---- tensors ----------------------------------------------------------------------- */

enum lpq_status lpq_gguf_writer_add_tensor(struct lpq_gguf_writer *w, const char *name,
                                           uint32_t type, uint32_t n_dims, const int64_t *ne) {
    if (w->failed) return w->failed;
    if (w->header_written) return refuse(w, "%s: tensor '%s': the header is already written", w->path, name ? name : "(null)");
    if (!name) return refuse(w, "%s: tensor without a name", w->path);
    if (n_dims > LPQ_GGUF_MAX_DIMS || (n_dims && !ne)) {
        return refuse(w, "%s: tensor '%s': n_dims %" PRIu32 " (at most %d)", w->path, name, n_dims, LPQ_GGUF_MAX_DIMS);
    }
    const struct lpq_type_traits *tr = lpq_type_traits(type);
    if (!tr) return refuse(w, "%s: tensor '%s': unknown type id %" PRIu32, w->path, name, type);
    struct wtensor t = { .n_dims = n_dims, .ne = { 1, 1, 1, 1 }, .type = type };
    int64_t nel = 1;
    for (uint32_t j = 0; j < n_dims; j++) {
        if (ne[j] <= 0) return refuse(w, "%s: tensor '%s': ne[%" PRIu32 "] = %" PRId64 " is not positive", w->path, name, j, ne[j]);
        if (__builtin_mul_overflow(nel, ne[j], &nel)) return refuse(w, "%s: tensor '%s': element count overflows", w->path, name);
        t.ne[j] = ne[j];
    }
    if (t.ne[0] % tr->blck_size) {
        return refuse(w, "%s: tensor '%s': ne[0] = %" PRId64 " is not a multiple of the %s block size %" PRId64,
                      w->path, name, t.ne[0], tr->name, tr->blck_size);
    }
    uint64_t row = lpq_type_row_size(type, t.ne[0]);
    if (!row || !lpq_mul_u64(row, (uint64_t)(nel / t.ne[0]), &t.size) || t.size > (uint64_t)INT64_MAX) {
        return refuse(w, "%s: tensor '%s': byte size overflows", w->path, name);
    }
    for (int64_t i = 0; i < w->n_t; i++) {
        if (!strcmp(w->t[i].name, name)) return refuse(w, "%s: duplicate tensor name '%s'", w->path, name);
    }
    if (w->n_t == w->cap_t) {
        int64_t cap = w->cap_t ? 2 * w->cap_t : 64;
        struct wtensor *nt = lpq_realloc(w->t, (size_t)cap * sizeof(*nt));
        if (!nt) return lpq_err_set(&w->err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", w->path);
        w->t = nt;
        w->cap_t = cap;
    }
    t.name = lpq_strdup(name);
    if (!t.name) return lpq_err_set(&w->err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", w->path);
    w->t[w->n_t++] = t;
    return LPQ_STATUS_OK;
}

static enum lpq_status write_header(struct lpq_gguf_writer *w) {
    enum lpq_status st;
    uint64_t off = 0;

    /* A file with a non-default alignment must say so, or readers would look in the
     * wrong place for every tensor. */
    if (w->alignment != LPQ_GGUF_DEFAULT_ALIGNMENT && find_kv(w, "general.alignment") < 0) {
        if ((st = lpq_gguf_writer_set_u32(w, "general.alignment", w->alignment))) {
            return die(w, st, "%s: out of memory", w->path);
        }
    }
    for (int64_t i = 0; i < w->n_t; i++) {
        w->t[i].offset = off;
        if (!lpq_add_u64(off, w->t[i].size, &off) || !lpq_add_u64(off, w->alignment - 1, &off)) {
            return die(w, LPQ_STATUS_BAD_ARG, "%s: tensor data exceeds 2^64 bytes", w->path);
        }
        off &= ~(uint64_t)(w->alignment - 1);
    }
    w->header_written = true;
    if ((st = out_u32(w, LPQ_GGUF_MAGIC)) || (st = out_u32(w, 3)) ||
        (st = out_u64(w, (uint64_t)w->n_t)) || (st = out_u64(w, (uint64_t)w->n_kv))) {
        return st;
    }
    for (int64_t i = 0; i < w->n_kv; i++) {
        const struct wkv *kv = &w->kv[i];
        if ((st = out_str(w, kv->key, strlen(kv->key))) || (st = out_u32(w, kv->type)) ||
            (st = out(w, kv->val, kv->val_size))) {
            return st;
        }
    }
    for (int64_t i = 0; i < w->n_t; i++) {
        const struct wtensor *t = &w->t[i];
        if ((st = out_str(w, t->name, strlen(t->name))) || (st = out_u32(w, t->n_dims))) return st;
        for (uint32_t j = 0; j < t->n_dims; j++) {
            if ((st = out_u64(w, (uint64_t)t->ne[j]))) return st;
        }
        if ((st = out_u32(w, t->type)) || (st = out_u64(w, t->offset))) return st;
    }
    /* Data offsets are relative to here. A file without tensors ends with its last kv,
     * as ggml and gguf-py write vocab-only files. */
    if (w->n_t > 0 && (st = pad(w))) return st;
    w->pos = 0;
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_gguf_writer_write_tensor_part(struct lpq_gguf_writer *w, const void *data, uint64_t size) {
    enum lpq_status st;
    if (w->failed) return w->failed;
    if (w->finished) return refuse(w, "%s: already finished", w->path);
    if (!w->header_written && (st = write_header(w))) return st;
    if (w->cur >= w->n_t) {
        return die(w, LPQ_STATUS_BAD_ARG, "%s: data written beyond the %" PRId64 " declared tensors", w->path, w->n_t);
    }
    struct wtensor *t = &w->t[w->cur];
    if (size > t->size - w->cur_done) {
        return die(w, LPQ_STATUS_BAD_ARG, "%s: tensor '%s': %" PRIu64 " bytes given with %" PRIu64
                   " of its %" PRIu64 " already written", w->path, t->name, size, w->cur_done, t->size);
    }
    if (!data && size) return die(w, LPQ_STATUS_BAD_ARG, "%s: tensor '%s': no data", w->path, t->name);
    if (size && (st = out(w, data, size))) return st;
    w->cur_done += size;
    if (w->cur_done == t->size) {
        if ((st = pad(w))) return st;
        w->cur++;
        w->cur_done = 0;
    }
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_gguf_writer_write_tensor(struct lpq_gguf_writer *w, const void *data, uint64_t size) {
    if (w->failed) return w->failed;
    if (w->cur < w->n_t && (w->cur_done != 0 || size != w->t[w->cur].size)) {
        const struct wtensor *t = &w->t[w->cur];
        return die(w, LPQ_STATUS_BAD_ARG, "%s: tensor '%s' is %" PRIu64 " bytes, got %" PRIu64, w->path,
                   t->name, t->size - w->cur_done, size);
    }
    return lpq_gguf_writer_write_tensor_part(w, data, size);
}

enum lpq_status lpq_gguf_writer_finish(struct lpq_gguf_writer *w) {
    enum lpq_status st;
    if (w->failed) return w->failed;
    if (w->finished) return LPQ_STATUS_OK;
    if (!w->header_written && (st = write_header(w))) return st;
    if (w->cur < w->n_t) {
        return die(w, LPQ_STATUS_BAD_ARG, "%s: %" PRId64 " of %" PRId64 " tensors were not written (next: '%s')",
                   w->path, w->n_t - w->cur, w->n_t, w->t[w->cur].name);
    }
    if ((st = flush(w))) return st;
    if (fsync(w->fd) != 0) {
        return die(w, LPQ_STATUS_IO, "%s: cannot sync '%s': %s", w->path, w->tmp_path, strerror(errno));
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0) {
        return die(w, LPQ_STATUS_IO, "%s: cannot close '%s': %s", w->path, w->tmp_path, strerror(errno));
    }
    if (rename(w->tmp_path, w->path) != 0) {
        return die(w, LPQ_STATUS_IO, "%s: cannot rename '%s' into place: %s", w->path, w->tmp_path, strerror(errno));
    }
    w->finished = true;

    /* Make the rename itself durable; a failure here loses nothing already written. */
    char *dir_copy = lpq_strdup(w->path);
    if (dir_copy) {
        int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            if (fsync(dfd) != 0) lpq_log(LPQ_LOG_DEBUG, "%s: directory fsync failed: %s", w->path, strerror(errno));
            close(dfd);
        }
    }
    lpq_free(dir_copy);
    return LPQ_STATUS_OK;
}
