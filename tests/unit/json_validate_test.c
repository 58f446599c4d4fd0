/*
 * json_validate_test.c - the RFC 8259 validator: every file of
 * JSONTestSuite (y_ accepted, n_ rejected, i_ answered without a crash),
 * the transform corpus by our documented policy, and focused cases for
 * each rule: escapes and surrogates, UTF-8 (overlongs, surrogates, range,
 * truncation), control characters, numbers, structure, depth, duplicate
 * keys (escaped-equal, large objects, cost), the object walker.
 *
 * The corpus is read from $INGESTD_SHARED_DIR/testdata, by default
 * ../shared relative to the repository root (where make runs tests).  A
 * missing corpus fails the test.  Inputs are copied into buffers of their
 * exact size, so a read past the end shows under SAN=1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_validate.h"
#include "test_support.h"

#define MAX_BODY ((size_t)8 << 20)

static struct ing_json_scratch *scratch;

/* Validates a copy of text[0..len) held in a buffer of exactly len bytes. */
static int validate_n(const char *text, size_t len, unsigned depth, bool dup,
                      struct ing_err *err)
{
    char *copy = malloc(len > 0 ? len : 1);
    int r;

    assert_non_null(copy);
    memcpy(copy, text, len);
    r = ing_json_validate(scratch, copy, len, depth, dup, err);
    free(copy);
    return r;
}

static void expect_ok(const char *text, size_t len)
{
    struct ing_err err;

    if (validate_n(text, len, 64, true, &err) != ING_OK) {
        fail_msg("rejected %.*s: %s at %zu", (int)len, text, err.message,
                 err.offset);
    }
}

static void expect_bad(const char *text, size_t len, const char *message,
                       size_t offset)
{
    struct ing_err err;

    if (validate_n(text, len, 64, true, &err) != ING_ERROR) {
        fail_msg("accepted %.*s", (int)len, text);
    }
    assert_int_equal(err.code, ING_ERR_BAD_REQUEST);
    if (message != NULL) {
        assert_string_equal(err.message, message);
    }
    assert_int_equal(err.offset, offset);
}

#define OK(lit)            expect_ok(lit, sizeof(lit) - 1)
#define BAD(lit, msg, off) expect_bad(lit, sizeof(lit) - 1, msg, off)

/* --- JSONTestSuite ----------------------------------------------------- */

static void test_suite_files(void **state)
{
    char dir[4096];
    struct dirent *de;
    DIR *d;
    size_t counts[3] = {0, 0, 0};

    (void)state;
    ing_test_shared_path(dir, sizeof(dir), "testdata/jsontestsuite");
    d = opendir(dir);
    if (d == NULL) {
        fail_msg("JSONTestSuite not found at %s (set INGESTD_SHARED_DIR)", dir);
    }

    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        char path[8192];
        struct ing_err err;
        size_t len;
        char *buf;
        int r;
        int r_dup;

        if (strlen(name) < 6 || strcmp(name + strlen(name) - 5, ".json")) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        buf = ing_test_file_read(path, &len);
        r = ing_json_validate(scratch, buf, len, ING_JSON_DEPTH_MAX, false,
                              &err);
        if (r == ING_ERROR) {
            assert_non_null(err.message);
            assert_true(err.offset <= len);
        }
        r_dup = ing_json_validate(scratch, buf, len, ING_JSON_DEPTH_MAX, true,
                                  &err);

        if (name[0] == 'y') {
            if (r != ING_OK) {
                fail_msg("%s rejected: %s at %zu", name, err.message,
                         err.offset);
            }
            /* Only the two duplicate-key files differ in event mode. */
            assert_int_equal(r_dup, strstr(name, "duplicated_key") != NULL
                                        ? ING_ERROR
                                        : ING_OK);
            counts[0]++;
        } else if (name[0] == 'n') {
            if (r != ING_ERROR || r_dup != ING_ERROR) {
                fail_msg("%s accepted", name);
            }
            counts[1]++;
        } else if (name[0] == 'i') {
            counts[2]++;
        }
        free(buf);
    }
    closedir(d);

    assert_int_equal(counts[0], 95);
    assert_int_equal(counts[1], 188);
    assert_int_equal(counts[2], 35);
}

