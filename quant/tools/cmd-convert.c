/*
 * cmd-convert.c — `lpq-quant convert IN.gguf --model-dir models/NAME --types Q4_K_M,Q8_0,...`:
 * fills a model folder: gguf/<TYPE>/model.gguf with a metadata.json beside each (type, plan
 * summary, sizes, source sha256, imatrix, tool version), the unquantized input as the baseline
 * variant (gguf/F32|F16|BF16/), and models/NAME/manifest.json (harness/modeldir.h schema 1,
 * plus the model id and an architecture summary) merged with any variants already listed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "quant/quantize.h"
#include "quant/tools/cmds.h"

static void usage(FILE *f) {
    fprintf(f, "usage: lpq-quant convert IN.gguf --model-dir DIR --types T1,T2,... [--imatrix FILE] [--threads N]\n"
               "  writes DIR/gguf/<T>/model.gguf + metadata.json per type, the input as the baseline\n"
               "  variant DIR/gguf/<F32|F16|BF16>/, and DIR/manifest.json\n");
}

static int mkdir_p(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
    return 0;
}

/* Hard link when possible (same file system, no copy of a multi-GB file), else a copy. */
static int link_or_copy(const char *src, const char *dst) {
    unlink(dst);
    if (link(src, dst) == 0) return 0;
    int in = open(src, O_RDONLY), out = -1, rc = -1;
    char *buf = NULL;
    char tmp[4400];
    snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
    if (in < 0) goto done;
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    buf = lpq_malloc(1 << 20);
    if (out < 0 || !buf) goto done;
    ssize_t n;
    while ((n = read(in, buf, 1 << 20)) > 0) {
        for (ssize_t o = 0; o < n;) {
            ssize_t k = write(out, buf + o, (size_t)(n - o));
            if (k <= 0) goto done;
            o += k;
        }
    }
    if (n < 0 || fsync(out)) goto done;
    close(out);
    out = -1;
    rc = rename(tmp, dst);
done:
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    if (rc) unlink(tmp);
    lpq_free(buf);
    return rc;
}

/* Writes JSON through a temp file + rename. */
static int json_save(json_t *j, const char *path) {
    char tmp[4400];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) return -1;
    if (rename(tmp, path)) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static const char *baseline_name(struct lpq_gguf *g) {
    /* The widest float type among the 2-D tensors names the baseline. */
    bool f32 = false, f16 = false, bf16 = false, q = false;
    for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) {
        const struct lpq_gguf_tensor *t = lpq_gguf_tensor(g, i);
        if (t->n_dims < 2) continue;
        if (t->type == LPQ_TYPE_F32) f32 = true;
        else if (t->type == LPQ_TYPE_F16) f16 = true;
        else if (t->type == LPQ_TYPE_BF16) bf16 = true;
        else q = true;
    }
    if (q) return NULL;
    return f32 && !f16 && !bf16 ? "F32" : bf16 ? "BF16" : f16 ? "F16" : "F32";
}

static json_t *arch_json(struct lpq_gguf *g, int64_t *n_params) {
    struct lpq_model_arch a;
    lpq_model_arch_from_gguf(g, &a);
    int64_t np = 0;
    for (int64_t i = 0; i < lpq_gguf_n_tensors(g); i++) np += lpq_gguf_tensor_nelements(lpq_gguf_tensor(g, i));
    *n_params = np;
    int64_t gqa = a.n_head_kv > 0 ? a.n_head / a.n_head_kv : 1;
    const char *attn = a.n_head_kv == 1 && a.n_head > 1 ? "MQA" : gqa > 1 ? "GQA" : "MHA";
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I}", "family", a.arch,
                     "kind", a.n_expert > 1 ? "MoE" : "dense", "attention", attn, "gqa_ratio", (json_int_t)gqa,
                     "n_layer", (json_int_t)a.n_layer, "n_embd", (json_int_t)a.n_embd, "n_head", (json_int_t)a.n_head,
                     "n_head_kv", (json_int_t)a.n_head_kv, "n_expert", (json_int_t)a.n_expert,
                     "tied_embeddings", a.tied, "n_params", (json_int_t)np);
}

static json_t *plan_json(const struct lpq_plan *plan) {
    json_t *by = json_object();
    for (size_t i = 0; i < plan->n_entries; i++) {
        const char *tn = lpq_type_name(plan->entries[i].type);
        json_t *c = json_object_get(by, tn);
        json_object_set_new(by, tn, json_integer(c ? json_integer_value(c) + 1 : 1));
    }
    return json_pack("{s:o, s:f, s:I, s:I}", "tensors_by_type", by, "bits_per_weight", lpq_plan_bpw(plan),
                     "n_fallback", (json_int_t)plan->n_fallback, "n_tensors", (json_int_t)plan->n_entries);
}

