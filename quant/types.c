/*
 * types.c — the GGUF type trait table (one designated-initializer entry per known id),
 * lookups by id and name, row sizes, bits per weight, the fp16/bf16 scalar conversions,
 * and the checked row wrappers that turn "unsupported type" into a status and message.
 */
#include "quant/types.h"

#include <strings.h>

#include "quant/codecs-impl.h"

#define LPQ__SUPPORTED(id_name, blck, size, quant, fn)                             \
    {                                                                              \
        .name = id_name, .blck_size = (blck), .type_size = (size),                 \
        .is_quantized = (quant), .supported = true,                                \
        .to_float = lpq__##fn##_to_float, .from_float = lpq__##fn##_from_float,    \
    }
/* Recognised (name and geometry known, so files holding it can be listed and sized) but
 * without codecs yet. */
#define LPQ__KNOWN(id_name, blck, size, quant)                                     \
    {                                                                              \
        .name = id_name, .blck_size = (blck), .type_size = (size),                 \
        .is_quantized = (quant), .supported = false,                               \
    }

/* Indexed by GGUF type id; ids retired by ggml (4, 5, 31–33, 36–38) stay zeroed (name NULL). */
static const struct lpq_type_traits type_traits[LPQ_TYPE_COUNT] = {
    [LPQ_TYPE_F32]     = LPQ__SUPPORTED("F32", 1, 4, false, f32),
    [LPQ_TYPE_F16]     = LPQ__SUPPORTED("F16", 1, 2, false, f16),
    [LPQ_TYPE_BF16]    = LPQ__SUPPORTED("BF16", 1, 2, false, bf16),
    [LPQ_TYPE_Q4_0]    = LPQ__SUPPORTED("Q4_0", 32, 18, true, q4_0),
    [LPQ_TYPE_Q4_1]    = LPQ__SUPPORTED("Q4_1", 32, 20, true, q4_1),
    [LPQ_TYPE_Q5_0]    = LPQ__SUPPORTED("Q5_0", 32, 22, true, q5_0),
    [LPQ_TYPE_Q5_1]    = LPQ__SUPPORTED("Q5_1", 32, 24, true, q5_1),
    [LPQ_TYPE_Q8_0]    = LPQ__SUPPORTED("Q8_0", 32, 34, true, q8_0),
    [LPQ_TYPE_Q8_1]    = LPQ__SUPPORTED("Q8_1", 32, 36, true, q8_1),
    [LPQ_TYPE_Q2_K]    = LPQ__SUPPORTED("Q2_K", 256, 84, true, q2_k),
    [LPQ_TYPE_Q3_K]    = LPQ__SUPPORTED("Q3_K", 256, 110, true, q3_k),
    [LPQ_TYPE_Q4_K]    = LPQ__SUPPORTED("Q4_K", 256, 144, true, q4_k),
    [LPQ_TYPE_Q5_K]    = LPQ__SUPPORTED("Q5_K", 256, 176, true, q5_k),
    [LPQ_TYPE_Q6_K]    = LPQ__SUPPORTED("Q6_K", 256, 210, true, q6_k),
    [LPQ_TYPE_Q8_K]    = LPQ__SUPPORTED("Q8_K", 256, 292, true, q8_k),
    [LPQ_TYPE_IQ4_NL]  = LPQ__SUPPORTED("IQ4_NL", 32, 18, true, iq4_nl),
    [LPQ_TYPE_IQ4_XS]  = LPQ__SUPPORTED("IQ4_XS", 256, 136, true, iq4_xs),

    /* Sizes: f16 d + payload, from ggml's block definitions. */
    [LPQ_TYPE_IQ2_XXS] = LPQ__KNOWN("IQ2_XXS", 256, 66, true),   /* d, qs u16[32] */
    [LPQ_TYPE_IQ2_XS]  = LPQ__KNOWN("IQ2_XS", 256, 74, true),    /* d, qs u16[32], scales[8] */
    [LPQ_TYPE_IQ3_XXS] = LPQ__KNOWN("IQ3_XXS", 256, 98, true),   /* d, qs[96] */
    [LPQ_TYPE_IQ1_S]   = LPQ__KNOWN("IQ1_S", 256, 50, true),     /* d, qs[32], qh u16[8] */
    [LPQ_TYPE_IQ3_S]   = LPQ__KNOWN("IQ3_S", 256, 110, true),    /* d, qs[64], qh[8], signs[32], scales[4] */
    [LPQ_TYPE_IQ2_S]   = LPQ__KNOWN("IQ2_S", 256, 82, true),     /* d, qs[64], qh[8], scales[8] */
    [LPQ_TYPE_IQ1_M]   = LPQ__KNOWN("IQ1_M", 256, 56, true),     /* qs[32], qh[16], scales[8] */
    [LPQ_TYPE_TQ1_0]   = LPQ__KNOWN("TQ1_0", 256, 54, true),     /* qs[48], qh[4], d */
    [LPQ_TYPE_TQ2_0]   = LPQ__KNOWN("TQ2_0", 256, 66, true),     /* qs[64], d */
    [LPQ_TYPE_MXFP4]   = LPQ__KNOWN("MXFP4", 32, 17, true),      /* e8m0 e, qs[16] */
    [LPQ_TYPE_I8]      = LPQ__KNOWN("I8", 1, 1, false),
    [LPQ_TYPE_I16]     = LPQ__KNOWN("I16", 1, 2, false),
    [LPQ_TYPE_I32]     = LPQ__KNOWN("I32", 1, 4, false),
    [LPQ_TYPE_I64]     = LPQ__KNOWN("I64", 1, 8, false),
    [LPQ_TYPE_F64]     = LPQ__KNOWN("F64", 1, 8, false),
};

