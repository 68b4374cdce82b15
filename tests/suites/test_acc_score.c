/*
 * test_acc_score.c — the accuracy scorers on hand-made outputs: choice picking under each
 * normalisation (where acc, acc_norm and acc_norm_tokens disagree), MC2 mass, last-number
 * extraction, numeric tolerance, tool calls that are right, wrong and malformed (malformed
 * scores zero, never crashes), and Wilson intervals against hand-computed values.
 */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "suites/acc-score.h"
#include "suites/stats.h"

static void test_mc_pick_norms(void **state) {
    (void)state;
    /* choice 0: short and fairly likely; choice 1: long text, fewer tokens per char */
    struct lpq_acc_ll c[3] = {
        { .ll = -4.0, .n_tokens = 2, .n_chars = 2, .n_bytes = 2 },
        { .ll = -6.0, .n_tokens = 2, .n_chars = 6, .n_bytes = 6 },
        { .ll = -9.0, .n_tokens = 6, .n_chars = 4, .n_bytes = 8 },   /* "éé.." : bytes > chars */
    };
    assert_int_equal(lpq_acc_mc_pick(c, 3, LPQ_ACC_NORM_NONE), 0);     /* -4 > -6 > -9 */
    assert_int_equal(lpq_acc_mc_pick(c, 3, LPQ_ACC_NORM_CHARS), 1);    /* -2, -1, -2.25 */
    assert_int_equal(lpq_acc_mc_pick(c, 3, LPQ_ACC_NORM_TOKENS), 2);   /* -2, -3, -1.5 */
    assert_int_equal(lpq_acc_mc_pick(c, 3, LPQ_ACC_NORM_BYTES), 1);    /* -2, -1, -1.125 */
    /* ties go to the lower index */
    struct lpq_acc_ll t[2] = { { .ll = -1, .n_chars = 1 }, { .ll = -1, .n_chars = 1 } };
    assert_int_equal(lpq_acc_mc_pick(t, 2, LPQ_ACC_NORM_NONE), 0);
    assert_int_equal(lpq_acc_mc_pick(t, 0, LPQ_ACC_NORM_NONE), -1);
    assert_int_equal(lpq_acc_utf8_chars("h\xc3\xa9llo", 6), 5);
}

static void test_mc2_mass(void **state) {
    (void)state;
    struct lpq_acc_ll c[3] = { { .ll = log(0.2) }, { .ll = log(0.3) }, { .ll = log(0.5) } };
    uint8_t tr[3] = { 1, 0, 1 };
    assert_float_equal(lpq_acc_mc2(c, tr, 3), 0.7, 1e-12);
    /* unnormalised log-likelihoods: only ratios matter */
    for (int i = 0; i < 3; i++) c[i].ll -= 1000;
    assert_float_equal(lpq_acc_mc2(c, tr, 3), 0.7, 1e-9);
    uint8_t none[3] = { 0, 0, 0 };
    assert_float_equal(lpq_acc_mc2(c, none, 3), 0.0, 0);
}

static void test_last_number(void **state) {
    (void)state;
    struct { const char *text; double want; } ok[] = {
        { "The answer is 42.", 42 },
        { "It costs $1,234.50 in total", 1234.5 },
        { "about 3/4 of the cake", 0.75 },
        { "It was -5 degrees", -5 },
        { "pages 3-5", 5 },
        { "first 7, then 12, finally 30", 30 },
        { "x = 18.\n", 18 },
        { "a 100% rise", 100 },
        { "1,2", 2 },
        { "The probability is 1/6", 1.0 / 6 },
        { "0.1667", 0.1667 },
        { "#### 1,200,000", 1200000 },
        { "€80", 80 },
    };
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(ok); i++) {
        double v = -999;
        assert_true(lpq_acc_last_number(ok[i].text, &v));
        if (fabs(v - ok[i].want) > 1e-9) fail_msg("'%s' → %g, want %g", ok[i].text, v, ok[i].want);
    }
    double v = 123;
    assert_false(lpq_acc_last_number("no digits here.", &v));
    assert_false(lpq_acc_last_number("", &v));
    assert_false(lpq_acc_last_number(NULL, &v));
    assert_float_equal(v, 123, 0);   /* untouched */
    assert_true(lpq_acc_numeric_match(4.8, 4.8, 0.001));
    assert_true(lpq_acc_numeric_match(0.1667, 1.0 / 6, 0.002));
    assert_false(lpq_acc_numeric_match(0.17, 1.0 / 6, 0.002));
    assert_false(lpq_acc_numeric_match(391.5, 391, 0));
    assert_true(lpq_acc_numeric_match(391.0000001, 391, 0));
    assert_false(lpq_acc_numeric_match(NAN, 1, 0));
}

