/*
 * registry.c — the static table of built-in suites and the shared option defaults. Adding a
 * suite (accuracy, ...) is one file in suites/ plus one line here; the harness only iterates
 * this table.
 */
#include <string.h>

#include "suites/suites-impl.h"

const struct lpq_suite *const lpq_suite_builtin[] = {
    &lpq_suite_ppl,
    &lpq_suite_kld,
    &lpq_suite_speed,
    &lpq_suite_accuracy,
    NULL,
};

const struct lpq_suite *lpq_suite_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; lpq_suite_builtin[i]; i++)
        if (!strcmp(lpq_suite_builtin[i]->name, name)) return lpq_suite_builtin[i];
    return NULL;
}

struct lpq_suite_opts lpq_suite_opts_default(void) {
    struct lpq_suite_opts o;
    memset(&o, 0, sizeof o);
    o.n_ctx = 512;
    o.reps = 5;
    o.seed = 42;
    o.kld_top_k = 32;
    return o;
}
