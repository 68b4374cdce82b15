/*
 * lpq-quant — inspect, create and quantize GGUF files. This file only dispatches to the
 * subcommands in cmd-*.c.
 */
#include <stdio.h>
#include <string.h>

#include "quant/common.h"
#include "quant/tools/cmds.h"

struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct cmd cmds[] = {
    { "info", lpq_cmd_info, "info FILE [--json]    header, metadata, tensors and totals of a GGUF file" },
    { "quantize", lpq_cmd_quantize, "quantize IN OUT TYPE [--imatrix F] [--pure] [--tensor-type RE=T]... [--dry-run]   quantize a GGUF file" },
    { "synth", lpq_cmd_synth, "synth --shape NAME --type T -o FILE [--seed S]   synthetic model with a real architecture's shapes" },
    { "convert", lpq_cmd_convert, "convert IN --model-dir DIR --types T1,T2,... [--imatrix F]   fill a model folder with variants" },
    { "imatrix", lpq_cmd_imatrix, "imatrix --model IN --text CALIB -o OUT [--ctx 512] [--chunks N] [--threads T]   collect an importance matrix" },
};

static void usage(FILE *f) {
    fprintf(f, "usage: lpq-quant <command> [args]   (lpq-quant <command> --help for details)\n"
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
        printf("lpq-quant %s (%s)\n", lpq_version(), lpq_commit());
        return 0;
    }
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(cmds); i++) {
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "lpq-quant: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
