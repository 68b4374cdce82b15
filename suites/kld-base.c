/*
 * kld-base.c — the compact top-K baseline file of the kld suite. Instead of llama.cpp's full
 * 16-bit log-prob vector per token (GiBs), it keeps per scored token the K most probable
 * baseline tokens with their log-probs and the log of the remaining mass, which is enough to
 * compute a lower bound of the KL divergence (see docs/METRICS-lpq.md for how tight it is).
 *
 * Byte layout (all little-endian):
 *     0  u8[8]   magic "LPQKLDB\0"
 *     8  u32     version (1)
 *    12  u32     top_k K
 *    16  u32     n_vocab
 *    20  u32     n_ctx        tokens per chunk
 *    24  u32     n_chunks
 *    28  u32     n_scored     scored tokens per chunk (n_ctx − 1 − n_ctx/2)
 *    32  u8[32]  sha256 of the evaluated token ids (int32 LE, the whole tokenized text)
 *    64  u8[32]  sha256 of the baseline GGUF file (zeros when unknown)
 *    96  char[64] dataset name, NUL-padded
 *   160  u8[32]  reserved, zero
 *   192  records, chunk-major, n_chunks × n_scored of:
 *          i32 target id | f32 log p(target) | f32 log p_rest (−inf when the top K hold it all)
 *          K × { i32 id | f32 log p }   log p descending, ties by ascending id
 *        = 12 + 8·K bytes (K = 32: 268 bytes per token; 100k tokens ≈ 26.8 MB, any vocab size)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suites/suites-impl.h"

static const uint8_t MAGIC[8] = { 'L', 'P', 'Q', 'K', 'L', 'D', 'B', 0 };

size_t lpq__kld_base_record_size(uint32_t k) { return 12 + 8 * (size_t)k; }

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put_f32(uint8_t *p, float f) {
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(p, v);
}
static float get_f32(const uint8_t *p) {
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

struct lpq__kld_base_writer {
    FILE *f;
    char *path, *tmp;
    uint32_t k;
    uint64_t n_left;            /* records still expected */
    uint8_t *rec;               /* one encoded record */
};

enum lpq_status lpq__kld_base_create(const char *path, const struct lpq__kld_base_hdr *h,
                                     struct lpq__kld_base_writer **out, struct lpq_err *err) {
    uint8_t hdr[LPQ__KLD_BASE_HDR_SIZE];
    if (h->top_k < 1 || h->top_k > 4096 || h->top_k > h->n_vocab)
        return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "kld base %s: top-K %u out of range (1..min(4096, n_vocab))",
                           path, h->top_k);
    struct lpq__kld_base_writer *w = lpq_calloc(1, sizeof *w);
    if (!w) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "kld base: out of memory");
    w->path = lpq_strdup(path);
    w->tmp = lpq_asprintf("%s.tmp-%ld", path, (long)getpid());
    w->k = h->top_k;
    w->n_left = (uint64_t)h->n_chunks * h->n_scored;
    w->rec = lpq_malloc(lpq__kld_base_record_size(h->top_k));
    if (!w->path || !w->tmp || !w->rec) {
        lpq__kld_base_abort(w);
        return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "kld base: out of memory");
    }
    w->f = fopen(w->tmp, "wb");
    if (!w->f) {
        lpq_err_set(err, LPQ_STATUS_IO, "kld base: cannot create %s: %s", w->tmp, strerror(errno));
        lpq__kld_base_abort(w);
        return LPQ_STATUS_IO;
    }
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, MAGIC, 8);
    put_u32(hdr + 8, 1);
    put_u32(hdr + 12, h->top_k);
    put_u32(hdr + 16, h->n_vocab);
    put_u32(hdr + 20, h->n_ctx);
    put_u32(hdr + 24, h->n_chunks);
    put_u32(hdr + 28, h->n_scored);
    memcpy(hdr + 32, h->ids_sha256, 32);
    memcpy(hdr + 64, h->model_sha256, 32);
    memcpy(hdr + 96, h->dataset, strnlen(h->dataset, 63));
    if (fwrite(hdr, 1, sizeof hdr, w->f) != sizeof hdr) {
        lpq_err_set(err, LPQ_STATUS_IO, "kld base: writing %s: %s", w->tmp, strerror(errno));
        lpq__kld_base_abort(w);
        return LPQ_STATUS_IO;
    }
    *out = w;
    return LPQ_STATUS_OK;
}

