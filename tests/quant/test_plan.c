/*
 * test_plan.c — type plans: llama.cpp's mixes on the fixture (types.json), Q4_K_M on a
 * 24-layer qwen2 shape (more-bits rows, row-896 fallbacks with reasons, tied output), GQA and
 * MoE refinements, --pure, overrides and the embedding/output type options.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/gguf.h"
#include "quant/quantize.h"

static struct lpq_plan *plan_shape(const char *shape, const char *ftype, struct lpq_plan_params *pp_in) {
    struct lpq_model_arch a;
    struct lpq_plan_tensor_in *t = NULL;
    size_t n = 0;
    assert_int_equal(lpq_synth_shape_tensors(shape, &a, &t, &n, NULL), LPQ_STATUS_OK);
    struct lpq_plan_params pp = pp_in ? *pp_in : lpq_plan_params_default(lpq_ftype_find(ftype));
    if (pp_in) pp.ftype = lpq_ftype_find(ftype);
    struct lpq_plan *plan = NULL;
    assert_int_equal(lpq_plan_build(&a, t, n, &pp, &plan, NULL), LPQ_STATUS_OK);
    lpq_synth_tensors_free(t, n);
    return plan;
}

static uint32_t type_of(const struct lpq_plan *p, const char *name) {
    const struct lpq_plan_entry *e = lpq_plan_find(p, name);
    assert_non_null(e);
    return e->type;
}

/* FORMATS.md: Q6_K rows are i < n/8, i >= 7n/8, (i - n/8) % 3 == 2 — written out for n = 24. */
static bool more_bits_24(int i) {
    static const int rows[] = { 0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23 };
    for (size_t k = 0; k < LPQ_ARRAY_SIZE(rows); k++) if (rows[k] == i) return true;
    return false;
}

static void test_q4_k_m_qwen2(void **state) {
    (void)state;
    struct lpq_plan *p = plan_shape("qwen2.5-0.5b", "Q4_K_M", NULL);
    char nm[96];
    int n_q6 = 0;
    for (int i = 0; i < 24; i++) {
        snprintf(nm, sizeof(nm), "blk.%d.ffn_down.weight", i);   /* rows of 4864 = 19·256 */
        assert_int_equal(type_of(p, nm), more_bits_24(i) ? LPQ_TYPE_Q6_K : LPQ_TYPE_Q4_K);
        n_q6 += more_bits_24(i);
        /* attn_v rows are 896: Q6_K cannot hold them, the fallback is Q8_0 and says so */
        snprintf(nm, sizeof(nm), "blk.%d.attn_v.weight", i);
        const struct lpq_plan_entry *e = lpq_plan_find(p, nm);
        assert_true(e->fallback);
        assert_non_null(strstr(e->reason, "896"));
        if (more_bits_24(i)) {
            assert_int_equal(e->type, LPQ_TYPE_Q8_0);
            assert_non_null(strstr(e->reason, "Q6_K"));
        } else {
            /* GQA 7: one step up (Q5_K), which at 896 falls back to Q5_1 */
            assert_int_equal(e->type, LPQ_TYPE_Q5_1);
        }
        snprintf(nm, sizeof(nm), "blk.%d.attn_q.weight", i);
        e = lpq_plan_find(p, nm);
        assert_int_equal(e->type, LPQ_TYPE_Q5_0);   /* llama.cpp's Q4_K fallback */
        assert_true(e->fallback);
        assert_non_null(strstr(e->reason, "fallback"));
        snprintf(nm, sizeof(nm), "blk.%d.attn_norm.weight", i);
        assert_int_equal(type_of(p, nm), LPQ_TYPE_F32);
        snprintf(nm, sizeof(nm), "blk.%d.attn_q.bias", i);
        assert_int_equal(type_of(p, nm), LPQ_TYPE_F32);
    }
    assert_int_equal(n_q6, 12);
    /* tied embedding = the output: Q6_K by the mix, Q8_0 because 896 % 256 != 0 */
    assert_null(lpq_plan_find(p, "output.weight"));
    assert_int_equal(type_of(p, "token_embd.weight"), LPQ_TYPE_Q8_0);
    assert_int_equal(type_of(p, "output_norm.weight"), LPQ_TYPE_F32);
    assert_true(p->n_fallback > 24 * 5);
    double bpw = lpq_plan_bpw(p);
    assert_true(bpw > 4.5 && bpw < 8.5);
    lpq_plan_free(p);
}

