/*
 * cli-args.h — strict number parsing for lpq-eval's option values: the whole string must be
 * a number inside the given range, so "12x", "" and "1e999" are usage errors, not 12 / 0 / inf.
 */
#ifndef LPQ_EVAL_CLI_ARGS_H
#define LPQ_EVAL_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal integer in [lo, hi]; *out untouched on failure. */
bool lpq_cli_int(const char *s, int64_t lo, int64_t hi, int64_t *out);
/* Finite number in [lo, hi]; *out untouched on failure. */
bool lpq_cli_num(const char *s, double lo, double hi, double *out);
/* Comma-separated int32 list ("1,2,3", spaces allowed around items). On success *out is an
 * lpq_malloc'd array of *n >= 1 ids (free with lpq_free); false on any malformed item. */
bool lpq_cli_int_list(const char *s, int32_t **out, size_t *n);

#endif
