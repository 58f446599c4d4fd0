/*
 * body_decode.c - gzip, deflate and zstd request bodies, decoded under a
 * hard cap on the decoded size.
 *
 * Zero allocation per request: both libraries are made to do all their
 * allocating at start-up.
 *  - zlib allocates its inflate state in inflateInit2 and its 32 KiB
 *    window lazily, on the first inflate that has to keep history.  The
 *    decoder inflates a tiny stream at creation so that the window exists
 *    before the first request; inflateReset2 keeps both as long as the
 *    window size stays 2^15, which gzip, zlib and raw deflate all use here.
 *  - zstd's streaming decoder keeps its own window and input buffers and
 *    re-allocates them when a frame needs more, or after 128 frames that
 *    needed much less (it shrinks).  So the DCtx lives in a fixed
 *    workspace (ZSTD_initStaticDCtx, which can never allocate) and decodes
 *    straight into the caller's buffer (ZSTD_d_stableOutBuffer, so no
 *    window buffer): what is left is one block-sized input buffer, carved
 *    from the workspace.
 *
 * The cap is enforced by handing the libraries exactly out_cap bytes of
 * output.  zstd fails a block that does not fit; for zlib, once out is
 * full, a one-byte spill buffer tells "needs more output" (413) apart
 * from "needs more input" (400) without decoding any further.
 */
#define ZLIB_CONST
#define ZSTD_STATIC_LINKING_ONLY

#include "body_decode.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "log.h"

/* windowBits for inflateInit2/inflateReset2 (see zlib.h). */
#define GZIP_WINDOW_BITS (16 + MAX_WBITS)
#define ZLIB_WINDOW_BITS MAX_WBITS
#define RAW_WINDOW_BITS  (-MAX_WBITS)

/*
 * zstd frames may not ask for a window past this (2^23 = 8 MiB, the
 * default decoded-size limit) or past out_cap if that is larger.  The
 * window lives in out, so this guards no memory; it is a sanity limit
 * that still admits what every standard level up to 19 writes when it
 * streams (levels 20-22 and --long use 32-128 MiB windows).
 */
#define ZSTD_WINDOW_LOG_FLOOR 23

struct ing_body_decoder {
    struct ing_body_alloc alloc;
    z_stream zs;
    bool zs_ready;
    ZSTD_DCtx *zstd;
    void *zstd_workspace;
    int zstd_window_log;
    unsigned char spill;
};

/* The client-facing words for one coding's failures (static strings). */
struct coding_msgs {
    const char *truncated;
    const char *corrupt;
    const char *checksum;
    const char *trailing;
};

static const struct coding_msgs gzip_msgs = {
    "truncated gzip body",
    "corrupt gzip body",
    "gzip checksum mismatch",
    "data after the end of the gzip body",
};

static const struct coding_msgs deflate_msgs = {
    "truncated deflate body",
    "corrupt deflate body",
    "deflate checksum mismatch",
    "data after the end of the deflate body",
};

static const struct coding_msgs zstd_msgs = {
    "truncated zstd body",
    "corrupt zstd body",
    "zstd checksum mismatch",
    "data after the end of the zstd body",
};

static const char too_large_msg[] = "decoded body too large";

/* A zlib run over one request: positions are size_t, zlib's are uInt. */
struct inflate_job {
    const unsigned char *in;
    size_t in_len;
    size_t in_pos;
    unsigned char *out;
    size_t out_cap;
    size_t out_pos;
    bool overflow;
};

static struct ing_view trim_ows(struct ing_view v)
{
    while (v.len > 0 && (v.ptr[0] == ' ' || v.ptr[0] == '\t')) {
        v.ptr++;
        v.len--;
    }

    while (v.len > 0 && (v.ptr[v.len - 1] == ' ' || v.ptr[v.len - 1] == '\t')) {
        v.len--;
    }
    return v;
}

