/*
 * fuzz_gguf.c — libFuzzer target for the GGUF reader: any input must either be refused
 * with LPQ_STATUS_BAD_FILE and a one-line message naming an offset, or open into a handle
 * whose every key, string and tensor byte can be read without leaving the input buffer.
 * Each input is opened twice, with and without tensor data (no_data skips the data checks).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "quant/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t g_sink;   /* keeps the reads below from being optimised away */

static void walk(struct lpq_gguf *g) {
    for (int64_t i = 0; i < lpq_gguf_n_kv(g); i++) {
        const char *key = lpq_gguf_kv_key(g, i);
        enum lpq_gguf_vtype t = lpq_gguf_kv_type(g, i);
        if (lpq_gguf_find_key(g, key) < 0) __builtin_trap();
        if (t == LPQ_GGUF_STRING) {
            size_t len = 0;
            const char *s = lpq_gguf_kv_str(g, i, 0, &len);
            g_sink ^= (uint8_t)s[len];   /* the NUL */
            if (len) g_sink ^= (uint8_t)s[0];
        } else if (t == LPQ_GGUF_ARRAY) {
            uint64_t n = lpq_gguf_kv_arr_n(g, i);
            if (lpq_gguf_kv_arr_type(g, i) == LPQ_GGUF_STRING) {
                for (uint64_t j = 0; j < n; j++) {
                    size_t len = 0;
                    const char *s = lpq_gguf_kv_str(g, i, j, &len);
                    g_sink ^= (uint8_t)s[len];
                }
            } else if (n) {
                const uint8_t *p = lpq_gguf_kv_data(g, i);
                g_sink ^= p[0];
            }
        } else {
            const uint8_t *p = lpq_gguf_kv_data(g, i);
            g_sink ^= p[0];
        }
        /* Typed accessors must agree with the stored type. */
        int64_t v;
        enum lpq_status st = lpq_gguf_get_int(g, key, &v);
        if (st != LPQ_STATUS_OK && st != LPQ_STATUS_TYPE_MISMATCH && st != LPQ_STATUS_RANGE) __builtin_trap();
    }
    for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
        if (lpq_gguf_find_tensor(g, t->name) < 0) __builtin_trap();
        if (lpq_gguf_tensor_nelements(t) <= 0) __builtin_trap();
        if (t->data && t->size) {
            const uint8_t *p = t->data;
            g_sink ^= p[0] ^ p[t->size - 1];   /* ASan catches a range outside the input */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int pass = 0; pass < 2; pass++) {
        struct lpq_gguf_params prm = lpq_gguf_params_default();
        struct lpq_gguf *g = NULL;
        struct lpq_err err;
        prm.no_data = pass == 1;
        lpq_err_clear(&err);
        enum lpq_status st = lpq_gguf_open_mem(data, size, &prm, &g, &err);
        if (st == LPQ_STATUS_OK) {
            walk(g);
            lpq_gguf_close(g);
        } else if (st != LPQ_STATUS_BAD_FILE || !strstr(err.msg, ": offset ") || strchr(err.msg, '\n') || g) {
            fprintf(stderr, "unexpected refusal: %s: %s\n", lpq_status_name(st), err.msg);
            __builtin_trap();
        }
    }
    return 0;
}
