/*
 * http_parse.c - the request head parser.  The contract is in http_parse.h.
 *
 * One call walks the head from its first byte: empty lines, method,
 * request-target, version, then field lines until the empty line.  Every
 * byte is checked as soon as it is seen, so a head that can no longer
 * become valid is refused before its line ends (a client that stops
 * sending inside a bad line still gets its 400), and a valid prefix is
 * ING_AGAIN however it was cut.  A check may only refuse bytes that no
 * continuation could repair; that is what makes re-parsing a longer prefix
 * agree with the shorter one.
 *
 * Fields that decide framing and connection handling are interpreted as
 * each line completes; all other fields are validated and skipped, so no
 * array of fields is needed.
 */
#include "http_parse.h"

#include <limits.h>
#include <string.h>

#define SP   ' '
#define HTAB '\t'
#define CR   '\r'
#define LF   '\n'

/* RFC 9110 §5.6.2: tchar, the bytes of a token (methods, field names). */
static const bool tchar_table[256] = {
    ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
    ['!'] = true,         ['#'] = true,         ['$'] = true,
    ['%'] = true,         ['&'] = true,         ['\''] = true,
    ['*'] = true,         ['+'] = true,         ['-'] = true,
    ['.'] = true,         ['^'] = true,         ['_'] = true,
    ['`'] = true,         ['|'] = true,         ['~'] = true,
};

/*
 * RFC 3986 §3.3, §3.4: the bytes of an absolute-path and query, '%' aside
 * (pct-encoded is checked as a triplet).  unreserved, sub-delims, ':',
 * '@', '/', '?'.  Everything else, '#' and '"' and non-ASCII included, is
 * refused rather than passed on to a router that might read it otherwise.
 */
static const bool target_table[256] = {
    ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
    ['-'] = true,         ['.'] = true,         ['_'] = true,
    ['~'] = true,         ['!'] = true,         ['$'] = true,
    ['&'] = true,         ['\''] = true,        ['('] = true,
    [')'] = true,         ['*'] = true,         ['+'] = true,
    [','] = true,         [';'] = true,         ['='] = true,
    [':'] = true,         ['@'] = true,         ['/'] = true,
    ['?'] = true,
};

/*
 * RFC 3986 §3.2.2: reg-name bytes (unreserved and sub-delims), '%' aside.
 * The authority scanner also lets ':' '[' ']' through and checks the
 * structure once the authority is complete.
 */
static const bool regname_table[256] = {
    ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
    ['-'] = true,         ['.'] = true,         ['_'] = true,
    ['~'] = true,         ['!'] = true,         ['$'] = true,
    ['&'] = true,         ['\''] = true,        ['('] = true,
    [')'] = true,         ['*'] = true,         ['+'] = true,
    [','] = true,         [';'] = true,         ['='] = true,
};

struct method_entry {
    const char *name;
    size_t len;
    enum ing_http_method method;
};

#define METHOD(name, method)                                                   \
    {                                                                          \
        name, sizeof(name) - 1, method                                         \
    }

/*
 * The IANA HTTP Method Registry plus PURGE and SOURCE, which deployed
 * caches and streaming clients send.  A closed table rather than "any
 * token" lets a stray byte stream after a body ("efgh", "Hot diggity") be
 * refused at its first bytes instead of waiting for a timeout, and gives
 * the 501 of RFC 9110 §9.1.  Methods are case-sensitive (RFC 9110 §9.1).
 * The frequent ones come first: lookup is a linear scan.
 */
