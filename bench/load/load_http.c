/*
 * load_http.c - HTTP/1.1 response head parsing for the load generator.
 *
 * The parser is re-run from the start of the buffer on every read: a
 * response here is a few hundred bytes, so keeping incremental state would
 * cost more code than the rescan costs time.
 */
#include "load_http.h"

#include "ing_err.h"

#include <string.h>
#include <strings.h>

static const char *find_head_end(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);

    return end == NULL ? NULL : end + 4;
}

static int parse_status_line(const char *buf, size_t len, bool *is_10)
{
    /* RFC 9112 §4: HTTP-version SP 3DIGIT SP reason-phrase. */
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ') {
        return ING_ERROR;
    }

    int status = 0;

    for (size_t i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9') {
            return ING_ERROR;
        }
        status = status * 10 + (buf[i] - '0');
    }
    *is_10 = buf[7] == '0';
    return status >= 100 ? status : ING_ERROR;
}

static bool header_is(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);

    return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

static long parse_length(const char *p, const char *end)
{
    long value = -1;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (value > (1L << 40)) {
            return ING_ERROR;
        }
        value = (value < 0 ? 0 : value * 10) + (*p - '0');
    }
    return value < 0 ? ING_ERROR : value;
}

static bool value_has_close(const char *p, const char *end)
{
    size_t len = (size_t)(end - p);

    for (size_t i = 0; i + 5 <= len; i++) {
        if (strncasecmp(p + i, "close", 5) == 0) {
            return true;
        }
    }
    return false;
}

static long parse_headers(const char *p, const char *head_end,
                          struct ing_load_response *out)
{
    long body = ING_ERROR;

    while (p < head_end - 2) {
        const char *eol = memmem(p, (size_t)(head_end - p), "\r\n", 2);
        size_t n = (size_t)(eol - p);

        if (header_is(p, n, "content-length")) {
            body = parse_length(p + 15, eol);
        } else if (header_is(p, n, "connection")) {
            out->will_close = out->will_close || value_has_close(p + 11, eol);
        }
        p = eol + 2;
    }

    /* A status without a body by definition (RFC 9110 §6.4.1). */
    if (body < 0 && (out->status == 204 || out->status == 304)) {
        body = 0;
    }
    return body;
}

long ing_load_http_response_parse(const char *buf, size_t len,
                                  struct ing_load_response *out)
{
    const char *head_end = find_head_end(buf, len);
    bool is_10 = false;

    if (head_end == NULL) {
        return len > 16384 ? ING_ERROR : ING_AGAIN;
    }

    out->status = parse_status_line(buf, len, &is_10);
    if (out->status < 0) {
        return ING_ERROR;
    }
    out->will_close = is_10;

    const char *first = (const char *)memmem(buf, len, "\r\n", 2) + 2;
    long body = parse_headers(first, head_end, out);

    if (body < 0) {
        return ING_ERROR;
    }

    size_t total = (size_t)(head_end - buf) + (size_t)body;

    if (total > len) {
        return ING_AGAIN;
    }
    out->size = total;
    return (long)total;
}
