/*
 * test_gguf_write.c — the streaming GGUF writer: read → write → read of real files keeps
 * every key, value and tensor byte; alignment and padding; and failures (bad directory,
 * wrong tensor size, a write error half-way, no finish) leave no partial output and never
 * touch an existing file at the destination.
 */
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "quant/gguf.h"

static struct lpq_gguf *open_path(const char *path) {
    struct lpq_gguf *g = NULL;
    struct lpq_err err;
    enum lpq_status st = lpq_gguf_open(path, NULL, &g, &err);
    if (st) fail_msg("%s: %s", path, err.msg);
    return g;
}

/* Every key, type, value and tensor byte of `a` is in `b`, in the same order. */
static void assert_same_gguf(struct lpq_gguf *a, struct lpq_gguf *b) {
    assert_int_equal(lpq_gguf_n_kv(a), lpq_gguf_n_kv(b));
    for (int64_t i = 0; i < lpq_gguf_n_kv(a); i++) {
        assert_string_equal(lpq_gguf_kv_key(a, i), lpq_gguf_kv_key(b, i));
        enum lpq_gguf_vtype t = lpq_gguf_kv_type(a, i);
        assert_int_equal(t, lpq_gguf_kv_type(b, i));
        assert_int_equal(lpq_gguf_kv_arr_type(a, i), lpq_gguf_kv_arr_type(b, i));
        uint64_t n = lpq_gguf_kv_arr_n(a, i);
        assert_int_equal(n, lpq_gguf_kv_arr_n(b, i));
        if (t == LPQ_GGUF_STRING || (t == LPQ_GGUF_ARRAY && lpq_gguf_kv_arr_type(a, i) == LPQ_GGUF_STRING)) {
            uint64_t m = t == LPQ_GGUF_STRING ? 1 : n;
            for (uint64_t j = 0; j < m; j++) {
                size_t la, lb;
                const char *sa = lpq_gguf_kv_str(a, i, j, &la), *sb = lpq_gguf_kv_str(b, i, j, &lb);
                assert_non_null(sa);
                assert_non_null(sb);
                assert_int_equal(la, lb);
                assert_memory_equal(sa, sb, la);
            }
        } else if (t == LPQ_GGUF_ARRAY) {
            size_t esz = 0;
            switch (lpq_gguf_kv_arr_type(a, i)) {
            case LPQ_GGUF_U8: case LPQ_GGUF_I8: case LPQ_GGUF_BOOL: esz = 1; break;
            case LPQ_GGUF_U16: case LPQ_GGUF_I16: esz = 2; break;
            case LPQ_GGUF_U32: case LPQ_GGUF_I32: case LPQ_GGUF_F32: esz = 4; break;
            default: esz = 8; break;
            }
            if (n) assert_memory_equal(lpq_gguf_kv_data(a, i), lpq_gguf_kv_data(b, i), n * esz);
        } else {
            size_t esz = (t == LPQ_GGUF_U8 || t == LPQ_GGUF_I8 || t == LPQ_GGUF_BOOL) ? 1
                       : (t == LPQ_GGUF_U16 || t == LPQ_GGUF_I16) ? 2
                       : (t == LPQ_GGUF_U64 || t == LPQ_GGUF_I64 || t == LPQ_GGUF_F64) ? 8 : 4;
            assert_memory_equal(lpq_gguf_kv_data(a, i), lpq_gguf_kv_data(b, i), esz);
        }
    }
    assert_int_equal(lpq_gguf_n_tensors(a), lpq_gguf_n_tensors(b));
    for (int64_t i = 0; i < lpq_gguf_n_tensors(a); i++) {
        const struct lpq_gguf_tensor *ta = lpq_gguf_tensor(a, i), *tb = lpq_gguf_tensor(b, i);
        assert_string_equal(ta->name, tb->name);
        assert_int_equal(ta->type, tb->type);
        assert_int_equal(ta->n_dims, tb->n_dims);
        assert_memory_equal(ta->ne, tb->ne, sizeof(ta->ne));
        assert_int_equal(ta->size, tb->size);
        assert_memory_equal(ta->data, tb->data, ta->size);
    }
}

