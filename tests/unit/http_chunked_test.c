/*
 * http_chunked_test.c - the chunked decoder: grammar, limits, in-place
 * output, and the same verdict however the bytes are split.
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

#define LIT(s) (s), (sizeof(s) - 1)

#define MAX_BODY    4096
#define MAX_TRAILER 256

struct result {
    int rc;
    size_t decoded;
    size_t consumed;
    struct ing_err err;
    char body[1024];
};

/*
 * Decodes raw[0 .. len) arriving in pieces: the first call sees `first`
 * bytes, then each call `step` more.  step 0 means all the rest at once.
 */
static void decode_split(const char *raw, size_t len, size_t first, size_t step,
                         size_t max_body, struct result *out)
{
    struct ing_http_chunked d;
    char *buf = calloc(1, len + 1);
    size_t have = first < len ? first : len;

    assert_non_null(buf);
    ing_http_chunked_init(&d, max_body, MAX_TRAILER);
    ing_err_clear(&out->err);
    memcpy(buf, raw, have);
    out->rc = ing_http_chunked_decode(&d, buf, have, &out->err);

    while (out->rc == ING_AGAIN && have < len) {
        size_t more = step == 0 ? len - have : step;

        more = more < len - have ? more : len - have;
        memcpy(buf + have, raw + have, more);
        have += more;
        out->rc = ing_http_chunked_decode(&d, buf, have, &out->err);
    }

    out->decoded = d.decoded_bytes;
    out->consumed = d.raw_consumed;
    assert_true(d.decoded_bytes < sizeof(out->body));
    memcpy(out->body, buf, d.decoded_bytes);
    out->body[d.decoded_bytes] = '\0';
    if (out->rc == ING_OK) {
        /* Bytes after the body belong to the next request: untouched. */
        assert_memory_equal(buf + d.raw_consumed, raw + d.raw_consumed,
                            have - d.raw_consumed);
    }
    free(buf);
}

static void same_result(const struct result *a, const struct result *b,
                        size_t split)
{
    if (a->rc != b->rc || a->decoded != b->decoded ||
        (a->rc == ING_OK && a->consumed != b->consumed) ||
        (a->rc == ING_ERROR &&
         (a->err.code != b->err.code || a->err.offset != b->err.offset))) {
        fail_msg("split at %zu: rc %d/%d decoded %zu/%zu consumed %zu/%zu "
                 "code %d/%d offset %zu/%zu",
                 split, a->rc, b->rc, a->decoded, b->decoded, a->consumed,
                 b->consumed, a->err.code, b->err.code, a->err.offset,
                 b->err.offset);
    }
    if (a->rc == ING_OK) {
        assert_string_equal(a->body, b->body);
    }
}

/* Whole, one byte at a time, and split in two at every position. */
static void decode_all_ways(const char *raw, size_t len, size_t max_body,
                            struct result *whole)
{
    struct result other;

    decode_split(raw, len, len, 0, max_body, whole);
    decode_split(raw, len, 0, 1, max_body, &other);
    same_result(whole, &other, 0);
    for (size_t k = 0; k <= len; k++) {
        decode_split(raw, len, k, 0, max_body, &other);
        same_result(whole, &other, k);
    }
}

static void expect_body_n(const char *raw, size_t len, const char *body,
                          size_t consumed)
{
    struct result r;

    decode_all_ways(raw, len, MAX_BODY, &r);
    if (r.rc != ING_OK) {
        fail_msg("rc=%d code=%d offset=%zu msg=%s", r.rc, r.err.code,
                 r.err.offset, r.err.message ? r.err.message : "");
    }
    assert_string_equal(r.body, body);
    assert_int_equal(r.consumed, consumed);
}

static void expect_error_n(const char *raw, size_t len, size_t max_body,
                           enum ing_err_code code, size_t offset)
{
    struct result r;

    decode_all_ways(raw, len, max_body, &r);
    if (r.rc != ING_ERROR || r.err.code != code || r.err.offset != offset) {
        fail_msg("rc=%d code=%d offset=%zu msg=%s; want code=%d offset=%zu",
                 r.rc, r.err.code, r.err.offset,
                 r.err.message ? r.err.message : "", code, offset);
    }
    assert_non_null(r.err.message);
}

#define BODY_OK(raw, body) expect_body_n(LIT(raw), (body), sizeof(raw) - 1)
#define BODY_ERR(raw, code, offset)                                            \
    expect_error_n(LIT(raw), MAX_BODY, (code), (offset))