/* The i_ files, by the policy DESIGN.md implies: exactly what we decide. */
static void test_suite_implementation_defined(void **state)
{
    static const struct {
        const char *name;
        int expect;
    } cases[] = {
        /* Numbers are validated, never converted: any size is fine. */
        {"i_number_huge_exp.json", ING_OK},
        {"i_number_too_big_neg_int.json", ING_OK},
        {"i_number_real_underflow.json", ING_OK},
        /* Lone surrogates, escaped or encoded, are rejected. */
        {"i_object_key_lone_2nd_surrogate.json", ING_ERROR},
        {"i_string_1st_surrogate_but_2nd_missing.json", ING_ERROR},
        {"i_string_inverted_surrogates_U+1D11E.json", ING_ERROR},
        {"i_string_UTF8_surrogate_U+D800.json", ING_ERROR},
        /* Not UTF-8, or not JSON at all. */
        {"i_string_iso_latin_1.json", ING_ERROR},
        {"i_string_overlong_sequence_2_bytes.json", ING_ERROR},
        {"i_string_not_in_unicode_range.json", ING_ERROR},
        {"i_string_truncated-utf-8.json", ING_ERROR},
        {"i_string_utf16LE_no_BOM.json", ING_ERROR},
        {"i_structure_UTF-8_BOM_empty_object.json", ING_ERROR},
        /* 500 levels fit under the hard maximum, not under 32. */
        {"i_structure_500_nested_arrays.json", ING_OK},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[4096];
        struct ing_err err;
        size_t len;
        char *buf;

        ing_test_shared_path(path, sizeof(path), "testdata/jsontestsuite/%s",
                             cases[i].name);
        buf = ing_test_file_read(path, &len);
        if (ing_json_validate(scratch, buf, len, ING_JSON_DEPTH_MAX, false,
                              &err) != cases[i].expect) {
            fail_msg("%s: unexpected verdict", cases[i].name);
        }
        if (strstr(cases[i].name, "500_nested") != NULL) {
            assert_int_equal(
                ing_json_validate(scratch, buf, len, 32, false, &err),
                ING_ERROR);
            assert_string_equal(err.message, "nesting too deep");
            assert_int_equal(err.offset, 32);
        }
        free(buf);
    }
}

static void test_deep_nesting_file(void **state)
{
    struct ing_err err;
    size_t len;
    char *buf;

    (void)state;
    buf = ing_test_shared_read(
        "testdata/jsontestsuite/n_structure_100000_opening_arrays.json", &len);
    assert_int_equal(ing_json_validate(scratch, buf, len, 100000, true, &err),
                     ING_ERROR);
    assert_string_equal(err.message, "nesting too deep");
    assert_int_equal(err.offset, ING_JSON_DEPTH_MAX);
    free(buf);
}

/* --- transform corpus: accept or reject by documented policy ---------- */

