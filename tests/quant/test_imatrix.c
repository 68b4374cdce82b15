/*
 * test_imatrix.c — importance matrices: accumulation, llama.cpp's GGUF layout on disk, the
 * save/load round trip (dense and expert entries), refusal of non-imatrix files, and
 * quantizing with an imatrix through the pipeline.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/gguf.h"
#include "quant/quantize.h"

static void test_accumulate_and_roundtrip(void **state) {
    (void)state;
    struct lpq_imatrix *im = NULL;
    assert_int_equal(lpq_imatrix_create(&im, NULL), LPQ_STATUS_OK);
    float x[3 * 4] = { 1, 2, 3, 4, -1, 0, 1, 2, 2, 2, 2, 2 };
    assert_int_equal(lpq_imatrix_add(im, "blk.0.attn_q.weight", x, 4, 3), LPQ_STATUS_OK);
    assert_int_equal(lpq_imatrix_add(im, "blk.0.attn_q.weight", x, 4, 1), LPQ_STATUS_OK);
    assert_int_equal(lpq_imatrix_add(im, "blk.0.attn_q.weight", x, 5, 1), LPQ_STATUS_BAD_ARG);
    float e0[2 * 8], e1[8];
    for (int i = 0; i < 16; i++) e0[i] = (float)(i % 8) * 0.5f;
    for (int i = 0; i < 8; i++) e1[i] = 3.0f;
    assert_int_equal(lpq_imatrix_add_mat(im, "blk.0.ffn_up_exps.weight", 0, 4, e0, 8, 2), LPQ_STATUS_OK);
    assert_int_equal(lpq_imatrix_add_mat(im, "blk.0.ffn_up_exps.weight", 2, 4, e1, 8, 1), LPQ_STATUS_OK);
    assert_int_equal(lpq_imatrix_add_dataset(im, "calib.txt"), LPQ_STATUS_OK);
    lpq_imatrix_set_chunks(im, 7, 512);

    float m[8];
    assert_int_equal(lpq_imatrix_get(im, "blk.0.attn_q.weight", 0, m, 4), LPQ_STATUS_OK);
    /* column 0: (1 + 1 + 4 + 1) / 4 rows */
    assert_float_equal(m[0], 7.0f / 4.0f, 1e-6);
    assert_float_equal(m[3], (16 + 4 + 4 + 16) / 4.0f, 1e-6);
    assert_int_equal(lpq_imatrix_get(im, "nope", 0, m, 4), LPQ_STATUS_NOT_FOUND);
    assert_int_equal(lpq_imatrix_get(im, "blk.0.ffn_up_exps.weight", 1, m, 8), LPQ_STATUS_NOT_FOUND);  /* no rows */

    const char *path = tu_tmp("im.gguf");
    assert_int_equal(lpq_imatrix_save(im, path, NULL), LPQ_STATUS_OK);

    /* llama.cpp's layout: general.type, <name>.in_sum2 [n_cols, n_mat], <name>.counts [1, n_mat] */
    struct lpq_gguf *g = NULL;
    assert_int_equal(lpq_gguf_open(path, NULL, &g, NULL), LPQ_STATUS_OK);
    const char *gt = NULL;
    assert_int_equal(lpq_gguf_get_str(g, "general.type", &gt, NULL), LPQ_STATUS_OK);
    assert_string_equal(gt, "imatrix");
    uint32_t cc = 0;
    assert_int_equal(lpq_gguf_get_u32(g, "imatrix.chunk_count", &cc), LPQ_STATUS_OK);
    assert_int_equal(cc, 7);
    const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.0.ffn_up_exps.weight.in_sum2"));
    assert_non_null(t);
    assert_int_equal(t->type, LPQ_TYPE_F32);
    assert_int_equal(t->ne[0], 8);
    assert_int_equal(t->ne[1], 4);
    t = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.0.attn_q.weight.counts"));
    assert_non_null(t);
    float c0;
    memcpy(&c0, t->data, 4);
    assert_float_equal(c0, 4.0f, 0);
    lpq_gguf_close(g);

    struct lpq_imatrix *im2 = NULL;
    assert_int_equal(lpq_imatrix_load(path, &im2, NULL), LPQ_STATUS_OK);
    assert_int_equal(lpq_imatrix_n_entries(im2), 2);
    float m2[8];
    assert_int_equal(lpq_imatrix_get(im, "blk.0.attn_q.weight", 0, m, 4), LPQ_STATUS_OK);
    assert_int_equal(lpq_imatrix_get(im2, "blk.0.attn_q.weight", 0, m2, 4), LPQ_STATUS_OK);
    assert_memory_equal(m, m2, 4 * sizeof(float));
    assert_int_equal(lpq_imatrix_get(im2, "blk.0.ffn_up_exps.weight", 2, m2, 8), LPQ_STATUS_OK);
    assert_float_equal(m2[5], 9.0f, 1e-6);
    assert_int_equal(lpq_imatrix_get(im2, "blk.0.ffn_up_exps.weight", 0, m2, 8), LPQ_STATUS_OK);
    assert_float_equal(m2[3], 2.25f, 1e-6);
    lpq_imatrix_free(im2);
    lpq_imatrix_free(im);
}

