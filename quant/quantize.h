/*
 * quantize.h — lpq's quantizer: the error-minimising block search for every weight type,
 * per-tensor type plans (llama.cpp-compatible mixes plus architecture-aware refinements),
 * the streaming file pipeline, importance matrices (llama.cpp's GGUF imatrix format),
 * synthetic models with real architectures' shapes, and a small SHA-256.
 */
#ifndef LPQ_QUANTIZE_H
#define LPQ_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "quant/common.h"
#include "quant/gguf.h"
#include "quant/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the search quantizer (quant-search*.c) -------------------------------------------
 * Every block's scale (and min) is chosen to minimise the weighted squared error
 * Σ w_i (x_i − x̂_i)², with w from lpq_quant_row_weights. The output is ordinary GGUF
 * blocks; the reference to_float decodes them. All functions are thread-safe (no state).
 */

/* True for the types lpq_quant_row_encode accepts: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K,
 * Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, and the float types F32, F16, BF16 (plain conversion). */
bool lpq_quant_type_encodable(uint32_t type);

/* Per-element error weights for one row x[n] (what the search minimises):
 *   imp != NULL (per-column importance, e.g. mean squared activation):
 *         w_i = (imp_i + ε) · sqrt(σ² + x_i²),  ε = 1e-5 · mean(imp) over the row
 *   imp == NULL:  w_i = σ² + x_i²/4      where σ² = mean of x² over the row. */
void lpq_quant_row_weights(const float *x, int64_t n, const float *imp, float *w);

/* The weights lpq_quant_row_encode(type, …) actually minimises: those of
 * lpq_quant_row_weights, except that with imp IQ4_NL/IQ4_XS take σ² = 2·mean x² over each
 * block (32 / 256 values) instead of the row (docs/QUANTIZER.md). Returns LPQ_STATUS_OK, LPQ_STATUS_UNSUPPORTED (not a
 * block type lpq_quant_row_encode accepts), LPQ_STATUS_BAD_ARG (n not a multiple of the block). */
enum lpq_status lpq_quant_row_weights_type(uint32_t type, const float *x, int64_t n, const float *imp,
                                           float *w);

/* Quantizes one row of n values (n a multiple of the type's block size) into dst
 * (lpq_type_row_size(type, n) bytes). imp: per-column importance (n floats) or NULL.
 * Returns LPQ_STATUS_OK, LPQ_STATUS_UNSUPPORTED (type not encodable), LPQ_STATUS_BAD_ARG
 * (n not a multiple of the block size, or a NaN/Inf in x). */
enum lpq_status lpq_quant_row_encode(uint32_t type, const float *x, void *dst, int64_t n,
                                     const float *imp);

/* Σ w_i (x_i − y_i)² and Σ w_i x_i² (either pointer may be NULL): for measuring. */
double lpq_quant_weighted_err(const float *x, const float *y, const float *w, int64_t n, double *sum_wx2);

/* ---- file types and mixes (plan.c) ------------------------------------------------------ */
struct lpq_ftype {
    const char *name;         /* "Q4_K_M" */
    int llama_ftype;          /* general.file_type value (llama_ftype numbering) */
    uint32_t base;            /* the type most tensors get */
};
/* Case-insensitive; also accepts the tensor type names Q4_K ("Q4_K" = Q4_K_M as llama.cpp
 * names its --pure fixtures). NULL when unknown. */
const struct lpq_ftype *lpq_ftype_find(const char *name);
/* Table of every ftype lpq writes (NULL-terminated by name == NULL). */
const struct lpq_ftype *lpq_ftype_list(void);

/* What the planner knows about the model (from GGUF metadata). */
struct lpq_model_arch {
    char arch[32];            /* general.architecture */
    int64_t n_layer;          /* <arch>.block_count */
    int64_t n_head;           /* attention.head_count */
    int64_t n_head_kv;        /* attention.head_count_kv (= n_head when absent) */
    int64_t n_expert;         /* expert_count (0 = dense) */
    int64_t n_embd;
    bool tied;                /* no output.weight: token_embd doubles as the output */
};

/* One input tensor as the planner sees it. */
struct lpq_plan_tensor_in {
    const char *name;
    uint32_t type;            /* source type */
    uint32_t n_dims;
    int64_t ne[LPQ_GGUF_MAX_DIMS];
};

struct lpq_tensor_override {
    const char *regex;        /* POSIX extended regex, searched in the tensor name */
    uint32_t type;
};