static void test_q4_k_m_llama_gqa(void **state) {
    (void)state;
    /* Llama-3.2-1B: d 2048, 32/8 heads (GQA 4), 16 layers */
    struct lpq_plan *p = plan_shape("llama-3.2-1b", "Q4_K_M", NULL);
    char nm[96];
    for (int i = 0; i < 16; i++) {
        bool mb = i < 2 || i >= 14 || (i - 2) % 3 == 2;
        snprintf(nm, sizeof(nm), "blk.%d.attn_v.weight", i);
        assert_int_equal(type_of(p, nm), mb ? LPQ_TYPE_Q6_K : LPQ_TYPE_Q5_K);
        snprintf(nm, sizeof(nm), "blk.%d.attn_k.weight", i);
        assert_int_equal(type_of(p, nm), LPQ_TYPE_Q5_K);
        snprintf(nm, sizeof(nm), "blk.%d.attn_q.weight", i);
        assert_int_equal(type_of(p, nm), LPQ_TYPE_Q4_K);
        snprintf(nm, sizeof(nm), "blk.%d.ffn_down.weight", i);
        assert_int_equal(type_of(p, nm), mb ? LPQ_TYPE_Q6_K : LPQ_TYPE_Q4_K);
    }
    assert_int_equal(type_of(p, "token_embd.weight"), LPQ_TYPE_Q6_K);   /* tied: the output rule */
    assert_int_equal(p->n_fallback, 0);
    lpq_plan_free(p);
}

/* llama.cpp's own mixes of the fixture (ref/quant/README.md table) are reproduced exactly. */
static void test_fixture_mixes_match_llama(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    static const struct { const char *mix; const char *tensor; uint32_t t; } want[] = {
        { "Q4_K_M", "token_embd.weight", LPQ_TYPE_Q4_K }, { "Q4_K_M", "blk.0.attn_v.weight", LPQ_TYPE_Q6_K },
        { "Q4_K_M", "blk.0.attn_k.weight", LPQ_TYPE_Q4_K }, { "Q4_K_M", "blk.0.ffn_down.weight", LPQ_TYPE_Q6_K },
        { "Q4_K_M", "blk.0.attn_output.weight", LPQ_TYPE_Q4_K }, { "Q4_K_M", "output.weight", LPQ_TYPE_Q6_K },
        { "Q3_K_M", "token_embd.weight", LPQ_TYPE_Q3_K }, { "Q3_K_M", "blk.0.attn_v.weight", LPQ_TYPE_Q5_K },
        { "Q3_K_M", "blk.0.attn_output.weight", LPQ_TYPE_Q4_K }, { "Q3_K_M", "blk.0.ffn_down.weight", LPQ_TYPE_Q4_K },
        { "Q3_K_M", "blk.0.ffn_up.weight", LPQ_TYPE_Q3_K }, { "Q3_K_M", "output.weight", LPQ_TYPE_Q6_K },
        { "Q2_K", "token_embd.weight", LPQ_TYPE_Q2_K }, { "Q2_K", "blk.0.attn_v.weight", LPQ_TYPE_Q3_K },
        { "Q2_K", "blk.0.attn_output.weight", LPQ_TYPE_Q3_K }, { "Q2_K", "blk.0.ffn_down.weight", LPQ_TYPE_Q3_K },
        { "Q2_K", "blk.0.ffn_gate.weight", LPQ_TYPE_Q2_K }, { "Q2_K", "output.weight", LPQ_TYPE_Q6_K },
        { "Q2_K", "blk.0.ffn_norm.weight", LPQ_TYPE_F32 },
    };
    struct lpq_gguf *g = NULL;
    assert_int_equal(lpq_gguf_open(tu_shared("ref/quant/fixture-f32.gguf"), NULL, &g, NULL), LPQ_STATUS_OK);
    for (size_t k = 0; k < LPQ_ARRAY_SIZE(want); k++) {
        struct lpq_plan_params pp = lpq_plan_params_default(lpq_ftype_find(want[k].mix));
        struct lpq_plan *p = NULL;
        assert_int_equal(lpq_plan_build_gguf(g, &pp, &p, NULL), LPQ_STATUS_OK);
        if (type_of(p, want[k].tensor) != want[k].t)
            print_message("%s %s: %s\n", want[k].mix, want[k].tensor, lpq_type_name(type_of(p, want[k].tensor)));
        assert_int_equal(type_of(p, want[k].tensor), want[k].t);
        lpq_plan_free(p);
    }
    lpq_gguf_close(g);
}

