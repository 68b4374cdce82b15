/*
 * cmd-synth.c — `lpq-quant synth --shape NAME --type T -o FILE [--seed S] [--threads N]`:
 * a model with a real architecture's shapes and seeded random weights (quant/synth.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quant/quantize.h"
#include "quant/tools/cmds.h"

static void usage(FILE *f) {
    fprintf(f, "usage: lpq-quant synth --shape NAME --type T -o FILE [--seed S] [--threads N]\n"
               "  shapes:");
    for (const char *const *s = lpq_synth_shapes(); *s; s++) fprintf(f, " %s", *s);
    fprintf(f, "\n  T: any lpq-quant quantize type (F32, F16, BF16, Q8_0, Q4_K_M, ...)\n");
}

int lpq_cmd_synth(int argc, char **argv) {
    struct lpq_synth_params p = lpq_synth_params_default();
    const char *out = NULL;
    p.type = NULL;
    p.shape = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--shape") && v) { p.shape = v; i++; }
        else if (!strcmp(a, "--type") && v) { p.type = v; i++; }
        else if (!strcmp(a, "-o") && v) { out = v; i++; }
        else if (!strcmp(a, "--seed") && v) { p.seed = strtoull(v, NULL, 0); i++; }
        else if (!strcmp(a, "--threads") && v) { p.n_threads = atoi(v); i++; }
        else {
            fprintf(stderr, "lpq-quant synth: unknown option '%s' (or missing value)\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!p.shape || !out) {
        usage(stderr);
        return 2;
    }
    if (!p.type) p.type = "F32";
    if (!lpq_ftype_find(p.type)) {
        fprintf(stderr, "lpq-quant synth: unknown type '%s'\n", p.type);
        return 1;
    }
    p.progress = isatty(STDERR_FILENO);
    struct lpq_err err;
    lpq_err_clear(&err);
    if (lpq_synth_write(out, &p, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-quant synth: %s\n", err.msg);
        return 1;
    }
    return 0;
}
