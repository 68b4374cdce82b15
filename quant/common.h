/*
 * common.h — pieces every lpq module uses: status codes, per-object error messages,
 * the replaceable log callback, allocation wrappers and overflow-checked arithmetic.
 * This is the bottom of the layer stack; it depends on nothing but libc.
 */
#ifndef LPQ_COMMON_H
#define LPQ_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, value, message). 0 = success, negative = error (libuv's UV_ERRNO_MAP idea). */
#define LPQ_STATUS_MAP(X)                                                     \
    X(OK,            0,  "success")                                           \
    X(ERROR,        -1,  "unspecified error")                                 \
    X(NO_MEMORY,    -2,  "out of memory")                                     \
    X(IO,           -3,  "input/output error")                                \
    X(BAD_FILE,     -4,  "malformed file")                                    \
    X(BAD_ARG,      -5,  "invalid argument")                                  \
    X(UNSUPPORTED,  -6,  "unsupported")                                       \
    X(NOT_FOUND,    -7,  "not found")                                         \
    X(TYPE_MISMATCH,-8,  "type mismatch")                                     \
    X(RANGE,        -9,  "value out of range")                                \
    X(RUNTIME,      -10, "runtime failure")                                   \
    X(INTERRUPTED,  -11, "interrupted")                                       \
    X(THRESHOLD,    -12, "threshold crossed")

enum lpq_status {
#define LPQ__X(name, val, msg) LPQ_STATUS_##name = (val),
    LPQ_STATUS_MAP(LPQ__X)
#undef LPQ__X
};

/* "LPQ_STATUS_BAD_FILE"; "LPQ_STATUS_UNKNOWN" for a value not in the map. Static strings. */
const char *lpq_status_name(enum lpq_status st);
/* "malformed file"; "unknown status" for a value not in the map. Static strings. */
const char *lpq_status_str(enum lpq_status st);

/* ---------------------------------------------------------------------------------------
 * Per-object last error (curl's failf, SQLite's errmsg). Objects embed one; functions that
 * create objects take a `struct lpq_err *` (may be NULL) so a failed open can say why.
 */
#define LPQ_ERR_MSG_MAX 512

struct lpq_err {
    enum lpq_status status;       /* last failure, LPQ_STATUS_OK when none */
    char msg[LPQ_ERR_MSG_MAX];    /* one line, no trailing newline */
};

/* Records `st` and a printf-style one-line message in `err` (NULL allowed); returns `st`
 * so callers can write `return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "...");`. */
enum lpq_status lpq_err_set(struct lpq_err *err, enum lpq_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum lpq_status lpq_err_setv(struct lpq_err *err, enum lpq_status st, const char *fmt, va_list ap);
/* Copies src into dst (either may be NULL). */
void lpq_err_copy(struct lpq_err *dst, const struct lpq_err *src);
void lpq_err_clear(struct lpq_err *err);

/* ---------------------------------------------------------------------------------------
 * Logging through one replaceable callback (ggml_log_set). The callback and the allocator
 * below are the only process-wide settings; set them before creating objects.
 */
enum lpq_log_level {
    LPQ_LOG_DEBUG = 0,
    LPQ_LOG_INFO  = 1,
    LPQ_LOG_WARN  = 2,
    LPQ_LOG_ERROR = 3,
};

/* `msg` is one line without a trailing newline. */
typedef void (*lpq_log_fn)(enum lpq_log_level level, const char *msg, void *user);

/* NULL restores the default (stderr, WARN and above; LPQ_LOG=debug|info|warn|error overrides). */
void lpq_log_set(lpq_log_fn fn, void *user);
void lpq_log(enum lpq_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------------------------------
 * Allocation. All lpq code allocates through these, so tests can route them through
 * cmocka's leak-checking test_malloc/test_free.
 */
struct lpq_allocator {
    void *(*malloc_fn)(size_t size);
    void *(*calloc_fn)(size_t n, size_t size);
    void *(*realloc_fn)(void *ptr, size_t size);
    void  (*free_fn)(void *ptr);
};

/* NULL restores libc's allocator. */
void lpq_set_allocator(const struct lpq_allocator *a);

void *lpq_malloc(size_t size);
void *lpq_calloc(size_t n, size_t size);
void *lpq_realloc(void *ptr, size_t size);
void  lpq_free(void *ptr);                       /* lpq_free(NULL) is a no-op */
/* n * size bytes, NULL (no allocation attempted) when the product overflows. */
void *lpq_malloc_array(size_t n, size_t size);
char *lpq_strdup(const char *s);
char *lpq_strndup(const char *s, size_t n);
/* printf into a new lpq_malloc'd string; NULL on failure. */
char *lpq_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Aligned allocation (alignment a power of two >= sizeof(void*)); free with lpq_free_aligned. */
void *lpq_malloc_aligned(size_t size, size_t alignment);
void  lpq_free_aligned(void *ptr);

/* ---------------------------------------------------------------------------------------
 * Overflow-checked arithmetic: return true on success, false (and *out untouched) on overflow.
 */
static inline bool lpq_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) return false;
    *out = r;
    return true;
}
static inline bool lpq_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return false;
    *out = r;
    return true;
}

#define LPQ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LPQ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LPQ_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Programmer errors only — never for user input. */
#define LPQ_ASSERT(cond)                                                       \
    do {                                                                       \
        if (!(cond)) lpq__assert_fail(#cond, __FILE__, __LINE__);              \
    } while (0)
_Noreturn void lpq__assert_fail(const char *expr, const char *file, int line);

/* lpq's version ("0.1.0") and the commit it was built from ("-dirty" when tracked files had
 * local changes; defined in the build-time generated lpq-commit.c, see cmake/LpqCommit.cmake). */
const char *lpq_version(void);
const char *lpq_commit(void);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_COMMON_H */
