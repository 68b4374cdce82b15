/*
 * datasets.h — the registry of named datasets (file name, expected sha256, format, size and
 * where to obtain it) and the lookup of their files in --data-dir / LPQ_DATA_DIR. A missing
 * file or a wrong checksum is an error whose message says exactly what to put where.
 */
#ifndef LPQ_DATASETS_H
#define LPQ_DATASETS_H

#include <stddef.h>
#include <stdint.h>

#include "quant/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lpq_dataset_format {
    LPQ_DATASET_TEXT = 0,       /* plain UTF-8 text, tokenized whole (ppl, kld, calibration) */
    LPQ_DATASET_JSONL = 1,      /* one JSON object per line (accuracy benchmarks) */
    LPQ_DATASET_CSV = 2,
};

struct lpq_dataset_info {
    const char *name;           /* registry key: "wikitext2-test" */
    const char *file;           /* file name looked up in the data dir */
    const char *sha256;         /* expected hex digest of the file's bytes */
    enum lpq_dataset_format format;
    uint64_t size;              /* bytes, expected */
    const char *desc;           /* one line: what it is and how it differs from the original */
    const char *source;         /* where to obtain it */
};

/* NULL-terminated (name == NULL) table of known datasets. */
const struct lpq_dataset_info *lpq_dataset_list(void);
/* Registry entry by name, NULL when unknown. */
const struct lpq_dataset_info *lpq_dataset_find(const char *name);
/* Name used when a suite is given none ("wikitext2-test"). */
const char *lpq_dataset_default_text(void);

/* The data folder in effect: `data_dir` when non-NULL and non-empty, else $LPQ_DATA_DIR, else
 * "data". Static or caller's string; never NULL. */
const char *lpq_dataset_dir(const char *data_dir);

/*
 * Resolves and verifies a dataset. `name` is a registry name, or a path to a file of the
 * user's own (contains '/' or names an existing file; no checksum then). On success *path is
 * an lpq_malloc'd path (caller frees) and, when sha256_out is not NULL, the file's digest is
 * written there (65 bytes). Returns OK; NOT_FOUND ("dataset 'x': put FILE in DIR ..."), or
 * BAD_FILE (wrong sha256: expected and actual digests in the message), or IO.
 */
enum lpq_status lpq_dataset_resolve(const char *name, const char *data_dir, char **path,
                                    char sha256_out[65], struct lpq_err *err);

/* Resolves, verifies and reads a text dataset whole. *text is lpq_malloc'd, NUL-terminated,
 * *len bytes (caller frees). Same errors as lpq_dataset_resolve. */
enum lpq_status lpq_dataset_load_text(const char *name, const char *data_dir, char **text, size_t *len,
                                      char sha256_out[65], struct lpq_err *err);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_DATASETS_H */
