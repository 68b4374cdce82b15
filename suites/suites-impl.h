/*
 * suites-impl.h — symbols shared between the files of suites/ only: the suite records that
 * registry.c collects, and the text/chunk machinery ppl.c and kld.c share with kld-base.c.
 */
#ifndef LPQ_SUITES_IMPL_H
#define LPQ_SUITES_IMPL_H

#include <stdio.h>

#include "suites/suite.h"

extern const struct lpq_suite lpq_suite_ppl;
extern const struct lpq_suite lpq_suite_kld;
extern const struct lpq_suite lpq_suite_speed;
extern const struct lpq_suite lpq_suite_accuracy;   /* suites/accuracy.c (not in the table yet) */

/* ---- text → tokens → chunks (ppl.c), llama-perplexity's convention ------------------- */
struct lpq__text {
    char *text;                 /* dataset bytes, final newline dropped (as llama-perplexity -f) */
    size_t n_bytes;             /* bytes of text */
    char name[128];             /* dataset name or path as given */
    char sha256[65];            /* of the dataset file */
    int32_t *ids;               /* tokenized once, with BOS per the vocab's rule */
    int64_t n_ids;
    bool add_bos;
    int32_t bos;                /* BOS id, -1 when none */
    char ids_sha256[65];        /* of ids as int32 little-endian: identifies the token stream */
};
/* Loads the dataset named by opts (default wikitext2-test) and tokenizes it with m. */
enum lpq_status lpq__text_load(struct lpq_rt_model *m, const struct lpq_suite_opts *o, struct lpq__text *t,
                               struct lpq_err *err);
void lpq__text_free(struct lpq__text *t);

/* Chunk geometry: n_ctx tokens per chunk, positions first..n_ctx-2 scored (first = n_ctx/2). */
struct lpq__chunks {
    int64_t n_ctx;              /* tokens per chunk */
    int64_t n_chunks;           /* after the --chunks cap */
    int64_t first;              /* first scored position */
    int64_t n_scored;           /* scored tokens per chunk = n_ctx - 1 - first */
    int64_t cap;                /* the --chunks cap in effect (quick: 4), 0 = none */
};
/* n_ctx from opts (0 → 512), n_chunks = floor(n_ids / n_ctx) capped by opts->n_chunks (quick: 4).
 * RANGE when the text has fewer than 2·n_ctx tokens or n_ctx exceeds the model's context. */
enum lpq_status lpq__chunks_plan(const struct lpq__text *t, struct lpq_rt_model *m,
                                 const struct lpq_suite_opts *o, const char *suite,
                                 struct lpq__chunks *c, struct lpq_err *err);
/* Evaluates chunk i from an empty cache (first token → BOS when the vocab adds one) in as few
 * eval calls as the runtime allows; writes the logits of the scored positions to
 * logits[n_scored × n_vocab] and the chunk's tokens to tok[n_ctx]. */
enum lpq_status lpq__chunk_eval(struct lpq_rt_model *m, const struct lpq__text *t, const struct lpq__chunks *c,
                                int64_t i, int32_t *tok, float *logits, struct lpq_err *err);

/* log Σ exp(x_v) over n values, in double */
double lpq__log_sum_exp(const float *x, int32_t n);

/* ---- KL divergence pieces (kld.c / kld-base.c) --------------------------------------- */

/* Per-token figures of one scored position. */
struct lpq__kld_tok {
    double kld;                 /* nats */
    double nll;                 /* −log q(target), variant */
    double nll_base;            /* −log p(target), baseline */
    double dp;                  /* q(target) − p(target) */
    bool same_top;              /* argmax p == argmax q */
};
/* Exact, over the full vocabulary: p = softmax(base), q = softmax(var). */
void lpq__kld_full(const float *base, const float *var, int32_t n_vocab, int32_t target, struct lpq__kld_tok *out);

/* One baseline position as the top-K base file stores it. */
struct lpq__kld_topk {
    int32_t target;             /* token id scored */
    float lp_target;            /* log p(target) */
    float lp_rest;              /* log of the mass outside the top K (-INFINITY when none) */
    int32_t k;
    int32_t *ids;               /* k ids, log p descending (ties: lower id first) */
    float *lp;                  /* k log-probs */
};
/* Fills a top-K record from a full baseline logits row (ids/lp arrays supplied by the caller,
 * k entries each); `work` holds n_vocab int32. */
void lpq__kld_topk_make(const float *base, int32_t n_vocab, int32_t target, int32_t k, int32_t *work,
                        struct lpq__kld_topk *rec);
/* Top-K KLD: Σ_topK p (log p − log q) + p_rest (log p_rest − log q_rest), a lower bound of the
 * exact value; `mask` is n_vocab bytes of zeros (restored on return). */
void lpq__kld_topk(const struct lpq__kld_topk *rec, const float *var, int32_t n_vocab, uint8_t *mask,
                   struct lpq__kld_tok *out);

/* Base file (kld-base.c); layout documented there. */
struct lpq__kld_base_hdr {
    uint32_t version;
    uint32_t top_k;
    uint32_t n_vocab;
    uint32_t n_ctx;             /* tokens per chunk */
    uint32_t n_chunks;
    uint32_t n_scored;          /* scored tokens per chunk */
    uint8_t ids_sha256[32];     /* of the evaluated token stream (lpq__text.ids) */
    uint8_t model_sha256[32];   /* of the baseline GGUF (zeros when not computed) */
    char dataset[64];           /* NUL-padded */
};
#define LPQ__KLD_BASE_HDR_SIZE 192
size_t lpq__kld_base_record_size(uint32_t k);
struct lpq__kld_base_writer;
enum lpq_status lpq__kld_base_create(const char *path, const struct lpq__kld_base_hdr *h,
                                     struct lpq__kld_base_writer **out, struct lpq_err *err);
enum lpq_status lpq__kld_base_write(struct lpq__kld_base_writer *w, const struct lpq__kld_topk *rec,
                                    struct lpq_err *err);
/* Flush, fsync, rename into place; frees w in every case. */
enum lpq_status lpq__kld_base_finish(struct lpq__kld_base_writer *w, struct lpq_err *err);
void lpq__kld_base_abort(struct lpq__kld_base_writer *w);

struct lpq__kld_base_reader;
enum lpq_status lpq__kld_base_open(const char *path, struct lpq__kld_base_reader **out,
                                   struct lpq__kld_base_hdr *h, struct lpq_err *err);
/* Record j of chunk i into rec (ids/lp point into the reader's buffer, valid until the next read). */
enum lpq_status lpq__kld_base_read(struct lpq__kld_base_reader *r, int64_t chunk, int64_t j,
                                   struct lpq__kld_topk *rec, struct lpq_err *err);
void lpq__kld_base_close(struct lpq__kld_base_reader *r);

/* hex helpers */
void lpq__hex(const uint8_t *d, size_t n, char *out);
bool lpq__unhex(const char *s, uint8_t *d, size_t n);

#endif
