/*
 * cmd-info.c — `lpq-quant info FILE [--json]`: the header, metadata (long arrays summarised),
 * a tensor table and totals (parameters, bytes, bits per weight, per-type breakdown) of a GGUF
 * file. Reads only the header: the tensor data is never touched, so a multi-GB file is
 * described in milliseconds.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "quant/gguf.h"
#include "quant/tools/cmds.h"

#define ARR_SHOW 8  /* array elements shown before "..." */

static void usage(FILE *f) {
    fprintf(f, "usage: lpq-quant info FILE [--json] [--all]\n"
               "  --json   machine-readable output (jansson)\n"
               "  --all    print every array element instead of a summary\n");
}

struct type_total {
    int64_t n_tensors;
    int64_t n_params;
    uint64_t bytes;
};

struct totals {
    int64_t n_params;
    uint64_t n_bytes;
    struct type_total by_type[LPQ_TYPE_COUNT];
};

static void count_totals(const struct lpq_gguf *g, struct totals *t) {
    memset(t, 0, sizeof(*t));
    for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) {
        const struct lpq_gguf_tensor *tn = lpq_gguf_tensor(g, i);
        int64_t ne = lpq_gguf_tensor_nelements(tn);
        t->n_params += ne;
        t->n_bytes += tn->size;
        if (tn->type < LPQ_TYPE_COUNT) {
            t->by_type[tn->type].n_tensors++;
            t->by_type[tn->type].n_params += ne;
            t->by_type[tn->type].bytes += tn->size;
        }
    }
}

/* Formats scalar element `j` of kv `i` (j ignored for scalars) into buf. */
static void fmt_scalar(const struct lpq_gguf *g, int64_t i, enum lpq_gguf_vtype t, const void *p,
                       uint64_t j, char *buf, size_t cap) {
    switch (t) {
    case LPQ_GGUF_U8:  { uint8_t v;  memcpy(&v, p, 1); snprintf(buf, cap, "%u", v); break; }
    case LPQ_GGUF_I8:  { int8_t v;   memcpy(&v, p, 1); snprintf(buf, cap, "%d", v); break; }
    case LPQ_GGUF_U16: { uint16_t v; memcpy(&v, p, 2); snprintf(buf, cap, "%u", v); break; }
    case LPQ_GGUF_I16: { int16_t v;  memcpy(&v, p, 2); snprintf(buf, cap, "%d", v); break; }
    case LPQ_GGUF_U32: { uint32_t v; memcpy(&v, p, 4); snprintf(buf, cap, "%" PRIu32, v); break; }
    case LPQ_GGUF_I32: { int32_t v;  memcpy(&v, p, 4); snprintf(buf, cap, "%" PRId32, v); break; }
    case LPQ_GGUF_U64: { uint64_t v; memcpy(&v, p, 8); snprintf(buf, cap, "%" PRIu64, v); break; }
    case LPQ_GGUF_I64: { int64_t v;  memcpy(&v, p, 8); snprintf(buf, cap, "%" PRId64, v); break; }
    case LPQ_GGUF_F32: { float v;    memcpy(&v, p, 4); snprintf(buf, cap, "%.9g", (double)v); break; }
    case LPQ_GGUF_F64: { double v;   memcpy(&v, p, 8); snprintf(buf, cap, "%.17g", v); break; }
    case LPQ_GGUF_BOOL: { uint8_t v; memcpy(&v, p, 1); snprintf(buf, cap, "%s", v ? "true" : "false"); break; }
    case LPQ_GGUF_STRING: {
        size_t len = 0;
        const char *s = lpq_gguf_kv_str(g, i, j, &len);
        /* Quote and escape control characters so one value stays on one line. */
        size_t o = 0;
        if (o + 1 < cap) buf[o++] = '"';
        for (size_t k = 0; s && k < len && o + 8 < cap; k++) {
            unsigned char c = (unsigned char)s[k];
            if (c == '\n') { buf[o++] = '\\'; buf[o++] = 'n'; }
            else if (c == '"' || c == '\\') { buf[o++] = '\\'; buf[o++] = (char)c; }
            else if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
            else buf[o++] = (char)c;
        }
        if (s && len > 0 && o + 8 >= cap) { memcpy(buf + o - 3, "...", 3); }
        if (o + 1 < cap) buf[o++] = '"';
        buf[o < cap ? o : cap - 1] = '\0';
        break;
    }
    default: snprintf(buf, cap, "?"); break;
    }
}