static json_t *tools, *expected, *tools2, *expected2;

static int setup_tools(void **state) {
    (void)state;
    tools = json_loads("[{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\",\"properties\":{"
                       "\"city\":{\"type\":\"string\"},\"unit\":{\"type\":\"string\",\"enum\":[\"celsius\",\"fahrenheit\"]}},"
                       "\"required\":[\"city\"]}},"
                       "{\"name\":\"send_email\",\"parameters\":{\"type\":\"object\",\"properties\":{\"to\":{\"type\":\"string\"}}}}]",
                       0, NULL);
    expected = json_loads("{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Lisbon\",\"unit\":\"celsius\"},"
                          "\"required\":[\"city\",\"unit\"],\"compare\":{\"city\":\"casefold\",\"unit\":\"exact\"}}", 0, NULL);
    tools2 = json_loads("[{\"name\":\"add_tags\",\"parameters\":{\"type\":\"object\",\"properties\":{"
                        "\"item_id\":{\"type\":\"integer\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
                        "\"note\":{\"type\":\"string\"}},\"required\":[\"item_id\",\"tags\"]}}]", 0, NULL);
    expected2 = json_loads("{\"name\":\"add_tags\",\"arguments\":{\"item_id\":42,\"tags\":[\"work\",\"urgent\"],\"note\":\"x\"},"
                           "\"required\":[\"item_id\",\"tags\"],\"compare\":{\"item_id\":\"numeric\",\"tags\":\"set\",\"note\":\"exact\"}}",
                           0, NULL);
    return tools && expected && tools2 && expected2 ? 0 : -1;
}

static int teardown_tools(void **state) {
    (void)state;
    json_decref(tools);
    json_decref(expected);
    json_decref(tools2);
    json_decref(expected2);
    return 0;
}

static void score(const char *out, bool js, bool fn, int n, int ok, bool correct) {
    struct lpq_acc_tool_score s;
    lpq_acc_tool_score(out, tools, expected, &s);
    if (s.valid_json != js || s.right_function != fn || s.n_args != n || s.n_args_ok != ok || s.correct != correct)
        fail_msg("'%s': json %d fn %d args %d/%d correct %d (%s)", out ? out : "(null)", s.valid_json, s.right_function,
                 s.n_args_ok, s.n_args, s.correct, s.note);
}

