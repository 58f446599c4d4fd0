/*
 * http_response.h - answers, written into a caller's output buffer.
 *
 * Every answer carries Content-Type: application/json, Content-Length,
 * Date and a JSON body (DESIGN.md, "Answers").  Nothing here allocates;
 * the Date text is cached per worker and refreshed once a second.
 * Functions are called by the worker thread that owns the buffers.
 */
#ifndef ING_HTTP_RESPONSE_H
#define ING_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ing_err.h"

/* The body of a 202 for one event. */
#define ING_QUEUED_BODY "{\"status\":\"queued\"}"

/* IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". */
#define ING_HTTP_DATE_LEN 29

struct ing_http_date {
    time_t second;
    char text[ING_HTTP_DATE_LEN + 1];
};

/* Reformats the cached Date text if `now` is a new second. */
void ing_http_date_update(struct ing_http_date *date, time_t now);

struct ing_http_out {
    char *data;
    size_t len;
    size_t cap;
};

/* What one answer says; `extra_headers` is NULL or complete CRLF-ended
 * lines ("Allow: POST\r\n"). */
struct ing_http_answer {
    int status;
    bool keep_alive;
    bool announce_keep_alive; /* HTTP/1.0 client: say "keep-alive" */
    const char *extra_headers;
    const char *body;
    size_t body_len;
    bool omit_body; /* HEAD: Content-Length of the body, but no body */
};

/*
 * Appends a whole response to out.  Returns true, or false (out unchanged)
 * when it does not fit; the caller flushes and tries again.
 */
bool ing_http_response_append(struct ing_http_out *out,
                              const struct ing_http_answer *answer,
                              const struct ing_http_date *date);

/*
 * Writes the JSON body for an error into buf (NUL-terminated) and returns
 * its length: {"status":"rejected","error":"...","field":"...",
 * "index":i,"offset":o}, the last three only when err carries them.
 * buf should hold at least 512 bytes; the text is cut, not overrun.
 */
size_t ing_http_error_body(char *buf, size_t size, const struct ing_err *err);

/* The reason phrase for a status code ("Accepted"). */
const char *ing_http_reason(int status);

#endif