static const struct method_entry method_table[] = {
    METHOD("POST", ING_HTTP_POST),
    METHOD("GET", ING_HTTP_GET),
    METHOD("PUT", ING_HTTP_PUT),
    METHOD("HEAD", ING_HTTP_HEAD),
    METHOD("OPTIONS", ING_HTTP_OPTIONS),
    METHOD("DELETE", ING_HTTP_DELETE),
    METHOD("PATCH", ING_HTTP_PATCH),
    METHOD("CONNECT", ING_HTTP_CONNECT),
    METHOD("TRACE", ING_HTTP_TRACE),
    METHOD("ACL", ING_HTTP_OTHER),
    METHOD("BASELINE-CONTROL", ING_HTTP_OTHER),
    METHOD("BIND", ING_HTTP_OTHER),
    METHOD("CHECKIN", ING_HTTP_OTHER),
    METHOD("CHECKOUT", ING_HTTP_OTHER),
    METHOD("COPY", ING_HTTP_OTHER),
    METHOD("LABEL", ING_HTTP_OTHER),
    METHOD("LINK", ING_HTTP_OTHER),
    METHOD("LOCK", ING_HTTP_OTHER),
    METHOD("MERGE", ING_HTTP_OTHER),
    METHOD("MKACTIVITY", ING_HTTP_OTHER),
    METHOD("MKCALENDAR", ING_HTTP_OTHER),
    METHOD("MKCOL", ING_HTTP_OTHER),
    METHOD("MKREDIRECTREF", ING_HTTP_OTHER),
    METHOD("MKWORKSPACE", ING_HTTP_OTHER),
    METHOD("MOVE", ING_HTTP_OTHER),
    METHOD("ORDERPATCH", ING_HTTP_OTHER),
    METHOD("PRI", ING_HTTP_OTHER),
    METHOD("PROPFIND", ING_HTTP_OTHER),
    METHOD("PROPPATCH", ING_HTTP_OTHER),
    METHOD("PURGE", ING_HTTP_OTHER),
    METHOD("QUERY", ING_HTTP_OTHER),
    METHOD("REBIND", ING_HTTP_OTHER),
    METHOD("REPORT", ING_HTTP_OTHER),
    METHOD("SEARCH", ING_HTTP_OTHER),
    METHOD("SOURCE", ING_HTTP_OTHER),
    METHOD("UNBIND", ING_HTTP_OTHER),
    METHOD("UNCHECKOUT", ING_HTTP_OTHER),
    METHOD("UNLINK", ING_HTTP_OTHER),
    METHOD("UNLOCK", ING_HTTP_OTHER),
    METHOD("UPDATE", ING_HTTP_OTHER),
    METHOD("UPDATEREDIRECTREF", ING_HTTP_OTHER),
    METHOD("VERSION-CONTROL", ING_HTTP_OTHER),
};

#define METHOD_COUNT (sizeof(method_table) / sizeof(method_table[0]))

/* One call's cursor and the framing facts gathered so far. */
struct head {
    const char *buf;
    size_t len; /* bytes to look at: min(len, max_head_bytes) */
    size_t pos;
    struct ing_http_request *req;
    struct ing_err *err;
    bool seen_host;
    bool seen_te;
    bool seen_content_type;
    bool seen_content_encoding;
    bool conn_close;
    bool conn_keep_alive;
};

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/*
 * RFC 9110 §5.5: field-vchar, obs-text, SP and HTAB; no other CTL.  A
 * table because this runs over nearly every byte of a head.
 */
static const bool value_table[256] = {
    ['\t'] = true,
    [0x20 ... 0x7e] = true,
    [0x80 ... 0xff] = true,
};

static unsigned char byte_at(const struct head *h, size_t i)
{
    return (unsigned char)h->buf[i];
}

static int fail(struct head *h, enum ing_err_code code, const char *message,
                size_t offset)
{
    return ing_err_set(h->err, code, message, offset);
}

static struct ing_view trim_ows(struct ing_view v)
{
    while (v.len > 0 && (v.ptr[0] == SP || v.ptr[0] == HTAB)) {
        v.ptr++;
        v.len--;
    }
    while (v.len > 0 && (v.ptr[v.len - 1] == SP || v.ptr[v.len - 1] == HTAB)) {
        v.len--;
    }
    return v;
}

/*
 * Splits the next element off a comma-separated list (RFC 9110 §5.6.1)
 * into *elem, OWS trimmed.  Empty elements are returned too: recipients
 * must accept and ignore them.  Returns false once the list is used up.
 */
static bool next_element(struct ing_view *list, struct ing_view *elem)
{
    const char *comma;
    size_t n;

    if (list->ptr == NULL) {
        return false;
    }

    comma = memchr(list->ptr, ',', list->len);
    n = comma != NULL ? (size_t)(comma - list->ptr) : list->len;
    *elem = trim_ows(ing_view_make(list->ptr, n));

    if (comma == NULL) {
        list->ptr = NULL;
        list->len = 0;
    } else {
        list->ptr = comma + 1;
        list->len -= n + 1;
    }
    return true;
}

