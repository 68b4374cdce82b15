/*
 * cmd-imatrix.c — `lpq-quant imatrix --model IN.gguf --text CALIB.txt -o OUT.gguf`: runs the CPU
 * runtime over calibration text in chunks of --ctx tokens (BOS first, as llama-imatrix does) and
 * accumulates, through the runtime's activation hook, per-input-column sums of squared
 * activations for every blk.* weight matrix; writes llama.cpp's GGUF imatrix form atomically.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quant/quantize.h"
#include "quant/tools/cmds.h"
#include "runtimes/runtime.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: lpq-quant imatrix --model IN.gguf --text CALIB.txt -o OUT.gguf [options]\n"
            "  --ctx N             tokens per chunk (default 512); each chunk starts with BOS\n"
            "  --chunks N          evaluate at most N chunks (default: all whole chunks)\n"
            "  --threads T         runtime threads (default: all cores)\n"
            "  --process-output    also collect output.weight (llama-imatrix --process-output)\n");
}

/* State the activation hook writes into. */
struct collect {
    struct lpq_imatrix *im;
    bool process_output;
    enum lpq_status st;             /* first failure inside the hook */
    char bad_name[128];             /* weight whose add failed */
};

/* Keeps what llama-imatrix keeps by default: the block weights (output.weight on request);
 * token_embd is a lookup, never a matmul input, and shows up here only as a tied output. */
static void on_act(const char *name, const float *x, int64_t n_cols, int64_t n_rows, void *user) {
    struct collect *c = user;
    if (c->st != LPQ_STATUS_OK) return;
    if (strncmp(name, "blk.", 4) != 0 && !(c->process_output && !strcmp(name, "output.weight"))) return;
    enum lpq_status st = lpq_imatrix_add(c->im, name, x, n_cols, n_rows);
    if (st != LPQ_STATUS_OK) {
        c->st = st;
        snprintf(c->bad_name, sizeof(c->bad_name), "%s", name);
    }
}

