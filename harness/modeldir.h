/*
 * modeldir.h — a model folder as lpq-eval sees it: its variants (one GGUF each), where each
 * variant's evaluation.json goes, and which variant is the baseline. Read from
 * models/NAME/manifest.json when present, else discovered as gguf/<VARIANT>/<file>.gguf; or a
 * single file (--model FILE).
 *
 * manifest.json (schema 1): { "name": "qwen3-8b", "baseline": "F16",
 *   "variants": [ { "name": "F16", "file": "gguf/F16/qwen3-8b-F16.gguf" }, ... ] }
 * "file" is relative to the folder; "baseline" is optional.
 */
#ifndef LPQ_MODELDIR_H
#define LPQ_MODELDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quant/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lpq_variant {
    char *name;                 /* "Q4_K_M": the gguf/<VARIANT> folder name or the manifest's */
    char *path;                 /* the GGUF file */
    char *dir;                  /* the variant's folder */
    char *results;              /* its results file: <dir>/evaluation.json (single file:
                                 * <file without .gguf>.evaluation.json beside it) */
    int rank;                   /* precision rank for the baseline: F32 0, BF16 1, F16 2, Q8_0 3, other 100 */
    uint64_t size;              /* bytes of the file */
    char *error;                /* non-NULL: the file cannot be used (why, one line) */
};

struct lpq_modeldir {
    char *root;                 /* the folder; NULL for a single file */
    char *name;                 /* model name (manifest, else the folder's name, else the file's) */
    struct lpq_variant *v;      /* n variants, sorted by rank then name (baseline first) */
    size_t n;
    int baseline;               /* index into v, -1 when none could be chosen */
};

/* Reads the folder. `baseline` (NULL = automatic: highest precision F32 > BF16 > F16 > Q8_0)
 * names the baseline variant. Errors: NOT_FOUND (no such folder), BAD_FILE (manifest.json does
 * not parse / lacks fields), NOT_FOUND ("no variants": empty folder), BAD_ARG (--baseline names
 * no variant). A variant whose GGUF cannot be read is kept with `error` set (the run records it). */
enum lpq_status lpq_modeldir_open(const char *dir, const char *baseline, struct lpq_modeldir **out,
                                  struct lpq_err *err);
/* One file: the variant is named after the file's type, evaluation.json goes beside it. */
enum lpq_status lpq_modeldir_single(const char *file, struct lpq_modeldir **out, struct lpq_err *err);
void lpq_modeldir_free(struct lpq_modeldir *md);

/* Precision rank of a variant name ("F32" 0, "BF16" 1, "F16" 2, "Q8_0" 3, else 100);
 * case-insensitive, also matches the name's last "-"/"." separated part ("model-F16"). */
int lpq_variant_rank(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_MODELDIR_H */