struct lpq_plan_params {
    const struct lpq_ftype *ftype;           /* required */
    bool pure;                               /* every 2-D weight gets ftype->base */
    bool have_imatrix;
    int32_t token_embd_type;                 /* -1 = by the mix */
    int32_t output_type;                     /* -1 = by the mix */
    const struct lpq_tensor_override *overrides;   /* first match wins */
    size_t n_overrides;
};
struct lpq_plan_params lpq_plan_params_default(const struct lpq_ftype *ftype);

#define LPQ_PLAN_REASON_MAX 120

struct lpq_plan_entry {
    char *name;                              /* owned by the plan */
    uint32_t src_type;
    uint32_t type;                           /* planned output type */
    uint32_t n_dims;
    int64_t ne[LPQ_GGUF_MAX_DIMS];
    int64_t n_elements;
    uint64_t src_bytes;                      /* bytes */
    uint64_t dst_bytes;                      /* bytes */
    bool fallback;                           /* row length forced another type */
    char reason[LPQ_PLAN_REASON_MAX];        /* why this type, one line */
};

struct lpq_plan {
    struct lpq_model_arch arch;
    const struct lpq_ftype *ftype;
    struct lpq_plan_entry *entries;          /* in input order */
    size_t n_entries;
    uint64_t src_bytes, dst_bytes;           /* bytes of tensor data */
    int64_t n_params;                        /* elements of every tensor */
    int64_t n_fallback;                      /* tensors that needed a fallback type */
};

/* Plans every tensor. Returns OK, BAD_ARG (bad override regex; message names it),
 * NO_MEMORY. *out owned by the caller (lpq_plan_free); untouched on failure. */
enum lpq_status lpq_plan_build(const struct lpq_model_arch *arch, const struct lpq_plan_tensor_in *t,
                               size_t n, const struct lpq_plan_params *p, struct lpq_plan **out,
                               struct lpq_err *err);
/* Reads the architecture summary from GGUF metadata (never fails: missing keys stay 0). */
void lpq_model_arch_from_gguf(struct lpq_gguf *g, struct lpq_model_arch *out);
/* lpq_plan_build over an open file's tensors. */
enum lpq_status lpq_plan_build_gguf(struct lpq_gguf *g, const struct lpq_plan_params *p,
                                    struct lpq_plan **out, struct lpq_err *err);
void lpq_plan_free(struct lpq_plan *plan);   /* NULL is a no-op */
/* Human-readable plan: one line per tensor, then totals and bits per weight. */
void lpq_plan_print(const struct lpq_plan *plan, FILE *f);
/* Bits per weight of the whole plan (8 · dst_bytes / n_params). */
double lpq_plan_bpw(const struct lpq_plan *plan);
/* The plan entry for `name`, NULL when absent. */
const struct lpq_plan_entry *lpq_plan_find(const struct lpq_plan *plan, const char *name);

/* ---- importance matrix (imatrix.c) -------------------------------------------------------
 * llama.cpp's GGUF form: general.type = "imatrix", imatrix.datasets (string array),
 * imatrix.chunk_count, imatrix.chunk_size (u32); per weight matrix W two F32 tensors:
 * "<W>.in_sum2" [n_cols, n_mat] (Σ over rows of x_col²) and "<W>.counts" [1, n_mat] (rows).
 * n_mat > 1 for stacked expert tensors.
 */
struct lpq_imatrix;

enum lpq_status lpq_imatrix_create(struct lpq_imatrix **out, struct lpq_err *err);
/* Returns OK, IO, BAD_FILE (not an imatrix, shapes inconsistent), NO_MEMORY. */
enum lpq_status lpq_imatrix_load(const char *path, struct lpq_imatrix **out, struct lpq_err *err);
/* Writes atomically (temp + rename). */
enum lpq_status lpq_imatrix_save(const struct lpq_imatrix *im, const char *path, struct lpq_err *err);
void lpq_imatrix_free(struct lpq_imatrix *im);   /* NULL is a no-op */
/* Accumulates n_rows activation rows x[n_rows][n_cols] seen at the input of `tensor_name`
 * (matrix 0). Returns BAD_ARG when n_cols differs from an earlier call, NO_MEMORY. */
enum lpq_status lpq_imatrix_add(struct lpq_imatrix *im, const char *tensor_name, const float *x,
                                int64_t n_cols, int64_t n_rows);
/* Same, for expert matrix `i_mat` of n_mat stacked matrices. */
enum lpq_status lpq_imatrix_add_mat(struct lpq_imatrix *im, const char *tensor_name, int64_t i_mat,
                                    int64_t n_mat, const float *x, int64_t n_cols, int64_t n_rows);
/* Mean squared activation per column for matrix i_mat of `tensor_name` into out[n_cols].
 * Returns NOT_FOUND (no entry or zero count), BAD_ARG (n_cols/i_mat mismatch). */