static void test_transform_corpus(void **state)
{
    /* verdict in "any value" mode, then in event (duplicate-rejecting)
     * mode.  Numbers pass whatever their range (never converted);
     * NFC/NFD keys are different byte strings, so not duplicates (no
     * normalisation); repeated keys are legal JSON, rejected for events;
     * invalid code points, raw or escaped, are rejected; \u0000 is valid
     * JSON and accepted. */
    static const struct {
        const char *name;
        int any;
        int event;
    } policy[] = {
        {"number_-9223372036854775808.json", ING_OK, ING_OK},
        {"number_-9223372036854775809.json", ING_OK, ING_OK},
        {"number_1.0.json", ING_OK, ING_OK},
        {"number_1.000000000000000005.json", ING_OK, ING_OK},
        {"number_1000000000000000.json", ING_OK, ING_OK},
        {"number_10000000000000000999.json", ING_OK, ING_OK},
        {"number_1e-999.json", ING_OK, ING_OK},
        {"number_1e6.json", ING_OK, ING_OK},
        {"number_9223372036854775807.json", ING_OK, ING_OK},
        {"number_9223372036854775808.json", ING_OK, ING_OK},
        {"object_key_nfc_nfd.json", ING_OK, ING_OK},
        {"object_key_nfd_nfc.json", ING_OK, ING_OK},
        {"object_same_key_different_values.json", ING_OK, ING_ERROR},
        {"object_same_key_same_value.json", ING_OK, ING_ERROR},
        {"object_same_key_unclear_values.json", ING_OK, ING_ERROR},
        {"string_1_escaped_invalid_codepoint.json", ING_ERROR, ING_ERROR},
        {"string_1_invalid_codepoint.json", ING_ERROR, ING_ERROR},
        {"string_2_escaped_invalid_codepoints.json", ING_ERROR, ING_ERROR},
        {"string_2_invalid_codepoints.json", ING_ERROR, ING_ERROR},
        {"string_3_escaped_invalid_codepoints.json", ING_ERROR, ING_ERROR},
        {"string_3_invalid_codepoints.json", ING_ERROR, ING_ERROR},
        {"string_with_escaped_NULL.json", ING_OK, ING_OK},
    };
    size_t n = sizeof(policy) / sizeof(policy[0]);
    char dir[4096];
    struct dirent *de;
    size_t seen = 0;
    DIR *d;

    (void)state;
    ing_test_shared_path(dir, sizeof(dir), "testdata/jsontestsuite-transform");
    d = opendir(dir);
    if (d == NULL) {
        fail_msg("transform corpus not found at %s", dir);
    }
    while ((de = readdir(d)) != NULL) {
        char path[8192];
        struct ing_err err;
        size_t len;
        size_t i;
        char *buf;

        if (strstr(de->d_name, ".json") == NULL) {
            continue;
        }
        for (i = 0; i < n && strcmp(policy[i].name, de->d_name) != 0; i++) {
        }
        if (i == n) {
            fail_msg("%s has no documented policy", de->d_name);
        }
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        buf = ing_test_file_read(path, &len);
        if (ing_json_validate(scratch, buf, len, 32, false, &err) !=
                policy[i].any ||
            ing_json_validate(scratch, buf, len, 32, true, &err) !=
                policy[i].event) {
            fail_msg("%s: verdict differs from policy", de->d_name);
        }
        free(buf);
        seen++;
    }
    closedir(d);
    assert_int_equal(seen, n);
}

/* --- strings ------------------------------------------------------------ */

