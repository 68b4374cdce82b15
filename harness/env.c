/*
 * env.c — the environment fingerprint (env.h), read from /proc, uname and compile-time facts.
 * Everything here is best effort: a missing /proc entry leaves its field out, never fails.
 */
#include "harness/env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef HAVE_LIBPFM
#include <perfmon/pfmlib.h>
#endif

#include "quant/types.h"

/* Value of the first "key<spaces>: value" line of a /proc file (lpq_malloc'd) or NULL. */
static char *proc_field(const char *file, const char *key) {
    FILE *f = fopen(file, "r");
    if (!f) return NULL;
    char *line = NULL, *out = NULL;
    size_t cap = 0, kl = strlen(key);
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, key, kl) || (line[kl] != ' ' && line[kl] != '\t' && line[kl] != ':')) continue;
        char *c = strchr(line, ':');
        if (!c) continue;
        c++;
        while (*c == ' ' || *c == '\t') c++;
        size_t n = strcspn(c, "\n");
        out = lpq_strndup(c, n);
        break;
    }
    free(line);
    fclose(f);
    return out;
}

char *lpq_env_cpu_flags(void) {
    char *f = proc_field("/proc/cpuinfo", "flags");
    return f ? f : lpq_strdup("");
}

static void set_str(json_t *o, const char *k, const char *v) {
    if (v) json_object_set_new(o, k, json_string(v));
}

json_t *lpq_env_host(void) {
    json_t *h = json_object();
    json_t *cpu = json_object();
    char *s = proc_field("/proc/cpuinfo", "model name");
    set_str(cpu, "model", s);
    lpq_free(s);
    s = lpq_env_cpu_flags();
    /* keep only the flags that change which kernels run; the full line is long and noisy */
    static const char *const wanted[] = { "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
                                          "avx512vl", "avx512_vnni", "avx512_bf16", "avx512vbmi", "avx_vnni",
                                          "amx_tile", "amx_int8", "amx_bf16", "hypervisor" };
    json_t *flags = json_array();
    for (size_t i = 0; s && i < LPQ_ARRAY_SIZE(wanted); i++) {
        size_t n = strlen(wanted[i]);
        for (const char *p = s; (p = strstr(p, wanted[i])); p += n)
            if ((p == s || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) {
                json_array_append_new(flags, json_string(wanted[i]));
                break;
            }
    }
    lpq_free(s);
    json_object_set_new(cpu, "flags", flags);
    json_object_set_new(cpu, "cores_online", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(h, "cpu", cpu);
    s = proc_field("/proc/meminfo", "MemTotal");
    if (s) {
        json_object_set_new(h, "memory_bytes", json_integer((json_int_t)strtoull(s, NULL, 10) * 1024));
        lpq_free(s);
    }
    struct utsname u;
    if (uname(&u) == 0) {
        json_object_set_new(h, "os", json_sprintf("%s %s %s", u.sysname, u.release, u.machine));
        json_object_set_new(h, "hostname", json_string(u.nodename));
    }
    json_t *b = json_object();
    json_object_set_new(b, "lpq_version", json_string(lpq_version()));
    json_object_set_new(b, "lpq_commit", json_string(lpq_commit()));
#ifdef __VERSION__
    json_object_set_new(b, "compiler", json_string(__VERSION__));
#endif
#if defined(LPQ_BUILD_NATIVE) && LPQ_BUILD_NATIVE
    json_object_set_new(b, "native", json_true());
#else
    json_object_set_new(b, "native", json_false());
#endif
#ifdef NDEBUG
    json_object_set_new(b, "optimized", json_true());
#else
    json_object_set_new(b, "optimized", json_false());
#endif
#if defined(__SANITIZE_ADDRESS__)
    json_object_set_new(b, "sanitizers", json_true());
#endif
    json_object_set_new(h, "build", b);
    json_t *lib = json_object();
    json_object_set_new(lib, "jansson", json_string(JANSSON_VERSION));
#ifdef HAVE_OPENBLAS
    json_object_set_new(lib, "openblas", json_string(openblas_get_config()));
#endif
#ifdef HAVE_LIBPFM
    json_object_set_new(lib, "libpfm", json_sprintf("%d.%d", PFM_MAJ_VERSION(LIBPFM_VERSION),
                                                    PFM_MIN_VERSION(LIBPFM_VERSION)));
#endif
    json_object_set_new(h, "libraries", lib);
    return h;
}

json_t *lpq_env_fingerprint(const struct lpq_rt_reg *rt, const struct lpq_rt_params *params,
                            const char *model_path, const char *model_sha256) {
    json_t *e = lpq_env_host();
    if (rt) {
        json_t *r = json_object();
        struct lpq_rt_caps caps;
        memset(&caps, 0, sizeof caps);
        rt->iface->caps(&caps);
        json_object_set_new(r, "name", json_string(rt->name));
        json_object_set_new(r, "api_version", json_integer(rt->api_version));
        json_object_set_new(r, "device", json_string(caps.device == LPQ_RT_DEVICE_CPU ? "cpu" :
                                                     caps.device == LPQ_RT_DEVICE_GPU ? "gpu" : "other"));
        json_object_set_new(r, "device_name", json_string(caps.device_name));
        json_object_set_new(r, "device_memory_bytes", json_integer((json_int_t)caps.mem_total));
        if (params) {
            json_t *p = json_object();
            json_object_set_new(p, "n_threads", json_integer(params->n_threads));
            json_object_set_new(p, "n_ctx", json_integer(params->n_ctx));
            json_object_set_new(p, "n_batch", json_integer(params->n_batch));
            json_object_set_new(p, "seed", json_integer((json_int_t)params->seed));
            json_object_set_new(p, "use_mmap", json_boolean(params->use_mmap));
            json_object_set_new(p, "device", json_integer(params->device));
            json_object_set_new(r, "params", p);
        }
        json_object_set_new(e, "runtime", r);
    }
    if (model_path) {
        json_t *m = json_object();
        json_object_set_new(m, "path", json_string(model_path));
        if (model_sha256) json_object_set_new(m, "sha256", json_string(model_sha256));
        json_object_set_new(e, "model", m);
    }
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(e, "timestamp_utc", json_string(ts));
    return e;
}
