/*
 * http_parse_fuzz.c - ing_http_request_parse() on arbitrary bytes.
 *
 * The input is what a connection received, from the first byte of a
 * request on.  It is parsed with the default head limit (8 KiB) and with
 * a small one (64 bytes), and each verdict is checked against the
 * contract in http_parse.h:
 *  - the result is head_bytes (> 0), ING_AGAIN or ING_ERROR; an error has
 *    a status from the documented list and an offset inside the bytes;
 *  - an accepted head is at most min(len, limit) bytes, ends in CRLF CRLF,
 *    and every view lies inside it, except the documented static "/" and
 *    empty views of absent fields; path lies inside target; the framing
 *    facts agree with each other (no Content-Length with chunked, no
 *    chunked or 100-continue in HTTP/1.0, Content-Length <= INT64_MAX)
 *    and with a naive second reading of the field lines (Host,
 *    Content-Length, Transfer-Encoding, Content-Type, Content-Encoding,
 *    Connection and Expect, keep-alive derived from them);
 *  - prefixes: parsing a prefix of the input gives ING_AGAIN up to some
 *    length and from there on one and the same final verdict (a head is
 *    never refused before it is complete, extra bytes after it change
 *    nothing, an error never turns back into ING_AGAIN).  Each prefix is
 *    parsed from its own buffer of exactly its size, so reading past the
 *    length shows under ASan;
 *  - limit: a head of n bytes is accepted with the limit n and is a 431
 *    with the limit n - 1;
 *  - ing_http_request_is_blank() bytes are never a verdict;
 *  - no heap allocation (counted under ASan).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "http_parse.h"

#define DEFAULT_LIMIT 8192
#define SMALL_LIMIT   64

/* Inputs up to this long have every prefix checked; longer ones a sample. */
#define ALL_PREFIXES_MAX 128
#define SAMPLED_PREFIXES 24

struct verdict {
    int rc;
    struct ing_http_request req;
    struct ing_err err;
};

/* The bytes that are parsed: every prefix gets a buffer of its own size. */
static void parse_copy(const uint8_t *data, size_t len, size_t limit,
                       struct verdict *v)
{
    char *buf = malloc(len > 0 ? len : 1);

    FUZZ_CHECK(buf != NULL);
    if (len > 0) {
        memcpy(buf, data, len);
    }

    ing_err_clear(&v->err);
    ing_fuzz_alloc_begin();
    v->rc = ing_http_request_parse(buf, len, limit, &v->req, &v->err);
    FUZZ_CHECK(ing_fuzz_alloc_end() == 0);

    /* Views are rebased on data so verdicts of different copies compare. */
    if (v->rc > 0) {
        struct ing_view *views[] = {
            &v->req.method_name,  &v->req.target,           &v->req.path,
            &v->req.content_type, &v->req.content_encoding,
        };

        for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
            const char *p = views[i]->ptr;

            if (p >= buf && p <= buf + len) {
                views[i]->ptr = (const char *)data + (p - buf);
            }
        }
    }
    free(buf);
}

/* Inside the head, or empty, or the one documented static view. */
static bool view_inside(struct ing_view v, const uint8_t *data, size_t n)
{
    const char *start = (const char *)data;

    if (v.len == 0) {
        return true;
    }
    return v.ptr >= start && v.len <= n && v.ptr - start <= (long)(n - v.len);
}

static bool view_within(struct ing_view inner, struct ing_view outer)
{
    return inner.ptr >= outer.ptr &&
           inner.ptr + inner.len <= outer.ptr + outer.len;
}

