/*
 * test_cpu_fixtures.c — the CPU engine on every quantized fixture of ../shared/ref/quant:
 * logits of T1 vs llama.cpp's within tolerances.json (NMSE and top-1 agreement, printed per
 * type; 1 and 2 threads bit-identical), and bad input built here with the GGUF writer from stories260K / fixture-f32 (missing
 * tensor, wrong shape, unsupported type, unknown architecture, missing key, context beyond the
 * model's limit), each refused with its status and a message naming the tensor or key.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "quant/gguf.h"
#include "runtimes/runtime.h"

static int setup(void **state) {
    (void)state;
    if (tu_have_shared()) tu_use_cmocka_allocator();
    return 0;
}

static enum lpq_status try_load(const char *path, int64_t n_ctx, struct lpq_rt_model **out, struct lpq_err *e) {
    const struct lpq_rt_reg *reg;
    assert_int_equal(lpq_rt_find("cpu", &reg, e), LPQ_STATUS_OK);
    struct lpq_rt_params p = lpq_rt_params_default();
    p.n_threads = 2;
    p.n_ctx = n_ctx;
    lpq_err_clear(e);
    return lpq_rt_model_load(reg, path, &p, out, e);
}

static int64_t argmax(const float *x, int64_t n) {
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* Logits of every T1 position of `model_rel` at n_threads (malloc'd; caller frees). */
static float *fixture_logits(const char *model_rel, int n_threads, const int32_t *toks, int64_t nt, int64_t nv) {
    assert_true(nt <= 64);
    struct lpq_err e;
    const struct lpq_rt_reg *reg;
    assert_int_equal(lpq_rt_find("cpu", &reg, &e), LPQ_STATUS_OK);
    struct lpq_rt_params p = lpq_rt_params_default();
    p.n_threads = n_threads;
    p.n_ctx = 64;
    struct lpq_rt_model *m = NULL;
    if (lpq_rt_model_load(reg, tu_shared(model_rel), &p, &m, &e) != LPQ_STATUS_OK) fail_msg("%s: %s", model_rel, e.msg);
    assert_int_equal(lpq_rt_n_vocab(m), nv);
    bool want[64];
    for (int64_t i = 0; i < nt; i++) want[i] = true;
    float *out = malloc((size_t)(nv * nt) * sizeof(float));
    if (lpq_rt_eval(m, toks, nt, want, out) != LPQ_STATUS_OK) fail_msg("%s: %s", model_rel, lpq_rt_errmsg(m));
    lpq_rt_model_free(m);
    return out;
}

/* One fixture: returns NMSE and the top-1 agreement against its llama.cpp logits; checks
 * that 1 and 2 threads give the same bits. */
static void run_fixture(const char *model_rel, const char *ref_rel, double *nmse_out, double *top1_out) {
    struct lpq_err e;
    struct lpq_gguf *g;
    assert_int_equal(lpq_gguf_open(tu_shared(ref_rel), NULL, &g, &e), LPQ_STATUS_OK);
    const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "logits"));
    const float *ref = t->data;
    const int64_t nv = t->ne[0], nt = t->ne[1];
    const void *d;
    uint64_t n;
    assert_int_equal(lpq_gguf_get_arr(g, "ref.tokens", LPQ_GGUF_I32, &d, &n), LPQ_STATUS_OK);
    assert_int_equal((int64_t)n, nt);
    int32_t toks[64];
    assert_true(nt <= 64);
    memcpy(toks, d, (size_t)nt * sizeof(int32_t));
    float *out = fixture_logits(model_rel, 2, toks, nt, nv);
    float *out1 = fixture_logits(model_rel, 1, toks, nt, nv);
    assert_memory_equal(out, out1, (size_t)(nv * nt) * sizeof(float));
    free(out1);
    double num = 0, den = 0;
    int same = 0;
    for (int64_t i = 0; i < nv * nt; i++) {
        double df = (double)out[i] - (double)ref[i];
        num += df * df;
        den += (double)ref[i] * (double)ref[i];
    }
    for (int64_t p = 0; p < nt; p++) same += argmax(out + p * nv, nv) == argmax(ref + p * nv, nv);
    *nmse_out = num / den;
    *top1_out = (double)same / (double)nt;
    free(out);
    lpq_gguf_close(g);
}

