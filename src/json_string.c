/*
 * json_string.c - string validation and decoded comparison, see
 * json_string.h.
 *
 * The common case, a run of plain ASCII up to the closing quote, is
 * inline in json_string.h; this file has what stops such a run: escapes,
 * UTF-8 sequences, control characters, the end of the buffer.
 */
#include "json_string.h"

#include <stdint.h>
#include <string.h>

/*
 * Length of the well-formed UTF-8 sequence starting at p (at most avail
 * bytes readable), or 0 if it is ill-formed.  The ranges are those of
 * Unicode's table of well-formed byte sequences (Table 3-7): they exclude
 * overlong forms (C0, C1, E0 80-9F, F0 80-8F), UTF-16 surrogates encoded
 * in UTF-8 (ED A0-BF) and code points above U+10FFFF (F4 90-, F5-FF).
 */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    size_t n;

    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }

    if (avail < n || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t k = 2; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return n;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (unsigned char)(c | 0x20);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Reads the four hex digits at p into *unit; false if one is not hex. */
static bool hex4(const unsigned char *p, unsigned *unit)
{
    unsigned u = 0;

    for (int k = 0; k < 4; k++) {
        int h = hex_value(p[k]);

        if (h < 0) {
            return false;
        }
        u = (u << 4) | (unsigned)h;
    }
    *unit = u;
    return true;
}

/*
 * Checks the escape whose backslash is buf[*pos] and moves *pos past it.
 * RFC 8259 §7 lists the escapes; a \u naming a UTF-16 surrogate must be a
 * high one immediately followed by a \u low one, because a lone surrogate
 * is not a character and readers disagree about what it becomes.
 */
static int escape_scan(const char *buf, size_t len, size_t *pos,
                       struct ing_err *err)
{
    const unsigned char *p = (const unsigned char *)buf + *pos;
    size_t avail = len - *pos;
    unsigned hi;
    unsigned lo;

    if (avail < 2) {
        return ing_err_set(err, ING_ERR_BAD_REQUEST, "unterminated string",
                           len);
    }
    if (p[1] != 'u') {
        if (strchr("\"\\/bfnrt", p[1]) == NULL || p[1] == '\0') {
            return ing_err_set(err, ING_ERR_BAD_REQUEST,
                               "invalid escape in string", *pos);
        }
        *pos += 2;
        return ING_OK;
    }

    if (avail < 6 || !hex4(p + 2, &hi)) {
        return ing_err_set(err, ING_ERR_BAD_REQUEST, "invalid \\u escape",
                           *pos);
    }
    if (hi < 0xD800 || hi > 0xDFFF) {
        *pos += 6;
        return ING_OK;
    }

    if (hi >= 0xDC00 || avail < 12 || p[6] != '\\' || p[7] != 'u' ||
        !hex4(p + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
        return ing_err_set(err, ING_ERR_BAD_REQUEST,
                           "lone surrogate in \\u escape", *pos);
    }
    *pos += 12;
    return ING_OK;
}

int ing_json_string_scan_rest(const char *buf, size_t len, size_t pos, size_t i,
                              struct ing_json_string *str, struct ing_err *err)
{
    bool escaped = false;

    for (;;) {
        unsigned char c;
        size_t n;

        if (i >= len) {
            return ing_err_set(err, ING_ERR_BAD_REQUEST, "unterminated string",
                               len);
        }

        c = (unsigned char)buf[i];
        if (c == '"') {
            break;
        }
        if (c == '\\') {
            if (escape_scan(buf, len, &i, err) != ING_OK) {
                return ING_ERROR;
            }
            escaped = true;
        } else if (c < 0x20) {
            return ing_err_set(err, ING_ERR_BAD_REQUEST,
                               "unescaped control character in string", i);
        } else {
            n = utf8_len((const unsigned char *)buf + i, len - i);
            if (n == 0) {
                return ing_err_set(err, ING_ERR_BAD_REQUEST,
                                   "invalid UTF-8 in string", i);
            }
            i += n;
        }
        i = ing_json_plain_run_end(buf, len, i);
    }

    str->start = pos + 1;
    str->len = i - pos - 1;
    str->escaped = escaped;
    return ING_OK;
}

/*
 * Yields the decoded bytes of a validated string one at a time, so that
 * escaped strings compare without being unescaped into a buffer.
 */
struct decoder {
    const unsigned char *p;
    const unsigned char *end;
    unsigned char pending[4]; /* UTF-8 of a \u escape not yet yielded */
    unsigned npending;
    unsigned next_pending;
};

static void decoder_init(struct decoder *d, const char *buf,
                         const struct ing_json_string *str)
{
    d->p = (const unsigned char *)buf + str->start;
    d->end = d->p + str->len;
    d->npending = 0;
    d->next_pending = 0;
}

static void decoder_put_utf8(struct decoder *d, uint32_t cp)
{
    unsigned char *o = d->pending;

    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        d->npending = 1;
    } else if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        d->npending = 2;
    } else if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        d->npending = 3;
    } else {
        o[0] = (unsigned char)(0xF0 | (cp >> 18));
        o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (unsigned char)(0x80 | (cp & 0x3F));
        d->npending = 4;
    }
    d->next_pending = 0;
}

