/* http_response_test.c - answer framing and the JSON error body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "http_response.h"

static void test_date_is_imf_fixdate(void **state)
{
    struct ing_http_date date = {0};

    (void)state;
    ing_http_date_update(&date, 784111777); /* RFC 9110's example */
    assert_string_equal(date.text, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_int_equal(strlen(date.text), ING_HTTP_DATE_LEN);
}

static void test_answer_has_fixed_headers(void **state)
{
    char buf[512];
    struct ing_http_out out = {buf, 0, sizeof(buf)};
    struct ing_http_date date = {.second = -1};
    struct ing_http_answer a = {.status = 202,
                                .keep_alive = true,
                                .body = "{\"status\":\"queued\"}",
                                .body_len = 19};

    (void)state;
    ing_http_date_update(&date, 0);
    assert_true(ing_http_response_append(&out, &a, &date));
    buf[out.len] = '\0';
    assert_string_equal(buf, "HTTP/1.1 202 Accepted\r\n"
                             "Content-Type: application/json\r\n"
                             "Content-Length: 19\r\n"
                             "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                             "\r\n"
                             "{\"status\":\"queued\"}");
}

static void test_close_keepalive_and_head(void **state)
{
    char buf[512];
    struct ing_http_out out = {buf, 0, sizeof(buf)};
    struct ing_http_date date = {0};
    struct ing_http_answer a = {.status = 405,
                                .keep_alive = false,
                                .extra_headers = "Allow: POST\r\n",
                                .body = "{}",
                                .body_len = 2,
                                .omit_body = true};

    (void)state;
    assert_true(ing_http_response_append(&out, &a, &date));
    buf[out.len] = '\0';
    assert_non_null(strstr(buf, "Connection: close\r\nAllow: POST\r\n\r\n"));
    assert_non_null(strstr(buf, "Content-Length: 2\r\n"));
    assert_int_equal(buf[out.len - 1], '\n'); /* HEAD: no body bytes */

    out.len = 0;
    a.keep_alive = true;
    a.announce_keep_alive = true;
    a.omit_body = false;
    assert_true(ing_http_response_append(&out, &a, &date));
    buf[out.len] = '\0';
    assert_non_null(strstr(buf, "Connection: keep-alive\r\n"));
}

static void test_answer_that_does_not_fit_leaves_out_unchanged(void **state)
{
    char buf[64];
    struct ing_http_out out = {buf, 10, sizeof(buf)};
    struct ing_http_date date = {0};
    struct ing_http_answer a = {
        .status = 200, .keep_alive = true, .body = "{}", .body_len = 2};

    (void)state;
    assert_false(ing_http_response_append(&out, &a, &date));
    assert_int_equal(out.len, 10);
}

static void test_error_body_carries_details_and_escapes(void **state)
{
    char body[512];
    struct ing_err err;

    (void)state;
    ing_err_clear(&err);
    ing_err_set(&err, ING_ERR_BAD_REQUEST, "invalid \\u escape \"x\"", 37);
    err.index = 2;
    err.field = "message";
    size_t len = ing_http_error_body(body, sizeof(body), &err);
    assert_int_equal(len, strlen(body));
    assert_string_equal(body, "{\"status\":\"rejected\",\"error\":"
                              "\"invalid \\\\u escape \\\"x\\\"\","
                              "\"field\":\"message\",\"index\":2,"
                              "\"offset\":37}");

    ing_err_clear(&err);
    ing_err_set(&err, ING_ERR_UNAVAILABLE, "spool full", ING_ERR_NONE);
    ing_http_error_body(body, sizeof(body), &err);
    assert_string_equal(
        body, "{\"status\":\"unavailable\",\"error\":\"spool full\"}");
}

static void test_error_body_is_cut_not_overrun(void **state)
{
    char body[40];
    struct ing_err err;

    (void)state;
    ing_err_clear(&err);
    ing_err_set(&err, ING_ERR_BAD_REQUEST,
                "a message far longer than the buffer it goes into", 1);
    size_t len = ing_http_error_body(body, sizeof(body), &err);
    assert_true(len < sizeof(body));
    assert_int_equal(body[len], '\0');
    assert_int_equal(body[len - 1], '}');
}

static void test_reasons(void **state)
{
    (void)state;
    assert_string_equal(ing_http_reason(413), "Content Too Large");
    assert_string_equal(ing_http_reason(431),
                        "Request Header Fields Too Large");
    assert_string_equal(ing_http_reason(599), "Internal Server Error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_is_imf_fixdate),
        cmocka_unit_test(test_answer_has_fixed_headers),
        cmocka_unit_test(test_close_keepalive_and_head),
        cmocka_unit_test(test_answer_that_does_not_fit_leaves_out_unchanged),
        cmocka_unit_test(test_error_body_carries_details_and_escapes),
        cmocka_unit_test(test_error_body_is_cut_not_overrun),
        cmocka_unit_test(test_reasons),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
