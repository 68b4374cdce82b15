/*
 * perf.c — counters around measured phases (see perf.h). Events are named in libpfm4's
 * generic "perf::" PMU, encoded into perf_event_attr by pfm_get_os_event_encoding and opened
 * per thread with perf_event_open.
 */
#include "suites/perf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBPFM
#include <linux/perf_event.h>
#include <perfmon/pfmlib_perf_event.h>
#endif

#define MAX_THREADS 256

static const struct {
    const char *name;      /* key in results */
    const char *pfm;       /* libpfm4 event string */
} events[LPQ_PERF_EVENT_COUNT] = {
    [LPQ_PERF_CYCLES]           = { "cycles",                  "perf::CYCLES" },
    [LPQ_PERF_INSTRUCTIONS]     = { "instructions",            "perf::INSTRUCTIONS" },
    [LPQ_PERF_CACHE_REFERENCES] = { "cache_references",        "perf::CACHE-REFERENCES" },
    [LPQ_PERF_CACHE_MISSES]     = { "cache_misses",            "perf::CACHE-MISSES" },
    [LPQ_PERF_LLC_LOAD_MISSES]  = { "llc_load_misses",         "perf::LLC-LOAD-MISSES" },
    [LPQ_PERF_BRANCH_MISSES]    = { "branch_misses",           "perf::BRANCH-MISSES" },
    [LPQ_PERF_STALLED_FRONTEND] = { "stalled_cycles_frontend", "perf::STALLED-CYCLES-FRONTEND" },
    [LPQ_PERF_STALLED_BACKEND]  = { "stalled_cycles_backend",  "perf::STALLED-CYCLES-BACKEND" },
    [LPQ_PERF_TASK_CLOCK]       = { "task_clock_ns",           "perf::TASK-CLOCK" },
    [LPQ_PERF_PAGE_FAULTS]      = { "page_faults",             "perf::PAGE-FAULTS" },
    [LPQ_PERF_CONTEXT_SWITCHES] = { "context_switches",        "perf::CONTEXT-SWITCHES" },
};

struct lpq_perf {
    bool pfm_ok;                                   /* libpfm4 initialised */
    bool encodable[LPQ_PERF_EVENT_COUNT];          /* libpfm4 knows how to encode it */
#ifdef HAVE_LIBPFM
    struct perf_event_attr attr[LPQ_PERF_EVENT_COUNT];
#endif
    int n_fds;
    int fd[MAX_THREADS * LPQ_PERF_EVENT_COUNT];    /* -1 when the open failed */
    int fd_event[MAX_THREADS * LPQ_PERF_EVENT_COUNT];
    uint64_t t_start_ns;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *lpq_perf_event_name(enum lpq_perf_event e) {
    return (unsigned)e < LPQ_PERF_EVENT_COUNT ? events[e].name : "unknown";
}

enum lpq_status lpq_perf_create(struct lpq_perf **out, struct lpq_err *err) {
    struct lpq_perf *p = lpq_calloc(1, sizeof(*p));
    if (!p) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "perf: out of memory");
#ifdef HAVE_LIBPFM
    p->pfm_ok = pfm_initialize() == PFM_SUCCESS;
    for (int e = 0; p->pfm_ok && e < LPQ_PERF_EVENT_COUNT; e++) {
        pfm_perf_encode_arg_t arg;
        memset(&arg, 0, sizeof(arg));
        memset(&p->attr[e], 0, sizeof(p->attr[e]));
        arg.attr = &p->attr[e];
        arg.size = sizeof(arg);
        if (pfm_get_os_event_encoding(events[e].pfm, PFM_PLM3, PFM_OS_PERF_EVENT, &arg) == PFM_SUCCESS) {
            p->attr[e].size = sizeof(p->attr[e]);
            p->attr[e].read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
            p->attr[e].disabled = 1;
            p->attr[e].exclude_kernel = 1;
            p->attr[e].exclude_hv = 1;
            p->encodable[e] = true;
        }
    }
#endif
    *out = p;
    return LPQ_STATUS_OK;
}

static void close_all(struct lpq_perf *p) {
    for (int i = 0; i < p->n_fds; i++) {
        if (p->fd[i] >= 0) close(p->fd[i]);
    }
    p->n_fds = 0;
}

