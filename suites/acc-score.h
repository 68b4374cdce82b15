/*
 * acc-score.h — scorers of the accuracy suite and the model-side measurements they need:
 * multiple-choice log-likelihoods with shared-prefix KV reuse (acc, acc_norm by characters /
 * bytes as lm-evaluation-harness, by tokens as llama.cpp's hellaswag), TruthfulQA MC2 mass,
 * greedy answers with last-number extraction, and tool calls parsed as JSON and scored as
 * valid JSON / correct function / per-argument correctness.
 */
#ifndef LPQ_ACC_SCORE_H
#define LPQ_ACC_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "quant/common.h"
#include "runtimes/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- multiple choice ------------------------------------------------------------------ */

/* One choice's log-likelihood and the lengths the normalisations divide by. */
struct lpq_acc_ll {
    double ll;                  /* Σ log p(continuation token | everything before), nats */
    int32_t n_tokens;           /* continuation tokens scored */
    int32_t n_chars;            /* Unicode characters of the choice text (leading space dropped) */
    int32_t n_bytes;            /* UTF-8 bytes of the same */
};

enum lpq_acc_norm {
    LPQ_ACC_NORM_NONE = 0,      /* acc: raw sum */
    LPQ_ACC_NORM_CHARS = 1,     /* acc_norm of lm-evaluation-harness: ll / characters */
    LPQ_ACC_NORM_BYTES = 2,     /* acc_bytes: ll / UTF-8 bytes */
    LPQ_ACC_NORM_TOKENS = 3,    /* llama.cpp hellaswag: ll / tokens (mean token log-prob) */
};
/* Index of the best choice under `norm`; ties go to the lower index; -1 when n <= 0. */
int32_t lpq_acc_mc_pick(const struct lpq_acc_ll *c, int32_t n, enum lpq_acc_norm norm);
/* TruthfulQA MC2: Σ_true p_i / Σ_all p_i with p_i = exp(ll_i) (lm-eval's convention). */
double lpq_acc_mc2(const struct lpq_acc_ll *c, const uint8_t *is_true, int32_t n);
/* Unicode code points in a UTF-8 string. */
int32_t lpq_acc_utf8_chars(const char *s, size_t len);

/* What a log-likelihood request cost. */
struct lpq_acc_eval_stats {
    int64_t n_evaluated;        /* tokens passed to lpq_rt_eval */
    int64_t n_prefix;           /* tokens shared by all choices (evaluated at most once) */
    int64_t n_reused;           /* prefix tokens already in the KV cache from the previous request */
    bool truncated;             /* the context was cut on the left to fit n_ctx */
};

/* Scores continuation conts[i] after context contexts[i] for n choices: each context+choice
 * is tokenized whole (BOS per the vocab), the choice's tokens are those after the longest
 * prefix it shares with the context's own tokens (lm-eval's split). The prefix common to all
 * choices is evaluated once (and whatever of it is already in the KV cache is kept); each
 * choice then evaluates only its own tail. Contexts too long for the model are cut on the left
 * after BOS. Fills out[n]; stats may be NULL. Errors: BAD_ARG (a choice with no tokens),
 * RANGE (a choice alone longer than the context), NO_MEMORY, runtime errors. */
enum lpq_status lpq_acc_mc_loglik(struct lpq_rt_model *m, const char *const *contexts, const char *const *conts,
                                  int32_t n, bool parse_special, struct lpq_acc_ll *out,
                                  struct lpq_acc_eval_stats *stats, struct lpq_err *err);

/* ---- generated answers ---------------------------------------------------------------- */

/* Greedy generation after `prompt` (tokenized with BOS per the vocab), at most n_predict
 * tokens, stopping at EOG or any of `stop` (NULL-terminated, may be NULL); the returned text
 * (lpq_malloc'd, *out_text) is cut before the first stop string. */
enum lpq_status lpq_acc_generate(struct lpq_rt_model *m, const char *prompt, bool parse_special, int32_t n_predict,
                                 const char *const *stop, char **out_text, int32_t *n_gen, struct lpq_err *err);

/* Last number in text: optional sign, digits with ',' thousands separators, optional decimals,
 * optional "/denominator" (a fraction); currency signs, '%' and a trailing period are ignored.
 * false when there is none. */
bool lpq_acc_last_number(const char *text, double *out);
/* |got − want| <= tol, tol = 1e-6·max(1, |want|) when tol <= 0. */
bool lpq_acc_numeric_match(double got, double want, double tol);

/* ---- tool calls ----------------------------------------------------------------------- */

struct lpq_acc_tool_score {
    bool valid_json;            /* a JSON object with a string "name" was found */
    bool right_function;        /* name == expected.name */
    bool schema_ok;             /* arguments validate against the called tool's schema */
    int32_t n_args;             /* arguments scored (required + optional ones given + unknown ones) */
    int32_t n_args_ok;          /* of those, correct */
    bool correct;               /* valid, right function and every scored argument right */
    char note[160];             /* first problem found, "" when correct */
};
/* Scores a model's output against the expected call. Accepts a bare object, one inside
 * <tool_call>…</tool_call> or a ``` fence, {"name", "arguments"|"parameters"} and
 * {"function": {...}} shapes, and arguments given as a JSON string. Never fails: anything
 * unparsable scores zero. */
void lpq_acc_tool_score(const char *output, const json_t *tools, const json_t *expected,
                        struct lpq_acc_tool_score *s);
/* Compares one argument value under mode "exact" | "casefold" | "numeric" | "set". */
bool lpq_acc_arg_match(const char *mode, const json_t *want, const json_t *got);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_ACC_SCORE_H */
