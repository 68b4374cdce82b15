/*
 * cmd-logits.c — `lpq-eval logits` writes a model's logits at every position of a token
 * sequence (one eval batch) as a GGUF in the layout of ../shared/ref (F32 tensor `logits`,
 * ggml shape [n_vocab, n_tokens], metadata ref.*), and `lpq-eval compare` measures two such
 * files against each other (NMSE, max abs difference, top-1 agreement).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/tools/cli-args.h"
#include "harness/tools/cmds.h"
#include "quant/gguf.h"
#include "runtimes/runtime.h"

static const char logits_usage[] =
    "usage: lpq-eval logits --model FILE (--tokens 1,2,3 | -p TEXT) -o OUT.gguf\n"
    "                       [--runtime cpu|auto] [--threads T] [--ctx C]\n"
    "  Evaluates all tokens in one batch and writes the logits of every position: F32 tensor\n"
    "  `logits` [n_vocab, n_tokens] plus ref.tokens, ref.model, ref.runtime, ref.n_threads.\n"
    "  -p TEXT is tokenized with the model's rules (BOS added when the model wants one).\n";

static const char compare_usage[] =
    "usage: lpq-eval compare A.gguf B.gguf [--nmse-max X] [--top1-min F]\n"
    "  Compares the `logits` tensors of two files, B being the reference:\n"
    "  NMSE = sum((a-b)^2) / sum(b^2), max |a-b|, fraction of positions with the same argmax.\n"
    "  Exit 1 when the shapes differ or a given bound is crossed.\n";

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static enum lpq_status write_logits(const char *path, const char *model, const char *runtime,
                                    int32_t n_threads, int64_t n_ctx, const char *describe,
                                    const int32_t *ids, int64_t n, int32_t n_vocab,
                                    const float *logits, struct lpq_err *err) {
    struct lpq_gguf_writer *w = NULL;
    enum lpq_status st = lpq_gguf_writer_create(path, &w, err);
    if (st != LPQ_STATUS_OK) return st;
    int64_t ne[2] = { n_vocab, n };
    if ((st = lpq_gguf_writer_set_str(w, "general.architecture", "lpq-ref")) ||
        (st = lpq_gguf_writer_set_str(w, "ref.kind", "logits")) ||
        (st = lpq_gguf_writer_set_str(w, "ref.model", base_name(model))) ||
        (st = lpq_gguf_writer_set_arr(w, "ref.tokens", LPQ_GGUF_I32, ids, (uint64_t)n)) ||
        (st = lpq_gguf_writer_set_u32(w, "ref.n_ctx", (uint32_t)n_ctx)) ||
        (st = lpq_gguf_writer_set_u32(w, "ref.n_batch", (uint32_t)n)) ||
        (st = lpq_gguf_writer_set_u32(w, "ref.n_threads", (uint32_t)n_threads)) ||
        (st = lpq_gguf_writer_set_str(w, "ref.runtime", runtime)) ||
        (describe[0] && (st = lpq_gguf_writer_set_str(w, "ref.backend", describe))) ||
        (st = lpq_gguf_writer_add_tensor(w, "logits", LPQ_TYPE_F32, 2, ne)) ||
        (st = lpq_gguf_writer_write_tensor(w, logits, (uint64_t)n * (uint64_t)n_vocab * sizeof(float))) ||
        (st = lpq_gguf_writer_finish(w))) {
        lpq_err_set(err, st, "%s", lpq_gguf_writer_errmsg(w));
    }
    lpq_gguf_writer_free(w);
    return st;
}

int lpq_cmd_logits(int argc, char **argv) {
    const char *model = NULL, *tokens = NULL, *text = NULL, *outp = NULL, *runtime = "auto";
    struct lpq_rt_params rp = lpq_rt_params_default();
    int64_t v;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(logits_usage, stdout);
            return 0;
        }
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) {
            fprintf(stderr, "lpq-eval: logits: %s needs a value\n%s", a, logits_usage);
            return 2;
        }
        i++;
        bool ok = true;
        if (!strcmp(a, "--model") || !strcmp(a, "-m")) model = val;
        else if (!strcmp(a, "--tokens")) tokens = val;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) text = val;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) outp = val;
        else if (!strcmp(a, "--runtime")) runtime = val;
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) {
            if ((ok = lpq_cli_int(val, 0, 4096, &v))) rp.n_threads = (int32_t)v;
        } else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) {
            if ((ok = lpq_cli_int(val, 0, INT32_MAX, &v))) rp.n_ctx = v;
        } else {
            fprintf(stderr, "lpq-eval: logits: unknown option '%s'\n%s", a, logits_usage);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "lpq-eval: logits: bad value for %s: '%s'\n", a, val);
            return 2;
        }
    }
    if (!model || !outp || !tokens == !text) {
        fprintf(stderr, "lpq-eval: logits: need --model, -o and exactly one of --tokens / -p\n%s",
                logits_usage);
        return 2;
    }

    int rc = 1;
    struct lpq_err err;
    lpq_err_clear(&err);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    float *logits = NULL;
    bool *want = NULL;
    struct lpq_rt_model *m = NULL;
    const struct lpq_rt_reg *reg = NULL;

    if (tokens && !lpq_cli_int_list(tokens, &ids, &n_ids)) {
        fprintf(stderr, "lpq-eval: logits: bad --tokens list '%s' (want e.g. 1,2,3)\n", tokens);
        return 2;
    }
    /* The whole sequence is one batch; the context must hold it. */
    rp.n_batch = ids ? (int64_t)n_ids : (int64_t)strlen(text) + 16;   /* text: an upper bound */
    if (lpq_rt_find(runtime, &reg, &err) != LPQ_STATUS_OK ||
        lpq_rt_model_load(reg, model, &rp, &m, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-eval: %s\n", err.msg);
        goto done;
    }
    if (text) {
        size_t len = strlen(text), cap = len + 16;
        ids = lpq_malloc_array(cap, sizeof(int32_t));
        if (!ids) {
            fprintf(stderr, "lpq-eval: out of memory\n");
            goto done;
        }
        if (lpq_rt_tokenize(m, text, len, true, true, ids, cap, &n_ids) != LPQ_STATUS_OK) {
            fprintf(stderr, "lpq-eval: %s\n", lpq_rt_errmsg(m));
            goto done;
        }
        if (n_ids == 0) {
            fprintf(stderr, "lpq-eval: -p gives no tokens (empty text and no BOS)\n");
            goto done;
        }
    }
    const int32_t n_vocab = lpq_rt_n_vocab(m);
    const int64_t n_ctx = lpq_rt_n_ctx(m);
    if ((int64_t)n_ids > n_ctx) {
        fprintf(stderr, "lpq-eval: %zu tokens exceed the context of %lld tokens (use --ctx)\n", n_ids,
                (long long)n_ctx);
        goto done;
    }
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= n_vocab) {
            fprintf(stderr, "lpq-eval: token %d at position %zu is outside the vocabulary (0..%d)\n",
                    (int)ids[i], i, (int)n_vocab - 1);
            goto done;
        }
    }
    uint64_t n_floats;
    if (!lpq_mul_u64((uint64_t)n_ids, (uint64_t)n_vocab, &n_floats) ||
        !(logits = lpq_malloc_array((size_t)n_floats, sizeof(float))) ||
        !(want = lpq_malloc_array(n_ids, sizeof(bool)))) {
        fprintf(stderr, "lpq-eval: out of memory for %zu x %d logits\n", n_ids, (int)n_vocab);
        goto done;
    }
    for (size_t i = 0; i < n_ids; i++) want[i] = true;
    if (lpq_rt_eval(m, ids, (int64_t)n_ids, want, logits) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-eval: %s\n", lpq_rt_errmsg(m));
        goto done;
    }
    char desc[256];
    lpq_rt_describe(m, desc, sizeof(desc));
    if (write_logits(outp, model, reg->name, rp.n_threads, n_ctx, desc, ids, (int64_t)n_ids, n_vocab,
                     logits, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-eval: %s\n", err.msg);
        goto done;
    }
    fprintf(stderr, "wrote %s: %zu positions x %d logits (%s)\n", outp, n_ids, (int)n_vocab, reg->name);
    rc = 0;

done:
    lpq_free(ids);
    lpq_free(logits);
    lpq_free(want);
    lpq_rt_model_free(m);
    return rc;
}

