/*
 * test_acc_items.c — the lpq-140 item file and its loader: all 140 items validate, category
 * counts are exactly 25/25/25/25/20/20, ids are unique and stable-shaped, every tool item's
 * expected call validates against its own schema; broken lines, duplicate ids, unknown types
 * and missing fields are refused with file:line; --limit sampling is seeded and ordered.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites/acc-items.h"

static const char *items_file(void) {
    static char path[4096];
    const char *src = getenv("LPQ_SOURCE_DIR");
    if (src) snprintf(path, sizeof(path), "%s/suites/lpq-140.jsonl", src);
    else snprintf(path, sizeof(path), "../suites/lpq-140.jsonl");
    return path;
}

static void test_lpq140_validates(void **state) {
    (void)state;
    struct lpq_acc_set *s = NULL;
    struct lpq_err err;
    lpq_err_clear(&err);
    enum lpq_status st = lpq_acc_set_load(items_file(), &s, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, LPQ_STATUS_OK);
    assert_int_equal((int)s->n, 140);
    int counts[6] = { 0 };
    int types[3] = { 0 };
    int positions[16] = { 0 };
    for (size_t i = 0; i < s->n; i++) {
        const struct lpq_acc_item *it = &s->items[i];
        bool found = false;
        for (int c = 0; c < 6; c++)
            if (!strcmp(it->category, lpq_acc_categories[c].name)) { counts[c]++; found = true; }
        assert_true(found);
        types[it->type]++;
        /* ids: <category prefix>-NNN, numbered from 001 within the category */
        char want_id[32];
        for (int c = 0; c < 6; c++)
            if (!strcmp(it->category, lpq_acc_categories[c].name))
                snprintf(want_id, sizeof(want_id), "%s-%03d", lpq_acc_categories[c].id_prefix, counts[c]);
        assert_string_equal(it->id, want_id);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(it->id, s->items[j].id);
        if (it->type == LPQ_ACC_MC) {
            assert_true(it->n_choices >= 2);
            assert_true(it->answer >= 0 && it->answer < it->n_choices);
            positions[it->answer]++;
        }
        if (it->type == LPQ_ACC_TOOL_CALL) {
            /* the expected call validates against its own tool's schema */
            const char *name = json_string_value(json_object_get(it->expected, "name"));
            json_t *tool = NULL, *t;
            size_t k;
            json_array_foreach(it->tools, k, t) if (!strcmp(json_string_value(json_object_get(t, "name")), name)) tool = t;
            assert_non_null(tool);
            char why[256] = "";
            json_t *params = json_object_get(tool, "parameters");
            assert_true(lpq_acc_schema_check(params, why, sizeof(why)));
            bool ok = lpq_acc_schema_validate(params, json_object_get(it->expected, "arguments"), why, sizeof(why));
            if (!ok) fprintf(stderr, "%s: %s\n", it->id, why);
            assert_true(ok);
            /* and every required argument is one the schema requires or declares */
            json_t *r;
            json_array_foreach(json_object_get(it->expected, "required"), k, r)
                assert_non_null(json_object_get(json_object_get(params, "properties"), json_string_value(r)));
        }
    }
    for (int c = 0; c < 6; c++) assert_int_equal(counts[c], lpq_acc_categories[c].count);
    assert_int_equal(counts[0], 25);
    assert_int_equal(counts[4], 20);
    assert_int_equal(counts[5], 20);
    assert_int_equal(types[LPQ_ACC_TOOL_CALL], 20);
    assert_int_equal(types[LPQ_ACC_NUMERIC], 25);
    assert_int_equal(types[LPQ_ACC_MC], 95);
    /* right answers are spread over the positions: a scorer that favours one cannot look good */
    for (int p = 0; p < 16; p++) assert_true(positions[p] <= 95 * 4 / 10);
    /* nor does length give the answer away (raw log-likelihood favours short choices,
     * per-character normalisation long ones): the right choice is rarely the unique longest */
    for (int c = 0; c < 6; c++) {
        int n = 0, longest = 0;
        for (size_t i = 0; i < s->n; i++) {
            const struct lpq_acc_item *it = &s->items[i];
            if (it->type != LPQ_ACC_MC || strcmp(it->category, lpq_acc_categories[c].name)) continue;
            size_t la = strlen(it->choices[it->answer]);
            bool uniq = true;
            for (int k = 0; k < it->n_choices; k++)
                if (k != it->answer && strlen(it->choices[k]) >= la) uniq = false;
            n++;
            longest += uniq;
        }
        assert_true(longest * 10 <= n * 3);
    }
    /* ids are stable: spot-check a few known ones */
    assert_string_equal(s->items[0].id, "know-001");
    assert_string_equal(s->items[139].id, "tool-020");
    lpq_acc_set_free(s);
}

