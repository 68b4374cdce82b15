/*
 * gguf.h — read and write GGUF files (versions 2 and 3).
 *
 * File layout (little-endian):
 *   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv  × { string key | u32 value_type | value }
 *   n_tensors × { string name | u32 n_dims (<= 4) | u64 ne[n_dims] | u32 type | u64 offset }
 *   padding to general.alignment (default 32)
 *   tensor data; tensor i at data_start + offset_i (offset a multiple of the alignment)
 *   string = u64 length + bytes; array = u32 elem_type + u64 count + elements
 *
 * The reader maps the file read-only and validates everything before use: every count,
 * length, offset and dimension is checked against the file size with overflow-safe
 * arithmetic, so a hostile header fails before anything large is allocated. Every
 * refusal is LPQ_STATUS_BAD_FILE with a one-line message naming the byte offset and the
 * key or tensor concerned.
 *
 * Messages read "<path>: offset <n>: [kv|tensor '<name>': ]<what>" ("<memory>" for buffers).
 * Also refused: arrays of arrays (ggml refuses them too), keys and tensor names holding a
 * NUL byte (they are C strings in this API), dims <= 0, n_dims > 4 (0 is a scalar, as in
 * ggml), unknown type ids, ne[0] not a multiple of the block size, misaligned, overlapping
 * or out-of-file tensor data. Values inside the buffer are not aligned: memcpy them.
 */
#ifndef LPQ_GGUF_H
#define LPQ_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quant/common.h"
#include "quant/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LPQ_GGUF_MAGIC 0x46554747u      /* "GGUF" read as little-endian u32 */
#define LPQ_GGUF_DEFAULT_ALIGNMENT 32
#define LPQ_GGUF_MAX_DIMS 4

enum lpq_gguf_vtype {
    LPQ_GGUF_U8 = 0, LPQ_GGUF_I8 = 1, LPQ_GGUF_U16 = 2, LPQ_GGUF_I16 = 3,
    LPQ_GGUF_U32 = 4, LPQ_GGUF_I32 = 5, LPQ_GGUF_F32 = 6, LPQ_GGUF_BOOL = 7,
    LPQ_GGUF_STRING = 8, LPQ_GGUF_ARRAY = 9, LPQ_GGUF_U64 = 10, LPQ_GGUF_I64 = 11,
    LPQ_GGUF_F64 = 12,
    LPQ_GGUF_VTYPE_COUNT
};

/* "u32", "string", "array", ...; "unknown" otherwise. */
const char *lpq_gguf_vtype_name(enum lpq_gguf_vtype t);

struct lpq_gguf;   /* an open, validated GGUF file */

struct lpq_gguf_tensor {
    const char *name;              /* NUL-terminated copy, valid until lpq_gguf_close */
    uint32_t n_dims;
    int64_t ne[LPQ_GGUF_MAX_DIMS]; /* elements per dim; ne[0] = row length; unused dims = 1 */
    uint32_t type;                 /* GGUF type id (known to lpq_type_traits) */
    uint64_t offset;               /* bytes, relative to the data section */
    uint64_t size;                 /* bytes of data */
    uint64_t file_offset;          /* bytes, absolute: where the data starts in the file */
    const void *data;              /* into the mapping; NULL when opened with no_data */
};

struct lpq_gguf_params {
    bool no_data;        /* header only: tensor data need not be in the file (vocab files) */
    bool allow_v1;       /* reserved; version 1 is always refused */
};
struct lpq_gguf_params lpq_gguf_params_default(void);

/*
 * Opens and validates `path`. On success *out owns the mapping; free with lpq_gguf_close.
 * Returns LPQ_STATUS_OK, LPQ_STATUS_IO (cannot open/map; message names the file),
 * LPQ_STATUS_BAD_FILE (message names the offset and key/tensor) or LPQ_STATUS_NO_MEMORY.
 * `params` may be NULL (defaults). `err` may be NULL. *out is untouched on failure.
 */
enum lpq_status lpq_gguf_open(const char *path, const struct lpq_gguf_params *params,
                              struct lpq_gguf **out, struct lpq_err *err);
/* Same, over a caller-owned buffer that must outlive the handle (fuzzer, tests). */
enum lpq_status lpq_gguf_open_mem(const void *buf, size_t size, const struct lpq_gguf_params *params,
                                  struct lpq_gguf **out, struct lpq_err *err);
void lpq_gguf_close(struct lpq_gguf *g);   /* NULL is a no-op */

/* Last error on this handle (typed accessor failures), "" when none. */
const char *lpq_gguf_errmsg(const struct lpq_gguf *g);
const char *lpq_gguf_path(const struct lpq_gguf *g);   /* "<memory>" for open_mem */

