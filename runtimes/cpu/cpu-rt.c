/*
 * cpu-rt.c — the "cpu" runtime adapter: lpq's own inference engine behind runtime.h. It maps
 * the interface onto model.c (load), forward.c (eval, split into n_batch passes) and the
 * tokenizer; generation uses the generic loop in runtime.c.
 */
#include "runtimes/cpu/cpu-impl.h"
#include "runtimes/runtimes-impl.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtimes/tokenizer.h"

static struct lpq__cpu_model *cm(struct lpq_rt_model *m) { return (struct lpq__cpu_model *)m; }
static const struct lpq__cpu_model *ccm(const struct lpq_rt_model *m) { return (const struct lpq__cpu_model *)m; }

static enum lpq_status cpu_probe(struct lpq_err *err) {
    (void)err;
    return LPQ_STATUS_OK;
}

static void cpu_caps(struct lpq_rt_caps *caps) {
    memset(caps, 0, sizeof(*caps));
    struct lpq_cpu_features f;
    lpq_cpu_features_detect(&f);
    long n_cpu = sysconf(_SC_NPROCESSORS_ONLN);
    caps->device = LPQ_RT_DEVICE_CPU;
    snprintf(caps->device_name, sizeof(caps->device_name), "CPU (%ld threads, %s)", n_cpu,
             lpq_cpu_isa_name(lpq_cpu_isa_best(&f)));
    for (uint32_t t = 0; t < LPQ_TYPE_COUNT; t++) {
        const struct lpq_type_traits *tr = lpq_type_traits(t);
        caps->types[t] = tr && tr->supported && tr->to_float;
    }
    caps->n_ctx_max = 0;
    caps->n_batch_max = 0;       /* longer batches are split into n_batch passes */
    caps->batching = true;
    caps->kv_trim = true;
    long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES), ps = sysconf(_SC_PAGESIZE);
    if (pages > 0 && ps > 0) caps->mem_total = (uint64_t)pages * (uint64_t)ps;
    if (avail > 0 && ps > 0) caps->mem_free = (uint64_t)avail * (uint64_t)ps;
}

static enum lpq_status cpu_load(const char *path, const struct lpq_rt_params *params,
                                struct lpq_rt_model **out, struct lpq_err *err) {
    struct lpq__cpu_model *m = NULL;
    enum lpq_status st = lpq__cpu_model_load(path, params, &m, err);
    if (st != LPQ_STATUS_OK) return st;
    m->base.reg = &lpq_rt_cpu_reg;
    lpq_err_clear(&m->base.err);
    *out = (struct lpq_rt_model *)m;
    return LPQ_STATUS_OK;
}

static void cpu_free(struct lpq_rt_model *m) { lpq__cpu_model_free(cm(m)); }
static int32_t cpu_n_vocab(const struct lpq_rt_model *m) { return (int32_t)ccm(m)->hp.n_vocab; }
static int64_t cpu_n_ctx(const struct lpq_rt_model *m) { return ccm(m)->n_ctx; }

static enum lpq_status cpu_tokenize(struct lpq_rt_model *m, const char *text, size_t len, bool add_special,
                                    bool parse_special, int32_t *ids, size_t cap, size_t *n_out) {
    enum lpq_status st = lpq_tokenize(cm(m)->tok, text, len, add_special, parse_special, ids, cap, n_out);
    if (st == LPQ_STATUS_RANGE)
        lpq_err_set(&cm(m)->base.err, st, "tokenize: %zu ids needed, room for %zu", *n_out, cap);
    return st;
}

static size_t cpu_token_to_piece(struct lpq_rt_model *m, int32_t id, char *buf, size_t cap, bool special) {
    return lpq_token_to_piece(cm(m)->tok, id, buf, cap, special);
}