/* ---- compare ------------------------------------------------------------------------- */

/* Opens `path` and finds its F32 2-D `logits` tensor. */
static bool open_logits(const char *path, struct lpq_gguf **g, const struct lpq_gguf_tensor **t) {
    struct lpq_err err;
    lpq_err_clear(&err);
    if (lpq_gguf_open(path, NULL, g, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-eval: %s\n", err.msg);
        return false;
    }
    int64_t i = lpq_gguf_find_tensor(*g, "logits");
    if (i < 0) {
        fprintf(stderr, "lpq-eval: %s: no tensor 'logits'\n", path);
        return false;
    }
    *t = lpq_gguf_tensor(*g, i);
    if ((*t)->type != LPQ_TYPE_F32 || (*t)->n_dims > 2) {
        fprintf(stderr, "lpq-eval: %s: 'logits' is %s with %u dims, want 2-D F32\n", path,
                lpq_type_name((*t)->type), (unsigned)(*t)->n_dims);
        return false;
    }
    return true;
}

/* Argmax of a row, ties to the lower id. */
static int64_t row_argmax(const float *r, int64_t n) {
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (r[i] > r[b]) b = i;
    return b;
}

/* Whether both files carry the same ref.tokens (true when either lacks them). */
static bool same_tokens(struct lpq_gguf *a, struct lpq_gguf *b) {
    const void *da, *db;
    uint64_t na, nb;
    if (lpq_gguf_get_arr(a, "ref.tokens", LPQ_GGUF_I32, &da, &na) != LPQ_STATUS_OK ||
        lpq_gguf_get_arr(b, "ref.tokens", LPQ_GGUF_I32, &db, &nb) != LPQ_STATUS_OK)
        return true;
    return na == nb && !memcmp(da, db, (size_t)na * sizeof(int32_t));
}

int lpq_cmd_compare(int argc, char **argv) {
    const char *files[2] = { NULL, NULL };
    double nmse_max = -1.0, top1_min = -1.0;
    int nf = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(compare_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--nmse-max") || !strcmp(a, "--top1-min")) {
            double *dst = a[2] == 'n' ? &nmse_max : &top1_min;
            if (i + 1 >= argc || !lpq_cli_num(argv[i + 1], 0.0, 1e300, dst)) {
                fprintf(stderr, "lpq-eval: compare: %s needs a number\n", a);
                return 2;
            }
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "lpq-eval: compare: unknown option '%s'\n%s", a, compare_usage);
            return 2;
        } else if (nf < 2) {
            files[nf++] = a;
        } else {
            fprintf(stderr, "lpq-eval: compare: too many files\n%s", compare_usage);
            return 2;
        }
    }
    if (nf != 2) {
        fprintf(stderr, "%s", compare_usage);
        return 2;
    }

    int rc = 1;
    struct lpq_gguf *ga = NULL, *gb = NULL;
    const struct lpq_gguf_tensor *ta, *tb;
    if (!open_logits(files[0], &ga, &ta) || !open_logits(files[1], &gb, &tb)) goto done;
    if (ta->ne[0] != tb->ne[0] || ta->ne[1] != tb->ne[1]) {
        fprintf(stderr, "lpq-eval: shapes differ: %s is [%lld, %lld], %s is [%lld, %lld]\n", files[0],
                (long long)ta->ne[0], (long long)ta->ne[1], files[1], (long long)tb->ne[0],
                (long long)tb->ne[1]);
        goto done;
    }
    if (!same_tokens(ga, gb))
        fprintf(stderr, "lpq-eval: warning: ref.tokens differ between the two files\n");

    /* GGUF aligns tensor data (32 bytes by default), so the rows are float-aligned. */
    const float *a = ta->data, *b = tb->data;
    const int64_t nv = ta->ne[0], np = ta->ne[1];
    double se = 0.0, sb = 0.0, max_abs = 0.0;
    int64_t agree = 0;
    for (int64_t p = 0; p < np; p++) {
        const float *ra = a + p * nv, *rb = b + p * nv;
        for (int64_t v = 0; v < nv; v++) {
            double d = (double)ra[v] - (double)rb[v];
            se += d * d;
            sb += (double)rb[v] * (double)rb[v];
            if (d < 0) d = -d;
            if (d > max_abs || isnan(d)) max_abs = d;
        }
        agree += row_argmax(ra, nv) == row_argmax(rb, nv);
    }
    double nmse = sb > 0 ? se / sb : (se > 0 ? INFINITY : 0.0);
    double top1 = np ? (double)agree / (double)np : 1.0;
    printf("nmse %.4e | max_abs %.4e | top1 %lld/%lld (%.4f) | positions %lld | vocab %lld\n", nmse,
           max_abs, (long long)agree, (long long)np, top1, (long long)np, (long long)nv);
    rc = 0;
    if (nmse_max >= 0 && !(nmse <= nmse_max)) {
        fprintf(stderr, "lpq-eval: NMSE %.4e above the bound %.4e\n", nmse, nmse_max);
        rc = 1;
    }
    if (top1_min >= 0 && top1 < top1_min) {
        fprintf(stderr, "lpq-eval: top-1 agreement %.4f below the bound %.4f\n", top1, top1_min);
        rc = 1;
    }

done:
    lpq_gguf_close(ga);
    lpq_gguf_close(gb);
    return rc;
}
