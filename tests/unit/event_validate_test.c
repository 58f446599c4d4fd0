/*
 * event_validate_test.c - DESIGN.md's event table, rule by rule: required
 * fields (missing, wrong type, empty, 256-byte limit counted raw), the
 * timestamp hook, metadata (type, values, empty keys, pair limit,
 * repeats), passed-through values (any JSON, depth, repeats), fields
 * spelled with escapes, and the field/message/offset of every error.
 *
 * Events are written with ' for " to stay readable; each is copied into a
 * buffer of its exact length so that SAN=1 catches a read past the end.
 * Reference payloads come from $INGESTD_SHARED_DIR/bench (default
 * ../shared).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_validate.h"
#include "test_support.h"

#define TS   "'timestamp':'2026-12-03T15:04:05.123Z'"
#define BASE "'event_id':'e1'," TS ",'service':'svc','message':'hi'"

static struct ing_json_scratch *scratch;
static struct ing_event_limits limits;

struct result {
    int rc;
    struct ing_err err;
    size_t end;
    size_t len;
};

/* Validates text with ' turned into ", in a buffer of its exact size. */
static struct result run(const char *text)
{
    struct result res;
    size_t len = strlen(text);
    char *buf = malloc(len > 0 ? len : 1);

    assert_non_null(buf);
    for (size_t i = 0; i < len; i++) {
        buf[i] = text[i] == '\'' ? '"' : text[i];
    }
    ing_err_clear(&res.err);
    res.end = 0;
    res.len = len;
    res.rc =
        ing_event_validate(scratch, buf, len, 0, &limits, &res.end, &res.err);
    free(buf);
    return res;
}

static void expect_ok(const char *text)
{
    struct result r = run(text);

    if (r.rc != ING_OK) {
        fail_msg("rejected %s: %s at %zu", text, r.err.message, r.err.offset);
    }
}

/* field NULL means "no field named"; offset SIZE_MAX means "any". */
static void expect_bad(const char *text, const char *field, const char *message,
                       size_t offset)
{
    struct result r = run(text);

    if (r.rc != ING_ERROR) {
        fail_msg("accepted %s", text);
    }
    assert_int_equal(r.err.code, ING_ERR_BAD_REQUEST);
    assert_string_equal(r.err.message, message);
    if (field == NULL) {
        assert_null(r.err.field);
    } else {
        assert_non_null(r.err.field);
        assert_string_equal(r.err.field, field);
    }
    if (offset != SIZE_MAX) {
        assert_int_equal(r.err.offset, offset);
    }
    assert_int_equal(r.err.index, ING_ERR_NONE);
}

/* Offset of the first occurrence of needle in text. */
static size_t at(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);

    assert_non_null(p);
    return (size_t)(p - text);
}

static void test_reference_payloads(void **state)
{
    static const char *const names[] = {"bench/event.json",
                                        "bench/event-escaped.json"};

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct ing_err err;
        size_t len;
        size_t end;
        char *buf = ing_test_shared_read(names[i], &len);

        ing_err_clear(&err);
        if (ing_event_validate(scratch, buf, len, 0, &limits, &end, &err) !=
            ING_OK) {
            fail_msg("%s: %s at %zu", names[i], err.message, err.offset);
        }
        assert_int_equal(buf[end - 1], '}');
        assert_int_equal(end, len - 1);
        free(buf);
    }
}

static void test_minimal_and_extras(void **state)
{
    struct result r;

    (void)state;
    expect_ok("{" BASE "}");
    expect_ok("{'message':'','service':'s'," TS ",'event_id':'x'}");
    expect_ok("{" BASE ",'metadata':{}}");
    expect_ok("{" BASE ",'n':-1.5e3,'b':true,'z':null,'a':[1,{'k':[]}],"
              "'o':{'p':{'q':'r'}}}");
    expect_ok("{'message':'a\\u0000b\\n\\t\\\"\\\\'," TS
              ",'service':'s','event_id':'x'}");
    expect_ok("{ 'event_id' : 'e1' , " TS
              " ,\n\t'service':'svc',\r\n'message':'' }");

    /* Bytes after the event are the caller's business. */
    r = run("{" BASE "} trailing");
    assert_int_equal(r.rc, ING_OK);
    assert_int_equal(r.end, r.len - 9);
}

