/*
 * gguf-impl.h — internals shared by the GGUF reader (gguf.c), the writer (gguf-write.c)
 * and their tests: the value-type size table, the smallest possible encoding of each
 * header record (used to bound counts before allocating), and the reader's handle layout.
 * Only quant/gguf*.c and tests include this file.
 */
#ifndef LPQ_GGUF_IMPL_H
#define LPQ_GGUF_IMPL_H

#include <stdint.h>

#include "quant/gguf.h"

/* Smallest encodings, in bytes. A kv is a u64 key length, a u32 value type and at least a
 * one-byte value; a tensor info is a u64 name length, u32 n_dims (0 dims allowed, as ggml
 * does), u32 type and u64 offset; a string is at least its u64 length. A header claiming
 * more records than the remaining bytes can hold is refused before anything is allocated. */
#define LPQ__GGUF_KV_MIN      13u
#define LPQ__GGUF_TENSOR_MIN  24u
#define LPQ__GGUF_STRING_MIN  8u
#define LPQ__GGUF_HEADER_SIZE 24u   /* magic, version, n_tensors, n_kv */

/* Bytes of one value of a fixed-size type; 0 for string, array and unknown types. */
uint32_t lpq__gguf_vtype_size(uint32_t t);

/* One string value (scalar or array element), NUL-terminated inside the handle's arena. */
struct lpq__gguf_str {
    const char *s;
    uint64_t len;              /* bytes, excluding the NUL */
};

struct lpq__gguf_kv {
    const char *key;           /* NUL-terminated, in the arena */
    uint64_t key_len;          /* bytes */
    uint64_t file_offset;      /* bytes, absolute: where the key's length field starts */
    uint32_t type;             /* enum lpq_gguf_vtype */
    uint32_t arr_type;         /* element type for arrays; LPQ_GGUF_VTYPE_COUNT otherwise */
    uint64_t arr_n;            /* elements; 0 for scalars */
    const uint8_t *raw;        /* scalar value, or first array element, inside the buffer */
    uint64_t str0;             /* index in strs[] of the string value / first element */
};

struct lpq__gguf_tinfo {
    struct lpq_gguf_tensor pub;
    uint64_t name_len;         /* bytes */
    uint64_t info_offset;      /* bytes, absolute: start of the tensor info record */
    uint64_t offset_field;     /* bytes, absolute: where the u64 data offset is stored */
};

/* A name (key or tensor) with its index, sorted for duplicate checks and binary search. */
struct lpq__gguf_nameref {
    const char *s;
    uint64_t len;              /* bytes */
    int64_t idx;
};

struct lpq_gguf {
    char *path;                         /* "<memory>" for open_mem */
    const uint8_t *base;                /* the mapping or the caller's buffer */
    uint64_t size;                      /* bytes */
    void *map;                          /* non-NULL when we own an mmap of `size` bytes */
    uint32_t version;
    uint32_t alignment;                 /* bytes */
    uint64_t data_offset;               /* bytes, absolute */
    bool no_data;

    int64_t n_kv;
    struct lpq__gguf_kv *kv;
    struct lpq__gguf_nameref *kv_sorted;
    int64_t n_tensors;
    struct lpq__gguf_tinfo *tensors;
    struct lpq__gguf_nameref *t_sorted;
    uint64_t n_strs;
    struct lpq__gguf_str *strs;
    char *arena;                        /* every string of the header, NUL-terminated */

    struct lpq_err err;                 /* last typed-accessor failure */
};

#endif /* LPQ_GGUF_IMPL_H */
