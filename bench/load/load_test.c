/*
 * load_test.c - unit tests of the load generator's histogram and HTTP
 * response parser (`make bench-test`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ing_err.h"
#include "load_hist.h"
#include "load_http.h"

#include <stdio.h>
#include <string.h>

static struct ing_load_hist hist;

static void test_hist_exact_below_256(void **state)
{
    (void)state;
    ing_load_hist_reset(&hist);
    for (uint64_t v = 1; v <= 100; v++) {
        ing_load_hist_add(&hist, v);
    }
    assert_int_equal(ing_load_hist_quantile(&hist, 0.5), 50);
    assert_int_equal(ing_load_hist_quantile(&hist, 0.99), 99);
    assert_int_equal(ing_load_hist_quantile(&hist, 1.0), 100);
}

/* Every value, across the range, reads back within 1% and never low. */
static void test_hist_relative_error(void **state)
{
    (void)state;
    for (uint64_t v = 257; v < (1ull << 62); v = v * 3 + 7) {
        ing_load_hist_reset(&hist);
        ing_load_hist_add(&hist, v);
        ing_load_hist_add(&hist, v * 2);

        uint64_t got = ing_load_hist_quantile(&hist, 0.5);

        assert_true(got >= v);
        assert_true((double)(got - v) <= 0.01 * (double)v);
    }
}

static void test_hist_tail_and_max(void **state)
{
    (void)state;
    ing_load_hist_reset(&hist);
    for (int i = 0; i < 9990; i++) {
        ing_load_hist_add(&hist, 100000);
    }
    for (int i = 0; i < 10; i++) {
        ing_load_hist_add(&hist, 50000000);
    }
    assert_true(ing_load_hist_quantile(&hist, 0.999) <= 101000);
    assert_true(ing_load_hist_quantile(&hist, 0.9999) >= 50000000);
    assert_int_equal(ing_load_hist_quantile(&hist, 1.0), 50000000);
    assert_int_equal(hist.count, 10000);
}

static void test_hist_empty(void **state)
{
    (void)state;
    ing_load_hist_reset(&hist);
    assert_int_equal(ing_load_hist_quantile(&hist, 0.99), 0);
}

static long parse(const char *text, struct ing_load_response *rsp)
{
    return ing_load_http_response_parse(text, strlen(text), rsp);
}

static void test_http_complete(void **state)
{
    const char *text = "HTTP/1.1 202 Accepted\r\nContent-Type: "
                       "application/json\r\ncontent-length: 19\r\n\r\n"
                       "{\"status\":\"queued\"}";
    struct ing_load_response rsp;

    (void)state;
    assert_int_equal(parse(text, &rsp), (long)strlen(text));
    assert_int_equal(rsp.status, 202);
    assert_false(rsp.will_close);
}

static void test_http_partial(void **state)
{
    struct ing_load_response rsp;

    (void)state;
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Le", &rsp), ING_AGAIN);
    assert_int_equal(
        parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", &rsp),
        ING_AGAIN);
}

static void test_http_close_and_errors(void **state)
{
    struct ing_load_response rsp;

    (void)state;
    assert_int_equal(parse("HTTP/1.1 400 Bad\r\nConnection: close\r\n"
                           "Content-Length: 0\r\n\r\n",
                           &rsp),
                     58);
    assert_true(rsp.will_close);
    assert_int_equal(parse("HTTP/1.0 204 No\r\n\r\n", &rsp), 19);
    assert_true(rsp.will_close);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                           "chunked\r\n\r\n",
                           &rsp),
                     ING_ERROR);
    assert_int_equal(parse("SMTP/1.1 200 OK\r\n\r\n", &rsp), ING_ERROR);
}

/* Two answers in one read: the parser takes the first and no more. */
static void test_http_two_responses(void **state)
{
    const char *one = "HTTP/1.1 202 A\r\nContent-Length: 2\r\n\r\nok";
    char two[128];
    struct ing_load_response rsp;

    (void)state;
    snprintf(two, sizeof(two), "%s%s", one, one);
    assert_int_equal(parse(two, &rsp), (long)strlen(one));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_exact_below_256),
        cmocka_unit_test(test_hist_relative_error),
        cmocka_unit_test(test_hist_tail_and_max),
        cmocka_unit_test(test_hist_empty),
        cmocka_unit_test(test_http_complete),
        cmocka_unit_test(test_http_partial),
        cmocka_unit_test(test_http_close_and_errors),
        cmocka_unit_test(test_http_two_responses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
