/*
 * test_synth.c — synthetic models: the tiny shape opens with the expected tensors and a valid
 * byte-level tokenizer, weights look like a trained net's (std 0.02, norms about 1), the same
 * seed gives the same bytes (at any thread count), a quantized type follows its plan, and the
 * real shapes carry their published hyper-parameters.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <jansson.h>

#include "quant/gguf.h"
#include "quant/quantize.h"

static void synth(const char *path, const char *type, uint64_t seed, int threads) {
    struct lpq_synth_params p = lpq_synth_params_default();
    p.shape = "tiny";
    p.type = type;
    p.seed = seed;
    p.n_threads = threads;
    struct lpq_err err;
    lpq_err_clear(&err);
    enum lpq_status st = lpq_synth_write(path, &p, &err);
    if (st) print_message("%s\n", err.msg);
    assert_int_equal(st, LPQ_STATUS_OK);
}

static void test_tiny_opens(void **state) {
    (void)state;
    const char *path = tu_tmp("tiny.gguf");
    synth(path, "F32", 1, 2);
    struct lpq_gguf *g = NULL;
    assert_int_equal(lpq_gguf_open(path, NULL, &g, NULL), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_n_tensors(g), 1 + 4 * 9 + 2);
    const char *names[] = { "token_embd.weight", "blk.0.attn_q.weight", "blk.3.ffn_down.weight", "output.weight",
                            "output_norm.weight", "blk.2.attn_k.weight" };
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(names); i++) assert_true(lpq_gguf_find_tensor(g, names[i]) >= 0);
    const struct lpq_gguf_tensor *k = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.2.attn_k.weight"));
    assert_int_equal(k->ne[0], 256);
    assert_int_equal(k->ne[1], 128);   /* 2 KV heads × 64 */
    int64_t v;
    assert_int_equal(lpq_gguf_get_int(g, "llama.block_count", &v), LPQ_STATUS_OK);
    assert_int_equal(v, 4);
    assert_int_equal(lpq_gguf_get_int(g, "llama.attention.head_count_kv", &v), LPQ_STATUS_OK);
    assert_int_equal(v, 2);

    /* parameters: 1–5 M */
    int64_t np = 0;
    for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) np += lpq_gguf_tensor_nelements(lpq_gguf_tensor(g, i));
    assert_true(np > 1000000 && np < 5000000);

    /* weights like a trained net's */
    const struct lpq_gguf_tensor *q = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.0.attn_q.weight"));
    double s = 0, s2 = 0;
    int64_t n = lpq_gguf_tensor_nelements(q);
    for (int64_t i = 0; i < n; i++) { float x = ((const float *)q->data)[i]; s += x; s2 += (double)x * x; }
    assert_true(fabs(s / (double)n) < 1e-3);
    assert_true(fabs(sqrt(s2 / (double)n) - 0.02) < 1e-3);
    const struct lpq_gguf_tensor *nm = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.0.attn_norm.weight"));
    for (int i = 0; i < 256; i++) assert_true(fabsf(((const float *)nm->data)[i] - 1.0f) < 0.5f);
    lpq_gguf_close(g);
}