enum lpq_status lpq_imatrix_get(const struct lpq_imatrix *im, const char *tensor_name, int64_t i_mat,
                                float *out, int64_t n_cols);
int64_t lpq_imatrix_n_entries(const struct lpq_imatrix *im);
const char *lpq_imatrix_entry_name(const struct lpq_imatrix *im, int64_t i);
/* Dataset names recorded with the matrix; chunk count and size. */
enum lpq_status lpq_imatrix_add_dataset(struct lpq_imatrix *im, const char *name);
void lpq_imatrix_set_chunks(struct lpq_imatrix *im, uint32_t chunk_count, uint32_t chunk_size);

/* ---- the pipeline (quantize.c) ---------------------------------------------------------- */
struct lpq_quantize_params {
    struct lpq_plan_params plan;
    const struct lpq_imatrix *imatrix;       /* NULL = weights from magnitudes */
    bool allow_requantize;                   /* accept quantized input (dequantized first) */
    int n_threads;                           /* <= 0: all cores */
    bool progress;                           /* progress bar on stderr */
    bool dry_run;                            /* plan only: nothing is written */
    FILE *plan_out;                          /* where dry_run prints the plan (NULL = stdout) */
};
struct lpq_quantize_params lpq_quantize_params_default(const struct lpq_ftype *ftype);

struct lpq_quantize_stats {
    uint64_t src_bytes, dst_bytes;           /* bytes of tensor data */
    int64_t n_params;
    double bpw;                              /* bits per weight of the output */
    double seconds;                          /* wall time of the tensor loop */
    int64_t n_fallback;
};

/* Quantizes `in` into `out` per the plan. The output is written to a temporary file and
 * renamed only on success: on any failure no partial file is left and an existing `out` is
 * untouched. Returns OK, IO, BAD_FILE, UNSUPPORTED (quantized input without
 * allow_requantize, or a type with no codec), BAD_ARG, NO_MEMORY. `stats` may be NULL. */
enum lpq_status lpq_quantize_file(const char *in, const char *out, const struct lpq_quantize_params *p,
                                  struct lpq_quantize_stats *stats, struct lpq_err *err);

/* Converts one row of any decodable type into floats (F32/F16/BF16 or a quantized type via
 * its reference to_float). Returns UNSUPPORTED when the type has no decoder. */
enum lpq_status lpq_quant_row_to_float(uint32_t type, const void *src, float *dst, int64_t n);

/* Multi-threaded rows: quantizes nrows rows of x (n_per_row floats each) into dst. */
enum lpq_status lpq_quant_rows(uint32_t type, const float *x, void *dst, int64_t nrows,
                               int64_t n_per_row, const float *imp, int n_threads);

/* ---- synthetic models (synth.c) ---------------------------------------------------------- */
struct lpq_synth_params {
    const char *shape;       /* "tiny", "qwen2.5-0.5b", "llama-3.2-1b", "qwen3-8b" */
    const char *type;        /* ftype name: F32, F16, BF16, Q8_0, Q4_K_M, ... */
    uint64_t seed;
    int n_threads;           /* <= 0: all cores */
    bool progress;
};
struct lpq_synth_params lpq_synth_params_default(void);
/* Shape names (NULL-terminated). */
const char *const *lpq_synth_shapes(void);
/* Architecture and tensor list of a shape, without data; *t owned by the caller: free with
 * lpq_synth_tensors_free. Returns NOT_FOUND for an unknown shape. */
enum lpq_status lpq_synth_shape_tensors(const char *shape, struct lpq_model_arch *arch,
                                        struct lpq_plan_tensor_in **t, size_t *n, struct lpq_err *err);
void lpq_synth_tensors_free(struct lpq_plan_tensor_in *t, size_t n);
/* Writes the model (streaming: memory ≈ a few rows per thread). Same params → same bytes. */
enum lpq_status lpq_synth_write(const char *path, const struct lpq_synth_params *p, struct lpq_err *err);

/* ---- SHA-256 (sha256.c) ----------------------------------------------------------------- */
struct lpq_sha256 {
    uint32_t h[8];
    uint64_t n_bytes;
    uint8_t buf[64];
    size_t n_buf;
};
void lpq_sha256_init(struct lpq_sha256 *s);
void lpq_sha256_update(struct lpq_sha256 *s, const void *data, size_t n);
void lpq_sha256_final(struct lpq_sha256 *s, uint8_t out[32]);
/* Hex digest of a file (65 bytes incl. NUL). Returns OK or IO. */
enum lpq_status lpq_sha256_file(const char *path, char hex[65], struct lpq_err *err);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_QUANTIZE_H */
