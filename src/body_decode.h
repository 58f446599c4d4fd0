/*
 * body_decode.h - compressed request bodies (gzip, deflate, zstd) decoded
 * into a buffer of fixed capacity, with the decoded-size limit enforced
 * while decoding: a body that inflates past the limit costs at most the
 * limit's worth of work, however large it claims to be.
 *
 * Only one content coding per request is supported.  RFC 9110 §8.4 allows
 * a list ("gzip, zstd" = zstd applied over gzip), but no log shipper sends
 * one and undoing a stack would need a second decoded-size buffer per
 * worker; a list is answered 415.
 *
 * A decoder belongs to one worker thread and is used for one request at a
 * time; no function here takes a lock or blocks.
 */
#ifndef ING_BODY_DECODE_H
#define ING_BODY_DECODE_H

#include <stddef.h>

#include "ing_err.h"
#include "ing_view.h"

/* Value for the Accept-Encoding field of a 415 answer (RFC 9110 §12.5.3). */
#define ING_BODY_ACCEPT_ENCODING "gzip, deflate, zstd"

enum ing_body_encoding {
    ING_BODY_IDENTITY,
    ING_BODY_GZIP,
    ING_BODY_DEFLATE,
    ING_BODY_ZSTD,
};

/*
 * Parses a Content-Encoding field value (the field lines already combined
 * with commas by the HTTP parser).  Codings are matched ignoring ASCII
 * case; "x-gzip" is gzip (RFC 9110 §8.4.1.3); an empty value or
 * "identity" is identity.  OWS around a coding and empty list elements
 * ("gzip ,") are tolerated as RFC 9110 §5.6.1 asks.
 *
 * Returns ING_OK with *out set, or ING_ERROR with err->code 415 for an
 * unknown coding or for two or more codings (stacked codings are not
 * supported, see above); err->offset is ING_ERR_NONE.  Any thread.
 */
int ing_body_encoding_parse(struct ing_view value, enum ing_body_encoding *out,
                            struct ing_err *err);

/* Returns the coding's lower-case token ("gzip"), a static string. */
const char *ing_body_encoding_name(enum ing_body_encoding enc);

/* Opaque: zlib and zstd state for one worker thread. */
struct ing_body_decoder;

/*
 * Where a decoder takes its memory from.  alloc_fn returns memory aligned
 * for any type (as malloc does) or NULL; free_fn accepts NULL.  Used by
 * tests to prove that decoding allocates nothing, and by anyone who wants
 * the decoder's memory accounted.
 */
struct ing_body_alloc {
    void *(*alloc_fn)(void *opaque, size_t size_bytes);
    void (*free_fn)(void *opaque, void *ptr);
    void *opaque;
};

/*
 * Start-up: allocates the zlib inflate state with its 32 KiB window and a
 * fixed zstd workspace (about 260 KiB in all), so that a request only
 * resets them.  Returns NULL (after logging why) when memory or a library
 * fails.  The caller owns the decoder and frees it with
 * ing_body_decoder_destroy.  Any thread; the decoder is then used by one.
 */
struct ing_body_decoder *ing_body_decoder_create(void);

/* As ing_body_decoder_create, taking every byte from *alloc (copied). */
struct ing_body_decoder *
ing_body_decoder_create_alloc(const struct ing_body_alloc *alloc);

/* Frees the decoder and all it holds; NULL is a no-op. */
void ing_body_decoder_destroy(struct ing_body_decoder *d);

/*
 * Request path: decodes the body in[0..in_len), coded as enc, into
 * out[0..out_cap).  Makes no heap allocation and does not block; the
 * work is bounded by in_len + out_cap.  Only the decoder's owner thread.
 *
 * Returns ING_OK with *out_len = decoded bytes.  Returns ING_ERROR with:
 *  - 413 "decoded body too large" as soon as the decoded bytes would pass
 *    out_cap: nothing is written past out_cap, and decoding stops at the
 *    first byte (zlib) or block (zstd) that does not fit, so a bomb costs
 *    out_cap worth of work.  Also 413 for a zstd frame whose window
 *    exceeds max(8 MiB, out_cap): such a frame is valid zstd, but asks
 *    for more than this server takes;
 *  - 400 for a corrupt or truncated stream, a checksum mismatch, a preset
 *    dictionary, or bytes after the end of the stream (zero padding too);
 *    empty input counts as truncated.  Concatenated gzip members and
 *    zstd frames are one valid body;
 *  - 500 if zlib or zstd fails internally (logged; not the client's
 *    fault).
 * err->offset, in the compressed input: in_len for a truncated stream;
 * the first byte after the stream for trailing data; for gzip and
 * deflate otherwise how far zlib had read when it gave up (it may have
 * read a few bytes past the fault).  zstd does not say where inside a
 * frame it failed: the frame's start for a bad frame header, else
 * ING_ERR_NONE.
 * On ING_ERROR, *out_len is the number of bytes written so far (never
 * more than out_cap) and out's contents are unspecified.
 *
 * "deflate" is the zlib format (RFC 9110 §8.4.1.2); because some clients
 * send raw deflate (RFC 1951) under that name, a body that does not start
 * with a valid zlib header is decoded as raw deflate.  A raw stream could
 * only look like a zlib header if its encoder set the padding bits of a
 * first stored block, which no known encoder does.
 *
 * Identity bodies need no decoding and the request path validates them
 * in place; for completeness, identity here copies (413 past out_cap).
 */
int ing_body_decode(struct ing_body_decoder *d, enum ing_body_encoding enc,
                    const char *in, size_t in_len, char *out, size_t out_cap,
                    size_t *out_len, struct ing_err *err);

#endif
