/*
 * chat-templates.h — the built-in chat templates (chatml, llama3, llama2, gemma, phi3, mistral,
 * none), detection from a GGUF's tokenizer.chat_template by fingerprint, and rendering of a
 * system + user turn followed by the assistant's generation prompt. BOS is not part of a
 * rendering: the tokenizer adds it per the vocabulary's add-BOS rule.
 */
#ifndef LPQ_CHAT_TEMPLATES_H
#define LPQ_CHAT_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>

#include "quant/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A turn is pre + text + post. Templates without a system role (sys_inline) put the system
 * block sys_pre + system + sys_post inside the first user turn, right after user_pre. */
struct lpq_chat_tmpl {
    const char *name;           /* "chatml", "llama3", ... "none" */
    const char *sys_pre, *sys_post;
    const char *user_pre, *user_post;
    const char *asst_pre;       /* the generation prompt */
    bool sys_inline;            /* system text goes inside the first user turn */
    const char *eot;            /* end-of-turn marker, a stop string for generation (NULL: none) */
};

/* NULL-terminated table of the built-in templates. */
extern const struct lpq_chat_tmpl *const lpq_chat_builtin[];

/* By name ("chatml", "qwen" as an alias, "llama3", "llama2", "gemma", "phi3", "mistral",
 * "none"); NULL when unknown. */
const struct lpq_chat_tmpl *lpq_chat_find(const char *name);
/* By fingerprint of a Jinja chat template; NULL when no fingerprint matches. */
const struct lpq_chat_tmpl *lpq_chat_detect(const char *jinja);
/* system (may be NULL) + user → new lpq_malloc'd string ending with the generation prompt;
 * NULL when out of memory. */
char *lpq_chat_render(const struct lpq_chat_tmpl *t, const char *system, const char *user);

/* The template chosen for a model and why. */
struct lpq_chat_choice {
    const struct lpq_chat_tmpl *tmpl;
    const char *source;         /* "forced", "no_chat", "gguf", "fallback", "absent" */
    char note[256];             /* one line for the report */
};
/* force (name or NULL) wins, then no_chat (→ none), then the GGUF's tokenizer.chat_template:
 * recognised → that template; present but unrecognised → chatml, noted as a fallback; absent
 * (base models such as stories260K) → none. BAD_ARG for an unknown forced name; a GGUF that
 * cannot be opened is not an error (→ none, noted). */
enum lpq_status lpq_chat_select(const char *model_path, const char *force, bool no_chat,
                                struct lpq_chat_choice *out, struct lpq_err *err);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_CHAT_TEMPLATES_H */
