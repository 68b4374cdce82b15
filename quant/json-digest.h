/*
 * json-digest.h — the integrity digest of lpq's JSON result files: sha256 of the compact,
 * key-sorted dump (reals at 17 digits, so parse → dump reproduces it exactly) of the root
 * object without its "integrity" field. The results writer (suites/) and the report reader
 * (reports/) both use it; it lives here, the lowest layer they share.
 */
#ifndef LPQ_JSON_DIGEST_H
#define LPQ_JSON_DIGEST_H

#include <stdbool.h>

#include <jansson.h>

#define LPQ_JSON_DIGEST_KEY "integrity"
#define LPQ_JSON_DIGEST_PREFIX "sha256:"

/* Hex digest of `root` without its "integrity" member (root itself is not modified).
 * false on allocation failure. */
bool lpq_json_digest(json_t *root, char hex[65]);
/* true when root's "integrity" is "sha256:<hex>" and matches; *present says whether the
 * field exists at all (may be NULL). */
bool lpq_json_digest_ok(json_t *root, bool *present);

#endif
