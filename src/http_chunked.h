/*
 * http_chunked.h - the chunked transfer coding decoder (RFC 9112 §7.1),
 * incremental and in place.
 *
 * The caller keeps the raw bytes that follow the request head in its
 * buffer and calls the decoder each time more arrive, even one byte at a
 * time.  The decoder moves chunk data down over the chunk-size lines and
 * CRLFs it has consumed, so the decoded body ends up contiguous at the
 * start of the body region with no copy to a second buffer:
 *
 *   buf: [ decoded body | consumed framing (garbage) | raw bytes to come ]
 *        0        decoded_bytes            raw_consumed               len
 *
 * Chunk extensions and trailer fields are validated and dropped: nothing
 * in ingestd needs them, and keeping them would mean keeping views into
 * bytes that the decoder overwrites.
 *
 * The decoder holds no pointer into the buffer, so the caller may move the
 * whole body region between calls (keeping offsets).  No allocation, no
 * global state; one decoder belongs to one request on one thread.
 */
#ifndef ING_HTTP_CHUNKED_H
#define ING_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "ing_err.h"

/*
 * A chunk-size line (size and extensions, without CRLF) longer than this
 * is refused with 400.  Extensions carry nothing we use; without a bound a
 * client could make the framing outweigh the data arbitrarily.
 */
#define ING_HTTP_CHUNK_LINE_MAX_BYTES 1024

/* Decoder states; private to http_chunked.c, public only for sizeof. */
enum ing_http_chunked_state {
    ING_HTTP_CHUNKED_SIZE_FIRST,
    ING_HTTP_CHUNKED_SIZE,
    ING_HTTP_CHUNKED_SEMI_BWS,
    ING_HTTP_CHUNKED_EXT_NAME_FIRST,
    ING_HTTP_CHUNKED_EXT_NAME,
    ING_HTTP_CHUNKED_EXT_NAME_BWS,
    ING_HTTP_CHUNKED_EXT_VALUE_FIRST,
    ING_HTTP_CHUNKED_EXT_TOKEN,
    ING_HTTP_CHUNKED_EXT_QUOTED,
    ING_HTTP_CHUNKED_EXT_QUOTED_PAIR,
    ING_HTTP_CHUNKED_EXT_QUOTED_END,
    ING_HTTP_CHUNKED_SIZE_LF,
    ING_HTTP_CHUNKED_DATA,
    ING_HTTP_CHUNKED_DATA_CR,
    ING_HTTP_CHUNKED_DATA_LF,
    ING_HTTP_CHUNKED_TRAILER_START,
    ING_HTTP_CHUNKED_TRAILER_NAME,
    ING_HTTP_CHUNKED_TRAILER_VALUE,
    ING_HTTP_CHUNKED_TRAILER_LF,
    ING_HTTP_CHUNKED_END_LF,
    ING_HTTP_CHUNKED_DONE,
    ING_HTTP_CHUNKED_FAILED
};

/* Embed it in the connection; read decoded_bytes and raw_consumed. */
struct ing_http_chunked {
    enum ing_http_chunked_state state;
    uint64_t chunk_left;      /* size being read, then data bytes still due */
    size_t decoded_bytes;     /* the decoded body is buf[0 .. decoded_bytes) */
    size_t raw_consumed;      /* raw bytes of buf consumed so far */
    size_t line_bytes;        /* bytes of the current chunk-size line */
    size_t trailer_bytes;     /* bytes of the trailer section so far */
    size_t max_body_bytes;    /* limit on decoded_bytes (413) */
    size_t max_trailer_bytes; /* limit on trailer_bytes (431) */
};

/*
 * Prepares *d for a new body.  max_body_bytes bounds the decoded size,
 * max_trailer_bytes the trailer section (its field lines and the final
 * CRLF).  Cannot fail; any thread.
 */
void ing_http_chunked_init(struct ing_http_chunked *d, size_t max_body_bytes,
                           size_t max_trailer_bytes);

/*
 * Decodes what has arrived.  buf is the start of the body region (the
 * first byte after the head), len the bytes in it, decoded prefix
 * included; new bytes are appended at buf + len and the call repeated with
 * the larger len and the same buf contents below len.
 *
 * Returns ING_OK when the last chunk and the trailer section are complete:
 * the body is buf[0 .. d->decoded_bytes) and the request's raw bytes end
 * at buf + d->raw_consumed (what follows belongs to the next request; it
 * was not touched).  Returns ING_AGAIN when more bytes are needed.
 * Returns ING_ERROR with err->offset (into buf) and err->code:
 *   400  malformed: bad hex, size overflow, missing CRLF after data, bare
 *        CR or LF, bad extension or trailer syntax, obs-fold in a trailer,
 *        chunk-size line over ING_HTTP_CHUNK_LINE_MAX_BYTES;
 *   413  the decoded size would pass max_body_bytes, decided as soon as
 *        the chunk-size digits say so, before any of the data arrives;
 *   431  the trailer section passed max_trailer_bytes.
 * After ING_OK the call keeps returning ING_OK; after ING_ERROR it keeps
 * returning ING_ERROR and leaves *err as the failing call set it.  The
 * connection must be closed after an error: the framing is lost.
 * Never blocks, never allocates; the thread that owns the request.
 */
int ing_http_chunked_decode(struct ing_http_chunked *d, char *buf, size_t len,
                            struct ing_err *err);

/*
 * Reclaims the consumed framing: moves the raw bytes not yet decoded,
 * buf[d->raw_consumed .. len), down to buf + d->decoded_bytes, and returns
 * the new length of the body region.  Call between ing_http_chunked_decode
 * calls that returned ING_AGAIN, when the buffer is full, so that a body of
 * many small chunks needs room for its decoded size, not its raw size.
 * Any thread; the decoder's owner only.
 */
size_t ing_http_chunked_compact(struct ing_http_chunked *d, char *buf,
                                size_t len);

#endif