static void test_fixture_logits(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    json_error_t je;
    json_t *tol = json_load_file(tu_shared("ref/quant/tolerances.json"), 0, &je);
    assert_non_null(tol);
    const char *name;
    json_t *v;
    int n_checked = 0, n_bad = 0;
    json_object_foreach(tol, name, v) {
        char model[128], ref[128];
        if (strcmp(name, "F32") == 0)
            snprintf(model, sizeof(model), "ref/quant/fixture-f32.gguf");
        else if (strncmp(name, "mix-", 4) == 0)
            snprintf(model, sizeof(model), "ref/quant/%s.gguf", name);
        else
            snprintf(model, sizeof(model), "ref/quant/q-%s.gguf", name);
        snprintf(ref, sizeof(ref), "ref/quant/logits-%s-T1.gguf", name);
        double nmse_max = json_real_value(json_object_get(v, "nmse_max"));
        double top1_min = json_real_value(json_object_get(v, "top1_min"));
        double nmse, top1;
        run_fixture(model, ref, &nmse, &top1);
        bool ok = nmse <= nmse_max && top1 >= top1_min;
        printf("%-12s NMSE %.3e (max %.3e, %5.1f%% of it)  top-1 %.4f (min %.4f)  %s\n", name, nmse,
               nmse_max, 100.0 * nmse / nmse_max, top1, top1_min, ok ? "ok" : "FAIL");
        n_bad += !ok;
        n_checked++;
    }
    json_decref(tol);
    assert_int_equal(n_checked, 18);   /* 14 pure types, 3 mixes, F32 */
    assert_int_equal(n_bad, 0);
}

/* ---- bad input -------------------------------------------------------------------------- */

enum edit { EDIT_DROP, EDIT_SHAPE, EDIT_TYPE, EDIT_ARCH, EDIT_DROP_KEY, EDIT_ADD_STR };

/* Copies src into dst, applying one edit to tensor/key `what`. */
static void write_edited(const char *src, const char *dst, enum edit ed, const char *what, const char *arg) {
    struct lpq_err e;
    struct lpq_gguf *g;
    struct lpq_gguf_writer *w;
    assert_int_equal(lpq_gguf_open(tu_shared(src), NULL, &g, &e), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_create(dst, &w, &e), LPQ_STATUS_OK);
    for (int64_t i = 0; i < lpq_gguf_n_kv(g); i++) {
        const char *key = lpq_gguf_kv_key(g, i);
        if (ed == EDIT_DROP_KEY && strcmp(key, what) == 0) continue;
        if (ed == EDIT_ARCH && strcmp(key, "general.architecture") == 0) {
            assert_int_equal(lpq_gguf_writer_set_str(w, key, arg), LPQ_STATUS_OK);
            continue;
        }
        assert_int_equal(lpq_gguf_writer_copy_kv(w, g, i), LPQ_STATUS_OK);
    }
    if (ed == EDIT_ADD_STR) assert_int_equal(lpq_gguf_writer_set_str(w, what, arg), LPQ_STATUS_OK);
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) {
            const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
            bool hit = strcmp(t->name, what) == 0;
            if (hit && ed == EDIT_DROP) continue;
            if (pass == 1) {
                assert_int_equal(lpq_gguf_writer_write_tensor(w, t->data, t->size), LPQ_STATUS_OK);
                continue;
            }
            int64_t ne[4] = { t->ne[0], t->ne[1], t->ne[2], t->ne[3] };
            uint32_t type = t->type;
            if (hit && ed == EDIT_SHAPE) {   /* same bytes, dimensions swapped */
                ne[0] = t->ne[1];
                ne[1] = t->ne[0];
            }
            if (hit && ed == EDIT_TYPE) type = LPQ_TYPE_I32;   /* 4 bytes per value, like F32 */
            assert_int_equal(lpq_gguf_writer_add_tensor(w, t->name, type, t->n_dims, ne), LPQ_STATUS_OK);
        }
    }
    assert_int_equal(lpq_gguf_writer_finish(w), LPQ_STATUS_OK);
    lpq_gguf_writer_free(w);
    lpq_gguf_close(g);
}

