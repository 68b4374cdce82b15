/*
 * test_gguf.c — the GGUF reader on every real file in ../shared (models, vocab-only files,
 * quant fixtures, reference logits): all open, and spot values match what llama.cpp and
 * the fixture READMEs say. Also the typed accessors' error codes, and that opening a large
 * file neither takes long nor faults in its tensor data.
 */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "quant/gguf-impl.h"
#include "quant/gguf.h"

static const int32_t T1[32] = { 1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426,
                                338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426 };

static struct lpq_gguf *open_ok(const char *rel) {
    struct lpq_gguf *g = NULL;
    struct lpq_err err;
    lpq_err_clear(&err);
    enum lpq_status st = lpq_gguf_open(tu_shared(rel), NULL, &g, &err);
    if (st != LPQ_STATUS_OK) fail_msg("%s: %s (%s)", rel, lpq_status_name(st), err.msg);
    assert_non_null(g);
    return g;
}

/* Invariants every valid file must satisfy, checked against the raw file bytes. */
static void check_invariants(const char *path, struct lpq_gguf *g) {
    assert_true(lpq_gguf_version(g) == 2 || lpq_gguf_version(g) == 3);
    uint32_t al = lpq_gguf_alignment(g);
    assert_true(al && !(al & (al - 1)));
    assert_int_equal(lpq_gguf_data_offset(g) % al, 0);
    assert_string_equal(lpq_gguf_path(g), path);
    for (int64_t i = 0; i < lpq_gguf_n_kv(g); i++) {
        const char *k = lpq_gguf_kv_key(g, i);
        assert_non_null(k);
        assert_int_equal(lpq_gguf_find_key(g, k), i);
        if (lpq_gguf_kv_type(g, i) == LPQ_GGUF_ARRAY && lpq_gguf_kv_arr_type(g, i) == LPQ_GGUF_STRING) {
            uint64_t n = lpq_gguf_kv_arr_n(g, i);
            size_t len = 0;
            for (uint64_t j = 0; j < n; j++) {
                const char *s = lpq_gguf_kv_str(g, i, j, &len);
                assert_non_null(s);
                assert_int_equal(s[len], '\0');
            }
            assert_null(lpq_gguf_kv_str(g, i, n, NULL));
        }
    }
    const uint8_t *base = NULL;
    for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
        assert_int_equal(lpq_gguf_find_tensor(g, t->name), i);
        assert_int_equal(t->offset % al, 0);
        assert_int_equal(t->file_offset, lpq_gguf_data_offset(g) + t->offset);
        assert_true(t->file_offset + t->size <= lpq_gguf_file_size(g));
        size_t row = lpq_type_row_size(t->type, t->ne[0]);
        assert_true(row > 0);
        assert_int_equal(t->size, row * (uint64_t)(lpq_gguf_tensor_nelements(t) / t->ne[0]));
        if (!base) base = (const uint8_t *)t->data - t->file_offset;
        assert_ptr_equal(t->data, base + t->file_offset);
    }
}

static int collect(const char *dir, char names[][1024], int max, int n) {
    DIR *d = opendir(dir);
    if (!d) return n;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".gguf")) snprintf(names[n++], 1024, "%.500s/%.500s", dir, e->d_name);
    }
    closedir(d);
    return n;
}

