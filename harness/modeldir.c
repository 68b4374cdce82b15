/*
 * modeldir.c — model folder discovery (modeldir.h): manifest.json or gguf/<VARIANT>/<file>.gguf,
 * a quick GGUF validation of every file, and the baseline choice.
 */
#include "harness/modeldir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "quant/gguf.h"

int lpq_variant_rank(const char *name) {
    static const char *const order[] = { "F32", "BF16", "F16", "Q8_0" };
    if (!name) return 100;
    const char *last = name;
    for (const char *p = name; *p; p++)
        if (*p == '-' || *p == '.' || *p == '_') {
            /* Q8_0 contains '_': only split on it when the tail is not a type suffix like "_0" */
            if (*p == '_' && (p[1] >= '0' && p[1] <= '9')) continue;
            last = p + 1;
        }
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(order); i++)
        if (!strcasecmp(name, order[i]) || !strcasecmp(last, order[i])) return (int)i;
    return 100;
}

static void variant_clear(struct lpq_variant *v) {
    lpq_free(v->name);
    lpq_free(v->path);
    lpq_free(v->dir);
    lpq_free(v->results);
    lpq_free(v->error);
}

void lpq_modeldir_free(struct lpq_modeldir *md) {
    if (!md) return;
    for (size_t i = 0; i < md->n; i++) variant_clear(&md->v[i]);
    lpq_free(md->v);
    lpq_free(md->root);
    lpq_free(md->name);
    lpq_free(md);
}

static enum lpq_status add_variant(struct lpq_modeldir *md, const char *name, const char *path, const char *dir,
                                   struct lpq_err *err) {
    struct lpq_variant *nv = lpq_realloc(md->v, (md->n + 1) * sizeof *nv);
    if (!nv) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "model folder: out of memory");
    md->v = nv;
    struct lpq_variant *v = &md->v[md->n];
    memset(v, 0, sizeof *v);
    v->name = lpq_strdup(name);
    v->path = lpq_strdup(path);
    v->dir = lpq_strdup(dir);
    v->results = lpq_asprintf("%s/evaluation.json", dir);
    md->n++;
    if (!v->name || !v->path || !v->dir || !v->results) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "model folder: out of memory");
    v->rank = lpq_variant_rank(name);
    /* header-level check now, so an unreadable file is reported for its variant up front */
    struct lpq_err ge;
    struct lpq_gguf *g = NULL;
    struct stat st;
    lpq_err_clear(&ge);
    if (stat(path, &st) == 0) v->size = (uint64_t)st.st_size;
    if (lpq_gguf_open(path, NULL, &g, &ge) != LPQ_STATUS_OK) {
        v->error = lpq_strdup(ge.msg[0] ? ge.msg : "cannot read the GGUF file");
    }
    lpq_gguf_close(g);
    return LPQ_STATUS_OK;
}

static int cmp_variant(const void *a, const void *b) {
    const struct lpq_variant *x = a, *y = b;
    if (x->rank != y->rank) return x->rank - y->rank;
    return strcmp(x->name, y->name);
}

static enum lpq_status pick_baseline(struct lpq_modeldir *md, const char *baseline, struct lpq_err *err) {
    qsort(md->v, md->n, sizeof *md->v, cmp_variant);
    md->baseline = -1;
    if (baseline && *baseline) {
        for (size_t i = 0; i < md->n; i++)
            if (!strcasecmp(md->v[i].name, baseline)) md->baseline = (int)i;
        if (md->baseline < 0) {
            char names[400] = "";
            size_t o = 0;
            for (size_t i = 0; i < md->n && o < sizeof names - 40; i++)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? ", " : "", md->v[i].name);
            return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "--baseline %s: no such variant in %s (have: %s)", baseline,
                               md->root ? md->root : "the model", names);
        }
        return LPQ_STATUS_OK;
    }
    for (size_t i = 0; i < md->n; i++)
        if (!md->v[i].error && md->v[i].rank < 100) {
            md->baseline = (int)i;
            break;
        }
    return LPQ_STATUS_OK;
}

static bool has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcasecmp(s + a - b, suf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static enum lpq_status discover(struct lpq_modeldir *md, struct lpq_err *err) {
    char *gdir = lpq_asprintf("%s/gguf", md->root);
    enum lpq_status st = LPQ_STATUS_OK;
    DIR *d = gdir ? opendir(gdir) : NULL;
    char **names = NULL;
    size_t n = 0;
    if (!d) {
        st = lpq_err_set(err, LPQ_STATUS_NOT_FOUND,
                         "%s: no manifest.json and no gguf/ folder (expected gguf/<VARIANT>/<file>.gguf)", md->root);
        goto done;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char **nn = lpq_realloc(names, (n + 1) * sizeof *nn);
        if (!nn) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "out of memory"); goto done; }
        names = nn;
        if (!(names[n++] = lpq_strdup(e->d_name))) { st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "out of memory"); goto done; }
    }
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && st == LPQ_STATUS_OK; i++) {
        char *vdir = lpq_asprintf("%s/%s", gdir, names[i]);
        DIR *vd = vdir ? opendir(vdir) : NULL;
        char *file = NULL;
        int n_gguf = 0;
        struct dirent *f;
        while (vd && (f = readdir(vd))) {
            if (f->d_name[0] == '.' || !has_suffix(f->d_name, ".gguf")) continue;
            /* several files: take the first in name order, and say so */
            if (!file || strcmp(f->d_name, strrchr(file, '/') + 1) < 0) {
                lpq_free(file);
                file = lpq_asprintf("%s/%s", vdir, f->d_name);
            }
            n_gguf++;
        }
        if (vd) closedir(vd);
        if (file) {
            if (n_gguf > 1) lpq_log(LPQ_LOG_WARN, "%s holds %d .gguf files; using %s", vdir, n_gguf, file);
            st = add_variant(md, names[i], file, vdir, err);
        }
        lpq_free(file);
        lpq_free(vdir);
    }
