/*
 * testutil.c — see testutil.h.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "quant/common.h"

static char g_tmpdir[512];

const char *tu_shared(const char *rel) {
    static char buf[8][1024];
    static int slot;
    const char *root = getenv("LPQ_SHARED");
    if (!root) root = "../shared";
    char *b = buf[slot++ % 8];
    snprintf(b, sizeof(buf[0]), "%s/%s", root, rel);
    return b;
}

const char *tu_model_cache(const char *file) {
    static char buf[4][1024];
    static int slot;
    const char *dir = getenv("LPQ_MODEL_CACHE");
    const char *home = getenv("HOME");
    char *b = buf[slot++ % 4];
    if (dir && *dir)
        snprintf(b, sizeof(buf[0]), "%s/%s", dir, file);
    else
        snprintf(b, sizeof(buf[0]), "%s/.cache/lpq/models/%s", home ? home : ".", file);
    return b;
}

void tu_skip_unless_cached(const char *path, long long size) {
    struct stat st;
    if (stat(path, &st) != 0) {
        print_message("SKIP: real model cache not present: run scripts/get-test-models (%s)\n", path);
        skip();
    }
    if ((long long)st.st_size != size) {
        print_message("SKIP: %s is %lld bytes, the lock says %lld: run scripts/get-test-models --check\n",
                      path, (long long)st.st_size, size);
        skip();
    }
}

int tu_have_shared(void) {
    struct stat st;
    return stat(tu_shared("README.md"), &st) == 0;
}

static void rm_tmpdir(void) {
    if (g_tmpdir[0] && !getenv("LPQ_KEEP_TMP")) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmpdir);
        if (system(cmd) != 0) { /* best effort */ }
    }
}

const char *tu_tmpdir(void) {
    if (!g_tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(g_tmpdir, sizeof(g_tmpdir), "%s/lpq-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(g_tmpdir)) {
            fprintf(stderr, "cannot create a scratch directory\n");
            exit(1);
        }
        atexit(rm_tmpdir);
    }
    return g_tmpdir;
}

const char *tu_tmp(const char *name) {
    static char buf[8][1024];
    static int slot;
    char *b = buf[slot++ % 8];
    snprintf(b, sizeof(buf[0]), "%s/%s", tu_tmpdir(), name);
    return b;
}

void *tu_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf && size) *size = (size_t)n;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, size, f);
    return (fclose(f) == 0 && w == size) ? 0 : -1;
}

static void *cm_malloc(size_t n) { return _test_malloc(n, __FILE__, __LINE__); }
static void *cm_calloc(size_t n, size_t s) { return _test_calloc(n, s, __FILE__, __LINE__); }
static void *cm_realloc(void *p, size_t n) { return _test_realloc(p, n, __FILE__, __LINE__); }
static void cm_free(void *p) { _test_free(p, __FILE__, __LINE__); }

void tu_use_cmocka_allocator(void) {
    static const struct lpq_allocator a = { cm_malloc, cm_calloc, cm_realloc, cm_free };
    lpq_set_allocator(&a);
}

const char *tu_bin(const char *name) {
    static char buf[4][1024];
    static int slot;
    const char *dir = getenv("LPQ_BUILD_DIR");
    char *b = buf[slot++ % 4];
    if (!strcmp(name, "lpq-quant")) snprintf(b, sizeof(buf[0]), "%s/quant/%s", dir ? dir : ".", name);
    else if (!strcmp(name, "lpq-eval")) snprintf(b, sizeof(buf[0]), "%s/harness/%s", dir ? dir : ".", name);
    else snprintf(b, sizeof(buf[0]), "%s/%s", dir ? dir : ".", name);
    return b;
}

int tu_run(const char *cmd, char **out) {
    char *full = NULL;
    if (asprintf(&full, "(%s) 2>&1", cmd) < 0) return -1;
    FILE *p = popen(full, "r");
    free(full);
    if (!p) return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += r;
        if (cap - len < 1024) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
    }
    if (buf) buf[len] = '\0';
    int st = pclose(p);
    if (out) *out = buf;
    else free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
