/*
 * cmd-eval.c — the main job: `lpq-eval --suite LIST (--model-dir DIR | --model FILE) [options]`
 * (also reachable as `lpq-eval eval ...`). Parses the options into lpq_run_params and runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/run.h"
#include "harness/tools/cmds.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: lpq-eval --suite LIST (--model-dir DIR | --model FILE) [options]\n"
            "  --suite LIST        comma list of suites: ppl, kld, speed (, accuracy) | quick | full\n"
            "  --model-dir DIR     model folder: manifest.json or gguf/<VARIANT>/*.gguf\n"
            "  --model FILE        one GGUF file (results in FILE's .evaluation.json)\n"
            "  --runtime LIST      cpu,cuda | auto (default auto)\n"
            "  --threads N         runtime threads (default: all cores)\n"
            "  --ctx N             tokens per ppl/kld window (default 512)\n"
            "  --chunks N          at most N ppl/kld chunks (default all; quick: 4)\n"
            "  --dataset NAME      text for ppl/kld (default wikitext2-test) or a file path\n"
            "  --data-dir DIR      where datasets are (default $LPQ_DATA_DIR, else ./data)\n"
            "  --baseline VARIANT  baseline for kld (default: F32 > BF16 > F16 > Q8_0)\n"
            "  --kld-base FILE     compare against a top-K base file (with --kld-write: write it\n"
            "                      from the baseline first)\n"
            "  --top-k K           K of the base file (default 32)\n"
            "  --reps N            speed: measured repetitions (default 5)\n"
            "  --seed S            seed for sampling and generation (default 42)\n"
            "  --chat-template T   accuracy: force a template (chatml, llama3, llama2, gemma, phi3,\n"
            "                      mistral); default: detected from tokenizer.chat_template\n"
            "  --no-chat           accuracy: base model, prompts without a chat template\n"
            "  --benchmarks LIST   accuracy: standard benchmarks from --data-dir (mmlu, arc_easy,\n"
            "                      arc_challenge, hellaswag, winogrande, truthfulqa_mc1,\n"
            "                      truthfulqa_mc2, gsm8k), 'none'; default: every one found\n"
            "  --limit N|all       accuracy: items per benchmark (seeded sample; default 200,\n"
            "                      quick 20)\n"
            "  --mmlu-shots K      accuracy: MMLU few-shot examples from dev (default 5)\n"
            "  --fresh             recompute the suites in --suite (default: resume stored items;\n"
            "                      results of other suites are kept)\n"
            "  --no-progress       no progress bar even on a terminal\n");
}

static bool parse_i64(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

int lpq_cmd_eval(int argc, char **argv) {
    struct lpq_run_params p = lpq_run_params_default();
    bool have_suite = false, no_progress = false;
    int i = 1;
    if (argc > 0 && argv[0][0] == '-') i = 0;   /* called as `lpq-eval --suite ...` */
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n;
#define NEED_ARG() do { if (!v) { fprintf(stderr, "lpq-eval: %s needs a value\n", a); return 2; } i++; } while (0)
#define NUM(lo, hi) do { NEED_ARG(); if (!parse_i64(v, lo, hi, &n)) { \
            fprintf(stderr, "lpq-eval: %s: '%s' is not a number in %lld..%lld\n", a, v, (long long)(lo), (long long)(hi)); \
            return 2; } } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--suite")) { NEED_ARG(); p.suites = v; have_suite = true; }
        else if (!strcmp(a, "--model-dir")) { NEED_ARG(); p.model_dir = v; }
        else if (!strcmp(a, "--model") || !strcmp(a, "-m")) { NEED_ARG(); p.model_file = v; }
        else if (!strcmp(a, "--runtime")) { NEED_ARG(); p.runtimes = v; }
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { NUM(0, 1024); p.rt.n_threads = (int32_t)n; p.opts.n_threads = (int32_t)n; }
        else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) { NUM(4, 1 << 20); p.opts.n_ctx = n; }
        else if (!strcmp(a, "--chunks")) { NUM(0, 1 << 30); p.opts.n_chunks = n; }
        else if (!strcmp(a, "--dataset")) { NEED_ARG(); p.opts.dataset = v; }
        else if (!strcmp(a, "--data-dir")) { NEED_ARG(); p.opts.data_dir = v; }
        else if (!strcmp(a, "--baseline")) { NEED_ARG(); p.baseline = v; }
        else if (!strcmp(a, "--kld-base")) { NEED_ARG(); p.opts.kld_base = v; }
        else if (!strcmp(a, "--kld-write")) p.opts.kld_write = true;
        else if (!strcmp(a, "--top-k")) { NUM(1, 4096); p.opts.kld_top_k = (int32_t)n; }
        else if (!strcmp(a, "--reps")) { NUM(1, 1000); p.opts.reps = (int32_t)n; }
        else if (!strcmp(a, "--seed")) { NUM(0, (long long)1 << 62); p.opts.seed = (uint64_t)n; p.rt.seed = (uint64_t)n; }
        else if (!strcmp(a, "--chat-template")) { NEED_ARG(); p.opts.chat_template = v; }
        else if (!strcmp(a, "--no-chat")) p.opts.no_chat = true;
        else if (!strcmp(a, "--benchmarks")) { NEED_ARG(); p.opts.benchmarks = v; }
        else if (!strcmp(a, "--mmlu-shots")) { NUM(0, 5); p.opts.mmlu_shots = (int32_t)n; }
        else if (!strcmp(a, "--limit")) {
            NEED_ARG();
            if (!strcmp(v, "all")) p.opts.limit = -1;
            else if (parse_i64(v, 1, (long long)1 << 40, &n)) p.opts.limit = n;
            else { fprintf(stderr, "lpq-eval: --limit: '%s' is not a positive number or 'all'\n", v); return 2; }
        }
        else if (!strcmp(a, "--fresh")) p.fresh = true;
        else if (!strcmp(a, "--no-progress")) no_progress = true;
        else {
            fprintf(stderr, "lpq-eval: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
#undef NUM
#undef NEED_ARG
    }
    if (!have_suite) {
        fprintf(stderr, "lpq-eval: --suite is required\n");
        usage(stderr);
        return 2;
    }
    if (!p.model_dir == !p.model_file) {
        fprintf(stderr, "lpq-eval: give exactly one of --model-dir DIR and --model FILE\n");
        return 2;
    }
    if (p.opts.kld_write && !p.opts.kld_base) {
        fprintf(stderr, "lpq-eval: --kld-write needs --kld-base FILE\n");
        return 2;
    }
    p.opts.progress = !no_progress && isatty(STDERR_FILENO);
    struct lpq_err err;
    lpq_err_clear(&err);
    enum lpq_status st = lpq_run(&p, &err);
    if (st != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-eval: %s\n", err.msg[0] ? err.msg : lpq_status_str(st));
        return 1;
    }
    return 0;
}