done:
    if (d) closedir(d);
    for (size_t i = 0; i < n; i++) lpq_free(names[i]);
    lpq_free(names);
    lpq_free(gdir);
    return st;
}

static enum lpq_status read_manifest(struct lpq_modeldir *md, const char *mpath, const char **baseline,
                                     json_t **keep, struct lpq_err *err) {
    json_error_t je;
    json_t *m = json_load_file(mpath, 0, &je);
    if (!m) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: line %d: %s", mpath, je.line, je.text);
    *keep = m;
    json_t *vars = json_object_get(m, "variants");
    if (!json_is_array(vars))
        return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: no \"variants\" array", mpath);
    const char *nm = json_string_value(json_object_get(m, "name"));
    if (nm) {
        lpq_free(md->name);
        md->name = lpq_strdup(nm);
    }
    const char *b = json_string_value(json_object_get(m, "baseline"));
    if (b && !*baseline) *baseline = b;
    size_t i;
    json_t *v;
    json_array_foreach(vars, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *file = json_string_value(json_object_get(v, "file"));
        if (!name || !file)
            return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: variants[%zu] needs \"name\" and \"file\"", mpath, i);
        char *path = file[0] == '/' ? lpq_strdup(file) : lpq_asprintf("%s/%s", md->root, file);
        char *dir = path ? lpq_strdup(path) : NULL;
        if (dir) {
            char *s = strrchr(dir, '/');
            if (s) *s = 0;
        }
        enum lpq_status st = path && dir ? add_variant(md, name, path, dir, err)
                                         : lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "out of memory");
        lpq_free(path);
        lpq_free(dir);
        if (st) return st;
    }
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_modeldir_open(const char *dir, const char *baseline, struct lpq_modeldir **out,
                                  struct lpq_err *err) {
    struct stat sb;
    if (!dir || stat(dir, &sb) != 0)
        return lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "model folder %s: %s", dir ? dir : "(none)", strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "model folder %s: not a folder (use --model FILE for one file)", dir);
    enum lpq_status st;
    json_t *manifest = NULL;
    struct lpq_modeldir *md = lpq_calloc(1, sizeof *md);
    if (!md) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "out of memory");
    md->root = lpq_strdup(dir);
    size_t l = strlen(dir);
    while (l > 1 && dir[l - 1] == '/') l--;
    const char *s = dir + l;
    while (s > dir && s[-1] != '/') s--;
    md->name = lpq_strndup(s, (size_t)(dir + l - s));
    char *mpath = lpq_asprintf("%s/manifest.json", dir);
    if (!md->root || !md->name || !mpath) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "out of memory");
        goto done;
    }
    if (stat(mpath, &sb) == 0) st = read_manifest(md, mpath, &baseline, &manifest, err);
    else st = discover(md, err);
    if (st) goto done;
    if (md->n == 0) {
        st = lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "model folder %s holds no variants (expected gguf/<VARIANT>/<file>.gguf or manifest.json)", dir);
        goto done;
    }
    st = pick_baseline(md, baseline, err);
done:
    json_decref(manifest);   /* after pick_baseline: `baseline` may point into it */
    lpq_free(mpath);
    if (st) lpq_modeldir_free(md);
    else *out = md;
    return st;
}

enum lpq_status lpq_modeldir_single(const char *file, struct lpq_modeldir **out, struct lpq_err *err) {
    struct stat sb;
    if (!file || stat(file, &sb) != 0)
        return lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "model %s: %s", file ? file : "(none)", strerror(errno));
    struct lpq_modeldir *md = lpq_calloc(1, sizeof *md);
    if (!md) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "out of memory");
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char *dir = base == file ? lpq_strdup(".") : lpq_strndup(file, (size_t)(base - file - 1));
    char *name = lpq_strdup(base);
    if (name && has_suffix(name, ".gguf")) name[strlen(name) - 5] = 0;
    md->name = lpq_strdup(name ? name : "model");
    enum lpq_status st = dir && name && md->name ? add_variant(md, name, file, dir, err)
                                                 : lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "out of memory");
    lpq_free(dir);
    lpq_free(name);
    if (st == LPQ_STATUS_OK) {
        struct lpq_variant *v = &md->v[0];
        lpq_free(v->results);
        size_t fl = strlen(file);
        v->results = has_suffix(file, ".gguf") ? lpq_asprintf("%.*s.evaluation.json", (int)(fl - 5), file)
                                               : lpq_asprintf("%s.evaluation.json", file);
        if (!v->results) st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "out of memory");
    }
    if (st == LPQ_STATUS_OK) {
        md->baseline = -1;   /* a single file has nothing to compare against */
        *out = md;
    } else {
        lpq_modeldir_free(md);
    }
    return st;
}
