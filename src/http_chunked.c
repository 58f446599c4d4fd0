/*
 * http_chunked.c - the chunked decoder.  The contract is in
 * http_chunked.h; the grammar is RFC 9112 §7.1:
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *   chunk-ext    = *( BWS ";" BWS chunk-ext-name
 *                     [ BWS "=" BWS chunk-ext-val ] )
 *
 * Framing bytes go through a byte-at-a-time state machine; chunk data is
 * moved in one memmove per call.  No line ending is ever repaired: a bare
 * CR or LF where CRLF belongs is exactly where two parsers of one stream
 * start to disagree about where a request ends (RFC 9112 §11.2).
 */
#include "http_chunked.h"

#include <stdbool.h>
#include <string.h>

#define SP   ' '
#define HTAB '\t'
#define CR   '\r'
#define LF   '\n'

/* RFC 9110 §5.6.2: tchar.  Framing bytes only, so no table is needed. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static bool is_ws(unsigned char c)
{
    return c == SP || c == HTAB;
}

/* RFC 9110 §5.6.4: qdtext, the unescaped bytes of a quoted-string. */
static bool is_qdtext(unsigned char c)
{
    return c == HTAB || c == SP || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
           (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

/* RFC 9110 §5.5: field-vchar, obs-text, SP and HTAB; no other CTL. */
static bool is_value_char(unsigned char c)
{
    return c == HTAB || (c >= 0x20 && c != 0x7f);
}

static int bad(const struct ing_http_chunked *d, struct ing_err *err,
               const char *message)
{
    return ing_err_set(err, ING_ERR_BAD_REQUEST, message, d->raw_consumed);
}

void ing_http_chunked_init(struct ing_http_chunked *d, size_t max_body_bytes,
                           size_t max_trailer_bytes)
{
    memset(d, 0, sizeof(*d));
    d->state = ING_HTTP_CHUNKED_SIZE_FIRST;
    d->max_body_bytes = max_body_bytes;
    d->max_trailer_bytes = max_trailer_bytes;
}

/*
 * RFC 9112 §7.1: recipients MUST guard against overflow of large hex
 * numerals.  The body limit is checked on every digit, so an oversized
 * chunk is refused from its size line, before its data is waited for.
 */
static int size_digit(struct ing_http_chunked *d, int value,
                      struct ing_err *err)
{
    if (d->chunk_left > (UINT64_MAX >> 4)) {
        return bad(d, err, "chunk-size overflows");
    }
    d->chunk_left = (d->chunk_left << 4) | (uint64_t)value;

    if (d->chunk_left > d->max_body_bytes - d->decoded_bytes) {
        return ing_err_set(err, ING_ERR_TOO_LARGE, "body too large",
                           d->raw_consumed);
    }
    d->state = ING_HTTP_CHUNKED_SIZE;
    return ING_OK;
}

/*
 * What may follow a chunk-size or a complete extension: the CRLF, the ';'
 * of the next extension, or BWS that must lead to that ';'.  Whitespace
 * before the CRLF is not in the grammar and is refused.
 */
static int element_end(struct ing_http_chunked *d, unsigned char c,
                       struct ing_err *err)
{
    if (c == CR) {
        d->state = ING_HTTP_CHUNKED_SIZE_LF;
    } else if (c == ';') {
        d->state = ING_HTTP_CHUNKED_EXT_NAME_FIRST;
    } else if (is_ws(c)) {
        d->state = ING_HTTP_CHUNKED_SEMI_BWS;
    } else {
        return bad(d, err, "invalid byte in chunk-size line");
    }
    return ING_OK;
}

static int on_size(struct ing_http_chunked *d, unsigned char c,
                   struct ing_err *err)
{
    int value = hex_value(c);

    if (value >= 0) {
        return size_digit(d, value, err);
    }
    if (d->state == ING_HTTP_CHUNKED_SIZE_FIRST) {
        return bad(d, err, "missing chunk-size");
    }
    return element_end(d, c, err);
}

static int on_ext_name(struct ing_http_chunked *d, unsigned char c,
                       struct ing_err *err)
{
    if (is_tchar(c)) {
        return ING_OK;
    }
    if (c == '=') {
        d->state = ING_HTTP_CHUNKED_EXT_VALUE_FIRST;
        return ING_OK;
    }
    if (is_ws(c)) {
        d->state = ING_HTTP_CHUNKED_EXT_NAME_BWS;
        return ING_OK;
    }
    return element_end(d, c, err);
}

/* BWS after an extension name, before '=' or the next ';'. */
static int on_ext_name_bws(struct ing_http_chunked *d, unsigned char c,
                           struct ing_err *err)
{
    if (is_ws(c)) {
        return ING_OK;
    }
    if (c == '=') {
        d->state = ING_HTTP_CHUNKED_EXT_VALUE_FIRST;
        return ING_OK;
    }
    if (c == ';') {
        d->state = ING_HTTP_CHUNKED_EXT_NAME_FIRST;
        return ING_OK;
    }
    return bad(d, err, "invalid chunk extension");
}

/* BWS, then the first byte of a name (after ';') or a value (after '='). */
static int on_ext_first(struct ing_http_chunked *d, unsigned char c,
                        struct ing_err *err)
{
    bool value = d->state == ING_HTTP_CHUNKED_EXT_VALUE_FIRST;

    if (is_ws(c)) {
        return ING_OK;
    }
    if (value && c == '"') {
        d->state = ING_HTTP_CHUNKED_EXT_QUOTED;
        return ING_OK;
    }
    if (!is_tchar(c)) {
        return bad(d, err, "invalid chunk extension");
    }
    d->state = value ? ING_HTTP_CHUNKED_EXT_TOKEN : ING_HTTP_CHUNKED_EXT_NAME;
    return ING_OK;
}

/* RFC 9110 §5.6.4: quoted-string with quoted-pair escapes. */
static int on_ext_quoted(struct ing_http_chunked *d, unsigned char c,
                         struct ing_err *err)
{
    if (d->state == ING_HTTP_CHUNKED_EXT_QUOTED_PAIR) {
        if (c != HTAB && (c < 0x20 || c == 0x7f)) {
            return bad(d, err, "invalid quoted-pair in chunk extension");
        }
        d->state = ING_HTTP_CHUNKED_EXT_QUOTED;
        return ING_OK;
    }
    if (c == '"') {
        d->state = ING_HTTP_CHUNKED_EXT_QUOTED_END;
    } else if (c == '\\') {
        d->state = ING_HTTP_CHUNKED_EXT_QUOTED_PAIR;
    } else if (!is_qdtext(c)) {
        return bad(d, err, "invalid byte in quoted chunk extension");
    }
    return ING_OK;
}

/* The LF of a chunk-size line: data follows, or the trailer section. */
static int on_size_lf(struct ing_http_chunked *d, unsigned char c,
                      struct ing_err *err)
{
    if (c != LF) {
        return bad(d, err, "bare CR in chunk-size line");
    }
    d->line_bytes = 0;
    d->state = d->chunk_left == 0 ? ING_HTTP_CHUNKED_TRAILER_START
                                  : ING_HTTP_CHUNKED_DATA;
    return ING_OK;
}

/*
 * RFC 9112 §7.1.2: trailer fields are field lines; the same rules as in
 * the head apply (RFC 9112 §5.1, §5.2, RFC 9110 §5.5), and they are
 * dropped once validated.
 */
static int on_trailer_start(struct ing_http_chunked *d, unsigned char c,
                            struct ing_err *err)
{
    if (c == CR) {
        d->state = ING_HTTP_CHUNKED_END_LF;
    } else if (is_ws(c)) {
        return bad(d, err, "obs-fold in trailer section");
    } else if (is_tchar(c)) {
        d->state = ING_HTTP_CHUNKED_TRAILER_NAME;
    } else {
        return bad(d, err, "invalid character in trailer field name");
    }
    return ING_OK;
}

static int on_trailer_name(struct ing_http_chunked *d, unsigned char c,
                           struct ing_err *err)
{
    if (c == ':') {
        d->state = ING_HTTP_CHUNKED_TRAILER_VALUE;
    } else if (is_ws(c)) {
        return bad(d, err, "whitespace between field name and colon");
    } else if (!is_tchar(c)) {
        return bad(d, err, "invalid character in trailer field name");
    }
    return ING_OK;
}

static int on_trailer_value(struct ing_http_chunked *d, unsigned char c,
                            struct ing_err *err)
{
    if (c == CR) {
        d->state = ING_HTTP_CHUNKED_TRAILER_LF;
    } else if (c == LF) {
        return bad(d, err, "bare LF in trailer section");
    } else if (!is_value_char(c)) {
        return bad(d, err, "control character in trailer field value");
    }
    return ING_OK;
}

/* A CR that must be followed by LF, then the next state. */
static int expect_lf(struct ing_http_chunked *d, unsigned char c,
                     enum ing_http_chunked_state next, struct ing_err *err)
{
    if (c != LF) {
        return bad(d, err, "bare CR in chunked body");
    }
    d->state = next;
    return ING_OK;
}

static int step(struct ing_http_chunked *d, unsigned char c,
                struct ing_err *err)
{
    switch (d->state) {
    case ING_HTTP_CHUNKED_SIZE_FIRST:
    case ING_HTTP_CHUNKED_SIZE:
        return on_size(d, c, err);
    case ING_HTTP_CHUNKED_SEMI_BWS:
        if (c == ';') {
            d->state = ING_HTTP_CHUNKED_EXT_NAME_FIRST;
            return ING_OK;
        }
        return is_ws(c) ? ING_OK : bad(d, err, "whitespace in chunk-size line");
    case ING_HTTP_CHUNKED_EXT_NAME_FIRST:
    case ING_HTTP_CHUNKED_EXT_VALUE_FIRST:
        return on_ext_first(d, c, err);
    case ING_HTTP_CHUNKED_EXT_NAME:
        return on_ext_name(d, c, err);
    case ING_HTTP_CHUNKED_EXT_NAME_BWS:
        return on_ext_name_bws(d, c, err);
    case ING_HTTP_CHUNKED_EXT_TOKEN:
        return is_tchar(c) ? ING_OK : element_end(d, c, err);
    case ING_HTTP_CHUNKED_EXT_QUOTED:
    case ING_HTTP_CHUNKED_EXT_QUOTED_PAIR:
        return on_ext_quoted(d, c, err);
    case ING_HTTP_CHUNKED_EXT_QUOTED_END:
        return element_end(d, c, err);
    case ING_HTTP_CHUNKED_SIZE_LF:
        return on_size_lf(d, c, err);
    case ING_HTTP_CHUNKED_DATA_CR:
        if (c != CR) {
            return bad(d, err, "chunk data not followed by CRLF");
        }
        d->state = ING_HTTP_CHUNKED_DATA_LF;
        return ING_OK;
    case ING_HTTP_CHUNKED_DATA_LF:
        return expect_lf(d, c, ING_HTTP_CHUNKED_SIZE_FIRST, err);
    case ING_HTTP_CHUNKED_TRAILER_START:
        return on_trailer_start(d, c, err);
    case ING_HTTP_CHUNKED_TRAILER_NAME:
        return on_trailer_name(d, c, err);
    case ING_HTTP_CHUNKED_TRAILER_VALUE:
        return on_trailer_value(d, c, err);
    case ING_HTTP_CHUNKED_TRAILER_LF:
        return expect_lf(d, c, ING_HTTP_CHUNKED_TRAILER_START, err);
    case ING_HTTP_CHUNKED_END_LF:
        return expect_lf(d, c, ING_HTTP_CHUNKED_DONE, err);
    case ING_HTTP_CHUNKED_DATA:
    case ING_HTTP_CHUNKED_DONE:
    case ING_HTTP_CHUNKED_FAILED:
        break;
    }
    return bad(d, err, "chunked decoder in an impossible state");
}

/* Bounds the framing around the data: size lines and the trailer. */
static int count_framing_byte(struct ing_http_chunked *d, unsigned char c,
                              struct ing_err *err)
{
    if (d->state < ING_HTTP_CHUNKED_SIZE_LF && c != CR) {
        d->line_bytes++;
        if (d->line_bytes > ING_HTTP_CHUNK_LINE_MAX_BYTES) {
            return bad(d, err, "chunk-size line too long");
        }
    } else if (d->state >= ING_HTTP_CHUNKED_TRAILER_START) {
        d->trailer_bytes++;
        if (d->trailer_bytes > d->max_trailer_bytes) {
            return ing_err_set(err, ING_ERR_HEADERS_TOO_LARGE,
                               "trailer section too large", d->raw_consumed);
        }
    }
    return ING_OK;
}

/* Moves the chunk data that has arrived down to the end of the body. */
static void move_data(struct ing_http_chunked *d, char *buf, size_t len)
{
    size_t avail = len - d->raw_consumed;
    size_t n = d->chunk_left < avail ? (size_t)d->chunk_left : avail;

    memmove(buf + d->decoded_bytes, buf + d->raw_consumed, n);
    d->decoded_bytes += n;
    d->raw_consumed += n;
    d->chunk_left -= n;
    if (d->chunk_left == 0) {
        d->state = ING_HTTP_CHUNKED_DATA_CR;
    }
}

int ing_http_chunked_decode(struct ing_http_chunked *d, char *buf, size_t len,
                            struct ing_err *err)
{
    while (d->raw_consumed < len && d->state != ING_HTTP_CHUNKED_DONE &&
           d->state != ING_HTTP_CHUNKED_FAILED) {
        unsigned char c;
        int rc;

        if (d->state == ING_HTTP_CHUNKED_DATA) {
            move_data(d, buf, len);
            continue;
        }
        c = (unsigned char)buf[d->raw_consumed];
        rc = count_framing_byte(d, c, err);
        if (rc == ING_OK) {
            rc = step(d, c, err);
        }
        if (rc != ING_OK) {
            d->state = ING_HTTP_CHUNKED_FAILED;
            return rc;
        }
        d->raw_consumed++;
    }

    if (d->state == ING_HTTP_CHUNKED_DONE) {
        return ING_OK;
    }
    return d->state == ING_HTTP_CHUNKED_FAILED ? ING_ERROR : ING_AGAIN;
}

size_t ing_http_chunked_compact(struct ing_http_chunked *d, char *buf,
                                size_t len)
{
    size_t gap = d->raw_consumed - d->decoded_bytes;

    if (gap == 0) {
        return len;
    }
    memmove(buf + d->decoded_bytes, buf + d->raw_consumed,
            len - d->raw_consumed);
    d->raw_consumed = d->decoded_bytes;
    return len - gap;
}
