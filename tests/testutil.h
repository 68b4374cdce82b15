/*
 * testutil.h — helpers shared by the cmocka tests: where the shared fixtures are, scratch
 * directories, reading whole files, and routing lpq's allocator through cmocka's
 * leak-checking test_malloc/test_free.
 */
#ifndef LPQ_TESTUTIL_H
#define LPQ_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Path of a file under ../shared ("models/stories260K.gguf"); static buffer per call slot. */
const char *tu_shared(const char *rel);
/* true when ../shared exists (tests that need it skip() otherwise). */
int tu_have_shared(void);
/* Path of a real model in the optional cache that scripts/get-test-models fills
 * ($LPQ_MODEL_CACHE, else ~/.cache/lpq/models); static buffer per call slot. */
const char *tu_model_cache(const char *file);
/* skip()s, saying why, unless `path` exists with exactly `size` bytes (its size in
 * scripts/test-models.lock). */
void tu_skip_unless_cached(const char *path, long long size);
/* A fresh empty scratch directory for this test process (removed at exit). */
const char *tu_tmpdir(void);
/* Path inside tu_tmpdir(); returned string is lpq_malloc'd... no: static rotating buffer. */
const char *tu_tmp(const char *name);
/* Reads a whole file into a malloc'd buffer (free with free()); NULL on failure. */
void *tu_read_file(const char *path, size_t *size);
int tu_write_file(const char *path, const void *data, size_t size);
/* Route lpq_malloc & co. through cmocka's test_malloc so leaks fail the test. */
void tu_use_cmocka_allocator(void);
/* Path of a built program ("lpq-quant"), from LPQ_BUILD_DIR. */
const char *tu_bin(const char *name);
/* Runs a shell command, capturing stdout+stderr into *out (malloc'd). Returns exit status. */
int tu_run(const char *cmd, char **out);

#endif