static void check_method(const struct ing_http_request *req)
{
    static const char *const names[] = {
        [ING_HTTP_GET] = "GET",       [ING_HTTP_HEAD] = "HEAD",
        [ING_HTTP_POST] = "POST",     [ING_HTTP_PUT] = "PUT",
        [ING_HTTP_DELETE] = "DELETE", [ING_HTTP_OPTIONS] = "OPTIONS",
        [ING_HTTP_PATCH] = "PATCH",   [ING_HTTP_CONNECT] = "CONNECT",
        [ING_HTTP_TRACE] = "TRACE",
    };

    FUZZ_CHECK(req->method != ING_HTTP_CONNECT);
    FUZZ_CHECK(req->method <= ING_HTTP_OTHER);
    FUZZ_CHECK(req->method_name.len > 0);
    if (req->method != ING_HTTP_OTHER) {
        FUZZ_CHECK(ing_view_eq(req->method_name, names[req->method]));
    }
}

static void check_accepted(const uint8_t *data, size_t len, size_t limit,
                           const struct verdict *v)
{
    const struct ing_http_request *req = &v->req;
    size_t n = (size_t)v->rc;

    FUZZ_CHECK(req->head_bytes == n);
    FUZZ_CHECK(n <= len && n <= limit);
    FUZZ_CHECK(n >= 4 && memcmp(data + n - 4, "\r\n\r\n", 4) == 0);

    check_method(req);
    FUZZ_CHECK(view_inside(req->method_name, data, n));
    FUZZ_CHECK(view_inside(req->target, data, n) && req->target.len > 0);
    FUZZ_CHECK(view_inside(req->content_type, data, n));
    FUZZ_CHECK(view_inside(req->content_encoding, data, n));
    if (!(req->path.len == 1 && req->path.ptr[0] == '/' &&
          !view_inside(req->path, data, n))) {
        FUZZ_CHECK(view_inside(req->path, data, n));
        FUZZ_CHECK(view_within(req->path, req->target));
    }

    FUZZ_CHECK(req->version_minor <= 1);
    FUZZ_CHECK(!(req->chunked && req->has_content_length));
    FUZZ_CHECK(req->has_content_length || req->content_length == 0);
    FUZZ_CHECK(req->content_length <= (uint64_t)INT64_MAX);
    if (req->version_minor == 0) {
        FUZZ_CHECK(!req->chunked && !req->expect_continue);
    }
}

static bool view_same(struct ing_view a, struct ing_view b)
{
    return a.ptr == b.ptr && a.len == b.len;
}

/* Offset of the next CRLF at or after pos (the head has one). */
static size_t line_end(const uint8_t *data, size_t n, size_t pos)
{
    while (pos + 1 < n && !(data[pos] == '\r' && data[pos + 1] == '\n')) {
        pos++;
    }
    FUZZ_CHECK(pos + 1 < n);
    return pos;
}

static struct ing_view ows_trimmed(const uint8_t *p, size_t len)
{
    while (len > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }
    return ing_view_make((const char *)p, len);
}

/* What a naive second reading of the field lines finds. */
struct fields {
    bool host;
    bool te;
    bool cl;
    uint64_t cl_value;
    struct ing_view ct;
    struct ing_view ce;
    bool close;
    bool keep_alive;
    bool expect_continue;
    bool expect_other;
};

/* Notes each comma-separated token of a Connection or Expect value. */
static void list_tokens(struct ing_view v, bool is_expect, struct fields *f)
{
    size_t start = 0;

    for (size_t i = 0; i <= v.len; i++) {
        struct ing_view tok;

        if (i < v.len && v.ptr[i] != ',') {
            continue;
        }
        tok = ows_trimmed((const uint8_t *)v.ptr + start, i - start);
        start = i + 1;
        if (tok.len == 0) {
            continue;
        }
        if (is_expect) {
            f->expect_continue |= ing_view_eq_nocase(tok, "100-continue");
            f->expect_other |= !ing_view_eq_nocase(tok, "100-continue");
        } else {
            f->close |= ing_view_eq_nocase(tok, "close");
            f->keep_alive |= ing_view_eq_nocase(tok, "keep-alive");
        }
    }
}