static int coding_lookup(struct ing_view coding, enum ing_body_encoding *out,
                         struct ing_err *err)
{
    static const struct {
        const char *token;
        enum ing_body_encoding enc;
    } known[] = {
        {"gzip", ING_BODY_GZIP},         {"x-gzip", ING_BODY_GZIP},
        {"deflate", ING_BODY_DEFLATE},   {"zstd", ING_BODY_ZSTD},
        {"identity", ING_BODY_IDENTITY},
    };

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (ing_view_eq_nocase(coding, known[i].token)) {
            *out = known[i].enc;
            return ING_OK;
        }
    }
    return ing_err_set(err, ING_ERR_UNSUPPORTED, "unsupported content coding",
                       ING_ERR_NONE);
}

int ing_body_encoding_parse(struct ing_view value, enum ing_body_encoding *out,
                            struct ing_err *err)
{
    struct ing_view coding = {NULL, 0};
    size_t codings = 0;
    size_t start = 0;

    for (size_t i = 0; i < value.len; i++) {
        if (value.ptr[i] != ',') {
            continue;
        }
        struct ing_view elem =
            trim_ows(ing_view_make(value.ptr + start, i - start));
        start = i + 1;
        if (elem.len > 0) {
            coding = elem;
            codings++;
        }
    }

    if (value.len > 0) {
        struct ing_view last =
            trim_ows(ing_view_make(value.ptr + start, value.len - start));
        if (last.len > 0) {
            coding = last;
            codings++;
        }
    }

    if (codings > 1) {
        return ing_err_set(err, ING_ERR_UNSUPPORTED,
                           "stacked content codings are not supported",
                           ING_ERR_NONE);
    }
    if (codings == 0) {
        *out = ING_BODY_IDENTITY;
        return ING_OK;
    }
    return coding_lookup(coding, out, err);
}

const char *ing_body_encoding_name(enum ing_body_encoding enc)
{
    switch (enc) {
    case ING_BODY_IDENTITY:
        return "identity";
    case ING_BODY_GZIP:
        return "gzip";
    case ING_BODY_DEFLATE:
        return "deflate";
    case ING_BODY_ZSTD:
        return "zstd";
    }
    return "unknown";
}

static void *default_alloc(void *opaque, size_t size_bytes)
{
    (void)opaque;
    return malloc(size_bytes);
}

static void default_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
    const struct ing_body_alloc *alloc = opaque;

    if (size != 0 && items > SIZE_MAX / size) {
        return Z_NULL;
    }
    return alloc->alloc_fn(alloc->opaque, (size_t)items * size);
}

static void zlib_free(voidpf opaque, voidpf ptr)
{
    const struct ing_body_alloc *alloc = opaque;

    alloc->free_fn(alloc->opaque, ptr);
}

/*
 * One byte in a non-final stored block: inflating it with Z_NO_FLUSH makes
 * zlib keep history, which allocates the window now rather than during a
 * request.
 */
static bool zlib_warm_window(z_stream *zs)
{
    static const unsigned char stored_byte[] = {0x00, 0x01, 0x00,
                                                0xfe, 0xff, 'x'};
    unsigned char sink[1];

    zs->next_in = stored_byte;
    zs->avail_in = sizeof(stored_byte);
    zs->next_out = sink;
    zs->avail_out = sizeof(sink);
    if (inflate(zs, Z_NO_FLUSH) != Z_OK || zs->avail_out != 0) {
        return false;
    }
    return inflateReset(zs) == Z_OK;
}

static bool zlib_setup(struct ing_body_decoder *d)
{
    int rc;

    d->zs.zalloc = zlib_alloc;
    d->zs.zfree = zlib_free;
    d->zs.opaque = &d->alloc;
    rc = inflateInit2(&d->zs, RAW_WINDOW_BITS);
    if (rc != Z_OK) {
        ING_ERROR_LOG("body", "inflateInit2() failed rc=%d", rc);
        return false;
    }
    d->zs_ready = true;

    if (!zlib_warm_window(&d->zs)) {
        ING_ERROR_LOG("body", "zlib window warm-up failed");
        return false;
    }
    return true;
}

