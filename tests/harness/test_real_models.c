/*
 * test_real_models.c — a real model from the optional cache that scripts/get-test-models fills
 * (SmolLM2-135M-Instruct, Q4_1, llama architecture, byte-level BPE "smollm" pre-tokenizer, tied
 * Q8_0 embeddings) on lpq's CPU runtime: prompt tokens, 16 greedy tokens on a counting prompt and the perplexity of a
 * WikiText-2 slice, each against what llama.cpp gave on the same file (docs/MODELS.md). Skips
 * with a visible message when the cache does not hold the model.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtimes/runtime.h"

#define SMOL_FILE "SmolLM2-135M-Instruct.Q4_1.gguf"
#define SMOL_SIZE 98362432LL       /* bytes, as in scripts/test-models.lock */
#define SMOL_VOCAB 49152

static char g_model[1024];

/* llama-tokenize -p "Once upon a time, there was a little" (no BOS: add_bos_token is false). */
static const char PROMPT[] = "Once upon a time, there was a little";
static const int32_t PROMPT_IDS[] = { 6403, 1980, 253, 655, 28, 665, 436, 253, 1838 };

/* The greedy check uses a prompt whose 16 continuation tokens each lead the runner-up by at
 * least 1.7 logits in lpq: story prompts have near-ties (0.001 for "Once upon a time, ...",
 * token 5) that flip between compilers (gcc vs clang+ASan builds) and between runtimes.
 * llama-completion -p GEN_PROMPT -n 16 --temp 0 -no-cnv -t 2 gave " 9, 10, 11, 12, ",
 * re-tokenized with llama-tokenize (every digit is its own token). */
static const char GEN_PROMPT[] = "1, 2, 3, 4, 5, 6, 7, 8,";
static const int32_t GEN_PROMPT_IDS[] = { 33, 28, 216, 34, 28, 216, 35, 28, 216, 36, 28, 216,
                                          37, 28, 216, 38, 28, 216, 39, 28, 216, 40, 28 };
static const int32_t GREEDY_IDS[16] = { 216, 41, 28, 216, 33, 32, 28, 216,
                                        33, 33, 28, 216, 33, 34, 28, 216 };

/* The first 128 tokens of wikitext2_test.nonblank_crlf.raw as llama-perplexity tokenizes it
 * (its --kl-divergence-base file, -c 128). */
static const int32_t WIKI_IDS[128] = {
    446, 6356, 389, 9226, 352, 446, 216, 2738, 6356, 389, 9226, 352, 314, 354, 2321, 4771,
    3297, 8552, 284, 16984, 17523, 1673, 909, 761, 253, 16204, 3394, 29, 48, 45608, 1791, 335,
    260, 8552, 3086, 378, 8593, 281, 216, 34, 32, 32, 32, 1673, 669, 436, 3922, 411,
    253, 45608, 1791, 281, 260, 1238, 3488, 707, 2855, 411, 15399, 5970, 3139, 3297, 527, 436,
    4940, 281, 216, 34, 32, 32, 33, 418, 260, 7598, 5620, 22660, 1673, 909, 761, 253,
    16204, 1791, 281, 260, 8552, 3086, 22083, 2322, 1413, 277, 281, 216, 34, 32, 32, 34,
    1673, 533, 216, 34, 32, 32, 36, 389, 9226, 352, 16176, 253, 1791, 347, 476, 26984,
    476, 281, 260, 12592, 476, 25617, 13285, 637, 99, 10124, 476, 282, 260, 8552, 3086, 378,
};
/* llama-perplexity -c 128 --chunks 1 on the same file: 9.2994 (default F16 KV cache, flash
 * attention) and 9.2998 (-ctk f32 -ctv f32 -fa off). lpq measured 9.4154 (gcc release, AVX-512
 * or AVX2), 9.3840 (scalar) and 9.3787 (clang ASan build): +0.8 to +1.2 %, from the Q4_1 path
 * (docs/MODELS.md). The accepted band is llama.cpp's figure ± 3 %: a broken kernel or attention
 * lands far outside it (tens to tens of thousands). */
#define WIKI_PPL_LLAMA 9.2998
#define WIKI_PPL_TOL 0.03

static int setup(void **state) {
    (void)state;
    snprintf(g_model, sizeof g_model, "%s", tu_model_cache(SMOL_FILE));
    return 0;
}

/* Loads the model or skips, saying why. */
static struct lpq_rt_model *load_or_skip(void) {
    tu_skip_unless_cached(g_model, SMOL_SIZE);
    const struct lpq_rt_reg *cpu = NULL;
    struct lpq_err e;
    if (lpq_rt_find("cpu", &cpu, &e) != LPQ_STATUS_OK) {
        print_message("SKIP: %s\n", e.msg);
        skip();
    }
    struct lpq_rt_params p = lpq_rt_params_default();
    p.n_threads = 2;
    p.n_ctx = 256;
    p.n_batch = 128;
    struct lpq_rt_model *m = NULL;
    if (lpq_rt_model_load(cpu, g_model, &p, &m, &e) != LPQ_STATUS_OK)
        fail_msg("cpu runtime cannot load %s: %s", g_model, e.msg);
    assert_int_equal(lpq_rt_n_vocab(m), SMOL_VOCAB);
    return m;
}