static void test_every_shared_file_opens(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    static char files[256][1024];
    int n = 0;
    char dir[4][512];
    snprintf(dir[0], sizeof(dir[0]), "%s", tu_shared("models"));
    snprintf(dir[1], sizeof(dir[1]), "%s", tu_shared("models/vocab"));
    snprintf(dir[2], sizeof(dir[2]), "%s", tu_shared("ref/quant"));
    snprintf(dir[3], sizeof(dir[3]), "%s", tu_shared("ref/stories260K"));
    for (int d = 0; d < 4; d++) n = collect(dir[d], files, 256, n);
    assert_true(n >= 80);   /* 82 when written: 2 models, 12 vocab, 67 quant, 1 logits */
    int vocab = 0, with_tensors = 0;
    for (int i = 0; i < n; i++) {
        struct lpq_gguf *g = NULL;
        struct lpq_err err;
        enum lpq_status st = lpq_gguf_open(files[i], NULL, &g, &err);
        if (st != LPQ_STATUS_OK) fail_msg("%s: %s", files[i], err.msg);
        check_invariants(files[i], g);
        if (strstr(files[i], "/vocab/")) {
            vocab++;
            uint64_t nt = 0;
            assert_int_equal(lpq_gguf_n_tensors(g), 0);
            assert_int_equal(lpq_gguf_get_arr_str_n(g, "tokenizer.ggml.tokens", &nt), LPQ_STATUS_OK);
            assert_true(nt >= 1000);
        }
        if (lpq_gguf_n_tensors(g) > 0) with_tensors++;
        lpq_gguf_close(g);

        /* Header-only open gives the same header and no data pointers. */
        struct lpq_gguf_params prm = lpq_gguf_params_default();
        prm.no_data = true;
        assert_int_equal(lpq_gguf_open(files[i], &prm, &g, &err), LPQ_STATUS_OK);
        for (int64_t t = 0; t < lpq_gguf_n_tensors(g); t++) assert_null(lpq_gguf_tensor(g, t)->data);
        lpq_gguf_close(g);
    }
    assert_int_equal(vocab, 12);
    assert_true(with_tensors >= 60);
}

static void test_stories260k_values(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    tu_use_cmocka_allocator();   /* leaks in open/close fail this test */
    struct lpq_gguf *g = open_ok("models/stories260K.gguf");
    const char *s;
    size_t len;
    uint32_t u;
    int64_t i64;
    float f;
    double d;
    uint64_t n;

    assert_int_equal(lpq_gguf_version(g), 3);
    assert_int_equal(lpq_gguf_n_kv(g), 19);
    assert_int_equal(lpq_gguf_get_str(g, "general.architecture", &s, &len), LPQ_STATUS_OK);
    assert_string_equal(s, "llama");
    assert_int_equal(len, 5);
    assert_int_equal(lpq_gguf_get_u32(g, "llama.embedding_length", &u), LPQ_STATUS_OK);
    assert_int_equal(u, 64);
    assert_int_equal(lpq_gguf_get_int(g, "llama.feed_forward_length", &i64), LPQ_STATUS_OK);
    assert_int_equal(i64, 172);
    assert_int_equal(lpq_gguf_get_int(g, "tokenizer.ggml.padding_token_id", &i64), LPQ_STATUS_OK);
    assert_int_equal(i64, 4294967295LL);
    assert_int_equal(lpq_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f), LPQ_STATUS_OK);
    assert_float_equal(f, 1e-5f, 1e-9f);
    assert_int_equal(lpq_gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &d), LPQ_STATUS_OK);
    assert_float_equal(d, 1e-5, 1e-9);

    assert_int_equal(lpq_gguf_get_arr_str_n(g, "tokenizer.ggml.tokens", &n), LPQ_STATUS_OK);
    assert_int_equal(n, 512);
    assert_int_equal(lpq_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 1, &s, &len), LPQ_STATUS_OK);
    assert_string_equal(s, "<s>");
    assert_int_equal(lpq_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 2, &s, NULL), LPQ_STATUS_OK);
    assert_string_equal(s, "</s>");
    const void *data;
    assert_int_equal(lpq_gguf_get_arr(g, "tokenizer.ggml.token_type", LPQ_GGUF_I32, &data, &n), LPQ_STATUS_OK);
    assert_int_equal(n, 512);
    int32_t tt[3];
    memcpy(tt, data, sizeof(tt));
    assert_int_equal(tt[0], 2);
    assert_int_equal(tt[1], 3);
    assert_int_equal(lpq_gguf_get_arr(g, "tokenizer.ggml.scores", LPQ_GGUF_F32, &data, &n), LPQ_STATUS_OK);
    assert_int_equal(n, 512);

    assert_int_equal(lpq_gguf_n_tensors(g), 48);
    assert_int_equal(lpq_gguf_data_offset(g), 14176);   /* header ends at 14152, aligned to 32 */
    int64_t ti = lpq_gguf_find_tensor(g, "token_embd.weight");
    assert_int_equal(ti, 0);
    const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, ti);
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->ne[0], 64);
    assert_int_equal(t->ne[1], 512);
    assert_int_equal(t->ne[2], 1);
    assert_int_equal(t->type, LPQ_TYPE_F32);
    assert_int_equal(t->size, 64 * 512 * 4);
    t = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.0.ffn_down.weight"));
    assert_non_null(t);
    assert_int_equal(t->ne[0], 172);
    assert_int_equal(t->ne[1], 64);
    assert_int_equal(t->offset, 355840);
    assert_int_equal(lpq_gguf_find_tensor(g, "blk.5.attn_q.weight"), -1);
    assert_int_equal(lpq_gguf_find_key(g, "llama.nope"), -1);

    /* Data pointers are the file's bytes. */
    size_t fsize;
    uint8_t *raw = tu_read_file(tu_shared("models/stories260K.gguf"), &fsize);
    assert_non_null(raw);
    assert_int_equal(fsize, lpq_gguf_file_size(g));
    t = lpq_gguf_tensor(g, lpq_gguf_n_tensors(g) - 1);
    assert_memory_equal(t->data, raw + t->file_offset, t->size);
    free(raw);
    lpq_gguf_close(g);
    lpq_set_allocator(NULL);
}