static void test_refuses_non_imatrix(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    struct lpq_imatrix *im = NULL;
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_imatrix_load(tu_shared("ref/quant/fixture-f32.gguf"), &im, &err), LPQ_STATUS_BAD_FILE);
    assert_null(im);
    assert_true(strlen(err.msg) > 0);
    assert_int_equal(lpq_imatrix_load(tu_tmp("missing.gguf"), &im, &err), LPQ_STATUS_IO);
}

/* An imatrix that stresses a few columns changes the quantized file and lowers the error
 * on those columns. */
static void test_quantize_with_imatrix(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    const char *fix = tu_shared("ref/quant/fixture-f32.gguf");
    struct lpq_gguf *g = NULL;
    assert_int_equal(lpq_gguf_open(fix, NULL, &g, NULL), LPQ_STATUS_OK);
    struct lpq_imatrix *im = NULL;
    assert_int_equal(lpq_imatrix_create(&im, NULL), LPQ_STATUS_OK);
    float row[256];
    for (int i = 0; i < 256; i++) row[i] = (i % 16 == 0) ? 10.0f : 0.1f;
    for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
        if (t->n_dims == 2 && t->ne[0] == 256) assert_int_equal(lpq_imatrix_add(im, t->name, row, 256, 1), LPQ_STATUS_OK);
    }
    struct lpq_quantize_params p = lpq_quantize_params_default(lpq_ftype_find("Q4_0"));
    p.n_threads = 2;
    assert_int_equal(lpq_quantize_file(fix, tu_tmp("a.gguf"), &p, NULL, NULL), LPQ_STATUS_OK);
    p.imatrix = im;
    assert_int_equal(lpq_quantize_file(fix, tu_tmp("b.gguf"), &p, NULL, NULL), LPQ_STATUS_OK);
    struct lpq_gguf *ga = NULL, *gb = NULL;
    assert_int_equal(lpq_gguf_open(tu_tmp("a.gguf"), NULL, &ga, NULL), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_open(tu_tmp("b.gguf"), NULL, &gb, NULL), LPQ_STATUS_OK);
    const char *name = "blk.0.ffn_up.weight";
    const struct lpq_gguf_tensor *t0 = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, name));
    const struct lpq_gguf_tensor *ta = lpq_gguf_tensor(ga, lpq_gguf_find_tensor(ga, name));
    const struct lpq_gguf_tensor *tb = lpq_gguf_tensor(gb, lpq_gguf_find_tensor(gb, name));
    double ea = 0, eb = 0;
    float ya[256], yb[256];
    size_t rs = lpq_type_row_size(ta->type, 256);
    for (int64_t r = 0; r < t0->ne[1]; r++) {
        const float *x = (const float *)t0->data + r * 256;
        lpq_quant_row_to_float(ta->type, (const uint8_t *)ta->data + r * rs, ya, 256);
        lpq_quant_row_to_float(tb->type, (const uint8_t *)tb->data + r * rs, yb, 256);
        for (int c = 0; c < 256; c++) {
            double wi = row[c] * row[c];
            ea += wi * (x[c] - ya[c]) * (x[c] - ya[c]);
            eb += wi * (x[c] - yb[c]) * (x[c] - yb[c]);
        }
    }
    print_message("  activation-weighted error: plain %.4g, with imatrix %.4g\n", ea, eb);
    assert_true(eb < 0.9 * ea);
    lpq_gguf_close(ga);
    lpq_gguf_close(gb);
    lpq_gguf_close(g);
    lpq_imatrix_free(im);
}

int main(void) {
    tu_use_cmocka_allocator();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accumulate_and_roundtrip),
        cmocka_unit_test(test_refuses_non_imatrix),
        cmocka_unit_test(test_quantize_with_imatrix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
