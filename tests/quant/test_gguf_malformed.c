/*
 * test_gguf_malformed.c — the GGUF reader on hand-built hostile files: every prefix of a
 * valid file, absurd counts and lengths, bad types, shapes, offsets and duplicates. Each
 * must fail with LPQ_STATUS_BAD_FILE and a message whose "offset N" is the exact byte the
 * reader complains about; huge claims must fail before anything is allocated.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/gguf-impl.h"
#include "quant/gguf.h"

/* ---- a byte builder that also records, per field, where the reader should complain ---- */

/* The reader checks fields in file order. For a prefix of `len` bytes, the complaint is at
 * `report` of the first unit whose `end` (bytes it needs) exceeds len. */
struct unit {
    size_t report, end;
};

struct bb {
    uint8_t d[8192];
    size_t n;
    struct unit u[256];
    int nu;
};

static size_t put(struct bb *b, const void *p, size_t n) {
    size_t at = b->n;
    assert_true(b->n + n <= sizeof(b->d));
    memcpy(b->d + b->n, p, n);
    b->n += n;
    return at;
}
static size_t p32(struct bb *b, uint32_t v) { return put(b, &v, 4); }
static size_t p64(struct bb *b, uint64_t v) { return put(b, &v, 8); }
static void unit(struct bb *b, size_t report, size_t end) {
    assert_true(b->nu < 256);
    b->u[b->nu++] = (struct unit){ report, end };
}
static size_t f32u(struct bb *b, uint32_t v) { size_t at = p32(b, v); unit(b, at, at + 4); return at; }
static size_t f64u(struct bb *b, uint64_t v) { size_t at = p64(b, v); unit(b, at, at + 8); return at; }
static size_t fstr(struct bb *b, const char *s) {
    size_t len = strlen(s), at = p64(b, len);
    put(b, s, len);
    unit(b, at, at + 8 + len);
    return at;
}

static void hdr(struct bb *b, uint32_t version, uint64_t nt, uint64_t nkv) {
    memset(b, 0, sizeof(*b));
    f32u(b, LPQ_GGUF_MAGIC);
    f32u(b, version);
    f64u(b, nt);
    f64u(b, nkv);
    unit(b, 8, 24 + 24 * (size_t)nt);
    unit(b, 16, 24 + 24 * (size_t)nt + 13 * (size_t)nkv);
}

struct kvpos {
    size_t key, type, val;
};

static struct kvpos kv_u32(struct bb *b, const char *key, uint32_t v) {
    struct kvpos k;
    k.key = fstr(b, key);
    k.type = f32u(b, LPQ_GGUF_U32);
    k.val = f32u(b, v);
    return k;
}

static struct kvpos kv_str(struct bb *b, const char *key, const char *v) {
    struct kvpos k;
    k.key = fstr(b, key);
    k.type = f32u(b, LPQ_GGUF_STRING);
    k.val = fstr(b, v);
    return k;
}

/* Array of fixed-size elements; returns the position of the count. */
static size_t kv_arr(struct bb *b, const char *key, uint32_t et, const void *data, uint64_t n, size_t esz) {
    fstr(b, key);
    f32u(b, LPQ_GGUF_ARRAY);
    f32u(b, et);
    size_t at = p64(b, n);
    put(b, data, (size_t)n * esz);
    unit(b, at, at + 8 + (size_t)n * esz);
    return at;
}

static size_t kv_arr_str(struct bb *b, const char *key, const char *const *s, uint64_t n) {
    fstr(b, key);
    f32u(b, LPQ_GGUF_ARRAY);
    f32u(b, LPQ_GGUF_STRING);
    size_t at = p64(b, n);
    unit(b, at, at + 8 + 8 * (size_t)n);
    for (uint64_t i = 0; i < n; i++) fstr(b, s[i]);
    return at;
}

struct tpos {
    size_t info, ndims, dim[5], type, off;   /* dim[4] only for the n_dims-5 test */
    uint64_t offset, size;
};

static struct tpos tensor(struct bb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                          uint64_t offset, uint64_t size) {
    struct tpos t = { .offset = offset, .size = size };
    t.info = fstr(b, name);
    t.ndims = f32u(b, n_dims);
    for (uint32_t j = 0; j < n_dims; j++) t.dim[j] = f64u(b, ne[j]);
    t.type = f32u(b, type);
    t.off = f64u(b, offset);
    return t;
}

