/*
 * runtime.h — the one interface every inference runtime (cpu, cuda, ...) implements and the
 * harness drives. An adapter is a `static const struct lpq_rt_i` of function pointers plus a
 * registration record; the harness never knows which adapter it talks to.
 *
 * Lifecycle: lpq_rt_find("cpu") → lpq_rt_model_load(reg, path, params) → eval / generate …
 * → lpq_rt_model_free. Token ids are int32; logits are F32 rows of n_vocab.
 */
#ifndef LPQ_RUNTIME_H
#define LPQ_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quant/common.h"
#include "quant/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LPQ_RT_API_VERSION 1

enum lpq_rt_device {
    LPQ_RT_DEVICE_CPU = 0,
    LPQ_RT_DEVICE_GPU = 1,
    LPQ_RT_DEVICE_OTHER = 2,
};

/* What an adapter can do; filled by the adapter's `caps` member. */
struct lpq_rt_caps {
    enum lpq_rt_device device;
    char device_name[128];          /* "AMD EPYC (2 threads, AVX-512)", "NVIDIA H100" */
    bool types[LPQ_TYPE_COUNT];     /* weight types it can run, indexed by GGUF type id */
    int64_t n_ctx_max;              /* tokens; 0 = limited by the model only */
    int64_t n_batch_max;            /* tokens per eval call; 0 = unlimited */
    bool batching;                  /* several positions per eval call */
    bool kv_trim;                   /* supports lpq_rt_kv_trim */
    uint64_t mem_total;             /* bytes of device memory (RAM for CPU) */
    uint64_t mem_free;              /* bytes available now */
};

struct lpq_rt_params {
    int32_t n_threads;              /* 0 = all cores */
    int64_t n_ctx;                  /* context length in tokens; 0 = model's (capped at 4096) */
    int64_t n_batch;                /* max tokens per eval call; 0 = 512 */
    uint64_t seed;                  /* for anything random inside the runtime */
    bool use_mmap;                  /* weights straight from the mapping (default true) */
    int32_t device;                 /* device index for GPU runtimes */
};
struct lpq_rt_params lpq_rt_params_default(void);

/* Sampler settings; lpq_rt_sampler_default() = greedy. */
struct lpq_rt_sampler {
    float temperature;              /* <= 0 → greedy (argmax) */
    int32_t top_k;                  /* 0 = off */
    float top_p;                    /* 1 = off */
    float min_p;                    /* 0 = off */
    float repeat_penalty;           /* 1 = off */
    int32_t repeat_last_n;          /* tokens considered for the penalty */
    uint64_t seed;                  /* same seed + same threads → same output */
};
struct lpq_rt_sampler lpq_rt_sampler_default(void);

/* Called once per generated token (after it is sampled, before the next eval). Return false
 * to stop. `piece` is the token's text (may be partial UTF-8). `t_ns` is monotonic time. */
typedef bool (*lpq_rt_token_cb)(int32_t token, const char *piece, size_t piece_len,
                                uint64_t t_ns, void *user);

struct lpq_rt_gen_params {
    int32_t n_predict;              /* max new tokens */
    struct lpq_rt_sampler sampler;
    const char *const *stop;        /* stop strings, NULL-terminated list (may be NULL) */
    bool stop_at_eog;               /* stop at EOS/EOT (default true) */
    lpq_rt_token_cb cb;             /* optional */
    void *cb_user;
};
struct lpq_rt_gen_params lpq_rt_gen_params_default(void);

/* Why generation ended (lpq_rt_gen_result.stop_reason). */
enum lpq_rt_stop {
    LPQ_RT_STOP_N_PREDICT = 0,      /* n_predict tokens (or the `out` capacity) reached */
    LPQ_RT_STOP_EOG = 1,            /* end-of-generation token sampled (not stored in out) */
    LPQ_RT_STOP_STRING = 2,         /* a stop string completed; the completing token is in out */
    LPQ_RT_STOP_CALLBACK = 3,       /* the callback returned false; that token is in out */
    LPQ_RT_STOP_CTX_FULL = 4,       /* the KV cache reached n_ctx */
};

struct lpq_rt_gen_result {
    int32_t n_prompt;               /* prompt tokens evaluated (after KV reuse) */
    int32_t n_gen;                  /* tokens generated */
    uint64_t t_start_ns, t_first_ns, t_end_ns;   /* monotonic: request start, first token, end */
    int stop_reason;                /* enum lpq_rt_stop */
    int32_t n_decode;               /* single-token evals after the first token (decode speed
                                     * = n_decode / (t_end_ns - t_first_ns)) */
};

struct lpq_rt_mem {
    uint64_t weights;               /* bytes of weights resident or mapped */
    uint64_t kv_cache;              /* bytes allocated for the KV cache */
    uint64_t scratch;               /* bytes of work buffers */
};

struct lpq_rt_model;                /* adapter-private; first member is `struct lpq_rt_model_base` */

/* Every adapter's model struct starts with this, so the wrappers can reach the error buffer
 * and the adapter table. */