static size_t vtype_size(enum lpq_gguf_vtype t) {
    switch (t) {
    case LPQ_GGUF_U8: case LPQ_GGUF_I8: case LPQ_GGUF_BOOL: return 1;
    case LPQ_GGUF_U16: case LPQ_GGUF_I16: return 2;
    case LPQ_GGUF_U32: case LPQ_GGUF_I32: case LPQ_GGUF_F32: return 4;
    case LPQ_GGUF_U64: case LPQ_GGUF_I64: case LPQ_GGUF_F64: return 8;
    default: return 0;
    }
}

static json_t *json_scalar(const struct lpq_gguf *g, int64_t i, enum lpq_gguf_vtype t, const void *p, uint64_t j) {
    switch (t) {
    case LPQ_GGUF_U8:  { uint8_t v;  memcpy(&v, p, 1); return json_integer(v); }
    case LPQ_GGUF_I8:  { int8_t v;   memcpy(&v, p, 1); return json_integer(v); }
    case LPQ_GGUF_U16: { uint16_t v; memcpy(&v, p, 2); return json_integer(v); }
    case LPQ_GGUF_I16: { int16_t v;  memcpy(&v, p, 2); return json_integer(v); }
    case LPQ_GGUF_U32: { uint32_t v; memcpy(&v, p, 4); return json_integer(v); }
    case LPQ_GGUF_I32: { int32_t v;  memcpy(&v, p, 4); return json_integer(v); }
    case LPQ_GGUF_U64: { uint64_t v; memcpy(&v, p, 8);
        return v > (uint64_t)INT64_MAX ? json_real((double)v) : json_integer((json_int_t)v); }
    case LPQ_GGUF_I64: { int64_t v;  memcpy(&v, p, 8); return json_integer(v); }
    case LPQ_GGUF_F32: { float v;    memcpy(&v, p, 4); return isfinite(v) ? json_real(v) : json_null(); }
    case LPQ_GGUF_F64: { double v;   memcpy(&v, p, 8); return isfinite(v) ? json_real(v) : json_null(); }
    case LPQ_GGUF_BOOL: { uint8_t v; memcpy(&v, p, 1); return json_boolean(v); }
    case LPQ_GGUF_STRING: {
        size_t len = 0;
        const char *s = lpq_gguf_kv_str(g, i, j, &len);
        json_t *r = s ? json_stringn(s, len) : NULL;
        /* Invalid UTF-8 (byte tokens) cannot be a JSON string: give the bytes in hex. */
        if (!r && s) {
            char *hex = malloc(len * 2 + 5);
            if (!hex) return json_null();
            memcpy(hex, "hex:", 4);
            for (size_t k = 0; k < len; k++) sprintf(hex + 4 + 2 * k, "%02x", (unsigned char)s[k]);
            r = json_string(hex);
            free(hex);
        }
        return r ? r : json_null();
    }
    default: return json_null();
    }
}

/* Pointer to element j of array kv i (fixed-size element types only). */
static const void *arr_elem(const struct lpq_gguf *g, int64_t i, enum lpq_gguf_vtype et, uint64_t j) {
    const unsigned char *base = lpq_gguf_kv_data(g, i);
    return base ? base + j * vtype_size(et) : NULL;
}

