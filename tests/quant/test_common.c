/*
 * test_common.c — status names/messages, error buffers, the log callback and the
 * replaceable allocator.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "quant/common.h"

static void test_status_names(void **state) {
    (void)state;
    assert_string_equal(lpq_status_name(LPQ_STATUS_OK), "LPQ_STATUS_OK");
    assert_string_equal(lpq_status_name(LPQ_STATUS_BAD_FILE), "LPQ_STATUS_BAD_FILE");
    assert_string_equal(lpq_status_str(LPQ_STATUS_BAD_FILE), "malformed file");
    assert_string_equal(lpq_status_name((enum lpq_status)-999), "LPQ_STATUS_UNKNOWN");
    assert_string_equal(lpq_status_str((enum lpq_status)12345), "unknown status");
    /* Every error is negative and names are unique. */
#define X(n, v, m) assert_true(v <= 0);
    LPQ_STATUS_MAP(X)
#undef X
}

static void test_err_set_one_line(void **state) {
    (void)state;
    struct lpq_err e;
    lpq_err_clear(&e);
    assert_int_equal(e.status, LPQ_STATUS_OK);
    assert_int_equal(lpq_err_set(&e, LPQ_STATUS_IO, "a\nb %d", 7), LPQ_STATUS_IO);
    assert_int_equal(e.status, LPQ_STATUS_IO);
    assert_string_equal(e.msg, "a b 7");
    assert_int_equal(lpq_err_set(NULL, LPQ_STATUS_RANGE, "x"), LPQ_STATUS_RANGE);
}

static int g_calls;
static char g_last[256];
static void capture(enum lpq_log_level lvl, const char *msg, void *user) {
    g_calls++;
    *(int *)user = (int)lvl;
    snprintf(g_last, sizeof(g_last), "%s", msg);
}

static void test_log_callback(void **state) {
    (void)state;
    int lvl = -1;
    lpq_log_set(capture, &lvl);
    lpq_log(LPQ_LOG_WARN, "hello %s", "world");
    assert_int_equal(g_calls, 1);
    assert_int_equal(lvl, LPQ_LOG_WARN);
    assert_string_equal(g_last, "hello world");
    lpq_log_set(NULL, NULL);
    lpq_log(LPQ_LOG_DEBUG, "not captured");
    assert_int_equal(g_calls, 1);
}

static void test_cmocka_allocator_sees_allocations(void **state) {
    (void)state;
    tu_use_cmocka_allocator();
    char *s = lpq_strdup("abc");
    assert_non_null(s);
    assert_string_equal(s, "abc");
    void *a = lpq_malloc_aligned(100, 64);
    assert_non_null(a);
    assert_int_equal((uintptr_t)a % 64, 0);
    lpq_free_aligned(a);
    lpq_free(s);
    assert_null(lpq_malloc_array(SIZE_MAX / 2, 4));
    lpq_set_allocator(NULL);
}

static void test_overflow_helpers(void **state) {
    (void)state;
    uint64_t r = 5;
    assert_false(lpq_mul_u64(1ull << 40, 1ull << 30, &r));
    assert_int_equal(r, 5);
    assert_true(lpq_mul_u64(1ull << 20, 1ull << 30, &r));
    assert_int_equal(r, 1ull << 50);
    assert_false(lpq_add_u64(UINT64_MAX, 1, &r));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_err_set_one_line),
        cmocka_unit_test(test_log_callback),
        cmocka_unit_test(test_cmocka_allocator_sees_allocations),
        cmocka_unit_test(test_overflow_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