/* Copies src to path; even tensors in one call, odd ones streamed in 1000-byte parts. */
static void copy_file(struct lpq_gguf *src, const char *path, uint32_t alignment) {
    struct lpq_gguf_writer *w = NULL;
    struct lpq_err err;
    assert_int_equal(lpq_gguf_writer_create(path, &w, &err), LPQ_STATUS_OK);
    if (alignment) assert_int_equal(lpq_gguf_writer_set_alignment(w, alignment), LPQ_STATUS_OK);
    for (int64_t i = 0; i < lpq_gguf_n_kv(src); i++) {
        assert_int_equal(lpq_gguf_writer_copy_kv(w, src, i), LPQ_STATUS_OK);
    }
    for (int64_t i = 0; i < lpq_gguf_n_tensors(src); i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(src, i);
        assert_int_equal(lpq_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne), LPQ_STATUS_OK);
    }
    for (int64_t i = 0; i < lpq_gguf_n_tensors(src); i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(src, i);
        if (i % 2 == 0) {
            assert_int_equal(lpq_gguf_writer_write_tensor(w, t->data, t->size), LPQ_STATUS_OK);
            continue;
        }
        for (uint64_t done = 0; done < t->size;) {
            uint64_t k = LPQ_MIN(1000, t->size - done);
            assert_int_equal(lpq_gguf_writer_write_tensor_part(w, (const uint8_t *)t->data + done, k), LPQ_STATUS_OK);
            done += k;
        }
    }
    enum lpq_status st = lpq_gguf_writer_finish(w);
    if (st) fail_msg("%s", lpq_gguf_writer_errmsg(w));
    lpq_gguf_writer_free(w);
}

static void roundtrip(const char *rel, bool expect_identical_bytes) {
    const char *out = tu_tmp("roundtrip.gguf");
    struct lpq_gguf *src = open_path(tu_shared(rel));
    copy_file(src, out, 0);
    struct lpq_gguf *dst = open_path(out);
    assert_same_gguf(src, dst);
    assert_int_equal(lpq_gguf_alignment(dst), lpq_gguf_alignment(src));
    assert_int_equal(lpq_gguf_data_offset(dst), lpq_gguf_data_offset(src));
    lpq_gguf_close(dst);
    lpq_gguf_close(src);

    if (expect_identical_bytes) {
        /* Same layout rules as llama.cpp's writer, so the very same bytes. */
        size_t na, nb;
        uint8_t *a = tu_read_file(tu_shared(rel), &na), *b = tu_read_file(out, &nb);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        free(a);
        free(b);
    }
    unlink(out);
}

static void test_roundtrip_stories260k(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    tu_use_cmocka_allocator();   /* leaks in the reader or writer fail this test */
    roundtrip("models/stories260K.gguf", true);
    lpq_set_allocator(NULL);
}

static void test_roundtrip_quant_fixtures(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    roundtrip("ref/quant/q-Q4_K.gguf", true);
    roundtrip("ref/quant/mix-Q3_K_M.gguf", true);
    roundtrip("ref/quant/logits-F32-T1.gguf", true);
    roundtrip("models/vocab/ggml-vocab-gpt-2.gguf", true);
}

