/*
 * common.c — status names, error buffers, the log callback and the allocation wrappers
 * declared in common.h.
 */
#include "quant/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *lpq_status_name(enum lpq_status st) {
    switch (st) {
#define LPQ__X(name, val, msg) case LPQ_STATUS_##name: return "LPQ_STATUS_" #name;
        LPQ_STATUS_MAP(LPQ__X)
#undef LPQ__X
    }
    return "LPQ_STATUS_UNKNOWN";
}

const char *lpq_status_str(enum lpq_status st) {
    switch (st) {
#define LPQ__X(name, val, msg) case LPQ_STATUS_##name: return msg;
        LPQ_STATUS_MAP(LPQ__X)
#undef LPQ__X
    }
    return "unknown status";
}

enum lpq_status lpq_err_setv(struct lpq_err *err, enum lpq_status st, const char *fmt, va_list ap) {
    if (!err) return st;
    err->status = st;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    /* Keep it one line: a message is printed as "lpq-x: <msg>". */
    for (char *p = err->msg; *p; p++) {
        if (*p == '\n' || *p == '\r') *p = ' ';
    }
    return st;
}

enum lpq_status lpq_err_set(struct lpq_err *err, enum lpq_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lpq_err_setv(err, st, fmt, ap);
    va_end(ap);
    return st;
}

void lpq_err_copy(struct lpq_err *dst, const struct lpq_err *src) {
    if (!dst || !src || dst == src) return;
    *dst = *src;
}

void lpq_err_clear(struct lpq_err *err) {
    if (!err) return;
    err->status = LPQ_STATUS_OK;
    err->msg[0] = '\0';
}

/* ---- logging ---------------------------------------------------------------------- */

static lpq_log_fn g_log_fn;      /* process-wide setting, see common.h */
static void *g_log_user;

static enum lpq_log_level default_threshold(void) {
    const char *e = getenv("LPQ_LOG");
    if (!e) return LPQ_LOG_WARN;
    if (!strcasecmp(e, "debug")) return LPQ_LOG_DEBUG;
    if (!strcasecmp(e, "info")) return LPQ_LOG_INFO;
    if (!strcasecmp(e, "error")) return LPQ_LOG_ERROR;
    return LPQ_LOG_WARN;
}

static void default_log(enum lpq_log_level level, const char *msg, void *user) {
    static const char *const names[] = { "debug", "info", "warning", "error" };
    (void)user;
    if (level < default_threshold()) return;
    fprintf(stderr, "lpq: %s: %s\n", names[level], msg);
}

void lpq_log_set(lpq_log_fn fn, void *user) {
    g_log_fn = fn;
    g_log_user = user;
}

void lpq_log(enum lpq_log_level level, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (g_log_fn) g_log_fn(level, buf, g_log_user);
    else default_log(level, buf, NULL);
}

/* ---- allocation ------------------------------------------------------------------- */

static struct lpq_allocator g_alloc = { malloc, calloc, realloc, free };

void lpq_set_allocator(const struct lpq_allocator *a) {
    if (a) g_alloc = *a;
    else g_alloc = (struct lpq_allocator){ malloc, calloc, realloc, free };
}

void *lpq_malloc(size_t size) { return g_alloc.malloc_fn(size ? size : 1); }
void *lpq_calloc(size_t n, size_t size) { return g_alloc.calloc_fn(n ? n : 1, size ? size : 1); }
void *lpq_realloc(void *ptr, size_t size) { return g_alloc.realloc_fn(ptr, size ? size : 1); }
void lpq_free(void *ptr) { if (ptr) g_alloc.free_fn(ptr); }

void *lpq_malloc_array(size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) return NULL;
    return lpq_malloc(total);
}

char *lpq_strndup(const char *s, size_t n) {
    char *r = lpq_malloc(n + 1);
    if (!r) return NULL;
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

char *lpq_strdup(const char *s) { return lpq_strndup(s, strlen(s)); }

char *lpq_asprintf(const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *r = NULL;
    if (n >= 0 && (r = lpq_malloc((size_t)n + 1)) != NULL) vsnprintf(r, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return r;
}

/* Over-allocate and stash the original pointer just below the aligned block, so aligned
 * memory also goes through the replaceable allocator. */
void *lpq_malloc_aligned(size_t size, size_t alignment) {
    size_t total;
    if (alignment < sizeof(void *) || (alignment & (alignment - 1))) return NULL;
    if (__builtin_add_overflow(size, alignment + sizeof(void *), &total)) return NULL;
    unsigned char *raw = lpq_malloc(total);
    if (!raw) return NULL;
    uintptr_t p = ((uintptr_t)raw + sizeof(void *) + alignment - 1) & ~(uintptr_t)(alignment - 1);
    ((void **)p)[-1] = raw;
    return (void *)p;
}

void lpq_free_aligned(void *ptr) {
    if (ptr) lpq_free(((void **)ptr)[-1]);
}

_Noreturn void lpq__assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "lpq: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}

const char *lpq_version(void) { return LPQ_VERSION; }