static void test_missing_fields(void **state)
{
    static const struct {
        const char *text;
        const char *field;
    } cases[] = {
        {"{" TS ",'service':'s','message':'m'}", "event_id"},
        {"{'event_id':'e','service':'s','message':'m'}", "timestamp"},
        {"{'event_id':'e'," TS ",'message':'m'}", "service"},
        {"{'event_id':'e'," TS ",'service':'s'}", "message"},
        {"{'service':'s'}", "event_id"},
        {"{}", "event_id"},
        {"{'Event_id':'e'," TS ",'service':'s','message':'m'}", "event_id"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char message[64];

        snprintf(message, sizeof(message), "missing required field %s",
                 cases[i].field);
        expect_bad(cases[i].text, cases[i].field, message,
                   strlen(cases[i].text) - 1);
    }
}

static void test_wrong_types(void **state)
{
    static const char *const values[] = {"5",  "null", "true",
                                         "[]", "{}",   "['x']"};
    static const char *const fields[] = {"event_id", "timestamp", "service",
                                         "message"};

    (void)state;
    for (size_t f = 0; f < 4; f++) {
        for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
            char text[256];
            char message[64];

            snprintf(text, sizeof(text), "{'%s':%s}", fields[f], values[v]);
            snprintf(message, sizeof(message), "%s must be a string",
                     fields[f]);
            expect_bad(text, fields[f], message, strlen(fields[f]) + 4);
        }
    }
}

static void test_empty_and_long(void **state)
{
    char text[1024];
    char id[300];

    (void)state;
    expect_bad("{'event_id':''}", "event_id", "event_id must not be empty", 12);
    expect_bad("{" TS ",'service':''}", "service", "service must not be empty",
               strlen("{" TS ",'service':"));
    expect_ok("{'event_id':'e'," TS ",'service':'s','message':''}");

    memset(id, 'a', 256);
    id[256] = '\0';
    snprintf(text, sizeof(text),
             "{'event_id':'%s'," TS ",'service':'%s','message':''}", id, id);
    expect_ok(text);

    memset(id, 'a', 257);
    id[257] = '\0';
    snprintf(text, sizeof(text), "{'event_id':'%s'}", id);
    expect_bad(text, "event_id", "event_id is longer than 256 bytes", 12);
    snprintf(text, sizeof(text), "{'service':'%s'}", id);
    expect_bad(text, "service", "service is longer than 256 bytes", 11);

    /* Raw bytes count: 250 + "\u0041" is 256 raw (251 decoded) ... */
    memset(id, 'a', 250);
    memcpy(id + 250, "\\u0041", 7);
    snprintf(text, sizeof(text),
             "{'event_id':'%s'," TS ",'service':'s','message':''}", id);
    expect_ok(text);
    /* ... and 251 + "\u0041" is 257 raw, though 252 decoded. */
    memset(id, 'a', 251);
    memcpy(id + 251, "\\u0041", 7);
    snprintf(text, sizeof(text), "{'event_id':'%s'}", id);
    expect_bad(text, "event_id", "event_id is longer than 256 bytes", 12);
}