static void test_escapes(void **state)
{
    (void)state;
    OK("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
    OK("\"\\u0041\\u00e9\\u00E9\\u20AC\\uffff\\u0000\"");
    BAD("\"\\x\"", "invalid escape in string", 1);
    BAD("\"ab\\'\"", "invalid escape in string", 3);
    BAD("\"\\U0041\"", "invalid escape in string", 1);
    BAD("\"\\u12\"", "invalid \\u escape", 1);
    BAD("\"\\u12G4\"", "invalid \\u escape", 1);
    BAD("\"\\u", "invalid \\u escape", 1);
    BAD("\"\\", "unterminated string", 2);
    BAD("\"abc", "unterminated string", 4);
    BAD("\"\\\"", "unterminated string", 3);
}

static void test_surrogates(void **state)
{
    (void)state;
    OK("\"\\uD83D\\uDE00\"");
    OK("\"\\ud83d\\ude00\"");
    OK("\"\\uDBFF\\uDFFF\\uD800\\uDC00\"");
    BAD("\"\\uD83D\"", "lone surrogate in \\u escape", 1);
    BAD("\"x\\uDE00\"", "lone surrogate in \\u escape", 2);
    BAD("\"\\uD83D\\u0041\"", "lone surrogate in \\u escape", 1);
    BAD("\"\\uDE00\\uD83D\"", "lone surrogate in \\u escape", 1);
    BAD("\"\\uD83Dx\\uDE00\"", "lone surrogate in \\u escape", 1);
    BAD("\"\\uD83D\\uD83D\\uDE00\"", "lone surrogate in \\u escape", 1);
    BAD("\"\\uD83D\\n\"", "lone surrogate in \\u escape", 1);
    BAD("\"\\uD83D\\uDE0\"", "lone surrogate in \\u escape", 1);
}

static void test_utf8(void **state)
{
    (void)state;
    OK("\"\xC2\x80 \xDF\xBF \xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 "
       "\xEF\xBF\xBF \xF0\x90\x80\x80 \xF4\x8F\xBF\xBF\"");
    OK("\"h\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80 \x7F\"");
    /* overlong forms */
    BAD("\"\xC0\x80\"", "invalid UTF-8 in string", 1);
    BAD("\"\xC1\xBF\"", "invalid UTF-8 in string", 1);
    BAD("\"\xE0\x80\x80\"", "invalid UTF-8 in string", 1);
    BAD("\"\xE0\x9F\xBF\"", "invalid UTF-8 in string", 1);
    BAD("\"\xF0\x80\x80\x80\"", "invalid UTF-8 in string", 1);
    BAD("\"\xF0\x8F\xBF\xBF\"", "invalid UTF-8 in string", 1);
    /* UTF-16 surrogates encoded in UTF-8 */
    BAD("\"ab\xED\xA0\x80\"", "invalid UTF-8 in string", 3);
    BAD("\"\xED\xBF\xBF\"", "invalid UTF-8 in string", 1);
    /* beyond U+10FFFF, and bytes never valid */
    BAD("\"\xF4\x90\x80\x80\"", "invalid UTF-8 in string", 1);
    BAD("\"\xF5\x80\x80\x80\"", "invalid UTF-8 in string", 1);
    BAD("\"\xFF\"", "invalid UTF-8 in string", 1);
    BAD("\"\xFE\"", "invalid UTF-8 in string", 1);
    /* truncated sequences and lone continuations */
    BAD("\"\xC3\"", "invalid UTF-8 in string", 1);
    BAD("\"\xE2\x82\"", "invalid UTF-8 in string", 1);
    BAD("\"\xF0\x9F\x98\"", "invalid UTF-8 in string", 1);
    BAD("\"\xE2\x82", "invalid UTF-8 in string", 1);
    BAD("\"\x80\"", "invalid UTF-8 in string", 1);
    BAD("\"\xC3\xA9\xA9\"", "invalid UTF-8 in string", 3);
    BAD("\"\xE2\x28\xA1\"", "invalid UTF-8 in string", 1);
}

static void test_control_characters(void **state)
{
    (void)state;
    BAD("\"a\x01\"", "unescaped control character in string", 2);
    BAD("\"\x1F\"", "unescaped control character in string", 1);
    BAD("\"tab\there\"", "unescaped control character in string", 4);
    BAD("\"line\n\"", "unescaped control character in string", 5);
    BAD("[\"a\x00\"]", "unescaped control character in string", 3);
}

/*
 * Every special byte at every position of strings longer and shorter
 * than one SSE2 block, so both the vector and the scalar path are seen,
 * and a string that ends exactly at the end of the buffer.
 */
static void test_string_positions(void **state)
{
    static const char specials[] = {'\x01', '\x1F', '\x80', '\xFF'};
    char text[80];

    (void)state;
    for (size_t n = 0; n < 70; n++) {
        struct ing_err err;

        text[0] = '"';
        memset(text + 1, 'a', n);
        text[n + 1] = '"';
        assert_int_equal(validate_n(text, n + 2, 8, true, &err), ING_OK);
        assert_int_equal(validate_n(text, n + 1, 8, true, &err), ING_ERROR);
        assert_int_equal(err.offset, n + 1);

        for (size_t k = 0; k < n; k++) {
            for (size_t s = 0; s < sizeof(specials); s++) {
                text[1 + k] = specials[s];
                assert_int_equal(validate_n(text, n + 2, 8, true, &err),
                                 ING_ERROR);
                assert_int_equal(err.offset, 1 + k);
            }
            text[1 + k] = '"';
            assert_int_equal(validate_n(text, n + 2, 8, true, &err), ING_ERROR);
            assert_string_equal(err.message,
                                "trailing data after the JSON value");
            assert_int_equal(err.offset, k + 2);
            text[1 + k] = 'a';
        }
    }
}

/* --- numbers, literals, structure ------------------------------------- */

static void test_numbers(void **state)
{
    static const char *const good[] = {
        "0",
        "-0",
        "1",
        "-1",
        "10",
        "0.5",
        "-0.0",
        "1e5",
        "1E5",
        "1e+5",
        "1e-5",
        "1.5e300",
        "123456789012345678901234567890",
        "1E-999",
        "0e0",
        "[1,2.5,-3e2]",
    };
    static const char *const bad[] = {
        "+1",        "01",  "-01",  ".5",    "1.",   "1.e5", "1e",
        "1e+",       "-",   "--1",  "0x1",   "1.5.", "Inf",  "NaN",
        "-Infinity", "1 2", "[01]", "1e5.0", "00",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        expect_ok(good[i], strlen(good[i]));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ing_err err;

        if (validate_n(bad[i], strlen(bad[i]), 8, true, &err) != ING_ERROR) {
            fail_msg("accepted number %s", bad[i]);
        }
    }
    BAD("01", "leading zero in number", 0);
    BAD("[1.]", "digit expected after '.' in number", 3);
    BAD("1e+", "digit expected in exponent", 3);
    BAD("-", "invalid number", 1);
}

static void test_literals_and_structure(void **state)
{
    (void)state;
    OK(" \t\r\n{ \"a\" : [ true , false , null , { } , [ ] ] } \n");
    OK("\"top-level string\"");
    OK("null");
    BAD("tru", "invalid literal", 0);
    BAD("[nul]", "invalid literal", 1);
    BAD("True", "expected a JSON value", 0);
    BAD("", "empty JSON text", 0);
    BAD(" \n ", "empty JSON text", 3);
    BAD("[1,]", "trailing comma", 3);
    BAD("{\"a\":1,}", "trailing comma", 7);
    BAD("{\"a\":1 , }", "trailing comma", 9);
    BAD("{\"a\" 1}", "expected ':'", 5);
    BAD("{\"a\":}", "expected a JSON value", 5);
    BAD("{1:2}", "expected a string key", 1);
    BAD("[1 2]", "expected ',' or ']'", 3);
    BAD("{\"a\":1 \"b\":2}", "expected ',' or '}'", 7);
    BAD("[1]]", "trailing data after the JSON value", 3);
    BAD("{}x", "trailing data after the JSON value", 2);
    BAD("[", "unexpected end of input", 1);
    BAD("{\"a\":1", "unexpected end of input", 6);
    BAD("{\"a\"", "unexpected end of input", 4);
    BAD("[\f]", "expected a JSON value", 1);
    BAD("\xEF\xBB\xBF{}", "expected a JSON value", 0);
    BAD("[1,,2]", "expected a JSON value", 3);
}

static void test_depth(void **state)
{
    struct ing_err err;
    char deep[2100];

    (void)state;
    assert_int_equal(validate_n("[[[1]]]", 7, 3, true, &err), ING_OK);
    assert_int_equal(validate_n("[[[[1]]]]", 9, 3, true, &err), ING_ERROR);
    assert_string_equal(err.message, "nesting too deep");
    assert_int_equal(err.offset, 3);
    assert_int_equal(validate_n("{\"a\":{\"b\":[1]}}", 15, 3, true, &err),
                     ING_OK);
    assert_int_equal(validate_n("{\"a\":{\"b\":[[1]]}}", 17, 3, true, &err),
                     ING_ERROR);
    assert_int_equal(err.offset, 11);
    assert_int_equal(validate_n("1", 1, 0, true, &err), ING_OK);
    assert_int_equal(validate_n("[]", 2, 0, true, &err), ING_ERROR);

    /* A limit above ING_JSON_DEPTH_MAX is clamped to it. */
    memset(deep, '[', 1025);
    memset(deep + 1025, ']', 1025);
    assert_int_equal(validate_n(deep, 2050, 5000, true, &err), ING_ERROR);
    assert_int_equal(err.offset, ING_JSON_DEPTH_MAX);
    assert_int_equal(validate_n(deep + 1, 2048, 5000, true, &err), ING_OK);
}

/* --- duplicate keys ----------------------------------------------------- */

static void test_duplicate_keys(void **state)
{
    struct ing_err err;

    (void)state;
    BAD("{\"a\":1,\"a\":2}", "duplicate key", 7);
    BAD("{\"a\":1,\"\\u0061\":2}", "duplicate key", 7);
    BAD("{\"\\u0061\":1,\"a\":2}", "duplicate key", 12);
    BAD("{\"\\u0061\":1,\"\\u0061\":2}", "duplicate key", 12);
    BAD("{\"\xC3\xA9\":1,\"\\u00e9\":2}", "duplicate key", 8);
    BAD("{\"\xF0\x9F\x98\x80\":1,\"\\ud83d\\ude00\":2}", "duplicate key", 10);
    BAD("{\"a/b\":1,\"a\\/b\":1}", "duplicate key", 9);
    BAD("{\"\\n\":1,\"\\u000a\":1}", "duplicate key", 8);
    BAD("{\"\":1,\"\":1}", "duplicate key", 6);
    BAD("[{\"x\":{\"a\":1,\"b\":2,\"a\":3}}]", "duplicate key", 19);
    OK("{\"a\":1,\"A\":1,\"a \":1,\"\\u0062\":1,\"ab\":1}");
    OK("{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":1}}");
    OK("[{\"a\":1},{\"a\":1}]");
    OK("{\"\\u00e9\":1,\"e\xCC\x81\":1}");
    /* RFC 8259 allows repeats: the "any value" mode may accept them. */
    assert_int_equal(validate_n("{\"a\":1,\"a\":2}", 13, 8, false, &err),
                     ING_OK);
}

