/*
 * test_chat_templates.c — every built-in template renders a system + user turn to the exact
 * prompt its family expects; detection by fingerprint on representative Jinja templates;
 * selection: forced name, --no-chat, a GGUF with a recognised / unrecognised template, and
 * stories260K (no template → the plain-prompt fallback, reported as such).
 */
#include "testutil.h"

#include <string.h>

#include "quant/gguf.h"
#include "suites/chat-templates.h"

static void expect_render(const char *name, const char *sys, const char *user, const char *want) {
    const struct lpq_chat_tmpl *t = lpq_chat_find(name);
    assert_non_null(t);
    char *got = lpq_chat_render(t, sys, user);
    assert_non_null(got);
    if (strcmp(got, want)) fail_msg("%s:\n got  [%s]\n want [%s]", name, got, want);
    lpq_free(got);
}

static void test_render_each(void **state) {
    (void)state;
    const char *S = "You are terse.", *U = "Hi?";
    expect_render("chatml", S, U,
                  "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n");
    expect_render("qwen", NULL, U, "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n");
    expect_render("llama3", S, U,
                  "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nHi?<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect_render("llama2", S, U, "[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi? [/INST]");
    expect_render("llama2", NULL, U, "[INST] Hi? [/INST]");
    expect_render("gemma", S, U, "<start_of_turn>user\nYou are terse.\n\nHi?<end_of_turn>\n<start_of_turn>model\n");
    expect_render("gemma", "", U, "<start_of_turn>user\nHi?<end_of_turn>\n<start_of_turn>model\n");
    expect_render("phi3", S, U, "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi?<|end|>\n<|assistant|>\n");
    expect_render("mistral", S, U, "[INST] You are terse.\n\nHi? [/INST]");
    expect_render("none", S, U, "You are terse.\n\nHi?");
    expect_render("none", NULL, U, "Hi?");
    assert_null(lpq_chat_find("vicuna"));
    assert_null(lpq_chat_find(NULL));
    /* end-of-turn markers double as stop strings */
    assert_string_equal(lpq_chat_find("chatml")->eot, "<|im_end|>");
    assert_string_equal(lpq_chat_find("llama3")->eot, "<|eot_id|>");
    assert_null(lpq_chat_find("none")->eot);
}

/* Representative templates, written for this test in each family's style. */
static const char *const J_CHATML =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
static const char *const J_LLAMA3 =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{{ content }}{% endfor %}";
static const char *const J_LLAMA2 =
    "{% if messages[0]['role'] == 'system' %}{% set sys = '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}"
    "{% endif %}{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + "
    "message['content'] + ' [/INST]' }}{% endif %}{% endfor %}";
static const char *const J_GEMMA =
    "{{ bos_token }}{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' else "
    "message['role'] %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";
static const char *const J_PHI3 =
    "{% for message in messages %}{% if message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + "
    "'<|end|>\\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% endif %}{% endfor %}";
static const char *const J_MISTRAL =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + "
    "' [/INST]' }}{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";
static const char *const J_ZEPHYR =
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + eos_token }}"
    "{% endif %}{% endfor %}";
static const char *const J_ALPACA = "{% for message in messages %}### Instruction:\\n{{ message['content'] }}\\n\\n### Response:\\n{% endfor %}";

static void test_detect(void **state) {
    (void)state;
    assert_string_equal(lpq_chat_detect(J_CHATML)->name, "chatml");
    assert_string_equal(lpq_chat_detect(J_LLAMA3)->name, "llama3");
    assert_string_equal(lpq_chat_detect(J_LLAMA2)->name, "llama2");
    assert_string_equal(lpq_chat_detect(J_GEMMA)->name, "gemma");
    assert_string_equal(lpq_chat_detect(J_PHI3)->name, "phi3");
    assert_string_equal(lpq_chat_detect(J_MISTRAL)->name, "mistral");
    assert_null(lpq_chat_detect(J_ZEPHYR));   /* <|user|> alone is not Phi-3 */
    assert_null(lpq_chat_detect(J_ALPACA));
    assert_null(lpq_chat_detect(""));
    assert_null(lpq_chat_detect(NULL));
}

static const char *gguf_with_template(const char *name, const char *jinja) {
    const char *p = tu_tmp(name);
    struct lpq_gguf_writer *w = NULL;
    assert_int_equal(lpq_gguf_writer_create(p, &w, NULL), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_str(w, "general.architecture", "llama"), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_set_str(w, "tokenizer.chat_template", jinja), LPQ_STATUS_OK);
    assert_int_equal(lpq_gguf_writer_finish(w), LPQ_STATUS_OK);
    lpq_gguf_writer_free(w);
    return p;
}

static void test_select(void **state) {
    (void)state;
    struct lpq_chat_choice c;
    struct lpq_err err;
    lpq_err_clear(&err);
    /* stories260K is a base model: no template → plain prompts, reported */
    assert_int_equal(lpq_chat_select(tu_shared("models/stories260K.gguf"), NULL, false, &c, &err), LPQ_STATUS_OK);
    assert_string_equal(c.tmpl->name, "none");
    assert_string_equal(c.source, "absent");
    assert_non_null(strstr(c.note, "no tokenizer.chat_template"));
    /* forcing wins over the file; --no-chat too */
    assert_int_equal(lpq_chat_select(tu_shared("models/stories260K.gguf"), "gemma", false, &c, &err), LPQ_STATUS_OK);
    assert_string_equal(c.tmpl->name, "gemma");
    assert_string_equal(c.source, "forced");
    assert_int_equal(lpq_chat_select(tu_shared("models/stories260K.gguf"), "nonesuch", false, &c, &err), LPQ_STATUS_BAD_ARG);
    assert_non_null(strstr(err.msg, "unknown chat template 'nonesuch'"));
    const char *qwen = gguf_with_template("qwen.gguf", J_CHATML);
    assert_int_equal(lpq_chat_select(qwen, NULL, false, &c, &err), LPQ_STATUS_OK);
    assert_string_equal(c.tmpl->name, "chatml");
    assert_string_equal(c.source, "gguf");
    assert_int_equal(lpq_chat_select(qwen, NULL, true, &c, &err), LPQ_STATUS_OK);
    assert_string_equal(c.tmpl->name, "none");
    assert_string_equal(c.source, "no_chat");
    /* unrecognised → chatml fallback, said so */
    const char *alp = gguf_with_template("alpaca.gguf", J_ALPACA);
    assert_int_equal(lpq_chat_select(alp, NULL, false, &c, &err), LPQ_STATUS_OK);
    assert_string_equal(c.tmpl->name, "chatml");
    assert_string_equal(c.source, "fallback");
    assert_non_null(strstr(c.note, "unrecognised"));
    /* an unreadable model file is not fatal */
    assert_int_equal(lpq_chat_select(tu_tmp("missing.gguf"), NULL, false, &c, &err), LPQ_STATUS_OK);
    assert_string_equal(c.tmpl->name, "none");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_each),
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
