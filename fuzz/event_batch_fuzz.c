/*
 * event_batch_fuzz.c - a request body as a batch of events, and the same
 * bytes as "any JSON value".
 *
 * The input is a body.  ing_event_batch_parse() runs on it in both formats
 * with the default limits and with small ones (3 events, 2 metadata pairs,
 * depth 1 to 3, chosen by the length).  Checked (event_batch.h,
 * event_validate.h, json_validate.h):
 *  - an accepted batch has at most max_events events; each is a view into
 *    the body from '{' to '}', in order, not overlapping; one object in
 *    the JSON format is the one event of a non-batch; an NDJSON event
 *    holds no LF;
 *  - each accepted event, copied alone into a buffer of its own size, is
 *    valid for ing_event_validate() (which therefore reads nothing around
 *    it) and is valid JSON without duplicate keys for ing_json_validate();
 *    an accepted JSON body is valid JSON as a whole;
 *  - a rejected batch is 400 or 413 with count 0 and an offset in the
 *    body; 413 only for too many events or a body over the scratch size;
 *  - the formats agree: one object on one line is accepted by both or by
 *    neither; an accepted array re-joined as NDJSON lines, and accepted
 *    NDJSON re-joined as an array, are accepted with the same events;
 *  - a scratch sized for a small body gives the same verdict on a body
 *    that fits it, 413 on one that does not;
 *  - "any JSON value": rejecting duplicate keys only ever turns an accept
 *    into a "duplicate key" error;
 *  - no heap allocation (counted under ASan).
 *
 * Built with FUZZ_WITH_JANSSON (the libFuzzer build does so when jansson
 * is installed), ing_json_validate() is also compared with jansson's
 * json_loadb().  Known, accepted differences are skipped (see
 * jansson_known_difference); any other one aborts, to be looked at.
 */
#include <stdlib.h>
#include <string.h>

#include "event_batch.h"
#include "fuzz_check.h"
#include "json_validate.h"

#ifdef FUZZ_WITH_JANSSON
#include <ctype.h>
#include <jansson.h>
#endif

#define BIG_BODY_BYTES   (1u << 20)
#define SMALL_BODY_BYTES 256u

struct scratches {
    struct ing_event_scratch *big;
    struct ing_event_scratch *small;
    struct ing_json_scratch *json;
    struct ing_event_limits defaults;
    struct ing_event_limits tight;
};

static struct scratches *scratches_get(void)
{
    static struct scratches sc;
    static bool ready;

    if (!ready) {
        ing_event_limits_init(&sc.defaults);
        sc.tight.max_events = 3;
        sc.tight.max_metadata_pairs = 2;
        sc.tight.max_depth = 3;
        sc.big = ing_event_scratch_create(&sc.defaults, BIG_BODY_BYTES);
        sc.small = ing_event_scratch_create(&sc.defaults, SMALL_BODY_BYTES);
        sc.json = ing_json_scratch_create(BIG_BODY_BYTES * 2);
        FUZZ_CHECK(sc.big != NULL && sc.small != NULL && sc.json != NULL);
        ready = true;
    }
    return &sc;
}

struct verdict {
    int rc;
    struct ing_event_batch batch;
    struct ing_err err;
};

static void parse(struct ing_event_scratch *s, const char *body, size_t len,
                  enum ing_event_format fmt, const struct ing_event_limits *lim,
                  struct verdict *v)
{
    ing_fuzz_alloc_begin();
    v->rc = ing_event_batch_parse(s, body, len, fmt, lim, &v->batch, &v->err);
    FUZZ_CHECK(ing_fuzz_alloc_end() == 0);
}

static int json_validate(const char *buf, size_t len, unsigned depth,
                         bool reject_dup, struct ing_err *err)
{
    struct scratches *sc = scratches_get();
    int rc;

    ing_fuzz_alloc_begin();
    rc = ing_json_validate(sc->json, buf, len, depth, reject_dup, err);
    FUZZ_CHECK(ing_fuzz_alloc_end() == 0);
    FUZZ_CHECK(rc == ING_OK || rc == ING_ERROR);
    return rc;
}

/* One accepted event, alone in a buffer of exactly its size. */
static void check_event_alone(struct ing_view ev,
                              const struct ing_event_limits *lim)
{
    struct scratches *sc = scratches_get();
    char *copy = malloc(ev.len);
    struct ing_err err;
    size_t end = 0;
    int rc;

    FUZZ_CHECK(copy != NULL);
    memcpy(copy, ev.ptr, ev.len);

    ing_err_clear(&err);
    ing_fuzz_alloc_begin();
    rc = ing_event_validate(sc->json, copy, ev.len, 0, lim, &end, &err);
    FUZZ_CHECK(ing_fuzz_alloc_end() == 0);
    FUZZ_CHECK(rc == ING_OK && end == ev.len);

    FUZZ_CHECK(json_validate(copy, ev.len, lim->max_depth, true, &err) ==
               ING_OK);
    free(copy);
}

