/*
 * cli-args.c — strict option-value parsing for lpq-eval (see cli-args.h).
 */
#include "harness/tools/cli-args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "quant/common.h"

bool lpq_cli_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    if (!s || !*s || isspace((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool lpq_cli_num(const char *s, double lo, double hi, double *out) {
    if (!s || !*s || isspace((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool lpq_cli_int_list(const char *s, int32_t **out, size_t *n) {
    if (!s) return false;
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int32_t *ids = lpq_malloc_array(cap, sizeof(int32_t));
    if (!ids) return false;
    size_t k = 0;
    const char *p = s;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < INT32_MIN || v > INT32_MAX) break;
        ids[k++] = (int32_t)v;
        p = end;
        while (isspace((unsigned char)*p)) p++;
        if (*p == '\0') {
            *out = ids;
            *n = k;
            return true;
        }
        if (*p != ',') break;
        p++;
    }
    lpq_free(ids);
    return false;
}
