/*
 * results.c — the evaluation.json store (results.h): load with validation, item-level
 * updates, and atomic persistence after every change (temp file + rename; fsync of the file
 * and its folder at most every 2 s for items, always for summaries and statuses), so a kill -9
 * leaves either the previous or the new complete file on disk.
 *
 * File integrity: "integrity" holds "sha256:<hex>" of the compact, key-sorted dump of the root
 * without that field (reals at 17 digits, so parse → dump reproduces it exactly). A file that
 * does not parse, lacks the fields, or whose digest does not match is reported, renamed aside
 * (evaluation.json.corrupt-<UTC time>) and rebuilt, never trusted.
 */
#include "suites/results.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "quant/json-digest.h"

#define DUMP_FLAGS_FILE (JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17))

struct lpq_results {
    char *path;
    char *run_key;
    json_t *root;               /* whole file */
    json_t *run;                /* borrowed: root.runs[run_key] */
    char *recovered;            /* where a corrupt file was moved, or NULL */
    struct timespec t_sync;     /* last fsync (CLOCK_MONOTONIC) */
    char errmsg[LPQ_ERR_MSG_MAX];
};

static void utc_now(char *buf, size_t cap, bool compact) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *new_root(void) {
    json_t *root = json_object();
    json_object_set_new(root, "schema_version", json_integer(LPQ_RESULTS_SCHEMA_VERSION));
    json_object_set_new(root, "kind", json_string("lpq-evaluation"));
    json_object_set_new(root, "runs", json_object());
    return root;
}

/* Why `root` cannot be trusted, or NULL when it can. */
static const char *validate(json_t *root, char *why, size_t cap) {
    if (!json_is_object(root)) return "not a JSON object";
    json_t *v = json_object_get(root, "schema_version");
    if (!json_is_integer(v)) return "no schema_version";
    if (json_integer_value(v) != LPQ_RESULTS_SCHEMA_VERSION) {
        snprintf(why, cap, "schema_version %lld, this lpq reads %d", (long long)json_integer_value(v),
                 LPQ_RESULTS_SCHEMA_VERSION);
        return why;
    }
    if (!json_is_object(json_object_get(root, "runs"))) return "no \"runs\" object";
    json_t *integ = json_object_get(root, "integrity");
    const char *s = json_string_value(integ);
    if (!s || strncmp(s, "sha256:", 7)) return "no integrity digest";
    char hex[65];
    if (!lpq_json_digest(root, hex)) return "out of memory checking the digest";
    if (strcmp(hex, s + 7)) return "integrity digest does not match the content (edited or damaged)";
    /* every run → suites → {items: object} */
    const char *k;
    json_t *run;
    json_object_foreach(json_object_get(root, "runs"), k, run) {
        json_t *suites = json_object_get(run, "suites");
        if (!json_is_object(run) || !json_is_object(suites)) return "a run without a \"suites\" object";
    }
    return NULL;
}

static int fsync_dir_of(const char *path) {
    char *dup = lpq_strdup(path);
    if (!dup) return -1;
    int fd = open(dirname(dup), O_RDONLY | O_DIRECTORY);
    lpq_free(dup);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* fsync costs milliseconds on real disks and items can finish many times a second. kill -9
 * never loses a renamed file (the data is in the page cache), so every write is renamed into
 * place at once, but fsync (which only matters for an OS crash or power loss) runs when forced
 * (summaries, statuses) or when the last one is older than SYNC_INTERVAL_S. */
#define SYNC_INTERVAL_S 2.0

static bool sync_due(struct lpq_results *r, bool force) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dt = (double)(now.tv_sec - r->t_sync.tv_sec) + (double)(now.tv_nsec - r->t_sync.tv_nsec) * 1e-9;
    if (!force && r->t_sync.tv_sec && dt < SYNC_INTERVAL_S) return false;
    r->t_sync = now;
    return true;
}