/* Decodes the \u escape (or surrogate pair) at d->p, already validated. */
static void decoder_unicode(struct decoder *d)
{
    unsigned hi = 0;
    unsigned lo = 0;
    uint32_t cp;

    (void)hex4(d->p + 2, &hi);
    d->p += 6;
    cp = hi;
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        (void)hex4(d->p + 2, &lo);
        d->p += 6;
        cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + (lo - 0xDC00);
    }
    decoder_put_utf8(d, cp);
}

/* The next decoded byte, or -1 at the end of the string. */
static int decoder_next(struct decoder *d)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";

    if (d->next_pending < d->npending) {
        return d->pending[d->next_pending++];
    }
    if (d->p == d->end) {
        return -1;
    }
    if (d->p[0] != '\\') {
        return *d->p++;
    }
    if (d->p[1] == 'u') {
        decoder_unicode(d);
        return d->pending[d->next_pending++];
    }

    unsigned char c = (unsigned char)to[strchr(from, d->p[1]) - from];

    d->p += 2;
    return c;
}

static int decoded_cmp(struct decoder *a, struct decoder *b)
{
    for (;;) {
        int ca = decoder_next(a);
        int cb = decoder_next(b);

        if (ca != cb || ca < 0) {
            return ca - cb;
        }
    }
}

int ing_json_string_cmp(const char *buf, const struct ing_json_string *a,
                        const struct ing_json_string *b)
{
    struct decoder da;
    struct decoder db;

    if (!a->escaped && !b->escaped) {
        size_t n = a->len < b->len ? a->len : b->len;
        int r = memcmp(buf + a->start, buf + b->start, n);

        if (r != 0) {
            return r;
        }
        return (a->len > b->len) - (a->len < b->len);
    }

    decoder_init(&da, buf, a);
    decoder_init(&db, buf, b);
    return decoded_cmp(&da, &db);
}

bool ing_json_string_eq(const char *buf, const struct ing_json_string *str,
                        const char *lit, size_t lit_len)
{
    struct decoder d;

    if (!str->escaped) {
        return str->len == lit_len &&
               memcmp(buf + str->start, lit, lit_len) == 0;
    }
    /* Every escape decodes to fewer bytes than it is written with. */
    if (str->len <= lit_len) {
        return false;
    }

    decoder_init(&d, buf, str);
    for (size_t k = 0; k < lit_len; k++) {
        if (decoder_next(&d) != (unsigned char)lit[k]) {
            return false;
        }
    }
    return decoder_next(&d) < 0;
}
