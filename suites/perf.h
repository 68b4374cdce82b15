/*
 * perf.h — process-wide performance counters around a measured phase, through libpfm4 and
 * perf_event_open: cycles, instructions, cache references/misses, LLC load misses, branch
 * misses and stalled cycles where the PMU has them, plus task-clock, page faults and context
 * switches. Counters are opened on every thread of the process (the runtime's thread pool
 * included), summed, and scaled by time_enabled/time_running when the kernel multiplexed
 * them. A counter the machine cannot provide (no PMU in a VM, perf_event_paranoid, no
 * libpfm4 at build time) is reported as unsupported; that is never an error.
 */
#ifndef LPQ_PERF_H
#define LPQ_PERF_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "quant/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lpq_perf_event {
    LPQ_PERF_CYCLES,
    LPQ_PERF_INSTRUCTIONS,
    LPQ_PERF_CACHE_REFERENCES,
    LPQ_PERF_CACHE_MISSES,
    LPQ_PERF_LLC_LOAD_MISSES,
    LPQ_PERF_BRANCH_MISSES,
    LPQ_PERF_STALLED_FRONTEND,
    LPQ_PERF_STALLED_BACKEND,
    LPQ_PERF_TASK_CLOCK,
    LPQ_PERF_PAGE_FAULTS,
    LPQ_PERF_CONTEXT_SWITCHES,
    LPQ_PERF_EVENT_COUNT
};

struct lpq_perf_value {
    bool supported;          /* false: the machine cannot count it (value meaningless) */
    double value;            /* count (task-clock: nanoseconds), scaled for multiplexing */
    double running_frac;     /* time_running / time_enabled (1 = never multiplexed) */
};

struct lpq_perf_sample {
    struct lpq_perf_value ev[LPQ_PERF_EVENT_COUNT];
    double wall_ns;          /* wall-clock nanoseconds between start and stop */
};

struct lpq_perf;

/* Never fails for lack of counters; only NO_MEMORY. */
enum lpq_status lpq_perf_create(struct lpq_perf **out, struct lpq_err *err);
void lpq_perf_free(struct lpq_perf *p);
/* Opens the counters on every current thread of the process and starts them. */
void lpq_perf_start(struct lpq_perf *p);
/* Stops, reads, sums over threads and closes the counters. */
void lpq_perf_stop(struct lpq_perf *p, struct lpq_perf_sample *out);

const char *lpq_perf_event_name(enum lpq_perf_event e);   /* "cycles", "task_clock_ns", ... */
/* {"cycles": 123 | "unsupported", ..., "ipc": x | "unsupported", "wall_ns": n} */
json_t *lpq_perf_sample_json(const struct lpq_perf_sample *s);
/* true when the hardware events (cycles, instructions) can be counted here. */
bool lpq_perf_hw_available(struct lpq_perf *p);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_PERF_H */
