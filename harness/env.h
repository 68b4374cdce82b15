/*
 * env.h — the environment fingerprint recorded with every result: CPU model and flags, cores,
 * memory, OS, compiler and build flags, lpq version and commit, library versions, the runtime
 * and its parameters, the model's sha256 and the time. Reports group results by it.
 */
#ifndef LPQ_ENV_H
#define LPQ_ENV_H

#include <jansson.h>

#include "quant/common.h"
#include "runtimes/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The machine and build part (no runtime, no model): a new object, caller owns it. */
json_t *lpq_env_host(void);

/* The whole fingerprint for one run: host + runtime name, its caps/device and parameters,
 * the model path and sha256 (may be NULL), UTC timestamp. New object, caller owns it. */
json_t *lpq_env_fingerprint(const struct lpq_rt_reg *rt, const struct lpq_rt_params *params,
                            const char *model_path, const char *model_sha256);

/* The CPU flags line from /proc/cpuinfo (lpq_malloc'd, "" when unknown). */
char *lpq_env_cpu_flags(void);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_ENV_H */
