/*
 * gguf.c — the GGUF reader: maps a file read-only (or borrows a caller's buffer), validates
 * the whole header before trusting any of it, and answers typed questions about keys and
 * tensors. Tensor data is never read here, so opening a large model touches only its header.
 * The writer lives in gguf-write.c.
 *
 * Byte layout (little-endian; see gguf.h for the full picture):
 *   0  u32 magic "GGUF"   4  u32 version (2 or 3)   8  u64 n_tensors   16  u64 n_kv
 *   24 n_kv × { u64 len, key bytes, u32 vtype, value }
 *      n_tensors × { u64 len, name bytes, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset }
 *      zero padding to the alignment, then tensor data (offsets relative to its start)
 *
 * Parsing runs twice over the header. Pass 1 checks every field in file order and only
 * counts (records, strings, string bytes), so a hostile header fails before any allocation
 * proportional to its claims. Pass 2 allocates exactly what pass 1 counted and fills it.
 * Whole-file rules (duplicates, data ranges, overlaps) are checked after pass 2.
 * Arrays of arrays are refused, as ggml does: no known writer produces them.
 */
#include "quant/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quant/gguf-impl.h"

static const char *const vtype_names[LPQ_GGUF_VTYPE_COUNT] = {
    [LPQ_GGUF_U8] = "u8",   [LPQ_GGUF_I8] = "i8",     [LPQ_GGUF_U16] = "u16",
    [LPQ_GGUF_I16] = "i16", [LPQ_GGUF_U32] = "u32",   [LPQ_GGUF_I32] = "i32",
    [LPQ_GGUF_F32] = "f32", [LPQ_GGUF_BOOL] = "bool", [LPQ_GGUF_STRING] = "string",
    [LPQ_GGUF_ARRAY] = "array", [LPQ_GGUF_U64] = "u64", [LPQ_GGUF_I64] = "i64",
    [LPQ_GGUF_F64] = "f64",
};

static const uint8_t vtype_sizes[LPQ_GGUF_VTYPE_COUNT] = {
    [LPQ_GGUF_U8] = 1,  [LPQ_GGUF_I8] = 1,  [LPQ_GGUF_U16] = 2, [LPQ_GGUF_I16] = 2,
    [LPQ_GGUF_U32] = 4, [LPQ_GGUF_I32] = 4, [LPQ_GGUF_F32] = 4, [LPQ_GGUF_BOOL] = 1,
    [LPQ_GGUF_U64] = 8, [LPQ_GGUF_I64] = 8, [LPQ_GGUF_F64] = 8,
};

const char *lpq_gguf_vtype_name(enum lpq_gguf_vtype t) {
    if ((unsigned)t >= LPQ_GGUF_VTYPE_COUNT) return "unknown";
    return vtype_names[t];
}

uint32_t lpq__gguf_vtype_size(uint32_t t) {
    return t < LPQ_GGUF_VTYPE_COUNT ? vtype_sizes[t] : 0;
}

struct lpq_gguf_params lpq_gguf_params_default(void) {
    return (struct lpq_gguf_params){ .no_data = false, .allow_v1 = false };
}

/* ---- parsing ---------------------------------------------------------------------- */

struct parser {
    const uint8_t *base;
    uint64_t size;             /* bytes */
    uint64_t pos;              /* bytes from base */
    const char *path;
    struct lpq_err *err;
    struct lpq_gguf *g;        /* NULL in pass 1 (validate and count only) */

    /* What is being parsed, for messages. */
    const char *item;          /* "kv", "tensor" or NULL (fixed header) */
    uint64_t item_idx;
    const uint8_t *item_name;  /* NULL until the record's name has been read */
    uint64_t item_name_len;    /* bytes */

    /* Pass 2 re-reads the same bytes; a file rewritten under the mapping in between must
     * not overrun what pass 1 sized, so pass 2 checks against these capacities. */
    uint64_t arena_cap, strs_cap;  /* bytes; entries */

    /* Results of pass 1. */
    uint64_t n_tensors, n_kv;
    uint64_t n_strs;           /* string values (scalars and array elements) */
    uint64_t str_bytes;        /* bytes of every string incl. keys and names, without NULs */
    uint64_t n_names;          /* keys + tensor names */
    uint32_t alignment;        /* bytes */
    uint64_t header_end;       /* bytes: end of the last tensor info */
};

/* Copies at most 64 bytes of a name from the file, printable ASCII only, for a message. */
static void quote_name(char *out, size_t cap, const uint8_t *s, uint64_t len) {
    size_t n = 0;
    for (uint64_t i = 0; i < len && n + 4 < cap && i < 64; i++) {
        out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
    }
    if (len > 64 && n + 4 < cap) { out[n++] = '.'; out[n++] = '.'; out[n++] = '.'; }
    out[n] = '\0';
}

static enum lpq_status failv(struct parser *p, uint64_t off, const char *fmt, va_list ap) {
    char what[256], item[128] = "";
    vsnprintf(what, sizeof(what), fmt, ap);
    if (p->item && p->item_name) {
        char q[80];
        quote_name(q, sizeof(q), p->item_name, p->item_name_len);
        snprintf(item, sizeof(item), "%s '%s': ", p->item, q);
    } else if (p->item) {
        snprintf(item, sizeof(item), "%s %" PRIu64 ": ", p->item, p->item_idx);
    }
    return lpq_err_set(p->err, LPQ_STATUS_BAD_FILE, "%s: offset %" PRIu64 ": %s%s", p->path, off,
                       item, what);
}