static void print_text(const char *path, struct lpq_gguf *g, bool all) {
    char buf[512];
    int64_t n_kv = lpq_gguf_n_kv(g), n_t = lpq_gguf_n_tensors(g);
    printf("file:        %s\n", path);
    printf("version:     %" PRIu32 "\n", lpq_gguf_version(g));
    printf("size:        %" PRIu64 " bytes\n", lpq_gguf_file_size(g));
    printf("alignment:   %" PRIu32 "\n", lpq_gguf_alignment(g));
    printf("data offset: %" PRIu64 "\n", lpq_gguf_data_offset(g));
    printf("metadata:    %" PRId64 " keys\n", n_kv);
    printf("tensors:     %" PRId64 "\n\n", n_t);

    printf("== metadata ==\n");
    for (int64_t i = 0; i < n_kv; i++) {
        enum lpq_gguf_vtype t = lpq_gguf_kv_type(g, i);
        const char *key = lpq_gguf_kv_key(g, i);
        if (t != LPQ_GGUF_ARRAY) {
            fmt_scalar(g, i, t, lpq_gguf_kv_data(g, i), 0, buf, sizeof(buf));
            printf("  %-40s %-7s %s\n", key, lpq_gguf_vtype_name(t), buf);
            continue;
        }
        enum lpq_gguf_vtype et = lpq_gguf_kv_arr_type(g, i);
        uint64_t n = lpq_gguf_kv_arr_n(g, i);
        printf("  %-40s %s[%s, %" PRIu64 "] [", key, "array", lpq_gguf_vtype_name(et), n);
        uint64_t show = all ? n : (n < ARR_SHOW ? n : ARR_SHOW);
        for (uint64_t j = 0; j < show; j++) {
            if (et == LPQ_GGUF_STRING) fmt_scalar(g, i, et, NULL, j, buf, 64);
            else if (vtype_size(et)) fmt_scalar(g, i, et, arr_elem(g, i, et, j), 0, buf, sizeof(buf));
            else snprintf(buf, sizeof(buf), "(%s)", lpq_gguf_vtype_name(et));
            printf("%s%s", j ? ", " : "", buf);
        }
        if (show < n) printf(", ... (%" PRIu64 " more)", n - show);
        printf("]\n");
    }

    printf("\n== tensors ==\n");
    printf("  %5s  %-36s %-8s %-24s %14s %14s\n", "#", "name", "type", "shape", "bytes", "offset");
    for (int64_t i = 0; i < n_t; i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
        char shape[96];
        size_t o = 0;
        for (uint32_t d = 0; d < t->n_dims; d++)
            o += (size_t)snprintf(shape + o, sizeof(shape) - o, "%s%" PRId64, d ? " x " : "", t->ne[d]);
        if (t->n_dims == 0) snprintf(shape, sizeof(shape), "scalar");
        printf("  %5" PRId64 "  %-36s %-8s %-24s %14" PRIu64 " %14" PRIu64 "\n", i, t->name,
               lpq_type_name(t->type), shape, t->size, t->offset);
    }
    struct totals tt;
    count_totals(g, &tt);
    const struct type_total *totals = tt.by_type;
    int64_t n_params = tt.n_params;
    uint64_t n_bytes = tt.n_bytes;
    printf("\n== totals ==\n");
    printf("  parameters:      %" PRId64 " (%.3f M)\n", n_params, (double)n_params / 1e6);
    printf("  tensor bytes:    %" PRIu64 " (%.3f MiB)\n", n_bytes, (double)n_bytes / (1024.0 * 1024.0));
    printf("  bits per weight: %.4f\n", n_params ? 8.0 * (double)n_bytes / (double)n_params : 0.0);
    printf("  by type:\n");
    for (int k = 0; k < LPQ_TYPE_COUNT; k++) {
        if (!totals[k].n_tensors) continue;
        printf("    %-8s %5" PRId64 " tensors %14" PRId64 " params %14" PRIu64 " bytes  %6.2f%% of bytes\n",
               lpq_type_name((uint32_t)k), totals[k].n_tensors, totals[k].n_params, totals[k].bytes,
               n_bytes ? 100.0 * (double)totals[k].bytes / (double)n_bytes : 0.0);
    }
}