static void test_quant_fixture_shapes(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    static const struct { const char *name; int64_t ne0, ne1; } shapes[] = {
        { "token_embd.weight", 256, 512 },      { "blk.0.attn_norm.weight", 256, 1 },
        { "blk.0.attn_q.weight", 256, 256 },    { "blk.0.attn_k.weight", 256, 128 },
        { "blk.0.attn_v.weight", 256, 128 },    { "blk.0.attn_output.weight", 256, 256 },
        { "blk.0.ffn_norm.weight", 256, 1 },    { "blk.0.ffn_gate.weight", 256, 512 },
        { "blk.0.ffn_up.weight", 256, 512 },    { "blk.0.ffn_down.weight", 512, 256 },
        { "output_norm.weight", 256, 1 },       { "output.weight", 256, 512 },
    };
    struct lpq_gguf *g = open_ok("ref/quant/q-Q4_K.gguf");
    uint32_t ft;
    assert_int_equal(lpq_gguf_n_tensors(g), 12);
    assert_int_equal(lpq_gguf_get_u32(g, "general.file_type", &ft), LPQ_STATUS_OK);
    assert_int_equal(ft, 15);
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(shapes); i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, shapes[i].name));
        assert_non_null(t);
        assert_int_equal(t->ne[0], shapes[i].ne0);
        assert_int_equal(t->ne[1], shapes[i].ne1);
        assert_int_equal(t->n_dims, shapes[i].ne1 == 1 ? 1 : 2);
        assert_int_equal(t->type, shapes[i].ne1 == 1 ? LPQ_TYPE_F32 : LPQ_TYPE_Q4_K);
    }
    /* llama-quantize writes output.weight first. */
    assert_string_equal(lpq_gguf_tensor(g, 0)->name, "output.weight");
    assert_int_equal(lpq_gguf_tensor(g, 0)->size, 512 * 144);
    lpq_gguf_close(g);

    g = open_ok("ref/quant/mix-Q4_K_M.gguf");
    assert_int_equal(lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.0.attn_v.weight"))->type, LPQ_TYPE_Q6_K);
    assert_int_equal(lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.0.ffn_up.weight"))->type, LPQ_TYPE_Q4_K);
    assert_int_equal(lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "output.weight"))->type, LPQ_TYPE_Q6_K);
    lpq_gguf_close(g);
}

static void check_logits(const char *rel, const char *model) {
    struct lpq_gguf *g = open_ok(rel);
    const void *data;
    uint64_t n;
    const char *s;
    assert_int_equal(lpq_gguf_get_arr(g, "ref.tokens", LPQ_GGUF_I32, &data, &n), LPQ_STATUS_OK);
    assert_int_equal(n, 32);
    int32_t tok[32];
    memcpy(tok, data, sizeof(tok));
    assert_memory_equal(tok, T1, sizeof(T1));
    assert_int_equal(lpq_gguf_get_str(g, "ref.model", &s, NULL), LPQ_STATUS_OK);
    assert_string_equal(s, model);
    const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "logits"));
    assert_non_null(t);
    assert_int_equal(t->ne[0], 512);
    assert_int_equal(t->ne[1], 32);
    assert_int_equal(t->type, LPQ_TYPE_F32);
    lpq_gguf_close(g);
}