static void test_pure_and_options(void **state) {
    (void)state;
    struct lpq_plan_params pp = lpq_plan_params_default(NULL);
    pp.pure = true;
    struct lpq_plan *p = plan_shape("tiny", "Q4_K_M", &pp);
    for (size_t i = 0; i < p->n_entries; i++) {
        const struct lpq_plan_entry *e = &p->entries[i];
        assert_int_equal(e->type, e->n_dims >= 2 ? LPQ_TYPE_Q4_K : LPQ_TYPE_F32);
    }
    lpq_plan_free(p);

    struct lpq_tensor_override ov[] = { { "attn_(q|k)\\.weight$", LPQ_TYPE_Q8_0 }, { "ffn_up", LPQ_TYPE_IQ4_NL } };
    pp = lpq_plan_params_default(NULL);
    pp.overrides = ov;
    pp.n_overrides = 2;
    pp.token_embd_type = LPQ_TYPE_Q8_0;
    pp.output_type = LPQ_TYPE_Q5_K;
    p = plan_shape("tiny", "Q4_K_M", &pp);
    assert_int_equal(type_of(p, "blk.1.attn_q.weight"), LPQ_TYPE_Q8_0);
    assert_int_equal(type_of(p, "blk.1.attn_k.weight"), LPQ_TYPE_Q8_0);
    assert_non_null(strstr(lpq_plan_find(p, "blk.1.attn_k.weight")->reason, "override"));
    assert_int_equal(type_of(p, "blk.2.ffn_up.weight"), LPQ_TYPE_IQ4_NL);
    assert_int_equal(type_of(p, "blk.2.ffn_gate.weight"), LPQ_TYPE_Q4_K);
    assert_int_equal(type_of(p, "token_embd.weight"), LPQ_TYPE_Q8_0);
    assert_int_equal(type_of(p, "output.weight"), LPQ_TYPE_Q5_K);
    lpq_plan_free(p);

    /* a bad regex is an error naming it */
    struct lpq_tensor_override bad[] = { { "attn_(q", LPQ_TYPE_Q8_0 } };
    pp = lpq_plan_params_default(lpq_ftype_find("Q4_K_M"));
    pp.overrides = bad;
    pp.n_overrides = 1;
    struct lpq_model_arch a;
    struct lpq_plan_tensor_in *t = NULL;
    size_t n = 0;
    assert_int_equal(lpq_synth_shape_tensors("tiny", &a, &t, &n, NULL), LPQ_STATUS_OK);
    struct lpq_err err;
    lpq_err_clear(&err);
    p = NULL;
    assert_int_equal(lpq_plan_build(&a, t, n, &pp, &p, &err), LPQ_STATUS_BAD_ARG);
    assert_null(p);
    assert_non_null(strstr(err.msg, "attn_(q"));
    lpq_synth_tensors_free(t, n);

    /* ftype names */
    assert_null(lpq_ftype_find("Q9_Z"));
    assert_string_equal(lpq_ftype_find("q4_k")->name, "Q4_K_M");
    assert_int_equal(lpq_ftype_find("IQ4_XS")->llama_ftype, 30);
    assert_int_equal(lpq_ftype_find("Q3_K_L")->llama_ftype, 13);
}

static void test_moe_refinements(void **state) {
    (void)state;
    struct lpq_model_arch a;
    memset(&a, 0, sizeof(a));
    strcpy(a.arch, "qwen2moe");
    a.n_layer = 8;
    a.n_head = 16;
    a.n_head_kv = 4;
    a.n_expert = 8;
    struct lpq_plan_tensor_in t[] = {
        { "token_embd.weight", LPQ_TYPE_F16, 2, { 1024, 1000, 1, 1 } },
        { "blk.0.ffn_gate_inp.weight", LPQ_TYPE_F16, 2, { 1024, 8, 1, 1 } },
        { "blk.0.ffn_up_exps.weight", LPQ_TYPE_F16, 3, { 1024, 512, 8, 1 } },
        { "blk.0.ffn_down_exps.weight", LPQ_TYPE_F16, 3, { 512, 1024, 8, 1 } },
        { "blk.0.ffn_up_shexp.weight", LPQ_TYPE_F16, 2, { 1024, 2048, 1, 1 } },
        { "blk.4.attn_v.weight", LPQ_TYPE_F16, 2, { 1024, 256, 1, 1 } },
        { "blk.4.attn_k.weight", LPQ_TYPE_F16, 2, { 1024, 256, 1, 1 } },
        { "output.weight", LPQ_TYPE_F16, 2, { 1024, 1000, 1, 1 } },
    };
    struct lpq_plan_params pp = lpq_plan_params_default(lpq_ftype_find("Q4_K_M"));
    struct lpq_plan *p = NULL;
    assert_int_equal(lpq_plan_build(&a, t, LPQ_ARRAY_SIZE(t), &pp, &p, NULL), LPQ_STATUS_OK);
    assert_int_equal(type_of(p, "blk.0.ffn_gate_inp.weight"), LPQ_TYPE_F32);
    assert_non_null(strstr(lpq_plan_find(p, "blk.0.ffn_gate_inp.weight")->reason, "router"));
    assert_int_equal(type_of(p, "blk.0.ffn_up_exps.weight"), LPQ_TYPE_Q4_K);
    assert_int_equal(type_of(p, "blk.0.ffn_down_exps.weight"), LPQ_TYPE_Q6_K);   /* layer 0: more bits */
    assert_int_equal(type_of(p, "blk.0.ffn_up_shexp.weight"), LPQ_TYPE_Q5_K);
    assert_int_equal(type_of(p, "blk.4.attn_v.weight"), LPQ_TYPE_Q8_0);
    assert_int_equal(type_of(p, "blk.4.attn_k.weight"), LPQ_TYPE_Q8_0);
    assert_int_equal(type_of(p, "output.weight"), LPQ_TYPE_Q6_K);
    /* sizes count all experts */
    assert_int_equal(lpq_plan_find(p, "blk.0.ffn_up_exps.weight")->n_elements, 1024 * 512 * 8);
    lpq_plan_free(p);
}

int main(void) {
    tu_use_cmocka_allocator();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_q4_k_m_qwen2),
        cmocka_unit_test(test_q4_k_m_llama_gqa),
        cmocka_unit_test(test_fixture_mixes_match_llama),
        cmocka_unit_test(test_pure_and_options),
        cmocka_unit_test(test_moe_refinements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
