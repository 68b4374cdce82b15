/*
 * test_types.c — the type trait table (geometry of every known id against FORMATS.md,
 * names, unknown ids, row sizes) and the fp16/bf16 scalar conversions, the fp16 ones
 * exhaustively over all 65536 half values.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "quant/types.h"

struct expect {
    uint32_t id;
    const char *name;
    int64_t blck;
    size_t bytes;
    bool supported;
};

/* FORMATS.md for the supported types; ggml's block definitions for the recognised ones. */
static const struct expect expected[] = {
    {0, "F32", 1, 4, true},       {1, "F16", 1, 2, true},        {30, "BF16", 1, 2, true},
    {2, "Q4_0", 32, 18, true},    {3, "Q4_1", 32, 20, true},     {6, "Q5_0", 32, 22, true},
    {7, "Q5_1", 32, 24, true},    {8, "Q8_0", 32, 34, true},     {9, "Q8_1", 32, 36, true},
    {10, "Q2_K", 256, 84, true},  {11, "Q3_K", 256, 110, true},  {12, "Q4_K", 256, 144, true},
    {13, "Q5_K", 256, 176, true}, {14, "Q6_K", 256, 210, true},  {15, "Q8_K", 256, 292, true},
    {20, "IQ4_NL", 32, 18, true}, {23, "IQ4_XS", 256, 136, true},
    {16, "IQ2_XXS", 256, 66, false}, {17, "IQ2_XS", 256, 74, false}, {18, "IQ3_XXS", 256, 98, false},
    {19, "IQ1_S", 256, 50, false},   {21, "IQ3_S", 256, 110, false}, {22, "IQ2_S", 256, 82, false},
    {29, "IQ1_M", 256, 56, false},   {34, "TQ1_0", 256, 54, false},  {35, "TQ2_0", 256, 66, false},
    {39, "MXFP4", 32, 17, false},    {24, "I8", 1, 1, false},        {25, "I16", 1, 2, false},
    {26, "I32", 1, 4, false},        {27, "I64", 1, 8, false},       {28, "F64", 1, 8, false},
};

static void test_trait_table(void **state) {
    (void)state;
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(expected); i++) {
        const struct expect *e = &expected[i];
        const struct lpq_type_traits *t = lpq_type_traits(e->id);
        assert_non_null(t);
        assert_string_equal(t->name, e->name);
        assert_int_equal(t->blck_size, e->blck);
        assert_int_equal(t->type_size, e->bytes);
        assert_int_equal(t->supported, e->supported);
        assert_int_equal(t->to_float != NULL, e->supported);
        assert_int_equal(t->from_float != NULL, e->supported);
        const bool plain = e->id <= 1 || e->id == 30 || (e->id >= 24 && e->id <= 28);
        assert_int_equal(t->is_quantized, !plain);
        assert_true(fabs(lpq_type_bpw(e->id) - 8.0 * (double)e->bytes / (double)e->blck) < 1e-12);
    }
    assert_true(fabs(lpq_type_bpw(LPQ_TYPE_Q4_K) - 4.5) < 1e-12);
    assert_true(fabs(lpq_type_bpw(LPQ_TYPE_Q3_K) - 3.4375) < 1e-12);
    /* every id with a name is in the list above */
    int named = 0;
    for (uint32_t id = 0; id < 64; id++) named += lpq_type_traits(id) != NULL;
    assert_int_equal(named, (int)LPQ_ARRAY_SIZE(expected));
}

static void test_unknown_ids(void **state) {
    (void)state;
    const uint32_t retired[] = {4, 5, 31, 32, 33, 36, 37, 38, 40, 41, 1000, UINT32_MAX};
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(retired); i++) {
        assert_null(lpq_type_traits(retired[i]));
        assert_string_equal(lpq_type_name(retired[i]), "unknown");
        assert_int_equal(lpq_type_row_size(retired[i], 256), 0);
        assert_true(lpq_type_bpw(retired[i]) == 0.0);
    }
    struct lpq_err err;
    lpq_err_clear(&err);
    assert_int_equal(lpq_type_require(4, &err), LPQ_STATUS_BAD_ARG);
    assert_int_equal(lpq_type_require(LPQ_TYPE_IQ2_XXS, &err), LPQ_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "unsupported type IQ2_XXS"));
    assert_int_equal(lpq_type_require(LPQ_TYPE_Q4_K, &err), LPQ_STATUS_OK);
    float out[256];
    uint8_t in[256] = {0};
    assert_int_equal(lpq_type_row_to_float(LPQ_TYPE_MXFP4, in, out, 32, &err), LPQ_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "MXFP4"));
}

