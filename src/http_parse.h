/*
 * http_parse.h - the HTTP/1.1 request head parser (RFC 9112, RFC 9110).
 *
 * The parser is stateless: the caller hands it every byte of the current
 * request received so far and it parses from the first byte again on each
 * call.  That costs a re-scan of a few hundred bytes, which is cheap when
 * the caller only calls again once a new LF has arrived (or the head limit
 * is reached), and it buys a parser with no state to corrupt or reset.
 *
 * Nothing is copied and nothing is allocated: every string in struct
 * ing_http_request is a view into the caller's buffer, valid as long as
 * those bytes stay where they are.  The parser keeps no global mutable
 * state; any thread may call it at any time.
 *
 * It is strict by design.  Anything a lenient parser would repair (bare LF,
 * obs-fold, whitespace before a colon, duplicate or contradicting framing
 * fields) is an error here, because two parsers that repair differently are
 * the root of request smuggling.  The rules and their RFC clauses are next
 * to the checks in http_parse.c.
 */
#ifndef ING_HTTP_PARSE_H
#define ING_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ing_err.h"
#include "ing_view.h"

/*
 * Methods with their own enum member are the ones a server routes on; every
 * other registered method (IANA HTTP Method Registry, plus PURGE and SOURCE)
 * is ING_HTTP_OTHER with its name in method_name.  A method outside that
 * table is refused with 501 (RFC 9110 §9.1).  ING_HTTP_CONNECT is never
 * returned: CONNECT needs an authority-form target, which an origin server
 * refuses with 400.
 */
enum ing_http_method {
    ING_HTTP_GET,
    ING_HTTP_HEAD,
    ING_HTTP_POST,
    ING_HTTP_PUT,
    ING_HTTP_DELETE,
    ING_HTTP_OPTIONS,
    ING_HTTP_PATCH,
    ING_HTTP_CONNECT,
    ING_HTTP_TRACE,
    ING_HTTP_OTHER
};

struct ing_http_request {
    enum ing_http_method method;
    struct ing_view method_name;
    /* The request-target as sent (origin, absolute or asterisk form). */
    struct ing_view target;
    /*
     * The target up to '?'.  For absolute-form it is the path part after
     * the authority; an empty one is a view of a static "/" (RFC 9112
     * §3.2.1), the only view that does not point into the buffer.
     */
    struct ing_view path;
    /* 0 or 1; HTTP/1.2 to 1.9 count as 1 (RFC 9110 §2.5). */
    unsigned version_minor;
    bool has_host;           /* a Host field line was present (and valid) */
    bool keep_alive;         /* from the version and the Connection tokens */
    bool expect_continue;    /* Expect: 100-continue, HTTP/1.1 only */
    bool expect_unsupported; /* any other expectation: answer 417 */
    bool chunked;            /* Transfer-Encoding: chunked */
    bool has_content_length;
    uint64_t content_length;          /* at most INT64_MAX */
    struct ing_view content_type;     /* OWS trimmed; empty if absent */
    struct ing_view content_encoding; /* OWS trimmed; empty if absent */
    /*
     * Bytes of the head: ignored empty lines before the request-line, the
     * request-line, the field lines and the final CRLF.  The body (or the
     * next pipelined request) starts at buf + head_bytes.
     */
    size_t head_bytes;
};

/*
 * Parses the request head at the start of buf[0 .. len).
 *
 * Returns head_bytes (> 0) when the head is complete and valid; *req is then
 * filled, its views point into buf.  Returns ING_AGAIN when the bytes so far
 * are a valid prefix of a head and more are needed.  Returns ING_ERROR with
 * err->code and err->offset (into buf) set:
 *   400  malformed head, or a framing field that could smuggle a request;
 *   415  Content-Encoding given on more than one field line;
 *   431  no complete head within the first max_head_bytes bytes (decided
 *        as soon as len >= max_head_bytes; a head of exactly
 *        max_head_bytes is accepted);
 *   501  a method outside the table above;
 *   505  an HTTP major version other than 1.
 * The connection must be closed after any error: the framing is lost.
 *
 * A missing Host is not an error here (has_host is false); the caller
 * decides.  max_head_bytes above INT_MAX is treated as INT_MAX, since the
 * result is an int.  On ING_AGAIN and ING_ERROR *req is unspecified.
 * Pure function: no allocation, no blocking, any thread.
 */
int ing_http_request_parse(const char *buf, size_t len, size_t max_head_bytes,
                           struct ing_http_request *req, struct ing_err *err);

/*
 * Returns true when buf[0 .. len) holds nothing but empty lines (CRLF,
 * possibly ending in a lone CR): no request has begun yet.  RFC 9112 §2.2
 * lets a server ignore such lines, and the parser does; this tells the
 * caller whether a connection is idle (keep-alive timeout, silent close)
 * or inside a request (408 on timeout).  An empty buffer is blank.
 * Pure function, any thread.
 */
bool ing_http_request_is_blank(const char *buf, size_t len);

#endif