/* Returns the number of entries in the scratch dir starting with `prefix`. */
static int count_files(const char *prefix) {
    DIR *d = opendir(tu_tmpdir());
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void test_alignment_64_and_padding(void **state) {
    (void)state;
    const char *path = tu_tmp("a64.gguf");
    struct lpq_gguf_writer *w = NULL;
    struct lpq_err err;
    static const float f[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    uint8_t q[34], h[6];
    memset(q, 0xAB, sizeof(q));
    memset(h, 0xCD, sizeof(h));
    int64_t ne_f[1] = { 8 }, ne_q[1] = { 32 }, ne_h[2] = { 3, 1 };

    assert_int_equal(lpq_gguf_writer_create(path, &w, &err), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_alignment(w, 3), LPQ_STATUS_BAD_ARG);
    assert_int_equal(lpq_gguf_writer_set_alignment(w, 64), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_str(w, "general.architecture", "test"), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "f", LPQ_TYPE_F32, 1, ne_f), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "q", LPQ_TYPE_Q8_0, 1, ne_q), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "h", LPQ_TYPE_F16, 2, ne_h), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_write_tensor(w, f, sizeof(f)), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_write_tensor(w, q, sizeof(q)), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_write_tensor(w, h, sizeof(h)), LPQ_STATUS_OK);
    /* Nothing at the destination until finish. */
    assert_int_equal(count_files("a64.gguf.tmp."), 1);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(lpq_gguf_writer_finish(w), LPQ_STATUS_OK);
    lpq_gguf_writer_free(w);
    assert_int_equal(count_files("a64.gguf.tmp."), 0);

    struct lpq_gguf *g = open_path(path);
    uint32_t a = 0;
    assert_int_equal(lpq_gguf_alignment(g), 64);
    assert_int_equal(lpq_gguf_get_u32(g, "general.alignment", &a), LPQ_STATUS_OK);
    assert_int_equal(a, 64);
    uint64_t ds = lpq_gguf_data_offset(g);
    assert_int_equal(ds % 64, 0);
    assert_int_equal(lpq_gguf_tensor(g, 0)->offset, 0);
    assert_int_equal(lpq_gguf_tensor(g, 1)->offset, 64);
    assert_int_equal(lpq_gguf_tensor(g, 2)->offset, 128);
    assert_memory_equal(lpq_gguf_tensor(g, 0)->data, f, sizeof(f));
    assert_memory_equal(lpq_gguf_tensor(g, 1)->data, q, sizeof(q));
    assert_memory_equal(lpq_gguf_tensor(g, 2)->data, h, sizeof(h));
    assert_int_equal(lpq_gguf_file_size(g), ds + 192);   /* the last tensor is padded too */

    /* Every byte that is not header or tensor data is zero padding. */
    size_t n;
    uint8_t *raw = tu_read_file(path, &n);
    assert_non_null(raw);
    for (size_t i = 0; i < n; i++) {
        bool is_data = false;
        for (int64_t t = 0; t < 3; t++) {
            const struct lpq_gguf_tensor *tt = lpq_gguf_tensor(g, t);
            is_data |= i >= tt->file_offset && i < tt->file_offset + tt->size;
        }
        if (i >= ds && !is_data && raw[i] != 0) fail_msg("padding byte %zu is %u", i, raw[i]);
    }
    /* Header: 24 + kvs (alignment 8+17+4+4, architecture 8+20+4+8+4) + infos (f and q
     * 8+1+4+8+4+8 each, h 8+1+4+16+4+8) = 208 bytes, zero-padded to 256. */
    assert_int_equal(ds, 256);
    for (size_t i = 208; i < ds; i++) assert_int_equal(raw[i], 0);
    free(raw);
    lpq_gguf_close(g);
}

