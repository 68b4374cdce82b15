/*
 * cmd-quantize.c — `lpq-quant quantize IN OUT TYPE [options]`: parse the command line into
 * lpq_quantize_params and run the pipeline of quant/quantize.c. --dry-run prints the plan
 * (type and reason per tensor, size, bits per weight) and writes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quant/quantize.h"
#include "quant/tools/cmds.h"

#define MAX_OVERRIDES 64

static void usage(FILE *f) {
    fprintf(f,
            "usage: lpq-quant quantize IN.gguf OUT.gguf TYPE [options]\n"
            "  TYPE: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M\n"
            "        Q5_K_S Q5_K_M Q6_K IQ4_NL IQ4_XS\n"
            "  --imatrix FILE              importance matrix (llama.cpp GGUF imatrix)\n"
            "  --pure                      every 2-D weight gets TYPE's base type\n"
            "  --tensor-type REGEX=T       override (POSIX extended regex on the name; repeatable)\n"
            "  --token-embedding-type T    type of token_embd.weight\n"
            "  --output-tensor-type T      type of output.weight\n"
            "  --allow-requantize          accept quantized input (dequantized first)\n"
            "  --threads N                 worker threads (default: all cores)\n"
            "  --dry-run                   print the plan, write nothing (OUT may be '-')\n");
}

static int parse_tensor_type(const char *s, uint32_t *out) {
    enum lpq_type t;
    if (!lpq_type_from_name(s, &t)) return -1;
    *out = (uint32_t)t;
    return 0;
}

int lpq_cmd_quantize(int argc, char **argv) {
    const char *pos[3] = { 0 };
    int n_pos = 0;
    const char *imatrix_path = NULL;
    struct lpq_tensor_override ov[MAX_OVERRIDES];
    char *ov_re[MAX_OVERRIDES];
    size_t n_ov = 0;
    int rc = 1;
    struct lpq_imatrix *im = NULL;
    struct lpq_quantize_params p = lpq_quantize_params_default(NULL);
    bool pure = false;
    int32_t te_type = -1, out_type = -1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); rc = 0; goto done; }
        else if (!strcmp(a, "--pure")) pure = true;
        else if (!strcmp(a, "--dry-run")) p.dry_run = true;
        else if (!strcmp(a, "--allow-requantize")) p.allow_requantize = true;
        else if (!strcmp(a, "--imatrix") && v) { imatrix_path = v; i++; }
        else if (!strcmp(a, "--threads") && v) { p.n_threads = atoi(v); i++; }
        else if ((!strcmp(a, "--token-embedding-type") || !strcmp(a, "--output-tensor-type")) && v) {
            uint32_t t;
            if (parse_tensor_type(v, &t)) {
                fprintf(stderr, "lpq-quant quantize: unknown tensor type '%s' for %s\n", v, a);
                goto done;
            }
            if (!strcmp(a, "--token-embedding-type")) te_type = (int32_t)t;
            else out_type = (int32_t)t;
            i++;
        } else if (!strcmp(a, "--tensor-type") && v) {
            const char *eq = strrchr(v, '=');
            if (!eq || eq == v || n_ov >= MAX_OVERRIDES) {
                fprintf(stderr, "lpq-quant quantize: --tensor-type wants REGEX=TYPE, got '%s'\n", v);
                rc = 2;
                goto done;
            }
            uint32_t t;
            if (parse_tensor_type(eq + 1, &t)) {
                fprintf(stderr, "lpq-quant quantize: unknown tensor type '%s' in --tensor-type %s\n", eq + 1, v);
                goto done;
            }
            ov_re[n_ov] = lpq_strndup(v, (size_t)(eq - v));
            if (!ov_re[n_ov]) goto done;
            ov[n_ov].regex = ov_re[n_ov];
            ov[n_ov].type = t;
            n_ov++;
            i++;
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "lpq-quant quantize: unknown option '%s' (or missing value)\n", a);
            usage(stderr);
            rc = 2;
            goto done;
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        } else {
            fprintf(stderr, "lpq-quant quantize: unexpected argument '%s'\n", a);
            rc = 2;
            goto done;
        }
    }
    if (n_pos != 3) {
        usage(stderr);
        rc = 2;
        goto done;
    }
    const struct lpq_ftype *ft = lpq_ftype_find(pos[2]);
    if (!ft) {
        fprintf(stderr, "lpq-quant quantize: unknown type '%s' (see lpq-quant quantize --help)\n", pos[2]);
        goto done;
    }
    struct lpq_err err;
    lpq_err_clear(&err);
    if (imatrix_path && lpq_imatrix_load(imatrix_path, &im, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-quant quantize: %s\n", err.msg);
        goto done;
    }
    p.plan = lpq_plan_params_default(ft);
    p.plan.pure = pure;
    p.plan.token_embd_type = te_type;
    p.plan.output_type = out_type;
    p.plan.overrides = ov;
    p.plan.n_overrides = n_ov;
    p.imatrix = im;
    p.progress = !p.dry_run && isatty(STDERR_FILENO);
    struct lpq_quantize_stats stats;
    if (lpq_quantize_file(pos[0], pos[1], &p, &stats, &err) != LPQ_STATUS_OK) {
        fprintf(stderr, "lpq-quant quantize: %s\n", err.msg);
        goto done;
    }
    if (!p.dry_run) {
        printf("%s -> %s: %s, %.2f MiB -> %.2f MiB, %.4f bits per weight, %.2f s (%.1f MB/s in)\n", pos[0], pos[1],
               ft->name, (double)stats.src_bytes / 1048576.0, (double)stats.dst_bytes / 1048576.0, stats.bpw,
               stats.seconds, stats.seconds > 0 ? (double)stats.src_bytes / 1e6 / stats.seconds : 0.0);
    }
    rc = 0;
done:
    for (size_t k = 0; k < n_ov; k++) lpq_free(ov_re[k]);
    lpq_imatrix_free(im);
    return rc;
}
