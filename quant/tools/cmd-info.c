/*
 * cmd-info.c — `lpq-quant info FILE [--json]` (placeholder until the reader lands).
 */
#include <stdio.h>

#include "quant/tools/cmds.h"

int lpq_cmd_info(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "lpq-quant info: not implemented yet\n");
    return 1;
}
