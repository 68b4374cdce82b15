/*
 * chat-templates.c — built-in chat templates as tables of turn markers, their detection by
 * distinctive substrings of the GGUF's Jinja template, and the rendering of one system + user
 * exchange. Markers follow each family's published prompt format (facts, not code).
 */
#include <stdio.h>
#include <string.h>

#include "quant/gguf.h"
#include "suites/chat-templates.h"

static const struct lpq_chat_tmpl t_chatml = {
    .name = "chatml", .sys_pre = "<|im_start|>system\n", .sys_post = "<|im_end|>\n",
    .user_pre = "<|im_start|>user\n", .user_post = "<|im_end|>\n", .asst_pre = "<|im_start|>assistant\n",
    .eot = "<|im_end|>",
};
static const struct lpq_chat_tmpl t_llama3 = {
    .name = "llama3", .sys_pre = "<|start_header_id|>system<|end_header_id|>\n\n", .sys_post = "<|eot_id|>",
    .user_pre = "<|start_header_id|>user<|end_header_id|>\n\n", .user_post = "<|eot_id|>",
    .asst_pre = "<|start_header_id|>assistant<|end_header_id|>\n\n", .eot = "<|eot_id|>",
};
static const struct lpq_chat_tmpl t_llama2 = {
    .name = "llama2", .sys_pre = "<<SYS>>\n", .sys_post = "\n<</SYS>>\n\n", .user_pre = "[INST] ",
    .user_post = " [/INST]", .asst_pre = "", .sys_inline = true, .eot = "</s>",
};
static const struct lpq_chat_tmpl t_gemma = {
    .name = "gemma", .sys_pre = "", .sys_post = "\n\n", .user_pre = "<start_of_turn>user\n",
    .user_post = "<end_of_turn>\n", .asst_pre = "<start_of_turn>model\n", .sys_inline = true,
    .eot = "<end_of_turn>",
};
static const struct lpq_chat_tmpl t_phi3 = {
    .name = "phi3", .sys_pre = "<|system|>\n", .sys_post = "<|end|>\n", .user_pre = "<|user|>\n",
    .user_post = "<|end|>\n", .asst_pre = "<|assistant|>\n", .eot = "<|end|>",
};
static const struct lpq_chat_tmpl t_mistral = {
    .name = "mistral", .sys_pre = "", .sys_post = "\n\n", .user_pre = "[INST] ", .user_post = " [/INST]",
    .asst_pre = "", .sys_inline = true, .eot = "</s>",
};
/* Base models: plain text, the system text as a paragraph before the user text. */
static const struct lpq_chat_tmpl t_none = {
    .name = "none", .sys_pre = "", .sys_post = "\n\n", .user_pre = "", .user_post = "", .asst_pre = "",
    .eot = NULL,
};

const struct lpq_chat_tmpl *const lpq_chat_builtin[] = {
    &t_chatml, &t_llama3, &t_llama2, &t_gemma, &t_phi3, &t_mistral, &t_none, NULL,
};

const struct lpq_chat_tmpl *lpq_chat_find(const char *name) {
    if (!name) return NULL;
    if (!strcmp(name, "qwen")) return &t_chatml;
    for (size_t i = 0; lpq_chat_builtin[i]; i++)
        if (!strcmp(lpq_chat_builtin[i]->name, name)) return lpq_chat_builtin[i];
    return NULL;
}

/* Order matters: Llama-2 and Mistral both use [INST]; only Llama-2 wraps the system text in
 * <<SYS>>. Phi-3's <|user|> is shared with Zephyr-style templates (which end turns with </s>), so
 * <|end|> must be there too. */
const struct lpq_chat_tmpl *lpq_chat_detect(const char *jinja) {
    if (!jinja) return NULL;
    if (strstr(jinja, "<|im_start|>")) return &t_chatml;
    if (strstr(jinja, "<|start_header_id|>")) return &t_llama3;
    if (strstr(jinja, "<start_of_turn>")) return &t_gemma;
    if (strstr(jinja, "<|end|>") && (strstr(jinja, "<|user|>") || strstr(jinja, "<|assistant|>"))) return &t_phi3;
    if (strstr(jinja, "[INST]") && strstr(jinja, "<<SYS>>")) return &t_llama2;
    if (strstr(jinja, "[INST]")) return &t_mistral;
    return NULL;
}

char *lpq_chat_render(const struct lpq_chat_tmpl *t, const char *system, const char *user) {
    if (!t) return NULL;
    bool has_sys = system && *system;
    const char *s = has_sys ? system : "";
    const char *sp = has_sys ? t->sys_pre : "", *sq = has_sys ? t->sys_post : "";
    user = user ? user : "";
    if (t->sys_inline)
        return lpq_asprintf("%s%s%s%s%s%s%s", t->user_pre, sp, s, sq, user, t->user_post, t->asst_pre);
    return lpq_asprintf("%s%s%s%s%s%s%s", sp, s, sq, t->user_pre, user, t->user_post, t->asst_pre);
}

enum lpq_status lpq_chat_select(const char *model_path, const char *force, bool no_chat,
                                struct lpq_chat_choice *out, struct lpq_err *err) {
    struct lpq_chat_choice c;
    memset(&c, 0, sizeof(c));
    if (force && *force) {
        if (!(c.tmpl = lpq_chat_find(force)))
            return lpq_err_set(err, LPQ_STATUS_BAD_ARG,
                               "unknown chat template '%s' (chatml, qwen, llama3, llama2, gemma, phi3, mistral, none)", force);
        c.source = "forced";
        snprintf(c.note, sizeof(c.note), "chat template '%s' forced by option", c.tmpl->name);
        *out = c;
        return LPQ_STATUS_OK;
    }
    if (no_chat) {
        c.tmpl = &t_none;
        c.source = "no_chat";
        snprintf(c.note, sizeof(c.note), "no chat template (--no-chat): plain prompts");
        *out = c;
        return LPQ_STATUS_OK;
    }
    struct lpq_gguf_params gp = lpq_gguf_params_default();
    gp.no_data = true;
    struct lpq_gguf *g = NULL;
    struct lpq_err gerr;
    lpq_err_clear(&gerr);
    const char *jinja = NULL;
    if (model_path && lpq_gguf_open(model_path, &gp, &g, &gerr) == LPQ_STATUS_OK)
        lpq_gguf_get_str(g, "tokenizer.chat_template", &jinja, NULL);
    if (!jinja) {
        c.tmpl = &t_none;
        c.source = "absent";
        if (g || !model_path)
            snprintf(c.note, sizeof(c.note), "model has no tokenizer.chat_template: base-model prompts (fallback 'none')");
        else
            snprintf(c.note, sizeof(c.note), "could not read the chat template (%.180s): fallback 'none'", gerr.msg);
    } else if ((c.tmpl = lpq_chat_detect(jinja))) {
        c.source = "gguf";
        snprintf(c.note, sizeof(c.note), "chat template '%s' detected from tokenizer.chat_template", c.tmpl->name);
    } else {
        c.tmpl = &t_chatml;
        c.source = "fallback";
        snprintf(c.note, sizeof(c.note),
                 "unrecognised tokenizer.chat_template (%zu bytes): fallback 'chatml'; force one with chat_template",
                 strlen(jinja));
    }
    lpq_gguf_close(g);
    *out = c;
    return LPQ_STATUS_OK;
}
