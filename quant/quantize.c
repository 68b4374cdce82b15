/*
 * quantize.c — the quantization pipeline: plan the file, then stream it tensor by tensor
 * through the GGUF writer (temp file + rename), quantizing rows on a few pthreads. Memory is
 * one output chunk plus a row buffer per thread; input pages are dropped after each tensor
 * so the resident set stays far below the model size.
 */
#include "quant/quantize.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#endif

#define CHUNK_BYTES_MAX (32u << 20)   /* output bytes quantized between two writes */
#define ROWS_PER_GRAB 4               /* rows a worker claims at once */

enum lpq_status lpq_quant_row_to_float(uint32_t type, const void *src, float *dst, int64_t n) {
    const uint8_t *s = src;
    switch (type) {
    case LPQ_TYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        return LPQ_STATUS_OK;
    case LPQ_TYPE_F16: {
        int64_t i = 0;
#if defined(__F16C__) && defined(__AVX__)
        /* Built for a CPU with F16C (LPQ_NATIVE): 8 halves per instruction, exact. */
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(s + 2 * i))));
#endif
        for (; i < n; i++) dst[i] = lpq_fp16_to_fp32((uint16_t)(s[2 * i] | (s[2 * i + 1] << 8)));
        return LPQ_STATUS_OK;
    }
    case LPQ_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) dst[i] = lpq_bf16_to_fp32((uint16_t)(s[2 * i] | (s[2 * i + 1] << 8)));
        return LPQ_STATUS_OK;
    default: {
        const struct lpq_type_traits *tr = lpq_type_traits(type);
        if (!tr || !tr->to_float || !tr->is_quantized || n % tr->blck_size) return LPQ_STATUS_UNSUPPORTED;
        tr->to_float(src, dst, n);
        return LPQ_STATUS_OK;
    }
    }
}

/* ---- threaded rows ------------------------------------------------------------------------ */

struct rows_job {
    uint32_t src_type;            /* LPQ_TYPE_F32 when src is float rows */
    const uint8_t *src;           /* nrows source rows */
    size_t src_row_bytes;
    uint32_t dst_type;
    uint8_t *dst;
    size_t dst_row_bytes;
    int64_t nrows, n_per_row;
    const float *imp;             /* per column, or NULL */
    atomic_llong next;            /* next row to claim */
    atomic_int status;            /* first failure */
    atomic_llong bad_row;
};

static void *rows_worker(void *arg) {
    struct rows_job *j = arg;
    float *buf = NULL;
    if (j->src_type != LPQ_TYPE_F32) {
        buf = lpq_malloc_array((size_t)j->n_per_row, sizeof(float));
        if (!buf) {
            int zero = 0;
            atomic_compare_exchange_strong(&j->status, &zero, (int)LPQ_STATUS_NO_MEMORY);
            return NULL;
        }
    }
    for (;;) {
        if (atomic_load(&j->status) != 0) break;
        long long r0 = atomic_fetch_add(&j->next, ROWS_PER_GRAB);
        if (r0 >= j->nrows) break;
        long long r1 = LPQ_MIN(r0 + ROWS_PER_GRAB, (long long)j->nrows);
        for (long long r = r0; r < r1; r++) {
            const float *x;
            if (buf) {
                enum lpq_status st = lpq_quant_row_to_float(j->src_type, j->src + (size_t)r * j->src_row_bytes, buf, j->n_per_row);
                if (st) {
                    int zero = 0;
                    atomic_compare_exchange_strong(&j->status, &zero, (int)st);
                    break;
                }
                x = buf;
            } else {
                x = (const float *)(const void *)(j->src + (size_t)r * j->src_row_bytes);
            }
            enum lpq_status st = lpq_quant_row_encode(j->dst_type, x, j->dst + (size_t)r * j->dst_row_bytes,
                                                      j->n_per_row, j->imp);
            if (st) {
                int zero = 0;
                if (atomic_compare_exchange_strong(&j->status, &zero, (int)st)) atomic_store(&j->bad_row, r);
                break;
            }
        }
    }
    lpq_free(buf);
    return NULL;
}