/* Writes text to a scratch file and loads it; returns the status, message in err. */
static enum lpq_status load_text(const char *name, const char *text, struct lpq_err *err) {
    const char *p = tu_tmp(name);
    assert_int_equal(tu_write_file(p, text, strlen(text)), 0);
    struct lpq_acc_set *s = NULL;
    lpq_err_clear(err);
    enum lpq_status st = lpq_acc_set_load(p, &s, err);
    lpq_acc_set_free(s);
    return st;
}

#define MC1 "{\"id\":\"know-001\",\"category\":\"knowledge\",\"difficulty\":\"easy\",\"type\":\"mc\",\"prompt\":\"Q?\",\"choices\":[\"a\",\"b\"],\"answer\":1}\n"
#define MC2 "{\"id\":\"know-002\",\"category\":\"knowledge\",\"difficulty\":\"easy\",\"type\":\"mc\",\"prompt\":\"Q?\",\"choices\":[\"a\",\"b\"],\"answer\":0}\n"

static void test_bad_files_name_file_and_line(void **state) {
    (void)state;
    struct lpq_err err;
    assert_int_equal(load_text("ok.jsonl", MC1 "\n" MC2, &err), LPQ_STATUS_OK);

    assert_int_equal(load_text("broken.jsonl", MC1 "{\"id\": \"know-002\", \"category\n" MC2, &err), LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "broken.jsonl:2:"));

    assert_int_equal(load_text("dup.jsonl", MC1 MC2 MC1, &err), LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "dup.jsonl:3:"));
    assert_non_null(strstr(err.msg, "duplicate id 'know-001'"));
    assert_non_null(strstr(err.msg, "line 1"));

    assert_int_equal(load_text("type.jsonl", MC1 "{\"id\":\"know-009\",\"category\":\"knowledge\",\"difficulty\":\"easy\","
                                             "\"type\":\"essay\",\"prompt\":\"Q?\"}\n", &err), LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "type.jsonl:2:"));
    assert_non_null(strstr(err.msg, "unknown type 'essay'"));

    assert_int_equal(load_text("missing.jsonl", MC1 MC2 "{\"id\":\"know-003\",\"category\":\"knowledge\",\"type\":\"mc\","
                                                "\"prompt\":\"Q?\",\"choices\":[\"a\",\"b\"],\"answer\":0}\n", &err),
                     LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "missing.jsonl:3:"));
    assert_non_null(strstr(err.msg, "missing field 'difficulty'"));

    assert_int_equal(load_text("range.jsonl", "{\"id\":\"know-001\",\"category\":\"knowledge\",\"difficulty\":\"easy\","
                                              "\"type\":\"mc\",\"prompt\":\"Q?\",\"choices\":[\"a\",\"b\"],\"answer\":2}\n", &err),
                     LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "range.jsonl:1:"));

    /* a tool item whose expected call breaks its own schema (string where an integer is due) */
    assert_int_equal(load_text("tool.jsonl",
                               "{\"id\":\"tool-001\",\"category\":\"tool_calling\",\"difficulty\":\"easy\",\"type\":\"tool_call\","
                               "\"prompt\":\"timer 5\",\"tools\":[{\"name\":\"set_timer\",\"parameters\":{\"type\":\"object\","
                               "\"properties\":{\"minutes\":{\"type\":\"integer\"}},\"required\":[\"minutes\"]}}],"
                               "\"expected\":{\"name\":\"set_timer\",\"arguments\":{\"minutes\":\"five\"},\"required\":[\"minutes\"],"
                               "\"compare\":{\"minutes\":\"numeric\"}}}\n", &err),
                     LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "tool.jsonl:1:"));
    assert_non_null(strstr(err.msg, "$.minutes: expected integer"));

    assert_int_equal(load_text("unknown-field.jsonl", "{\"id\":\"know-001\",\"category\":\"knowledge\",\"difficulty\":\"easy\","
                                                      "\"type\":\"mc\",\"prompt\":\"Q?\",\"choises\":[\"a\",\"b\"],\"answer\":0}\n", &err),
                     LPQ_STATUS_BAD_FILE);
    assert_non_null(strstr(err.msg, "unknown field 'choises'"));

    struct lpq_acc_set *s = NULL;
    assert_int_equal(lpq_acc_set_load(tu_tmp("does-not-exist.jsonl"), &s, &err), LPQ_STATUS_IO);
    assert_null(s);
}

