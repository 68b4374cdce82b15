/*
 * cmd-env.c — `lpq-eval env [--json]`: the host part of the environment fingerprint that
 * every result file records (CPU, flags, cores, memory, OS, compiler, lpq commit, library
 * versions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness/env.h"
#include "harness/tools/cmds.h"

static void print_flat(const char *prefix, json_t *v) {
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            char p[256];
            snprintf(p, sizeof(p), "%s%s%s", prefix, prefix[0] ? "." : "", k);
            print_flat(p, x);
        }
        return;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    printf("%-28s %s\n", prefix, s ? s : "?");
    free(s);
}

int lpq_cmd_env(int argc, char **argv) {
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) as_json = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: lpq-eval env [--json]\n");
            return 0;
        } else {
            fprintf(stderr, "lpq-eval env: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    json_t *env = lpq_env_host();
    if (!env) {
        fprintf(stderr, "lpq-eval: cannot collect the environment\n");
        return 1;
    }
    if (as_json) {
        json_dumpf(env, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
        putchar('\n');
    } else {
        print_flat("", env);
    }
    json_decref(env);
    return 0;
}
