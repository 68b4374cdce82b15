/*
 * types.h — GGUF tensor types: ids, block geometry and the reference (scalar) codecs.
 * One designated-initializer trait table indexed by the GGUF type id (ggml's type_traits[]).
 * Block layouts are documented in codecs-*.c and ../shared/docs/FORMATS.md.
 */
#ifndef LPQ_TYPES_H
#define LPQ_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quant/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* GGUF type ids. Gaps (4, 5, 31–33, 36–38) are ids retired by ggml; they are refused. */
enum lpq_type {
    LPQ_TYPE_F32     = 0,
    LPQ_TYPE_F16     = 1,
    LPQ_TYPE_Q4_0    = 2,
    LPQ_TYPE_Q4_1    = 3,
    LPQ_TYPE_Q5_0    = 6,
    LPQ_TYPE_Q5_1    = 7,
    LPQ_TYPE_Q8_0    = 8,
    LPQ_TYPE_Q8_1    = 9,
    LPQ_TYPE_Q2_K    = 10,
    LPQ_TYPE_Q3_K    = 11,
    LPQ_TYPE_Q4_K    = 12,
    LPQ_TYPE_Q5_K    = 13,
    LPQ_TYPE_Q6_K    = 14,
    LPQ_TYPE_Q8_K    = 15,
    LPQ_TYPE_IQ2_XXS = 16,
    LPQ_TYPE_IQ2_XS  = 17,
    LPQ_TYPE_IQ3_XXS = 18,
    LPQ_TYPE_IQ1_S   = 19,
    LPQ_TYPE_IQ4_NL  = 20,
    LPQ_TYPE_IQ3_S   = 21,
    LPQ_TYPE_IQ2_S   = 22,
    LPQ_TYPE_IQ4_XS  = 23,
    LPQ_TYPE_I8      = 24,
    LPQ_TYPE_I16     = 25,
    LPQ_TYPE_I32     = 26,
    LPQ_TYPE_I64     = 27,
    LPQ_TYPE_F64     = 28,
    LPQ_TYPE_IQ1_M   = 29,
    LPQ_TYPE_BF16    = 30,
    LPQ_TYPE_TQ1_0   = 34,
    LPQ_TYPE_TQ2_0   = 35,
    LPQ_TYPE_MXFP4   = 39,
    LPQ_TYPE_COUNT   = 40,
};

/* Dequantize n values (n a multiple of blck_size) from src blocks into dst. Blocks are read
 * in place: src needs 2-byte alignment (4 for F32 and Q8_K), which GGUF tensor data and
 * whole rows inside it always have. */
typedef void (*lpq_to_float_fn)(const void *src, float *dst, int64_t n);
/* Quantize n values (n a multiple of blck_size) into dst blocks. `imp` is an optional
 * per-value importance (n floats, NULL = plain). Returns false when the input holds a
 * NaN or Inf (dst contents then unspecified). This holds for every type, F32/F16/BF16
 * included: a non-finite weight is refused, never stored. The reference quantizers are
 * deterministic and thread-safe (no state). All-zero blocks give d = 0 and exact zeros.
 * The K and IQ4 quantizers weight their squared error by `imp` (entries should be > 0: a
 * sub-block whose importances are all 0 may come out as zeros); the float and 32-block
 * legacy ones (plain round-to-nearest) ignore it. Q8_0/Q8_1/Q8_K round exactly like
 * llama.cpp's reference quantizers (they double as matmul activation formats), except
 * Q8_0/Q8_1 blocks whose f16 scale is subnormal. dst has the alignment needs of src above. */
typedef bool (*lpq_from_float_fn)(const float *src, void *dst, int64_t n, const float *imp);

struct lpq_type_traits {
    const char *name;              /* "Q4_K"; NULL for an unknown id */
    int64_t blck_size;             /* weights per block */
    size_t type_size;              /* bytes per block */
    bool is_quantized;
    bool supported;                /* codecs implemented (false: recognised only) */
    lpq_to_float_fn to_float;      /* reference dequantize-row; NULL when !supported */
    lpq_from_float_fn from_float;  /* reference quantize-row; NULL when !supported */
};

/* Traits for a GGUF type id; NULL when the id is not a known type. Never fails otherwise. */
const struct lpq_type_traits *lpq_type_traits(uint32_t id);
/* Type name ("Q4_K"), or "unknown" for an id that is not a known type. */
const char *lpq_type_name(uint32_t id);
/* Case-insensitive lookup by name; returns false when no known type has that name. */
bool lpq_type_from_name(const char *name, enum lpq_type *out);
/* Bytes of one row of ne0 values; 0 if ne0 is not a multiple of the block size or id unknown. */
size_t lpq_type_row_size(uint32_t id, int64_t ne0);
/* Bits per weight of a type (8 * type_size / blck_size). */
double lpq_type_bpw(uint32_t id);

/* LPQ_STATUS_OK when `id` has codecs; otherwise LPQ_STATUS_UNSUPPORTED ("unsupported type
 * IQ2_XXS (id 16)") for a recognised type or LPQ_STATUS_BAD_ARG for an unknown id, with the
 * message in `err` (may be NULL). */
enum lpq_status lpq_type_require(uint32_t id, struct lpq_err *err);
/* Checked wrappers around the trait codecs: LPQ_STATUS_OK, the lpq_type_require errors,
 * LPQ_STATUS_BAD_ARG when n is not a multiple of the block size, and (from_float only)
 * LPQ_STATUS_RANGE when the input holds a NaN or Inf. */
enum lpq_status lpq_type_row_to_float(uint32_t id, const void *src, float *dst, int64_t n,
                                      struct lpq_err *err);
enum lpq_status lpq_type_row_from_float(uint32_t id, const float *src, void *dst, int64_t n,
                                        const float *imp, struct lpq_err *err);

/* Scalar conversions used everywhere (exact IEEE semantics, subnormals kept). */
float    lpq_fp16_to_fp32(uint16_t h);
uint16_t lpq_fp32_to_fp16(float f);     /* round to nearest even */
float    lpq_bf16_to_fp32(uint16_t h);
uint16_t lpq_fp32_to_bf16(float f);     /* round to nearest even; NaN stays NaN */

#ifdef __cplusplus
}
#endif

#endif /* LPQ_TYPES_H */