static uint64_t file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int write_variant_meta(const char *dir, const char *type, int llama_ftype, const struct lpq_plan *plan,
                              const char *model_path, const char *src, const char *sha, const char *imatrix,
                              bool baseline) {
    char path[4200], when[32];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tmv);
    char tool[128];
    snprintf(tool, sizeof(tool), "lpq-quant %s (%s)", lpq_version(), lpq_commit());
    json_t *j = json_pack("{s:s, s:i, s:b, s:o, s:I, s:{s:s, s:s}, s:o, s:s, s:s}", "type", type, "file_type",
                          llama_ftype, "baseline", baseline, "plan", plan ? plan_json(plan) : json_null(),
                          "size_bytes", (json_int_t)file_size(model_path), "source", "path", src, "sha256", sha,
                          "imatrix", imatrix ? json_string(imatrix) : json_null(), "tool", tool, "created", when);
    snprintf(path, sizeof(path), "%s/metadata.json", dir);
    int rc = j ? json_save(j, path) : -1;
    json_decref(j);
    return rc;
}

/* Loads DIR/manifest.json (or starts one) and sets/replaces the variant entry. */
static int manifest_update(const char *mdir, const char *id, json_t *arch, const char *base, const char **types,
                           size_t n_types, const double *bpw, const uint64_t *sizes) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/manifest.json", mdir);
    json_error_t je;
    json_t *m = json_load_file(path, 0, &je);
    if (!m || !json_is_object(m)) {
        json_decref(m);
        m = json_object();
    }
    json_object_set_new(m, "schema", json_integer(1));
    json_object_set_new(m, "name", json_string(id));
    json_object_set_new(m, "model_id", json_string(id));
    json_object_set(m, "architecture", arch);
    if (base) json_object_set_new(m, "baseline", json_string(base));
    json_t *vars = json_object_get(m, "variants");
    if (!json_is_array(vars)) {
        vars = json_array();
        json_object_set_new(m, "variants", vars);
    }
    for (size_t k = 0; k < n_types; k++) {
        char file[256];
        snprintf(file, sizeof(file), "gguf/%s/model.gguf", types[k]);
        json_t *v = json_pack("{s:s, s:s, s:I, s:f}", "name", types[k], "file", file, "size_bytes",
                              (json_int_t)sizes[k], "bits_per_weight", bpw[k]);
        size_t idx;
        json_t *old;
        bool replaced = false;
        json_array_foreach(vars, idx, old) {
            const char *on = json_string_value(json_object_get(old, "name"));
            if (on && !strcmp(on, types[k])) {
                json_array_set_new(vars, idx, v);
                replaced = true;
                break;
            }
        }
        if (!replaced) json_array_append_new(vars, v);
    }
    int rc = json_save(m, path);
    json_decref(m);
    return rc;
}