static void test_writer_api(void **state) {
    (void)state;
    const char *path = tu_tmp("api.gguf");
    struct lpq_gguf_writer *w = NULL;
    struct lpq_err err;
    tu_use_cmocka_allocator();
    assert_int_equal(lpq_gguf_writer_create(path, &w, &err), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_u32(w, "k.a", 1), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_i32(w, "k.b", -2), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_u64(w, "k.c", 1ull << 40), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_f32(w, "k.d", 0.25f), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_bool(w, "k.e", true), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_strn(w, "k.f", "x\0y", 3), LPQ_STATUS_OK);
    double dv = -1.5;
    assert_int_equal(lpq_gguf_writer_set_val(w, "k.g", LPQ_GGUF_F64, &dv), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_val(w, "k.h", LPQ_GGUF_STRING, "no"), LPQ_STATUS_BAD_ARG);
    static const uint16_t arr[3] = { 7, 8, 9 };
    assert_int_equal(lpq_gguf_writer_set_arr(w, "k.i", LPQ_GGUF_U16, arr, 3), LPQ_STATUS_OK);
    static const char *const strs[2] = { "one", "two" };
    assert_int_equal(lpq_gguf_writer_set_arr_str(w, "k.j", strs, NULL, 2), LPQ_STATUS_OK);
    /* A repeated key keeps its place and takes the new value; remove drops a key. */
    assert_int_equal(lpq_gguf_writer_set_str(w, "k.a", "replaced"), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_u32(w, "k.z", 5), LPQ_STATUS_OK);
    lpq_gguf_writer_remove_kv(w, "k.z");
    lpq_gguf_writer_remove_kv(w, "k.absent");

    int64_t ne[2] = { 48, 2 }, ne_ok[2] = { 64, 1 };
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "t", LPQ_TYPE_Q4_0, 2, ne), LPQ_STATUS_BAD_ARG);
    assert_non_null(strstr(lpq_gguf_writer_errmsg(w), "not a multiple of the Q4_0 block size 32"));
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "t", 99, 2, ne_ok), LPQ_STATUS_BAD_ARG);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "t", LPQ_TYPE_F32, 5, ne_ok), LPQ_STATUS_BAD_ARG);
    ne[0] = 0;
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "t", LPQ_TYPE_F32, 2, ne), LPQ_STATUS_BAD_ARG);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "t", LPQ_TYPE_Q4_0, 2, ne_ok), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "t", LPQ_TYPE_F32, 2, ne_ok), LPQ_STATUS_BAD_ARG);
    uint8_t q[36] = { 0 };
    assert_int_equal(lpq_gguf_writer_write_tensor(w, q, 36), LPQ_STATUS_OK);
    /* The header is out: no more keys or tensors. */
    assert_int_equal(lpq_gguf_writer_set_u32(w, "late", 1), LPQ_STATUS_BAD_ARG);
    assert_int_equal(lpq_gguf_writer_finish(w), LPQ_STATUS_OK);
    lpq_gguf_writer_free(w);
    lpq_gguf_writer_free(NULL);

    struct lpq_gguf *g = open_path(path);
    const char *s;
    size_t len;
    uint64_t n;
    int64_t iv;
    assert_int_equal(lpq_gguf_n_kv(g), 9);
    assert_string_equal(lpq_gguf_kv_key(g, 0), "k.a");
    assert_int_equal(lpq_gguf_get_str(g, "k.a", &s, NULL), LPQ_STATUS_OK);
    assert_string_equal(s, "replaced");
    assert_int_equal(lpq_gguf_get_int(g, "k.b", &iv), LPQ_STATUS_OK);
    assert_int_equal(iv, -2);
    assert_int_equal(lpq_gguf_get_int(g, "k.c", &iv), LPQ_STATUS_OK);
    assert_true(iv == (int64_t)1 << 40);
    assert_int_equal(lpq_gguf_get_str(g, "k.f", &s, &len), LPQ_STATUS_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "x\0y", 3);
    assert_int_equal(lpq_gguf_get_float(g, "k.g", &dv), LPQ_STATUS_OK);
    assert_true(dv == -1.5);
    assert_int_equal(lpq_gguf_get_arr_str(g, "k.j", 1, &s, NULL), LPQ_STATUS_OK);
    assert_string_equal(s, "two");
    const void *d;
    assert_int_equal(lpq_gguf_get_arr(g, "k.i", LPQ_GGUF_U16, &d, &n), LPQ_STATUS_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(d, arr, sizeof(arr));
    assert_int_equal(lpq_gguf_find_key(g, "k.z"), -1);
    assert_int_equal(lpq_gguf_n_tensors(g), 1);
    assert_int_equal(lpq_gguf_tensor(g, 0)->size, 36);
    lpq_gguf_close(g);

    /* No tensors at all: finish writes the header alone. */
    assert_int_equal(lpq_gguf_writer_create(path, &w, &err), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_str(w, "only", "kv"), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_finish(w), LPQ_STATUS_OK);
    lpq_gguf_writer_free(w);
    g = open_path(path);
    assert_int_equal(lpq_gguf_n_tensors(g), 0);
    assert_int_equal(lpq_gguf_n_kv(g), 1);
    lpq_gguf_close(g);
    lpq_set_allocator(NULL);
}

static const char OLD[] = "existing output, must survive";

static void assert_old_output_intact(const char *path, const char *tmp_prefix) {
    size_t n;
    char *c = tu_read_file(path, &n);
    assert_non_null(c);
    assert_int_equal(n, sizeof(OLD));
    assert_memory_equal(c, OLD, sizeof(OLD));
    free(c);
    assert_int_equal(count_files(tmp_prefix), 0);
}