static json_t *info_json(const char *path, struct lpq_gguf *g, bool all) {
    json_t *root = json_object();
    int64_t n_kv = lpq_gguf_n_kv(g), n_t = lpq_gguf_n_tensors(g);
    json_object_set_new(root, "file", json_string(path));
    json_object_set_new(root, "version", json_integer(lpq_gguf_version(g)));
    json_object_set_new(root, "file_size", json_integer((json_int_t)lpq_gguf_file_size(g)));
    json_object_set_new(root, "alignment", json_integer(lpq_gguf_alignment(g)));
    json_object_set_new(root, "data_offset", json_integer((json_int_t)lpq_gguf_data_offset(g)));

    json_t *meta = json_object();
    for (int64_t i = 0; i < n_kv; i++) {
        enum lpq_gguf_vtype t = lpq_gguf_kv_type(g, i);
        json_t *kv = json_object();
        json_object_set_new(kv, "type", json_string(lpq_gguf_vtype_name(t)));
        if (t != LPQ_GGUF_ARRAY) {
            json_object_set_new(kv, "value", json_scalar(g, i, t, lpq_gguf_kv_data(g, i), 0));
        } else {
            enum lpq_gguf_vtype et = lpq_gguf_kv_arr_type(g, i);
            uint64_t n = lpq_gguf_kv_arr_n(g, i);
            uint64_t show = all ? n : (n < ARR_SHOW ? n : ARR_SHOW);
            json_t *arr = json_array();
            for (uint64_t j = 0; j < show; j++) {
                if (et == LPQ_GGUF_STRING) json_array_append_new(arr, json_scalar(g, i, et, NULL, j));
                else if (vtype_size(et)) json_array_append_new(arr, json_scalar(g, i, et, arr_elem(g, i, et, j), 0));
                else json_array_append_new(arr, json_null());
            }
            json_object_set_new(kv, "elem_type", json_string(lpq_gguf_vtype_name(et)));
            json_object_set_new(kv, "count", json_integer((json_int_t)n));
            json_object_set_new(kv, "value", arr);
            json_object_set_new(kv, "truncated", json_boolean(show < n));
        }
        json_object_set_new(meta, lpq_gguf_kv_key(g, i), kv);
    }
    json_object_set_new(root, "metadata", meta);

    json_t *tensors = json_array();
    for (int64_t i = 0; i < n_t; i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
        json_t *jt = json_object();
        json_t *shape = json_array();
        for (uint32_t d = 0; d < t->n_dims; d++) json_array_append_new(shape, json_integer(t->ne[d]));
        json_object_set_new(jt, "name", json_string(t->name));
        json_object_set_new(jt, "type", json_string(lpq_type_name(t->type)));
        json_object_set_new(jt, "shape", shape);
        json_object_set_new(jt, "bytes", json_integer((json_int_t)t->size));
        json_object_set_new(jt, "offset", json_integer((json_int_t)t->offset));
        json_array_append_new(tensors, jt);
    }
    json_object_set_new(root, "tensors", tensors);
    struct totals tt;
    count_totals(g, &tt);
    const struct type_total *totals = tt.by_type;
    int64_t n_params = tt.n_params;
    uint64_t n_bytes = tt.n_bytes;
    json_t *tot = json_object();
    json_object_set_new(tot, "parameters", json_integer(n_params));
    json_object_set_new(tot, "bytes", json_integer((json_int_t)n_bytes));
    json_object_set_new(tot, "bits_per_weight", json_real(n_params ? 8.0 * (double)n_bytes / (double)n_params : 0.0));
    json_t *by = json_object();
    for (int k = 0; k < LPQ_TYPE_COUNT; k++) {
        if (!totals[k].n_tensors) continue;
        json_t *o = json_object();
        json_object_set_new(o, "tensors", json_integer(totals[k].n_tensors));
        json_object_set_new(o, "parameters", json_integer(totals[k].n_params));
        json_object_set_new(o, "bytes", json_integer((json_int_t)totals[k].bytes));
        json_object_set_new(by, lpq_type_name((uint32_t)k), o);
    }
    json_object_set_new(tot, "by_type", by);
    json_object_set_new(root, "totals", tot);
    return root;
}

int lpq_cmd_info(int argc, char **argv) {
    const char *path = NULL;
    bool as_json = false, all = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) as_json = true;
        else if (!strcmp(argv[i], "--all")) all = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { usage(stdout); return 0; }
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "lpq-quant info: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!path) path = argv[i];
        else { fprintf(stderr, "lpq-quant info: one FILE only\n"); return 2; }
    }
    if (!path) { usage(stderr); return 2; }

    struct lpq_err err;
    lpq_err_clear(&err);
    struct lpq_gguf *g = NULL;
    struct lpq_gguf_params params = lpq_gguf_params_default();
    params.no_data = false;
    if (lpq_gguf_open(path, &params, &g, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-quant: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (as_json) {
        json_t *root = info_json(path, g, all);
        if (json_dumpf(root, stdout, JSON_INDENT(1) | JSON_ENSURE_ASCII) != 0) rc = 1;
        putchar('\n');
        json_decref(root);
    } else {
        print_text(path, g, all);
    }
    lpq_gguf_close(g);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "lpq-quant: cannot write output\n");
        rc = 1;
    }
    return rc;
}