static void note_field(struct ing_view name, struct ing_view value,
                       struct fields *f)
{
    if (ing_view_eq_nocase(name, "host")) {
        f->host = true;
    } else if (ing_view_eq_nocase(name, "transfer-encoding")) {
        f->te = true;
    } else if (ing_view_eq_nocase(name, "content-length")) {
        f->cl = true;
        f->cl_value = strtoull(value.ptr, NULL, 10);
    } else if (ing_view_eq_nocase(name, "content-type")) {
        f->ct = value;
    } else if (ing_view_eq_nocase(name, "content-encoding")) {
        f->ce = value;
    } else if (ing_view_eq_nocase(name, "connection")) {
        list_tokens(value, false, f);
    } else if (ing_view_eq_nocase(name, "expect")) {
        list_tokens(value, true, f);
    }
}

/*
 * The framing facts of an accepted head agree with a naive reading of its
 * field lines (which may take the head's validity for granted).
 */
static void check_fields(const uint8_t *data, const struct verdict *v)
{
    const struct ing_http_request *req = &v->req;
    size_t n = req->head_bytes;
    struct fields f;
    size_t pos = 0;

    memset(&f, 0, sizeof(f));
    while (data[pos] == '\r') {
        pos += 2;
    }
    pos = line_end(data, n, pos) + 2;
    while (data[pos] != '\r') {
        size_t end = line_end(data, n, pos);
        const uint8_t *colon = memchr(data + pos, ':', end - pos);

        FUZZ_CHECK(colon != NULL);
        note_field(ing_view_make((const char *)data + pos,
                                 (size_t)(colon - data) - pos),
                   ows_trimmed(colon + 1, (size_t)(data + end - colon - 1)),
                   &f);
        pos = end + 2;
    }

    FUZZ_CHECK(pos + 2 == n);
    FUZZ_CHECK(req->has_host == f.host && req->chunked == f.te);
    FUZZ_CHECK(req->has_content_length == f.cl);
    FUZZ_CHECK(req->content_length == f.cl_value);
    FUZZ_CHECK(view_same(req->content_type, f.ct) || f.ct.ptr == NULL);
    FUZZ_CHECK(view_same(req->content_encoding, f.ce) || f.ce.ptr == NULL);
    FUZZ_CHECK(req->expect_unsupported == f.expect_other);
    FUZZ_CHECK(req->expect_continue ==
               (f.expect_continue && req->version_minor == 1));
    FUZZ_CHECK(req->keep_alive ==
               (req->version_minor == 1 ? !f.close : f.keep_alive && !f.close));
}

static void check_verdict(const uint8_t *data, size_t len, size_t limit,
                          const struct verdict *v)
{
    size_t looked = len < limit ? len : limit;

    if (v->rc > 0) {
        check_accepted(data, len, limit, v);
        check_fields(data, v);
        return;
    }
    FUZZ_CHECK(v->rc == ING_AGAIN || v->rc == ING_ERROR);
    if (v->rc == ING_AGAIN) {
        FUZZ_CHECK(len < limit);
        return;
    }

    switch (v->err.code) {
    case ING_ERR_HEADERS_TOO_LARGE:
        FUZZ_CHECK(len >= limit && v->err.offset == limit);
        break;
    case ING_ERR_BAD_REQUEST:
    case ING_ERR_UNSUPPORTED:
    case ING_ERR_NOT_IMPLEMENTED:
    case ING_ERR_VERSION:
        FUZZ_CHECK(v->err.offset < looked);
        break;
    default:
        FUZZ_FAIL("unexpected error status");
    }
    FUZZ_CHECK(v->err.message != NULL);
}

static bool request_same(const struct ing_http_request *a,
                         const struct ing_http_request *b)
{
    return a->method == b->method &&
           view_same(a->method_name, b->method_name) &&
           view_same(a->target, b->target) && view_same(a->path, b->path) &&
           a->version_minor == b->version_minor && a->has_host == b->has_host &&
           a->keep_alive == b->keep_alive &&
           a->expect_continue == b->expect_continue &&
           a->expect_unsupported == b->expect_unsupported &&
           a->chunked == b->chunked &&
           a->has_content_length == b->has_content_length &&
           a->content_length == b->content_length &&
           view_same(a->content_type, b->content_type) &&
           view_same(a->content_encoding, b->content_encoding) &&
           a->head_bytes == b->head_bytes;
}

