/*
 * bench-readers.h — the standard benchmarks read from files the user has (--data-dir): MMLU CSV
 * folders (0–5 shot from dev), ARC-Easy/Challenge and Winogrande in llm-foundry's JSONL,
 * HellaSwag's original JSONL (lm-eval's preprocessing), TruthfulQA MC1/MC2 from mc_task.json
 * and GSM8K JSONL. Each becomes an lpq_acc_set of formatted items scored as lm-eval does.
 */
#ifndef LPQ_BENCH_READERS_H
#define LPQ_BENCH_READERS_H

#include <stdbool.h>
#include <stdint.h>

#include "quant/common.h"
#include "suites/acc-items.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lpq_bench_desc {
    const char *name;           /* "mmlu", "arc_easy", ... */
    const char *paths[3];       /* candidates relative to the data dir (file, or folder for MMLU) */
    const char *metrics;        /* what is reported, and which normalisation */
};
/* NULL-name-terminated table of the benchmarks lpq reads. */
extern const struct lpq_bench_desc lpq_bench_builtin[];
const struct lpq_bench_desc *lpq_bench_find(const char *name);

struct lpq_bench_opts {
    int64_t limit;              /* items kept by seeded sampling, 0 = all */
    uint64_t seed;
    int32_t mmlu_shots;         /* 0..5 examples from dev/, default 5 */
};

/* Path of the benchmark's file under data_dir, lpq_malloc'd; NULL when absent. */
char *lpq_bench_locate(const struct lpq_bench_desc *b, const char *data_dir);
/* Reads the benchmark from `path` (a file, or MMLU's folder with test/ and dev/). A file in
 * another format → BAD_FILE naming file, line and what was expected. */
enum lpq_status lpq_bench_load(const struct lpq_bench_desc *b, const char *path, const struct lpq_bench_opts *o,
                               struct lpq_acc_set **out, struct lpq_err *err);

/* lm-eval's HellaSwag text cleanup: strip, " [title]" → ". ", drop "[...]" tags, "  " → " ".
 * New lpq_malloc'd string. */
char *lpq_bench_hellaswag_clean(const char *s);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_BENCH_READERS_H */