static void test_tokenizer_valid(void **state) {
    (void)state;
    const char *path = tu_tmp("tok.gguf");
    synth(path, "F16", 3, 1);
    struct lpq_gguf *g = NULL;
    assert_int_equal(lpq_gguf_open(path, NULL, &g, NULL), LPQ_STATUS_OK);
    const char *model = NULL;
    assert_int_equal(lpq_gguf_get_str(g, "tokenizer.ggml.model", &model, NULL), LPQ_STATUS_OK);
    assert_string_equal(model, "gpt2");
    uint64_t n_tok = 0, n_merge = 0;
    assert_int_equal(lpq_gguf_get_arr_str_n(g, "tokenizer.ggml.tokens", &n_tok), LPQ_STATUS_OK);
    const struct lpq_gguf_tensor *te = lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "token_embd.weight"));
    assert_int_equal((int64_t)n_tok, te->ne[1]);   /* exactly n_vocab */
    const void *types = NULL;
    uint64_t n_types = 0;
    assert_int_equal(lpq_gguf_get_arr(g, "tokenizer.ggml.token_type", LPQ_GGUF_I32, &types, &n_types), LPQ_STATUS_OK);
    assert_int_equal(n_types, n_tok);
    /* byte tokens: 'A' is itself, the space byte is U+0120 'Ġ' (GPT-2's byte map) */
    const char *s = NULL;
    assert_int_equal(lpq_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 'A', &s, NULL), LPQ_STATUS_OK);
    assert_string_equal(s, "A");
    assert_int_equal(lpq_gguf_get_arr_str(g, "tokenizer.ggml.tokens", ' ', &s, NULL), LPQ_STATUS_OK);
    assert_string_equal(s, "\xC4\xA0");
    /* tokens unique; every merge "a b" names two tokens and a+b is a token */
    for (uint64_t i = 0; i < n_tok; i++) {
        const char *a = NULL;
        lpq_gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &a, NULL);
        for (uint64_t j = i + 1; j < n_tok; j += 1) {
            const char *b = NULL;
            lpq_gguf_get_arr_str(g, "tokenizer.ggml.tokens", j, &b, NULL);
            if (!strcmp(a, b)) fail_msg("duplicate token %s", a);
        }
    }
    assert_int_equal(lpq_gguf_get_arr_str_n(g, "tokenizer.ggml.merges", &n_merge), LPQ_STATUS_OK);
    assert_true(n_merge >= 50);
    for (uint64_t m = 0; m < n_merge; m++) {
        const char *mg = NULL;
        lpq_gguf_get_arr_str(g, "tokenizer.ggml.merges", m, &mg, NULL);
        const char *sp = strchr(mg, ' ');
        assert_non_null(sp);
        char left[64], right[64], both[128];
        snprintf(left, sizeof(left), "%.*s", (int)(sp - mg), mg);
        snprintf(right, sizeof(right), "%s", sp + 1);
        snprintf(both, sizeof(both), "%s%s", left, right);
        int found = 0;
        for (uint64_t i = 0; i < n_tok; i++) {
            const char *a = NULL;
            lpq_gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &a, NULL);
            found |= (!strcmp(a, left)) << 0 | (!strcmp(a, right)) << 1 | (!strcmp(a, both)) << 2;
        }
        assert_int_equal(found, 7);
    }
    uint32_t bos = 0, eos = 0;
    assert_int_equal(lpq_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &eos), LPQ_STATUS_OK);
    assert_true(bos < n_tok && eos < n_tok && bos != eos);
    int32_t tt;
    memcpy(&tt, (const uint8_t *)types + 4 * bos, 4);
    assert_int_equal(tt, 3);   /* control */
    lpq_gguf_close(g);
}

static void test_deterministic(void **state) {
    (void)state;
    synth(tu_tmp("s1.gguf"), "Q4_K_M", 99, 1);
    synth(tu_tmp("s2.gguf"), "Q4_K_M", 99, 2);
    synth(tu_tmp("s3.gguf"), "Q4_K_M", 100, 2);
    size_t n1, n2, n3;
    char *a = tu_read_file(tu_tmp("s1.gguf"), &n1), *b = tu_read_file(tu_tmp("s2.gguf"), &n2), *c = tu_read_file(tu_tmp("s3.gguf"), &n3);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    assert_int_equal(n1, n3);
    assert_true(memcmp(a, c, n1) != 0);
    free(a); free(b); free(c);
    /* the quantized types follow the Q4_K_M plan */
    struct lpq_gguf *g = NULL;
    assert_int_equal(lpq_gguf_open(tu_tmp("s1.gguf"), NULL, &g, NULL), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "output.weight"))->type, LPQ_TYPE_Q6_K);
    assert_int_equal(lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.1.attn_q.weight"))->type, LPQ_TYPE_Q4_K);
    assert_int_equal(lpq_gguf_tensor(g, lpq_gguf_find_tensor(g, "blk.0.ffn_norm.weight"))->type, LPQ_TYPE_F32);
    uint32_t ft = 0;
    assert_int_equal(lpq_gguf_get_u32(g, "general.file_type", &ft), LPQ_STATUS_OK);
    assert_int_equal(ft, 15);
    lpq_gguf_close(g);
}