static void test_schema_subset(void **state) {
    (void)state;
    json_t *sc = json_loads("{\"type\":\"object\",\"properties\":{\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
                            "\"unit\":{\"type\":\"string\",\"enum\":[\"c\",\"f\"]},\"n\":{\"type\":\"integer\"}},"
                            "\"required\":[\"tags\"]}", 0, NULL);
    char why[128];
    assert_true(lpq_acc_schema_check(sc, why, sizeof(why)));
    json_t *v = json_loads("{\"tags\":[\"a\",\"b\"],\"unit\":\"c\",\"n\":3}", 0, NULL);
    assert_true(lpq_acc_schema_validate(sc, v, why, sizeof(why)));
    json_decref(v);
    v = json_loads("{\"tags\":[\"a\",2]}", 0, NULL);
    assert_false(lpq_acc_schema_validate(sc, v, why, sizeof(why)));
    assert_string_equal(why, "$.tags[1]: expected string");
    json_decref(v);
    v = json_loads("{\"tags\":[],\"unit\":\"k\"}", 0, NULL);
    assert_false(lpq_acc_schema_validate(sc, v, why, sizeof(why)));
    assert_string_equal(why, "$.unit: value not in enum");
    json_decref(v);
    v = json_loads("{\"unit\":\"c\"}", 0, NULL);
    assert_false(lpq_acc_schema_validate(sc, v, why, sizeof(why)));
    assert_string_equal(why, "$: missing required 'tags'");
    json_decref(v);
    v = json_loads("{\"tags\":[],\"n\":2.5}", 0, NULL);
    assert_false(lpq_acc_schema_validate(sc, v, why, sizeof(why)));
    json_decref(v);
    json_decref(sc);
    /* schemas outside the subset are refused */
    sc = json_loads("{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"strng\"}}}", 0, NULL);
    assert_false(lpq_acc_schema_check(sc, why, sizeof(why)));
    assert_non_null(strstr(why, "unknown type 'strng'"));
    json_decref(sc);
    sc = json_loads("{\"type\":\"object\",\"required\":[\"x\"]}", 0, NULL);
    assert_false(lpq_acc_schema_check(sc, why, sizeof(why)));
    json_decref(sc);
    sc = json_loads("{\"type\":\"string\",\"pattern\":\"^a\"}", 0, NULL);
    assert_false(lpq_acc_schema_check(sc, why, sizeof(why)));
    assert_non_null(strstr(why, "unsupported schema keyword 'pattern'"));
    json_decref(sc);
}

static void test_sampling_is_seeded(void **state) {
    (void)state;
    struct lpq_acc_set *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(lpq_acc_set_load(items_file(), &a, NULL), LPQ_STATUS_OK);
    assert_int_equal(lpq_acc_set_load(items_file(), &b, NULL), LPQ_STATUS_OK);
    assert_int_equal(lpq_acc_set_load(items_file(), &c, NULL), LPQ_STATUS_OK);
    lpq_acc_set_sample(a, 10, 7);
    lpq_acc_set_sample(b, 10, 7);
    lpq_acc_set_sample(c, 10, 8);
    assert_int_equal((int)a->n, 10);
    assert_int_equal((int)a->n_total, 140);
    bool differ = false;
    for (size_t i = 0; i < 10; i++) {
        assert_string_equal(a->items[i].id, b->items[i].id);
        differ |= strcmp(a->items[i].id, c->items[i].id) != 0;
        if (i) assert_true(a->items[i].line > a->items[i - 1].line);   /* original order kept */
    }
    assert_true(differ);
    lpq_acc_set_free(a);
    lpq_acc_set_free(b);
    lpq_acc_set_free(c);
}

int main(void) {
    tu_use_cmocka_allocator();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lpq140_validates),
        cmocka_unit_test(test_bad_files_name_file_and_line),
        cmocka_unit_test(test_schema_subset),
        cmocka_unit_test(test_sampling_is_seeded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