static void test_prompt_tokens(void **state) {
    (void)state;
    struct lpq_rt_model *m = load_or_skip();
    int32_t ids[64];
    size_t n = 0;
    assert_int_equal(lpq_rt_tokenize(m, PROMPT, strlen(PROMPT), true, true, ids, 64, &n), LPQ_STATUS_OK);
    assert_int_equal(n, sizeof PROMPT_IDS / sizeof PROMPT_IDS[0]);
    assert_memory_equal(ids, PROMPT_IDS, sizeof PROMPT_IDS);

    /* The smollm pre-tokenizer on real text: the head of the file llama-perplexity read. */
    size_t len = 0;
    char *text = tu_have_shared() ? tu_read_file(tu_shared("data/wikitext2_test.nonblank_crlf.raw"), &len) : NULL;
    if (text) {
        int32_t *wid = malloc(sizeof(int32_t) * 1024);
        assert_non_null(wid);
        size_t nw = 0;
        const size_t head = len < 1500 ? len : 1500;   /* ~370 tokens: the first 128 are settled */
        assert_int_equal(lpq_rt_tokenize(m, text, head, true, false, wid, 1024, &nw), LPQ_STATUS_OK);
        assert_true(nw >= 128);
        for (int i = 0; i < 128; i++)
            if (wid[i] != WIKI_IDS[i])
                fail_msg("wikitext token %d is %d, llama.cpp gave %d", i, (int)wid[i], (int)WIKI_IDS[i]);
        free(wid);
        free(text);
    }
    lpq_rt_model_free(m);
}

static void test_greedy_matches_llama_cpp(void **state) {
    (void)state;
    struct lpq_rt_model *m = load_or_skip();
    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    gp.n_predict = 16;
    gp.sampler.temperature = 0.0f;
    gp.stop_at_eog = false;
    int32_t out[32] = { 0 };
    struct lpq_rt_gen_result res;
    int32_t ids[64];
    size_t n_prompt = 0;
    assert_int_equal(lpq_rt_tokenize(m, GEN_PROMPT, strlen(GEN_PROMPT), true, true, ids, 64, &n_prompt),
                     LPQ_STATUS_OK);
    assert_int_equal(n_prompt, sizeof GEN_PROMPT_IDS / sizeof GEN_PROMPT_IDS[0]);
    assert_memory_equal(ids, GEN_PROMPT_IDS, sizeof GEN_PROMPT_IDS);
    assert_int_equal(lpq_rt_generate(m, ids, (int64_t)n_prompt, &gp, out, 32, &res), LPQ_STATUS_OK);
    assert_int_equal(res.n_gen, 16);
    for (int i = 0; i < 16; i++)
        if (out[i] != GREEDY_IDS[i])
            fail_msg("greedy token %d is %d, llama.cpp gave %d", i, (int)out[i], (int)GREEDY_IDS[i]);
    lpq_rt_model_free(m);
}

/* PPL over the second half of one 128-token window, scored as llama-perplexity does. */
static void test_wikitext_slice_ppl(void **state) {
    (void)state;
    struct lpq_rt_model *m = load_or_skip();
    enum { T = 128 };
    bool want[T];
    for (int i = 0; i < T; i++) want[i] = i >= T / 2 && i < T - 1;
    float *logits = malloc(sizeof(float) * (size_t)SMOL_VOCAB * (T - 1 - T / 2));
    assert_non_null(logits);
    assert_int_equal(lpq_rt_kv_trim(m, 0), LPQ_STATUS_OK);
    assert_int_equal(lpq_rt_eval(m, WIKI_IDS, T, want, logits), LPQ_STATUS_OK);
    double nll = 0.0;
    int n = 0;
    for (int i = T / 2; i < T - 1; i++, n++) {
        const float *row = logits + (size_t)n * SMOL_VOCAB;
        float mx = row[0];
        for (int v = 1; v < SMOL_VOCAB; v++) mx = row[v] > mx ? row[v] : mx;
        double se = 0.0;
        for (int v = 0; v < SMOL_VOCAB; v++) se += exp((double)row[v] - mx);
        nll += mx + log(se) - row[WIKI_IDS[i + 1]];
    }
    free(logits);
    const double ppl = exp(nll / n);
    print_message("SmolLM2 Q4_1 wikitext slice: lpq PPL %.4f, llama.cpp %.4f\n", ppl, WIKI_PPL_LLAMA);
    assert_true(isfinite(ppl));
    assert_true(ppl > WIKI_PPL_LLAMA * (1.0 - WIKI_PPL_TOL));
    assert_true(ppl < WIKI_PPL_LLAMA * (1.0 + WIKI_PPL_TOL));
    lpq_rt_model_free(m);
}

int main(void) {
    tu_use_cmocka_allocator();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_tokens),
        cmocka_unit_test(test_greedy_matches_llama_cpp),
        cmocka_unit_test(test_wikitext_slice_ppl),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