static void check_accepted(const char *body, size_t len,
                           enum ing_event_format fmt,
                           const struct ing_event_limits *lim,
                           const struct verdict *v)
{
    const struct ing_event_batch *b = &v->batch;
    const char *prev_end = body;
    struct ing_err err;

    FUZZ_CHECK(b->count <= lim->max_events);
    if (!b->is_batch) {
        FUZZ_CHECK(fmt == ING_EVENT_FORMAT_JSON && b->count == 1);
    }
    if (fmt == ING_EVENT_FORMAT_NDJSON) {
        FUZZ_CHECK(b->is_batch && b->count > 0);
    }

    for (size_t i = 0; i < b->count; i++) {
        struct ing_view ev = b->events[i];

        FUZZ_CHECK(ev.len >= 2 && ev.ptr >= prev_end);
        FUZZ_CHECK(ev.ptr + ev.len <= body + len);
        FUZZ_CHECK(ev.ptr[0] == '{' && ev.ptr[ev.len - 1] == '}');
        if (fmt == ING_EVENT_FORMAT_NDJSON) {
            FUZZ_CHECK(memchr(ev.ptr, '\n', ev.len) == NULL);
        }
        check_event_alone(ev, lim);
        prev_end = ev.ptr + ev.len;
    }

    if (fmt == ING_EVENT_FORMAT_JSON) {
        FUZZ_CHECK(json_validate(body, len, lim->max_depth + 1, true, &err) ==
                   ING_OK);
    }
}

static void check_rejected(size_t len, const struct ing_event_limits *lim,
                           const struct verdict *v)
{
    FUZZ_CHECK(v->rc == ING_ERROR && v->batch.count == 0);
    FUZZ_CHECK(v->err.message != NULL);
    FUZZ_CHECK(v->err.offset <= len);
    FUZZ_CHECK(v->err.index == ING_ERR_NONE || v->err.index <= lim->max_events);
    if (v->err.code == ING_ERR_TOO_LARGE) {
        FUZZ_CHECK(v->err.index == lim->max_events);
        return;
    }
    FUZZ_CHECK(v->err.code == ING_ERR_BAD_REQUEST);
}

/* The events of an accepted batch, joined into a body of the other format. */
static char *rejoin(const struct ing_event_batch *b, bool as_array, size_t *len)
{
    size_t total = 2;
    char *out;
    char *p;

    for (size_t i = 0; i < b->count; i++) {
        total += b->events[i].len + 1;
    }
    out = malloc(total);
    FUZZ_CHECK(out != NULL);

    p = out;
    if (as_array) {
        *p++ = '[';
    }
    for (size_t i = 0; i < b->count; i++) {
        if (as_array && i > 0) {
            *p++ = ',';
        }
        memcpy(p, b->events[i].ptr, b->events[i].len);
        p += b->events[i].len;
        if (!as_array) {
            *p++ = '\n';
        }
    }
    if (as_array) {
        *p++ = ']';
    }
    *len = (size_t)(p - out);
    return out;
}

static bool has_lf(const struct ing_event_batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        if (memchr(b->events[i].ptr, '\n', b->events[i].len) != NULL) {
            return true;
        }
    }
    return false;
}

/* An accepted batch survives the trip to the other format. */
static void check_rejoined(struct ing_event_scratch *s,
                           enum ing_event_format fmt,
                           const struct ing_event_limits *lim,
                           const struct verdict *v)
{
    static struct verdict other;
    bool to_array = fmt == ING_EVENT_FORMAT_NDJSON;
    size_t len;
    char *body;

    if (!v->batch.is_batch || v->batch.count == 0 ||
        (!to_array && has_lf(&v->batch))) {
        return;
    }
    body = rejoin(&v->batch, to_array, &len);
    parse(s, body, len,
          to_array ? ING_EVENT_FORMAT_JSON : ING_EVENT_FORMAT_NDJSON, lim,
          &other);
    FUZZ_CHECK(other.rc == ING_OK);
    FUZZ_CHECK(other.batch.count == v->batch.count);
    free(body);
}

/* Leading blanks, then '{', and no LF anywhere: one object on one line. */
static bool one_line_object(const char *body, size_t len)
{
    size_t i = 0;

    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r')) {
        i++;
    }
    return i < len && body[i] == '{' && memchr(body, '\n', len) == NULL;
}