static void test_string_errors_name_field(void **state)
{
    const char *t1 = "{'event_id':'e'," TS ",'service':'s','message':'a\x01'}";
    const char *t2 = "{'event_id':'a\xC0\x80'}";
    const char *t3 = "{'event_id':'e','timestamp':'2026-02-30T00:00:00Z'}";
    const char *t4 = "{'event_id':'e','timestamp':'2026-12-03T25:00:00Z'}";

    (void)state;
    expect_bad(t1, "message", "unescaped control character in string",
               at(t1, "\x01"));
    expect_bad(t2, "event_id", "invalid UTF-8 in string", at(t2, "\xC0"));
    expect_bad(t3, "timestamp", "timestamp has no such date", at(t3, "2026"));
    expect_bad(t4, "timestamp", "timestamp has no such time", at(t4, "25"));
    expect_bad("{'timestamp':'\\u0032026-12-03T15:04:05Z'}", "timestamp",
               "timestamp must not contain escapes", 14);
    expect_bad("{'timestamp':'yesterday'}", "timestamp",
               "timestamp is not an RFC 3339 date-time", 14);
}

static void test_metadata(void **state)
{
    const char *t1 = "{" BASE ",'metadata':{'a':'1','b':2}}";
    const char *t2 = "{" BASE ",'metadata':{'a':'1','':'2'}}";
    const char *t3 = "{" BASE ",'metadata':{'a':'1','a':'2'}}";
    const char *t4 = "{" BASE ",'metadata':{'a':'1','\\u0061':'2'}}";
    const char *t5 = "{" BASE ",'metadata':{'a':'\xFF'}}";
    const char *t6 = "{" BASE ",'metadata':{'a':'1',}}";

    (void)state;
    expect_ok("{" BASE ",'metadata':{'region':'eu','host':'h','e':''}}");
    expect_ok("{'metadata':{'k':'v'}," BASE "}");
    expect_bad("{" BASE ",'metadata':null}", "metadata",
               "metadata must be an object", strlen("{" BASE ",'metadata':"));
    expect_bad("{" BASE ",'metadata':[]}", "metadata",
               "metadata must be an object", SIZE_MAX);
    expect_bad("{" BASE ",'metadata':'x'}", "metadata",
               "metadata must be an object", SIZE_MAX);
    expect_bad(t1, "metadata", "metadata values must be strings",
               strlen(t1) - 3);
    expect_bad("{" BASE ",'metadata':{'a':{'b':'c'}}}", "metadata",
               "metadata values must be strings", SIZE_MAX);
    expect_bad("{" BASE ",'metadata':{'a':null}}", "metadata",
               "metadata values must be strings", SIZE_MAX);
    expect_bad(t2, "metadata", "metadata key must not be empty", at(t2, "'':"));
    expect_bad(t3, "metadata", "duplicate key", strlen(t3) - 9);
    expect_bad(t4, "metadata", "duplicate key", at(t4, "'\\u0061"));
    expect_bad(t5, "metadata", "invalid UTF-8 in string", at(t5, "\xFF"));
    expect_bad(t6, "metadata", "trailing comma", strlen(t6) - 2);
    expect_bad("{" BASE ",'metadata':{'a':'1'}", NULL,
               "unexpected end of input",
               strlen("{" BASE ",'metadata':{'a':'1'}"));
}

static void test_metadata_pairs(void **state)
{
    char text[4096];
    size_t len;

    (void)state;
    len = (size_t)sprintf(text, "{" BASE ",'metadata':{");
    for (int i = 0; i < 64; i++) {
        len += (size_t)sprintf(text + len, "%s'k%d':'v'", i ? "," : "", i);
    }
    strcpy(text + len, "}}");
    expect_ok(text);

    len += (size_t)sprintf(text + len, ",'k64':'v'");
    strcpy(text + len, "}}");
    expect_bad(text, "metadata", "metadata has too many pairs",
               at(text, "'k64'"));

    limits.max_metadata_pairs = 2;
    expect_ok("{" BASE ",'metadata':{'a':'1','b':'2'}}");
    expect_bad("{" BASE ",'metadata':{'a':'1','b':'2','c':'3'}}", "metadata",
               "metadata has too many pairs", SIZE_MAX);
    ing_event_limits_init(&limits);
}