void lpq_perf_free(struct lpq_perf *p) {
    if (!p) return;
    close_all(p);
#ifdef HAVE_LIBPFM
    if (p->pfm_ok) pfm_terminate();
#endif
    lpq_free(p);
}

void lpq_perf_start(struct lpq_perf *p) {
    close_all(p);
#ifdef HAVE_LIBPFM
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    int n_threads = 0;
    while (d && (de = readdir(d)) != NULL && n_threads < MAX_THREADS) {
        if (de->d_name[0] == '.') continue;
        pid_t tid = (pid_t)atoi(de->d_name);
        n_threads++;
        for (int e = 0; e < LPQ_PERF_EVENT_COUNT; e++) {
            if (!p->encodable[e]) continue;
            int fd = (int)syscall(SYS_perf_event_open, &p->attr[e], tid, -1, -1, 0);
            p->fd[p->n_fds] = fd;
            p->fd_event[p->n_fds] = e;
            p->n_fds++;
        }
    }
    if (d) closedir(d);
    for (int i = 0; i < p->n_fds; i++) {
        if (p->fd[i] < 0) continue;
        ioctl(p->fd[i], PERF_EVENT_IOC_RESET, 0);
        ioctl(p->fd[i], PERF_EVENT_IOC_ENABLE, 0);
    }
#endif
    p->t_start_ns = now_ns();
}

void lpq_perf_stop(struct lpq_perf *p, struct lpq_perf_sample *out) {
    uint64_t t_end = now_ns();
    memset(out, 0, sizeof(*out));
    double enabled[LPQ_PERF_EVENT_COUNT] = { 0 }, running[LPQ_PERF_EVENT_COUNT] = { 0 };
    for (int i = 0; i < p->n_fds; i++) {
        if (p->fd[i] < 0) continue;
        ioctl(p->fd[i], PERF_EVENT_IOC_DISABLE, 0);
        uint64_t v[3];
        if (read(p->fd[i], v, sizeof(v)) != (ssize_t)sizeof(v)) continue;
        int e = p->fd_event[i];
        /* A counter that never ran (PMU absent or always multiplexed out) stays unsupported. */
        if (v[2] == 0) continue;
        out->ev[e].supported = true;
        out->ev[e].value += (double)v[0] * ((double)v[1] / (double)v[2]);
        enabled[e] += (double)v[1];
        running[e] += (double)v[2];
    }
    for (int e = 0; e < LPQ_PERF_EVENT_COUNT; e++) {
        out->ev[e].running_frac = enabled[e] > 0 ? running[e] / enabled[e] : 0.0;
    }
    out->wall_ns = (double)(t_end - p->t_start_ns);
    close_all(p);
}

bool lpq_perf_hw_available(struct lpq_perf *p) {
    struct lpq_perf_sample s;
    lpq_perf_start(p);
    volatile double x = 0;
    for (int i = 0; i < 10000; i++) x += i;
    (void)x;   /* the loop is the counted work; the sum itself is not needed */
    lpq_perf_stop(p, &s);
    return s.ev[LPQ_PERF_CYCLES].supported && s.ev[LPQ_PERF_INSTRUCTIONS].supported;
}

json_t *lpq_perf_sample_json(const struct lpq_perf_sample *s) {
    json_t *o = json_object();
    for (int e = 0; e < LPQ_PERF_EVENT_COUNT; e++) {
        json_object_set_new(o, events[e].name,
                            s->ev[e].supported ? json_real(s->ev[e].value) : json_string("unsupported"));
        if (s->ev[e].supported && s->ev[e].running_frac < 0.999) {
            char key[64];
            snprintf(key, sizeof(key), "%s_running_frac", events[e].name);
            json_object_set_new(o, key, json_real(s->ev[e].running_frac));
        }
    }
    const struct lpq_perf_value *c = &s->ev[LPQ_PERF_CYCLES], *in = &s->ev[LPQ_PERF_INSTRUCTIONS];
    json_object_set_new(o, "ipc", c->supported && in->supported && c->value > 0
                                      ? json_real(in->value / c->value) : json_string("unsupported"));
    json_object_set_new(o, "wall_ns", json_real(s->wall_ns));
    return o;
}