static bool is_token(struct ing_view v)
{
    if (v.len == 0) {
        return false;
    }
    for (size_t i = 0; i < v.len; i++) {
        if (!tchar_table[(unsigned char)v.ptr[i]]) {
            return false;
        }
    }
    return true;
}

/*
 * Checks a '%' at buf[i]: RFC 3986 §2.1 pct-encoded is '%' HEXDIG HEXDIG.
 * Returns the bytes it spans (3), ING_AGAIN if the triplet is cut short
 * but valid so far, or ING_ERROR.
 */
static int check_pct(struct head *h, size_t i)
{
    for (size_t k = 1; k < 3; k++) {
        if (i + k >= h->len) {
            return ING_AGAIN;
        }
        if (!is_hex(byte_at(h, i + k))) {
            return fail(h, ING_ERR_BAD_REQUEST, "bad percent-encoding", i + k);
        }
    }
    return 3;
}

/* RFC 9112 §2.2: a server SHOULD ignore empty lines before the request. */
static int skip_empty_lines(struct head *h)
{
    while (h->pos < h->len) {
        if (h->buf[h->pos] != CR) {
            return ING_OK;
        }
        if (h->pos + 1 == h->len) {
            return ING_AGAIN;
        }
        if (h->buf[h->pos + 1] != LF) {
            return fail(h, ING_ERR_BAD_REQUEST, "bare CR", h->pos);
        }
        h->pos += 2;
    }
    return ING_AGAIN;
}

static const struct method_entry *method_lookup(struct ing_view name)
{
    for (size_t i = 0; i < METHOD_COUNT; i++) {
        const struct method_entry *m = &method_table[i];

        if (m->len == name.len && memcmp(m->name, name.ptr, name.len) == 0) {
            return m;
        }
    }
    return NULL;
}

/* True when some method in the table starts with name (or name is ""). */
static bool method_prefix_known(struct ing_view name)
{
    for (size_t i = 0; i < METHOD_COUNT; i++) {
        const struct method_entry *m = &method_table[i];

        if (m->len >= name.len && memcmp(m->name, name.ptr, name.len) == 0) {
            return true;
        }
    }
    return false;
}

/* RFC 9112 §3: request-line = method SP request-target SP HTTP-version. */
static int parse_method(struct head *h)
{
    size_t start = h->pos;
    size_t end = start;
    struct ing_view name;
    const struct method_entry *m;

    while (end < h->len && tchar_table[byte_at(h, end)]) {
        end++;
    }
    name = ing_view_make(h->buf + start, end - start);

    if (end == h->len || h->buf[end] != SP) {
        if (!method_prefix_known(name)) {
            return fail(h, ING_ERR_NOT_IMPLEMENTED, "unknown method", start);
        }
        if (end == h->len) {
            return ING_AGAIN;
        }
        return fail(h, ING_ERR_BAD_REQUEST, "invalid character in method", end);
    }

    if (name.len == 0) {
        return fail(h, ING_ERR_BAD_REQUEST, "empty method", start);
    }
    m = method_lookup(name);
    if (m == NULL) {
        return fail(h, ING_ERR_NOT_IMPLEMENTED, "unknown method", start);
    }

    h->req->method = m->method;
    h->req->method_name = name;
    h->pos = end + 1;
    return ING_OK;
}

/*
 * Scans an absolute-path or path-abempty and its query from h->pos up to
 * the SP that ends the request-target.  *path_end is where '?' begins the
 * query (or the SP).  RFC 9112 §3.2: no whitespace in a request-target;
 * RFC 9110 §4.1: a fragment is never sent, so '#' is refused.
 */
static int scan_path_query(struct head *h, size_t *path_end, size_t *end)
{
    size_t i = h->pos;

    *path_end = SIZE_MAX;
    while (i < h->len) {
        unsigned char c = byte_at(h, i);
        int rc;

        if (c == SP) {
            *path_end = *path_end == SIZE_MAX ? i : *path_end;
            *end = i;
            return ING_OK;
        }
        if (c == '?' && *path_end == SIZE_MAX) {
            *path_end = i;
        }
        if (c != '%') {
            if (!target_table[c]) {
                return fail(h, ING_ERR_BAD_REQUEST,
                            "invalid character in request-target", i);
            }
            i++;
            continue;
        }
        rc = check_pct(h, i);
        if (rc < 0) {
            return rc;
        }
        i += (size_t)rc;
    }
    return ING_AGAIN;
}

