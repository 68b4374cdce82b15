/*
 * lpq-quant — inspect and quantize GGUF files. Subcommands: info (more land with the
 * quantizer issue).
 */
#include <stdio.h>
#include <string.h>

#include "quant/common.h"

static void usage(FILE *f) {
    fprintf(f, "usage: lpq-quant <command> [args]\n"
               "commands:\n"
               "  info FILE [--json]     header, metadata, tensors and totals of a GGUF file\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("lpq-quant %s (%s)\n", lpq_version(), lpq_commit());
        return 0;
    }
    fprintf(stderr, "lpq-quant: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
