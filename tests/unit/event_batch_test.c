/*
 * event_batch_test.c - bodies into batches: the reference payloads (each
 * view equal to its NDJSON line), single objects, arrays and NDJSON with
 * their edge cases (empty, [], trailing comma, CRLF, blank lines, a line
 * that is not one object), the 413 at event max_events + 1 before it is
 * validated, and the index/offset of the first bad event (9999 of 10000).
 *
 * Reference payloads come from $INGESTD_SHARED_DIR/bench (default
 * ../shared, relative to the repository root where make runs tests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "event_batch.h"
#include "test_support.h"

#define MAX_BODY ((size_t)8 << 20)
#define EV                                                                     \
    "{\"event_id\":\"e\",\"timestamp\":\"2026-12-03T15:04:05Z\","              \
    "\"service\":\"s\",\"message\":\"m\"}"
#define BAD_EV "{\"event_id\":\"e\"}"

static struct ing_event_scratch *scratch;
static struct ing_event_limits limits;

struct parsed {
    int rc;
    struct ing_event_batch batch;
    struct ing_err err;
};

/* Parses a copy of body held in a buffer of exactly len bytes.  The views
 * point into the copy, which is kept until the next call. */
static struct parsed parse_n(const char *body, size_t len,
                             enum ing_event_format fmt)
{
    static char *copy;
    struct parsed p;

    free(copy);
    copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    memcpy(copy, body, len);
    p.rc = ing_event_batch_parse(scratch, copy, len, fmt, &limits, &p.batch,
                                 &p.err);
    if (p.rc != ING_OK) {
        assert_int_equal(p.batch.count, 0);
    }
    return p;
}

static struct parsed parse(const char *body, enum ing_event_format fmt)
{
    return parse_n(body, strlen(body), fmt);
}

static void expect_bad(const char *body, enum ing_event_format fmt,
                       const char *message, size_t offset, size_t index)
{
    struct parsed p = parse(body, fmt);

    if (p.rc != ING_ERROR) {
        fail_msg("accepted %s", body);
    }
    assert_int_equal(p.err.code, ING_ERR_BAD_REQUEST);
    assert_string_equal(p.err.message, message);
    assert_int_equal(p.err.offset, offset);
    assert_int_equal(p.err.index, index);
}

static void assert_view(struct ing_view v, const char *bytes, size_t len)
{
    assert_int_equal(v.len, len);
    assert_memory_equal(v.ptr, bytes, len);
}

/* events-1000 as NDJSON and as an array: 1000 views, equal to the lines. */
static void test_reference_batches(void **state)
{
    size_t nd_len;
    size_t arr_len;
    char *nd = ing_test_shared_read("bench/events-1000.ndjson", &nd_len);
    char *arr = ing_test_shared_read("bench/events-1000.json", &arr_len);
    struct ing_event_batch b_nd;
    struct ing_event_batch b_arr;
    struct ing_view lines[1000];
    struct ing_err err;
    const char *p = nd;

    (void)state;
    for (size_t i = 0; i < 1000; i++) {
        const char *lf = memchr(p, '\n', (size_t)(nd + nd_len - p));

        assert_non_null(lf);
        lines[i] = ing_view_make(p, (size_t)(lf - p));
        p = lf + 1;
    }
    assert_ptr_equal(p, nd + nd_len);

    assert_int_equal(ing_event_batch_parse(scratch, nd, nd_len,
                                           ING_EVENT_FORMAT_NDJSON, &limits,
                                           &b_nd, &err),
                     ING_OK);
    assert_int_equal(b_nd.count, 1000);
    assert_true(b_nd.is_batch);
    for (size_t i = 0; i < 1000; i++) {
        assert_ptr_equal(b_nd.events[i].ptr, lines[i].ptr);
        assert_int_equal(b_nd.events[i].len, lines[i].len);
    }

    assert_int_equal(ing_event_batch_parse(scratch, arr, arr_len,
                                           ING_EVENT_FORMAT_JSON, &limits,
                                           &b_arr, &err),
                     ING_OK);
    assert_int_equal(b_arr.count, 1000);
    assert_true(b_arr.is_batch);
    for (size_t i = 0; i < 1000; i++) {
        assert_true(b_arr.events[i].ptr >= arr &&
                    b_arr.events[i].ptr < arr + arr_len);
        assert_view(b_arr.events[i], lines[i].ptr, lines[i].len);
    }
    free(nd);
    free(arr);
}

