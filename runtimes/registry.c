/*
 * registry.c — the static table of built-in runtime adapters (curl's backend table). Order
 * does not matter for lookups; `auto` picks by priority and probe (see runtime.c).
 */
#include "runtimes/runtimes-impl.h"

const struct lpq_rt_reg *const lpq_rt_builtin[] = {
    &lpq_rt_cpu_reg,
    &lpq_rt_cuda_reg,
    NULL,
};