static void expect_refusal(const char *path, int64_t n_ctx, enum lpq_status want, const char *msg_part) {
    struct lpq_rt_model *m = NULL;
    struct lpq_err e;
    enum lpq_status st = try_load(path, n_ctx, &m, &e);
    printf("  %-28s -> %s: %s\n", strrchr(path, '/') + 1, lpq_status_name(st), e.msg);
    assert_null(m);
    assert_int_equal(st, want);
    assert_int_equal(e.status, want);
    if (!strstr(e.msg, msg_part)) fail_msg("message '%s' does not contain '%s'", e.msg, msg_part);
    assert_null(strchr(e.msg, '\n'));
}

static void test_bad_input(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    const char *s260 = "models/stories260K.gguf";
    const char *p;

    p = tu_tmp("missing-tensor.gguf");
    write_edited(s260, p, EDIT_DROP, "blk.3.attn_k.weight", NULL);
    expect_refusal(p, 0, LPQ_STATUS_BAD_FILE, "missing tensor 'blk.3.attn_k.weight'");

    p = tu_tmp("wrong-shape.gguf");
    write_edited(s260, p, EDIT_SHAPE, "blk.3.attn_k.weight", NULL);
    expect_refusal(p, 0, LPQ_STATUS_BAD_FILE, "tensor 'blk.3.attn_k.weight' has shape [32,64], expected [64,32]");

    p = tu_tmp("unsupported-type.gguf");
    write_edited(s260, p, EDIT_TYPE, "blk.2.ffn_up.weight", NULL);
    expect_refusal(p, 0, LPQ_STATUS_UNSUPPORTED, "tensor 'blk.2.ffn_up.weight' has type I32");

    p = tu_tmp("unknown-arch.gguf");
    write_edited(s260, p, EDIT_ARCH, "", "mamba");
    expect_refusal(p, 0, LPQ_STATUS_UNSUPPORTED, "unknown architecture 'mamba' (supported: llama, qwen2, qwen3, gemma3)");

    p = tu_tmp("missing-key.gguf");
    write_edited(s260, p, EDIT_DROP_KEY, "llama.embedding_length", NULL);
    expect_refusal(p, 0, LPQ_STATUS_BAD_FILE, "missing key 'llama.embedding_length'");

    /* Hyper-parameters are read under the architecture's own prefix. */
    p = tu_tmp("qwen2-keys.gguf");
    write_edited(s260, p, EDIT_ARCH, "", "qwen2");
    expect_refusal(p, 0, LPQ_STATUS_BAD_FILE, "missing key 'qwen2.context_length'");

    p = tu_tmp("rope-yarn.gguf");
    write_edited(s260, p, EDIT_ADD_STR, "llama.rope.scaling.type", "yarn");
    expect_refusal(p, 0, LPQ_STATUS_UNSUPPORTED,
                   "rope scaling type 'yarn' (key 'llama.rope.scaling.type') is not supported");

    /* stories260K allows 2048 tokens. */
    expect_refusal(tu_shared(s260), 4096, LPQ_STATUS_RANGE, "2048");
    struct lpq_rt_model *m = NULL;
    struct lpq_err e;
    assert_int_equal(try_load(tu_shared(s260), 2048, &m, &e), LPQ_STATUS_OK);
    assert_int_equal(lpq_rt_n_ctx(m), 2048);
    lpq_rt_model_free(m);
}

/* Dense float weights in a batch of >= 32 rows go through OpenBLAS sgemm when the build has
 * it; the kernels' path (LPQ_NO_BLAS=1) must agree to float rounding. */
static void test_blas_matches_kernels(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    const char *models[] = { "ref/quant/fixture-f32.gguf", "ref/quant/q-F16.gguf", "ref/quant/q-BF16.gguf" };
    int32_t toks[40];
    for (int i = 0; i < 40; i++) toks[i] = (i * 37 + 1) % 512;
    for (size_t k = 0; k < LPQ_ARRAY_SIZE(models); k++) {
        unsetenv("LPQ_NO_BLAS");
        float *a = fixture_logits(models[k], 2, toks, 40, 512);
        setenv("LPQ_NO_BLAS", "1", 1);
        float *b = fixture_logits(models[k], 2, toks, 40, 512);
        unsetenv("LPQ_NO_BLAS");
        double num = 0, den = 0;
        for (int i = 0; i < 40 * 512; i++) {
            num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
            den += (double)b[i] * b[i];
        }
        printf("%-28s sgemm vs kernels NMSE %.3e\n", models[k], num / den);
        assert_true(num / den <= 1e-11);
        free(a);
        free(b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_logits),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_blas_matches_kernels),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