static void test_reference_single(void **state)
{
    static const char *const names[] = {"bench/event.json",
                                        "bench/event-escaped.json"};

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        char *buf = ing_test_shared_read(names[i], &len);
        struct parsed p = parse_n(buf, len, ING_EVENT_FORMAT_JSON);

        assert_int_equal(p.rc, ING_OK);
        assert_int_equal(p.batch.count, 1);
        assert_false(p.batch.is_batch);
        assert_view(p.batch.events[0], buf, len - 1);

        /* One line of NDJSON is a batch of one. */
        p = parse_n(buf, len, ING_EVENT_FORMAT_NDJSON);
        assert_int_equal(p.rc, ING_OK);
        assert_int_equal(p.batch.count, 1);
        assert_true(p.batch.is_batch);
        free(buf);
    }
}

static void test_json_shapes(void **state)
{
    struct parsed p;

    (void)state;
    p = parse(" \r\n\t" EV " \n", ING_EVENT_FORMAT_JSON);
    assert_int_equal(p.rc, ING_OK);
    assert_int_equal(p.batch.count, 1);
    assert_view(p.batch.events[0], EV, strlen(EV));

    p = parse("[]", ING_EVENT_FORMAT_JSON);
    assert_int_equal(p.rc, ING_OK);
    assert_int_equal(p.batch.count, 0);
    assert_true(p.batch.is_batch);
    p = parse(" [ \n ] ", ING_EVENT_FORMAT_JSON);
    assert_int_equal(p.rc, ING_OK);
    assert_int_equal(p.batch.count, 0);

    p = parse("[ " EV " ,\n" EV "]", ING_EVENT_FORMAT_JSON);
    assert_int_equal(p.rc, ING_OK);
    assert_int_equal(p.batch.count, 2);
    assert_view(p.batch.events[1], EV, strlen(EV));
}

static void test_json_errors(void **state)
{
    size_t ev = strlen(EV);

    (void)state;
    expect_bad("", ING_EVENT_FORMAT_JSON, "empty body", 0, ING_ERR_NONE);
    expect_bad(" \r\n\t ", ING_EVENT_FORMAT_JSON, "empty body", 5,
               ING_ERR_NONE);
    expect_bad("\"x\"", ING_EVENT_FORMAT_JSON,
               "body must be a JSON object or an array of objects", 0, 0);
    expect_bad(" 42", ING_EVENT_FORMAT_JSON,
               "body must be a JSON object or an array of objects", 1, 0);
    expect_bad("[1]", ING_EVENT_FORMAT_JSON,
               "batch element is not a JSON object", 1, 0);
    expect_bad("[" EV ",[]]", ING_EVENT_FORMAT_JSON,
               "batch element is not a JSON object", ev + 2, 1);
    expect_bad("[" EV ",]", ING_EVENT_FORMAT_JSON, "trailing comma", ev + 2, 1);
    expect_bad("[" EV " " EV "]", ING_EVENT_FORMAT_JSON, "expected ',' or ']'",
               ev + 2, 1);
    expect_bad("[" EV, ING_EVENT_FORMAT_JSON, "unexpected end of input", ev + 1,
               1);
    expect_bad("[", ING_EVENT_FORMAT_JSON, "unexpected end of input", 1, 0);
    expect_bad("[" EV "] x", ING_EVENT_FORMAT_JSON,
               "trailing data after the JSON array", ev + 3, ING_ERR_NONE);
    expect_bad(EV " " EV, ING_EVENT_FORMAT_JSON,
               "trailing data after the event", ev + 1, 0);
    expect_bad(BAD_EV, ING_EVENT_FORMAT_JSON,
               "missing required field timestamp", strlen(BAD_EV) - 1, 0);
    expect_bad("[" EV "," BAD_EV "]", ING_EVENT_FORMAT_JSON,
               "missing required field timestamp", ev + strlen(BAD_EV) + 1, 1);
}