static void test_basic(void **state)
{
    (void)state;

    BODY_OK("0\r\n\r\n", "");
    BODY_OK("5\r\nhello\r\n0\r\n\r\n", "hello");
    BODY_OK("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
    BODY_OK("a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n",
            "0123456789abcdefghij");
    /* Leading zeros, in data chunks and in the last chunk. */
    BODY_OK("0003\r\nabc\r\n000\r\n\r\n", "abc");
    /* Data may hold CR, LF and NUL: it is never looked at. */
    BODY_OK("4\r\n\r\n\0;\r\n0\r\n\r\n", "\r\n");
}

static void test_pipelined_bytes_untouched(void **state)
{
    struct result r;
    static const char raw[] = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    (void)state;

    decode_all_ways(LIT(raw), MAX_BODY, &r);
    assert_int_equal(r.rc, ING_OK);
    assert_int_equal(r.consumed, 13);
    assert_string_equal(r.body, "abc");
}

static void test_extensions(void **state)
{
    (void)state;

    BODY_OK("1;a\r\nx\r\n0\r\n\r\n", "x");
    BODY_OK("1;a=b;c;d=\"q \\\" ;\\\\\"\r\nx\r\n0;e=f\r\n\r\n", "x");
    /* RFC 9112 §7.1.1: BWS around ';' and '='. */
    BODY_OK("1 ;a\r\nx\r\n0\r\n\r\n", "x");
    BODY_OK("1 \t; \ta \t= \tb \t; c\r\nx\r\n0\r\n\r\n", "x");
    BODY_OK("1;a=\"\"\r\nx\r\n0\r\n\r\n", "x");
    BODY_OK("1;a=\"\x80\xff\"\r\nx\r\n0\r\n\r\n", "x");

    BODY_ERR("1;\r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 2);
    BODY_ERR("1 \r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 2);
    BODY_ERR("1 x\r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 2);
    BODY_ERR("1;a \r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
    BODY_ERR("1;a=\r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
    BODY_ERR("1;a=b \r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    BODY_ERR("1;a=\"b\" \r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 8);
    BODY_ERR("1;a@\r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 3);
    BODY_ERR("1;a=b@\r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 5);
    BODY_ERR("1;a=\"b\r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    BODY_ERR("1;a=\"\\\x01\"\r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    BODY_ERR("1;a=\"\x7f\"\r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 5);
    BODY_ERR("1;a=\"b\"c\r\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 7);
}

static void test_size_errors(void **state)
{
    (void)state;

    BODY_ERR("g\r\n", ING_ERR_BAD_REQUEST, 0);
    BODY_ERR("\r\n", ING_ERR_BAD_REQUEST, 0);
    BODY_ERR(";a\r\n", ING_ERR_BAD_REQUEST, 0);
    BODY_ERR(" 1\r\n", ING_ERR_BAD_REQUEST, 0);
    BODY_ERR("+1\r\n", ING_ERR_BAD_REQUEST, 0);
    BODY_ERR("0x1\r\n", ING_ERR_BAD_REQUEST, 1);
    BODY_ERR("1g\r\n", ING_ERR_BAD_REQUEST, 1);
    /* Bare LF and bare CR after the size (RFC 9112 §7.1). */
    BODY_ERR("1\nx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 1);
    BODY_ERR("1\rx\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 2);
    /* The last chunk is required: an empty line is not one. */
    BODY_ERR("1\r\nx\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
}

static void test_data_crlf(void **state)
{
    (void)state;

    BODY_ERR("1\r\nxy\r\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
    BODY_ERR("1\r\nx\n0\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
    BODY_ERR("1\r\nx\r0\r\n\r\n", ING_ERR_BAD_REQUEST, 5);
    BODY_ERR("5\r\nABCDE0\r\n\r\n", ING_ERR_BAD_REQUEST, 8);
}

static void test_overflow(void **state)
{
    (void)state;

    /* RFC 9112 §7.1: large hex numerals must not wrap. */
    expect_error_n(LIT("ffffffffffffffff0\r\n"), SIZE_MAX, ING_ERR_BAD_REQUEST,
                   16);
    expect_error_n(LIT("10000000000000000\r\n"), SIZE_MAX, ING_ERR_BAD_REQUEST,
                   16);
}

static void test_body_limit(void **state)
{
    struct ing_http_chunked d;
    struct ing_err err;
    char buf[] = "1000\r\n";
    (void)state;

    /* 413 from the size digits alone, before any data has arrived. */
    ing_http_chunked_init(&d, 4095, MAX_TRAILER);
    assert_int_equal(ing_http_chunked_decode(&d, buf, 3, &err), ING_AGAIN);
    assert_int_equal(ing_http_chunked_decode(&d, buf, 4, &err), ING_ERROR);
    assert_int_equal(err.code, ING_ERR_TOO_LARGE);
    assert_int_equal(err.offset, 3);
    /* Sticky: later calls fail too and leave err alone. */
    err.offset = 99;
    assert_int_equal(ing_http_chunked_decode(&d, buf, 6, &err), ING_ERROR);
    assert_int_equal(err.offset, 99);

    /* The limit counts the whole body, across chunks. */
    expect_error_n(LIT("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"), 5,
                   ING_ERR_TOO_LARGE, 8);
}

static void test_body_limit_exact(void **state)
{
    struct result r;
    (void)state;

    decode_all_ways(LIT("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"), 6, &r);
    assert_int_equal(r.rc, ING_OK);
    assert_string_equal(r.body, "abcdef");
    decode_all_ways(LIT("3\r\nabc\r\n0\r\n\r\n"), 3, &r);
    assert_int_equal(r.rc, ING_OK);
    decode_all_ways(LIT("0\r\n\r\n"), 0, &r);
    assert_int_equal(r.rc, ING_OK);
}

static void test_trailers(void **state)
{
    (void)state;

    BODY_OK("1\r\nx\r\n0\r\nVary: *\r\nX-T:\t v \t\r\n\r\n", "x");
    BODY_OK("1\r\nx\r\n0\r\nX-T: \x80\xff\r\nX-U:\r\n\r\n", "x");

    /* The same rules as header fields (RFC 9112 §7.1.2, §5). */
    BODY_ERR("0\r\nA: b\r\n c\r\n\r\n", ING_ERR_BAD_REQUEST, 9);
    BODY_ERR("0\r\nA : b\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
    BODY_ERR("0\r\n: b\r\n\r\n", ING_ERR_BAD_REQUEST, 3);
    BODY_ERR("0\r\nA@: b\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
    BODY_ERR("0\r\nA\r\n\r\n", ING_ERR_BAD_REQUEST, 4);
    BODY_ERR("0\r\nA: b\x0c\r\n\r\n", ING_ERR_BAD_REQUEST, 7);
    BODY_ERR("0\r\nA: b\x7f\r\n\r\n", ING_ERR_BAD_REQUEST, 7);
    BODY_ERR("0\r\nA: \0\r\n\r\n", ING_ERR_BAD_REQUEST, 6);
    BODY_ERR("0\r\nA: b\n\r\n", ING_ERR_BAD_REQUEST, 7);
    BODY_ERR("0\r\nA: b\rc\r\n\r\n", ING_ERR_BAD_REQUEST, 8);
    BODY_ERR("0\r\n\n", ING_ERR_BAD_REQUEST, 3);
    BODY_ERR("0\r\n\rx", ING_ERR_BAD_REQUEST, 4);
}

static void test_trailer_limit(void **state)
{
    char raw[512];
    size_t n = 0;
    (void)state;

    /* MAX_TRAILER bytes of trailer section in all is fine, one more 431. */
    n += (size_t)snprintf(raw, sizeof(raw), "0\r\nX: ");
    memset(raw + n, 'a', MAX_TRAILER - 7);
    n += MAX_TRAILER - 7;
    n += (size_t)snprintf(raw + n, sizeof(raw) - n, "\r\n\r\n");
    assert_int_equal(n, MAX_TRAILER + 3);
    expect_body_n(raw, n, "", n);

    memmove(raw + 7, raw + 6, n - 6);
    n++;
    expect_error_n(raw, n, MAX_BODY, ING_ERR_HEADERS_TOO_LARGE,
                   MAX_TRAILER + 3);
}

static void test_line_limit(void **state)
{
    char raw[2 * ING_HTTP_CHUNK_LINE_MAX_BYTES];
    size_t n;
    (void)state;

    /* The longest chunk-size line allowed, then one byte longer. */
    raw[0] = '0';
    raw[1] = ';';
    memset(raw + 2, 'e', ING_HTTP_CHUNK_LINE_MAX_BYTES - 2);
    n = ING_HTTP_CHUNK_LINE_MAX_BYTES;
    memcpy(raw + n, "\r\n\r\n", 4);
    expect_body_n(raw, n + 4, "", n + 4);

    memset(raw + 2, 'e', ING_HTTP_CHUNK_LINE_MAX_BYTES - 1);
    n = ING_HTTP_CHUNK_LINE_MAX_BYTES + 1;
    memcpy(raw + n, "\r\n\r\n", 4);
    expect_error_n(raw, n + 4, MAX_BODY, ING_ERR_BAD_REQUEST,
                   ING_HTTP_CHUNK_LINE_MAX_BYTES);
}

static void test_done_is_sticky(void **state)
{
    struct ing_http_chunked d;
    struct ing_err err;
    char buf[] = "1\r\nx\r\n0\r\n\r\nzzz";
    (void)state;

    ing_http_chunked_init(&d, MAX_BODY, MAX_TRAILER);
    assert_int_equal(ing_http_chunked_decode(&d, buf, sizeof(buf) - 1, &err),
                     ING_OK);
    assert_int_equal(d.decoded_bytes, 1);
    assert_int_equal(d.raw_consumed, 11);
    assert_int_equal(ing_http_chunked_decode(&d, buf, sizeof(buf) - 1, &err),
                     ING_OK);
    assert_int_equal(d.raw_consumed, 11);
    assert_memory_equal(buf + 11, "zzz", 3);
}

/* Chunks of 1, 4, 7 ... 40 bytes, split at every position. */
static void test_many_chunks(void **state)
{
    char raw[2048];
    char body[1024];
    size_t n = 0;
    size_t b = 0;
    (void)state;

    for (unsigned size = 1; size <= 40; size += 3) {
        n += (size_t)snprintf(raw + n, sizeof(raw) - n,
                              size % 2 ? "%x\r\n" : "%X;k=v\r\n", size);
        for (unsigned i = 0; i < size; i++, b++) {
            body[b] = (char)('a' + (b % 26));
            raw[n++] = body[b];
        }
        raw[n++] = '\r';
        raw[n++] = '\n';
    }
    n += (size_t)snprintf(raw + n, sizeof(raw) - n, "0\r\nT: v\r\n\r\n");
    body[b] = '\0';

    expect_body_n(raw, n, body, n);
}

/*
 * A body of one-byte chunks, fed in pieces into a buffer only a little
 * larger than the decoded body: compacting after each ING_AGAIN must make
 * it fit, and the decoded bytes must be the same.
 */
static void test_compact_reclaims_framing(void **state)
{
    char raw[6 * 200 + 16];
    char buf[256];
    size_t raw_len = 0;
    struct ing_http_chunked d;
    struct ing_err err;

    (void)state;
    for (int i = 0; i < 200; i++) {
        raw_len += (size_t)sprintf(raw + raw_len, "1\r\n%c\r\n", 'a' + i % 26);
    }
    raw_len += (size_t)sprintf(raw + raw_len, "0\r\n\r\n");

    ing_http_chunked_init(&d, 1000, 100);
    size_t len = 0;
    size_t fed = 0;
    int rc = ING_AGAIN;
    while (rc == ING_AGAIN) {
        size_t take = sizeof(buf) - len;
        if (take > raw_len - fed) {
            take = raw_len - fed;
        }
        assert_true(take > 0);
        memcpy(buf + len, raw + fed, take);
        len += take;
        fed += take;
        rc = ing_http_chunked_decode(&d, buf, len, &err);
        if (rc == ING_AGAIN) {
            len = ing_http_chunked_compact(&d, buf, len);
            assert_int_equal(d.raw_consumed, d.decoded_bytes);
        }
    }
    assert_int_equal(rc, ING_OK);
    assert_int_equal(d.decoded_bytes, 200);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(buf[i], 'a' + i % 26);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_pipelined_bytes_untouched),
        cmocka_unit_test(test_extensions),
        cmocka_unit_test(test_size_errors),
        cmocka_unit_test(test_data_crlf),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_body_limit_exact),
        cmocka_unit_test(test_trailers),
        cmocka_unit_test(test_trailer_limit),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_done_is_sticky),
        cmocka_unit_test(test_many_chunks),
        cmocka_unit_test(test_compact_reclaims_framing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