struct lpq_rt_model_base {
    const struct lpq_rt_reg *reg;
    struct lpq_err err;
    /* Owned by the wrappers in runtime.c (set after `load` returns; adapters leave them
     * alone): the token ids in the KV cache as seen through lpq_rt_eval / lpq_rt_kv_trim,
     * so lpq_rt_generate can reuse a shared prompt prefix. */
    int32_t *kv_ids;                /* kv_ids_cap entries */
    int64_t kv_ids_n;               /* tokens; -1 = unknown (the cache was changed elsewhere) */
    int64_t kv_ids_cap;             /* tokens (= n_ctx) */
    int64_t n_batch;                /* tokens per eval call used by the generic generate loop */
};

/* Sees the input of one matrix multiplication before it runs: x holds n_rows F32 rows of n_cols
 * (row r at x + r*n_cols, one row per token), the input of the weight tensor `weight_name`
 * (GGUF name, e.g. "blk.0.attn_q.weight"). Matmuls sharing one input (q/k/v, gate/up) call it
 * once per weight with the same x. x and the name are valid only during the call. Used to
 * collect importance matrices (quant/tools/cmd-imatrix.c). */
typedef void (*lpq_rt_act_hook)(const char *weight_name, const float *x, int64_t n_cols,
                                int64_t n_rows, void *user);

/*
 * The adapter interface. Required members are checked once at registration; the public
 * wrappers below return LPQ_STATUS_UNSUPPORTED for a NULL optional member.
 */
struct lpq_rt_i {
    /* required: is the runtime usable here? LPQ_STATUS_OK, or UNSUPPORTED with a reason in err
     * ("cuda: not built", "cuda: no device"). */
    enum lpq_status (*probe)(struct lpq_err *err);
    /* required */
    void (*caps)(struct lpq_rt_caps *caps);
    /* required: load the GGUF at path. On failure *out untouched, message in err. */
    enum lpq_status (*load)(const char *path, const struct lpq_rt_params *params,
                            struct lpq_rt_model **out, struct lpq_err *err);
    /* required */
    void (*free)(struct lpq_rt_model *m);
    /* required: model facts */
    int32_t (*n_vocab)(const struct lpq_rt_model *m);
    int64_t (*n_ctx)(const struct lpq_rt_model *m);
    /* required: tokenizer access (text → ids, id → piece) */
    enum lpq_status (*tokenize)(struct lpq_rt_model *m, const char *text, size_t len, bool add_special,
                                bool parse_special, int32_t *ids, size_t cap, size_t *n_out);
    size_t (*token_to_piece)(struct lpq_rt_model *m, int32_t id, char *buf, size_t cap, bool special);
    int32_t (*token_bos)(const struct lpq_rt_model *m);           /* -1 if none */
    bool (*token_is_eog)(const struct lpq_rt_model *m, int32_t id);
    bool (*add_bos)(const struct lpq_rt_model *m);
    /* required: evaluate n tokens at positions [kv_len, kv_len+n), appending to the KV cache.
     * `want` (n flags, NULL = last only) selects the positions whose logits are written to
     * `logits`, consecutively, n_vocab floats each. */
    enum lpq_status (*eval)(struct lpq_rt_model *m, const int32_t *tokens, int64_t n,
                            const bool *want, float *logits);
    /* required: tokens currently in the KV cache */
    int64_t (*kv_len)(const struct lpq_rt_model *m);
    /* required: keep only the first n_keep positions of the KV cache (0 = clear) */
    enum lpq_status (*kv_trim)(struct lpq_rt_model *m, int64_t n_keep);
    /* optional (NULL = the generic loop in runtime.c over eval): generate */
    enum lpq_status (*generate)(struct lpq_rt_model *m, const int32_t *prompt, int64_t n_prompt,
                                const struct lpq_rt_gen_params *gp, int32_t *out, size_t cap,
                                struct lpq_rt_gen_result *res);
    /* optional: memory figures */
    void (*mem)(const struct lpq_rt_model *m, struct lpq_rt_mem *mem);
    /* optional: one line describing the model as loaded ("llama 5L d64 F32, 2 threads, AVX-512") */
    size_t (*describe)(const struct lpq_rt_model *m, char *buf, size_t cap);
    /* optional: install (hook != NULL) or remove (NULL) the activation hook; see
     * lpq_rt_set_act_hook. Appended after `describe`, so older adapters stay compatible. */
    enum lpq_status (*set_act_hook)(struct lpq_rt_model *m, lpq_rt_act_hook hook, void *user);
};

struct lpq_rt_reg {
    int api_version;                /* LPQ_RT_API_VERSION the adapter was written for */
    const char *name;               /* "cpu", "cuda", "mock" */
    int priority;                   /* higher wins for `auto` */
    const struct lpq_rt_i *iface;
};

/* NULL-terminated table of built-in adapters (runtimes/registry.c). */
extern const struct lpq_rt_reg *const lpq_rt_builtin[];

