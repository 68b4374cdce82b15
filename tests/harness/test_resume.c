/*
 * test_resume.c — never lose a result. A child process runs the ppl and kld suites over a
 * mock model folder (slowed down per eval call) and is killed with SIGKILL mid-suite; the same
 * job rerun in this process finishes with figures identical to an uninterrupted run, exactly
 * the missing items recomputed (none lost, none duplicated). A truncated evaluation.json is
 * reported, kept aside and rebuilt by the next run.
 */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/run.h"
#include "mock-rt.h"

static char g_text[1024];

static void make_folder(const char *root, uint32_t delay_ms) {
    char p[2048];
    mkdir(root, 0755);
    snprintf(p, sizeof p, "%s/gguf", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/gguf/F32", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/gguf/F32/m.gguf", root);
    assert_int_equal(mock_write_model(p, LPQ_TYPE_F32, 0, -1, delay_ms), 0);
    snprintf(p, sizeof p, "%s/gguf/Q8_0", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/gguf/Q8_0/m.gguf", root);
    assert_int_equal(mock_write_model(p, LPQ_TYPE_Q8_0, 0.7f, -1, delay_ms), 0);
}

static struct lpq_run_params params(const char *dir, FILE *out) {
    struct lpq_run_params p = lpq_run_params_default();
    p.model_dir = dir;
    p.suites = "ppl,kld";
    p.runtimes = "mock";
    p.extra_runtimes = mock_regs;
    p.opts.dataset = g_text;
    p.opts.n_ctx = 32;
    p.opts.n_chunks = 12;
    p.rt.n_ctx = 64;
    p.out = out;
    return p;
}

/* The suite objects of every variant, keyed "<variant>/<suite>" (summaries and items). */
static json_t *load_suites(const char *dir) {
    json_t *all = json_object();
    const char *vars[2] = { "F32", "Q8_0" };
    for (int v = 0; v < 2; v++) {
        char p[2048];
        snprintf(p, sizeof p, "%s/gguf/%s/evaluation.json", dir, vars[v]);
        json_error_t je;
        json_t *root = json_load_file(p, 0, &je);
        if (!root) continue;
        const char *k, *sk;
        json_t *run, *s;
        json_object_foreach(json_object_get(root, "runs"), k, run) {
            json_object_foreach(json_object_get(run, "suites"), sk, s) {
                char key[64];
                snprintf(key, sizeof key, "%s/%s", vars[v], sk);
                json_object_set(all, key, s);
            }
        }
        json_decref(root);
    }
    return all;
}

static size_t n_items(json_t *all) {
    size_t n = 0;
    const char *k;
    json_t *s;
    json_object_foreach(all, k, s) n += json_object_size(json_object_get(s, "items"));
    return n;
}

/* Items' timings differ between runs, and the two folders have different paths; everything
 * else must be identical. */
static void strip_timing(json_t *all) {
    const char *k, *ik;
    json_t *s, *it;
    json_object_foreach(all, k, s) {
        json_object_foreach(json_object_get(s, "items"), ik, it) json_object_del(it, "t_s");
        json_t *sum = json_object_get(s, "summary");
        json_object_del(sum, "eval_seconds");
        json_object_del(sum, "eval_tokens_per_second");
        json_object_del(sum, "baseline");
        json_object_del(json_object_get(s, "params"), "baseline");
    }
}

static void test_kill_and_resume(void **state) {
    (void)state;
    char text[3000];
    for (size_t i = 0; i < sizeof text; i++) text[i] = (char)('a' + (i * 5 + i / 11) % 26);
    snprintf(g_text, sizeof g_text, "%s", tu_tmp("text.txt"));
    tu_write_file(g_text, text, sizeof text);
    struct lpq_err e;
    FILE *devnull = fopen("/dev/null", "w");

    /* reference: one uninterrupted run */
    char ref_dir[1024], dir[1024];
    snprintf(ref_dir, sizeof ref_dir, "%s", tu_tmp("ref"));
    snprintf(dir, sizeof dir, "%s", tu_tmp("killed"));
    make_folder(ref_dir, 0);
    struct lpq_run_params p = params(ref_dir, devnull);
    int64_t ev0 = mock_n_evals;
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_OK);
    int64_t evals_full = mock_n_evals - ev0;
    json_t *ref = load_suites(ref_dir);
    size_t items_full = n_items(ref);
    /* ppl: 12 chunks + 12 rolling windows per variant; kld: 12 chunks for Q8_0 (baseline skips);
     * side-by-side kld costs two evals per chunk */
    assert_int_equal(items_full, 2 * 24 + 12);
    assert_int_equal(evals_full, 2 * 24 + 2 * 12);

    /* the same job in a child, 15 ms per eval call, killed once some items are on disk */
    make_folder(dir, 15);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct lpq_run_params cp = params(dir, devnull);
        lpq_run(&cp, &e);
        _exit(0);   /* not reached in time: the parent kills first */
    }
    size_t seen = 0;
    for (int i = 0; i < 400 && seen < 30; i++) {   /* wait for Q8_0's ppl to be under way */
        usleep(10000);
        json_t *a = load_suites(dir);
        seen = n_items(a);
        json_decref(a);
    }
    kill(pid, SIGKILL);
    int wst;
    waitpid(pid, &wst, 0);
    assert_true(WIFSIGNALED(wst));
    json_t *part = load_suites(dir);
    size_t items_before = n_items(part);
    json_decref(part);
    print_message("killed the child after %zu of %zu items\n", items_before, items_full);
    assert_true(items_before > 0 && items_before < items_full);

    /* rerun the same command here: only the missing items are computed */
    p = params(dir, devnull);
    ev0 = mock_n_evals;
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_OK);
    int64_t evals_rerun = mock_n_evals - ev0;
    json_t *got = load_suites(dir);
    print_message("rerun: %lld eval calls (full run: %lld), %zu items\n", (long long)evals_rerun,
                  (long long)evals_full, n_items(got));
    assert_int_equal(n_items(got), items_full);                       /* nothing lost or duplicated */
    /* each missing ppl item is one eval, each missing kld item two */
    size_t missing = items_full - items_before;
    assert_true(evals_rerun >= (int64_t)missing && evals_rerun <= 2 * (int64_t)missing);
    strip_timing(ref);
    strip_timing(got);
    /* identical items and summaries (item ids, sums, per-token arrays, every statistic) */
    const char *k;
    json_t *s;
    json_object_foreach(ref, k, s) {
        json_t *g = json_object_get(got, k);
        assert_non_null(g);
        if (!json_equal(s, g)) {
            char *a = json_dumps(json_object_get(s, "summary"), JSON_COMPACT), *b = json_dumps(json_object_get(g, "summary"), JSON_COMPACT);
            print_message("%s differs:\n%s\n%s\n", k, a, b);
            free(a);
            free(b);
        }
        assert_true(json_equal(s, g));
    }
    json_decref(ref);
    json_decref(got);

    /* --fresh recomputes everything */
    p.fresh = true;
    ev0 = mock_n_evals;
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_OK);
    assert_int_equal(mock_n_evals - ev0, evals_full);

    /* --fresh on one suite recomputes that suite only and keeps the other's results */
    json_t *both = load_suites(dir);
    size_t kld_items = 0, ppl_items = 0;
    json_object_foreach(both, k, s) {
        size_t n = json_object_size(json_object_get(s, "items"));
        if (strstr(k, "/kld")) kld_items += n;
        if (strstr(k, "/ppl")) ppl_items += n;
    }
    assert_true(kld_items > 0 && ppl_items > 0);
    p.suites = "ppl";
    ev0 = mock_n_evals;
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_OK);
    assert_int_equal(mock_n_evals - ev0, (int64_t)ppl_items);          /* one eval per ppl item */
    json_t *after = load_suites(dir);
    assert_int_equal(n_items(after), n_items(both));
    json_object_foreach(both, k, s)
        if (strstr(k, "/kld")) assert_true(json_equal(s, json_object_get(after, k)));   /* kld untouched */
    json_decref(both);
    json_decref(after);
    fclose(devnull);
}