/* Zero padding to `align`, then `nbytes` of data (a recognisable pattern). */
static size_t data(struct bb *b, uint32_t align, size_t nbytes) {
    static const uint8_t zero = 0;
    while (b->n % align) put(b, &zero, 1);
    size_t start = b->n;
    for (size_t i = 0; i < nbytes; i++) {
        uint8_t v = (uint8_t)(i * 7 + 1);
        put(b, &v, 1);
    }
    return start;
}

/* ---- helpers to open and check ------------------------------------------------------ */

static enum lpq_status open_buf(const void *buf, size_t n, bool no_data, struct lpq_err *err) {
    /* An exact-size heap copy, so a read past the end is an ASan error. */
    void *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, buf, n);
    struct lpq_gguf_params prm = lpq_gguf_params_default();
    prm.no_data = no_data;
    struct lpq_gguf *g = NULL;
    lpq_err_clear(err);
    enum lpq_status st = lpq_gguf_open_mem(copy, n, &prm, &g, err);
    if (st == LPQ_STATUS_OK) {
        assert_non_null(g);
        lpq_gguf_close(g);
    } else {
        assert_null(g);
    }
    free(copy);
    return st;
}

static void expect_bad(const struct bb *b, size_t off, const char *needle) {
    struct lpq_err err;
    char prefix[64];
    enum lpq_status st = open_buf(b->d, b->n, false, &err);
    if (st != LPQ_STATUS_BAD_FILE) fail_msg("expected BAD_FILE, got %s (%s)", lpq_status_name(st), err.msg);
    snprintf(prefix, sizeof(prefix), "<memory>: offset %zu: ", off);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0) fail_msg("expected '%s...', got '%s'", prefix, err.msg);
    if (needle && !strstr(err.msg, needle)) fail_msg("expected '%s' in '%s'", needle, err.msg);
    assert_null(strchr(err.msg, '\n'));
}

/* Counts allocations, to show huge claims fail before any. */
static size_t g_allocs;
static void *count_malloc(size_t n) { g_allocs++; return malloc(n); }
static void *count_calloc(size_t n, size_t s) { g_allocs++; return calloc(n, s); }
static void *count_realloc(void *p, size_t n) { g_allocs++; return realloc(p, n); }
static const struct lpq_allocator counting = { count_malloc, count_calloc, count_realloc, free };

static void expect_bad_no_alloc(const struct bb *b, size_t off, const char *needle) {
    g_allocs = 0;
    lpq_set_allocator(&counting);
    expect_bad(b, off, needle);
    lpq_set_allocator(NULL);
    assert_int_equal(g_allocs, 0);
}

/* A valid file with every structure the reader handles: 6 kvs, 2 tensors. */
static struct tpos g_t[2];
static void build_valid(struct bb *b) {
    static const int32_t arr[3] = { 1, -2, 3 };
    static const char *const strs[3] = { "a", "", "bc" };
    float f = 0.5f;
    hdr(b, 3, 2, 6);
    kv_str(b, "general.architecture", "llama");
    kv_u32(b, "general.alignment", 32);
    kv_arr(b, "x.ints", LPQ_GGUF_I32, arr, 3, 4);
    kv_arr_str(b, "x.strs", strs, 3);
    fstr(b, "x.f");
    f32u(b, LPQ_GGUF_F32);
    f32u(b, 0);
    memcpy(b->d + b->n - 4, &f, 4);
    fstr(b, "x.b");
    f32u(b, LPQ_GGUF_BOOL);
    size_t at = put(b, "\x01", 1);
    unit(b, at, at + 1);
    uint64_t ne0[1] = { 8 }, ne1[2] = { 32, 2 };
    g_t[0] = tensor(b, "t.f32", 1, ne0, LPQ_TYPE_F32, 0, 32);
    g_t[1] = tensor(b, "t.q8", 2, ne1, LPQ_TYPE_Q8_0, 32, 68);
    size_t ds = data(b, 32, 100);   /* ends with the last tensor: every shorter prefix is bad */
    for (int i = 0; i < 2; i++) unit(b, g_t[i].off, ds + g_t[i].offset + g_t[i].size);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_valid_file_reads_back(void **state) {
    (void)state;
    struct bb b;
    build_valid(&b);
    struct lpq_gguf *g = NULL;
    struct lpq_err err;
    tu_use_cmocka_allocator();
    assert_int_equal(lpq_gguf_open_mem(b.d, b.n, NULL, &g, &err), LPQ_STATUS_OK);
    assert_string_equal(lpq_gguf_path(g), "<memory>");
    assert_int_equal(lpq_gguf_n_kv(g), 6);
    assert_int_equal(lpq_gguf_n_tensors(g), 2);
    const char *s;
    size_t len;
    assert_int_equal(lpq_gguf_get_arr_str(g, "x.strs", 2, &s, &len), LPQ_STATUS_OK);
    assert_string_equal(s, "bc");
    assert_int_equal(lpq_gguf_get_arr_str(g, "x.strs", 1, &s, &len), LPQ_STATUS_OK);
    assert_int_equal(len, 0);
    bool bv = false;
    assert_int_equal(lpq_gguf_get_bool(g, "x.b", &bv), LPQ_STATUS_OK);
    assert_true(bv);
    const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, 1);
    assert_int_equal(t->size, 68);
    assert_ptr_equal(t->data, b.d + lpq_gguf_data_offset(g) + 32);
    assert_int_equal(lpq_gguf_data_offset(g) % 32, 0);
    lpq_gguf_close(g);
    lpq_set_allocator(NULL);
}