/* RFC 3986 §3.2.2: IP-literal; only the IPv6 alphabet is accepted. */
static bool ip_literal_valid(struct ing_view v)
{
    if (v.len < 3 || v.ptr[0] != '[' || v.ptr[v.len - 1] != ']') {
        return false;
    }
    for (size_t i = 1; i + 1 < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];

        if (!is_hex(c) && c != ':' && c != '.') {
            return false;
        }
    }
    return true;
}

static bool regname_valid(struct ing_view v)
{
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];

        if (c == '%') {
            if (i + 2 >= v.len || !is_hex((unsigned char)v.ptr[i + 1]) ||
                !is_hex((unsigned char)v.ptr[i + 2])) {
                return false;
            }
            i += 2;
        } else if (!regname_table[c]) {
            return false;
        }
    }
    return true;
}

/*
 * RFC 3986 §3.2: authority without userinfo = host [ ":" port ], the
 * grammar of both an absolute-form authority and the Host field (RFC 9110
 * §7.2).  need_host: an "http" URI must not have an empty host (RFC 9110
 * §4.2.1), while an empty Host field value is allowed.
 */
static bool authority_valid(struct ing_view v, bool need_host)
{
    size_t host_len = 0;
    struct ing_view host;

    if (v.len > 0 && v.ptr[0] == '[') {
        const char *close = memchr(v.ptr, ']', v.len);

        host_len = close != NULL ? (size_t)(close - v.ptr) + 1 : v.len;
        host = ing_view_make(v.ptr, host_len);
        if (!ip_literal_valid(host)) {
            return false;
        }
    } else {
        while (host_len < v.len && v.ptr[host_len] != ':') {
            host_len++;
        }
        host = ing_view_make(v.ptr, host_len);
        if (!regname_valid(host)) {
            return false;
        }
    }

    if (need_host && host_len == 0) {
        return false;
    }
    if (host_len == v.len) {
        return true;
    }
    if (v.ptr[host_len] != ':') {
        return false;
    }
    for (size_t i = host_len + 1; i < v.len; i++) {
        if (!is_digit((unsigned char)v.ptr[i])) {
            return false;
        }
    }
    return true;
}

static bool prefix_nocase(const char *p, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char)(c + ('a' - 'A'));
        }
        if (c != (unsigned char)lit[i]) {
            return false;
        }
    }
    return true;
}

/*
 * Matches "http://" or "https://" (scheme case-insensitive, RFC 3986
 * §3.1) at h->pos.  Sets *after past it, or says AGAIN while the bytes so
 * far still match one of them.
 */
static int match_scheme(struct head *h, size_t *after)
{
    static const char *const schemes[] = {"http://", "https://"};
    size_t avail = h->len - h->pos;
    bool partial = false;

    for (size_t s = 0; s < 2; s++) {
        size_t slen = strlen(schemes[s]);
        size_t n = avail < slen ? avail : slen;

        if (!prefix_nocase(h->buf + h->pos, schemes[s], n)) {
            continue;
        }
        if (n == slen) {
            *after = h->pos + slen;
            return ING_OK;
        }
        partial = true;
    }
    if (partial) {
        return ING_AGAIN;
    }
    return fail(h, ING_ERR_BAD_REQUEST, "unsupported request-target form",
                h->pos);
}

/*
 * Scans the authority of an absolute-form target, from h->pos to the
 * '/', '?' or SP after it.  RFC 9110 §4.2.4: userinfo ('@') in an http URI
 * from an untrusted source is treated as an error.
 */
static int scan_authority(struct head *h, size_t *end)
{
    size_t i = h->pos;

    while (i < h->len) {
        unsigned char c = byte_at(h, i);
        int rc;

        if (c == '/' || c == '?' || c == SP) {
            *end = i;
            return ING_OK;
        }
        if (c == '@') {
            return fail(h, ING_ERR_BAD_REQUEST, "userinfo in request-target",
                        i);
        }
        if (c != '%') {
            if (!regname_table[c] && c != ':' && c != '[' && c != ']') {
                return fail(h, ING_ERR_BAD_REQUEST,
                            "invalid character in request-target", i);
            }
            i++;
            continue;
        }
        rc = check_pct(h, i);
        if (rc < 0) {
            return rc;
        }
        i += (size_t)rc;
    }
    return ING_AGAIN;
}