int lpq_cmd_convert(int argc, char **argv) {
    const char *in = NULL, *mdir = NULL, *types_arg = NULL, *imatrix_path = NULL;
    int n_threads = 0, rc = 1;
    struct lpq_gguf *g = NULL;
    struct lpq_imatrix *im = NULL;
    json_t *arch = NULL;
    char *types_buf = NULL;
    const char *types[64];
    double bpw[65];
    uint64_t sizes[65];
    size_t n_types = 0;
    struct lpq_err err;
    lpq_err_clear(&err);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--model-dir") && v) { mdir = v; i++; }
        else if (!strcmp(a, "--types") && v) { types_arg = v; i++; }
        else if (!strcmp(a, "--imatrix") && v) { imatrix_path = v; i++; }
        else if (!strcmp(a, "--threads") && v) { n_threads = atoi(v); i++; }
        else if (a[0] != '-' && !in) in = a;
        else {
            fprintf(stderr, "lpq-quant convert: unknown option '%s' (or missing value)\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!in || !mdir || !types_arg) {
        usage(stderr);
        return 2;
    }
    types_buf = lpq_strdup(types_arg);
    if (!types_buf) goto done;
    for (char *save = NULL, *tok = strtok_r(types_buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const struct lpq_ftype *ft = lpq_ftype_find(tok);
        if (!ft) {
            fprintf(stderr, "lpq-quant convert: unknown type '%s'\n", tok);
            goto done;
        }
        if (n_types < 64) types[n_types++] = ft->name;
    }
    if (lpq_gguf_open(in, NULL, &g, &err)) {
        fprintf(stderr, "lpq-quant convert: %s\n", err.msg);
        goto done;
    }
    const char *base = baseline_name(g);
    if (!base) {
        fprintf(stderr, "lpq-quant convert: %s: input is quantized; convert wants an F32/F16/BF16 model\n", in);
        goto done;
    }
    if (imatrix_path && lpq_imatrix_load(imatrix_path, &im, &err)) {
        fprintf(stderr, "lpq-quant convert: %s\n", err.msg);
        goto done;
    }
    char sha[65];
    if (lpq_sha256_file(in, sha, &err)) {
        fprintf(stderr, "lpq-quant convert: %s\n", err.msg);
        goto done;
    }
    int64_t n_params = 0;
    arch = arch_json(g, &n_params);
    const char *slash = strrchr(mdir, '/');
    char id[256];
    snprintf(id, sizeof(id), "%s", slash && slash[1] ? slash + 1 : mdir);
    size_t idl = strlen(id);
    if (idl > 1 && id[idl - 1] == '/') id[idl - 1] = 0;

    /* Baseline: the input itself. */
    char dir[4096], path[4200];
    snprintf(dir, sizeof(dir), "%s/gguf/%s", mdir, base);
    snprintf(path, sizeof(path), "%s/model.gguf", dir);
    if (mkdir_p(dir) || link_or_copy(in, path)) {
        fprintf(stderr, "lpq-quant convert: cannot write %s: %s\n", path, strerror(errno));
        goto done;
    }
    const struct lpq_ftype *bft = lpq_ftype_find(base);
    if (write_variant_meta(dir, base, bft->llama_ftype, NULL, path, in, sha, NULL, true)) {
        fprintf(stderr, "lpq-quant convert: cannot write %s/metadata.json\n", dir);
        goto done;
    }
    const char *all_types[65];
    size_t n_all = 0;
    all_types[n_all] = base;
    sizes[n_all] = file_size(path);
    bpw[n_all] = n_params ? 8.0 * (double)lpq_gguf_file_size(g) / (double)n_params : 0;
    n_all++;
    for (size_t k = 0; k < n_types; k++) {
        if (!strcmp(types[k], base)) continue;
        const struct lpq_ftype *ft = lpq_ftype_find(types[k]);
        snprintf(dir, sizeof(dir), "%s/gguf/%s", mdir, ft->name);
        snprintf(path, sizeof(path), "%s/model.gguf", dir);
        if (mkdir_p(dir)) {
            fprintf(stderr, "lpq-quant convert: cannot create %s: %s\n", dir, strerror(errno));
            goto done;
        }
        struct lpq_quantize_params p = lpq_quantize_params_default(ft);
        p.imatrix = im;
        p.n_threads = n_threads;
        p.progress = isatty(STDERR_FILENO);
        struct lpq_quantize_stats stats;
        if (lpq_quantize_file(in, path, &p, &stats, &err)) {
            fprintf(stderr, "lpq-quant convert: %s: %s\n", ft->name, err.msg);
            goto done;
        }
        struct lpq_plan *plan = NULL;
        struct lpq_plan_params pp = p.plan;
        pp.have_imatrix = im != NULL;
        if (lpq_plan_build_gguf(g, &pp, &plan, &err) ||
            write_variant_meta(dir, ft->name, ft->llama_ftype, plan, path, in, sha, imatrix_path, false)) {
            lpq_plan_free(plan);
            fprintf(stderr, "lpq-quant convert: cannot write %s/metadata.json\n", dir);
            goto done;
        }
        lpq_plan_free(plan);
        all_types[n_all] = ft->name;
        sizes[n_all] = file_size(path);
        bpw[n_all] = stats.bpw;
        n_all++;
        printf("%s: %s %.2f MiB, %.4f bits per weight, %.1f s\n", id, ft->name, (double)sizes[n_all - 1] / 1048576.0,
               stats.bpw, stats.seconds);
    }
    if (manifest_update(mdir, id, arch, base, all_types, n_all, bpw, sizes)) {
        fprintf(stderr, "lpq-quant convert: cannot write %s/manifest.json\n", mdir);
        goto done;
    }
    rc = 0;
done:
    json_decref(arch);
    lpq_free(types_buf);
    lpq_imatrix_free(im);
    lpq_gguf_close(g);
    return rc;
}
