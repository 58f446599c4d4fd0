/*
 * http_parse_test.c - the request head parser: one test per rule, and the
 * shared corpus of raw requests (testdata/http-requests) run through a
 * small framing loop, whole and one byte at a time.
 *
 * Every error test also feeds each prefix of its input and checks that
 * the parser says ING_AGAIN or the same error: re-parsing a longer prefix
 * must never change an earlier verdict.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_chunked.h"
#include "http_parse.h"

#define MAX_HEAD 8192

/* A string literal with its length, NUL bytes included. */
#define LIT(s) (s), (sizeof(s) - 1)

static int parse(const char *buf, size_t len, struct ing_http_request *req,
                 struct ing_err *err)
{
    ing_err_clear(err);
    return ing_http_request_parse(buf, len, MAX_HEAD, req, err);
}

/* Every proper prefix is AGAIN or the same error as the whole input. */
static void check_prefixes(const char *buf, size_t len, int full_rc,
                           const struct ing_err *full_err)
{
    for (size_t n = 0; n < len; n++) {
        struct ing_http_request req;
        struct ing_err err;
        int rc = parse(buf, n, &req, &err);

        if (rc == ING_AGAIN) {
            continue;
        }
        if (rc != ING_ERROR || full_rc != ING_ERROR ||
            err.code != full_err->code || err.offset != full_err->offset) {
            fail_msg("prefix %zu: rc=%d code=%d offset=%zu, whole input "
                     "rc=%d code=%d offset=%zu",
                     n, rc, err.code, err.offset, full_rc, full_err->code,
                     full_err->offset);
        }
    }
}

static void parse_ok_n(const char *buf, size_t len,
                       struct ing_http_request *req)
{
    struct ing_err err;
    int rc = parse(buf, len, req, &err);

    if (rc != (int)len) {
        fail_msg("rc=%d (want %zu) code=%d msg=%s offset=%zu", rc, len,
                 err.code, err.message ? err.message : "", err.offset);
    }
    assert_int_equal(req->head_bytes, len);
    check_prefixes(buf, len, rc, &err);
}

static void parse_err_n(const char *buf, size_t len, enum ing_err_code code,
                        size_t offset)
{
    struct ing_http_request req;
    struct ing_err err;
    int rc = parse(buf, len, &req, &err);

    if (rc != ING_ERROR || err.code != code || err.offset != offset) {
        fail_msg("rc=%d code=%d offset=%zu msg=%s; want code=%d offset=%zu", rc,
                 err.code, err.offset, err.message ? err.message : "", code,
                 offset);
    }
    assert_non_null(err.message);
    check_prefixes(buf, len, rc, &err);
}

#define PARSE_OK(s, req)           parse_ok_n(LIT(s), (req))
#define PARSE_ERR(s, code, offset) parse_err_n(LIT(s), (code), (offset))

static bool view_is(struct ing_view v, const char *s)
{
    return ing_view_eq(v, s);
}

/* ---- request-line --------------------------------------------------- */

static void test_simple_get(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("GET /v1/events?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", &req);
    assert_int_equal(req.method, ING_HTTP_GET);
    assert_true(view_is(req.method_name, "GET"));
    assert_true(view_is(req.target, "/v1/events?x=1"));
    assert_true(view_is(req.path, "/v1/events"));
    assert_int_equal(req.version_minor, 1);
    assert_true(req.has_host);
    assert_true(req.keep_alive);
    assert_false(req.chunked);
    assert_false(req.has_content_length);
    assert_false(req.expect_continue);
    assert_false(req.expect_unsupported);
    assert_int_equal(req.content_type.len, 0);
    assert_int_equal(req.content_encoding.len, 0);
}