static void test_every_truncation_fails_at_the_right_offset(void **state) {
    (void)state;
    struct bb b;
    struct lpq_err err;
    char prefix[64];
    build_valid(&b);
    assert_int_equal(open_buf(b.d, b.n, false, &err), LPQ_STATUS_OK);
    for (size_t len = 0; len < b.n; len++) {
        size_t want = SIZE_MAX;
        for (int i = 0; i < b.nu; i++) {
            if (b.u[i].end > len) {
                want = b.u[i].report;
                break;
            }
        }
        assert_true(want != SIZE_MAX);
        enum lpq_status st = open_buf(b.d, len, false, &err);
        if (st != LPQ_STATUS_BAD_FILE) fail_msg("prefix %zu: %s", len, lpq_status_name(st));
        snprintf(prefix, sizeof(prefix), "<memory>: offset %zu: ", want);
        if (strncmp(err.msg, prefix, strlen(prefix)) != 0) fail_msg("prefix %zu: want '%s', got '%s'", len, prefix, err.msg);
    }
}

static void test_bad_magic_and_versions(void **state) {
    (void)state;
    struct bb b;
    hdr(&b, 3, 0, 0);
    memcpy(b.d, "GGML", 4);
    expect_bad(&b, 0, "bad magic 'GGML'");
    hdr(&b, 1, 0, 0);
    expect_bad(&b, 4, "version 1 is not supported");
    hdr(&b, 4, 0, 0);
    expect_bad(&b, 4, "version 4 is not supported");
    hdr(&b, 0x03000000u, 0, 0);
    expect_bad(&b, 4, "big-endian");

    /* Versions 2 and 3 share the layout; an empty file of each is valid. */
    struct lpq_gguf *g = NULL;
    struct lpq_err err;
    hdr(&b, 2, 0, 0);
    assert_int_equal(lpq_gguf_open_mem(b.d, b.n, NULL, &g, &err), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_version(g), 2);
    lpq_gguf_close(g);
}

static void test_huge_counts_fail_before_allocating(void **state) {
    (void)state;
    struct bb b;
    hdr(&b, 3, (uint64_t)1 << 60, 1);
    kv_u32(&b, "a", 1);
    expect_bad_no_alloc(&b, 8, "n_tensors 1152921504606846976 cannot fit");
    hdr(&b, 3, 0, (uint64_t)1 << 60);
    kv_u32(&b, "a", 1);
    expect_bad_no_alloc(&b, 16, "n_kv 1152921504606846976 cannot fit");
    hdr(&b, 3, UINT64_MAX, UINT64_MAX);
    expect_bad_no_alloc(&b, 8, NULL);

    /* A 1 TB (2^40) key. */
    hdr(&b, 3, 0, 1);
    p64(&b, (uint64_t)1 << 40);
    put(&b, "abcdefgh", 8);
    expect_bad_no_alloc(&b, 24, "key length 1099511627776 exceeds");

    /* A 2^40 string value. */
    hdr(&b, 3, 0, 1);
    fstr(&b, "k");
    p32(&b, LPQ_GGUF_STRING);
    size_t at = p64(&b, (uint64_t)1 << 40);
    expect_bad_no_alloc(&b, at, "string value length");

    /* Arrays of 2^62 elements, fixed-size and strings. */
    hdr(&b, 3, 0, 1);
    fstr(&b, "k");
    p32(&b, LPQ_GGUF_ARRAY);
    p32(&b, LPQ_GGUF_U64);
    at = p64(&b, (uint64_t)1 << 62);
    p64(&b, 0);
    expect_bad_no_alloc(&b, at, "array of 4611686018427387904 u64");
    hdr(&b, 3, 0, 1);
    fstr(&b, "k");
    p32(&b, LPQ_GGUF_ARRAY);
    p32(&b, LPQ_GGUF_STRING);
    at = p64(&b, (uint64_t)1 << 62);
    p64(&b, 0);
    expect_bad_no_alloc(&b, at, "strings");
}