/* Writes {"k0":0,"k1":0,...} with n keys (key i spelled by name(i)). */
static size_t big_object(char *out, size_t n, size_t dup_of, size_t dup_at,
                         bool escape_dup)
{
    size_t len = 0;

    out[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        size_t id = i == dup_at ? dup_of : i;

        if (i > 0) {
            out[len++] = ',';
        }
        if (i == dup_at && escape_dup) {
            len += (size_t)sprintf(out + len, "\"\\u006b%zu\":0", id);
        } else {
            len += (size_t)sprintf(out + len, "\"k%zu\":0", id);
        }
    }
    out[len++] = '}';
    return len;
}

static size_t key_offset(const char *buf, size_t len, size_t nth)
{
    size_t seen = 0;

    for (size_t i = 0; i < len; i++) {
        if ((buf[i] == '{' || buf[i] == ',') && seen++ == nth) {
            return i + 1;
        }
    }
    return SIZE_MAX;
}

static void test_large_objects(void **state)
{
    const size_t n = 100000;
    char *buf = malloc(n * 16 + 2);
    struct ing_err err;
    struct timespec t0;
    struct timespec t1;
    size_t len;
    double secs;

    (void)state;
    assert_non_null(buf);
    len = big_object(buf, n, 0, SIZE_MAX, false);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(validate_n(buf, len, 8, true, &err), ING_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) +
           (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* O(k^2) would be 5e9 comparisons: minutes, not this. */
    assert_true(secs < 5.0);

    len = big_object(buf, n, 3, n - 1, false);
    assert_int_equal(validate_n(buf, len, 8, true, &err), ING_ERROR);
    assert_string_equal(err.message, "duplicate key");
    assert_int_equal(err.offset, key_offset(buf, len, n - 1));

    len = big_object(buf, n, 50000, 70000, true);
    assert_int_equal(validate_n(buf, len, 8, true, &err), ING_ERROR);
    assert_int_equal(err.offset, key_offset(buf, len, 70000));

    /* Just past the linear limit, and the linear range itself. */
    for (size_t k = 2; k < 40; k++) {
        len = big_object(buf, k, 0, k - 1, false);
        assert_int_equal(validate_n(buf, len, 8, true, &err), ING_ERROR);
        assert_int_equal(err.offset, key_offset(buf, len, k - 1));
        len = big_object(buf, k, k - 2, k - 1, true);
        assert_int_equal(validate_n(buf, len, 8, true, &err), ING_ERROR);
        len = big_object(buf, k, 0, SIZE_MAX, false);
        assert_int_equal(validate_n(buf, len, 8, true, &err), ING_OK);
    }
    free(buf);
}

/* Of several repeats in a large object, the earliest second one counts. */
static void test_large_object_first_repeat(void **state)
{
    char buf[4096];
    size_t len = 0;
    struct ing_err err;

    (void)state;
    buf[len++] = '{';
    for (int i = 0; i < 40; i++) {
        const char *key = i == 35 ? "k5" : i == 30 ? "k20" : NULL;

        if (i > 0) {
            buf[len++] = ',';
        }
        if (key != NULL) {
            len += (size_t)sprintf(buf + len, "\"%s\":[]", key);
        } else {
            len += (size_t)sprintf(buf + len, "\"k%d\":[]", i);
        }
    }
    buf[len++] = '}';
    assert_int_equal(validate_n(buf, len, 8, true, &err), ING_ERROR);
    assert_int_equal(err.offset, key_offset(buf, len, 30));
}

static void test_too_large(void **state)
{
    struct ing_json_scratch *small = ing_json_scratch_create(8);
    struct ing_err err;

    (void)state;
    assert_non_null(small);
    assert_int_equal(ing_json_validate(small, "[1,2,3,4]", 9, 8, true, &err),
                     ING_ERROR);
    assert_int_equal(err.code, ING_ERR_TOO_LARGE);
    assert_int_equal(ing_json_validate(small, "{\"a\":1}", 7, 8, true, &err),
                     ING_OK);
    ing_json_scratch_destroy(small);
    assert_null(ing_json_scratch_create((size_t)1 << 31));
}

/* --- lower-level entry points ------------------------------------------ */

static void test_object_walker(void **state)
{
    const char *text = "{ \"x\" : [1] , \"y\":\"\\u0061\" ,\"x\":2}";
    size_t len = strlen(text);
    struct ing_json_object obj;
    struct ing_json_string key;
    struct ing_err err;
    size_t end;

    (void)state;
    ing_json_scratch_reset(scratch);
    ing_json_object_open(scratch, &obj, text, len, 0, true);
    assert_int_equal(ing_json_object_next(scratch, &obj, &key, &err),
                     ING_JSON_MEMBER);
    assert_true(ing_json_string_eq(text, &key, "x", 1));
    assert_int_equal(obj.pos, 8);
    assert_int_equal(ing_json_value_scan(scratch, text, len, obj.pos, 1, 8,
                                         true, &end, &err),
                     ING_OK);
    assert_int_equal(end, 11);
    obj.pos = end;
    assert_int_equal(ing_json_object_next(scratch, &obj, &key, &err),
                     ING_JSON_MEMBER);
    assert_false(ing_json_string_eq(text, &key, "x", 1));
    obj.pos += 8;
    assert_int_equal(ing_json_object_next(scratch, &obj, &key, &err),
                     ING_ERROR);
    assert_string_equal(err.message, "duplicate key");
    assert_true(ing_json_string_eq(text, &key, "x", 1));

    ing_json_object_open(scratch, &obj, "{}", 2, 0, true);
    assert_int_equal(ing_json_object_next(scratch, &obj, &key, &err), ING_OK);
    assert_int_equal(obj.pos, 2);
}

static void test_string_compare(void **state)
{
    const char *text = "\"ab\" \"a\\u0062\" \"abc\" \"\\u00e9\" \"\xC3\xA9\"";
    size_t len = strlen(text);
    struct ing_json_string s[5];
    struct ing_err err;
    size_t pos = 0;

    (void)state;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ing_json_string_scan(text, len, pos, &s[i], &err),
                         ING_OK);
        pos = s[i].start + s[i].len + 2;
    }
    assert_false(s[0].escaped);
    assert_true(s[1].escaped);
    assert_int_equal(ing_json_string_cmp(text, &s[0], &s[1]), 0);
    assert_true(ing_json_string_cmp(text, &s[1], &s[2]) < 0);
    assert_true(ing_json_string_cmp(text, &s[2], &s[1]) > 0);
    assert_int_equal(ing_json_string_cmp(text, &s[3], &s[4]), 0);
    assert_true(ing_json_string_eq(text, &s[1], "ab", 2));
    assert_false(ing_json_string_eq(text, &s[1], "abc", 3));
    assert_true(ing_json_string_eq(text, &s[3], "\xC3\xA9", 2));
}

static int group_setup(void **state)
{
    (void)state;
    scratch = ing_json_scratch_create(MAX_BODY);
    return scratch == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ing_json_scratch_destroy(scratch);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_files),
        cmocka_unit_test(test_suite_implementation_defined),
        cmocka_unit_test(test_deep_nesting_file),
        cmocka_unit_test(test_transform_corpus),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_surrogates),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_string_positions),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_literals_and_structure),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_large_objects),
        cmocka_unit_test(test_large_object_first_repeat),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_object_walker),
        cmocka_unit_test(test_string_compare),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