static enum lpq_status fail(struct parser *p, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum lpq_status fail(struct parser *p, uint64_t off, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    enum lpq_status st = failv(p, off, fmt, ap);
    va_end(ap);
    return st;
}

static uint64_t left(const struct parser *p) { return p->size - p->pos; }

/* Makes sure `n` bytes of `field` follow; does not move. */
static enum lpq_status need(struct parser *p, uint64_t n, const char *field) {
    if (left(p) < n) {
        return fail(p, p->pos, "truncated: %s needs %" PRIu64 " bytes, %" PRIu64 " left", field, n,
                    left(p));
    }
    return LPQ_STATUS_OK;
}

static enum lpq_status rd_u32(struct parser *p, uint32_t *v, const char *field) {
    enum lpq_status st = need(p, 4, field);
    if (st) return st;
    memcpy(v, p->base + p->pos, 4);   /* little-endian host assumed (x86-64, aarch64) */
    p->pos += 4;
    return LPQ_STATUS_OK;
}

static enum lpq_status rd_u64(struct parser *p, uint64_t *v, const char *field) {
    enum lpq_status st = need(p, 8, field);
    if (st) return st;
    memcpy(v, p->base + p->pos, 8);
    p->pos += 8;
    return LPQ_STATUS_OK;
}

/* A string: u64 length then bytes. Fails at the length field when the bytes don't fit. */
static enum lpq_status rd_str(struct parser *p, const uint8_t **s, uint64_t *len, const char *field) {
    uint64_t off = p->pos, n;
    enum lpq_status st = rd_u64(p, &n, field);
    if (st) return st;
    if (n > left(p)) {
        return fail(p, off, "%s length %" PRIu64 " exceeds the %" PRIu64 " bytes left", field, n,
                    left(p));
    }
    if (p->g && p->str_bytes + n + p->n_strs + p->n_names + 1 > p->arena_cap) {
        return fail(p, off, "file changed while being read");
    }
    *s = p->base + p->pos;
    *len = n;
    p->pos += n;
    p->str_bytes += n;
    return LPQ_STATUS_OK;
}

/* Copies a string into the arena (pass 2 only) and returns the copy. */
static char *arena_put(char **arena, const uint8_t *s, uint64_t len) {
    char *dst = *arena;
    if (len) memcpy(dst, s, (size_t)len);
    dst[len] = '\0';
    *arena += len + 1;
    return dst;
}

static bool name_is(const uint8_t *s, uint64_t len, const char *lit) {
    size_t n = strlen(lit);
    return len == n && memcmp(s, lit, n) == 0;
}

/* Parses one value of type `type` (already known to be valid) at p->pos. */
static enum lpq_status parse_value(struct parser *p, uint32_t type, struct lpq__gguf_kv *kv,
                                   char **arena) {
    enum lpq_status st;
    if (type == LPQ_GGUF_STRING) {
        const uint8_t *s;
        uint64_t len;
        if ((st = rd_str(p, &s, &len, "string value"))) return st;
        if (kv && p->n_strs >= p->strs_cap) return fail(p, p->pos, "file changed while being read");
        if (kv) {
            kv->str0 = p->n_strs;
            p->g->strs[p->n_strs] = (struct lpq__gguf_str){ arena_put(arena, s, len), len };
        }
        p->n_strs++;
        return LPQ_STATUS_OK;
    }
    if (type != LPQ_GGUF_ARRAY) {
        uint32_t sz = vtype_sizes[type];
        if ((st = need(p, sz, "value"))) return st;
        if (kv) kv->raw = p->base + p->pos;
        p->pos += sz;
        return LPQ_STATUS_OK;
    }

    uint64_t etype_off = p->pos, n_off, n;
    uint32_t etype;
    if ((st = rd_u32(p, &etype, "array element type"))) return st;
    if (etype == LPQ_GGUF_ARRAY) return fail(p, etype_off, "arrays of arrays are not supported");
    if (etype >= LPQ_GGUF_VTYPE_COUNT) return fail(p, etype_off, "unknown array element type %" PRIu32, etype);
    n_off = p->pos;
    if ((st = rd_u64(p, &n, "array count"))) return st;
    if (kv) {
        kv->arr_type = etype;
        kv->arr_n = n;
        kv->raw = p->base + p->pos;
    }
    if (etype != LPQ_GGUF_STRING) {
        uint32_t esz = vtype_sizes[etype];
        if (n > left(p) / esz) {
            return fail(p, n_off, "array of %" PRIu64 " %s needs more than the %" PRIu64 " bytes left", n,
                        vtype_names[etype], left(p));
        }
        p->pos += n * esz;
        return LPQ_STATUS_OK;
    }
    if (n > left(p) / LPQ__GGUF_STRING_MIN) {
        return fail(p, n_off, "array of %" PRIu64 " strings needs more than the %" PRIu64 " bytes left", n,
                    left(p));
    }
    if (kv) kv->str0 = p->n_strs;
    for (uint64_t j = 0; j < n; j++) {
        const uint8_t *s;
        uint64_t len;
        if ((st = rd_str(p, &s, &len, "string element"))) return st;
        if (kv && p->n_strs >= p->strs_cap) return fail(p, p->pos, "file changed while being read");
        if (kv) p->g->strs[p->n_strs] = (struct lpq__gguf_str){ arena_put(arena, s, len), len };
        p->n_strs++;
    }
    return LPQ_STATUS_OK;
}

static enum lpq_status parse_kvs(struct parser *p, char **arena) {
    enum lpq_status st;
    for (uint64_t i = 0; i < p->n_kv; i++) {
        struct lpq__gguf_kv *kv = p->g ? &p->g->kv[i] : NULL;
        uint64_t key_off = p->pos, type_off, val_off;
        const uint8_t *key;
        uint64_t key_len;
        uint32_t type;

        p->item = "kv";
        p->item_idx = i;
        p->item_name = NULL;
        if ((st = rd_str(p, &key, &key_len, "key"))) return st;
        p->item_name = key;
        p->item_name_len = key_len;
        p->n_names++;
        /* Keys are C strings in the whole API; an embedded NUL would silently cut them. */
        if (key_len && memchr(key, 0, (size_t)key_len)) return fail(p, key_off, "key contains a NUL byte");
        type_off = p->pos;
        if ((st = rd_u32(p, &type, "value type"))) return st;
        if (type >= LPQ_GGUF_VTYPE_COUNT) return fail(p, type_off, "unknown value type %" PRIu32, type);
        if (kv) {
            *kv = (struct lpq__gguf_kv){ .key = arena_put(arena, key, key_len), .key_len = key_len,
                                         .file_offset = key_off, .type = type,
                                         .arr_type = LPQ_GGUF_VTYPE_COUNT };
        }
        val_off = p->pos;
        if ((st = parse_value(p, type, kv, arena))) return st;

        /* The alignment decides where tensor data may start, so it is checked here, before
         * any tensor info is read. */
        if (name_is(key, key_len, "general.alignment")) {
            uint32_t a;
            if (type != LPQ_GGUF_U32) {
                return fail(p, type_off, "type %s, expected u32", lpq_gguf_vtype_name(type));
            }
            memcpy(&a, p->base + val_off, 4);
            if (a == 0 || (a & (a - 1))) {
                return fail(p, val_off, "alignment %" PRIu32 " is not a nonzero power of two", a);
            }
            p->alignment = a;
        }
    }
    return LPQ_STATUS_OK;
}

static enum lpq_status parse_tensors(struct parser *p, char **arena) {
    enum lpq_status st;
    for (uint64_t i = 0; i < p->n_tensors; i++) {
        struct lpq__gguf_tinfo *t = p->g ? &p->g->tensors[i] : NULL;
        uint64_t info_off = p->pos, ndims_off, type_off, ne0_off, off_off, offset;
        const uint8_t *name;
        uint64_t name_len;
        uint32_t n_dims, type;
        int64_t ne[LPQ_GGUF_MAX_DIMS] = { 1, 1, 1, 1 }, nel = 1;

        p->item = "tensor";
        p->item_idx = i;
        p->item_name = NULL;
        if ((st = rd_str(p, &name, &name_len, "tensor name"))) return st;
        p->item_name = name;
        p->item_name_len = name_len;
        p->n_names++;
        if (name_len && memchr(name, 0, (size_t)name_len)) return fail(p, info_off, "name contains a NUL byte");
        ndims_off = p->pos;
        if ((st = rd_u32(p, &n_dims, "n_dims"))) return st;
        if (n_dims > LPQ_GGUF_MAX_DIMS) {
            return fail(p, ndims_off, "n_dims %" PRIu32 " exceeds %d", n_dims, LPQ_GGUF_MAX_DIMS);
        }
        ne0_off = p->pos;
        for (uint32_t j = 0; j < n_dims; j++) {
            uint64_t dim_off = p->pos, d;
            if ((st = rd_u64(p, &d, "dimension"))) return st;
            if (d == 0 || d > (uint64_t)INT64_MAX) {
                return fail(p, dim_off, "ne[%" PRIu32 "] = %" PRId64 " is not a positive dimension", j,
                            (int64_t)d);
            }
            ne[j] = (int64_t)d;
            if (__builtin_mul_overflow(nel, ne[j], &nel)) {
                return fail(p, dim_off, "ne[%" PRIu32 "] = %" PRId64 " makes the element count overflow int64",
                            j, ne[j]);
            }
        }
        type_off = p->pos;
        if ((st = rd_u32(p, &type, "tensor type"))) return st;
        const struct lpq_type_traits *tr = lpq_type_traits(type);
        if (!tr || tr->blck_size <= 0 || tr->type_size == 0) {
            return fail(p, type_off, "unknown tensor type id %" PRIu32, type);
        }
        if (n_dims == 0) ne0_off = type_off;
        if (ne[0] % tr->blck_size) {
            return fail(p, ne0_off, "ne[0] = %" PRId64 " is not a multiple of the %s block size %" PRId64,
                        ne[0], tr->name, tr->blck_size);
        }
        /* Bytes = ne0/blck × type_size × (rows); checked before lpq_type_row_size is trusted. */
        uint64_t row, size;
        if (!lpq_mul_u64((uint64_t)(ne[0] / tr->blck_size), tr->type_size, &row) ||
            !lpq_mul_u64(row, (uint64_t)(nel / ne[0]), &size) || size > (uint64_t)INT64_MAX) {
            return fail(p, type_off, "byte size of %" PRId64 " %s elements overflows", nel, tr->name);
        }
        if ((uint64_t)lpq_type_row_size(type, ne[0]) != row) {
            return fail(p, type_off, "no row size for %" PRId64 " %s elements", ne[0], tr->name);
        }
        off_off = p->pos;
        if ((st = rd_u64(p, &offset, "tensor data offset"))) return st;
        if (offset % p->alignment) {
            return fail(p, off_off, "data offset %" PRIu64 " is not a multiple of the alignment %" PRIu32,
                        offset, p->alignment);
        }
        if (t) {
            *t = (struct lpq__gguf_tinfo){
                .pub = { .name = arena_put(arena, name, name_len), .n_dims = n_dims, .type = type,
                         .offset = offset, .size = size },
                .name_len = name_len, .info_offset = info_off, .offset_field = off_off };
            memcpy(t->pub.ne, ne, sizeof(ne));
        }
    }
    return LPQ_STATUS_OK;
}

static enum lpq_status parse(struct parser *p, char **arena) {
    enum lpq_status st;
    uint32_t magic, version;

    p->pos = 0;
    p->item = NULL;
    p->n_strs = p->str_bytes = p->n_names = 0;
    p->alignment = LPQ_GGUF_DEFAULT_ALIGNMENT;
    if ((st = rd_u32(p, &magic, "magic"))) return st;
    if (magic != LPQ_GGUF_MAGIC) {
        char q[16];
        quote_name(q, sizeof(q), p->base, 4);
        return fail(p, 0, "bad magic '%s' (0x%08" PRIx32 "), not a GGUF file", q, magic);
    }
    if ((st = rd_u32(p, &version, "version"))) return st;
    if (version == 1) return fail(p, 4, "version 1 is not supported (only 2 and 3)");
    if (version == 0x02000000u || version == 0x03000000u) {
        return fail(p, 4, "big-endian GGUF is not supported");
    }
    if (version != 2 && version != 3) {
        return fail(p, 4, "version %" PRIu32 " is not supported (only 2 and 3)", version);
    }
    if (p->g) p->g->version = version;
    if ((st = rd_u64(p, &p->n_tensors, "n_tensors"))) return st;
    if ((st = rd_u64(p, &p->n_kv, "n_kv"))) return st;
    if (p->g && (p->n_tensors != (uint64_t)p->g->n_tensors || p->n_kv != (uint64_t)p->g->n_kv)) {
        return fail(p, 8, "file changed while being read");
    }

    /* Bound both counts by the bytes that follow before anything is sized from them. */
    uint64_t rest = left(p);
    if (p->n_tensors > rest / LPQ__GGUF_TENSOR_MIN) {
        return fail(p, 8, "n_tensors %" PRIu64 " cannot fit: each tensor info needs at least %u bytes "
                    "and only %" PRIu64 " bytes follow", p->n_tensors, LPQ__GGUF_TENSOR_MIN, rest);
    }
    rest -= p->n_tensors * LPQ__GGUF_TENSOR_MIN;
    if (p->n_kv > rest / LPQ__GGUF_KV_MIN) {
        return fail(p, 16, "n_kv %" PRIu64 " cannot fit: each kv needs at least %u bytes and only %"
                    PRIu64 " bytes remain for them", p->n_kv, LPQ__GGUF_KV_MIN, rest);
    }
    if ((st = parse_kvs(p, arena))) return st;
    if ((st = parse_tensors(p, arena))) return st;
    p->item = NULL;
    p->header_end = p->pos;
    return LPQ_STATUS_OK;
}

/* ---- whole-file checks ------------------------------------------------------------- */

static int cmp_name(const void *a, const void *b) {
    const struct lpq__gguf_nameref *x = a, *y = b;
    uint64_t n = LPQ_MIN(x->len, y->len);
    int c = n ? memcmp(x->s, y->s, (size_t)n) : 0;
    if (c) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* `r` is sorted by name, then index. Returns the index of the earliest-placed second
 * occurrence of any name (its first occurrence in *first), or -1 when all are unique. */
static int64_t find_duplicate(const struct lpq__gguf_nameref *r, int64_t n, int64_t *first) {
    int64_t dup = -1, run = 0;   /* run: where the current run of equal names starts */
    for (int64_t i = 1; i < n; i++) {
        if (r[i].len != r[run].len || memcmp(r[i].s, r[run].s, (size_t)r[i].len)) {
            run = i;
            continue;
        }
        if (dup < 0 || r[i].idx < dup) {
            dup = r[i].idx;
            *first = r[run].idx;
        }
    }
    return dup;
}

struct span {
    uint64_t start, end;   /* bytes, relative to the data section */
    int64_t idx;
};

static int cmp_span(const void *a, const void *b) {
    const struct span *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static enum lpq_status check_file(struct parser *p, struct lpq_gguf *g) {
    enum lpq_status st = LPQ_STATUS_OK;
    struct span *spans = NULL;
    int64_t first = -1, dup;

    dup = find_duplicate(g->kv_sorted, g->n_kv, &first);
    if (dup >= 0) {
        const struct lpq__gguf_kv *kv = &g->kv[dup];
        p->item = "kv";
        p->item_name = (const uint8_t *)kv->key;
        p->item_name_len = kv->key_len;
        return fail(p, kv->file_offset, "duplicate key (first at offset %" PRIu64 ")",
                    g->kv[first].file_offset);
    }
    p->item = "tensor";
    dup = find_duplicate(g->t_sorted, g->n_tensors, &first);
    if (dup >= 0) {
        const struct lpq__gguf_tinfo *t = &g->tensors[dup];
        p->item_name = (const uint8_t *)t->pub.name;
        p->item_name_len = t->name_len;
        return fail(p, t->info_offset, "duplicate tensor name (first at offset %" PRIu64 ")",
                    g->tensors[first].info_offset);
    }

    if (g->n_tensors == 0) return LPQ_STATUS_OK;
    spans = lpq_malloc_array((size_t)g->n_tensors, sizeof(*spans));
    if (!spans) return lpq_err_set(p->err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", p->path);
    for (int64_t i = 0; i < g->n_tensors; i++) {
        struct lpq__gguf_tinfo *t = &g->tensors[i];
        uint64_t abs_start, abs_end, rel_end;
        p->item_name = (const uint8_t *)t->pub.name;
        p->item_name_len = t->name_len;
        if (!lpq_add_u64(t->pub.offset, t->pub.size, &rel_end) ||
            !lpq_add_u64(g->data_offset, t->pub.offset, &abs_start) ||
            !lpq_add_u64(abs_start, t->pub.size, &abs_end)) {
            st = fail(p, t->offset_field, "data offset %" PRIu64 " + size %" PRIu64 " overflows",
                      t->pub.offset, t->pub.size);
            goto done;
        }
        if (!g->no_data && abs_end > g->size) {
            st = fail(p, t->offset_field, "data [%" PRIu64 ", %" PRIu64 ") extends past end of file "
                      "(size %" PRIu64 ")", abs_start, abs_end, g->size);
            goto done;
        }
        t->pub.file_offset = abs_start;
        t->pub.data = g->no_data ? NULL : g->base + abs_start;
        spans[i] = (struct span){ t->pub.offset, rel_end, i };
    }
    qsort(spans, (size_t)g->n_tensors, sizeof(*spans), cmp_span);
    for (int64_t i = 1; i < g->n_tensors; i++) {
        if (spans[i].start < spans[i - 1].end) {
            const struct lpq__gguf_tinfo *t = &g->tensors[spans[i].idx];
            const struct lpq__gguf_tinfo *o = &g->tensors[spans[i - 1].idx];
            char q[80];
            quote_name(q, sizeof(q), (const uint8_t *)o->pub.name, o->name_len);
            p->item_name = (const uint8_t *)t->pub.name;
            p->item_name_len = t->name_len;
            st = fail(p, t->offset_field, "data [%" PRIu64 ", %" PRIu64 ") overlaps tensor '%s' [%"
                      PRIu64 ", %" PRIu64 ")", spans[i].start, spans[i].end, q, spans[i - 1].start,
                      spans[i - 1].end);
            goto done;
        }
    }
done:
    lpq_free(spans);
    return st;
}

/* ---- open / close ------------------------------------------------------------------ */

static enum lpq_status open_buf(const uint8_t *buf, uint64_t size, const char *path,
                                const struct lpq_gguf_params *params, struct lpq_gguf **out,
                                struct lpq_err *err) {
    struct lpq_gguf_params prm = params ? *params : lpq_gguf_params_default();
    struct parser p = { .base = buf, .size = size, .path = path, .err = err };
    struct lpq_gguf *g = NULL;
    char *arena = NULL;
    enum lpq_status st;

    if ((st = parse(&p, NULL))) goto done;

    /* Every count below was bounded by the file size in pass 1. */
    st = LPQ_STATUS_NO_MEMORY;
    g = lpq_calloc(1, sizeof(*g));
    if (!g) goto nomem;
    g->path = lpq_strdup(path);
    g->base = buf;
    g->size = size;
    g->no_data = prm.no_data;
    g->n_kv = (int64_t)p.n_kv;
    g->n_tensors = (int64_t)p.n_tensors;
    g->n_strs = p.n_strs;
    g->kv = lpq_calloc((size_t)p.n_kv, sizeof(*g->kv));
    g->kv_sorted = lpq_calloc((size_t)p.n_kv, sizeof(*g->kv_sorted));
    g->tensors = lpq_calloc((size_t)p.n_tensors, sizeof(*g->tensors));
    g->t_sorted = lpq_calloc((size_t)p.n_tensors, sizeof(*g->t_sorted));
    g->strs = lpq_calloc((size_t)p.n_strs, sizeof(*g->strs));
    g->arena = lpq_malloc((size_t)(p.str_bytes + p.n_strs + p.n_names));
    if (!g->path || !g->kv || !g->kv_sorted || !g->tensors || !g->t_sorted || !g->strs || !g->arena) {
        goto nomem;
    }

    p.arena_cap = p.str_bytes + p.n_strs + p.n_names;
    p.strs_cap = p.n_strs;
    p.g = g;
    arena = g->arena;
    if ((st = parse(&p, &arena))) goto done;
    g->alignment = p.alignment;
    if (!lpq_add_u64(p.header_end, p.alignment - 1, &g->data_offset)) {
        st = fail(&p, p.header_end, "header end overflows");
        goto done;
    }
    g->data_offset &= ~(uint64_t)(p.alignment - 1);

    for (int64_t i = 0; i < g->n_kv; i++) {
        g->kv_sorted[i] = (struct lpq__gguf_nameref){ g->kv[i].key, g->kv[i].key_len, i };
    }
    qsort(g->kv_sorted, (size_t)g->n_kv, sizeof(*g->kv_sorted), cmp_name);
    for (int64_t i = 0; i < g->n_tensors; i++) {
        g->t_sorted[i] = (struct lpq__gguf_nameref){ g->tensors[i].pub.name, g->tensors[i].name_len, i };
    }
    qsort(g->t_sorted, (size_t)g->n_tensors, sizeof(*g->t_sorted), cmp_name);
    if ((st = check_file(&p, g))) goto done;

    lpq_err_clear(&g->err);
    *out = g;
    g = NULL;
    st = LPQ_STATUS_OK;
    goto done;
nomem:
    lpq_err_set(err, st, "%s: out of memory for the header", path);
done:
    lpq_gguf_close(g);
    return st;
}

enum lpq_status lpq_gguf_open_mem(const void *buf, size_t size, const struct lpq_gguf_params *params,
                                  struct lpq_gguf **out, struct lpq_err *err) {
    if (!out || (!buf && size)) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "<memory>: no buffer");
    return open_buf(buf, size, "<memory>", params, out, err);
}

enum lpq_status lpq_gguf_open(const char *path, const struct lpq_gguf_params *params,
                              struct lpq_gguf **out, struct lpq_err *err) {
    struct stat sb;
    void *map = NULL;
    uint64_t size;
    enum lpq_status st;
    int fd;

    if (!path || !out) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "lpq_gguf_open: no path");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lpq_err_set(err, LPQ_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        st = lpq_err_set(err, LPQ_STATUS_IO, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return lpq_err_set(err, LPQ_STATUS_IO, "%s: not a regular file", path);
    }
    size = (uint64_t)sb.st_size;
    if (size > 0) {
        /* Read-only private mapping: pages of tensor data are only faulted in when used. */
        map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            st = lpq_err_set(err, LPQ_STATUS_IO, "%s: cannot map %" PRIu64 " bytes: %s", path, size,
                             strerror(errno));
            close(fd);
            return st;
        }
    }
    close(fd);
    st = open_buf(map, size, path, params, out, err);
    if (st) {
        if (map) munmap(map, (size_t)size);
        return st;
    }
    (*out)->map = map;
    return LPQ_STATUS_OK;
}

void lpq_gguf_close(struct lpq_gguf *g) {
    if (!g) return;
    if (g->map) munmap(g->map, (size_t)g->size);
    lpq_free(g->path);
    lpq_free(g->kv);
    lpq_free(g->kv_sorted);
    lpq_free(g->tensors);
    lpq_free(g->t_sorted);
    lpq_free(g->strs);
    lpq_free(g->arena);
    lpq_free(g);
}

/* ---- plain accessors --------------------------------------------------------------- */

const char *lpq_gguf_errmsg(const struct lpq_gguf *g) { return g ? g->err.msg : ""; }
const char *lpq_gguf_path(const struct lpq_gguf *g) { return g->path; }
uint32_t lpq_gguf_version(const struct lpq_gguf *g) { return g->version; }
uint32_t lpq_gguf_alignment(const struct lpq_gguf *g) { return g->alignment; }
uint64_t lpq_gguf_file_size(const struct lpq_gguf *g) { return g->size; }
uint64_t lpq_gguf_data_offset(const struct lpq_gguf *g) { return g->data_offset; }
int64_t lpq_gguf_n_kv(const struct lpq_gguf *g) { return g->n_kv; }
int64_t lpq_gguf_n_tensors(const struct lpq_gguf *g) { return g->n_tensors; }

static int64_t find_sorted(const struct lpq__gguf_nameref *r, int64_t n, const char *name) {
    if (!name) return -1;
    struct lpq__gguf_nameref key = { name, strlen(name), -1 };
    int64_t lo = 0, hi = n;
    /* Lower bound; idx -1 sorts before any real entry with the same name. */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (cmp_name(&r[mid], &key) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo < n && r[lo].len == key.len && !memcmp(r[lo].s, name, (size_t)key.len)) return r[lo].idx;
    return -1;
}

int64_t lpq_gguf_find_key(const struct lpq_gguf *g, const char *key) {
    return find_sorted(g->kv_sorted, g->n_kv, key);
}

int64_t lpq_gguf_find_tensor(const struct lpq_gguf *g, const char *name) {
    return find_sorted(g->t_sorted, g->n_tensors, name);
}

const char *lpq_gguf_kv_key(const struct lpq_gguf *g, int64_t i) {
    return (i >= 0 && i < g->n_kv) ? g->kv[i].key : NULL;
}

enum lpq_gguf_vtype lpq_gguf_kv_type(const struct lpq_gguf *g, int64_t i) {
    return (i >= 0 && i < g->n_kv) ? (enum lpq_gguf_vtype)g->kv[i].type : LPQ_GGUF_VTYPE_COUNT;
}

enum lpq_gguf_vtype lpq_gguf_kv_arr_type(const struct lpq_gguf *g, int64_t i) {
    return (i >= 0 && i < g->n_kv) ? (enum lpq_gguf_vtype)g->kv[i].arr_type : LPQ_GGUF_VTYPE_COUNT;
}

uint64_t lpq_gguf_kv_arr_n(const struct lpq_gguf *g, int64_t i) {
    return (i >= 0 && i < g->n_kv) ? g->kv[i].arr_n : 0;
}

/* Fixed-size scalar: the value in the buffer. String: the NUL-terminated copy. Array of a
 * fixed-size type: the first element in the buffer. Array of strings: NULL (use kv_str). */
const void *lpq_gguf_kv_data(const struct lpq_gguf *g, int64_t i) {
    if (i < 0 || i >= g->n_kv) return NULL;
    const struct lpq__gguf_kv *kv = &g->kv[i];
    if (kv->type == LPQ_GGUF_STRING) return g->strs[kv->str0].s;
    if (kv->type == LPQ_GGUF_ARRAY && kv->arr_type == LPQ_GGUF_STRING) return NULL;
    return kv->raw;
}

/* j is ignored for a scalar string. NULL when kv i is not a string or j is out of range. */
const char *lpq_gguf_kv_str(const struct lpq_gguf *g, int64_t i, uint64_t j, size_t *len) {
    if (i < 0 || i >= g->n_kv) return NULL;
    const struct lpq__gguf_kv *kv = &g->kv[i];
    const struct lpq__gguf_str *s;
    if (kv->type == LPQ_GGUF_STRING) s = &g->strs[kv->str0];
    else if (kv->type == LPQ_GGUF_ARRAY && kv->arr_type == LPQ_GGUF_STRING && j < kv->arr_n) s = &g->strs[kv->str0 + j];
    else return NULL;
    if (len) *len = (size_t)s->len;
    return s->s;
}

const struct lpq_gguf_tensor *lpq_gguf_tensor(const struct lpq_gguf *g, int64_t i) {
    return (i >= 0 && i < g->n_tensors) ? &g->tensors[i].pub : NULL;
}

int64_t lpq_gguf_tensor_nelements(const struct lpq_gguf_tensor *t) {
    /* The product was checked against int64 overflow when the file was opened. */
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

/* ---- typed accessors --------------------------------------------------------------- */

static void describe(char *out, size_t cap, uint32_t type, uint32_t arr_type) {
    if (type == LPQ_GGUF_ARRAY) snprintf(out, cap, "array of %s", lpq_gguf_vtype_name(arr_type));
    else snprintf(out, cap, "%s", lpq_gguf_vtype_name(type));
}

/* The kv for `key`, or NULL with NOT_FOUND recorded on the handle. */
static const struct lpq__gguf_kv *lookup(struct lpq_gguf *g, const char *key, enum lpq_status *st) {
    int64_t i = lpq_gguf_find_key(g, key);
    if (i < 0) {
        *st = lpq_err_set(&g->err, LPQ_STATUS_NOT_FOUND, "%s: key '%s' not found", g->path,
                          key ? key : "(null)");
        return NULL;
    }
    *st = LPQ_STATUS_OK;
    return &g->kv[i];
}

static enum lpq_status mismatch(struct lpq_gguf *g, const struct lpq__gguf_kv *kv, const char *want) {
    char have[48];
    describe(have, sizeof(have), kv->type, kv->arr_type);
    return lpq_err_set(&g->err, LPQ_STATUS_TYPE_MISMATCH, "%s: key '%s' has type %s, not %s", g->path,
                       kv->key, have, want);
}

static enum lpq_status get_fixed(struct lpq_gguf *g, const char *key, enum lpq_gguf_vtype want, void *out) {
    enum lpq_status st;
    const struct lpq__gguf_kv *kv = lookup(g, key, &st);
    if (!kv) return st;
    if (kv->type != (uint32_t)want) return mismatch(g, kv, lpq_gguf_vtype_name(want));
    memcpy(out, kv->raw, vtype_sizes[want]);
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_gguf_get_u8(struct lpq_gguf *g, const char *key, uint8_t *out) { return get_fixed(g, key, LPQ_GGUF_U8, out); }
enum lpq_status lpq_gguf_get_i8(struct lpq_gguf *g, const char *key, int8_t *out) { return get_fixed(g, key, LPQ_GGUF_I8, out); }
enum lpq_status lpq_gguf_get_u16(struct lpq_gguf *g, const char *key, uint16_t *out) { return get_fixed(g, key, LPQ_GGUF_U16, out); }
enum lpq_status lpq_gguf_get_i16(struct lpq_gguf *g, const char *key, int16_t *out) { return get_fixed(g, key, LPQ_GGUF_I16, out); }
enum lpq_status lpq_gguf_get_u32(struct lpq_gguf *g, const char *key, uint32_t *out) { return get_fixed(g, key, LPQ_GGUF_U32, out); }
enum lpq_status lpq_gguf_get_i32(struct lpq_gguf *g, const char *key, int32_t *out) { return get_fixed(g, key, LPQ_GGUF_I32, out); }
enum lpq_status lpq_gguf_get_u64(struct lpq_gguf *g, const char *key, uint64_t *out) { return get_fixed(g, key, LPQ_GGUF_U64, out); }
enum lpq_status lpq_gguf_get_i64(struct lpq_gguf *g, const char *key, int64_t *out) { return get_fixed(g, key, LPQ_GGUF_I64, out); }
enum lpq_status lpq_gguf_get_f32(struct lpq_gguf *g, const char *key, float *out) { return get_fixed(g, key, LPQ_GGUF_F32, out); }
enum lpq_status lpq_gguf_get_f64(struct lpq_gguf *g, const char *key, double *out) { return get_fixed(g, key, LPQ_GGUF_F64, out); }

enum lpq_status lpq_gguf_get_bool(struct lpq_gguf *g, const char *key, bool *out) {
    uint8_t b = 0;
    enum lpq_status st = get_fixed(g, key, LPQ_GGUF_BOOL, &b);
    if (!st) *out = b != 0;
    return st;
}

enum lpq_status lpq_gguf_get_int(struct lpq_gguf *g, const char *key, int64_t *out) {
    enum lpq_status st;
    const struct lpq__gguf_kv *kv = lookup(g, key, &st);
    if (!kv) return st;
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
            uint64_t u64; int64_t i64; } v;
    if (kv->type < LPQ_GGUF_VTYPE_COUNT && vtype_sizes[kv->type]) memcpy(&v, kv->raw, vtype_sizes[kv->type]);
    switch (kv->type) {
    case LPQ_GGUF_U8: *out = v.u8; break;
    case LPQ_GGUF_I8: *out = v.i8; break;
    case LPQ_GGUF_U16: *out = v.u16; break;
    case LPQ_GGUF_I16: *out = v.i16; break;
    case LPQ_GGUF_U32: *out = v.u32; break;
    case LPQ_GGUF_I32: *out = v.i32; break;
    case LPQ_GGUF_I64: *out = v.i64; break;
    case LPQ_GGUF_U64:
        if (v.u64 > (uint64_t)INT64_MAX) {
            return lpq_err_set(&g->err, LPQ_STATUS_RANGE, "%s: key '%s' = %" PRIu64 " exceeds int64",
                               g->path, kv->key, v.u64);
        }
        *out = (int64_t)v.u64;
        break;
    default: return mismatch(g, kv, "an integer type");
    }
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_gguf_get_float(struct lpq_gguf *g, const char *key, double *out) {
    enum lpq_status st;
    const struct lpq__gguf_kv *kv = lookup(g, key, &st);
    if (!kv) return st;
    if (kv->type == LPQ_GGUF_F32) {
        float f;
        memcpy(&f, kv->raw, 4);
        *out = f;
    } else if (kv->type == LPQ_GGUF_F64) {
        memcpy(out, kv->raw, 8);
    } else {
        return mismatch(g, kv, "f32 or f64");
    }
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_gguf_get_str(struct lpq_gguf *g, const char *key, const char **out, size_t *len) {
    enum lpq_status st;
    const struct lpq__gguf_kv *kv = lookup(g, key, &st);
    if (!kv) return st;
    if (kv->type != LPQ_GGUF_STRING) return mismatch(g, kv, "string");
    *out = g->strs[kv->str0].s;
    if (len) *len = (size_t)g->strs[kv->str0].len;
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_gguf_get_arr(struct lpq_gguf *g, const char *key, enum lpq_gguf_vtype elem,
                                 const void **data, uint64_t *n) {
    enum lpq_status st;
    const struct lpq__gguf_kv *kv = lookup(g, key, &st);
    if (!kv) return st;
    if (kv->type != LPQ_GGUF_ARRAY || kv->arr_type != (uint32_t)elem || elem == LPQ_GGUF_STRING) {
        char want[48];
        describe(want, sizeof(want), LPQ_GGUF_ARRAY, elem);
        return mismatch(g, kv, want);
    }
    *data = kv->raw;
    *n = kv->arr_n;
    return LPQ_STATUS_OK;
}

static const struct lpq__gguf_kv *lookup_str_arr(struct lpq_gguf *g, const char *key, enum lpq_status *st) {
    const struct lpq__gguf_kv *kv = lookup(g, key, st);
    if (kv && (kv->type != LPQ_GGUF_ARRAY || kv->arr_type != LPQ_GGUF_STRING)) {
        *st = mismatch(g, kv, "array of string");
        return NULL;
    }
    return kv;
}

enum lpq_status lpq_gguf_get_arr_str(struct lpq_gguf *g, const char *key, uint64_t idx,
                                     const char **out, size_t *len) {
    enum lpq_status st;
    const struct lpq__gguf_kv *kv = lookup_str_arr(g, key, &st);
    if (!kv) return st;
    if (idx >= kv->arr_n) {
        return lpq_err_set(&g->err, LPQ_STATUS_RANGE, "%s: key '%s': index %" PRIu64
                           " out of range (%" PRIu64 " strings)", g->path, kv->key, idx, kv->arr_n);
    }
    *out = g->strs[kv->str0 + idx].s;
    if (len) *len = (size_t)g->strs[kv->str0 + idx].len;
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_gguf_get_arr_str_n(struct lpq_gguf *g, const char *key, uint64_t *n) {
    enum lpq_status st;
    const struct lpq__gguf_kv *kv = lookup_str_arr(g, key, &st);
    if (!kv) return st;
    *n = kv->arr_n;
    return LPQ_STATUS_OK;
}
