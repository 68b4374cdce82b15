/*
 * cpu-impl.h — internals of lpq's CPU engine shared by its files (model.c, forward.c, matmul.c,
 * threadpool.c, cpu-rt.c) and its tests: the model and its weights, the per-architecture
 * description, the persistent thread pool and the threaded matmul.
 * Nothing outside runtimes/cpu and tests/runtimes includes this file.
 */
#ifndef LPQ_CPU_IMPL_H
#define LPQ_CPU_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quant/common.h"
#include "quant/gguf.h"
#include "quant/types.h"
#include "runtimes/cpu/kernels.h"
#include "runtimes/runtime.h"

struct lpq_tokenizer;

/* ---- thread pool (threadpool.c) ----------------------------------------------------------
 * n_threads - 1 workers created once at load; the calling thread is thread 0. A job is run by
 * every thread; inside it, lpq__cpu_pool_barrier separates stages. Waiting spins briefly and
 * then sleeps on a futex, so an idle pool costs nothing and a busy one never sleeps. */
struct lpq__cpu_pool;
typedef void (*lpq__cpu_job_fn)(int ith, int nth, void *arg);

enum lpq_status lpq__cpu_pool_create(int n_threads, struct lpq__cpu_pool **out, struct lpq_err *err);
void lpq__cpu_pool_free(struct lpq__cpu_pool *p);          /* NULL is a no-op; joins workers */
int lpq__cpu_pool_n_threads(const struct lpq__cpu_pool *p);
/* Runs fn(ith, nth, arg) on every thread and returns when all have returned. Not reentrant. */
void lpq__cpu_pool_run(struct lpq__cpu_pool *p, lpq__cpu_job_fn fn, void *arg);
/* Every thread of the running job must call it the same number of times. */
void lpq__cpu_pool_barrier(struct lpq__cpu_pool *p);

/* ---- architectures (model.c) -------------------------------------------------------------- */
enum lpq__rope_kind {
    LPQ__ROPE_NORM = 0,     /* llama: rotate adjacent pairs (x[2i], x[2i+1]) */
    LPQ__ROPE_NEOX = 1,     /* qwen2/qwen3: rotate halves (x[i], x[i + n_rot/2]) */
};

enum lpq__ffn_act {
    LPQ__ACT_SILU = 0,      /* SwiGLU: silu(gate) * up (llama, qwen) */
    LPQ__ACT_GELU_TANH = 1, /* GeGLU: gelu(gate) * up, tanh approximation (gemma) */
};

enum lpq__opt {
    LPQ__OPT_ABSENT = 0,    /* never loaded (a tensor of that name is ignored) */
    LPQ__OPT_OPTIONAL = 1,  /* used when the file has it */
    LPQ__OPT_REQUIRED = 2,  /* missing → BAD_FILE */
};

/* What differs between the llama-family architectures; new ones (phi3: fused qkv, MoE: expert
 * tensors) add fields here rather than branches on names, as gemma3's did. */
struct lpq__cpu_arch {
    const char *name;             /* general.architecture value and metadata key prefix */
    enum lpq__rope_kind rope;
    enum lpq__opt qkv_bias;       /* attn_{q,k,v}.bias */
    enum lpq__opt qk_norm;        /* attn_{q,k}_norm.weight: per-head RMSNorm before RoPE */
    enum lpq__opt post_norm;      /* post_attention_norm / post_ffw_norm: RMSNorm of each
                                   * branch output before its residual add (gemma) */
    enum lpq__ffn_act ffn_act;
    bool embd_scale;              /* embeddings multiplied by sqrt(n_embd) (gemma) */
    bool swa;                     /* reads attention.sliding_window*: local layers with a
                                   * causal window and their own RoPE base (gemma3) */
    bool logit_softcap;           /* reads final_logit_softcapping: cap * tanh(logit / cap) */
};

struct lpq__cpu_hparams {
    int64_t n_vocab;              /* tokens (rows of token_embd) */
    int64_t n_ctx_train;          /* tokens: <arch>.context_length */
    int64_t n_embd;               /* values per hidden state */
    int64_t n_layer;
    int64_t n_ff;                 /* values in the FFN hidden layer */
    int64_t n_head, n_head_kv;
    int64_t head_dim_k, head_dim_v; /* values per head (key_length / value_length) */
    int64_t n_rot;                /* leading values of each head that RoPE rotates */
    double rope_base;             /* θ base */
    double rope_freq_scale;       /* position multiplier: 1 / linear scaling factor */
    float eps;                    /* RMSNorm epsilon */
    int64_t n_swa;                /* tokens a local layer's query sees (itself included); 0 = none */
    int64_t swa_pattern;          /* layer il is local when il % pattern < pattern - 1 (0: all) */
    double rope_base_swa;         /* θ base of local layers */
    float logit_softcap;          /* 0 = none */
    float attn_scale;             /* multiplies q.k: 1/sqrt(head_dim_k) but for gemma3 27B */
};