enum lpq_status lpq__kld_base_write(struct lpq__kld_base_writer *w, const struct lpq__kld_topk *rec,
                                    struct lpq_err *err) {
    if (w->n_left == 0 || (uint32_t)rec->k != w->k)
        return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "kld base: record %s", w->n_left ? "of the wrong K" : "beyond the header's count");
    uint8_t *p = w->rec;
    put_u32(p, (uint32_t)rec->target);
    put_f32(p + 4, rec->lp_target);
    put_f32(p + 8, rec->lp_rest);
    for (uint32_t i = 0; i < w->k; i++) {
        put_u32(p + 12 + 8 * i, (uint32_t)rec->ids[i]);
        put_f32(p + 16 + 8 * i, rec->lp[i]);
    }
    size_t n = lpq__kld_base_record_size(w->k);
    if (fwrite(p, 1, n, w->f) != n)
        return lpq_err_set(err, LPQ_STATUS_IO, "kld base: writing %s: %s", w->tmp, strerror(errno));
    w->n_left--;
    return LPQ_STATUS_OK;
}

void lpq__kld_base_abort(struct lpq__kld_base_writer *w) {
    if (!w) return;
    if (w->f) {
        fclose(w->f);
        unlink(w->tmp);
    }
    lpq_free(w->path);
    lpq_free(w->tmp);
    lpq_free(w->rec);
    lpq_free(w);
}

enum lpq_status lpq__kld_base_finish(struct lpq__kld_base_writer *w, struct lpq_err *err) {
    enum lpq_status st = LPQ_STATUS_OK;
    if (w->n_left) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_ARG, "kld base %s: %llu records missing", w->path,
                         (unsigned long long)w->n_left);
    } else if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0) {
        st = lpq_err_set(err, LPQ_STATUS_IO, "kld base: writing %s: %s", w->tmp, strerror(errno));
    } else {
        fclose(w->f);
        w->f = NULL;
        if (rename(w->tmp, w->path) != 0) {
            st = lpq_err_set(err, LPQ_STATUS_IO, "kld base: renaming %s: %s", w->tmp, strerror(errno));
            unlink(w->tmp);
        }
    }
    lpq__kld_base_abort(w);
    return st;
}

struct lpq__kld_base_reader {
    FILE *f;
    char *path;
    struct lpq__kld_base_hdr h;
    uint8_t *buf;               /* one raw record */
    int32_t *ids;
    float *lp;
};

void lpq__kld_base_close(struct lpq__kld_base_reader *r) {
    if (!r) return;
    if (r->f) fclose(r->f);
    lpq_free(r->path);
    lpq_free(r->buf);
    lpq_free(r->ids);
    lpq_free(r->lp);
    lpq_free(r);
}