/* RFC 9112 §3.2.2: absolute-form; path is the part after the authority. */
static int parse_absolute_form(struct head *h)
{
    size_t start = h->pos;
    size_t auth_end;
    size_t path_end;
    size_t end;
    int rc;

    rc = match_scheme(h, &h->pos);
    if (rc != ING_OK) {
        return rc;
    }
    rc = scan_authority(h, &auth_end);
    if (rc != ING_OK) {
        return rc;
    }
    if (!authority_valid(ing_view_make(h->buf + h->pos, auth_end - h->pos),
                         true)) {
        return fail(h, ING_ERR_BAD_REQUEST, "invalid authority in target",
                    h->pos);
    }

    h->pos = auth_end;
    rc = scan_path_query(h, &path_end, &end);
    if (rc != ING_OK) {
        return rc;
    }

    h->req->target = ing_view_make(h->buf + start, end - start);
    h->req->path = ing_view_make(h->buf + auth_end, path_end - auth_end);
    if (h->req->path.len == 0) {
        h->req->path = ING_VIEW_LIT("/");
    }
    h->pos = end + 1;
    return ING_OK;
}

/* RFC 9112 §3.2.1: origin-form = absolute-path [ "?" query ]. */
static int parse_origin_form(struct head *h)
{
    size_t start = h->pos;
    size_t path_end;
    size_t end;
    int rc;

    rc = scan_path_query(h, &path_end, &end);
    if (rc != ING_OK) {
        return rc;
    }

    h->req->target = ing_view_make(h->buf + start, end - start);
    h->req->path = ing_view_make(h->buf + start, path_end - start);
    h->pos = end + 1;
    return ING_OK;
}

/* RFC 9112 §3.2.4: asterisk-form, for a server-wide OPTIONS only. */
static int parse_asterisk_form(struct head *h)
{
    if (h->req->method != ING_HTTP_OPTIONS) {
        return fail(h, ING_ERR_BAD_REQUEST,
                    "asterisk-form target is only for OPTIONS", h->pos);
    }
    if (h->pos + 1 == h->len) {
        return ING_AGAIN;
    }
    if (h->buf[h->pos + 1] != SP) {
        return fail(h, ING_ERR_BAD_REQUEST,
                    "invalid character in request-target", h->pos + 1);
    }

    h->req->target = ing_view_make(h->buf + h->pos, 1);
    h->req->path = h->req->target;
    h->pos += 2;
    return ING_OK;
}

static int parse_target(struct head *h)
{
    char c;

    if (h->pos == h->len) {
        return ING_AGAIN;
    }
    c = h->buf[h->pos];

    /*
     * RFC 9112 §3.2.3: CONNECT takes an authority-form target and turns
     * the connection into a tunnel; an origin server has no tunnel to
     * offer, and the bytes after the head must not be read as requests.
     */
    if (h->req->method == ING_HTTP_CONNECT) {
        return fail(h, ING_ERR_BAD_REQUEST, "CONNECT is not served", h->pos);
    }
    if (c == '/') {
        return parse_origin_form(h);
    }
    if (c == '*') {
        return parse_asterisk_form(h);
    }
    return parse_absolute_form(h);
}

/*
 * RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive,
 * and the request-line ends right after it with CRLF.
 */
static int parse_version(struct head *h)
{
    static const char pattern[] = "HTTP/1.0\r\n";
    const size_t n = sizeof(pattern) - 1;

    for (size_t k = 0; k < n; k++) {
        size_t i = h->pos + k;
        unsigned char c;

        if (i == h->len) {
            return ING_AGAIN;
        }
        c = byte_at(h, i);
        if (k == 5 && is_digit(c) && c != '1') {
            return fail(h, ING_ERR_VERSION, "HTTP version not supported", i);
        }
        if (k == 7 && is_digit(c)) {
            h->req->version_minor = c == '0' ? 0 : 1;
            continue;
        }
        if (c != (unsigned char)pattern[k]) {
            return fail(h, ING_ERR_BAD_REQUEST,
                        k < 8 ? "invalid HTTP version"
                              : "request-line must end with CRLF",
                        i);
        }
    }

    h->pos += n;
    return ING_OK;
}