uint32_t lpq_gguf_version(const struct lpq_gguf *g);
uint32_t lpq_gguf_alignment(const struct lpq_gguf *g);
uint64_t lpq_gguf_file_size(const struct lpq_gguf *g);
uint64_t lpq_gguf_data_offset(const struct lpq_gguf *g);    /* absolute start of tensor data */

/* ---- metadata ------------------------------------------------------------------------ */
int64_t lpq_gguf_n_kv(const struct lpq_gguf *g);
/* Index of `key`, or -1. */
int64_t lpq_gguf_find_key(const struct lpq_gguf *g, const char *key);
const char *lpq_gguf_kv_key(const struct lpq_gguf *g, int64_t i);
enum lpq_gguf_vtype lpq_gguf_kv_type(const struct lpq_gguf *g, int64_t i);
/* For arrays: the element type and count. For scalars: LPQ_GGUF_VTYPE_COUNT and 0. */
enum lpq_gguf_vtype lpq_gguf_kv_arr_type(const struct lpq_gguf *g, int64_t i);
uint64_t lpq_gguf_kv_arr_n(const struct lpq_gguf *g, int64_t i);

/*
 * Typed accessors by key. Each returns LPQ_STATUS_OK, LPQ_STATUS_NOT_FOUND (no such key) or
 * LPQ_STATUS_TYPE_MISMATCH (the stored type differs; message names key and both types).
 * *out is untouched on failure.
 */
enum lpq_status lpq_gguf_get_u8(struct lpq_gguf *g, const char *key, uint8_t *out);
enum lpq_status lpq_gguf_get_i8(struct lpq_gguf *g, const char *key, int8_t *out);
enum lpq_status lpq_gguf_get_u16(struct lpq_gguf *g, const char *key, uint16_t *out);
enum lpq_status lpq_gguf_get_i16(struct lpq_gguf *g, const char *key, int16_t *out);
enum lpq_status lpq_gguf_get_u32(struct lpq_gguf *g, const char *key, uint32_t *out);
enum lpq_status lpq_gguf_get_i32(struct lpq_gguf *g, const char *key, int32_t *out);
enum lpq_status lpq_gguf_get_u64(struct lpq_gguf *g, const char *key, uint64_t *out);
enum lpq_status lpq_gguf_get_i64(struct lpq_gguf *g, const char *key, int64_t *out);
enum lpq_status lpq_gguf_get_f32(struct lpq_gguf *g, const char *key, float *out);
enum lpq_status lpq_gguf_get_f64(struct lpq_gguf *g, const char *key, double *out);
enum lpq_status lpq_gguf_get_bool(struct lpq_gguf *g, const char *key, bool *out);
/* Any integer type that fits in int64 (model hyper-parameters are written as u32 or u64
 * depending on the writer); LPQ_STATUS_RANGE for a u64 above INT64_MAX. */
enum lpq_status lpq_gguf_get_int(struct lpq_gguf *g, const char *key, int64_t *out);
/* f32 or f64. */
enum lpq_status lpq_gguf_get_float(struct lpq_gguf *g, const char *key, double *out);
/* String value: pointer to a NUL-terminated copy valid until close; *len excludes the NUL
 * (len may be NULL). Strings may contain NUL bytes; use len. */
enum lpq_status lpq_gguf_get_str(struct lpq_gguf *g, const char *key, const char **out, size_t *len);
/* Array of a fixed-size element type: pointer to the raw little-endian elements inside the
 * mapping (not aligned: copy with memcpy) and the count. `elem` must match the stored
 * element type. For string arrays use lpq_gguf_get_arr_str. */
enum lpq_status lpq_gguf_get_arr(struct lpq_gguf *g, const char *key, enum lpq_gguf_vtype elem,
                                 const void **data, uint64_t *n);
/* Element `idx` of a string array (NUL-terminated copy valid until close). */
enum lpq_status lpq_gguf_get_arr_str(struct lpq_gguf *g, const char *key, uint64_t idx,
                                     const char **out, size_t *len);
/* Count of a string array (TYPE_MISMATCH when not an array of strings). */
enum lpq_status lpq_gguf_get_arr_str_n(struct lpq_gguf *g, const char *key, uint64_t *n);

/* Index-based raw access (for dumping every key): scalar value pointer inside the mapping.
 * For a string kv: its NUL-terminated copy; for an array of a fixed-size type: the first
 * element inside the mapping; for an array of strings: NULL (use lpq_gguf_kv_str). */
const void *lpq_gguf_kv_data(const struct lpq_gguf *g, int64_t i);
/* Index-based string (scalar string kv, or element j of a string array); NULL when kv i
 * is not a string or j is out of range. */