static enum lpq_status persist_ex(struct lpq_results *r, bool force) {
    char hex[65], ts[32];
    utc_now(ts, sizeof ts, false);
    json_object_set_new(r->root, "updated", json_string(ts));
    json_object_set_new(r->root, "generator", json_sprintf("lpq %s (%s)", lpq_version(), lpq_commit()));
    if (!lpq_json_digest(r->root, hex)) {
        snprintf(r->errmsg, sizeof r->errmsg, "%s: out of memory", r->path);
        return LPQ_STATUS_NO_MEMORY;
    }
    json_object_set_new(r->root, "integrity", json_sprintf("sha256:%s", hex));
    char *s = json_dumps(r->root, DUMP_FLAGS_FILE);
    char *tmp = lpq_asprintf("%s.tmp-%ld", r->path, (long)getpid());
    enum lpq_status st = LPQ_STATUS_OK;
    int fd = -1;
    if (!s || !tmp) {
        snprintf(r->errmsg, sizeof r->errmsg, "%s: out of memory", r->path);
        st = LPQ_STATUS_NO_MEMORY;
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(r->errmsg, sizeof r->errmsg, "cannot write %s: %s", tmp, strerror(errno));
        st = LPQ_STATUS_IO;
        goto done;
    }
    size_t len = strlen(s), off = 0;
    while (off < len) {
        ssize_t w = write(fd, s + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(r->errmsg, sizeof r->errmsg, "cannot write %s: %s", tmp, strerror(errno));
            st = LPQ_STATUS_IO;
            goto done;
        }
        off += (size_t)w;
    }
    bool do_sync = sync_due(r, force);
    if (write(fd, "\n", 1) != 1 || (do_sync && fsync(fd) != 0)) {
        snprintf(r->errmsg, sizeof r->errmsg, "cannot write %s: %s", tmp, strerror(errno));
        st = LPQ_STATUS_IO;
        goto done;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, r->path) != 0) {
        snprintf(r->errmsg, sizeof r->errmsg, "cannot rename %s to %s: %s", tmp, r->path, strerror(errno));
        st = LPQ_STATUS_IO;
        goto done;
    }
    if (do_sync) fsync_dir_of(r->path);   /* best effort: the rename is durable once the folder is synced */
done:
    if (fd >= 0) close(fd);
    if (st && tmp) unlink(tmp);
    free(s);
    lpq_free(tmp);
    return st;
}

static enum lpq_status persist(struct lpq_results *r) { return persist_ex(r, true); }

/* The run object for run_key, created on demand. */
static json_t *run_obj(json_t *root, const char *run_key) {
    json_t *runs = json_object_get(root, "runs");
    json_t *run = json_object_get(runs, run_key);
    if (!run) {
        run = json_object();
        json_object_set_new(run, "suites", json_object());
        json_object_set_new(runs, run_key, run);
    }
    return run;
}

enum lpq_status lpq_results_open(const char *path, const char *run_key, bool fresh,
                                 struct lpq_results **out, struct lpq_err *err) {
    enum lpq_status st = LPQ_STATUS_OK;
    struct lpq_results *r = lpq_calloc(1, sizeof *r);
    json_t *root = NULL;
    if (!r) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "results: out of memory");
    r->path = lpq_strdup(path);
    r->run_key = lpq_strdup(run_key ? run_key : "default");
    if (!r->path || !r->run_key) {
        st = lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "results: out of memory");
        goto done;
    }
    if (access(path, F_OK) == 0) {
        json_error_t je;
        char why[160];
        const char *bad = NULL;
        root = json_load_file(path, 0, &je);
        if (!root) {
            snprintf(why, sizeof why, "does not parse (line %d: %.100s)", je.line, je.text);
            bad = why;
        } else {
            json_t *v = json_object_get(root, "schema_version");
            if (json_is_integer(v) && json_integer_value(v) > LPQ_RESULTS_SCHEMA_VERSION) {
                st = lpq_err_set(err, LPQ_STATUS_UNSUPPORTED,
                                 "%s: schema_version %lld is newer than this lpq reads (%d); not touching it",
                                 path, (long long)json_integer_value(v), LPQ_RESULTS_SCHEMA_VERSION);
                goto done;
            }
            bad = validate(root, why, sizeof why);
        }
        if (bad) {
            char ts[32];
            utc_now(ts, sizeof ts, true);
            r->recovered = lpq_asprintf("%s.corrupt-%s", path, ts);
            /* never overwrite an earlier corrupt copy (two recoveries within one second) */
            for (int k = 1; r->recovered && access(r->recovered, F_OK) == 0 && k < 1000; k++) {
                lpq_free(r->recovered);
                r->recovered = lpq_asprintf("%s.corrupt-%s-%d", path, ts, k);
            }
            if (!r->recovered || rename(path, r->recovered) != 0) {
                st = lpq_err_set(err, LPQ_STATUS_IO, "%s is corrupt (%s) and cannot be moved aside: %s",
                                 path, bad, strerror(errno));
                goto done;
            }
            lpq_log(LPQ_LOG_WARN, "%s is corrupt (%s): moved to %s, starting afresh", path, bad, r->recovered);
            json_decref(root);
            root = NULL;
        }
    }
    if (!root) root = new_root();
    r->root = root;
    root = NULL;
    r->run = run_obj(r->root, r->run_key);
    if (fresh) json_object_set_new(r->run, "suites", json_object());
    *out = r;
    r = NULL;