/*
 * RFC 9110 §8.6 and RFC 9112 §6.3: Content-Length = 1*DIGIT.  A list
 * ("5, 5"), a sign, an empty value or a repeat is refused even where the
 * RFC lets a recipient pick a value: a proxy in front might pick another.
 */
static int field_content_length(struct head *h, struct ing_view value,
                                size_t offset)
{
    uint64_t n = 0;

    if (h->req->has_content_length) {
        return fail(h, ING_ERR_BAD_REQUEST, "repeated Content-Length", offset);
    }
    if (h->seen_te) {
        return fail(h, ING_ERR_BAD_REQUEST,
                    "Content-Length with Transfer-Encoding", offset);
    }
    if (value.len == 0) {
        return fail(h, ING_ERR_BAD_REQUEST, "empty Content-Length", offset);
    }

    for (size_t i = 0; i < value.len; i++) {
        unsigned char c = (unsigned char)value.ptr[i];

        if (!is_digit(c)) {
            return fail(h, ING_ERR_BAD_REQUEST, "malformed Content-Length",
                        offset);
        }
        if (n > ((uint64_t)INT64_MAX - (uint64_t)(c - '0')) / 10) {
            return fail(h, ING_ERR_BAD_REQUEST, "Content-Length overflows",
                        offset);
        }
        n = n * 10 + (uint64_t)(c - '0');
    }

    h->req->has_content_length = true;
    h->req->content_length = n;
    return ING_OK;
}

/*
 * RFC 9112 §6.1, §6.3: only "chunked" alone is accepted.  Any other coding
 * list either leaves the body length undeterminable (chunked not final:
 * MUST 400) or names codings we do not implement; together with
 * Content-Length it is the classic smuggling pair (§11.2); in HTTP/1.0 the
 * framing must be treated as faulty.  All of these end the connection.
 */
static int field_transfer_encoding(struct head *h, struct ing_view value,
                                   size_t offset)
{
    if (h->req->version_minor == 0) {
        return fail(h, ING_ERR_BAD_REQUEST,
                    "Transfer-Encoding in an HTTP/1.0 request", offset);
    }
    if (h->seen_te) {
        return fail(h, ING_ERR_BAD_REQUEST, "repeated Transfer-Encoding",
                    offset);
    }
    if (h->req->has_content_length) {
        return fail(h, ING_ERR_BAD_REQUEST,
                    "Content-Length with Transfer-Encoding", offset);
    }
    if (!ing_view_eq_nocase(value, "chunked")) {
        return fail(h, ING_ERR_BAD_REQUEST,
                    "Transfer-Encoding other than chunked", offset);
    }

    h->seen_te = true;
    h->req->chunked = true;
    return ING_OK;
}

/* RFC 9110 §7.6.1: Connection = #connection-option (tokens). */
static int field_connection(struct head *h, struct ing_view value,
                            size_t offset)
{
    struct ing_view option;

    while (next_element(&value, &option)) {
        if (option.len == 0) {
            continue;
        }
        if (!is_token(option)) {
            return fail(h, ING_ERR_BAD_REQUEST, "invalid Connection option",
                        offset);
        }
        if (ing_view_eq_nocase(option, "close")) {
            h->conn_close = true;
        } else if (ing_view_eq_nocase(option, "keep-alive")) {
            h->conn_keep_alive = true;
        }
    }
    return ING_OK;
}

/* RFC 9110 §10.1.1: 100-continue is the only expectation defined. */
static int field_expect(struct head *h, struct ing_view value)
{
    struct ing_view expectation;

    while (next_element(&value, &expectation)) {
        if (expectation.len == 0) {
            continue;
        }
        if (ing_view_eq_nocase(expectation, "100-continue")) {
            h->req->expect_continue = true;
        } else {
            h->req->expect_unsupported = true;
        }
    }
    return ING_OK;
}

/*
 * RFC 9112 §3.2: more than one Host field line, or an invalid value, MUST
 * be answered with 400.
 */