const char *lpq_gguf_kv_str(const struct lpq_gguf *g, int64_t i, uint64_t j, size_t *len);

/* ---- tensors ------------------------------------------------------------------------- */
int64_t lpq_gguf_n_tensors(const struct lpq_gguf *g);
const struct lpq_gguf_tensor *lpq_gguf_tensor(const struct lpq_gguf *g, int64_t i);
/* Index of the tensor named `name`, or -1. */
int64_t lpq_gguf_find_tensor(const struct lpq_gguf *g, const char *name);
/* Elements in a tensor (product of ne). */
int64_t lpq_gguf_tensor_nelements(const struct lpq_gguf_tensor *t);

/* ---- writer ---------------------------------------------------------------------------
 * Usage: create → set kv (any order; a repeated key replaces the earlier value) → add every
 * tensor's info → write each tensor's data in the order added (streamed; the header is
 * written before the first tensor) → finish (flush, fsync, rename over `path`).
 * Until finish succeeds, the output lives in a temporary file beside `path`; free without
 * finish (or any failure) removes it and leaves an existing `path` untouched.
 */
struct lpq_gguf_writer;

enum lpq_status lpq_gguf_writer_create(const char *path, struct lpq_gguf_writer **out, struct lpq_err *err);
void lpq_gguf_writer_free(struct lpq_gguf_writer *w);     /* NULL is a no-op */
const char *lpq_gguf_writer_errmsg(const struct lpq_gguf_writer *w);

/* Alignment (power of two); also written as general.alignment when not 32. Before tensors. */
enum lpq_status lpq_gguf_writer_set_alignment(struct lpq_gguf_writer *w, uint32_t alignment);

/* Scalar value of a fixed-size type (not string/array); `val` points to a value of that type. */
enum lpq_status lpq_gguf_writer_set_val(struct lpq_gguf_writer *w, const char *key,
                                        enum lpq_gguf_vtype type, const void *val);
enum lpq_status lpq_gguf_writer_set_u32(struct lpq_gguf_writer *w, const char *key, uint32_t v);
enum lpq_status lpq_gguf_writer_set_i32(struct lpq_gguf_writer *w, const char *key, int32_t v);
enum lpq_status lpq_gguf_writer_set_u64(struct lpq_gguf_writer *w, const char *key, uint64_t v);
enum lpq_status lpq_gguf_writer_set_f32(struct lpq_gguf_writer *w, const char *key, float v);
enum lpq_status lpq_gguf_writer_set_bool(struct lpq_gguf_writer *w, const char *key, bool v);
enum lpq_status lpq_gguf_writer_set_str(struct lpq_gguf_writer *w, const char *key, const char *s);
enum lpq_status lpq_gguf_writer_set_strn(struct lpq_gguf_writer *w, const char *key, const char *s, size_t len);
/* Array of a fixed-size element type; `data` holds n little-endian elements. */
enum lpq_status lpq_gguf_writer_set_arr(struct lpq_gguf_writer *w, const char *key,
                                        enum lpq_gguf_vtype elem, const void *data, uint64_t n);
/* Array of strings. `lens` may be NULL (then strlen). */
enum lpq_status lpq_gguf_writer_set_arr_str(struct lpq_gguf_writer *w, const char *key,
                                            const char *const *strs, const size_t *lens, uint64_t n);
/* Copies kv `i` of `src` (any type, arrays included). */
enum lpq_status lpq_gguf_writer_copy_kv(struct lpq_gguf_writer *w, const struct lpq_gguf *src, int64_t i);
/* Removes a key if set (no error when absent). */
void lpq_gguf_writer_remove_kv(struct lpq_gguf_writer *w, const char *key);

/* Declares a tensor; its data must be written later with write_tensor in this order. */
enum lpq_status lpq_gguf_writer_add_tensor(struct lpq_gguf_writer *w, const char *name,
                                           uint32_t type, uint32_t n_dims, const int64_t *ne);
/* Writes the data of the next declared tensor; `size` must equal its byte size. The first
 * call writes the header. Data may also be given in pieces with write_tensor_part. */
enum lpq_status lpq_gguf_writer_write_tensor(struct lpq_gguf_writer *w, const void *data, uint64_t size);
/* Streams part of the current tensor's data; the tensor is complete once its size is reached. */
enum lpq_status lpq_gguf_writer_write_tensor_part(struct lpq_gguf_writer *w, const void *data, uint64_t size);
/* All declared tensors written: write header if no tensors, flush, fsync, rename. */
enum lpq_status lpq_gguf_writer_finish(struct lpq_gguf_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_GGUF_H */
