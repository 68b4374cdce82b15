/*
 * threadpool.c — the CPU engine's persistent thread pool: workers are created once at load and
 * run every forward pass; stages inside a pass are separated by a barrier. Waiting spins for a
 * few microseconds (a stage is often shorter than a wake-up) and then sleeps on a futex, so
 * the pool never creates threads per token and an idle pool burns no CPU.
 */
#include "runtimes/cpu/cpu-impl.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef SYS_futex
#include <linux/futex.h>
#endif

/* Waiting spins in rounds of plain loads with a sched_yield between rounds, then sleeps.
 * Why no PAUSE: in a VM, pause loops trigger pause-loop exits that deschedule the vCPU (we
 * measured 30x slower decode on a 2-vCPU guest). Why the yield: when threads outnumber free
 * cores, the thread we wait for may need our core. */
#ifndef LPQ__SPIN_ROUNDS
#define LPQ__SPIN_ROUNDS 64        /* yields before sleeping (~50-100 µs of spinning) */
#endif
#define LPQ__SPIN_LOADS 256        /* loads per round */

struct lpq__worker_arg {
    struct lpq__cpu_pool *p;
    int ith;
};

struct lpq__cpu_pool {
    int n_threads;
    pthread_t *threads;            /* n_threads - 1 workers */
    struct lpq__worker_arg *args;  /* one per worker (allocated here: workers never allocate) */
    int n_started;

    lpq__cpu_job_fn fn;            /* current job (written before job_gen is bumped) */
    void *arg;
    atomic_uint job_gen;           /* bumped once per job; workers wait for a change */
    atomic_bool stop;

    atomic_uint bar_count;         /* threads arrived at the current barrier */
    atomic_uint bar_gen;           /* bumped when the last one arrives */
    atomic_int n_sleeping;         /* threads asleep on job_gen or bar_gen */
};

static void futex_wait(atomic_uint *addr, unsigned val) {
#ifdef SYS_futex
    syscall(SYS_futex, (unsigned *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
#else
    (void)addr;
    (void)val;
    sched_yield();
#endif
}

static void futex_wake_all(atomic_uint *addr) {
#ifdef SYS_futex
    syscall(SYS_futex, (unsigned *)addr, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
#else
    (void)addr;
#endif
}

/* Waits until *addr != old: spin first, then sleep. */
static void wait_change(struct lpq__cpu_pool *p, atomic_uint *addr, unsigned old) {
    for (int r = 0; r < LPQ__SPIN_ROUNDS; r++) {
        for (int i = 0; i < LPQ__SPIN_LOADS; i++)
            if (atomic_load_explicit(addr, memory_order_acquire) != old) return;
        sched_yield();
    }
    while (atomic_load_explicit(addr, memory_order_acquire) == old) {
        /* Announce the sleep before re-checking inside the kernel; the waker bumps the value
         * and then reads n_sleeping (both seq_cst), so one of the two sees the other. */
        atomic_fetch_add(&p->n_sleeping, 1);
        futex_wait(addr, old);
        atomic_fetch_sub(&p->n_sleeping, 1);
    }
}

static void bump_and_wake(struct lpq__cpu_pool *p, atomic_uint *addr) {
    atomic_fetch_add(addr, 1);
    if (atomic_load(&p->n_sleeping) > 0) futex_wake_all(addr);
}

void lpq__cpu_pool_barrier(struct lpq__cpu_pool *p) {
    if (p->n_threads == 1) return;
    unsigned gen = atomic_load_explicit(&p->bar_gen, memory_order_acquire);
    if (atomic_fetch_add(&p->bar_count, 1) == (unsigned)p->n_threads - 1) {
        atomic_store(&p->bar_count, 0);
        bump_and_wake(p, &p->bar_gen);
        return;
    }
    wait_change(p, &p->bar_gen, gen);
}

static void *worker_main(void *varg) {
    const struct lpq__worker_arg a = *(const struct lpq__worker_arg *)varg;
    struct lpq__cpu_pool *p = a.p;
    unsigned seen = 0;
    for (;;) {
        wait_change(p, &p->job_gen, seen);
        seen = atomic_load(&p->job_gen);
        if (atomic_load(&p->stop)) break;
        p->fn(a.ith, p->n_threads, p->arg);
        lpq__cpu_pool_barrier(p);
    }
    return NULL;
}

enum lpq_status lpq__cpu_pool_create(int n_threads, struct lpq__cpu_pool **out, struct lpq_err *err) {
    if (n_threads < 1 || n_threads > 1024)
        return lpq_err_set(err, LPQ_STATUS_BAD_ARG, "thread count %d out of range 1..1024", n_threads);
    struct lpq__cpu_pool *p = lpq_calloc(1, sizeof(*p));
    if (!p) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "out of memory for the thread pool");
    p->n_threads = n_threads;
    atomic_init(&p->job_gen, 0);
    atomic_init(&p->stop, false);
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_gen, 0);
    atomic_init(&p->n_sleeping, 0);
    if (n_threads > 1) {
        p->threads = lpq_calloc((size_t)n_threads - 1, sizeof(pthread_t));
        p->args = lpq_calloc((size_t)n_threads - 1, sizeof(*p->args));
        if (!p->threads || !p->args) {
            lpq__cpu_pool_free(p);
            return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "out of memory for the thread pool");
        }
    }
    for (int i = 1; i < n_threads; i++) {
        p->args[i - 1] = (struct lpq__worker_arg){ .p = p, .ith = i };
        int rc = pthread_create(&p->threads[i - 1], NULL, worker_main, &p->args[i - 1]);
        if (rc != 0) {
            lpq__cpu_pool_free(p);
            return lpq_err_set(err, LPQ_STATUS_RUNTIME, "cannot start worker thread %d: %s", i,
                               strerror(rc));
        }
        p->n_started++;
    }
    *out = p;
    return LPQ_STATUS_OK;
}

void lpq__cpu_pool_free(struct lpq__cpu_pool *p) {
    if (!p) return;
    atomic_store(&p->stop, true);
    bump_and_wake(p, &p->job_gen);
    for (int i = 0; i < p->n_started; i++) pthread_join(p->threads[i], NULL);
    lpq_free(p->threads);
    lpq_free(p->args);
    lpq_free(p);
}

int lpq__cpu_pool_n_threads(const struct lpq__cpu_pool *p) { return p->n_threads; }

void lpq__cpu_pool_run(struct lpq__cpu_pool *p, lpq__cpu_job_fn fn, void *arg) {
    if (p->n_threads == 1) {
        fn(0, 1, arg);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    bump_and_wake(p, &p->job_gen);   /* seq_cst: publishes fn/arg before the new generation */
    fn(0, p->n_threads, arg);
    lpq__cpu_pool_barrier(p);
}