static int field_host(struct head *h, struct ing_view value, size_t offset)
{
    if (h->seen_host) {
        return fail(h, ING_ERR_BAD_REQUEST, "more than one Host field", offset);
    }
    if (!authority_valid(value, false)) {
        return fail(h, ING_ERR_BAD_REQUEST, "invalid Host", offset);
    }

    h->seen_host = true;
    h->req->has_host = true;
    return ING_OK;
}

/*
 * Content-Type is a singleton field (RFC 9110 §8.3); two of them leave the
 * body's type ambiguous.  Content-Encoding is a list and a repeat would
 * name a second coding, which cannot be one view and which we do not
 * decode anyway: 415.
 */
static int field_content_meta(struct head *h, struct ing_view name,
                              struct ing_view value, size_t offset)
{
    if (name.len == sizeof("content-type") - 1) {
        if (h->seen_content_type) {
            return fail(h, ING_ERR_BAD_REQUEST, "repeated Content-Type",
                        offset);
        }
        h->seen_content_type = true;
        h->req->content_type = value;
        return ING_OK;
    }

    if (h->seen_content_encoding) {
        return fail(h, ING_ERR_UNSUPPORTED, "more than one content coding",
                    offset);
    }
    h->seen_content_encoding = true;
    h->req->content_encoding = value;
    return ING_OK;
}

/* Interprets the fields that matter here; all others were validated. */
static int process_field(struct head *h, struct ing_view name,
                         struct ing_view value, size_t offset)
{
    switch (name.len) {
    case 4:
        return ing_view_eq_nocase(name, "host") ? field_host(h, value, offset)
                                                : ING_OK;
    case 6:
        return ing_view_eq_nocase(name, "expect") ? field_expect(h, value)
                                                  : ING_OK;
    case 10:
        return ing_view_eq_nocase(name, "connection")
                   ? field_connection(h, value, offset)
                   : ING_OK;
    case 12:
    case 16:
        if (ing_view_eq_nocase(name, "content-type") ||
            ing_view_eq_nocase(name, "content-encoding")) {
            return field_content_meta(h, name, value, offset);
        }
        return ING_OK;
    case 14:
        return ing_view_eq_nocase(name, "content-length")
                   ? field_content_length(h, value, offset)
                   : ING_OK;
    case 17:
        return ing_view_eq_nocase(name, "transfer-encoding")
                   ? field_transfer_encoding(h, value, offset)
                   : ING_OK;
    default:
        return ING_OK;
    }
}

/* The CRLF that ends the head; a lone CR is never a line end. */
static int parse_end_of_head(struct head *h, bool *done)
{
    if (h->pos + 1 == h->len) {
        return ING_AGAIN;
    }
    if (h->buf[h->pos + 1] != LF) {
        return fail(h, ING_ERR_BAD_REQUEST, "bare CR", h->pos);
    }

    h->pos += 2;
    *done = true;
    return ING_OK;
}

/* field-name = token, then ':' with no whitespace before it. */
static int scan_field_name(struct head *h, size_t *colon)
{
    size_t i = h->pos;

    while (i < h->len && tchar_table[byte_at(h, i)]) {
        i++;
    }
    if (i == h->len) {
        return ING_AGAIN;
    }
    if (h->buf[i] == ':') {
        if (i == h->pos) {
            return fail(h, ING_ERR_BAD_REQUEST, "empty field name", i);
        }
        *colon = i;
        return ING_OK;
    }
    if (h->buf[i] == SP || h->buf[i] == HTAB) {
        /* RFC 9112 §5.1: MUST reject whitespace before the colon. */
        return fail(h, ING_ERR_BAD_REQUEST,
                    "whitespace between field name and colon", i);
    }
    return fail(h, ING_ERR_BAD_REQUEST, "invalid character in field name", i);
}

/*
 * Scans a field value from `from` to its CR, which must be followed by
 * LF.  RFC 9110 §5.5: CR, LF and NUL in a value are invalid and
 * dangerous; other CTLs may be kept by a lenient recipient, we refuse them.
 */
static int scan_field_value(struct head *h, size_t from, size_t *cr)
{
    size_t i = from;

    while (i < h->len && value_table[byte_at(h, i)]) {
        i++;
    }
    if (i == h->len) {
        return ING_AGAIN;
    }
    if (h->buf[i] == LF) {
        /* RFC 9112 §2.2 allows bare LF as a MAY; mixed, it smuggles. */
        return fail(h, ING_ERR_BAD_REQUEST, "bare LF", i);
    }
    if (h->buf[i] != CR) {
        return fail(h, ING_ERR_BAD_REQUEST, "control character in field value",
                    i);
    }
    if (i + 1 == h->len) {
        return ING_AGAIN;
    }
    if (h->buf[i + 1] != LF) {
        return fail(h, ING_ERR_BAD_REQUEST, "bare CR", i);
    }
    *cr = i;
    return ING_OK;
}

