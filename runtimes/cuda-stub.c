/*
 * cuda-stub.c — the "cuda" adapter of a build without CUDA. It registers so that
 * `--runtime cuda` is a known name that answers "cuda: not built" (rather than "unknown
 * runtime"), and `auto` skips it. Every member is a real function returning UNSUPPORTED,
 * so the record passes lpq_rt_reg_check like any other adapter.
 */
#include "runtimes/runtimes-impl.h"

/* A CUDA build (LPQ_WITH_CUDA=ON defines LPQ_HAVE_CUDA) brings the real adapter instead. */
#ifndef LPQ_HAVE_CUDA

#define NOT_BUILT_MSG "cuda: not built (configure with -DLPQ_WITH_CUDA=ON)"

static enum lpq_status cuda_probe(struct lpq_err *err) {
    return lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, NOT_BUILT_MSG);
}

static void cuda_caps(struct lpq_rt_caps *caps) {
    *caps = (struct lpq_rt_caps){ .device = LPQ_RT_DEVICE_GPU };
}

static enum lpq_status cuda_load(const char *path, const struct lpq_rt_params *params,
                                 struct lpq_rt_model **out, struct lpq_err *err) {
    (void)path; (void)params; (void)out;
    return lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, NOT_BUILT_MSG);
}

/* No model can exist, so the per-model members are never reached; they still answer
 * sanely in case someone calls them through a stray pointer. */
static void cuda_free(struct lpq_rt_model *m) { (void)m; }
static int32_t cuda_n_vocab(const struct lpq_rt_model *m) { (void)m; return 0; }
static int64_t cuda_n_ctx(const struct lpq_rt_model *m) { (void)m; return 0; }

static enum lpq_status cuda_tokenize(struct lpq_rt_model *m, const char *text, size_t len,
                                     bool add_special, bool parse_special, int32_t *ids,
                                     size_t cap, size_t *n_out) {
    (void)m; (void)text; (void)len; (void)add_special; (void)parse_special; (void)ids; (void)cap;
    (void)n_out;
    return LPQ_STATUS_UNSUPPORTED;
}

static size_t cuda_token_to_piece(struct lpq_rt_model *m, int32_t id, char *buf, size_t cap,
                                  bool special) {
    (void)m; (void)id; (void)special;
    if (cap) buf[0] = '\0';
    return 0;
}

static int32_t cuda_token_bos(const struct lpq_rt_model *m) { (void)m; return -1; }
static bool cuda_token_is_eog(const struct lpq_rt_model *m, int32_t id) { (void)m; (void)id; return false; }
static bool cuda_add_bos(const struct lpq_rt_model *m) { (void)m; return false; }

static enum lpq_status cuda_eval(struct lpq_rt_model *m, const int32_t *tokens, int64_t n,
                                 const bool *want, float *logits) {
    (void)m; (void)tokens; (void)n; (void)want; (void)logits;
    return LPQ_STATUS_UNSUPPORTED;
}

static int64_t cuda_kv_len(const struct lpq_rt_model *m) { (void)m; return 0; }

static enum lpq_status cuda_kv_trim(struct lpq_rt_model *m, int64_t n_keep) {
    (void)m; (void)n_keep;
    return LPQ_STATUS_UNSUPPORTED;
}

static const struct lpq_rt_i cuda_iface = {
    .probe = cuda_probe,
    .caps = cuda_caps,
    .load = cuda_load,
    .free = cuda_free,
    .n_vocab = cuda_n_vocab,
    .n_ctx = cuda_n_ctx,
    .tokenize = cuda_tokenize,
    .token_to_piece = cuda_token_to_piece,
    .token_bos = cuda_token_bos,
    .token_is_eog = cuda_token_is_eog,
    .add_bos = cuda_add_bos,
    .eval = cuda_eval,
    .kv_len = cuda_kv_len,
    .kv_trim = cuda_kv_trim,
};

const struct lpq_rt_reg lpq_rt_cuda_reg = {
    .api_version = LPQ_RT_API_VERSION,
    .name = "cuda",
    .priority = 100,
    .iface = &cuda_iface,
};

#endif /* !LPQ_HAVE_CUDA */