static void test_logits_files(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    check_logits("ref/stories260K/logits-T1.gguf", "stories260K.gguf");
    check_logits("ref/quant/logits-Q4_K-T1.gguf", "q-Q4_K.gguf");
}

static void test_accessor_errors(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    struct lpq_gguf *g = open_ok("models/stories260K.gguf");
    float f = 42.0f;
    uint32_t u = 7;
    int64_t i64 = 5;
    const char *s = "untouched";
    const void *data = NULL;
    uint64_t n = 9;
    bool b = true;
    double d = 0;

    assert_string_equal(lpq_gguf_errmsg(g), "");
    assert_int_equal(lpq_gguf_get_f32(g, "llama.embedding_length", &f), LPQ_STATUS_TYPE_MISMATCH);
    assert_float_equal(f, 42.0f, 0);
    assert_non_null(strstr(lpq_gguf_errmsg(g), "'llama.embedding_length'"));
    assert_non_null(strstr(lpq_gguf_errmsg(g), "u32"));
    assert_non_null(strstr(lpq_gguf_errmsg(g), "f32"));
    assert_int_equal(lpq_gguf_get_u32(g, "general.architecture", &u), LPQ_STATUS_TYPE_MISMATCH);
    assert_int_equal(u, 7);
    assert_non_null(strstr(lpq_gguf_errmsg(g), "has type string, not u32"));
    assert_int_equal(lpq_gguf_get_str(g, "tokenizer.ggml.tokens", &s, NULL), LPQ_STATUS_TYPE_MISMATCH);
    assert_string_equal(s, "untouched");
    assert_non_null(strstr(lpq_gguf_errmsg(g), "array of string"));
    assert_int_equal(lpq_gguf_get_arr(g, "tokenizer.ggml.scores", LPQ_GGUF_I32, &data, &n), LPQ_STATUS_TYPE_MISMATCH);
    assert_non_null(strstr(lpq_gguf_errmsg(g), "array of f32, not array of i32"));
    assert_int_equal(lpq_gguf_get_arr(g, "tokenizer.ggml.tokens", LPQ_GGUF_STRING, &data, &n), LPQ_STATUS_TYPE_MISMATCH);
    assert_null(data);
    assert_int_equal(n, 9);
    assert_int_equal(lpq_gguf_get_arr_str_n(g, "tokenizer.ggml.scores", &n), LPQ_STATUS_TYPE_MISMATCH);
    assert_int_equal(lpq_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 512, &s, NULL), LPQ_STATUS_RANGE);
    assert_int_equal(lpq_gguf_get_int(g, "general.name", &i64), LPQ_STATUS_TYPE_MISMATCH);
    assert_int_equal(i64, 5);
    assert_int_equal(lpq_gguf_get_float(g, "llama.block_count", &d), LPQ_STATUS_TYPE_MISMATCH);
    assert_int_equal(lpq_gguf_get_bool(g, "llama.block_count", &b), LPQ_STATUS_TYPE_MISMATCH);
    assert_true(b);

    assert_int_equal(lpq_gguf_get_u32(g, "no.such.key", &u), LPQ_STATUS_NOT_FOUND);
    assert_int_equal(u, 7);
    assert_non_null(strstr(lpq_gguf_errmsg(g), "'no.such.key' not found"));
    assert_int_equal(lpq_gguf_get_str(g, "no.such.key", &s, NULL), LPQ_STATUS_NOT_FOUND);
    assert_int_equal(lpq_gguf_get_arr_str_n(g, "no.such.key", &n), LPQ_STATUS_NOT_FOUND);
    assert_int_equal(lpq_gguf_get_int(g, "", &i64), LPQ_STATUS_NOT_FOUND);

    /* Index accessors are safe out of range. */
    assert_null(lpq_gguf_kv_key(g, -1));
    assert_null(lpq_gguf_kv_key(g, lpq_gguf_n_kv(g)));
    assert_int_equal(lpq_gguf_kv_type(g, 99), LPQ_GGUF_VTYPE_COUNT);
    assert_null(lpq_gguf_tensor(g, 48));
    assert_null(lpq_gguf_kv_data(g, -3));
    lpq_gguf_close(g);
    lpq_gguf_close(NULL);
}