/* Whole file into a NUL-terminated buffer (caller frees); NULL with errno on failure. */
static char *read_text(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 1 << 20;
            char *nb = lpq_realloc(buf, ncap + 1);
            if (!nb) {
                lpq_free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        lpq_free(buf);
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Fails early (before minutes of evaluation) when OUT's folder cannot take the temp file. */
static bool out_dir_writable(const char *out) {
    const char *slash = strrchr(out, '/');
    if (!slash) return access(".", W_OK) == 0;
    if (slash == out) return access("/", W_OK) == 0;
    char *dir = lpq_strndup(out, (size_t)(slash - out));
    if (!dir) return false;
    bool ok = access(dir, W_OK) == 0;
    lpq_free(dir);
    return ok;
}

int lpq_cmd_imatrix(int argc, char **argv) {
    const char *model_path = NULL, *text_path = NULL, *out_path = NULL;
    int64_t n_ctx = 512, n_chunks_max = -1;
    int n_threads = 0;
    int rc = 1;
    bool process_output = false;
    char *text = NULL;
    int32_t *ids = NULL;
    int32_t *chunk = NULL;
    bool *want = NULL;
    float *logits = NULL;
    struct lpq_rt_model *m = NULL;
    struct lpq_imatrix *im = NULL;
    struct lpq_err err;
    lpq_err_clear(&err);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); rc = 0; goto done; }
        else if (!strcmp(a, "--process-output")) process_output = true;
        else if ((!strcmp(a, "--model") || !strcmp(a, "-m")) && v) { model_path = v; i++; }
        else if ((!strcmp(a, "--text") || !strcmp(a, "-f")) && v) { text_path = v; i++; }
        else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && v) { out_path = v; i++; }
        else if ((!strcmp(a, "--ctx") || !strcmp(a, "-c")) && v) { n_ctx = atoll(v); i++; }
        else if (!strcmp(a, "--chunks") && v) { n_chunks_max = atoll(v); i++; }
        else if ((!strcmp(a, "--threads") || !strcmp(a, "-t")) && v) { n_threads = atoi(v); i++; }
        else {
            fprintf(stderr, "lpq-quant imatrix: unknown option '%s' (or missing value)\n", a);
            usage(stderr);
            rc = 2;
            goto done;
        }
    }
    if (!model_path || !text_path || !out_path) {
        fprintf(stderr, "lpq-quant imatrix: --model, --text and -o are required\n");
        usage(stderr);
        rc = 2;
        goto done;
    }
    if (n_ctx < 2 || n_chunks_max == 0) {
        fprintf(stderr, "lpq-quant imatrix: --ctx must be >= 2 and --chunks >= 1\n");
        rc = 2;
        goto done;
    }

    size_t text_len = 0;
    if (!(text = read_text(text_path, &text_len))) {
        fprintf(stderr, "lpq-quant imatrix: cannot read '%s': %s\n", text_path, strerror(errno));
        goto done;
    }
    if (!out_dir_writable(out_path)) {
        fprintf(stderr, "lpq-quant imatrix: cannot write '%s': %s\n", out_path, strerror(errno));
        goto done;
    }

    const struct lpq_rt_reg *reg = NULL;
    if (lpq_rt_find("cpu", &reg, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-quant imatrix: %s\n", err.msg);
        goto done;
    }
    struct lpq_rt_params rp = lpq_rt_params_default();
    rp.n_threads = n_threads;
    rp.n_ctx = n_ctx;
    rp.n_batch = n_ctx;                 /* one eval per chunk */
    if (lpq_rt_model_load(reg, model_path, &rp, &m, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-quant imatrix: %s\n", err.msg);
        goto done;
    }

    /* Tokens never outnumber bytes by more than the specials added around them. */
    size_t cap = text_len + 16, n_tok = 0;
    if (!(ids = lpq_malloc(cap * sizeof(*ids))) || !(chunk = lpq_malloc((size_t)n_ctx * sizeof(*chunk)))) {
        fprintf(stderr, "lpq-quant imatrix: out of memory\n");
        goto done;
    }
    if (lpq_rt_tokenize(m, text, text_len, true, false, ids, cap, &n_tok) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-quant imatrix: tokenizing '%s': %s\n", text_path, lpq_rt_errmsg(m));
        goto done;
    }
    int64_t n_chunks = (int64_t)n_tok / n_ctx;
    if (n_chunks_max > 0 && n_chunks > n_chunks_max) n_chunks = n_chunks_max;
    /* Logits only when output.weight is collected: the final matmul then sees every row. */
    const int32_t n_vocab = lpq_rt_n_vocab(m);
    if (!(want = lpq_calloc((size_t)n_ctx, sizeof(*want))) ||
        (process_output && !(logits = lpq_malloc((size_t)n_ctx * (size_t)n_vocab * sizeof(*logits))))) {
        fprintf(stderr, "lpq-quant imatrix: out of memory\n");
        goto done;
    }
    for (int64_t i = 0; i < n_ctx; i++) want[i] = process_output;
    if (n_chunks < 1) {
        fprintf(stderr, "lpq-quant imatrix: '%s' has %zu tokens, fewer than one chunk of %lld\n", text_path,
                n_tok, (long long)n_ctx);
        goto done;
    }

    if (lpq_imatrix_create(&im, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-quant imatrix: %s\n", err.msg);
        goto done;
    }
    struct collect col = { .im = im, .process_output = process_output, .st = LPQ_STATUS_OK };
    if (lpq_rt_set_act_hook(m, on_act, &col) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-quant imatrix: %s\n", lpq_rt_errmsg(m));
        goto done;
    }

    const bool tty = isatty(STDERR_FILENO);
    const bool add_bos = lpq_rt_add_bos(m) && lpq_rt_token_bos(m) >= 0;
    const uint64_t t0 = lpq_time_ns();
    for (int64_t c = 0; c < n_chunks; c++) {
        /* Like llama-imatrix: consecutive slices of the token stream, each evaluated from an
         * empty cache, the first token replaced (not preceded) by BOS. */
        memcpy(chunk, ids + c * n_ctx, (size_t)n_ctx * sizeof(*chunk));
        if (add_bos) chunk[0] = lpq_rt_token_bos(m);
        if (lpq_rt_kv_trim(m, 0) != LPQ_STATUS_OK ||
            lpq_rt_eval(m, chunk, n_ctx, want, logits) != LPQ_STATUS_OK) {
            if (tty) fputc('\n', stderr);
            fprintf(stderr, "lpq-quant imatrix: chunk %lld: %s\n", (long long)c, lpq_rt_errmsg(m));
            goto done;
        }
        if (col.st != LPQ_STATUS_OK) {
            if (tty) fputc('\n', stderr);
            fprintf(stderr, "lpq-quant imatrix: collecting '%s': %s\n", col.bad_name, lpq_status_str(col.st));
            goto done;
        }
        if (tty) {
            double el = (double)(lpq_time_ns() - t0) * 1e-9;
            fprintf(stderr, "\rimatrix: chunk %lld/%lld, %.2f s/chunk, ETA %.0f s   ", (long long)(c + 1),
                    (long long)n_chunks, el / (double)(c + 1), el / (double)(c + 1) * (double)(n_chunks - c - 1));
        }
    }
    if (tty) fputc('\n', stderr);
    lpq_rt_set_act_hook(m, NULL, NULL);

    if (lpq_imatrix_add_dataset(im, text_path) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-quant imatrix: out of memory\n");
        goto done;
    }
    lpq_imatrix_set_chunks(im, (uint32_t)n_chunks, (uint32_t)n_ctx);
    if (lpq_imatrix_save(im, out_path, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-quant imatrix: %s\n", err.msg);
        goto done;
    }
    fprintf(stderr, "lpq-quant imatrix: %lld entries from %lld chunks of %lld tokens -> %s\n",
            (long long)lpq_imatrix_n_entries(im), (long long)n_chunks, (long long)n_ctx, out_path);
    rc = 0;
done:
    lpq_imatrix_free(im);
    lpq_rt_model_free(m);
    lpq_free(chunk);
    lpq_free(want);
    lpq_free(logits);
    lpq_free(ids);
    lpq_free(text);
    return rc;
}
