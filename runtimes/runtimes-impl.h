/*
 * runtimes-impl.h — internals shared inside the runtimes module only: the registration
 * records of the built-in adapters, which registry.c collects into lpq_rt_builtin[].
 * Nothing outside runtimes/ includes this file.
 */
#ifndef LPQ_RUNTIMES_IMPL_H
#define LPQ_RUNTIMES_IMPL_H

#include "runtimes/runtime.h"

/* runtimes/cpu/cpu-rt.c: lpq's own CPU engine; always available. */
extern const struct lpq_rt_reg lpq_rt_cpu_reg;
/* runtimes/cuda-stub.c when built without LPQ_WITH_CUDA: probe says "cuda: not built". */
extern const struct lpq_rt_reg lpq_rt_cuda_reg;

#endif /* LPQ_RUNTIMES_IMPL_H */
