/*
 * ing_err.h - the one error vocabulary of the request path.
 *
 * Functions on the request path return ING_OK, ING_AGAIN (need more bytes,
 * or would block) or ING_ERROR; incremental parsers may instead return a
 * non-negative count of bytes consumed.  On ING_ERROR the details are in a
 * caller-owned struct ing_err, so that rejecting a request never formats a
 * string or allocates: the 400 body is built from the struct afterwards.
 */
#ifndef ING_ERR_H
#define ING_ERR_H

#include <stddef.h>
#include <stdint.h>

#define ING_OK    0
#define ING_AGAIN (-1)
#define ING_ERROR (-2)

/* Sentinel for "no batch index" / "no byte offset" in struct ing_err. */
#define ING_ERR_NONE SIZE_MAX

/*
 * What went wrong, as the HTTP status the client will see.  The message
 * says why in words; the status class is what clients branch on.
 */
enum ing_err_code {
    ING_ERR_OK = 0,
    ING_ERR_BAD_REQUEST = 400,
    ING_ERR_NOT_FOUND = 404,
    ING_ERR_METHOD = 405,
    ING_ERR_TIMEOUT = 408,
    ING_ERR_LENGTH_REQUIRED = 411,
    ING_ERR_TOO_LARGE = 413,
    ING_ERR_UNSUPPORTED = 415,
    ING_ERR_EXPECTATION = 417,
    ING_ERR_HEADERS_TOO_LARGE = 431,
    ING_ERR_INTERNAL = 500,
    ING_ERR_NOT_IMPLEMENTED = 501,
    ING_ERR_UNAVAILABLE = 503,
    ING_ERR_VERSION = 505,
};

struct ing_err {
    enum ing_err_code code;
    int sys_errno;       /* errno of a failed call, 0 if none */
    size_t offset;       /* byte offset in the body/head, or ING_ERR_NONE */
    size_t index;        /* index of the event in a batch, or ING_ERR_NONE */
    const char *message; /* static string, never freed, never formatted */
    const char *field;   /* static field name ("timestamp"), or NULL */
};

/* Clears *err to "no error". */
static inline void ing_err_clear(struct ing_err *err)
{
    err->code = ING_ERR_OK;
    err->sys_errno = 0;
    err->offset = ING_ERR_NONE;
    err->index = ING_ERR_NONE;
    err->message = NULL;
    err->field = NULL;
}

/*
 * Records an error and returns ING_ERROR, so a parser can write
 * `return ing_err_set(err, ING_ERR_BAD_REQUEST, "bare LF", pos);`.
 * The message must be a string literal (or otherwise static).
 */
static inline int ing_err_set(struct ing_err *err, enum ing_err_code code,
                              const char *message, size_t offset)
{
    err->code = code;
    err->message = message;
    err->offset = offset;
    return ING_ERROR;
}

#endif