/* Looks `name` up in the built-in table. "auto" = the highest-priority adapter whose probe
 * succeeds (cpu always does). UNSUPPORTED/NOT_FOUND with a message ("cuda: not built",
 * "cuda: no device", "unknown runtime 'x' (available: cpu)") otherwise. */
enum lpq_status lpq_rt_find(const char *name, const struct lpq_rt_reg **out, struct lpq_err *err);
/* Checks api_version and the required members of an adapter (also used for test adapters). */
enum lpq_status lpq_rt_reg_check(const struct lpq_rt_reg *reg, struct lpq_err *err);

/* Wrappers (check optional members, keep the last error on the model). */
enum lpq_status lpq_rt_model_load(const struct lpq_rt_reg *reg, const char *path,
                                  const struct lpq_rt_params *params, struct lpq_rt_model **out,
                                  struct lpq_err *err);
void lpq_rt_model_free(struct lpq_rt_model *m);
const char *lpq_rt_errmsg(const struct lpq_rt_model *m);
const struct lpq_rt_reg *lpq_rt_model_reg(const struct lpq_rt_model *m);
int32_t lpq_rt_n_vocab(const struct lpq_rt_model *m);
int64_t lpq_rt_n_ctx(const struct lpq_rt_model *m);
enum lpq_status lpq_rt_tokenize(struct lpq_rt_model *m, const char *text, size_t len, bool add_special,
                                bool parse_special, int32_t *ids, size_t cap, size_t *n_out);
size_t lpq_rt_token_to_piece(struct lpq_rt_model *m, int32_t id, char *buf, size_t cap, bool special);
int32_t lpq_rt_token_bos(const struct lpq_rt_model *m);
bool lpq_rt_token_is_eog(const struct lpq_rt_model *m, int32_t id);
bool lpq_rt_add_bos(const struct lpq_rt_model *m);
enum lpq_status lpq_rt_eval(struct lpq_rt_model *m, const int32_t *tokens, int64_t n,
                            const bool *want, float *logits);
int64_t lpq_rt_kv_len(const struct lpq_rt_model *m);
enum lpq_status lpq_rt_kv_trim(struct lpq_rt_model *m, int64_t n_keep);
/* Generates after `prompt` (n_prompt >= 1; start with BOS to generate from nothing) into
 * out[0..cap) (out may be NULL: tokens only reach the callback). The adapter's `generate` if it
 * has one, else the generic loop: the KV cache is trimmed to the longest prefix it shares with
 * the prompt (ids tracked through lpq_rt_eval/kv_trim), the rest is evaluated in n_batch
 * chunks, then sample → callback → stop strings (matched on the detokenized text, across
 * pieces) → eval, until n_predict (< 0: no limit), cap, EOG, a stop string or a full context.
 * Returns OK, BAD_ARG (empty prompt), RANGE (prompt longer than the context), NO_MEMORY, or
 * the adapter's eval error (message on the model). `res` (may be NULL) is filled on failure
 * too, with what was done before it. */
enum lpq_status lpq_rt_generate(struct lpq_rt_model *m, const int32_t *prompt, int64_t n_prompt,
                                const struct lpq_rt_gen_params *gp, int32_t *out, size_t cap,
                                struct lpq_rt_gen_result *res);
enum lpq_status lpq_rt_mem(const struct lpq_rt_model *m, struct lpq_rt_mem *mem);
size_t lpq_rt_describe(const struct lpq_rt_model *m, char *buf, size_t cap);
/* Installs `hook` (NULL removes it), called from inside lpq_rt_eval for every matmul input
 * (called from one thread at a time). Returns OK, or UNSUPPORTED when the adapter has no
 * `set_act_hook` (message on the model). */
enum lpq_status lpq_rt_set_act_hook(struct lpq_rt_model *m, lpq_rt_act_hook hook, void *user);

/* Sampling over one logits row (runtimes/sampling.c); `history` = previous tokens, of which
 * the last repeat_last_n (< 0: all) get the repetition penalty. Order: penalty, then greedy
 * argmax (temperature <= 0; ties to the lower id) or temperature → top-k → top-p → min-p →
 * categorical draw. `logits` is modified (penalty, temperature). Deterministic for a given
 * rng state. `work` is caller scratch of lpq_rt_sample_work_size(n_vocab) =
 * n_vocab*(sizeof(float)+sizeof(int32_t)) bytes so the token loop does not allocate. */
struct lpq_rng { uint64_t s[4]; };
void lpq_rng_seed(struct lpq_rng *r, uint64_t seed);
double lpq_rng_uniform(struct lpq_rng *r);          /* [0, 1) */
int32_t lpq_rt_sample(const struct lpq_rt_sampler *s, float *logits, int32_t n_vocab,
                      const int32_t *history, int64_t n_history, struct lpq_rng *rng, void *work);
/* Bytes of `work` lpq_rt_sample needs for n_vocab. */
size_t lpq_rt_sample_work_size(int32_t n_vocab);

uint64_t lpq_time_ns(void);                         /* CLOCK_MONOTONIC */

#ifdef __cplusplus
}
#endif

#endif /* LPQ_RUNTIME_H */