static bool zstd_setup(struct ing_body_decoder *d)
{
    /* Stable output leaves zstd one buffer to carve: a whole block. */
    size_t size = ZSTD_estimateDCtxSize() + ZSTD_BLOCKSIZE_MAX;
    size_t rc;

    d->zstd_workspace = d->alloc.alloc_fn(d->alloc.opaque, size);
    if (d->zstd_workspace == NULL) {
        ING_ERROR_LOG("body", "zstd workspace allocation failed bytes=%zu",
                      size);
        return false;
    }

    d->zstd = ZSTD_initStaticDCtx(d->zstd_workspace, size);
    if (d->zstd == NULL) {
        ING_ERROR_LOG("body", "ZSTD_initStaticDCtx() failed bytes=%zu", size);
        return false;
    }

    rc = ZSTD_DCtx_setParameter(d->zstd, ZSTD_d_stableOutBuffer, 1);
    if (!ZSTD_isError(rc)) {
        rc = ZSTD_DCtx_setParameter(d->zstd, ZSTD_d_windowLogMax,
                                    ZSTD_WINDOW_LOG_FLOOR);
    }
    if (ZSTD_isError(rc)) {
        ING_ERROR_LOG("body", "ZSTD_DCtx_setParameter() failed error=\"%s\"",
                      ZSTD_getErrorName(rc));
        return false;
    }
    d->zstd_window_log = ZSTD_WINDOW_LOG_FLOOR;
    return true;
}

struct ing_body_decoder *
ing_body_decoder_create_alloc(const struct ing_body_alloc *alloc)
{
    struct ing_body_decoder *d = alloc->alloc_fn(alloc->opaque, sizeof(*d));

    if (d == NULL) {
        ING_ERROR_LOG("body", "decoder allocation failed");
        return NULL;
    }
    memset(d, 0, sizeof(*d));
    d->alloc = *alloc;

    if (!zlib_setup(d) || !zstd_setup(d)) {
        ing_body_decoder_destroy(d);
        return NULL;
    }
    return d;
}

struct ing_body_decoder *ing_body_decoder_create(void)
{
    static const struct ing_body_alloc libc = {default_alloc, default_free,
                                               NULL};

    return ing_body_decoder_create_alloc(&libc);
}

void ing_body_decoder_destroy(struct ing_body_decoder *d)
{
    if (d == NULL) {
        return;
    }

    if (d->zs_ready) {
        inflateEnd(&d->zs);
    }
    /* A static DCtx is only its workspace: nothing to free inside it. */
    d->alloc.free_fn(d->alloc.opaque, d->zstd_workspace);
    d->alloc.free_fn(d->alloc.opaque, d);
}

static uInt clamp_uint(size_t n)
{
    return n > UINT_MAX ? UINT_MAX : (uInt)n;
}

/*
 * One inflate() call.  With out full, zlib gets the one-byte spill: if it
 * writes there, the body needs more than out_cap and decoding stops.
 */
static int inflate_step(struct ing_body_decoder *d, struct inflate_job *job)
{
    z_stream *zs = &d->zs;
    size_t out_left = job->out_cap - job->out_pos;
    uInt in_avail = clamp_uint(job->in_len - job->in_pos);
    uInt out_avail = out_left > 0 ? clamp_uint(out_left) : 1;
    int rc;

    zs->next_in = job->in + job->in_pos;
    zs->avail_in = in_avail;
    zs->next_out = out_left > 0 ? job->out + job->out_pos : &d->spill;
    zs->avail_out = out_avail;
    rc = inflate(zs, Z_NO_FLUSH);

    job->in_pos += in_avail - zs->avail_in;
    if (out_left > 0) {
        job->out_pos += out_avail - zs->avail_out;
    } else {
        job->overflow = zs->avail_out == 0;
    }
    return rc;
}

