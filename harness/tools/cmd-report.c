/*
 * cmd-report.c — `lpq-eval report --model-dir DIR`: EVALUATION_REPORT.md, results.csv,
 * results.json and the gnuplot charts from the folder's evaluation files (reports/report.h).
 * Nothing is measured; the same files give the same report.
 */
#include <stdio.h>
#include <string.h>

#include "harness/tools/cli-args.h"
#include "harness/tools/cmds.h"
#include "reports/report.h"

static void usage(FILE *f) {
    fprintf(f, "usage: lpq-eval report --model-dir DIR [options]\n"
               "  --model-dir DIR        model folder with gguf/<VARIANT>/evaluation*.json (and results/)\n"
               "  --out DIR              write the report there (default: the model folder)\n"
               "  --no-charts            skip the gnuplot charts\n"
               "  --gnuplot PATH         gnuplot program (default $LPQ_GNUPLOT, else gnuplot in $PATH)\n"
               "  --gnuplot-dir DIR      the chart scripts (default $LPQ_GNUPLOT_DIR, else installed)\n"
               "  --memory-budget MIB    add a 'fastest within MIB' recommendation\n");
}

int lpq_cmd_report(int argc, char **argv) {
    struct lpq_report_params p = lpq_report_params_default();
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--no-charts")) {
            p.charts = false;
            continue;
        }
        if (!v) {
            fprintf(stderr, "lpq-eval report: %s needs a value (or is unknown)\n", a);
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--model-dir")) dir = v;
        else if (!strcmp(a, "--out")) p.out_dir = v;
        else if (!strcmp(a, "--gnuplot")) p.gnuplot = v;
        else if (!strcmp(a, "--gnuplot-dir")) p.scripts_dir = v;
        else if (!strcmp(a, "--memory-budget")) {
            if (!lpq_cli_num(v, 0.001, 1e9, &p.memory_budget_mib)) {
                fprintf(stderr, "lpq-eval report: --memory-budget: '%s' is not a size in MiB\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "lpq-eval report: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "lpq-eval report: give --model-dir DIR\n");
        usage(stderr);
        return 2;
    }
    struct lpq_report_result r;
    struct lpq_err err;
    lpq_err_clear(&err);
    if (lpq_report_write(dir, &p, &r, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-eval report: %s\n", err.msg);
        return 1;
    }
    const char *out = p.out_dir ? p.out_dir : dir;
    printf("wrote %s/EVALUATION_REPORT.md (%d variant runs), results.csv, results.json", out, r.n_entries);
    if (r.n_charts) printf(", %d charts in %s/charts", r.n_charts, out);
    printf("\n");
    if (r.charts_skipped) fprintf(stderr, "lpq-eval report: warning: report written without charts: %s\n", r.charts_why);
    return 0;
}