static void test_bad_value_types(void **state) {
    (void)state;
    struct bb b;
    hdr(&b, 3, 0, 1);
    fstr(&b, "k");
    size_t at = p32(&b, 13);
    p64(&b, 0);
    expect_bad(&b, at, "kv 'k': unknown value type 13");

    hdr(&b, 3, 0, 1);
    fstr(&b, "k");
    p32(&b, LPQ_GGUF_ARRAY);
    at = p32(&b, 77);
    p64(&b, 0);
    expect_bad(&b, at, "unknown array element type 77");

    /* Arrays of arrays are refused (ggml refuses them too). */
    hdr(&b, 3, 0, 1);
    fstr(&b, "k");
    p32(&b, LPQ_GGUF_ARRAY);
    at = p32(&b, LPQ_GGUF_ARRAY);
    p64(&b, 0);
    expect_bad(&b, at, "arrays of arrays are not supported");
}

static void test_every_value_type_reads(void **state) {
    (void)state;
    struct bb b;
    hdr(&b, 3, 0, 13);
    uint8_t u8 = 200; int8_t i8 = -100; uint16_t u16 = 60000; int16_t i16 = -30000;
    uint32_t u32 = 4000000000u; int32_t i32 = -2000000000; float f = 1.5f; uint8_t bo = 1;
    uint64_t u64 = 18000000000000000000ull; int64_t i64 = -9000000000000000000ll; double f64 = -2.25;
    const struct { const char *k; uint32_t t; const void *v; size_t n; } sc[] = {
        { "u8", LPQ_GGUF_U8, &u8, 1 },       { "i8", LPQ_GGUF_I8, &i8, 1 },
        { "u16", LPQ_GGUF_U16, &u16, 2 },    { "i16", LPQ_GGUF_I16, &i16, 2 },
        { "u32", LPQ_GGUF_U32, &u32, 4 },    { "i32", LPQ_GGUF_I32, &i32, 4 },
        { "f32", LPQ_GGUF_F32, &f, 4 },      { "bool", LPQ_GGUF_BOOL, &bo, 1 },
        { "u64", LPQ_GGUF_U64, &u64, 8 },    { "i64", LPQ_GGUF_I64, &i64, 8 },
        { "f64", LPQ_GGUF_F64, &f64, 8 },
    };
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(sc); i++) {
        fstr(&b, sc[i].k);
        p32(&b, sc[i].t);
        put(&b, sc[i].v, sc[i].n);
    }
    fstr(&b, "str");
    p32(&b, LPQ_GGUF_STRING);
    p64(&b, 3);
    put(&b, "a\0b", 3);   /* strings may hold NUL bytes */
    int16_t arr[2] = { -1, 2 };
    kv_arr(&b, "arr", LPQ_GGUF_I16, arr, 2, 2);

    struct lpq_gguf *g = NULL;
    struct lpq_err err;
    assert_int_equal(lpq_gguf_open_mem(b.d, b.n, NULL, &g, &err), LPQ_STATUS_OK);
    uint8_t r_u8; int8_t r_i8; uint16_t r_u16; int16_t r_i16; uint32_t r_u32; int32_t r_i32; float r_f;
    bool r_b; uint64_t r_u64; int64_t r_i64; double r_f64;
    assert_int_equal(lpq_gguf_get_u8(g, "u8", &r_u8), 0); assert_int_equal(r_u8, u8);
    assert_int_equal(lpq_gguf_get_i8(g, "i8", &r_i8), 0); assert_int_equal(r_i8, i8);
    assert_int_equal(lpq_gguf_get_u16(g, "u16", &r_u16), 0); assert_int_equal(r_u16, u16);
    assert_int_equal(lpq_gguf_get_i16(g, "i16", &r_i16), 0); assert_int_equal(r_i16, i16);
    assert_int_equal(lpq_gguf_get_u32(g, "u32", &r_u32), 0); assert_int_equal(r_u32, u32);
    assert_int_equal(lpq_gguf_get_i32(g, "i32", &r_i32), 0); assert_int_equal(r_i32, i32);
    assert_int_equal(lpq_gguf_get_f32(g, "f32", &r_f), 0); assert_true(r_f == f);
    assert_int_equal(lpq_gguf_get_bool(g, "bool", &r_b), 0); assert_true(r_b);
    assert_int_equal(lpq_gguf_get_u64(g, "u64", &r_u64), 0); assert_true(r_u64 == u64);
    assert_int_equal(lpq_gguf_get_i64(g, "i64", &r_i64), 0); assert_true(r_i64 == i64);
    assert_int_equal(lpq_gguf_get_f64(g, "f64", &r_f64), 0); assert_true(r_f64 == f64);
    /* get_int widens every integer type; a u64 above INT64_MAX is out of range. */
    assert_int_equal(lpq_gguf_get_int(g, "i8", &r_i64), 0); assert_int_equal(r_i64, -100);
    assert_int_equal(lpq_gguf_get_int(g, "u32", &r_i64), 0); assert_true(r_i64 == 4000000000ll);
    assert_int_equal(lpq_gguf_get_int(g, "i64", &r_i64), 0); assert_true(r_i64 == i64);
    assert_int_equal(lpq_gguf_get_int(g, "u64", &r_i64), LPQ_STATUS_RANGE);
    assert_int_equal(lpq_gguf_get_int(g, "f32", &r_i64), LPQ_STATUS_TYPE_MISMATCH);
    assert_int_equal(lpq_gguf_get_float(g, "f64", &r_f64), 0); assert_true(r_f64 == -2.25);
    assert_int_equal(lpq_gguf_get_u8(g, "i8", &r_u8), LPQ_STATUS_TYPE_MISMATCH);
    assert_non_null(strstr(lpq_gguf_errmsg(g), "key 'i8' has type i8, not u8"));
    const char *s;
    size_t len;
    assert_int_equal(lpq_gguf_get_str(g, "str", &s, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a\0b", 4);
    const void *d;
    uint64_t n;
    assert_int_equal(lpq_gguf_get_arr(g, "arr", LPQ_GGUF_I16, &d, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(d, arr, 4);
    assert_int_equal(lpq_gguf_kv_arr_type(g, lpq_gguf_find_key(g, "arr")), LPQ_GGUF_I16);
    assert_int_equal(lpq_gguf_kv_arr_type(g, lpq_gguf_find_key(g, "u8")), LPQ_GGUF_VTYPE_COUNT);
    uint16_t raw16;   /* values inside the buffer are unaligned: copy them */
    memcpy(&raw16, lpq_gguf_kv_data(g, lpq_gguf_find_key(g, "u16")), 2);
    assert_int_equal(raw16, 60000);
    assert_string_equal(lpq_gguf_vtype_name(LPQ_GGUF_F64), "f64");
    assert_string_equal(lpq_gguf_vtype_name((enum lpq_gguf_vtype)99), "unknown");
    lpq_gguf_close(g);
}

/* One tensor after an empty kv list: returns the positions; caller appends the data. */
static struct tpos one_tensor(struct bb *b, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t off) {
    hdr(b, 3, 1, 0);
    return tensor(b, "w", n_dims, ne, type, off, 0);
}

static void test_bad_tensor_infos(void **state) {
    (void)state;
    struct bb b;
    struct tpos t;
    uint64_t ne[5] = { 32, 2, 1, 1, 1 };

    t = one_tensor(&b, 2, ne, 99, 0);
    data(&b, 32, 256);
    expect_bad(&b, t.type, "tensor 'w': unknown tensor type id 99");
    t = one_tensor(&b, 2, ne, 4, 0);   /* retired Q4_2 */
    data(&b, 32, 256);
    expect_bad(&b, t.type, "unknown tensor type id 4");

    t = one_tensor(&b, 5, ne, LPQ_TYPE_F32, 0);
    data(&b, 32, 256);
    expect_bad(&b, t.ndims, "n_dims 5 exceeds 4");

    ne[1] = 0;
    t = one_tensor(&b, 2, ne, LPQ_TYPE_F32, 0);
    data(&b, 32, 256);
    expect_bad(&b, t.dim[1], "ne[1] = 0 is not a positive dimension");
    ne[1] = (uint64_t)-5;
    t = one_tensor(&b, 2, ne, LPQ_TYPE_F32, 0);
    data(&b, 32, 256);
    expect_bad(&b, t.dim[1], "ne[1] = -5");

    uint64_t big[3] = { (uint64_t)1 << 32, (uint64_t)1 << 30, 4 };
    t = one_tensor(&b, 3, big, LPQ_TYPE_F32, 0);
    data(&b, 32, 256);
    expect_bad(&b, t.dim[2], "overflow int64");

    /* 2^62 F32 elements fit int64, but their 2^64 bytes do not. */
    uint64_t huge[1] = { (uint64_t)1 << 62 };
    t = one_tensor(&b, 1, huge, LPQ_TYPE_F32, 0);
    data(&b, 32, 256);
    expect_bad(&b, t.type, "byte size");

    uint64_t q[2] = { 48, 2 };
    t = one_tensor(&b, 2, q, LPQ_TYPE_Q4_0, 0);
    data(&b, 32, 256);
    expect_bad(&b, t.dim[0], "ne[0] = 48 is not a multiple of the Q4_0 block size 32");

    ne[1] = 2;
    t = one_tensor(&b, 2, ne, LPQ_TYPE_F32, 16);
    data(&b, 32, 512);
    expect_bad(&b, t.off, "data offset 16 is not a multiple of the alignment 32");

    /* n_dims 0 is a scalar (ggml allows it). */
    struct lpq_err err;
    t = one_tensor(&b, 0, ne, LPQ_TYPE_F32, 0);
    data(&b, 32, 32);
    assert_int_equal(open_buf(b.d, b.n, false, &err), LPQ_STATUS_OK);
}

static void test_bad_data_ranges(void **state) {
    (void)state;
    struct bb b;
    struct lpq_err err;
    uint64_t ne[2] = { 8, 4 };   /* 128 bytes of F32 */

    /* Overlap: the second tensor starts inside the first. */
    hdr(&b, 3, 2, 0);
    tensor(&b, "a", 2, ne, LPQ_TYPE_F32, 0, 128);
    struct tpos t1 = tensor(&b, "b", 2, ne, LPQ_TYPE_F32, 64, 128);
    data(&b, 32, 256);
    expect_bad(&b, t1.off, "tensor 'b': data [64, 192) overlaps tensor 'a' [0, 128)");

    /* Data past the end of the file. */
    hdr(&b, 3, 1, 0);
    struct tpos t = tensor(&b, "blk.0.attn_q.weight", 2, ne, LPQ_TYPE_F32, 0, 128);
    size_t ds = data(&b, 32, 100);
    char want[160];
    snprintf(want, sizeof(want), "tensor 'blk.0.attn_q.weight': data [%zu, %zu) extends past end of file (size %zu)",
             ds, ds + 128, b.n);
    expect_bad(&b, t.off, want);
    /* ... which is fine header-only. */
    assert_int_equal(open_buf(b.d, b.n, true, &err), LPQ_STATUS_OK);
    /* no_data with no padding or data at all (like the vocab files, but with a tensor). */
    assert_int_equal(open_buf(b.d, ds - 1, true, &err), LPQ_STATUS_OK);

    /* An offset near 2^64 overflows instead of wrapping around. */
    hdr(&b, 3, 1, 0);
    t = tensor(&b, "w", 2, ne, LPQ_TYPE_F32, UINT64_MAX - 31, 128);
    data(&b, 32, 128);
    expect_bad(&b, t.off, "overflows");
}

static void test_duplicates(void **state) {
    (void)state;
    struct bb b;
    hdr(&b, 3, 0, 3);
    struct kvpos k0 = kv_u32(&b, "a.b", 1);
    kv_u32(&b, "a.c", 2);
    struct kvpos k2 = kv_str(&b, "a.b", "again");
    char want[64];
    snprintf(want, sizeof(want), "kv 'a.b': duplicate key (first at offset %zu)", k0.key);
    expect_bad(&b, k2.key, want);

    uint64_t ne[1] = { 8 };
    hdr(&b, 3, 3, 0);
    struct tpos t0 = tensor(&b, "x", 1, ne, LPQ_TYPE_F32, 0, 32);
    tensor(&b, "y", 1, ne, LPQ_TYPE_F32, 32, 32);
    struct tpos t2 = tensor(&b, "x", 1, ne, LPQ_TYPE_F32, 64, 32);
    data(&b, 32, 96);
    snprintf(want, sizeof(want), "tensor 'x': duplicate tensor name (first at offset %zu)", t0.info);
    expect_bad(&b, t2.info, want);
}

static void test_alignment(void **state) {
    (void)state;
    struct bb b;
    struct kvpos k;
    hdr(&b, 3, 0, 1);
    k = kv_u32(&b, "general.alignment", 0);
    expect_bad(&b, k.val, "alignment 0 is not a nonzero power of two");
    hdr(&b, 3, 0, 1);
    k = kv_u32(&b, "general.alignment", 3);
    expect_bad(&b, k.val, "alignment 3 is not");
    hdr(&b, 3, 0, 1);
    fstr(&b, "general.alignment");
    size_t at = p32(&b, LPQ_GGUF_U64);
    p64(&b, 64);
    expect_bad(&b, at, "type u64, expected u32");

    /* A valid 64: data starts on a 64-byte boundary, and offsets must be multiples of 64. */
    uint64_t ne[1] = { 8 };
    hdr(&b, 3, 2, 1);
    kv_u32(&b, "general.alignment", 64);
    tensor(&b, "a", 1, ne, LPQ_TYPE_F32, 0, 32);
    tensor(&b, "b", 1, ne, LPQ_TYPE_F32, 64, 32);
    size_t ds = data(&b, 64, 96);
    struct lpq_gguf *g = NULL;
    struct lpq_err err;
    assert_int_equal(lpq_gguf_open_mem(b.d, b.n, NULL, &g, &err), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_alignment(g), 64);
    assert_int_equal(lpq_gguf_data_offset(g), ds);
    assert_int_equal(ds % 64, 0);
    lpq_gguf_close(g);
    hdr(&b, 3, 2, 1);
    kv_u32(&b, "general.alignment", 64);
    tensor(&b, "a", 1, ne, LPQ_TYPE_F32, 0, 32);
    struct tpos t = tensor(&b, "b", 1, ne, LPQ_TYPE_F32, 32, 32);
    data(&b, 64, 96);
    expect_bad(&b, t.off, "not a multiple of the alignment 64");
}

static void test_names_in_messages_are_sanitised(void **state) {
    (void)state;
    struct bb b;
    hdr(&b, 3, 0, 1);
    fstr(&b, "evil\nkey\x01");
    size_t at = p32(&b, 99);
    expect_bad(&b, at, "kv 'evil?key?': unknown value type 99");

    /* Keys and tensor names are C strings in the API, so an embedded NUL is refused. */
    hdr(&b, 3, 0, 1);
    at = p64(&b, 3);
    put(&b, "a\0b", 3);
    p32(&b, LPQ_GGUF_U8);
    put(&b, "\0", 1);
    expect_bad(&b, at, "kv 'a?b': key contains a NUL byte");
    hdr(&b, 3, 1, 0);
    at = p64(&b, 2);
    put(&b, "\0x", 2);
    p32(&b, 1);
    p64(&b, 1);
    p32(&b, LPQ_TYPE_F32);
    p64(&b, 0);
    data(&b, 32, 4);
    expect_bad(&b, at, "tensor '?x': name contains a NUL byte");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_file_reads_back),
        cmocka_unit_test(test_every_truncation_fails_at_the_right_offset),
        cmocka_unit_test(test_bad_magic_and_versions),
        cmocka_unit_test(test_huge_counts_fail_before_allocating),
        cmocka_unit_test(test_bad_value_types),
        cmocka_unit_test(test_every_value_type_reads),
        cmocka_unit_test(test_bad_tensor_infos),
        cmocka_unit_test(test_bad_data_ranges),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_names_in_messages_are_sanitised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