static bool is_checksum_error(const z_stream *zs)
{
    /* zlib says which check failed only in msg, a static string. */
    return zs->msg != NULL && (strcmp(zs->msg, "incorrect data check") == 0 ||
                               strcmp(zs->msg, "incorrect length check") == 0);
}

static int inflate_fail(struct ing_body_decoder *d, int rc,
                        const struct inflate_job *job,
                        const struct coding_msgs *msgs, struct ing_err *err)
{
    switch (rc) {
    case Z_BUF_ERROR:
        /* No progress with room to write: zlib is waiting for input. */
        return ing_err_set(err, ING_ERR_BAD_REQUEST, msgs->truncated,
                           job->in_pos);
    case Z_DATA_ERROR:
        return ing_err_set(err, ING_ERR_BAD_REQUEST,
                           is_checksum_error(&d->zs) ? msgs->checksum
                                                     : msgs->corrupt,
                           job->in_pos);
    case Z_NEED_DICT:
        return ing_err_set(err, ING_ERR_BAD_REQUEST,
                           "deflate preset dictionary not supported",
                           job->in_pos);
    default:
        ING_ERROR_LOG("body", "inflate() failed rc=%d", rc);
        return ing_err_set(err, ING_ERR_INTERNAL, "body decoder failure",
                           ING_ERR_NONE);
    }
}

/* Inflates one zlib/gzip/raw stream (one gzip member) to its end. */
static int inflate_stream(struct ing_body_decoder *d, int window_bits,
                          struct inflate_job *job,
                          const struct coding_msgs *msgs, struct ing_err *err)
{
    int rc = inflateReset2(&d->zs, window_bits);

    if (rc != Z_OK) {
        return inflate_fail(d, rc, job, msgs, err);
    }

    do {
        rc = inflate_step(d, job);
        if (job->overflow) {
            return ing_err_set(err, ING_ERR_TOO_LARGE, too_large_msg,
                               job->in_pos);
        }
    } while (rc == Z_OK);

    if (rc != Z_STREAM_END) {
        return inflate_fail(d, rc, job, msgs, err);
    }
    return ING_OK;
}

static bool at_gzip_magic(const struct inflate_job *job)
{
    return job->in_len - job->in_pos >= 2 && job->in[job->in_pos] == 0x1f &&
           job->in[job->in_pos + 1] == 0x8b;
}

/* RFC 1952 §2.2: a gzip file is a series of members; take them all. */
static int decode_gzip(struct ing_body_decoder *d, struct inflate_job *job,
                       struct ing_err *err)
{
    do {
        if (inflate_stream(d, GZIP_WINDOW_BITS, job, &gzip_msgs, err) !=
            ING_OK) {
            return ING_ERROR;
        }
    } while (at_gzip_magic(job));

    if (job->in_pos != job->in_len) {
        return ing_err_set(err, ING_ERR_BAD_REQUEST, gzip_msgs.trailing,
                           job->in_pos);
    }
    return ING_OK;
}

/* RFC 1950 §2.2: CM 8, CINFO at most 7, and FCHECK making it a multiple of
 * 31. */
static bool has_zlib_header(const unsigned char *in, size_t in_len)
{
    if (in_len < 2) {
        return false;
    }

    unsigned cmf = in[0];
    unsigned flg = in[1];

    return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
}

static int decode_deflate(struct ing_body_decoder *d, struct inflate_job *job,
                          struct ing_err *err)
{
    int window_bits = has_zlib_header(job->in, job->in_len) ? ZLIB_WINDOW_BITS
                                                            : RAW_WINDOW_BITS;

    if (inflate_stream(d, window_bits, job, &deflate_msgs, err) != ING_OK) {
        return ING_ERROR;
    }

    if (job->in_pos != job->in_len) {
        return ing_err_set(err, ING_ERR_BAD_REQUEST, deflate_msgs.trailing,
                           job->in_pos);
    }
    return ING_OK;
}