static void test_corrupt_rebuilt(void **state) {
    (void)state;
    char dir[1024], p8[2048];
    snprintf(dir, sizeof dir, "%s", tu_tmp("corrupt"));
    make_folder(dir, 0);
    FILE *out = fopen(tu_tmp("corrupt-out.txt"), "w+");
    struct lpq_run_params p = params(dir, out);
    p.suites = "ppl";
    struct lpq_err e;
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_OK);
    json_t *before = load_suites(dir);
    snprintf(p8, sizeof p8, "%s/gguf/Q8_0/evaluation.json", dir);
    size_t n;
    char *buf = tu_read_file(p8, &n);
    tu_write_file(p8, buf, n * 2 / 3);   /* truncated, as a full disk or a crash could leave it */
    free(buf);
    int64_t ev0 = mock_n_evals;
    assert_int_equal(lpq_run(&p, &e), LPQ_STATUS_OK);
    assert_int_equal(mock_n_evals - ev0, 24);   /* Q8_0's 24 items recomputed, F32's reused */
    rewind(out);
    char line[2048];
    bool reported = false;
    while (fgets(line, sizeof line, out))
        if (strstr(line, "was corrupt")) {
            print_message("%s", line);
            reported = true;
        }
    assert_true(reported);
    json_t *after = load_suites(dir);
    strip_timing(before);
    strip_timing(after);
    assert_true(json_equal(json_object_get(before, "Q8_0/ppl"), json_object_get(after, "Q8_0/ppl")));
    json_decref(before);
    json_decref(after);
    fclose(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_and_resume),
        cmocka_unit_test(test_corrupt_rebuilt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
