/*
 * acc-items.h — accuracy items in memory: the lpq-140 JSONL loader and validator (schema in
 * suites/SCHEMA-lpq-140.md), the item sets the benchmark readers fill, and the small
 * JSON-schema validator (type, properties, required, enum, items) used for tool schemas.
 */
#ifndef LPQ_ACC_ITEMS_H
#define LPQ_ACC_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "quant/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lpq_acc_type {
    LPQ_ACC_MC = 0,          /* pick a choice by log-likelihood */
    LPQ_ACC_NUMERIC = 1,     /* greedy answer, last number compared */
    LPQ_ACC_TOOL_CALL = 2,   /* greedy answer parsed as a JSON function call */
};
/* "mc", "numeric", "tool_call" */
const char *lpq_acc_type_name(enum lpq_acc_type t);

struct lpq_acc_item {
    char id[96];                /* stable id ("know-001", "mmlu/anatomy/12") */
    char category[64];          /* lpq-140 category, or the benchmark name */
    char difficulty[8];         /* "easy" | "medium" | "hard" | "" (benchmarks) */
    enum lpq_acc_type type;
    char *prompt;               /* lpq-140: question / request. formatted: the whole context */
    bool formatted;             /* prompt and choices are final text (benchmarks: no wrapping,
                                 * no chat template, choices carry their leading space) */
    /* mc */
    int32_t n_choices;
    char **choices;             /* n_choices continuations */
    char **contexts;            /* per-choice contexts (Winogrande), NULL = prompt for all */
    int32_t answer;             /* index of the correct choice */
    uint8_t *is_true;           /* TruthfulQA MC2: 1 per true choice; NULL otherwise */
    /* numeric */
    double number;              /* expected value */
    double tolerance;           /* absolute; 0 = 1e-6·max(1, |number|) */
    /* tool_call */
    json_t *tools;              /* array of {name, description, parameters} (owned reference) */
    json_t *expected;           /* {name, arguments, required, compare} (owned reference) */
    int64_t line;               /* 1-based line in the source file (0 = not from a file) */
};

struct lpq_acc_set {
    char name[64];              /* "lpq-140", "mmlu", "arc_easy", ... */
    char *path;                 /* file or folder read */
    struct lpq_acc_item *items;
    size_t n, cap;              /* items used / allocated */
    int64_t n_total;            /* items in the source before --limit sampling */
    uint64_t seed;              /* sampling seed (recorded), 0 when not sampled */
    int32_t n_shot;             /* few-shot examples in each prompt (MMLU) */
};

/* Empty set named `name`; NULL when out of memory. */
struct lpq_acc_set *lpq_acc_set_new(const char *name);
void lpq_acc_set_free(struct lpq_acc_set *s);            /* NULL is a no-op */
/* Appends a zeroed item and returns it (NULL when out of memory). */
struct lpq_acc_item *lpq_acc_set_push(struct lpq_acc_set *s);
/* Keeps `limit` items chosen by a seeded partial shuffle, in their original order; limit <= 0
 * or >= n keeps all. Records n_total and seed. */
void lpq_acc_set_sample(struct lpq_acc_set *s, int64_t limit, uint64_t seed);

/* Loads and validates an lpq-140 style JSONL file (schema: suites/SCHEMA-lpq-140.md). Every
 * problem is an error naming "file:line": unparsable JSON, missing or mistyped field,
 * duplicate id, unknown type/category/difficulty, answer index out of range, a tool schema
 * outside the supported subset, an expected call that does not validate against its tool.
 * Returns OK, IO, BAD_FILE or NO_MEMORY; *out untouched on failure. */
enum lpq_status lpq_acc_set_load(const char *path, struct lpq_acc_set **out, struct lpq_err *err);

/* Tiny JSON-schema subset: type (object, array, string, number, integer, boolean, null),
 * properties, required, enum, items, description. */
/* Is `schema` well-formed in that subset? why (may be NULL) gets the first problem. */
bool lpq_acc_schema_check(const json_t *schema, char *why, size_t why_cap);
/* Does `value` validate against `schema`? why gets the first failure ("$.tags[1]: expected string"). */
bool lpq_acc_schema_validate(const json_t *schema, const json_t *value, char *why, size_t why_cap);

/* Categories of lpq-140 with their required counts, in report order. */
struct lpq_acc_category {
    const char *name;           /* "knowledge" */
    const char *id_prefix;      /* "know" */
    int32_t count;              /* items the suite must have */
};
extern const struct lpq_acc_category lpq_acc_categories[6];

#ifdef __cplusplus
}
#endif

#endif /* LPQ_ACC_ITEMS_H */