/* One weight matrix or vector, straight from the mapping. Matrix rows are ne0 values. */
struct lpq__cpu_tensor {
    const char *name;             /* GGUF name (valid while the gguf is open) */
    const void *data;             /* NULL = absent (optional tensor) */
    uint32_t type;
    int64_t ne0, ne1;             /* values per row, rows */
    size_t row_size;              /* bytes per row */
    const struct lpq_cpu_ops *ops;/* NULL: no kernel → dequantize rows and dot in F32 */
};

struct lpq__cpu_layer {
    const float *attn_norm;       /* [n_embd] F32 (owned copy when the file's type differs) */
    struct lpq__cpu_tensor wq, wk, wv, wo;
    const float *bq, *bk, *bv;    /* NULL when absent */
    const float *q_norm, *k_norm; /* [head_dim_k], NULL when absent */
    const float *ffn_norm;
    struct lpq__cpu_tensor w_gate, w_up, w_down;
    const float *post_attn_norm, *post_ffn_norm; /* [n_embd], NULL when the arch has none */
    bool swa;                     /* local layer: sliding-window mask, rope_*_swa tables */
};

/* ---- matmul (matmul.c) --------------------------------------------------------------------
 * y (T, n_out) = x (T, n_in) @ W^T for W (n_out rows of n_in). Several matmuls sharing one
 * input form a group: the input is converted once per activation type, then all threads take
 * fixed-size tiles of output rows from a shared counter. Each output value is computed by one
 * thread in a fixed order, so results do not depend on the thread count. */
struct lpq__cpu_mm {
    const struct lpq__cpu_tensor *w;
    float *y;                     /* output row t at y + t*y_stride */
    int64_t y_stride;             /* floats */
    const float *bias;            /* [n_out] added to every row; may be NULL */
    bool accumulate;              /* y += W x instead of y = W x */
};

#define LPQ__MM_GROUP_MAX 3
#define LPQ__MM_ACT_TYPES 3       /* distinct activation types a group may need */
#ifndef LPQ__MM_TILE_R             /* overridable for tuning experiments */
#define LPQ__MM_TILE_R 64         /* output rows per prefill tile */
#define LPQ__MM_TILE_C 64         /* activation rows (tokens) per prefill tile */
/* Output rows per decode (T < 4) tile. Large, because each tile costs an atomic on a counter
 * shared by all threads: at 16 rows (8 KB of Q4_0) the cache-line ping-pong between two cores
 * ate the second thread entirely (2-thread decode = 1-thread decode); 256 rows: Q4_0 tg128 at 2
 * threads 52 -> 82 tok/s, Q8_0 43 -> 63, Q4_K_M 45 -> 78, F16 26 -> 33 (bench_speed, quiet). */
#define LPQ__MM_TILE_R1 256
/* A decode tile (up to 3 activation rows) must fit the per-thread tile buffer. */
_Static_assert(LPQ__MM_TILE_R1 * 3 <= LPQ__MM_TILE_R * LPQ__MM_TILE_C, "decode tile exceeds the tile buffer");
#endif

struct lpq__cpu_mm_ctx {
    enum lpq_cpu_isa isa;
    struct lpq__cpu_pool *pool;
    int64_t n_batch;              /* max rows of activations */
    void *act[LPQ__MM_ACT_TYPES]; /* converted activations, n_batch rows each */
    size_t act_cap;               /* bytes of each act buffer */
    float *deq;                   /* per thread: one dequantized weight row (deq_cap floats) */
    int64_t deq_cap;
    float *tile;                  /* per thread: LPQ__MM_TILE_R x LPQ__MM_TILE_C gemm results */
    atomic_int_fast64_t next;     /* next tile to take */
    lpq_rt_act_hook act_hook;     /* NULL = off; sees each group's input (lpq_rt_set_act_hook) */
    void *act_user;
#ifdef HAVE_OPENBLAS
    /* F32/F16/BF16 weights with >= blas_min_rows activation rows go through sgemm. Tuning
     * knobs read at load: LPQ_NO_BLAS=1 (kernels only), LPQ_BLAS_MIN=<rows> (default 32). */
    float *blas_w;                /* per thread: a tile of weights converted to F32 */
    int64_t blas_cap;             /* floats per thread */
    bool use_blas;
    int64_t blas_min_rows;        /* activation rows from which sgemm beats the kernels */
#endif
};

