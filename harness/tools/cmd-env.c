/*
 * cmd-env.c — `lpq-eval env` (placeholder until the environment fingerprint lands).
 */
#include <stdio.h>

#include "quant/common.h"
#include "harness/tools/cmds.h"

int lpq_cmd_env(int argc, char **argv) {
    (void)argc; (void)argv;
    printf("lpq %s (%s)\n", lpq_version(), lpq_commit());
    return 0;
}