static void run_limits(const char *body, size_t len,
                       const struct ing_event_limits *lim, bool with_small)
{
    struct scratches *sc = scratches_get();
    static struct verdict json;
    static struct verdict ndjson;
    static struct verdict small;

    parse(sc->big, body, len, ING_EVENT_FORMAT_JSON, lim, &json);
    if (json.rc == ING_OK) {
        check_accepted(body, len, ING_EVENT_FORMAT_JSON, lim, &json);
        check_rejoined(sc->big, ING_EVENT_FORMAT_JSON, lim, &json);
    } else {
        check_rejected(len, lim, &json);
    }

    parse(sc->big, body, len, ING_EVENT_FORMAT_NDJSON, lim, &ndjson);
    if (ndjson.rc == ING_OK) {
        check_accepted(body, len, ING_EVENT_FORMAT_NDJSON, lim, &ndjson);
        check_rejoined(sc->big, ING_EVENT_FORMAT_NDJSON, lim, &ndjson);
    } else {
        check_rejected(len, lim, &ndjson);
    }

    if (one_line_object(body, len)) {
        FUZZ_CHECK((json.rc == ING_OK) == (ndjson.rc == ING_OK));
    }

    if (!with_small) {
        return;
    }
    parse(sc->small, body, len, ING_EVENT_FORMAT_JSON, lim, &small);
    if (len > SMALL_BODY_BYTES) {
        FUZZ_CHECK(small.rc == ING_ERROR &&
                   small.err.code == ING_ERR_TOO_LARGE);
    } else {
        FUZZ_CHECK(small.rc == json.rc && small.err.code == json.err.code &&
                   small.err.offset == json.err.offset &&
                   small.batch.count == json.batch.count);
    }
}

#ifdef FUZZ_WITH_JANSSON

/*
 * Where jansson and ing_json_validate() are allowed to differ:
 *  - numbers: RFC 8259 §9 lets a parser limit their range; jansson
 *    refuses integers past 64 bits and reals past DBL_MAX, the validator
 *    takes any size (it never converts);
 *  - a key holding "\u0000": jansson cannot store it and refuses;
 *  - nesting: jansson stops at 2048 levels, the validator (as called
 *    here) at ING_JSON_DEPTH_MAX = 1024;
 *  - a NUL byte right after a top-level number or literal ("123\0",
 *    "true\0 "): jansson's lexer takes it for the end of the input and
 *    accepts, the validator rightly calls it trailing data (JSONTestSuite's
 *    n_multidigit_number_then_00).
 */
static bool jansson_known_difference(const char *body, size_t len, int ours,
                                     const struct ing_err *err,
                                     const json_error_t *jerr)
{
    enum json_error_code code = json_error_code(jerr);

    if (ours == ING_OK) {
        return code == json_error_numeric_overflow ||
               code == json_error_null_byte_in_key;
    }
    if (err->offset > 0 && err->offset < len && body[err->offset] == '\0' &&
        isalnum((unsigned char)body[err->offset - 1])) {
        return true;
    }
    return strcmp(err->message, "nesting too deep") == 0;
}

static void jansson_compare(const char *body, size_t len, bool reject_dup,
                            int ours, const struct ing_err *err)
{
    size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
    json_error_t jerr;
    json_t *doc;

    if (reject_dup) {
        flags |= JSON_REJECT_DUPLICATES;
    }
    doc = json_loadb(body, len, flags, &jerr);
    if ((doc != NULL) != (ours == ING_OK) &&
        !jansson_known_difference(body, len, ours, err, &jerr)) {
        fprintf(stderr, "fuzz: jansson %s (%s), ing_json_validate %s (%s)\n",
                doc != NULL ? "accepts" : "rejects",
                doc != NULL ? "-" : jerr.text,
                ours == ING_OK ? "accepts" : "rejects",
                ours == ING_OK ? "-" : err->message);
        FUZZ_FAIL("jansson and ing_json_validate disagree");
    }
    json_decref(doc);
}

#else

static void jansson_compare(const char *body, size_t len, bool reject_dup,
                            int ours, const struct ing_err *err)
{
    (void)body;
    (void)len;
    (void)reject_dup;
    (void)ours;
    (void)err;
}

#endif

static void run_any_value(const char *body, size_t len)
{
    struct ing_err plain;
    struct ing_err dup;
    int rc_plain = json_validate(body, len, ING_JSON_DEPTH_MAX, false, &plain);
    int rc_dup = json_validate(body, len, ING_JSON_DEPTH_MAX, true, &dup);

    if (rc_plain == ING_ERROR) {
        FUZZ_CHECK(rc_dup == ING_ERROR);
        FUZZ_CHECK(plain.code == ING_ERR_BAD_REQUEST && plain.offset <= len);
    } else if (rc_dup == ING_ERROR) {
        FUZZ_CHECK(strcmp(dup.message, "duplicate key") == 0);
        FUZZ_CHECK(dup.offset < len && body[dup.offset] == '"');
    }

    jansson_compare(body, len, false, rc_plain, &plain);
    jansson_compare(body, len, true, rc_dup, &dup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scratches *sc = scratches_get();
    char *body = malloc(size > 0 ? size : 1);

    FUZZ_CHECK(body != NULL);
    if (size > 0) {
        memcpy(body, data, size);
    }

    run_limits(body, size, &sc->defaults, true);
    sc->tight.max_depth = 1 + (unsigned)(size % 3);
    run_limits(body, size, &sc->tight, false);
    run_any_value(body, size);

    free(body);
    return 0;
}
