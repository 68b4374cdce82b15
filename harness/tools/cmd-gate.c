/*
 * cmd-gate.c — `lpq-eval gate --current A --baseline B --rules rules.json [--junit FILE]`:
 * the CI regression gate (reports/report.h, docs/CI-GATE.md). Exit 0 pass, 1 regression,
 * 2 could not evaluate (missing metric, schema mismatch, malformed input, usage error).
 */
#include <stdio.h>
#include <string.h>

#include "harness/tools/cmds.h"
#include "reports/report.h"

static void usage(FILE *f) {
    fprintf(f, "usage: lpq-eval gate --current A --baseline B --rules rules.json [--junit FILE]\n"
               "  A, B        an evaluation.json file or a model folder\n"
               "  --rules     JSON: max_ppl_increase_pct, max_mean_kld, max_accuracy_drop_points,\n"
               "              min_speed_ratio, speed_metrics, z (docs/CI-GATE.md)\n"
               "  --junit     also write JUnit XML for CI systems\n"
               "exit: 0 pass, 1 regression, 2 could not evaluate\n");
}

int lpq_cmd_gate(int argc, char **argv) {
    struct lpq_gate_params p = { 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "lpq-eval gate: %s needs a value (or is unknown)\n", a);
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--current")) p.current = v;
        else if (!strcmp(a, "--baseline")) p.baseline = v;
        else if (!strcmp(a, "--rules")) p.rules = v;
        else if (!strcmp(a, "--junit")) p.junit = v;
        else {
            fprintf(stderr, "lpq-eval gate: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!p.current || !p.baseline || !p.rules) {
        fprintf(stderr, "lpq-eval gate: give --current, --baseline and --rules\n");
        usage(stderr);
        return 2;
    }
    struct lpq_err err;
    lpq_err_clear(&err);
    enum lpq_gate_verdict v = lpq_gate_run(&p, &err);
    if (v != LPQ_GATE_PASS && err.msg[0]) fprintf(stderr, "lpq-eval gate: %s\n", err.msg);
    return (int)v;
}