const int8_t lpq__iq4_levels[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

const struct lpq_type_traits *lpq_type_traits(uint32_t id) {
    if (id >= LPQ_TYPE_COUNT || !type_traits[id].name) return NULL;
    return &type_traits[id];
}

const char *lpq_type_name(uint32_t id) {
    const struct lpq_type_traits *t = lpq_type_traits(id);
    return t ? t->name : "unknown";
}

bool lpq_type_from_name(const char *name, enum lpq_type *out) {
    if (!name) return false;
    for (uint32_t id = 0; id < LPQ_TYPE_COUNT; id++) {
        if (type_traits[id].name && strcasecmp(type_traits[id].name, name) == 0) {
            if (out) *out = (enum lpq_type)id;
            return true;
        }
    }
    return false;
}

size_t lpq_type_row_size(uint32_t id, int64_t ne0) {
    const struct lpq_type_traits *t = lpq_type_traits(id);
    if (!t || ne0 < 0 || ne0 % t->blck_size != 0) return 0;
    uint64_t bytes;
    if (!lpq_mul_u64((uint64_t)(ne0 / t->blck_size), t->type_size, &bytes) || bytes > SIZE_MAX)
        return 0;
    return (size_t)bytes;
}

double lpq_type_bpw(uint32_t id) {
    const struct lpq_type_traits *t = lpq_type_traits(id);
    if (!t) return 0.0;
    return 8.0 * (double)t->type_size / (double)t->blck_size;
}

float lpq_fp16_to_fp32(uint16_t h) { return lpq__f16_to_f32(h); }
uint16_t lpq_fp32_to_fp16(float f) { return lpq__f32_to_f16(f); }
float lpq_bf16_to_fp32(uint16_t h) { return lpq__bf16_to_f32(h); }
uint16_t lpq_fp32_to_bf16(float f) { return lpq__f32_to_bf16(f); }

enum lpq_status lpq_type_require(uint32_t id, struct lpq_err *err) {
    const struct lpq_type_traits *t = lpq_type_traits(id);
    if (!t) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "unknown type id %u", id);
    if (!t->supported)
        return lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, "unsupported type %s (id %u)", t->name, id);
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_type_row_to_float(uint32_t id, const void *src, float *dst, int64_t n,
                                      struct lpq_err *err) {
    enum lpq_status st = lpq_type_require(id, err);
    if (st != LPQ_STATUS_OK) return st;
    const struct lpq_type_traits *t = &type_traits[id];
    if (n < 0 || n % t->blck_size != 0)
        return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "%s: %lld values is not a multiple of the block size %lld",
                           t->name, (long long)n, (long long)t->blck_size);
    t->to_float(src, dst, n);
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_type_row_from_float(uint32_t id, const float *src, void *dst, int64_t n,
                                        const float *imp, struct lpq_err *err) {
    enum lpq_status st = lpq_type_require(id, err);
    if (st != LPQ_STATUS_OK) return st;
    const struct lpq_type_traits *t = &type_traits[id];
    if (n < 0 || n % t->blck_size != 0)
        return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "%s: %lld values is not a multiple of the block size %lld",
                           t->name, (long long)n, (long long)t->blck_size);
    if (!t->from_float(src, dst, n, imp))
        return lpq_err_set(err, LPQ_STATUS_RANGE, "%s: input holds a NaN or Inf", t->name);
    return LPQ_STATUS_OK;
}
