/*
 * kernels.h — the CPU runtime's numeric kernels: per weight type, the activation format its
 * dot product consumes, the activation quantizer, a row dot product and a blocked row×column
 * product, each in a scalar (reference), AVX2 and AVX-512 flavour chosen at run time.
 * Pick the ISA once at load (lpq_cpu_isa_best) and keep the ops pointers; no call allocates.
 */
#ifndef LPQ_CPU_KERNELS_H
#define LPQ_CPU_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum lpq_cpu_isa {
    LPQ_CPU_ISA_SCALAR = 0,
    LPQ_CPU_ISA_AVX2   = 1,   /* AVX2 + FMA + F16C */
    LPQ_CPU_ISA_AVX512 = 2,   /* AVX-512 F/BW/VL; uses VNNI / BF16 when the CPU has them */
    LPQ_CPU_ISA_COUNT  = 3,
};

/* What the CPU and OS (xgetbv: register state saved) allow. */
struct lpq_cpu_features {
    bool avx2, fma, f16c;
    bool avx512f, avx512bw, avx512vl, avx512vnni, avx512bf16;
    bool avxvnni;
};

/* Fills *f from cpuid + xgetbv at run time; all false on a non-x86 build. */
void lpq_cpu_features_detect(struct lpq_cpu_features *f);
/* Best ISA the features allow. Env var LPQ_CPU_ISA=scalar|avx2|avx512 may force a LOWER one
 * (a higher one than the CPU has is ignored, with a warning through lpq_log). */
enum lpq_cpu_isa lpq_cpu_isa_best(const struct lpq_cpu_features *f);
/* "scalar", "avx2", "avx512"; "unknown" otherwise. Static string. */
const char *lpq_cpu_isa_name(enum lpq_cpu_isa isa);

/* Per weight type: the activation format its dot product consumes and the kernels. */
struct lpq_cpu_ops {
    uint32_t vec_dot_type;   /* activation type: LPQ_TYPE_Q8_0, Q8_1, Q8_K, F16, BF16 or F32 */
    /* required. x (n finite floats) -> one activation row in vec_dot_type (lpq_type_row_size(
     * vec_dot_type, n) bytes); n a multiple of that type's block size. Bit-identical to
     * lpq_type_traits(vec_dot_type)->from_float at every ISA. */
    void (*quantize_act)(const float *x, void *y, int64_t n);
    /* required. *s = dot(weight row w (n values of the weight type), activation row a).
     * n a multiple of the weight type's block size (and of the activation block size). */
    void (*vec_dot)(int64_t n, float *s, const void *w, const void *a);
    /* optional (NULL = use vec_dot). nr weight rows (row r at w + r*w_stride bytes) times nc
     * activation rows (row c at a + c*a_stride bytes) -> s[c*s_stride + r] (floats).
     * Each weight row is loaded once per group of activation rows: the prefill path. Also
     * the faster decode path (nc = 1) when nr >= 16: the Q8_0-family AVX-512 kernels prepare
     * the activation row once per call for all nr rows. Uses up to 40 KiB of stack.
     * Results equal vec_dot's up to float summation order. */
    void (*gemm)(int64_t n, int64_t nr, int64_t nc, float *s, int64_t s_stride,
                 const void *w, size_t w_stride, const void *a, size_t a_stride);
};

/* Ops for weight type `type` at `isa` (an isa above what the build has falls back to the best
 * built one, never above: pass the value lpq_cpu_isa_best returned). NULL when kernels do not
 * support the type (the engine then dequantizes). Static storage; never freed. */
const struct lpq_cpu_ops *lpq_cpu_ops_get(uint32_t type, enum lpq_cpu_isa isa);

/* *s = sum x[i]*y[i], i < n (any n >= 0). */
void lpq_cpu_vec_dot_f32(int64_t n, float *s, const float *x, const float *y, enum lpq_cpu_isa isa);
/* y[i] += a*x[i], i < n (any n >= 0). */
void lpq_cpu_vec_axpy_f32(int64_t n, float *y, float a, const float *x, enum lpq_cpu_isa isa);
/* y[i] = f16->f32(x[i]), i < n (any n >= 0): KV caches and embeddings stored as F16. */
void lpq_cpu_vec_f16_to_f32(int64_t n, float *y, const uint16_t *x, enum lpq_cpu_isa isa);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_CPU_KERNELS_H */