static void test_methods(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("POST / HTTP/1.1\r\n\r\n", &req);
    assert_int_equal(req.method, ING_HTTP_POST);
    PARSE_OK("HEAD / HTTP/1.1\r\n\r\n", &req);
    assert_int_equal(req.method, ING_HTTP_HEAD);
    PARSE_OK("PUT / HTTP/1.1\r\n\r\n", &req);
    assert_int_equal(req.method, ING_HTTP_PUT);
    PARSE_OK("DELETE / HTTP/1.1\r\n\r\n", &req);
    assert_int_equal(req.method, ING_HTTP_DELETE);
    PARSE_OK("PATCH / HTTP/1.1\r\n\r\n", &req);
    assert_int_equal(req.method, ING_HTTP_PATCH);
    PARSE_OK("TRACE / HTTP/1.1\r\n\r\n", &req);
    assert_int_equal(req.method, ING_HTTP_TRACE);
    PARSE_OK("OPTIONS / HTTP/1.1\r\n\r\n", &req);
    assert_int_equal(req.method, ING_HTTP_OPTIONS);
    PARSE_OK("VERSION-CONTROL / HTTP/1.1\r\n\r\n", &req);
    assert_int_equal(req.method, ING_HTTP_OTHER);
    assert_true(view_is(req.method_name, "VERSION-CONTROL"));
}