/* Scratch sizes for matmuls over `w` with up to n_batch activation rows. */
void lpq__cpu_mm_need(const struct lpq__cpu_tensor *w, enum lpq_cpu_isa isa, int64_t n_batch,
                      size_t *act_bytes, int64_t *deq_floats);
/* Called by every thread of a pool job: y = W x for each of the n matmuls of a group sharing
 * input x (T rows, row t at x + t*x_stride floats, n_in = each w->ne0). Ends with a barrier. */
void lpq__cpu_mm_group(struct lpq__cpu_mm_ctx *c, int ith, int nth, const float *x,
                       int64_t x_stride, int64_t T, const struct lpq__cpu_mm *mm, int n);

/* ---- the model ------------------------------------------------------------------------------ */
struct lpq__cpu_model {
    struct lpq_rt_model_base base;          /* must stay first (runtime.h) */
    struct lpq_gguf *gguf;                  /* keeps the mapping the tensors point into */
    const struct lpq__cpu_arch *arch;
    struct lpq__cpu_hparams hp;
    struct lpq_tokenizer *tok;

    struct lpq__cpu_tensor tok_embd;        /* [n_embd, n_vocab] any supported type */
    struct lpq__cpu_tensor output;          /* token_embd when the file has no output.weight */
    const float *output_norm;
    struct lpq__cpu_layer *layers;          /* n_layer */
    float **owned;                          /* F32 copies of non-F32 or unaligned vectors */
    int n_owned, cap_owned;

    /* run settings */
    enum lpq_cpu_isa isa;
    int n_threads;
    int64_t n_ctx;                          /* tokens the KV cache holds */
    int64_t n_batch;                        /* tokens per internal forward pass */
    struct lpq__cpu_pool *pool;
    struct lpq__cpu_mm_ctx mm;

    /* state */
    int64_t kv_len;                         /* tokens in the cache */
    float *k_cache;                         /* [n_layer][n_head_kv*head_dim_k][n_ctx] F32 (transposed) */
    float *v_cache;                         /* [n_layer][n_ctx][n_head_kv*head_dim_v] F32 */
    float *rope_cos, *rope_sin;             /* [n_ctx][n_rot/2] */
    float *rope_cos_swa, *rope_sin_swa;     /* same for local layers; NULL when none is local */

    /* activations, n_batch rows each (allocated at load; eval never allocates) */
    float *x;                               /* [n_batch][n_embd] residual stream */
    float *xn;                              /* [n_batch][max(n_embd, n_head*hd_v)] normed / attn out */
    float *q, *k, *v;                       /* [n_batch][n_head*hd_k], [.][n_head_kv*hd_k], [.][n_head_kv*hd_v] */
    float *gate, *up;                       /* [n_batch][n_ff] */
    float *branch;                          /* [n_batch][n_embd] attn/FFN output awaiting its
                                             * post-norm; NULL when the arch has none */
    float *att;                             /* per thread [n_ctx] scores */
    float *gelu_tab;                        /* [65536] tanh-GELU of each F16 value, rounded to
                                             * F16 (see forward.c); NULL unless GeGLU */
    int32_t *want_idx;                      /* [n_batch] rows whose logits are wanted */

    uint64_t bytes_weights, bytes_kv, bytes_scratch;
};

/* model.c: read hparams, find and check every tensor, allocate state. *out untouched on
 * failure; message in err. */
enum lpq_status lpq__cpu_model_load(const char *path, const struct lpq_rt_params *params,
                                    struct lpq__cpu_model **out, struct lpq_err *err);
void lpq__cpu_model_free(struct lpq__cpu_model *m);
/* The supported architectures, NULL-terminated (for messages and tests). */
extern const struct lpq__cpu_arch *const lpq__cpu_archs[];

/* forward.c: evaluate n (<= n_batch) tokens at positions kv_len.. and append them to the
 * cache; writes logits of the rows flagged in want (NULL: the last row if want_last, else
 * none) consecutively, n_vocab floats each. */
enum lpq_status lpq__cpu_forward(struct lpq__cpu_model *m, const int32_t *tokens, int64_t n,
                                 const bool *want, bool want_last, float *logits);

/* forward.c: GELU, tanh approximation, in F32: 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))).
 * The forward pass reads it through m->gelu_tab (F16 in and out, as llama.cpp's CPU does). */
float lpq__cpu_gelu_tanh(float x);

#endif /* LPQ_CPU_IMPL_H */
