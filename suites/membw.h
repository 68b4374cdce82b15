/*
 * membw.h — measured memory read bandwidth (the physical limit decode speed is judged
 * against): n_threads threads each sum their share of a buffer much larger than the caches.
 */
#ifndef LPQ_MEMBW_H
#define LPQ_MEMBW_H

#include <stdint.h>

#include "quant/common.h"

/* Best of `reps` passes over `bytes` bytes (0 = 1 GiB) with n_threads threads; bytes/s in
 * *out. NO_MEMORY when the buffer cannot be allocated. */
enum lpq_status lpq_membw_read(uint64_t bytes, int n_threads, int reps, double *out, struct lpq_err *err);

/* Bytes of weights one decoded token reads: every tensor except the token embedding (a row
 * lookup), which counts when it doubles as the output matrix (no output.weight). 0 when the
 * file cannot be read. */
uint64_t lpq_decode_weight_bytes(const char *path);

#endif