static void test_tool_right_wrong_malformed(void **state) {
    (void)state;
    /* right, in the shapes models emit */
    score("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"lisbon\", \"unit\": \"celsius\"}}", 1, 1, 2, 2, 1);
    score("Sure! <tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Lisbon \",\"unit\":\"celsius\"}}\n</tool_call>", 1, 1, 2, 2, 1);
    score("```json\n{\"name\":\"get_weather\",\"parameters\":{\"city\":\"LISBON\",\"unit\":\"celsius\"}}\n```", 1, 1, 2, 2, 1);
    score("{\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Lisbon\\\",\\\"unit\\\":\\\"celsius\\\"}\"}}", 1, 1, 2, 2, 1);
    score("[{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Lisbon\",\"unit\":\"celsius\"}}]", 1, 1, 2, 2, 1);
    /* wrong */
    score("{\"name\": \"send_email\", \"arguments\": {\"to\": \"a@b.c\"}}", 1, 0, 2, 0, 0);
    score("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Porto\", \"unit\": \"celsius\"}}", 1, 1, 2, 1, 0);
    score("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lisbon\"}}", 1, 1, 2, 1, 0);           /* missing */
    score("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lisbon\", \"unit\": \"Celsius\"}}", 1, 1, 2, 1, 0); /* exact */
    score("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lisbon\", \"unit\": \"celsius\", \"zip\": 1}}", 1, 1, 3, 2, 0);
    /* malformed: zero, never a crash */
    score("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lis", 0, 0, 2, 0, 0);
    score("get_weather(city=\"Lisbon\")", 0, 0, 2, 0, 0);
    score("{\"arguments\": {\"city\": \"Lisbon\"}}", 0, 0, 2, 0, 0);
    score("{\"name\": 17}", 0, 0, 2, 0, 0);
    score("", 0, 0, 2, 0, 0);
    score(NULL, 0, 0, 2, 0, 0);
    score("{{{{[[[[\"\\u12", 0, 0, 2, 0, 0);
    score("\xff\xfe{\"name\":\"get_weather\"\x80}", 0, 0, 2, 0, 0);
    score("{\"name\": \"get_weather\", \"arguments\": [1, 2]}", 1, 1, 2, 0, 0);

    /* set and numeric comparisons; an optional argument is scored only when given */
    struct lpq_acc_tool_score s;
    lpq_acc_tool_score("{\"name\":\"add_tags\",\"arguments\":{\"item_id\":\"42\",\"tags\":[\"Urgent\",\"work\"]}}", tools2, expected2, &s);
    assert_true(s.correct);
    assert_int_equal(s.n_args, 2);
    assert_false(s.schema_ok);   /* "42" is a string where the schema wants an integer */
    lpq_acc_tool_score("{\"name\":\"add_tags\",\"arguments\":{\"item_id\":42.0,\"tags\":[\"work\"],\"note\":\"x\"}}", tools2, expected2, &s);
    assert_false(s.correct);
    assert_int_equal(s.n_args, 3);
    assert_int_equal(s.n_args_ok, 2);
    lpq_acc_tool_score("{\"name\":\"add_tags\",\"arguments\":{\"item_id\":43,\"tags\":[\"work\",\"urgent\",\"q3\"]}}", tools2, expected2, &s);
    assert_int_equal(s.n_args_ok, 0);
    assert_true(s.schema_ok);
}

static void test_arg_match_modes(void **state) {
    (void)state;
    json_t *a = json_string("Casa Verde"), *b = json_string("casa verde."), *n1 = json_integer(4), *n2 = json_real(4.0),
           *s4 = json_string("4"), *s1200 = json_string("1,200"), *n1200 = json_integer(1200);
    assert_true(lpq_acc_arg_match("casefold", a, b));
    assert_false(lpq_acc_arg_match("exact", a, b));
    assert_true(lpq_acc_arg_match("exact", n1, n2));
    assert_false(lpq_acc_arg_match("exact", n1, s4));
    assert_true(lpq_acc_arg_match("numeric", n1, s4));
    assert_true(lpq_acc_arg_match("numeric", n1200, s1200));
    assert_false(lpq_acc_arg_match("numeric", n1, a));
    assert_false(lpq_acc_arg_match("bogus", a, a));
    assert_false(lpq_acc_arg_match("set", a, a));
    json_decref(a);
    json_decref(b);
    json_decref(n1);
    json_decref(n2);
    json_decref(s4);
    json_decref(s1200);
    json_decref(n1200);
}

static void test_wilson_hand_computed(void **state) {
    (void)state;
    double lo, hi;
    /* 7/10: centre (0.7 + z²/20)/(1 + z²/10), half-width z·sqrt(0.021 + z²/400)/(1 + z²/10) */
    lpq_stats_wilson(7, 10, 1.96, &lo, &hi);
    assert_float_equal(lo, 0.396774, 1e-5);
    assert_float_equal(hi, 0.892210, 1e-5);
    /* 0/20: [0, (z²/20)/(1 + z²/20)] = [0, 0.161130] */
    lpq_stats_wilson(0, 20, 1.96, &lo, &hi);
    assert_float_equal(lo, 0.0, 1e-12);
    assert_float_equal(hi, 0.161130, 1e-5);
    /* 35/140 (a quarter, chance on 4-way questions): [0.1856, 0.3278] */
    lpq_stats_wilson(35, 140, 1.96, &lo, &hi);
    assert_float_equal(lo, 0.185598, 1e-5);
    assert_float_equal(hi, 0.327755, 1e-5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mc_pick_norms),
        cmocka_unit_test(test_mc2_mass),
        cmocka_unit_test(test_last_number),
        cmocka_unit_test_setup_teardown(test_tool_right_wrong_malformed, setup_tools, teardown_tools),
        cmocka_unit_test(test_arg_match_modes),
        cmocka_unit_test(test_wilson_hand_computed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