static void test_names(void **state) {
    (void)state;
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(expected); i++) {
        enum lpq_type t;
        assert_string_equal(lpq_type_name(expected[i].id), expected[i].name);
        assert_true(lpq_type_from_name(expected[i].name, &t));
        assert_int_equal(t, expected[i].id);
        /* case-insensitive: llama.cpp writes "q4_K" in places */
        char lower[16];
        size_t k = 0;
        for (; expected[i].name[k] && k < sizeof(lower) - 1; k++)
            lower[k] = (char)(expected[i].name[k] >= 'A' && expected[i].name[k] <= 'Z'
                                  ? expected[i].name[k] + 32 : expected[i].name[k]);
        lower[k] = '\0';
        assert_true(lpq_type_from_name(lower, &t));
        assert_int_equal(t, expected[i].id);
    }
    enum lpq_type t = LPQ_TYPE_Q8_0;
    assert_false(lpq_type_from_name("Q4_K_M", &t));
    assert_false(lpq_type_from_name("", &t));
    assert_false(lpq_type_from_name("unknown", &t));
    assert_false(lpq_type_from_name(NULL, &t));
    assert_int_equal(t, LPQ_TYPE_Q8_0);   /* untouched on failure */
}

static void test_row_size(void **state) {
    (void)state;
    assert_int_equal(lpq_type_row_size(LPQ_TYPE_F32, 7), 28);
    assert_int_equal(lpq_type_row_size(LPQ_TYPE_Q4_0, 4096), 128 * 18);
    assert_int_equal(lpq_type_row_size(LPQ_TYPE_Q4_K, 4096), 16 * 144);
    assert_int_equal(lpq_type_row_size(LPQ_TYPE_IQ2_XXS, 512), 2 * 66);   /* recognised: sized */
    assert_int_equal(lpq_type_row_size(LPQ_TYPE_Q4_0, 33), 0);
    assert_int_equal(lpq_type_row_size(LPQ_TYPE_Q4_K, 128), 0);
    assert_int_equal(lpq_type_row_size(LPQ_TYPE_Q6_K, 257), 0);
    assert_int_equal(lpq_type_row_size(LPQ_TYPE_Q8_0, -32), 0);
    assert_int_equal(lpq_type_row_size(LPQ_TYPE_Q8_0, 0), 0);
    /* overflowing size is 0, not a wrapped value */
    assert_int_equal(lpq_type_row_size(LPQ_TYPE_I64, INT64_MAX), 0);
    struct lpq_err err;
    float out[64];
    uint8_t in[64] = {0};
    assert_int_equal(lpq_type_row_to_float(LPQ_TYPE_Q4_0, in, out, 33, &err), LPQ_STATUS_BAD_ARG);
}

static uint32_t bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* Half → float by the formula, in double (independent of the bit-twiddling under test). */
static double half_value(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static void test_fp16_exhaustive(void **state) {
    (void)state;
    int nan_count = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = lpq_fp16_to_fp32((uint16_t)h);
        const int e = (h >> 10) & 31, m = h & 1023;
        if (e == 31 && m != 0) {
            assert_true(isnan(f));
            assert_true(isnan(lpq_fp16_to_fp32(lpq_fp32_to_fp16(f))));
            nan_count++;
            continue;
        }
        if (e == 31) {
            assert_true(isinf(f));
            assert_int_equal(signbit(f) != 0, (h >> 15) != 0);
        } else {
            assert_true((double)f == half_value((uint16_t)h));
            assert_int_equal(signbit(f) != 0, (h >> 15) != 0);   /* -0 stays -0 */
        }
        assert_int_equal(lpq_fp32_to_fp16(f), h);
        /* halfway to the next half up (in magnitude) rounds to the even one of the pair */
        if (e < 30 || (e == 30 && m < 1023)) {
            double next = half_value((uint16_t)(h + 1));
            float mid = (float)((half_value((uint16_t)h) + next) / 2.0);   /* exact in float */
            uint16_t want = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
            assert_int_equal(lpq_fp32_to_fp16(mid), want);
            /* one float ulp above the midpoint always rounds up, below always down */
            uint32_t mb = bits(mid);
            assert_int_equal(lpq_fp32_to_fp16(from_bits(mb + 1)), h + 1);
            if ((h & 0x7fff) != 0) assert_int_equal(lpq_fp32_to_fp16(from_bits(mb - 1)), h);
        }
    }
    assert_int_equal(nan_count, 2 * 1023);
}

