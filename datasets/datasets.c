/*
 * datasets.c — the dataset registry and file lookup (datasets.h). Files are never bundled: the
 * table says what each file is, its checksum and where it comes from; users put it in the data
 * folder. The checksum guards against comparing numbers measured on different texts.
 */
#include "datasets/datasets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "quant/quantize.h"

/* Which WikiText-2 file is "wikitext2-test": llama.cpp's convention is wiki.test.raw from the
 * wikitext-2-raw-v1 zip (4,358 LF lines, blank lines kept as " \n"). Neither copy we know of is
 * byte-identical; the nonblank CRLF copy holds exactly the original's 2,891 text lines in order and
 * differs only in whitespace (CRLF, no blank lines), so its token count is the closest. The
 * HF-rows copy is registered too, under its own name. */
static const struct lpq_dataset_info table[] = {
    { "wikitext2-test", "wikitext2_test.nonblank_crlf.raw",
      "4f3e427e4aff23acff917a8a51aeae21bf12832256e26914c8fc250dcef4103c", LPQ_DATASET_TEXT, 1290547,
      "WikiText-2 raw test split (wiki.test.raw) with blank lines removed and CRLF line ends",
      "Tylogi/TyloQuant on GitHub, data/wikitext-2-raw/wiki.test.raw (CC BY-SA 3.0)" },
    { "wikitext2-test-hf", "wikitext2_test.hf_rows_joined.txt",
      "71fa921e51ba607b4364d8787d05f4513b41b33732dd3504ff1af8952c6e7e77", LPQ_DATASET_TEXT, 1307975,
      "WikiText-2 raw test split as Hugging Face rows joined by newlines (CRLF)",
      "Deathnetworks/rotorquant on GitHub (CC BY-SA 3.0)" },
    { "tinystories-valid-30k", "tinystories_valid_sample_30KB.txt",
      "3ccdd4ecfe9b52fed5931479dc95ca56ce9fe44e3347cdf0daf401b3729d761c", LPQ_DATASET_TEXT, 30346,
      "30 KB of TinyStories validation text (in-domain for stories260K)",
      "Ahmedessaa/My-AI_Tasks on GitHub (CDLA-Sharing-1.0)" },
    { "calibration", "imatrix_groups_merged.txt",
      "55e9a15c5f33566725577a55f6782843b0126c0807a61ff26c6d0768894cc2b7", LPQ_DATASET_TEXT, 419189,
      "mixed calibration text commonly used for importance matrices (groups_merged)",
      "som1tokmynam/FusionQuant on GitHub" },
    { "wikitext2-train-5k", "wikitext2_train_first5k_lines.txt",
      "ed14f9ef053842b47270b885f9d4120f4bf6a5b9a00d19e786eb39144ec10cd3", LPQ_DATASET_TEXT, 2887164,
      "first 5,000 lines of the WikiText-2 train split",
      "NagusameCS/HyperTensor on GitHub (CC BY-SA 3.0)" },
    { NULL, NULL, NULL, LPQ_DATASET_TEXT, 0, NULL, NULL },
};

const struct lpq_dataset_info *lpq_dataset_list(void) { return table; }

const struct lpq_dataset_info *lpq_dataset_find(const char *name) {
    if (!name) return NULL;
    for (const struct lpq_dataset_info *d = table; d->name; d++)
        if (!strcmp(d->name, name)) return d;
    return NULL;
}

const char *lpq_dataset_default_text(void) { return "wikitext2-test"; }

const char *lpq_dataset_dir(const char *data_dir) {
    if (data_dir && *data_dir) return data_dir;
    const char *env = getenv("LPQ_DATA_DIR");
    if (env && *env) return env;
    return "data";
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

enum lpq_status lpq_dataset_resolve(const char *name, const char *data_dir, char **path,
                                    char sha256_out[65], struct lpq_err *err) {
    char hex[65];
    enum lpq_status st;
    if (!name || !*name) return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "dataset: no name given");
    const struct lpq_dataset_info *d = lpq_dataset_find(name);
    if (!d) {
        /* A file of the user's own: used as is, its digest recorded but not checked. */
        if (strchr(name, '/') || is_file(name)) {
            if (!is_file(name))
                return lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "dataset file %s: %s", name,
                                   errno ? strerror(errno) : "not a regular file");
            st = lpq_sha256_file(name, hex, err);
            if (st) return st;
            char *p = lpq_strdup(name);
            if (!p) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "dataset: out of memory");
            if (sha256_out) memcpy(sha256_out, hex, 65);
            *path = p;
            return LPQ_STATUS_OK;
        }
        char names[512] = "";
        size_t o = 0;
        for (const struct lpq_dataset_info *e = table; e->name && o < sizeof names - 64; e++)
            o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", o ? ", " : "", e->name);
        return lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "unknown dataset '%s' (known: %s; or give a file path)",
                           name, names);
    }
    const char *dir = lpq_dataset_dir(data_dir);
    char *p = lpq_asprintf("%s/%s", dir, d->file);
    if (!p) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "dataset: out of memory");
    if (!is_file(p)) {
        lpq_err_set(err, LPQ_STATUS_NOT_FOUND,
                    "dataset '%s': file %s not found: put %s (%llu bytes, sha256 %.12s…; %s) in %s, "
                    "or point --data-dir / LPQ_DATA_DIR at the folder holding it",
                    d->name, p, d->file, (unsigned long long)d->size, d->sha256, d->source, dir);
        lpq_free(p);
        return LPQ_STATUS_NOT_FOUND;
    }
    st = lpq_sha256_file(p, hex, err);
    if (st) {
        lpq_free(p);
        return st;
    }
    if (strcmp(hex, d->sha256)) {
        lpq_err_set(err, LPQ_STATUS_BAD_FILE,
                    "dataset '%s': %s has sha256 %s, expected %s (a different or modified copy; "
                    "figures would not be comparable)", d->name, p, hex, d->sha256);
        lpq_free(p);
        return LPQ_STATUS_BAD_FILE;
    }
    if (sha256_out) memcpy(sha256_out, hex, 65);
    *path = p;
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_dataset_load_text(const char *name, const char *data_dir, char **text, size_t *len,
                                      char sha256_out[65], struct lpq_err *err) {
    char *path = NULL, *buf = NULL;
    FILE *f = NULL;
    enum lpq_status st = lpq_dataset_resolve(name, data_dir, &path, sha256_out, err);
    if (st) return st;
    f = fopen(path, "rb");
    if (!f) {
        st = lpq_err_set(err, LPQ_STATUS_IO, "dataset %s: %s", path, strerror(errno));
        goto done;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        st = lpq_err_set(err, LPQ_STATUS_IO, "dataset %s: cannot seek", path);
        goto done;
    }
    long n = ftell(f);
    rewind(f);
    if (n < 0) {
        st = lpq_err_set(err, LPQ_STATUS_IO, "dataset %s: cannot tell size", path);
        goto done;
    }
    buf = lpq_malloc((size_t)n + 1);
    if (!buf) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "dataset %s: out of memory", path);
        goto done;
    }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        st = lpq_err_set(err, LPQ_STATUS_IO, "dataset %s: short read", path);
        goto done;
    }
    buf[n] = 0;
    *text = buf;
    *len = (size_t)n;
    buf = NULL;
done:
    if (f) fclose(f);
    lpq_free(buf);
    lpq_free(path);
    return st;
}