static void test_method_errors(void **state)
{
    (void)state;

    /* RFC 9110 §9.1: unknown (and case-changed) methods are 501. */
    PARSE_ERR("MKCOLA / HTTP/1.1\r\n\r\n", ING_ERR_NOT_IMPLEMENTED, 0);
    PARSE_ERR("get / HTTP/1.1\r\n\r\n", ING_ERR_NOT_IMPLEMENTED, 0);
    PARSE_ERR("GE / HTTP/1.1\r\n\r\n", ING_ERR_NOT_IMPLEMENTED, 0);
    /* Decided at the first byte that no method can start with. */
    PARSE_ERR("efgh", ING_ERR_NOT_IMPLEMENTED, 0);
    PARSE_ERR("Hot", ING_ERR_NOT_IMPLEMENTED, 0);
    PARSE_ERR("GE@ / HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 2);
    PARSE_ERR(" GET / HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 0);
    PARSE_ERR("\nGET / HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 0);
    PARSE_ERR("\0GET / HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 0);
}

static void test_single_spaces(void **state)
{
    (void)state;

    PARSE_ERR("GET  / HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
    PARSE_ERR("GET /  HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    PARSE_ERR("GET\t/ HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 3);
    PARSE_ERR("GET / HTTP/1.1 \r\n\r\n", ING_ERR_BAD_REQUEST, 14);
    PARSE_ERR("GET /\r\n\r\n", ING_ERR_BAD_REQUEST, 5);
}

static void test_target_chars(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("GET /a-._~!$&'()*+,;=:@/%41%7e?q=/?&x HTTP/1.1\r\n\r\n", &req);
    assert_true(view_is(req.path, "/a-._~!$&'()*+,;=:@/%41%7e"));
    PARSE_OK("GET /a?b?c HTTP/1.1\r\n\r\n", &req);
    assert_true(view_is(req.path, "/a"));

    PARSE_ERR("GET /a\"b HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    PARSE_ERR("GET /a\\b HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    PARSE_ERR("GET /?q=| HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 8);
    PARSE_ERR("GET /a#f HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    PARSE_ERR("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 5);
    PARSE_ERR("GET /a\x7f HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    PARSE_ERR("GET /%4g HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 7);
    PARSE_ERR("GET /% HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    PARSE_ERR("GET a HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
}

static void test_absolute_form(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("GET http://h.example:8080/a/b?c HTTP/1.1\r\n\r\n", &req);
    assert_true(view_is(req.target, "http://h.example:8080/a/b?c"));
    assert_true(view_is(req.path, "/a/b"));
    PARSE_OK("GET HTTPS://h?c HTTP/1.1\r\n\r\n", &req);
    assert_true(view_is(req.path, "/"));
    PARSE_OK("GET http://[::1]:80 HTTP/1.1\r\n\r\n", &req);
    assert_true(view_is(req.path, "/"));

    PARSE_ERR("GET ftp://h/ HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
    PARSE_ERR("GET http:/h/ HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
    /* RFC 9110 §4.2.4 userinfo, §4.2.1 empty host. */
    PARSE_ERR("GET http://u:p@h/ HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 14);
    PARSE_ERR("GET http:///a HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 11);
    PARSE_ERR("GET http://h:8x/ HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 11);
    PARSE_ERR("GET http://[zz]/ HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 11);
}

static void test_asterisk_and_connect(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("OPTIONS * HTTP/1.1\r\n\r\n", &req);
    assert_true(view_is(req.target, "*"));
    assert_true(view_is(req.path, "*"));
    PARSE_ERR("GET * HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
    PARSE_ERR("OPTIONS *a HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 9);
    /* RFC 9112 §3.2.3: authority-form is for proxies. */
    PARSE_ERR("CONNECT h:443 HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 8);
    PARSE_ERR("CONNECT / HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 8);
}

static void test_version(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("GET / HTTP/1.0\r\n\r\n", &req);
    assert_int_equal(req.version_minor, 0);
    /* RFC 9110 §2.5: a higher minor version is processed as 1.1. */
    PARSE_OK("GET / HTTP/1.7\r\n\r\n", &req);
    assert_int_equal(req.version_minor, 1);

    PARSE_ERR("GET / HTTP/2.0\r\n\r\n", ING_ERR_VERSION, 11);
    PARSE_ERR("GET / HTTP/0.9\r\n\r\n", ING_ERR_VERSION, 11);
    PARSE_ERR("GET / HTTP/5.6", ING_ERR_VERSION, 11);
    PARSE_ERR("GET / http/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    PARSE_ERR("GET / HTTP/1.x\r\n\r\n", ING_ERR_BAD_REQUEST, 13);
    PARSE_ERR("GET / HTTP/1,1\r\n\r\n", ING_ERR_BAD_REQUEST, 12);
    PARSE_ERR("GET / HTTP/11.1\r\n\r\n", ING_ERR_BAD_REQUEST, 12);
    PARSE_ERR("GET / HTTP/1.11\r\n\r\n", ING_ERR_BAD_REQUEST, 14);
    PARSE_ERR("GET / RTSP/1.0\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    PARSE_ERR("GET / ICE/1.0\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
}

/* ---- line endings ---------------------------------------------------- */

static void test_line_endings(void **state)
{
    (void)state;

    /* RFC 9112 §2.2: bare LF is a MAY; we never take it. */
    PARSE_ERR("GET / HTTP/1.1\n\r\n", ING_ERR_BAD_REQUEST, 14);
    PARSE_ERR("GET / HTTP/1.1\r\r\n", ING_ERR_BAD_REQUEST, 15);
    PARSE_ERR("GET / HTTP/1.1\rA: b\r\n\r\n", ING_ERR_BAD_REQUEST, 15);
    PARSE_ERR("GET / HTTP/1.1\r\nA: b\n\r\n", ING_ERR_BAD_REQUEST, 20);
    PARSE_ERR("GET / HTTP/1.1\r\nA: b\rC: d\r\n\r\n", ING_ERR_BAD_REQUEST, 20);
    PARSE_ERR("GET / HTTP/1.1\r\nA: b\r\n\n", ING_ERR_BAD_REQUEST, 22);
    PARSE_ERR("GET / HTTP/1.1\r\nA: b\r\n\rX", ING_ERR_BAD_REQUEST, 22);
    PARSE_ERR("GET / HTTP/1.1\r\nA:\nB: c\r\n\r\n", ING_ERR_BAD_REQUEST, 18);
}

static void test_leading_empty_lines(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("\r\nGET / HTTP/1.1\r\n\r\n", &req);
    assert_true(view_is(req.target, "/"));
    PARSE_OK("\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", &req);
    assert_int_equal(req.head_bytes, 24);
    PARSE_ERR("\r\rGET / HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 0);
    PARSE_ERR("\r\n\nGET / HTTP/1.1\r\n\r\n", ING_ERR_BAD_REQUEST, 2);
}

static void test_is_blank(void **state)
{
    (void)state;

    assert_true(ing_http_request_is_blank(LIT("")));
    assert_true(ing_http_request_is_blank(LIT("\r")));
    assert_true(ing_http_request_is_blank(LIT("\r\n\r\n")));
    assert_true(ing_http_request_is_blank(LIT("\r\n\r")));
    assert_false(ing_http_request_is_blank(LIT("\n")));
    assert_false(ing_http_request_is_blank(LIT("\r\r")));
    assert_false(ing_http_request_is_blank(LIT("\r\nG")));
    assert_false(ing_http_request_is_blank(LIT("G")));
}

/* ---- field lines ------------------------------------------------------ */

static void test_field_syntax(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("GET / HTTP/1.1\r\nX-A:b\r\nX-B: \t c d \t\r\nX-C:\r\n"
             "X-D: \x80\xff\xc3\xa9\r\n\r\n",
             &req);

    /* RFC 9112 §5.2 obs-fold, §2.2 whitespace after the start-line. */
    PARSE_ERR("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", ING_ERR_BAD_REQUEST, 22);
    PARSE_ERR("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", ING_ERR_BAD_REQUEST, 22);
    PARSE_ERR("GET / HTTP/1.1\r\n Host: a\r\n\r\n", ING_ERR_BAD_REQUEST, 16);
    /* RFC 9112 §5.1: whitespace between name and colon. */
    PARSE_ERR("GET / HTTP/1.1\r\nHost : a\r\n\r\n", ING_ERR_BAD_REQUEST, 20);
    PARSE_ERR("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", ING_ERR_BAD_REQUEST, 20);
    PARSE_ERR("GET / HTTP/1.1\r\n: a\r\n\r\n", ING_ERR_BAD_REQUEST, 16);
    PARSE_ERR("GET / HTTP/1.1\r\nA@: a\r\n\r\n", ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("GET / HTTP/1.1\r\nA\x01: a\r\n\r\n", ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("GET / HTTP/1.1\r\nA\r\n\r\n", ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("GET / HTTP/1.1\r\n\xc3\xa9: a\r\n\r\n", ING_ERR_BAD_REQUEST, 16);
}

static void test_field_value_ctl(void **state)
{
    (void)state;

    /* RFC 9110 §5.5: CTLs other than HTAB, DEL, NUL are refused. */
    PARSE_ERR("GET / HTTP/1.1\r\nA: \x0c\r\n\r\n", ING_ERR_BAD_REQUEST, 19);
    PARSE_ERR("GET / HTTP/1.1\r\nA: b\x0c"
              "c\r\n\r\n",
              ING_ERR_BAD_REQUEST, 20);
    PARSE_ERR("GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", ING_ERR_BAD_REQUEST, 20);
    PARSE_ERR("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", ING_ERR_BAD_REQUEST, 20);
    PARSE_ERR("GET / HTTP/1.1\r\nA: \x1b\r\n\r\n", ING_ERR_BAD_REQUEST, 19);
}

/* ---- framing fields -------------------------------------------------- */

static void test_content_length(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("POST / HTTP/1.1\r\nContent-Length: \t 0042 \t\r\n\r\n", &req);
    assert_true(req.has_content_length);
    assert_int_equal(req.content_length, 42);
    PARSE_OK("POST / HTTP/1.1\r\ncontent-LENGTH: 9223372036854775807\r\n\r\n",
             &req);
    assert_int_equal(req.content_length, INT64_MAX);

    PARSE_ERR("POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n",
              ING_ERR_BAD_REQUEST, 36);
    PARSE_ERR("POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
}

static void test_transfer_encoding(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("POST / HTTP/1.1\r\nTransfer-Encoding:  ChUnKeD \r\n\r\n", &req);
    assert_true(req.chunked);
    assert_false(req.has_content_length);

    PARSE_ERR("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
              "Transfer-Encoding: chunked\r\n\r\n",
              ING_ERR_BAD_REQUEST, 45);
    /*
     * The corpus cases with these shapes are refused for the '#' in their
     * target before their fields are read; these check the fields.
     */
    PARSE_ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
              "Transfer-Encoding: deflate\r\n\r\n",
              ING_ERR_BAD_REQUEST, 45);
    PARSE_ERR("POST / HTTP/1.1\r\nTransfer-Encoding: deflate\r\n"
              "Transfer-Encoding: chunked\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, deflate\r\n"
              "\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunkedchunked\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    PARSE_ERR("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n"
              "Content-Length: 5\r\n\r\nWorld",
              ING_ERR_BAD_REQUEST, 17);
    /* RFC 9112 §6.1: TE in HTTP/1.0 means faulty framing. */
    PARSE_ERR("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
              ING_ERR_BAD_REQUEST, 17);
    /* RFC 9112 §6.3, §11.2: both framings, either order. */
    PARSE_ERR("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
              "Transfer-Encoding: chunked\r\n\r\n",
              ING_ERR_BAD_REQUEST, 36);
    PARSE_ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
              "Content-Length: 5\r\n\r\n",
              ING_ERR_BAD_REQUEST, 45);
}

static void test_host(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("GET / HTTP/1.1\r\n\r\n", &req);
    assert_false(req.has_host);
    PARSE_OK("GET / HTTP/1.1\r\nHost:\r\n\r\n", &req);
    assert_true(req.has_host);
    PARSE_OK("GET / HTTP/1.1\r\nhost: [::1]:8080\r\n\r\n", &req);
    PARSE_OK("GET / HTTP/1.1\r\nHost: a.b-c_d~%41!=:1\r\n\r\n", &req);

    /* RFC 9112 §3.2: one Host, with a valid value. */
    PARSE_ERR("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
              ING_ERR_BAD_REQUEST, 25);
    PARSE_ERR("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ING_ERR_BAD_REQUEST, 16);
    PARSE_ERR("GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", ING_ERR_BAD_REQUEST, 16);
    PARSE_ERR("GET / HTTP/1.1\r\nHost: h:x\r\n\r\n", ING_ERR_BAD_REQUEST, 16);
    PARSE_ERR("GET / HTTP/1.1\r\nHost: h/\r\n\r\n", ING_ERR_BAD_REQUEST, 16);
}

static void test_keep_alive(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("GET / HTTP/1.1\r\n\r\n", &req);
    assert_true(req.keep_alive);
    PARSE_OK("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &req);
    assert_false(req.keep_alive);
    PARSE_OK("GET / HTTP/1.1\r\nConnection: Upgrade, , CLOSE\t\r\n\r\n", &req);
    assert_false(req.keep_alive);
    PARSE_OK("GET / HTTP/1.1\r\nConnection: keep-alive\r\n"
             "Connection: close\r\n\r\n",
             &req);
    assert_false(req.keep_alive);
    PARSE_OK("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", &req);
    assert_true(req.keep_alive);
    PARSE_OK("GET / HTTP/1.0\r\n\r\n", &req);
    assert_false(req.keep_alive);
    PARSE_OK("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req);
    assert_true(req.keep_alive);
    PARSE_OK("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &req);
    assert_false(req.keep_alive);

    PARSE_ERR("GET / HTTP/1.1\r\nConnection: keep alive\r\n\r\n",
              ING_ERR_BAD_REQUEST, 16);
}

static void test_expect(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("POST / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n", &req);
    assert_true(req.expect_continue);
    assert_false(req.expect_unsupported);
    /* RFC 9110 §10.1.1: ignored in HTTP/1.0. */
    PARSE_OK("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &req);
    assert_false(req.expect_continue);
    assert_false(req.expect_unsupported);
    PARSE_OK("POST / HTTP/1.1\r\nExpect: 100-continue, x=1\r\n\r\n", &req);
    assert_true(req.expect_unsupported);
    PARSE_OK("POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", &req);
    assert_false(req.expect_continue);
    assert_true(req.expect_unsupported);
}

static void test_content_meta(void **state)
{
    struct ing_http_request req;
    (void)state;

    PARSE_OK("POST / HTTP/1.1\r\nContent-Type:  application/x-ndjson \r\n"
             "CONTENT-ENCODING:\tgzip\t\r\n\r\n",
             &req);
    assert_true(view_is(req.content_type, "application/x-ndjson"));
    assert_true(view_is(req.content_encoding, "gzip"));

    PARSE_ERR("POST / HTTP/1.1\r\nContent-Type: a/b\r\nContent-Type: a/b\r\n",
              ING_ERR_BAD_REQUEST, 36);
    PARSE_ERR("POST / HTTP/1.1\r\nContent-Encoding: gzip\r\n"
              "Content-Encoding: zstd\r\n",
              ING_ERR_UNSUPPORTED, 41);
}

/* ---- head size -------------------------------------------------------- */

static void test_head_limit(void **state)
{
    static const char head[] = "GET / HTTP/1.1\r\nA: bbbb\r\n\r\n";
    const size_t n = sizeof(head) - 1;
    struct ing_http_request req;
    struct ing_err err;
    (void)state;

    /* Exactly at the limit is fine, one byte over is 431. */
    assert_int_equal(ing_http_request_parse(head, n, n, &req, &err), (int)n);
    assert_int_equal(ing_http_request_parse(head, n, n - 1, &req, &err),
                     ING_ERROR);
    assert_int_equal(err.code, ING_ERR_HEADERS_TOO_LARGE);
    assert_int_equal(err.offset, n - 1);

    /* 431 as soon as len reaches the limit, not before. */
    assert_int_equal(ing_http_request_parse(head, 9, 10, &req, &err),
                     ING_AGAIN);
    assert_int_equal(ing_http_request_parse(head, 10, 10, &req, &err),
                     ING_ERROR);
    assert_int_equal(err.code, ING_ERR_HEADERS_TOO_LARGE);

    /* An error inside the limit wins over 431. */
    assert_int_equal(
        ing_http_request_parse(LIT("GET / HTTP/1.1\r\nA : b"), 20, &req, &err),
        ING_ERROR);
    assert_int_equal(err.code, ING_ERR_BAD_REQUEST);
    assert_int_equal(err.offset, 17);

    /* A pipelined request after a complete head does not count. */
    assert_int_equal(ing_http_request_parse(LIT("GET / HTTP/1.1\r\n\r\nGET /"),
                                            18, &req, &err),
                     18);
}

/* ---- the shared corpus --------------------------------------------- */

enum framer_phase { PHASE_HEAD, PHASE_SIZED, PHASE_CHUNKED };

/* The server's framing loop in miniature: head, body, next request. */
struct framer {
    enum framer_phase phase;
    size_t pos; /* start of the current request, or of its body */
    unsigned n_ok;
    bool error;
    bool closed;
    struct ing_http_request req;
    struct ing_http_chunked chunked;
    struct ing_err err;
};

static void framer_complete(struct framer *f, size_t body_end)
{
    f->pos = body_end;
    f->n_ok++;
    f->phase = PHASE_HEAD;
    if (!f->req.keep_alive) {
        f->closed = true;
    }
}

static bool framer_head(struct framer *f, const char *buf, size_t len)
{
    int rc = ing_http_request_parse(buf + f->pos, len - f->pos, MAX_HEAD,
                                    &f->req, &f->err);

    if (rc == ING_AGAIN) {
        return false;
    }
    if (rc < 0) {
        f->error = true;
        return false;
    }
    f->pos += (size_t)rc;
    if (f->req.chunked) {
        ing_http_chunked_init(&f->chunked, 1 << 20, 4096);
        f->phase = PHASE_CHUNKED;
    } else {
        f->phase = PHASE_SIZED;
    }
    return true;
}

static bool framer_body(struct framer *f, char *buf, size_t len)
{
    if (f->phase == PHASE_SIZED) {
        uint64_t want = f->req.has_content_length ? f->req.content_length : 0;

        if (len - f->pos < want) {
            return false;
        }
        framer_complete(f, f->pos + (size_t)want);
        return true;
    }

    int rc = ing_http_chunked_decode(&f->chunked, buf + f->pos, len - f->pos,
                                     &f->err);
    if (rc == ING_AGAIN) {
        return false;
    }
    if (rc == ING_ERROR) {
        f->error = true;
        return false;
    }
    framer_complete(f, f->pos + f->chunked.raw_consumed);
    return true;
}

/* Runs as far as buf[0 .. len) allows. */
static void framer_run(struct framer *f, char *buf, size_t len)
{
    while (!f->error && !f->closed) {
        if (f->phase == PHASE_HEAD && !framer_head(f, buf, len)) {
            return;
        }
        if (f->phase != PHASE_HEAD && !framer_body(f, buf, len)) {
            return;
        }
    }
}

struct tcase {
    char *file;
    char *expect;
    unsigned n_ok;
    char *level;
};

static const char *shared_dir(void)
{
    const char *dir = getenv("INGESTD_SHARED_DIR");

    return dir != NULL && dir[0] != '\0' ? dir : "../shared";
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long n;

    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    data[n] = '\0';
    *len = (size_t)n;
    return data;
}

static const char *outcome(const struct framer *f, const char *buf, size_t len)
{
    if (f->error) {
        return "error";
    }
    if (f->closed) {
        return "closed";
    }
    if (f->phase == PHASE_HEAD &&
        ing_http_request_is_blank(buf + f->pos, len - f->pos)) {
        return "clean";
    }
    return "incomplete";
}

static bool verdict_ok(const struct tcase *tc, const struct framer *f,
                       const char *out, const char *buf, size_t len)
{
    const char *e = tc->expect;

    if (f->n_ok != tc->n_ok) {
        return false;
    }
    if (strcmp(e, "accept") == 0) {
        return strcmp(out, "clean") == 0 ||
               (strcmp(out, "closed") == 0 &&
                ing_http_request_is_blank(buf + f->pos, len - f->pos));
    }
    if (strcmp(e, "accept-then-close") == 0) {
        return strcmp(out, "closed") == 0;
    }
    if (strcmp(e, "reject") == 0 || strcmp(e, "accept-then-reject") == 0) {
        return strcmp(out, "error") == 0;
    }
    if (strcmp(e, "incomplete") == 0) {
        return strcmp(out, "incomplete") == 0;
    }
    fail_msg("unknown expect value '%s'", e);
    return false;
}

/* Whole input at once, then one byte per call; both must agree. */
static bool run_case(const struct tcase *tc, const char *data, size_t len)
{
    char *buf = malloc(len + 1);
    struct framer whole = {0};
    struct framer bytes = {0};
    const char *out_whole;
    const char *out_bytes;
    bool ok;

    assert_non_null(buf);
    memcpy(buf, data, len);
    framer_run(&whole, buf, len);
    out_whole = outcome(&whole, buf, len);
    ok = verdict_ok(tc, &whole, out_whole, buf, len);

    memset(buf, 0, len);
    for (size_t n = 1; n <= len; n++) {
        buf[n - 1] = data[n - 1];
        framer_run(&bytes, buf, n);
    }
    out_bytes = outcome(&bytes, buf, len);
    ok = ok && verdict_ok(tc, &bytes, out_bytes, buf, len);

    if (!ok || getenv("INGESTD_TEST_VERBOSE") != NULL) {
        printf("%s %s: want %s/%u, whole %s/%u, bytewise %s/%u"
               " (code %d \"%s\" at %zu)\n",
               ok ? "ok  " : "FAIL", tc->file, tc->expect, tc->n_ok, out_whole,
               whole.n_ok, out_bytes, bytes.n_ok, whole.err.code,
               whole.error ? whole.err.message : "", whole.err.offset);
    }
    free(buf);
    return ok;
}

/* Splits one cases.tsv line in place; false for a header or bad line. */
static bool parse_tsv_line(char *line, struct tcase *tc)
{
    char *col[6];
    char *p = line;

    for (int i = 0; i < 6; i++) {
        col[i] = p;
        p = strchr(p, '\t');
        if (p == NULL) {
            return false;
        }
        *p++ = '\0';
    }
    if (strcmp(col[0], "file") == 0) {
        return false;
    }
    tc->file = col[0];
    tc->expect = col[3];
    tc->n_ok = (unsigned)strtoul(col[4], NULL, 10);
    tc->level = col[5];
    return true;
}

static void test_corpus(void **state)
{
    char path[4096];
    size_t tsv_len;
    char *tsv;
    char *save = NULL;
    unsigned cases = 0;
    unsigned failed = 0;
    (void)state;

    snprintf(path, sizeof(path), "%s/testdata/http-requests/cases.tsv",
             shared_dir());
    tsv = read_file(path, &tsv_len);
    if (tsv == NULL) {
        fail_msg("cannot read %s (set INGESTD_SHARED_DIR)", path);
    }

    for (char *line = strtok_r(tsv, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        struct tcase tc;
        size_t len;
        char *data;

        if (!parse_tsv_line(line, &tc)) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/testdata/http-requests/cases/%s",
                 shared_dir(), tc.file);
        data = read_file(path, &len);
        if (data == NULL) {
            fail_msg("cannot read %s", path);
        }
        cases++;
        failed += run_case(&tc, data, len) ? 0 : 1;
        free(data);
    }
    free(tsv);

    printf("corpus: %u cases, %u failed\n", cases, failed);
    assert_true(cases >= 100);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_method_errors),
        cmocka_unit_test(test_single_spaces),
        cmocka_unit_test(test_target_chars),
        cmocka_unit_test(test_absolute_form),
        cmocka_unit_test(test_asterisk_and_connect),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_leading_empty_lines),
        cmocka_unit_test(test_is_blank),
        cmocka_unit_test(test_field_syntax),
        cmocka_unit_test(test_field_value_ctl),
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_transfer_encoding),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_expect),
        cmocka_unit_test(test_content_meta),
        cmocka_unit_test(test_head_limit),
        cmocka_unit_test(test_corpus),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