static void test_open_errors(void **state) {
    (void)state;
    struct lpq_gguf *g = (struct lpq_gguf *)(uintptr_t)0x1;   /* must stay untouched */
    struct lpq_err err;
    assert_int_equal(lpq_gguf_open(tu_tmp("missing.gguf"), NULL, &g, &err), LPQ_STATUS_IO);
    assert_ptr_equal(g, (void *)(uintptr_t)0x1);
    assert_non_null(strstr(err.msg, "missing.gguf"));
    assert_non_null(strstr(err.msg, "No such file"));
    assert_int_equal(lpq_gguf_open(tu_tmpdir(), NULL, &g, &err), LPQ_STATUS_IO);
    assert_int_equal(tu_write_file(tu_tmp("empty.gguf"), "", 0), 0);
    assert_int_equal(lpq_gguf_open(tu_tmp("empty.gguf"), NULL, &g, &err), LPQ_STATUS_BAD_FILE);
    assert_true(strncmp(err.msg, tu_tmp("empty.gguf"), strlen(tu_tmp("empty.gguf"))) == 0);
    assert_non_null(strstr(err.msg, ": offset 0: truncated"));
    assert_ptr_equal(g, (void *)(uintptr_t)0x1);
}

/* A 1 GiB F32 tensor in a sparse file: the open is fast and faults in no tensor page. */
static void test_large_file_open_is_lazy(void **state) {
    (void)state;
    const char *path = tu_tmp("big.gguf");
    uint8_t hdr[64] = { 0 };
    size_t n = 0;
    uint32_t u32;
    uint64_t u64;
#define PUT(v) (memcpy(hdr + n, &(v), sizeof(v)), n += sizeof(v))
    u32 = LPQ_GGUF_MAGIC; PUT(u32);
    u32 = 3; PUT(u32);
    u64 = 1; PUT(u64);   /* tensors */
    u64 = 0; PUT(u64);   /* kvs */
    u64 = 1; PUT(u64);
    memcpy(hdr + n, "w", 1); n += 1;
    u32 = 1; PUT(u32);
    u64 = (uint64_t)1 << 28; PUT(u64);
    u32 = LPQ_TYPE_F32; PUT(u32);
    u64 = 0; PUT(u64);
#undef PUT
    const uint64_t data_off = 64, size = (uint64_t)1 << 30;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, hdr, n), (ssize_t)n);
    assert_int_equal(ftruncate(fd, (off_t)(data_off + size)), 0);
    close(fd);

    struct timespec a, b;
    struct lpq_gguf *g = NULL;
    struct lpq_err err;
    clock_gettime(CLOCK_MONOTONIC, &a);
    enum lpq_status st = lpq_gguf_open(path, NULL, &g, &err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (st) fail_msg("%s", err.msg);
    double secs = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    assert_true(secs < 0.1);
    const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, 0);
    assert_int_equal(t->size, size);
    assert_int_equal(t->file_offset, data_off);

    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)t->data + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    size_t pages = (size_t)((size - (uint64_t)page) / (uint64_t)page);
    unsigned char *vec = malloc(pages);
    assert_non_null(vec);
    assert_int_equal(mincore((void *)start, pages * (size_t)page, vec), 0);
    size_t resident = 0;
    for (size_t i = 0; i < pages; i++) resident += vec[i] & 1;
    free(vec);
    assert_true(resident < 16);
    lpq_gguf_close(g);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_shared_file_opens),
        cmocka_unit_test(test_stories260k_values),
        cmocka_unit_test(test_quant_fixture_shapes),
        cmocka_unit_test(test_logits_files),
        cmocka_unit_test(test_accessor_errors),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_large_file_open_is_lazy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
