/*
 * event_timestamp_test.c - RFC 3339 date-time: the grammar, the calendar
 * (month lengths, Gregorian leap years), the clock (leap seconds only at
 * 23:59:60 UTC), offsets, fraction digits, and each error's message,
 * field and offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "event_timestamp.h"

/* Checks a copy of ts in a buffer of its exact length, at offset 100. */
static int check(const char *ts, struct ing_err *err)
{
    size_t len = strlen(ts);
    char *copy = malloc(len > 0 ? len : 1);
    int r;

    assert_non_null(copy);
    memcpy(copy, ts, len);
    ing_err_clear(err);
    r = ing_event_timestamp_check(copy, len, 100, err);
    free(copy);
    return r;
}

static void expect_valid(const char *ts)
{
    struct ing_err err;

    if (check(ts, &err) != ING_OK) {
        fail_msg("rejected %s: %s", ts, err.message);
    }
}

static void expect_invalid(const char *ts, const char *message, size_t offset)
{
    struct ing_err err;

    if (check(ts, &err) != ING_ERROR) {
        fail_msg("accepted %s", ts);
    }
    assert_int_equal(err.code, ING_ERR_BAD_REQUEST);
    assert_string_equal(err.field, "timestamp");
    assert_string_equal(err.message, message);
    assert_int_equal(err.offset, offset);
}

static const char not_rfc3339[] = "timestamp is not an RFC 3339 date-time";
static const char no_date[] = "timestamp has no such date";
static const char no_time[] = "timestamp has no such time";

static void test_valid(void **state)
{
    static const char *const ok[] = {
        "2026-12-03T15:04:05Z",           "2026-12-03T15:04:05.123Z",
        "2026-12-03T15:04:05.1Z",         "2026-12-03T15:04:05.123456789Z",
        "2026-12-03t15:04:05z",           "2026-12-03T15:04:05+01:00",
        "2026-12-03T15:04:05.5-08:30",    "2026-12-03T15:04:05-00:00",
        "2026-12-03T15:04:05+23:59",      "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999Z", "2026-01-31T00:00:00Z",
        "2026-04-30T00:00:00Z",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        expect_valid(ok[i]);
    }
}

static void test_grammar(void **state)
{
    static const char *const bad[] = {
        "",
        "2026-12-03",
        "2026-12-03T15:04:05",
        "2026-12-03 15:04:05Z",
        "2026-12-03T15:04Z",
        "2026-12-3T15:04:05Z",
        "26-12-03T15:04:05Z",
        "2026/12/03T15:04:05Z",
        "2026-12-03T15:04:05.Z",
        "2026-12-03T15:04:05.1234567890Z",
        "2026-12-03T15:04:05,123Z",
        "2026-12-03T15:04:05ZZ",
        "2026-12-03T15:04:05Z ",
        "2026-12-03T15:04:05+0100",
        "2026-12-03T15:04:05+01",
        "2026-12-03T15:04:05+01:00:00",
        "2026-12-03T15:04:05 +01:00",
        "+2026-12-03T15:04:05Z",
        "2026-12-03T15:04:05UTC",
        "2026-12-03T1a:04:05Z",
        "\xEF\xBC\x92\xEF\xBC\x90\xEF\xBC\x92\xEF\xBC\x96-12-03T15:04:05Z",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_invalid(bad[i], not_rfc3339, 100);
    }
    expect_invalid("\\u0032026-12-03T15:04:05Z",
                   "timestamp must not contain escapes", 100);
    expect_invalid("2026-12-03T15:04:05\\u005a",
                   "timestamp must not contain escapes", 100);
}

static void test_calendar(void **state)
{
    (void)state;
    expect_valid("2024-02-29T00:00:00Z");
    expect_valid("2000-02-29T00:00:00Z");
    expect_valid("2026-02-28T00:00:00Z");
    expect_invalid("2026-02-29T00:00:00Z", no_date, 100);
    expect_invalid("1900-02-29T00:00:00Z", no_date, 100);
    expect_invalid("2100-02-29T00:00:00Z", no_date, 100);
    expect_invalid("2024-02-30T00:00:00Z", no_date, 100);
    expect_invalid("2026-04-31T00:00:00Z", no_date, 100);
    expect_invalid("2026-06-31T00:00:00Z", no_date, 100);
    expect_invalid("2026-01-32T00:00:00Z", no_date, 100);
    expect_invalid("2026-00-10T00:00:00Z", no_date, 100);
    expect_invalid("2026-13-10T00:00:00Z", no_date, 100);
    expect_invalid("2026-12-00T00:00:00Z", no_date, 100);
}

static void test_clock(void **state)
{
    (void)state;
    expect_invalid("2026-12-03T24:00:00Z", no_time, 111);
    expect_invalid("2026-12-03T23:60:00Z", no_time, 111);
    expect_invalid("2026-12-03T23:59:61Z", no_time, 111);
    expect_invalid("2026-12-03T99:99:99Z", no_time, 111);
}

/* RFC 3339 §5.7: 60 only as the last second of the UTC day. */
static void test_leap_second(void **state)
{
    (void)state;
    expect_valid("2016-12-31T23:59:60Z");
    expect_valid("2016-12-31T23:59:60.5z");
    expect_valid("2017-01-01T00:59:60+01:00");
    expect_valid("2016-12-31T15:59:60-08:00");
    expect_valid("2016-12-31T23:59:60-00:00");
    expect_invalid("2016-12-31T23:59:60+01:00", no_time, 111);
    expect_invalid("2016-12-31T12:00:60Z", no_time, 111);
    expect_invalid("2016-12-31T23:58:60Z", no_time, 111);
}

static void test_offsets(void **state)
{
    (void)state;
    expect_valid("2026-12-03T15:04:05+00:00");
    expect_valid("2026-12-03T15:04:05-23:59");
    expect_invalid("2026-12-03T15:04:05+24:00", not_rfc3339, 100);
    expect_invalid("2026-12-03T15:04:05+05:60", not_rfc3339, 100);
    expect_invalid("2026-12-03T15:04:05*05:00", not_rfc3339, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),       cmocka_unit_test(test_grammar),
        cmocka_unit_test(test_calendar),    cmocka_unit_test(test_clock),
        cmocka_unit_test(test_leap_second), cmocka_unit_test(test_offsets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