static void test_fp16_edges(void **state) {
    (void)state;
    assert_int_equal(lpq_fp32_to_fp16(65504.0f), 0x7bff);
    assert_int_equal(lpq_fp32_to_fp16(65519.996f), 0x7bff);     /* below the tie: max finite */
    assert_int_equal(lpq_fp32_to_fp16(65520.0f), 0x7c00);       /* tie with 65536: to even = Inf */
    assert_int_equal(lpq_fp32_to_fp16(1e10f), 0x7c00);
    assert_int_equal(lpq_fp32_to_fp16(-1e10f), 0xfc00);
    assert_int_equal(lpq_fp32_to_fp16(INFINITY), 0x7c00);
    assert_int_equal(lpq_fp32_to_fp16(-INFINITY), 0xfc00);
    assert_int_equal(lpq_fp32_to_fp16(-0.0f), 0x8000);
    assert_int_equal(lpq_fp32_to_fp16(1.0f), 0x3c00);
    assert_int_equal(lpq_fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);             /* tie: to even */
    assert_int_equal(lpq_fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);         /* tie: to even */
    assert_int_equal(lpq_fp32_to_fp16(0x1p-24f), 0x0001);                    /* min subnormal */
    assert_int_equal(lpq_fp32_to_fp16(0x1p-25f), 0x0000);                    /* tie: to even 0 */
    assert_int_equal(lpq_fp32_to_fp16(0x1.000002p-25f), 0x0001);             /* above the tie */
    assert_int_equal(lpq_fp32_to_fp16(0x1.8p-24f), 0x0002);                  /* 1.5 ulp: to even */
    assert_int_equal(lpq_fp32_to_fp16(0x1p-26f), 0x0000);
    assert_int_equal(lpq_fp32_to_fp16(1e-45f), 0x0000);                      /* f32 subnormal */
    assert_int_equal(lpq_fp32_to_fp16(-1e-45f), 0x8000);
    assert_int_equal(lpq_fp32_to_fp16(0x1.ff8p-15f), 0x03ff);                /* max subnormal */
    assert_int_equal(lpq_fp32_to_fp16(0x1.ffcp-15f), 0x0400);                /* tie: up into normal */
    assert_int_equal(lpq_fp32_to_fp16(0x1.ffbp-15f), 0x03ff);                /* below the tie */
    assert_int_equal(lpq_fp32_to_fp16(6.1035156e-05f), 0x0400);              /* min normal */
    assert_int_equal(lpq_fp32_to_fp16(2e-6f), 0x0022);   /* the fixture's tiny values */
    uint16_t hn = lpq_fp32_to_fp16(NAN);
    assert_int_equal(hn & 0x7c00, 0x7c00);
    assert_true((hn & 0x3ff) != 0);
    /* a NaN whose payload sits only in the low bits must not become Inf */
    uint16_t hn2 = lpq_fp32_to_fp16(from_bits(0x7f800001u));
    assert_true((hn2 & 0x3ff) != 0);
}

static void test_bf16(void **state) {
    (void)state;
    /* exact values pass through */
    assert_int_equal(lpq_fp32_to_bf16(1.0f), 0x3f80);
    assert_true(lpq_bf16_to_fp32(0x3f80) == 1.0f);
    assert_true(lpq_bf16_to_fp32(0xc000) == -2.0f);
    /* ties to even: 0x3f80_8000 is halfway between 0x3f80 (even) and 0x3f81 */
    assert_int_equal(lpq_fp32_to_bf16(from_bits(0x3f808000u)), 0x3f80);
    assert_int_equal(lpq_fp32_to_bf16(from_bits(0x3f818000u)), 0x3f82);   /* odd below: up */
    assert_int_equal(lpq_fp32_to_bf16(from_bits(0x3f808001u)), 0x3f81);
    assert_int_equal(lpq_fp32_to_bf16(from_bits(0x3f807fffu)), 0x3f80);
    assert_int_equal(lpq_fp32_to_bf16(from_bits(0xbf818000u)), 0xbf82);
    /* overflow rounds to Inf; Inf stays Inf; NaN stays NaN (even with low payload only) */
    assert_int_equal(lpq_fp32_to_bf16(from_bits(0x7f7fffffu)), 0x7f80);
    assert_int_equal(lpq_fp32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(lpq_fp32_to_bf16(-INFINITY), 0xff80);
    uint16_t n = lpq_fp32_to_bf16(from_bits(0x7f800001u));
    assert_true((n & 0x7f80) == 0x7f80 && (n & 0x7f) != 0);
    assert_true(isnan(lpq_bf16_to_fp32(n)));
    /* subnormals are rounded, not flushed */
    assert_int_equal(lpq_fp32_to_bf16(from_bits(0x00018000u)), 0x0002);
    assert_int_equal(lpq_fp32_to_bf16(from_bits(0x00010000u)), 0x0001);
    /* every bf16 value round-trips */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = lpq_bf16_to_fp32((uint16_t)h);
        assert_int_equal(bits(f), h << 16);
        if (!isnan(f)) assert_int_equal(lpq_fp32_to_bf16(f), h);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trait_table),
        cmocka_unit_test(test_unknown_ids),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_row_size),
        cmocka_unit_test(test_fp16_exhaustive),
        cmocka_unit_test(test_fp16_edges),
        cmocka_unit_test(test_bf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