enum lpq_status lpq__kld_base_open(const char *path, struct lpq__kld_base_reader **out,
                                   struct lpq__kld_base_hdr *h, struct lpq_err *err) {
    uint8_t hdr[LPQ__KLD_BASE_HDR_SIZE];
    enum lpq_status st = LPQ_STATUS_OK;
    struct stat sb;
    struct lpq__kld_base_reader *r = lpq_calloc(1, sizeof *r);
    if (!r) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "kld base: out of memory");
    r->path = lpq_strdup(path);
    r->f = fopen(path, "rb");
    if (!r->f) {
        st = lpq_err_set(err, errno == ENOENT ? LPQ_STATUS_NOT_FOUND : LPQ_STATUS_IO,
                         "kld base %s: %s (write one with --kld-base FILE --kld-write)", path, strerror(errno));
        goto done;
    }
    if (fread(hdr, 1, sizeof hdr, r->f) != sizeof hdr || memcmp(hdr, MAGIC, 8)) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "kld base %s: not an lpq top-K base file (bad magic at offset 0)", path);
        goto done;
    }
    if (get_u32(hdr + 8) != 1) {
        st = lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, "kld base %s: version %u (this lpq reads 1)", path,
                         get_u32(hdr + 8));
        goto done;
    }
    struct lpq__kld_base_hdr x;
    memset(&x, 0, sizeof x);
    x.version = 1;
    x.top_k = get_u32(hdr + 12);
    x.n_vocab = get_u32(hdr + 16);
    x.n_ctx = get_u32(hdr + 20);
    x.n_chunks = get_u32(hdr + 24);
    x.n_scored = get_u32(hdr + 28);
    memcpy(x.ids_sha256, hdr + 32, 32);
    memcpy(x.model_sha256, hdr + 64, 32);
    memcpy(x.dataset, hdr + 96, 63);
    uint64_t want = LPQ__KLD_BASE_HDR_SIZE + (uint64_t)x.n_chunks * x.n_scored * lpq__kld_base_record_size(x.top_k);
    if (x.top_k < 1 || x.top_k > 4096 || x.top_k > x.n_vocab || fstat(fileno(r->f), &sb) != 0 ||
        (uint64_t)sb.st_size != want) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "kld base %s: %lld bytes, header (K %u, %u chunks × %u tokens) says %llu: truncated or damaged",
                         path, (long long)sb.st_size, x.top_k, x.n_chunks, x.n_scored, (unsigned long long)want);
        goto done;
    }
    r->h = x;
    r->buf = lpq_malloc(lpq__kld_base_record_size(x.top_k));
    r->ids = lpq_malloc_array(x.top_k, sizeof(int32_t));
    r->lp = lpq_malloc_array(x.top_k, sizeof(float));
    if (!r->buf || !r->ids || !r->lp) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "kld base: out of memory");
        goto done;
    }
    *h = x;
    *out = r;
    r = NULL;
done:
    lpq__kld_base_close(r);
    return st;
}

enum lpq_status lpq__kld_base_read(struct lpq__kld_base_reader *r, int64_t chunk, int64_t j,
                                   struct lpq__kld_topk *rec, struct lpq_err *err) {
    if (chunk < 0 || chunk >= r->h.n_chunks || j < 0 || j >= r->h.n_scored)
        return lpq_err_set(err, LPQ_STATUS_RANGE, "kld base %s: record %lld/%lld outside %u × %u", r->path,
                           (long long)chunk, (long long)j, r->h.n_chunks, r->h.n_scored);
    size_t n = lpq__kld_base_record_size(r->h.top_k);
    uint64_t off = LPQ__KLD_BASE_HDR_SIZE + ((uint64_t)chunk * r->h.n_scored + (uint64_t)j) * n;
    if (fseeko(r->f, (off_t)off, SEEK_SET) != 0 || fread(r->buf, 1, n, r->f) != n)
        return lpq_err_set(err, LPQ_STATUS_IO, "kld base %s: reading offset %llu: %s", r->path,
                           (unsigned long long)off, strerror(errno));
    rec->target = (int32_t)get_u32(r->buf);
    rec->lp_target = get_f32(r->buf + 4);
    rec->lp_rest = get_f32(r->buf + 8);
    rec->k = (int32_t)r->h.top_k;
    for (uint32_t i = 0; i < r->h.top_k; i++) {
        r->ids[i] = (int32_t)get_u32(r->buf + 12 + 8 * i);
        r->lp[i] = get_f32(r->buf + 16 + 8 * i);
        if (r->ids[i] < 0 || (uint32_t)r->ids[i] >= r->h.n_vocab)
            return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "kld base %s: token id %d out of range at offset %llu",
                               r->path, r->ids[i], (unsigned long long)(off + 12 + 8 * i));
    }
    rec->ids = r->ids;
    rec->lp = r->lp;
    return LPQ_STATUS_OK;
}
