/*
 * lpq-eval — the harness: runs evaluation suites over models and runtimes.
 */
#include <stdio.h>
#include <string.h>

#include "quant/common.h"

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("lpq-eval %s (%s)\n", lpq_version(), lpq_commit());
        return 0;
    }
    fprintf(stderr, "usage: lpq-eval --version\n");
    return 2;
}