static int decode_zlib_family(struct ing_body_decoder *d,
                              enum ing_body_encoding enc, const char *in,
                              size_t in_len, char *out, size_t out_cap,
                              size_t *out_len, struct ing_err *err)
{
    struct inflate_job job = {
        .in = (const unsigned char *)in,
        .in_len = in_len,
        .out = (unsigned char *)out,
        .out_cap = out_cap,
    };
    int rc;

    /* Also keeps zlib away from a NULL input pointer. */
    if (in_len == 0) {
        *out_len = 0;
        return ing_err_set(err, ING_ERR_BAD_REQUEST,
                           enc == ING_BODY_GZIP ? gzip_msgs.truncated
                                                : deflate_msgs.truncated,
                           0);
    }

    rc = enc == ING_BODY_GZIP ? decode_gzip(d, &job, err)
                              : decode_deflate(d, &job, err);

    *out_len = job.out_pos;
    return rc;
}

/* Smallest n with 2^n >= cap, but at least the floor. */
static int zstd_window_log_for(size_t cap)
{
    int log = ZSTD_WINDOW_LOG_FLOOR;

    while (log < ZSTD_WINDOWLOG_MAX && ((size_t)1 << log) < cap) {
        log++;
    }
    return log;
}

static int zstd_prepare(struct ing_body_decoder *d, size_t out_cap,
                        struct ing_err *err)
{
    int window_log = zstd_window_log_for(out_cap);
    size_t rc = ZSTD_DCtx_reset(d->zstd, ZSTD_reset_session_only);

    if (!ZSTD_isError(rc) && window_log != d->zstd_window_log) {
        rc = ZSTD_DCtx_setParameter(d->zstd, ZSTD_d_windowLogMax, window_log);
    }
    if (ZSTD_isError(rc)) {
        ING_ERROR_LOG("body", "zstd reset failed error=\"%s\"",
                      ZSTD_getErrorName(rc));
        return ing_err_set(err, ING_ERR_INTERNAL, "body decoder failure",
                           ING_ERR_NONE);
    }
    d->zstd_window_log = window_log;
    return ING_OK;
}

/*
 * zstd does not advance the input position of a call that fails, and a
 * call covers a whole frame, so the position of a failure inside a frame
 * is unknown; failures in a frame header are placed at the frame.
 */
static int zstd_fail(size_t rc, size_t frame_start, bool after_frame,
                     struct ing_err *err)
{
    switch (ZSTD_getErrorCode(rc)) {
    case ZSTD_error_dstSize_tooSmall:
    case ZSTD_error_noForwardProgress_destFull:
        return ing_err_set(err, ING_ERR_TOO_LARGE, too_large_msg, ING_ERR_NONE);
    case ZSTD_error_frameParameter_windowTooLarge:
        return ing_err_set(err, ING_ERR_TOO_LARGE,
                           "zstd window larger than the decoded body limit",
                           frame_start);
    case ZSTD_error_prefix_unknown:
        return ing_err_set(err, ING_ERR_BAD_REQUEST,
                           after_frame ? zstd_msgs.trailing : zstd_msgs.corrupt,
                           frame_start);
    case ZSTD_error_checksum_wrong:
        return ing_err_set(err, ING_ERR_BAD_REQUEST, zstd_msgs.checksum,
                           ING_ERR_NONE);
    case ZSTD_error_memory_allocation:
    case ZSTD_error_stage_wrong:
    case ZSTD_error_stabilityCondition_notRespected:
        ING_ERROR_LOG("body", "ZSTD_decompressStream() failed error=\"%s\"",
                      ZSTD_getErrorName(rc));
        return ing_err_set(err, ING_ERR_INTERNAL, "body decoder failure",
                           ING_ERR_NONE);
    default:
        return ing_err_set(err, ING_ERR_BAD_REQUEST, zstd_msgs.corrupt,
                           ING_ERR_NONE);
    }
}

/* No progress with input left: zstd wants room (413) or the frame is bad. */
static int zstd_stalled(const ZSTD_outBuffer *dst, size_t in_pos,
                        struct ing_err *err)
{
    if (dst->pos == dst->size) {
        return ing_err_set(err, ING_ERR_TOO_LARGE, too_large_msg, in_pos);
    }
    return ing_err_set(err, ING_ERR_BAD_REQUEST, zstd_msgs.corrupt, in_pos);
}