/* RFC 9112 §5: field-line = field-name ":" OWS field-value OWS CRLF. */
static int parse_field_line(struct head *h, bool *done)
{
    size_t start = h->pos;
    size_t colon;
    size_t cr;
    struct ing_view name;
    struct ing_view value;
    int rc;

    if (h->pos == h->len) {
        return ING_AGAIN;
    }
    if (h->buf[h->pos] == CR) {
        return parse_end_of_head(h, done);
    }
    if (h->buf[h->pos] == SP || h->buf[h->pos] == HTAB) {
        /*
         * RFC 9112 §2.2 (right after the request-line) and §5.2 (obs-fold):
         * a whitespace-led line is to be rejected or ignored/unfolded; it
         * can hide a field from one parser and show it to another.
         */
        return fail(h, ING_ERR_BAD_REQUEST, "line starts with whitespace",
                    h->pos);
    }

    rc = scan_field_name(h, &colon);
    if (rc != ING_OK) {
        return rc;
    }
    rc = scan_field_value(h, colon + 1, &cr);
    if (rc != ING_OK) {
        return rc;
    }

    name = ing_view_make(h->buf + start, colon - start);
    value = trim_ows(ing_view_make(h->buf + colon + 1, cr - colon - 1));
    rc = process_field(h, name, value, start);
    if (rc != ING_OK) {
        return rc;
    }
    h->pos = cr + 2;
    return ING_OK;
}

static int parse_head(struct head *h)
{
    bool done = false;
    int rc;

    rc = skip_empty_lines(h);
    if (rc == ING_OK) {
        rc = parse_method(h);
    }
    if (rc == ING_OK) {
        rc = parse_target(h);
    }
    if (rc == ING_OK) {
        rc = parse_version(h);
    }

    while (rc == ING_OK && !done) {
        rc = parse_field_line(h, &done);
    }
    return rc;
}

static void request_reset(struct ing_http_request *req)
{
    memset(req, 0, sizeof(*req));
    req->method = ING_HTTP_OTHER;
    req->method_name = ING_VIEW_LIT("");
    req->target = ING_VIEW_LIT("");
    req->path = ING_VIEW_LIT("");
    req->content_type = ING_VIEW_LIT("");
    req->content_encoding = ING_VIEW_LIT("");
}

/*
 * RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 persists only
 * with "keep-alive".  RFC 9110 §10.1.1: a 100-continue in an HTTP/1.0
 * request MUST be ignored.
 */
static int finish(struct head *h)
{
    struct ing_http_request *req = h->req;

    if (req->version_minor >= 1) {
        req->keep_alive = !h->conn_close;
    } else {
        req->keep_alive = h->conn_keep_alive && !h->conn_close;
        req->expect_continue = false;
    }
    req->head_bytes = h->pos;
    return (int)h->pos;
}

int ing_http_request_parse(const char *buf, size_t len, size_t max_head_bytes,
                           struct ing_http_request *req, struct ing_err *err)
{
    size_t limit = max_head_bytes < INT_MAX ? max_head_bytes : INT_MAX;
    struct head h = {
        .buf = buf,
        .len = len < limit ? len : limit,
        .req = req,
        .err = err,
    };
    int rc;

    request_reset(req);
    rc = parse_head(&h);

    /*
     * Only the first max_head_bytes bytes are looked at, so an error in
     * them wins over 431, and a head that fits exactly is accepted.
     */
    if (rc == ING_AGAIN && len >= limit) {
        return fail(&h, ING_ERR_HEADERS_TOO_LARGE, "request head too large",
                    limit);
    }
    if (rc != ING_OK) {
        return rc;
    }
    return finish(&h);
}

bool ing_http_request_is_blank(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i += 2) {
        if (buf[i] != CR || (i + 1 < len && buf[i + 1] != LF)) {
            return false;
        }
    }
    return true;
}
