/*
 * quant-search-impl.h — internals shared by quant-search.c (block fitting) and
 * quant-search-pack.c (per-type super-block logic and byte packing). Not public.
 */
#ifndef LPQ_QUANT_SEARCH_IMPL_H
#define LPQ_QUANT_SEARCH_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "quant/quantize.h"
#include "quant/types.h"

#define LPQ__MAX_SUB 32   /* largest block / sub-block fitted at once (values) */
#define LPQ__TOPN 3      /* asymmetric fits: candidates refined by Lloyd steps */
#define LPQ__LLOYD 3     /* refit/re-round rounds per candidate scale */
#define LPQ__QK_K 256     /* super-block size of the K-quants and IQ4_XS (values) */

extern const int8_t lpq__iq4_grid[16];

/* fp32 → fp16 → fp32: the value a stored half decodes to. */
float lpq__f16r(float x);

/* x ≈ d·q, q ∈ [qmin, qmax]: best d (unrounded) and its integers L; *err = weighted error.
 * nfine > 0 adds the targets −qmin ± 0.1·k and qmax ± 0.1·k, k = 1 … nfine. */
float lpq__fit_sym(const float *x, const float *w, int n, int qmin, int qmax, int nstep, int nfine,
                   int8_t *L, float *err);
/* Weighted error of rounding with scale d (L gets the integers; may be NULL). */
float lpq__sym_err(const float *x, const float *w, int n, float d, int qmin, int qmax, int8_t *L);

/* x ≈ s·q + o, q ∈ [0, qmax], o ≤ 0 when o_le0. Returns the weighted error. */
float lpq__fit_asym(const float *x, const float *w, int n, int qmax, int nstep, bool o_le0,
                    uint8_t *L, float *s, float *o);
float lpq__asym_err(const float *x, const float *w, int n, float s, float o, int qmax, uint8_t *L);

/* x ≈ d·K[q] on the IQ4 grid; L holds grid indices 0..15. */
float lpq__fit_grid(const float *x, const float *w, int n, int nstep, int8_t *L, float *err);
float lpq__grid_err(const float *x, const float *w, int n, float d, int8_t *L);

/* Sub-block scales v (importance W) → fp16-exact d and integers sc ∈ [lo, hi]. */
float lpq__quant_scales(const float *v, const float *W, int nsub, int lo, int hi, int *sc);

/* Per-row constants of the error weights, then the weights of n values (see quantize.h). */
void lpq__row_weight_params(const float *x, int64_t n, const float *imp, float *sigma2, float *imp_eps);
void lpq__weights(const float *x, const float *imp, int n, float sigma2, float imp_eps, float *w);

/* Row encoder after argument checks (quant-search-pack.c). */
enum lpq_status lpq__encode_row(uint32_t type, const float *x, void *dst, int64_t n, const float *imp);

#endif /* LPQ_QUANT_SEARCH_IMPL_H */