static void test_ndjson(void **state)
{
    struct parsed p;

    (void)state;
    p = parse(EV "\n" EV, ING_EVENT_FORMAT_NDJSON);
    assert_int_equal(p.rc, ING_OK);
    assert_int_equal(p.batch.count, 2);

    /* CRLF, blank lines of spaces/tabs/CR, spaces around, no final LF. */
    p = parse("\r\n \t\r\n" EV "\r\n\n  " EV " \t\r\n\r\n" EV,
              ING_EVENT_FORMAT_NDJSON);
    assert_int_equal(p.rc, ING_OK);
    assert_int_equal(p.batch.count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_view(p.batch.events[i], EV, strlen(EV));
    }

    p = parse("[" EV "]\n", ING_EVENT_FORMAT_JSON);
    assert_int_equal(p.rc, ING_OK);
}

static void test_ndjson_errors(void **state)
{
    size_t ev = strlen(EV);

    (void)state;
    expect_bad("", ING_EVENT_FORMAT_NDJSON, "empty body", 0, ING_ERR_NONE);
    expect_bad("\n \r\n\t\n", ING_EVENT_FORMAT_NDJSON, "empty body", 0,
               ING_ERR_NONE);
    expect_bad(EV "\n[1]\n", ING_EVENT_FORMAT_NDJSON,
               "NDJSON line is not a JSON object", ev + 1, 1);
    expect_bad(EV "\n\"x\"", ING_EVENT_FORMAT_NDJSON,
               "NDJSON line is not a JSON object", ev + 1, 1);
    expect_bad("[" EV "]", ING_EVENT_FORMAT_NDJSON,
               "NDJSON line is not a JSON object", 0, 0);
    expect_bad(EV " " EV "\n", ING_EVENT_FORMAT_NDJSON,
               "trailing data after the event on its line", ev + 1, 0);
    expect_bad(EV ",\n", ING_EVENT_FORMAT_NDJSON,
               "trailing data after the event on its line", ev, 0);
    /* An object may not run on into the next line. */
    expect_bad("{\"event_id\":\"e\",\n\"message\":\"m\"}",
               ING_EVENT_FORMAT_NDJSON, "unexpected end of input", 16, 0);
    expect_bad(EV "\n" EV "\r\n" BAD_EV "\n", ING_EVENT_FORMAT_NDJSON,
               "missing required field timestamp",
               2 * ev + 3 + strlen(BAD_EV) - 1, 2);
}

/* Builds n copies of EV (event bad_at replaced by BAD_EV), as an array or
 * NDJSON. */
static char *many(size_t n, size_t bad_at, bool ndjson, size_t *len)
{
    size_t ev = strlen(EV);
    char *buf = malloc(n * (ev + 1) + 3);
    size_t pos = 0;

    assert_non_null(buf);
    if (!ndjson) {
        buf[pos++] = '[';
    }
    for (size_t i = 0; i < n; i++) {
        const char *e = i == bad_at ? BAD_EV : EV;

        if (i > 0 && !ndjson) {
            buf[pos++] = ',';
        }
        memcpy(buf + pos, e, strlen(e));
        pos += strlen(e);
        if (ndjson) {
            buf[pos++] = '\n';
        }
    }
    if (!ndjson) {
        buf[pos++] = ']';
    }
    *len = pos;
    return buf;
}