static int32_t cpu_token_bos(const struct lpq_rt_model *m) { return lpq_tokenizer_bos(ccm(m)->tok); }
static bool cpu_token_is_eog(const struct lpq_rt_model *m, int32_t id) { return lpq_tokenizer_is_eog(ccm(m)->tok, id); }
static bool cpu_add_bos(const struct lpq_rt_model *m) { return lpq_tokenizer_add_bos(ccm(m)->tok); }

/* Splits the call into passes of at most n_batch tokens; logits of wanted rows follow each
 * other in `logits` across passes. */
static enum lpq_status cpu_eval(struct lpq_rt_model *mm, const int32_t *tokens, int64_t n, const bool *want,
                                float *logits) {
    struct lpq__cpu_model *m = cm(mm);
    for (int64_t i0 = 0; i0 < n; i0 += m->n_batch) {
        const int64_t nb = LPQ_MIN(m->n_batch, n - i0);
        const bool last = i0 + nb == n;
        enum lpq_status st = lpq__cpu_forward(m, tokens + i0, nb, want ? want + i0 : NULL, last, logits);
        if (st != LPQ_STATUS_OK) return st;
        int64_t n_w = 0;
        for (int64_t i = 0; i < nb; i++) n_w += want ? want[i0 + i] : (last && i == nb - 1);
        if (logits) logits += n_w * m->hp.n_vocab;
    }
    return LPQ_STATUS_OK;
}

static int64_t cpu_kv_len(const struct lpq_rt_model *m) { return ccm(m)->kv_len; }

static enum lpq_status cpu_kv_trim(struct lpq_rt_model *m, int64_t n_keep) {
    if (n_keep < 0) return lpq_err_set(&cm(m)->base.err, LPQ_STATUS_BAD_ARG, "kv_trim: negative n_keep");
    /* Positions past kv_len are never read before being written again. */
    if (n_keep < cm(m)->kv_len) cm(m)->kv_len = n_keep;
    return LPQ_STATUS_OK;
}

static void cpu_mem(const struct lpq_rt_model *m, struct lpq_rt_mem *mem) {
    mem->weights = ccm(m)->bytes_weights;
    mem->kv_cache = ccm(m)->bytes_kv;
    mem->scratch = ccm(m)->bytes_scratch;
}

static size_t cpu_describe(const struct lpq_rt_model *mm, char *buf, size_t cap) {
    const struct lpq__cpu_model *m = ccm(mm);
    int n = snprintf(buf, cap, "%s %lldL d%lld %s, %d threads, %s", m->arch->name, (long long)m->hp.n_layer,
                     (long long)m->hp.n_embd, lpq_type_name(m->layers[0].wq.type), m->n_threads,
                     lpq_cpu_isa_name(m->isa));
    return n > 0 ? (size_t)n : 0;
}

static enum lpq_status cpu_set_act_hook(struct lpq_rt_model *m, lpq_rt_act_hook hook, void *user) {
    cm(m)->mm.act_hook = hook;
    cm(m)->mm.act_user = user;
    return LPQ_STATUS_OK;
}

static const struct lpq_rt_i iface = {
    .probe = cpu_probe,
    .caps = cpu_caps,
    .load = cpu_load,
    .free = cpu_free,
    .n_vocab = cpu_n_vocab,
    .n_ctx = cpu_n_ctx,
    .tokenize = cpu_tokenize,
    .token_to_piece = cpu_token_to_piece,
    .token_bos = cpu_token_bos,
    .token_is_eog = cpu_token_is_eog,
    .add_bos = cpu_add_bos,
    .eval = cpu_eval,
    .kv_len = cpu_kv_len,
    .kv_trim = cpu_kv_trim,
    .generate = NULL,            /* the generic loop in runtime.c */
    .mem = cpu_mem,
    .describe = cpu_describe,
    .set_act_hook = cpu_set_act_hook,
};

const struct lpq_rt_reg lpq_rt_cpu_reg = { LPQ_RT_API_VERSION, "cpu", 10, &iface };