static void test_real_shapes(void **state) {
    (void)state;
    struct lpq_model_arch a;
    struct lpq_plan_tensor_in *t = NULL;
    size_t n = 0;
    assert_int_equal(lpq_synth_shape_tensors("qwen3-8b", &a, &t, &n, NULL), LPQ_STATUS_OK);
    int64_t np = 0;
    bool qn = false, out = false;
    for (size_t i = 0; i < n; i++) {
        np += t[i].ne[0] * t[i].ne[1];
        qn |= !strcmp(t[i].name, "blk.35.attn_q_norm.weight") && t[i].ne[0] == 128;
        out |= !strcmp(t[i].name, "output.weight") && t[i].ne[1] == 151936;
    }
    assert_true(qn && out);
    assert_true(np > 8000000000LL && np < 8400000000LL);   /* Qwen3-8B: 8.19 B */
    lpq_synth_tensors_free(t, n);
    assert_int_equal(lpq_synth_shape_tensors("qwen2.5-0.5b", &a, &t, &n, NULL), LPQ_STATUS_OK);
    np = 0;
    for (size_t i = 0; i < n; i++) np += t[i].ne[0] * t[i].ne[1];
    assert_true(np > 480000000LL && np < 500000000LL);       /* Qwen2.5-0.5B: 494 M */
    assert_true(a.tied);
    assert_int_equal(a.n_head / a.n_head_kv, 7);
    lpq_synth_tensors_free(t, n);
    assert_int_equal(lpq_synth_shape_tensors("llama-3.2-1b", &a, &t, &n, NULL), LPQ_STATUS_OK);
    np = 0;
    for (size_t i = 0; i < n; i++) np += t[i].ne[0] * t[i].ne[1];
    assert_true(np > 1200000000LL && np < 1300000000LL);     /* Llama-3.2-1B: 1.24 B */
    lpq_synth_tensors_free(t, n);
    assert_int_equal(lpq_synth_shape_tensors("gpt-5", &a, &t, &n, NULL), LPQ_STATUS_NOT_FOUND);
}

/* The commands: synth through the CLI (same seed, same bytes), then convert fills a model
 * folder with the baseline, the variants, their metadata.json and a manifest. */
static void test_cli_synth_convert(void **state) {
    (void)state;
    const char *bin = tu_bin("lpq-quant");
    struct stat sb;
    assert_int_equal(stat(bin, &sb), 0);
    char cmd[4096], *out = NULL;
    char a[1024], b[1024], dir[1024], p[1200];
    snprintf(a, sizeof(a), "%s", tu_tmp("cli-a.gguf"));
    snprintf(b, sizeof(b), "%s", tu_tmp("cli-b.gguf"));
    snprintf(dir, sizeof(dir), "%s/models/tiny", tu_tmpdir());
    snprintf(cmd, sizeof(cmd), "%s synth --shape tiny --type F16 -o %s --seed 5 && %s synth --shape tiny --type F16 -o %s --seed 5 --threads 1",
             bin, a, bin, b);
    assert_int_equal(tu_run(cmd, &out), 0);
    free(out);
    size_t na, nb;
    char *da = tu_read_file(a, &na), *db = tu_read_file(b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(da, db, na);
    free(da); free(db);
    snprintf(cmd, sizeof(cmd), "%s synth --shape nope --type F16 -o %s", bin, tu_tmp("no.gguf"));
    assert_int_not_equal(tu_run(cmd, &out), 0);
    free(out);

    snprintf(cmd, sizeof(cmd), "%s convert %s --model-dir %s --types Q4_K_M,Q8_0 --threads 2", bin, a, dir);
    assert_int_equal(tu_run(cmd, &out), 0);
    free(out);
    const char *variants[] = { "F16", "Q4_K_M", "Q8_0" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/gguf/%s/model.gguf", dir, variants[i]);
        assert_int_equal(stat(p, &sb), 0);
        snprintf(p, sizeof(p), "%s/gguf/%s/metadata.json", dir, variants[i]);
        json_error_t je;
        json_t *m = json_load_file(p, 0, &je);
        assert_non_null(m);
        assert_string_equal(json_string_value(json_object_get(m, "type")), variants[i]);
        const char *sha = json_string_value(json_object_get(json_object_get(m, "source"), "sha256"));
        assert_non_null(sha);
        assert_int_equal(strlen(sha), 64);
        json_decref(m);
    }
    snprintf(p, sizeof(p), "%s/manifest.json", dir);
    json_error_t je;
    json_t *m = json_load_file(p, 0, &je);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "baseline")), "F16");
    assert_string_equal(json_string_value(json_object_get(m, "name")), "tiny");
    json_t *arch = json_object_get(m, "architecture");
    assert_string_equal(json_string_value(json_object_get(arch, "attention")), "GQA");
    assert_int_equal(json_integer_value(json_object_get(arch, "gqa_ratio")), 2);
    assert_int_equal(json_array_size(json_object_get(m, "variants")), 3);
    json_decref(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_opens),
        cmocka_unit_test(test_tokenizer_valid),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_real_shapes),
        cmocka_unit_test(test_cli_synth_convert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