static void test_bad_event_10000(void **state)
{
    (void)state;
    for (int nd = 0; nd < 2; nd++) {
        enum ing_event_format fmt =
            nd ? ING_EVENT_FORMAT_NDJSON : ING_EVENT_FORMAT_JSON;
        size_t len;
        char *body = many(10000, 9999, nd, &len);
        size_t bad_start = (nd ? 0 : 1) + 9999 * (strlen(EV) + 1);
        struct parsed p = parse_n(body, len, fmt);

        assert_int_equal(p.rc, ING_ERROR);
        assert_int_equal(p.err.index, 9999);
        assert_int_equal(p.err.offset, bad_start + strlen(BAD_EV) - 1);
        assert_string_equal(p.err.field, "timestamp");
        free(body);

        body = many(10000, SIZE_MAX, nd, &len);
        p = parse_n(body, len, fmt);
        assert_int_equal(p.rc, ING_OK);
        assert_int_equal(p.batch.count, 10000);
        free(body);
    }
}

static void test_too_many_events(void **state)
{
    (void)state;
    for (int nd = 0; nd < 2; nd++) {
        enum ing_event_format fmt =
            nd ? ING_EVENT_FORMAT_NDJSON : ING_EVENT_FORMAT_JSON;
        size_t len;
        char *body = many(10001, SIZE_MAX, nd, &len);
        struct parsed p = parse_n(body, len, fmt);

        assert_int_equal(p.rc, ING_ERROR);
        assert_int_equal(p.err.code, ING_ERR_TOO_LARGE);
        assert_int_equal(p.err.index, 10000);
        assert_int_equal(p.err.offset, (nd ? 0 : 1) + 10000 * (strlen(EV) + 1));
        free(body);

        /* Event 4 of 3 is refused before it is looked at. */
        limits.max_events = 3;
        body = many(4, 3, nd, &len);
        p = parse_n(body, len, fmt);
        assert_int_equal(p.err.code, ING_ERR_TOO_LARGE);
        assert_int_equal(p.err.index, 3);
        free(body);
        ing_event_limits_init(&limits);
    }

    limits.max_events = 0;
    assert_int_equal(parse("[]", ING_EVENT_FORMAT_JSON).rc, ING_OK);
    assert_int_equal(parse("[" EV "]", ING_EVENT_FORMAT_JSON).err.code,
                     ING_ERR_TOO_LARGE);
    assert_int_equal(parse("\n" EV, ING_EVENT_FORMAT_NDJSON).err.offset, 1);
}

static void test_limits_and_capacity(void **state)
{
    struct ing_event_scratch *small;
    struct ing_event_batch b;
    struct ing_err err;

    (void)state;
    limits.max_events = 20000;
    assert_int_equal(ing_event_batch_parse(scratch, EV, strlen(EV),
                                           ING_EVENT_FORMAT_JSON, &limits, &b,
                                           &err),
                     ING_ERROR);
    assert_int_equal(err.code, ING_ERR_INTERNAL);
    ing_event_limits_init(&limits);

    small = ing_event_scratch_create(&limits, 16);
    assert_non_null(small);
    assert_int_equal(ing_event_batch_parse(small, EV, strlen(EV),
                                           ING_EVENT_FORMAT_JSON, &limits, &b,
                                           &err),
                     ING_ERROR);
    assert_int_equal(err.code, ING_ERR_TOO_LARGE);
    assert_int_equal(ing_event_batch_parse(small, "[]", 2,
                                           ING_EVENT_FORMAT_JSON, &limits, &b,
                                           &err),
                     ING_OK);
    ing_event_scratch_destroy(small);
}

static int setup(void **state)
{
    (void)state;
    ing_event_limits_init(&limits);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    ing_event_limits_init(&limits);
    scratch = ing_event_scratch_create(&limits, MAX_BODY);
    return scratch == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ing_event_scratch_destroy(scratch);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_reference_batches, setup),
        cmocka_unit_test_setup(test_reference_single, setup),
        cmocka_unit_test_setup(test_json_shapes, setup),
        cmocka_unit_test_setup(test_json_errors, setup),
        cmocka_unit_test_setup(test_ndjson, setup),
        cmocka_unit_test_setup(test_ndjson_errors, setup),
        cmocka_unit_test_setup(test_bad_event_10000, setup),
        cmocka_unit_test_setup(test_too_many_events, setup),
        cmocka_unit_test_setup(test_limits_and_capacity, setup),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
