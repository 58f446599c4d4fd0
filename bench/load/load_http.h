/*
 * load_http.h - just enough of an HTTP/1.1 response parser for the load
 * generator: the status, where the response ends, and whether the server
 * will close the connection.  Every server under test answers with a
 * Content-Length; anything else is counted as an error, not guessed at.
 */
#ifndef LOAD_HTTP_H
#define LOAD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct ing_load_response {
    int status;      /* 100..599 */
    size_t size;     /* head + body bytes */
    bool will_close; /* "Connection: close" or HTTP/1.0 */
};

/*
 * Parses the response at the start of buf[0..len).  Returns the response's
 * total size (also in out->size) once head and body are all in buf,
 * ING_AGAIN if more bytes are needed, ING_ERROR if the bytes are not a
 * response this parser accepts (no Content-Length, malformed status line).
 * Does not allocate, keeps no state between calls, any thread.
 */
long ing_load_http_response_parse(const char *buf, size_t len,
                                  struct ing_load_response *out);

#endif
