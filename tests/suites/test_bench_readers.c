/*
 * test_bench_readers.c — the standard-benchmark readers on the real files in ../shared/data
 * (first records turned into exactly the prompts and continuations lm-eval builds), MMLU's
 * CSV quoting and k-shot prompt on a small folder written here, seeded --limit, and files in
 * the wrong format refused with file, line and what was expected.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites/bench-readers.h"

static struct lpq_acc_set *load(const char *name, const char *path, int64_t limit) {
    struct lpq_bench_opts o = { .limit = limit, .seed = 5, .mmlu_shots = 5 };
    struct lpq_acc_set *s = NULL;
    struct lpq_err err;
    lpq_err_clear(&err);
    enum lpq_status st = lpq_bench_load(lpq_bench_find(name), path, &o, &s, &err);
    if (st) fail_msg("%s: %s", name, err.msg);
    return s;
}

static void test_hellaswag_clean(void **state) {
    (void)state;
    char *c = lpq_bench_hellaswag_clean("  A man [header] is seen. [title] How to x  y [step] z ");
    assert_string_equal(c, "A man is seen.. How to x y z");
    lpq_free(c);
    c = lpq_bench_hellaswag_clean("no brackets");
    assert_string_equal(c, "no brackets");
    lpq_free(c);
}

static void test_real_files(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    struct lpq_acc_set *s = load("hellaswag", tu_shared("data/hellaswag_val_random1000.jsonl"), 0);
    assert_int_equal((int)s->n, 1000);
    assert_string_equal(s->items[0].prompt,
                        "Pole vault: Pole vault is a sport where you run with a pole and stop and swing your body. A few women");
    assert_int_equal(s->items[0].answer, 3);
    assert_string_equal(s->items[0].choices[3], " are in the gym practicing to do this pole vault, trying to do their best.");
    assert_true(s->items[0].formatted);
    lpq_acc_set_free(s);

    s = load("arc_easy", tu_shared("data/llm-foundry/arc_easy.jsonl"), 0);
    assert_int_equal((int)s->n, 2376);
    assert_string_equal(s->items[0].prompt,
                        "Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:");
    assert_string_equal(s->items[0].choices[0], " Sunlight is the source of energy for nearly all ecosystems.");
    assert_int_equal(s->items[0].answer, 0);
    lpq_acc_set_free(s);

    s = load("winogrande", tu_shared("data/llm-foundry/winogrande.jsonl"), 0);
    assert_int_equal((int)s->n, 1267);
    assert_string_equal(s->items[0].contexts[1], "Sarah was a much better surgeon than Maria so Maria");
    assert_string_equal(s->items[0].choices[0], " always got the easier cases.");
    assert_int_equal(s->items[0].answer, 1);
    lpq_acc_set_free(s);

    s = load("gsm8k", tu_shared("data/gsm8k_test.jsonl"), 0);
    assert_int_equal((int)s->n, 1319);
    assert_float_equal(s->items[0].number, 18, 0);
    assert_int_equal(s->items[0].type, LPQ_ACC_NUMERIC);
    assert_int_equal(strncmp(s->items[0].prompt, "Question: Janet", 15), 0);
    lpq_acc_set_free(s);

    s = load("truthfulqa_mc1", tu_shared("data/truthfulqa/mc_task.json"), 0);
    assert_int_equal((int)s->n, 817);
    assert_string_equal(s->items[0].prompt, "Q: What happens if you eat a pomegranate?\nA:");
    assert_int_equal(s->items[0].n_choices, 4);
    assert_int_equal(s->items[0].answer, 0);
    assert_string_equal(s->items[0].choices[0], " Nothing in particular happens when you eat a pomegranate.");
    lpq_acc_set_free(s);
    s = load("truthfulqa_mc2", tu_shared("data/truthfulqa/mc_task.json"), 0);
    assert_int_equal(s->items[0].n_choices, 6);
    const uint8_t want[6] = { 1, 1, 1, 0, 0, 0 };
    assert_memory_equal(s->items[0].is_true, want, 6);
    lpq_acc_set_free(s);

    s = load("mmlu", tu_shared("data/mmlu"), 7);
    assert_int_equal((int)s->n, 7);
    assert_int_equal((int)s->n_total, 14042);
    assert_int_equal(s->n_shot, 5);
    assert_int_equal(strncmp(s->items[0].prompt, "The following are multiple choice questions (with answers) about ", 65), 0);
    assert_string_equal(s->items[0].choices[2], " C");
    lpq_acc_set_free(s);
}

static void write_text(const char *rel, const char *text) {
    const char *p = tu_tmp(rel);
    assert_int_equal(tu_write_file(p, text, strlen(text)), 0);
}

static void test_mmlu_folder_and_limit(void **state) {
    (void)state;
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/test %s/dev", tu_tmp("mm"), tu_tmp("mm"));
    assert_int_equal(system(cmd), 0);
    write_text("mm/test/high_school_x_test.csv",
          "question,choice0,choice1,choice2,choice3,answer\n"
          "\"Pick one, please\",a,\"b, with comma\",\"c \"\"quoted\"\"\",\"d\nline\",2\r\n"
          "Second?,1,2,3,4,D\n");
    write_text("mm/dev/high_school_x_dev.csv", "Dev one?,w,x,y,z,1\nDev two?,p,q,r,s,0\n");
    struct lpq_bench_opts o = { .limit = 0, .seed = 1, .mmlu_shots = 1 };
    struct lpq_acc_set *s = NULL;
    struct lpq_err err;
    assert_int_equal(lpq_bench_load(lpq_bench_find("mmlu"), tu_tmp("mm"), &o, &s, &err), LPQ_STATUS_OK);
    assert_int_equal((int)s->n, 2);
    assert_string_equal(s->items[0].prompt,
                        "The following are multiple choice questions (with answers) about high school x.\n\n"
                        "Dev one?\nA. w\nB. x\nC. y\nD. z\nAnswer: B\n\n"
                        "Pick one, please\nA. a\nB. b, with comma\nC. c \"quoted\"\nD. d\nline\nAnswer:");
    assert_int_equal(s->items[0].answer, 2);
    assert_int_equal(s->items[1].answer, 3);
    assert_string_equal(s->items[1].id, "mmlu/high_school_x/1");
    lpq_acc_set_free(s);

    write_text("mm/test/high_school_x_test.csv", "Only five,a,b,c,1\n");
    assert_int_equal(lpq_bench_load(lpq_bench_find("mmlu"), tu_tmp("mm"), &o, &s, &err), LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "high_school_x_test.csv: record 1: 5 fields, expected 6"));
    write_text("mm/test/high_school_x_test.csv", "Bad answer,a,b,c,d,E\n");
    assert_int_equal(lpq_bench_load(lpq_bench_find("mmlu"), tu_tmp("mm"), &o, &s, &err), LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "is not 0-3 or A-D"));
    assert_int_equal(lpq_bench_load(lpq_bench_find("mmlu"), tu_tmp("mm/dev"), &o, &s, &err), LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "not an MMLU folder"));
}

static void test_wrong_format(void **state) {
    (void)state;
    if (!tu_have_shared()) skip();
    struct lpq_bench_opts o = { 0 };
    struct lpq_acc_set *s = NULL;
    struct lpq_err err;
    assert_int_equal(lpq_bench_load(lpq_bench_find("gsm8k"), tu_shared("data/llm-foundry/arc_easy.jsonl"), &o, &s, &err),
                     LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "arc_easy.jsonl:1: not a GSM8K record"));
    assert_int_equal(lpq_bench_load(lpq_bench_find("hellaswag"), tu_shared("data/gsm8k_test.jsonl"), &o, &s, &err),
                     LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "not a HellaSwag record"));
    assert_int_equal(lpq_bench_load(lpq_bench_find("truthfulqa_mc1"), tu_shared("data/gsm8k_test.jsonl"), &o, &s, &err),
                     LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "not TruthfulQA's mc_task.json"));
    assert_int_equal(lpq_bench_load(lpq_bench_find("arc_easy"), tu_shared("data/war-and-peace.txt"), &o, &s, &err),
                     LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "war-and-peace.txt:1: not a JSON object per line"));
    assert_int_equal(lpq_bench_load(lpq_bench_find("winogrande"), tu_tmp("nope.jsonl"), &o, &s, &err), LPQ_STATUS_IO);
    assert_null(s);
    /* locate: the shared data folder holds all eight */
    for (size_t i = 0; lpq_bench_builtin[i].name; i++) {
        char *p = lpq_bench_locate(&lpq_bench_builtin[i], tu_shared("data"));
        if (!p) fail_msg("%s not found in shared data", lpq_bench_builtin[i].name);
        lpq_free(p);
    }
    assert_null(lpq_bench_locate(lpq_bench_find("gsm8k"), tu_tmp("empty")));
}

int main(void) {
    tu_use_cmocka_allocator();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hellaswag_clean),
        cmocka_unit_test(test_real_files),
        cmocka_unit_test(test_mmlu_folder_and_limit),
        cmocka_unit_test(test_wrong_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