static int n_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Runs a rows job on n_threads (the caller's thread is one of them). */
static enum lpq_status rows_run(struct rows_job *j, int n_threads, int64_t *bad_row) {
    atomic_init(&j->next, 0);
    atomic_init(&j->status, 0);
    atomic_init(&j->bad_row, -1);
    if (n_threads <= 0) n_threads = n_cores();
    int64_t max_useful = (j->nrows + ROWS_PER_GRAB - 1) / ROWS_PER_GRAB;
    if (n_threads > max_useful) n_threads = (int)LPQ_MAX(max_useful, 1);
    pthread_t th[64];
    int n_started = 0;
    for (int t = 1; t < n_threads && t < 64; t++) {
        if (pthread_create(&th[n_started], NULL, rows_worker, j) == 0) n_started++;
    }
    rows_worker(j);
    for (int t = 0; t < n_started; t++) pthread_join(th[t], NULL);
    if (bad_row) *bad_row = (int64_t)atomic_load(&j->bad_row);
    return (enum lpq_status)atomic_load(&j->status);
}

enum lpq_status lpq_quant_rows(uint32_t type, const float *x, void *dst, int64_t nrows,
                               int64_t n_per_row, const float *imp, int n_threads) {
    size_t rs = lpq_type_row_size(type, n_per_row);
    if (!rs) return LPQ_STATUS_BAD_ARG;
    struct rows_job j = {
        .src_type = LPQ_TYPE_F32, .src = (const uint8_t *)x, .src_row_bytes = (size_t)n_per_row * sizeof(float),
        .dst_type = type, .dst = dst, .dst_row_bytes = rs, .nrows = nrows, .n_per_row = n_per_row, .imp = imp,
    };
    return rows_run(&j, n_threads, NULL);
}

/* ---- the file pipeline ---------------------------------------------------------------------- */

struct lpq_quantize_params lpq_quantize_params_default(const struct lpq_ftype *ftype) {
    struct lpq_quantize_params p;
    memset(&p, 0, sizeof(p));
    p.plan = lpq_plan_params_default(ftype);
    return p;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void progress_draw(double frac, const char *name) {
    int w = 30, k = (int)(frac * w + 0.5);
    char bar[32];
    for (int i = 0; i < w; i++) bar[i] = i < k ? '#' : '.';
    bar[w] = 0;
    fprintf(stderr, "\r[%s] %5.1f%% %-40.40s", bar, 100.0 * frac, name);
    fflush(stderr);
}

/* Drops the input pages of a processed tensor: they are file-backed and read-only, so the
 * kernel simply forgets them (re-read from disk if touched again). */
static void drop_pages(const void *p, uint64_t n) {
    long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0 || !p || !n) return;
    uintptr_t a = (uintptr_t)p, b = a + (uintptr_t)n;
    a = (a + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    b &= ~((uintptr_t)pg - 1);
    if (b > a) madvise((void *)a, (size_t)(b - a), MADV_DONTNEED);
}

/* Quantizes (or copies) tensor data into the writer. */
static enum lpq_status write_tensor(struct lpq_gguf_writer *w, const struct lpq_gguf_tensor *t,
                                    const struct lpq_plan_entry *e, const struct lpq_quantize_params *p,
                                    uint8_t **chunk, size_t *chunk_cap, float **imp, int64_t *imp_cap,
                                    struct lpq_err *err) {
    enum lpq_status st;
    if (e->type == t->type) {
        st = lpq_gguf_writer_write_tensor(w, t->data, t->size);
        if (st) return lpq_err_set(err, st, "%s", lpq_gguf_writer_errmsg(w));
        return LPQ_STATUS_OK;
    }
    int64_t ne0 = t->ne[0];
    int64_t rows_per_mat = t->ne[1];
    int64_t n_mat = t->ne[2] * t->ne[3];
    size_t src_rs = lpq_type_row_size(t->type, ne0), dst_rs = lpq_type_row_size(e->type, ne0);
    if (!src_rs || !dst_rs) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "%s: row of %" PRId64 " does not fit %s", t->name, ne0, lpq_type_name(e->type));
    int64_t chunk_rows = (int64_t)LPQ_MAX((size_t)1, CHUNK_BYTES_MAX / dst_rs);
    if (chunk_rows > rows_per_mat) chunk_rows = rows_per_mat;
    size_t need = (size_t)chunk_rows * dst_rs;
    if (need > *chunk_cap) {
        uint8_t *nb = lpq_realloc(*chunk, need);
        if (!nb) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "%s: out of memory for a %zu-byte chunk", t->name, need);
        *chunk = nb;
        *chunk_cap = need;
    }
    bool quantized_out = lpq_type_traits(e->type)->is_quantized;
    if (p->imatrix && quantized_out && ne0 > *imp_cap) {
        float *ni = lpq_realloc(*imp, (size_t)ne0 * sizeof(float));
        if (!ni) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "%s: out of memory", t->name);
        *imp = ni;
        *imp_cap = ne0;
    }
    for (int64_t m = 0; m < n_mat; m++) {
        const float *imp_m = NULL;
        if (p->imatrix && quantized_out) {
            enum lpq_status ist = lpq_imatrix_get(p->imatrix, t->name, n_mat > 1 ? m : 0, *imp, ne0);
            if (ist == LPQ_STATUS_OK) imp_m = *imp;
            else if (ist == LPQ_STATUS_BAD_ARG && m == 0)
                lpq_log(LPQ_LOG_WARN, "imatrix entry %s does not match the tensor's %" PRId64 " columns x %" PRId64
                        " matrices: ignored", t->name, ne0, n_mat);
        }
        for (int64_t r0 = 0; r0 < rows_per_mat; r0 += chunk_rows) {
            int64_t nr = LPQ_MIN(chunk_rows, rows_per_mat - r0);
            struct rows_job j = {
                .src_type = t->type,
                .src = (const uint8_t *)t->data + ((size_t)m * (size_t)rows_per_mat + (size_t)r0) * src_rs,
                .src_row_bytes = src_rs, .dst_type = e->type, .dst = *chunk, .dst_row_bytes = dst_rs,
                .nrows = nr, .n_per_row = ne0, .imp = imp_m,
            };
            int64_t bad = -1;
            st = rows_run(&j, p->n_threads, &bad);
            if (st == LPQ_STATUS_BAD_ARG)
                return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: row %" PRId64 " holds a NaN or Inf", t->name,
                                   m * rows_per_mat + r0 + (bad > 0 ? bad : 0));
            if (st) return lpq_err_set(err, st, "%s: cannot convert %s to %s", t->name, lpq_type_name(t->type), lpq_type_name(e->type));
            st = lpq_gguf_writer_write_tensor_part(w, *chunk, (uint64_t)nr * dst_rs);
            if (st) return lpq_err_set(err, st, "%s", lpq_gguf_writer_errmsg(w));
            drop_pages(j.src, (uint64_t)nr * src_rs);
        }
    }
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_quantize_file(const char *in, const char *out, const struct lpq_quantize_params *p,
                                  struct lpq_quantize_stats *stats, struct lpq_err *err) {
    enum lpq_status st = LPQ_STATUS_OK;
    struct lpq_gguf *g = NULL;
    struct lpq_plan *plan = NULL;
    struct lpq_gguf_writer *w = NULL;
    uint8_t *chunk = NULL;
    size_t chunk_cap = 0;
    float *imp = NULL;
    int64_t imp_cap = 0;
    double t0 = now_s();

    if (!p || !p->plan.ftype) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "quantize: no output type given");
    st = lpq_gguf_open(in, NULL, &g, err);
    if (st) goto done;

    /* Quantized input: refused unless asked for (each requantization loses quality). */
    bool warned = false;
    for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
        const struct lpq_type_traits *tr = lpq_type_traits(t->type);
        if (!tr || !tr->is_quantized) continue;
        if (!p->allow_requantize) {
            st = lpq_err_set(err, LPQ_STATUS_UNSUPPORTED,
                             "%s: tensor %s is %s: quantized input needs --allow-requantize", in, t->name, tr->name);
            goto done;
        }
        if (!tr->to_float) {
            st = lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, "%s: tensor %s is %s, which lpq cannot decode", in, t->name, tr->name);
            goto done;
        }
        if (!warned) {
            lpq_log(LPQ_LOG_WARN, "%s holds quantized tensors (%s first): requantizing loses quality", in, t->name);
            warned = true;
        }
    }

    struct lpq_plan_params pp = p->plan;
    pp.have_imatrix = p->imatrix != NULL;
    st = lpq_plan_build_gguf(g, &pp, &plan, err);
    if (st) goto done;
    if (p->dry_run) {
        lpq_plan_print(plan, p->plan_out ? p->plan_out : stdout);
        goto stats;
    }

    st = lpq_gguf_writer_create(out, &w, err);
    if (st) goto done;
    if (lpq_gguf_alignment(g) != LPQ_GGUF_DEFAULT_ALIGNMENT &&
        (st = lpq_gguf_writer_set_alignment(w, lpq_gguf_alignment(g))) != LPQ_STATUS_OK) {
        st = lpq_err_set(err, st, "%s", lpq_gguf_writer_errmsg(w));
        goto done;
    }
    for (int64_t i = 0; i < lpq_gguf_n_kv(g); i++) {
        st = lpq_gguf_writer_copy_kv(w, g, i);
        if (st) { st = lpq_err_set(err, st, "%s", lpq_gguf_writer_errmsg(w)); goto done; }
    }
    if ((st = lpq_gguf_writer_set_u32(w, "general.file_type", (uint32_t)p->plan.ftype->llama_ftype)) ||
        (st = lpq_gguf_writer_set_u32(w, "general.quantization_version", 2))) {
        st = lpq_err_set(err, st, "%s", lpq_gguf_writer_errmsg(w));
        goto done;
    }
    if (p->imatrix) {
        lpq_gguf_writer_set_u32(w, "quantize.imatrix.entries_count", (uint32_t)lpq_imatrix_n_entries(p->imatrix));
    }
    for (size_t i = 0; i < plan->n_entries; i++) {
        const struct lpq_plan_entry *e = &plan->entries[i];
        st = lpq_gguf_writer_add_tensor(w, e->name, e->type, e->n_dims, e->ne);
        if (st) { st = lpq_err_set(err, st, "%s", lpq_gguf_writer_errmsg(w)); goto done; }
    }
    uint64_t done_bytes = 0;
    for (size_t i = 0; i < plan->n_entries; i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, (int64_t)i);
        if (p->progress) progress_draw(plan->src_bytes ? (double)done_bytes / (double)plan->src_bytes : 0, t->name);
        st = write_tensor(w, t, &plan->entries[i], p, &chunk, &chunk_cap, &imp, &imp_cap, err);
        if (st) goto done;
        drop_pages(t->data, t->size);
        done_bytes += t->size;
    }
    if (p->progress) {
        progress_draw(1.0, "done");
        fputc('\n', stderr);
    }
    st = lpq_gguf_writer_finish(w);
    if (st) { st = lpq_err_set(err, st, "%s", lpq_gguf_writer_errmsg(w)); goto done; }

stats:
    if (stats) {
        stats->src_bytes = plan->src_bytes;
        stats->dst_bytes = plan->dst_bytes;
        stats->n_params = plan->n_params;
        stats->bpw = lpq_plan_bpw(plan);
        stats->n_fallback = plan->n_fallback;
        stats->seconds = now_s() - t0;
    }
done:
    if (st && p && p->progress) fputc('\n', stderr);
    lpq_gguf_writer_free(w);   /* without finish: removes the temp file */
    lpq_free(chunk);
    lpq_free(imp);
    lpq_plan_free(plan);
    lpq_gguf_close(g);
    return st;
}