static void test_passthrough(void **state)
{
    const char *t1 = "{" BASE ",'x':{'a':1,'b':[{'c':1,'c':2}]}}";
    const char *t2 = "{" BASE ",'x':[1,2,]}";
    const char *t3 = "{" BASE ",'x':1,'x':2}";

    (void)state;
    expect_bad(t1, NULL, "duplicate key", at(t1, "'c':2"));
    expect_bad(t2, NULL, "trailing comma", strlen(t2) - 2);
    expect_bad(t3, NULL, "duplicate key", strlen(t3) - 6);
    expect_bad("{" BASE ",'x':01}", NULL, "leading zero in number", SIZE_MAX);
    expect_bad("{" BASE ",'x':'\\uD800'}", NULL, "lone surrogate in \\u escape",
               SIZE_MAX);
}

/* Depth counts from the event's '{' as 1; max_depth 32 by default. */
static void test_depth(void **state)
{
    char text[512];
    size_t len;

    (void)state;
    len = (size_t)sprintf(text, "{" BASE ",'x':");
    memset(text + len, '[', 31);
    memset(text + len + 31, ']', 31);
    strcpy(text + len + 62, "}");
    expect_ok(text);

    len = (size_t)sprintf(text, "{" BASE ",'x':");
    memset(text + len, '[', 32);
    memset(text + len + 32, ']', 32);
    strcpy(text + len + 64, "}");
    expect_bad(text, NULL, "nesting too deep", len + 31);

    limits.max_depth = 1;
    expect_ok("{" BASE ",'x':1}");
    expect_bad("{" BASE ",'x':[]}", NULL, "nesting too deep", SIZE_MAX);
    expect_bad("{" BASE ",'metadata':{}}", "metadata", "nesting too deep",
               SIZE_MAX);
    ing_event_limits_init(&limits);
}

static void test_repeated_and_escaped_fields(void **state)
{
    const char *t1 = "{" BASE ",'event_id':'e2'}";
    const char *t2 = "{" BASE ",'event\\u005fid':'e2'}";
    const char *t3 = "{" BASE ",'message':'again'}";

    (void)state;
    expect_bad(t1, "event_id", "duplicate key", at(t1, "'event_id':'e2'"));
    expect_bad(t2, "event_id", "duplicate key", at(t2, "'event\\u005fid'"));
    expect_bad(t3, "message", "duplicate key", at(t3, "'message':'again'"));

    /* An escaped spelling of a field is that field, rules included. */
    expect_ok("{'event\\u005fid':'e'," TS ",'s\\u0065rvice':'s','message':''}");
    expect_bad("{'event\\u005fid':5}", "event_id", "event_id must be a string",
               17);
    expect_bad("{'metad\\u0061ta':5}", "metadata", "metadata must be an object",
               17);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_bad("[]", NULL, "event must be a JSON object", 0);
    expect_bad("", NULL, "event must be a JSON object", 0);
    expect_bad("{'event_id' 'e'}", "event_id", "expected ':'", 12);
    expect_bad("{" BASE ",}", NULL, "trailing comma", strlen("{" BASE ","));
    expect_bad("{" BASE " 'x':1}", NULL, "expected ',' or '}'",
               strlen("{" BASE " "));
    expect_bad("{" BASE, NULL, "unexpected end of input", strlen("{" BASE));
    expect_bad("{'event_id':", "event_id", "event_id must be a string", 12);
    expect_bad("{5:1}", NULL, "expected a string key", 1);

    /* The scratch is reusable after any error. */
    expect_ok("{" BASE "}");
}

static int group_setup(void **state)
{
    (void)state;
    ing_event_limits_init(&limits);
    scratch = ing_json_scratch_create((size_t)1 << 20);
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
        cmocka_unit_test(test_reference_payloads),
        cmocka_unit_test(test_minimal_and_extras),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_empty_and_long),
        cmocka_unit_test(test_string_errors_name_field),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_metadata_pairs),
        cmocka_unit_test(test_passthrough),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_repeated_and_escaped_fields),
        cmocka_unit_test(test_syntax_errors),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