done:
    json_decref(root);
    lpq_results_free(r);
    return st;
}

void lpq_results_free(struct lpq_results *r) {
    if (!r) return;
    json_decref(r->root);
    lpq_free(r->path);
    lpq_free(r->run_key);
    lpq_free(r->recovered);
    lpq_free(r);
}

const char *lpq_results_errmsg(const struct lpq_results *r) { return r ? r->errmsg : ""; }
const char *lpq_results_recovered(const struct lpq_results *r) { return r ? r->recovered : NULL; }
const char *lpq_results_path(const struct lpq_results *r) { return r ? r->path : NULL; }
json_t *lpq_results_root(struct lpq_results *r) { return r ? r->root : NULL; }

enum lpq_status lpq_results_set_env(struct lpq_results *r, json_t *env) {
    json_object_set(r->run, "env", env);
    return persist(r);
}

enum lpq_status lpq_results_set_model(struct lpq_results *r, json_t *model) {
    json_object_set(r->root, "model", model);
    return persist(r);
}

static json_t *suite_obj(struct lpq_results *r, const char *suite, bool create) {
    json_t *suites = json_object_get(r->run, "suites");
    json_t *s = json_object_get(suites, suite);
    if (!s && create) {
        s = json_object();
        json_object_set_new(s, "status", json_string("partial"));
        json_object_set_new(s, "items", json_object());
        json_object_set_new(suites, suite, s);
    }
    if (s && create && !json_is_object(json_object_get(s, "items"))) json_object_set_new(s, "items", json_object());
    return s;
}

json_t *lpq_results_suite(struct lpq_results *r, const char *suite) { return suite_obj(r, suite, false); }

void lpq_results_drop_suite(struct lpq_results *r, const char *suite) {
    if (r && suite) json_object_del(json_object_get(r->run, "suites"), suite);
}

json_t *lpq_results_item(struct lpq_results *r, const char *suite, const char *id) {
    json_t *s = suite_obj(r, suite, false);
    return s ? json_object_get(json_object_get(s, "items"), id) : NULL;
}

size_t lpq_results_n_items(struct lpq_results *r, const char *suite) {
    json_t *s = suite_obj(r, suite, false);
    return s ? json_object_size(json_object_get(s, "items")) : 0;
}

json_t *lpq_results_summary(struct lpq_results *r, const char *suite) {
    json_t *s = suite_obj(r, suite, false);
    return s ? json_object_get(s, "summary") : NULL;
}

enum lpq_status lpq_results_put_item(struct lpq_results *r, const char *suite, const char *id, json_t *item) {
    json_t *s = suite_obj(r, suite, true);
    json_object_set_new(json_object_get(s, "items"), id, item);
    return persist_ex(r, false);
}

enum lpq_status lpq_results_put_summary(struct lpq_results *r, const char *suite, json_t *summary) {
    json_t *s = suite_obj(r, suite, true);
    json_object_set_new(s, "summary", summary);
    json_object_set_new(s, "status", json_string("done"));
    json_object_del(s, "reason");
    return persist(r);
}

enum lpq_status lpq_results_put_status(struct lpq_results *r, const char *suite, const char *status,
                                       const char *reason) {
    json_t *s = suite_obj(r, suite, true);
    json_object_set_new(s, "status", json_string(status));
    if (reason) json_object_set_new(s, "reason", json_string(reason));
    else json_object_del(s, "reason");
    return persist(r);
}

enum lpq_status lpq_results_put_params(struct lpq_results *r, const char *suite, json_t *params) {
    json_t *s = suite_obj(r, suite, true);
    json_object_set_new(s, "params", params);
    return persist(r);
}