static void test_failures_leave_no_partial_file(void **state) {
    (void)state;
    const char *path = tu_tmp("out.gguf");
    struct lpq_gguf_writer *w = (struct lpq_gguf_writer *)(uintptr_t)0x1;
    struct lpq_err err;
    int64_t ne[1] = { 256 };
    static float data[256];

    /* A directory that does not exist: create fails, naming the path and errno text. */
    char bad[1024];
    snprintf(bad, sizeof(bad), "%s/no/such/dir/x.gguf", tu_tmpdir());
    assert_int_equal(lpq_gguf_writer_create(bad, &w, &err), LPQ_STATUS_IO);
    assert_ptr_equal(w, (void *)(uintptr_t)0x1);
    assert_non_null(strstr(err.msg, bad));
    assert_non_null(strstr(err.msg, "No such file or directory"));

    assert_int_equal(tu_write_file(path, OLD, sizeof(OLD)), 0);

    /* Wrong tensor size half-way: the temporary file goes at once, the old output stays. */
    assert_int_equal(lpq_gguf_writer_create(path, &w, &err), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "a", LPQ_TYPE_F32, 1, ne), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "b", LPQ_TYPE_F32, 1, ne), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_write_tensor(w, data, sizeof(data)), LPQ_STATUS_OK);
    assert_int_equal(count_files("out.gguf.tmp."), 1);
    assert_int_equal(lpq_gguf_writer_write_tensor(w, data, sizeof(data) - 4), LPQ_STATUS_BAD_ARG);
    assert_non_null(strstr(lpq_gguf_writer_errmsg(w), "tensor 'b' is 1024 bytes, got 1020"));
    assert_old_output_intact(path, "out.gguf.tmp.");
    assert_int_equal(lpq_gguf_writer_finish(w), LPQ_STATUS_BAD_ARG);   /* sticky */
    lpq_gguf_writer_free(w);
    assert_old_output_intact(path, "out.gguf.tmp.");

    /* Too many bytes through write_tensor_part. */
    assert_int_equal(lpq_gguf_writer_create(path, &w, &err), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "a", LPQ_TYPE_F32, 1, ne), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_write_tensor_part(w, data, 1000), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_write_tensor_part(w, data, 25), LPQ_STATUS_BAD_ARG);
    lpq_gguf_writer_free(w);
    assert_old_output_intact(path, "out.gguf.tmp.");

    /* Not every tensor written: finish refuses. */
    assert_int_equal(lpq_gguf_writer_create(path, &w, &err), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "a", LPQ_TYPE_F32, 1, ne), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "b", LPQ_TYPE_F32, 1, ne), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_write_tensor(w, data, sizeof(data)), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_finish(w), LPQ_STATUS_BAD_ARG);
    assert_non_null(strstr(lpq_gguf_writer_errmsg(w), "1 of 2 tensors were not written"));
    lpq_gguf_writer_free(w);
    assert_old_output_intact(path, "out.gguf.tmp.");

    /* Free without finish. */
    assert_int_equal(lpq_gguf_writer_create(path, &w, &err), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "a", LPQ_TYPE_F32, 1, ne), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_write_tensor(w, data, sizeof(data)), LPQ_STATUS_OK);
    lpq_gguf_writer_free(w);
    assert_old_output_intact(path, "out.gguf.tmp.");
}

/* A real write error half-way (the disk "fills up"): RLIMIT_FSIZE makes write(2) fail
 * with EFBIG once the temporary file reaches 64 KiB. */
static void test_write_error_midway(void **state) {
    (void)state;
    const char *path = tu_tmp("full.gguf");
    struct lpq_gguf_writer *w = NULL;
    struct lpq_err err;
    int64_t ne[2] = { 1024, 1024 };   /* 4 MiB F32 */
    float *data = calloc(1024 * 1024, sizeof(float));
    assert_non_null(data);
    assert_int_equal(tu_write_file(path, OLD, sizeof(OLD)), 0);

    struct rlimit old_lim, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(lpq_gguf_writer_create(path, &w, &err), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_add_tensor(w, "big", LPQ_TYPE_F32, 2, ne), LPQ_STATUS_OK);
    lim = old_lim;
    lim.rlim_cur = 64 * 1024;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    enum lpq_status st = lpq_gguf_writer_write_tensor(w, data, 4u << 20);
    setrlimit(RLIMIT_FSIZE, &old_lim);
    signal(SIGXFSZ, old_sig);
    assert_int_equal(st, LPQ_STATUS_IO);
    const char *msg = lpq_gguf_writer_errmsg(w);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "File too large"));
    assert_int_equal(lpq_gguf_writer_finish(w), LPQ_STATUS_IO);
    lpq_gguf_writer_free(w);
    free(data);
    assert_old_output_intact(path, "full.gguf.tmp.");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_stories260k),
        cmocka_unit_test(test_roundtrip_quant_fixtures),
        cmocka_unit_test(test_alignment_64_and_padding),
        cmocka_unit_test(test_writer_api),
        cmocka_unit_test(test_failures_leave_no_partial_file),
        cmocka_unit_test(test_write_error_midway),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
