/*
 * lpq-eval — the harness: runs evaluation suites over models and runtimes. This file only
 * dispatches to the subcommands in cmd-*.c.
 */
#include <stdio.h>
#include <string.h>

#include "quant/common.h"
#include "harness/tools/cmds.h"

struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct cmd cmds[] = {
    { "eval", lpq_cmd_eval, "[eval] --suite LIST (--model-dir D | --model F)  the main job" },
    { "env", lpq_cmd_env, "env [--json]           the environment fingerprint recorded in results" },
    { "run", lpq_cmd_run, "run --model F -p TEXT  generate a completion; prints speed and TTFT" },
    { "logits", lpq_cmd_logits, "logits --model F ...   write the logits of every position to a GGUF" },
    { "compare", lpq_cmd_compare, "compare A.gguf B.gguf  NMSE / max abs / top-1 between two logits files" },
    { "report", lpq_cmd_report, "report --model-dir DIR EVALUATION_REPORT.md, results.csv/json and charts" },
    { "gate", lpq_cmd_gate, "gate --current A --baseline B --rules R  CI regression gate (exit 0/1/2)" },
};

static void usage(FILE *f) {
    fprintf(f, "usage: lpq-eval <command> [args]   (lpq-eval <command> --help for details)\n"
               "commands:\n");
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(cmds); i++) fprintf(f, "  %s\n", cmds[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("lpq-eval %s (%s)\n", lpq_version(), lpq_commit());
        return 0;
    }
    /* `lpq-eval --suite ...` is the main job without naming it. */
    if (argv[1][0] == '-') return lpq_cmd_eval(argc - 1, argv + 1);
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(cmds); i++) {
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "lpq-eval: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
