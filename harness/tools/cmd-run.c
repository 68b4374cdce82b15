/*
 * cmd-run.c — `lpq-eval run`: load a model in a runtime, generate from a prompt, stream the
 * completion to stdout and report prompt/decode speed and time to first token on stderr.
 * Errors print one line "lpq-eval: <message>" and exit 1; bad usage exits 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/tools/cmds.h"
#include "harness/tools/cli-args.h"
#include "runtimes/runtime.h"

#define STOP_MAX 16

static const char run_usage[] =
    "usage: lpq-eval run --model FILE -p PROMPT [-n N] [--runtime cpu|auto] [--threads T]\n"
    "                    [--ctx C] [--batch B] [--temp X] [--top-k K] [--top-p P] [--min-p M]\n"
    "                    [--repeat-penalty R] [--repeat-last-n N] [--seed S] [--stop STR]...\n"
    "                    [--ignore-eos] [-v]\n"
    "  Prints the completion of PROMPT (greedy unless --temp > 0) to stdout and a timing line\n"
    "  (prompt tok/s, decode tok/s, time to first token) to stderr. -n -1 = until the context\n"
    "  is full or an end-of-generation token. -v also prints the model as loaded and its memory.\n";

static bool print_piece(int32_t token, const char *piece, size_t len, uint64_t t_ns, void *user) {
    (void)token; (void)t_ns; (void)user;
    if (len) fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return true;
}

int lpq_cmd_run(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *runtime = "auto";
    const char *stops[STOP_MAX + 1] = { 0 };
    size_t n_stop = 0;
    struct lpq_rt_params rp = lpq_rt_params_default();
    struct lpq_rt_gen_params gp = lpq_rt_gen_params_default();
    int64_t n_predict = 128, v;
    double d;
    const char *bad = NULL;
    bool verbose = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(run_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--ignore-eos")) {
            gp.stop_at_eog = false;
            continue;
        }
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = true;
            continue;
        }
        if (!val) {
            fprintf(stderr, "lpq-eval: run: %s needs a value\n%s", a, run_usage);
            return 2;
        }
        i++;
        if (!strcmp(a, "--model") || !strcmp(a, "-m")) model = val;
        else if (!strcmp(a, "--prompt") || !strcmp(a, "-p")) prompt = val;
        else if (!strcmp(a, "--runtime")) runtime = val;
        else if (!strcmp(a, "--stop")) {
            if (n_stop == STOP_MAX) {
                fprintf(stderr, "lpq-eval: run: at most %d --stop strings\n", STOP_MAX);
                return 2;
            }
            stops[n_stop++] = val;
        }
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) {
            if (!lpq_cli_int(val, -1, INT32_MAX, &n_predict)) bad = a;
        } else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) {
            if (lpq_cli_int(val, 0, 4096, &v)) rp.n_threads = (int32_t)v; else bad = a;
        } else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) {
            if (lpq_cli_int(val, 0, INT32_MAX, &v)) rp.n_ctx = v; else bad = a;
        } else if (!strcmp(a, "--batch") || !strcmp(a, "-b")) {
            if (lpq_cli_int(val, 0, INT32_MAX, &v)) rp.n_batch = v; else bad = a;
        } else if (!strcmp(a, "--temp")) {
            if (lpq_cli_num(val, 0.0, 100.0, &d)) gp.sampler.temperature = (float)d; else bad = a;
        } else if (!strcmp(a, "--top-k")) {
            if (lpq_cli_int(val, 0, INT32_MAX, &v)) gp.sampler.top_k = (int32_t)v; else bad = a;
        } else if (!strcmp(a, "--top-p")) {
            if (lpq_cli_num(val, 0.0, 1.0, &d)) gp.sampler.top_p = (float)d; else bad = a;
        } else if (!strcmp(a, "--min-p")) {
            if (lpq_cli_num(val, 0.0, 1.0, &d)) gp.sampler.min_p = (float)d; else bad = a;
        } else if (!strcmp(a, "--repeat-penalty")) {
            if (lpq_cli_num(val, 0.0, 100.0, &d) && d > 0.0) gp.sampler.repeat_penalty = (float)d;
            else bad = a;
        } else if (!strcmp(a, "--repeat-last-n")) {
            if (lpq_cli_int(val, -1, INT32_MAX, &v)) gp.sampler.repeat_last_n = (int32_t)v; else bad = a;
        } else if (!strcmp(a, "--seed") || !strcmp(a, "-s")) {
            if (lpq_cli_int(val, 0, INT64_MAX, &v)) gp.sampler.seed = rp.seed = (uint64_t)v; else bad = a;
        } else {
            fprintf(stderr, "lpq-eval: run: unknown option '%s'\n%s", a, run_usage);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "lpq-eval: run: bad value for %s: '%s'\n", bad, val);
            return 2;
        }
    }
    if (!model || !prompt) {
        fprintf(stderr, "lpq-eval: run: --model and -p are required\n%s", run_usage);
        return 2;
    }
    gp.n_predict = (int32_t)n_predict;
    gp.stop = n_stop ? stops : NULL;
    gp.cb = print_piece;

    int rc = 1;
    struct lpq_err err;
    lpq_err_clear(&err);
    struct lpq_rt_model *m = NULL;
    int32_t *ids = NULL, *out = NULL;
    const struct lpq_rt_reg *reg = NULL;

    if (lpq_rt_find(runtime, &reg, &err) != LPQ_STATUS_OK ||
        lpq_rt_model_load(reg, model, &rp, &m, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-eval: %s\n", err.msg);
        goto done;
    }

    if (verbose) {
        char desc[256];
        struct lpq_rt_mem mem;
        lpq_rt_describe(m, desc, sizeof(desc));
        fprintf(stderr, "runtime %s: %s, context %lld\n", reg->name, desc[0] ? desc : "?",
                (long long)lpq_rt_n_ctx(m));
        if (lpq_rt_mem(m, &mem) == LPQ_STATUS_OK)
            fprintf(stderr, "memory: weights %.1f MiB, KV cache %.1f MiB, scratch %.1f MiB\n",
                    (double)mem.weights / 1048576.0, (double)mem.kv_cache / 1048576.0,
                    (double)mem.scratch / 1048576.0);
    }

    /* A token per byte plus BOS/EOS is the most any tokenizer can produce. */
    size_t plen = strlen(prompt), cap = plen + 16, n_ids = 0;
    ids = lpq_malloc_array(cap, sizeof(int32_t));
    if (!ids) {
        fprintf(stderr, "lpq-eval: out of memory\n");
        goto done;
    }
    if (lpq_rt_tokenize(m, prompt, plen, true, true, ids, cap, &n_ids) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-eval: %s\n", lpq_rt_errmsg(m));
        goto done;
    }
    if (n_ids == 0) {
        fprintf(stderr, "lpq-eval: empty prompt and the model adds no BOS token\n");
        goto done;
    }
    int64_t n_ctx = lpq_rt_n_ctx(m);
    if ((int64_t)n_ids > n_ctx) {
        fprintf(stderr, "lpq-eval: prompt of %zu tokens exceeds the context of %lld tokens\n", n_ids,
                (long long)n_ctx);
        goto done;
    }
    size_t out_cap = (size_t)(n_ctx - (int64_t)n_ids + 1);
    if (n_predict >= 0 && (size_t)n_predict < out_cap) out_cap = (size_t)n_predict;
    out = lpq_malloc_array(out_cap ? out_cap : 1, sizeof(int32_t));
    if (!out) {
        fprintf(stderr, "lpq-eval: out of memory\n");
        goto done;
    }

    struct lpq_rt_gen_result res;
    if (lpq_rt_generate(m, ids, (int64_t)n_ids, &gp, out, out_cap, &res) != LPQ_STATUS_OK) {
        fflush(stdout);
        fprintf(stderr, "\nlpq-eval: %s\n", lpq_rt_errmsg(m));
        goto done;
    }
    /* stdout gets the exact completion when piped (no newline added); the timing line on
     * stderr then starts on a line of its own. */
    if (isatty(STDOUT_FILENO)) fputc('\n', stdout);
    fflush(stdout);
    if (!isatty(STDOUT_FILENO)) fputc('\n', stderr);
    if (res.stop_reason == LPQ_RT_STOP_CTX_FULL)
        fprintf(stderr, "lpq-eval: note: stopped at the end of the context (%lld tokens; see --ctx)\n",
                (long long)n_ctx);

    double t_prompt = (double)(res.t_first_ns - res.t_start_ns) * 1e-9;
    double t_decode = (double)(res.t_end_ns - res.t_first_ns) * 1e-9;
    fprintf(stderr, "prompt: %d tok, %.1f tok/s | decode: %d tok, %.1f tok/s | TTFT %.1f ms\n",
            (int)res.n_prompt, t_prompt > 0 ? res.n_prompt / t_prompt : 0.0, (int)res.n_gen,
            t_decode > 0 ? res.n_decode / t_decode : 0.0, t_prompt * 1e3);
    rc = 0;

done:
    lpq_free(ids);
    lpq_free(out);
    lpq_rt_model_free(m);
    return rc;
}