static bool verdict_same(const struct verdict *a, const struct verdict *b)
{
    if (a->rc != b->rc) {
        return false;
    }
    if (a->rc == ING_ERROR) {
        return a->err.code == b->err.code && a->err.offset == b->err.offset &&
               a->err.message == b->err.message;
    }
    return a->rc == ING_AGAIN || request_same(&a->req, &b->req);
}

static int size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a;
    size_t y = *(const size_t *)b;

    return (x > y) - (x < y);
}

/* Prefix lengths to try, ascending, ending with len itself. */
static size_t pick_prefixes(const uint8_t *data, size_t len, size_t *out,
                            size_t cap)
{
    uint64_t h = ing_fuzz_hash(data, len);
    size_t n = 0;

    if (len <= ALL_PREFIXES_MAX) {
        for (size_t k = 0; k <= len; k++) {
            out[n++] = k;
        }
        return n;
    }
    while (n < cap - 1) {
        h = h * 6364136223846793005u + 1442695040888963407u;
        out[n++] = (size_t)((h >> 33) % len);
    }
    out[n++] = len;
    qsort(out, n, sizeof(*out), size_cmp);
    return n;
}

/* AGAIN up to some prefix, then one final verdict for all longer ones. */
static void check_prefixes(const uint8_t *data, size_t len, size_t limit,
                           const struct verdict *full)
{
    static struct verdict v;
    size_t ks[ALL_PREFIXES_MAX + 1];
    size_t count = pick_prefixes(data, len, ks, SAMPLED_PREFIXES);
    bool final_seen = false;

    for (size_t i = 0; i < count; i++) {
        size_t k = ks[i];

        parse_copy(data, k, limit, &v);
        check_verdict(data, k, limit, &v);
        if (v.rc == ING_AGAIN) {
            FUZZ_CHECK(!final_seen);
            continue;
        }
        final_seen = true;
        FUZZ_CHECK(verdict_same(&v, full));
    }
}

/*
 * A head of n bytes is complete at n bytes and not before, fits a limit of
 * n exactly and not n - 1.
 */
static void check_edges(const uint8_t *data, size_t len,
                        const struct verdict *full)
{
    static struct verdict v;
    size_t n = (size_t)full->rc;

    parse_copy(data, n, DEFAULT_LIMIT, &v);
    FUZZ_CHECK(verdict_same(&v, full));
    parse_copy(data, n - 1, DEFAULT_LIMIT, &v);
    FUZZ_CHECK(v.rc == ING_AGAIN);

    parse_copy(data, len, n, &v);
    FUZZ_CHECK(verdict_same(&v, full));

    parse_copy(data, len, n - 1, &v);
    FUZZ_CHECK(v.rc == ING_ERROR);
    FUZZ_CHECK(v.err.code == ING_ERR_HEADERS_TOO_LARGE);
}

static void run_limit(const uint8_t *data, size_t len, size_t limit)
{
    static struct verdict full;
    static struct verdict again;

    parse_copy(data, len, limit, &full);
    check_verdict(data, len, limit, &full);

    parse_copy(data, len, limit, &again);
    FUZZ_CHECK(verdict_same(&full, &again));

    if (ing_http_request_is_blank((const char *)data, len)) {
        FUZZ_CHECK(full.rc == ING_AGAIN ||
                   full.err.code == ING_ERR_HEADERS_TOO_LARGE);
    }

    check_prefixes(data, len, limit, &full);
    if (full.rc > 0) {
        check_edges(data, len, &full);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run_limit(data, size, DEFAULT_LIMIT);
    run_limit(data, size, SMALL_LIMIT);
    return 0;
}
