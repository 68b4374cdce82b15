/*
 * cpu-features.c — which SIMD paths this CPU and OS allow (cpuid + xgetbv at run time), the
 * choice of ISA (LPQ_CPU_ISA may force a lower one) and the per-type kernel lookup that falls
 * back from a SIMD table to the scalar one type by type.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quant/common.h"
#include "runtimes/cpu/kernels-impl.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

void lpq_cpu_features_detect(struct lpq_cpu_features *f) {
    memset(f, 0, sizeof *f);
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    bool osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    bool fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return;
    uint64_t xcr0 = xgetbv0();
    bool ymm_ok = (xcr0 & 0x6) == 0x6;            /* SSE + AVX state saved by the OS */
    bool zmm_ok = ymm_ok && (xcr0 & 0xe0) == 0xe0; /* opmask + both zmm halves */
    if (!ymm_ok) return;
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = (b >> 5) & 1;
    f->fma = fma;
    f->f16c = f16c;
    if (zmm_ok) {
        f->avx512f = (b >> 16) & 1;
        f->avx512bw = (b >> 30) & 1;
        f->avx512vl = (b >> 31) & 1;
        f->avx512vnni = (c >> 11) & 1;
    }
    unsigned a1, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    f->avxvnni = (a1 >> 4) & 1;
    if (zmm_ok) f->avx512bf16 = (a1 >> 5) & 1;
#endif
}

const char *lpq_cpu_isa_name(enum lpq_cpu_isa isa) {
    switch (isa) {
    case LPQ_CPU_ISA_SCALAR: return "scalar";
    case LPQ_CPU_ISA_AVX2: return "avx2";
    case LPQ_CPU_ISA_AVX512: return "avx512";
    default: return "unknown";
    }
}

enum lpq_cpu_isa lpq_cpu_isa_best(const struct lpq_cpu_features *f) {
    enum lpq_cpu_isa best = LPQ_CPU_ISA_SCALAR;
    if (f->avx2 && f->fma && f->f16c) best = LPQ_CPU_ISA_AVX2;
    /* the AVX-512 kernels use VNNI for every integer dot product */
    if (best == LPQ_CPU_ISA_AVX2 && f->avx512f && f->avx512bw && f->avx512vl && f->avx512vnni)
        best = LPQ_CPU_ISA_AVX512;
    const char *env = getenv("LPQ_CPU_ISA");
    if (env && *env) {
        enum lpq_cpu_isa want = LPQ_CPU_ISA_COUNT;
        for (int i = 0; i < LPQ_CPU_ISA_COUNT; i++)
            if (strcasecmp(env, lpq_cpu_isa_name((enum lpq_cpu_isa)i)) == 0) want = (enum lpq_cpu_isa)i;
        if (want == LPQ_CPU_ISA_COUNT)
            lpq_log(LPQ_LOG_WARN, "LPQ_CPU_ISA=%s: not one of scalar, avx2, avx512; ignored", env);
        else if (want > best)
            lpq_log(LPQ_LOG_WARN, "LPQ_CPU_ISA=%s: this CPU only allows %s; ignored", env,
                    lpq_cpu_isa_name(best));
        else
            best = want;
    }
    return best;
}

const struct lpq_cpu_ops *lpq_cpu_ops_get(uint32_t type, enum lpq_cpu_isa isa) {
    const struct lpq_cpu_ops *ops = NULL;
    if (isa >= LPQ_CPU_ISA_AVX512) ops = lpq__cpu_ops_avx512(type);
    if (!ops && isa >= LPQ_CPU_ISA_AVX2) ops = lpq__cpu_ops_avx2(type);
    if (!ops) ops = lpq__cpu_ops_scalar(type);
    return ops;
}

void lpq_cpu_vec_dot_f32(int64_t n, float *s, const float *x, const float *y, enum lpq_cpu_isa isa) {
    if (isa >= LPQ_CPU_ISA_AVX512) lpq__vec_dot_f32_avx512(n, s, x, y);
    else if (isa == LPQ_CPU_ISA_AVX2) lpq__vec_dot_f32_avx2(n, s, x, y);
    else lpq__vec_dot_f32_scalar(n, s, x, y);
}

void lpq_cpu_vec_axpy_f32(int64_t n, float *y, float a, const float *x, enum lpq_cpu_isa isa) {
    if (isa >= LPQ_CPU_ISA_AVX512) lpq__vec_axpy_f32_avx512(n, y, a, x);
    else if (isa == LPQ_CPU_ISA_AVX2) lpq__vec_axpy_f32_avx2(n, y, a, x);
    else lpq__vec_axpy_f32_scalar(n, y, a, x);
}

void lpq_cpu_vec_f16_to_f32(int64_t n, float *y, const uint16_t *x, enum lpq_cpu_isa isa) {
    if (isa >= LPQ_CPU_ISA_AVX512) lpq__vec_f16_to_f32_avx512(n, y, x);
    else if (isa == LPQ_CPU_ISA_AVX2) lpq__vec_f16_to_f32_avx2(n, y, x);
    else lpq__vec_f16_to_f32_scalar(n, y, x);
}