/*
 * RFC 8878 §3.1: a frame starts with the zstd magic or a skippable one.
 * libzstd also knows the pre-1.0 "legacy" formats, but decodes them only
 * into heap buffers, which a static DCtx refuses as a memory error: that
 * would answer a client's 8 bytes with a 500 and an error log line.  So
 * any other magic is refused here, as the bad frame it is to RFC 8878.
 * Fewer than 4 bytes are left for zstd to call truncated.
 */
static bool zstd_magic_ok(const ZSTD_inBuffer *src)
{
    const unsigned char *p = (const unsigned char *)src->src + src->pos;
    uint32_t magic;

    if (src->size - src->pos < 4) {
        return true;
    }
    magic = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
            (uint32_t)p[3] << 24;
    return magic == ZSTD_MAGICNUMBER ||
           (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

/*
 * ZSTD_decompressStream returns 0 at the end of each frame and starts the
 * next one on the next call, so concatenated frames (RFC 8878 §3.1) and
 * skippable frames need nothing special.
 */
static int decode_zstd(struct ing_body_decoder *d, const char *in,
                       size_t in_len, char *out, size_t out_cap,
                       size_t *out_len, struct ing_err *err)
{
    ZSTD_inBuffer src = {in, in_len, 0};
    ZSTD_outBuffer dst = {out, out_cap, 0};
    bool frame_open = false;
    bool frame_done = false;
    size_t frame_start = 0;
    int rc = zstd_prepare(d, out_cap, err);

    while (rc == ING_OK && src.pos < src.size) {
        size_t in_before = src.pos;
        size_t out_before = dst.pos;
        size_t hint;

        if (!frame_open) {
            frame_start = src.pos;
            if (!zstd_magic_ok(&src)) {
                rc = ing_err_set(err, ING_ERR_BAD_REQUEST,
                                 frame_done ? zstd_msgs.trailing
                                            : zstd_msgs.corrupt,
                                 frame_start);
                break;
            }
        }
        hint = ZSTD_decompressStream(d->zstd, &dst, &src);
        if (ZSTD_isError(hint)) {
            rc = zstd_fail(hint, frame_start, frame_done && !frame_open, err);
        } else if (hint > 0 && src.pos == in_before && dst.pos == out_before) {
            rc = zstd_stalled(&dst, src.pos, err);
        }
        frame_open = hint > 0;
        frame_done = frame_done || hint == 0;
    }

    if (rc == ING_OK && (frame_open || !frame_done)) {
        rc = ing_err_set(err, ING_ERR_BAD_REQUEST, zstd_msgs.truncated, in_len);
    }
    *out_len = dst.pos;
    return rc;
}

static int copy_identity(const char *in, size_t in_len, char *out,
                         size_t out_cap, size_t *out_len, struct ing_err *err)
{
    *out_len = 0;
    if (in_len > out_cap) {
        return ing_err_set(err, ING_ERR_TOO_LARGE, too_large_msg, out_cap);
    }

    if (in_len > 0) {
        memcpy(out, in, in_len);
    }
    *out_len = in_len;
    return ING_OK;
}

int ing_body_decode(struct ing_body_decoder *d, enum ing_body_encoding enc,
                    const char *in, size_t in_len, char *out, size_t out_cap,
                    size_t *out_len, struct ing_err *err)
{
    switch (enc) {
    case ING_BODY_GZIP:
    case ING_BODY_DEFLATE:
        return decode_zlib_family(d, enc, in, in_len, out, out_cap, out_len,
                                  err);
    case ING_BODY_ZSTD:
        return decode_zstd(d, in, in_len, out, out_cap, out_len, err);
    case ING_BODY_IDENTITY:
        break;
    }
    return copy_identity(in, in_len, out, out_cap, out_len, err);
}
