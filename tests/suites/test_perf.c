/*
 * test_perf.c — perf counters: software counters count real work, unsupported hardware
 * counters are reported as such (never an error), and worker threads are included.
 */
#include "testutil.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "suites/perf.h"

static volatile double g_sink;

static void burn(int n) {
    double x = 0;
    for (int i = 0; i < n; i++) x += (double)i * 1e-9;
    g_sink = x;
}

struct worker_arg {
    pthread_barrier_t *go;
    int n;
    double cpu_ns;   /* the worker's own CPU time for its burn */
};

static double thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *worker(void *arg) {
    struct worker_arg *w = arg;
    pthread_barrier_wait(w->go);
    double t0 = thread_cpu_ns();
    burn(w->n);
    w->cpu_ns = thread_cpu_ns() - t0;
    return NULL;
}

static void test_task_clock_counts_work(void **state) {
    (void)state;
    struct lpq_perf *p = NULL;
    assert_int_equal(lpq_perf_create(&p, NULL), LPQ_STATUS_OK);
    struct lpq_perf_sample a, b;
    lpq_perf_start(p);
    burn(1000);
    lpq_perf_stop(p, &a);
    lpq_perf_start(p);
    burn(50 * 1000 * 1000);
    lpq_perf_stop(p, &b);
    assert_true(b.wall_ns > a.wall_ns);
    if (!b.ev[LPQ_PERF_TASK_CLOCK].supported) {
        lpq_perf_free(p);
        skip();  /* perf_event_open refused even software events (paranoid >= 3) */
    }
    /* 50M iterations take milliseconds; 1000 take microseconds. */
    assert_true(b.ev[LPQ_PERF_TASK_CLOCK].value > 10.0 * a.ev[LPQ_PERF_TASK_CLOCK].value);
    assert_true(b.ev[LPQ_PERF_TASK_CLOCK].value > 1e6);
    /* Task clock cannot exceed wall time by much on one thread. */
    assert_true(b.ev[LPQ_PERF_TASK_CLOCK].value < 1.5 * b.wall_ns);
    lpq_perf_free(p);
}

/* Threads that already exist when counting starts (like a runtime's pool) must be counted:
 * the workers are created first, then counting starts, then they burn. Compared with the
 * workers' own CPU clocks, so a loaded machine cannot make it flaky. */
static void test_threads_are_counted(void **state) {
    (void)state;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 3);
    struct worker_arg wa[2] = { { &go, 30 * 1000 * 1000, 0 }, { &go, 30 * 1000 * 1000, 0 } };
    pthread_t th[2];
    struct lpq_perf *p = NULL;
    assert_int_equal(lpq_perf_create(&p, NULL), LPQ_STATUS_OK);
    struct lpq_perf_sample s;
    pthread_create(&th[0], NULL, worker, &wa[0]);
    pthread_create(&th[1], NULL, worker, &wa[1]);
    lpq_perf_start(p);
    pthread_barrier_wait(&go);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    lpq_perf_stop(p, &s);
    pthread_barrier_destroy(&go);
    if (!s.ev[LPQ_PERF_TASK_CLOCK].supported) {
        lpq_perf_free(p);
        skip();
    }
    /* The main thread only waits; the count must include both workers' CPU time. */
    double workers = wa[0].cpu_ns + wa[1].cpu_ns;
    assert_true(workers > 1e6);
    assert_true(s.ev[LPQ_PERF_TASK_CLOCK].value >= 0.9 * workers);
    lpq_perf_free(p);
}

static void test_json_marks_unsupported(void **state) {
    (void)state;
    struct lpq_perf_sample s;
    memset(&s, 0, sizeof(s));
    s.ev[LPQ_PERF_TASK_CLOCK].supported = true;
    s.ev[LPQ_PERF_TASK_CLOCK].value = 5e6;
    s.ev[LPQ_PERF_TASK_CLOCK].running_frac = 1.0;
    json_t *j = lpq_perf_sample_json(&s);
    assert_string_equal(json_string_value(json_object_get(j, "cycles")), "unsupported");
    assert_string_equal(json_string_value(json_object_get(j, "ipc")), "unsupported");
    assert_true(json_real_value(json_object_get(j, "task_clock_ns")) == 5e6);
    json_decref(j);
    s.ev[LPQ_PERF_CYCLES] = (struct lpq_perf_value){ true, 200, 0.5 };
    s.ev[LPQ_PERF_INSTRUCTIONS] = (struct lpq_perf_value){ true, 300, 0.5 };
    j = lpq_perf_sample_json(&s);
    assert_true(json_real_value(json_object_get(j, "ipc")) == 1.5);
    assert_non_null(json_object_get(j, "cycles_running_frac"));
    json_decref(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_clock_counts_work),
        cmocka_unit_test(test_threads_are_counted),
        cmocka_unit_test(test_json_marks_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
