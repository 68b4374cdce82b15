/*
 * json-digest.c — see json-digest.h.
 */
#include "quant/json-digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quantize.h"

bool lpq_json_digest(json_t *root, char hex[65]) {
    json_t *copy = json_copy(root);     /* shallow: members shared, root untouched */
    if (!copy) return false;
    json_object_del(copy, LPQ_JSON_DIGEST_KEY);
    char *s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(copy);
    if (!s) return false;
    struct lpq_sha256 h;
    uint8_t d[32];
    lpq_sha256_init(&h);
    lpq_sha256_update(&h, s, strlen(s));
    lpq_sha256_final(&h, d);
    free(s);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return true;
}

bool lpq_json_digest_ok(json_t *root, bool *present) {
    const char *s = json_string_value(json_object_get(root, LPQ_JSON_DIGEST_KEY));
    if (present) *present = s != NULL;
    size_t np = strlen(LPQ_JSON_DIGEST_PREFIX);
    if (!s || strncmp(s, LPQ_JSON_DIGEST_PREFIX, np)) return false;
    char hex[65];
    return lpq_json_digest(root, hex) && !strcmp(hex, s + np);
}
