/*
 * body_decode_fuzz.c - arbitrary bytes decoded as gzip, deflate and zstd.
 *
 * The input is a compressed body; each coding is tried on it (a gzip seed
 * read as zstd is just another bad frame).  One decoder is reused across
 * all calls, as a worker does.  Checked (body_decode.h):
 *  - the result is ING_OK or ING_ERROR with 400 or 413 (a 500 says the
 *    library failed, which no input may cause), an offset in the input or
 *    ING_ERR_NONE, and *out_len <= out_cap; out is a buffer of exactly
 *    out_cap bytes, so a write past it shows under ASan;
 *  - out_cap is small (256) and larger (64 KiB); when a body decodes, it
 *    decodes to the same bytes with out_cap equal to its size, and is a
 *    413 with one byte less;
 *  - what decodes is what a fresh zlib stream or zstd context makes of
 *    the same bytes: reusing the decoder leaks nothing between bodies;
 *  - the Content-Encoding parser, on the same bytes as a field value,
 *    gives a coding or 415;
 *  - no heap allocation while decoding (counted under ASan).
 */
#define ZLIB_CONST

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "body_decode.h"
#include "fuzz_check.h"

#define SMALL_CAP 256
#define LARGE_CAP (64 * 1024)

/* The reference decoders get room for more than LARGE_CAP. */
#define REFERENCE_CAP (LARGE_CAP + 1)

struct result {
    int rc;
    size_t out_len;
    struct ing_err err;
    char *out;
};

static struct ing_body_decoder *decoder_get(void)
{
    static struct ing_body_decoder *d;

    if (d == NULL) {
        d = ing_body_decoder_create();
        FUZZ_CHECK(d != NULL);
    }
    return d;
}

static void decode(enum ing_body_encoding enc, const uint8_t *in, size_t len,
                   size_t cap, struct result *r)
{
    struct ing_body_decoder *d = decoder_get();

    r->out = malloc(cap > 0 ? cap : 1);
    FUZZ_CHECK(r->out != NULL);
    r->out_len = SIZE_MAX;
    ing_err_clear(&r->err);

    ing_fuzz_alloc_begin();
    r->rc = ing_body_decode(d, enc, (const char *)in, len, r->out, cap,
                            &r->out_len, &r->err);
    FUZZ_CHECK(ing_fuzz_alloc_end() == 0);

    FUZZ_CHECK(r->out_len <= cap);
    if (r->rc == ING_OK) {
        return;
    }
    /* 500 means zlib or zstd failed inside: never the input's doing. */
    FUZZ_CHECK(r->rc == ING_ERROR);
    FUZZ_CHECK(r->err.code == ING_ERR_BAD_REQUEST ||
               r->err.code == ING_ERR_TOO_LARGE);
    FUZZ_CHECK(r->err.offset == ING_ERR_NONE || r->err.offset <= len);
    FUZZ_CHECK(r->err.message != NULL);
}

/* A fresh inflate over every gzip member, or over the one zlib/raw stream. */
static int zlib_reference(enum ing_body_encoding enc, const uint8_t *in,
                          size_t len, unsigned char *out, size_t *out_len)
{
    int bits = 16 + MAX_WBITS;
    z_stream zs;
    int rc;

    if (enc == ING_BODY_DEFLATE) {
        bool zlib_header = len >= 2 && (in[0] & 0x0f) == 8 &&
                           (in[0] >> 4) <= 7 && (in[0] * 256 + in[1]) % 31 == 0;
        bits = zlib_header ? MAX_WBITS : -MAX_WBITS;
    }
    memset(&zs, 0, sizeof(zs));
    FUZZ_CHECK(inflateInit2(&zs, bits) == Z_OK);
    zs.next_in = in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = REFERENCE_CAP;

    do {
        rc = inflate(&zs, Z_FINISH);
        if (rc == Z_STREAM_END && enc == ING_BODY_GZIP && zs.avail_in > 0) {
            rc = inflateReset(&zs) == Z_OK ? Z_OK : Z_DATA_ERROR;
        }
    } while (rc == Z_OK);

    *out_len = REFERENCE_CAP - zs.avail_out;
    inflateEnd(&zs);
    return rc == Z_STREAM_END && zs.avail_in == 0 ? ING_OK : ING_ERROR;
}

/*
 * A fresh streaming DCtx, not ZSTD_decompress(): libzstd's one-shot API
 * refuses an empty compressed block (block size 0) that its streaming API,
 * and so ours, takes as an empty block.  Either reading decodes to nothing.
 */
static int zstd_reference(const uint8_t *in, size_t len, unsigned char *out,
                          size_t *out_len)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_inBuffer src = {in, len, 0};
    ZSTD_outBuffer dst = {out, REFERENCE_CAP, 0};
    size_t hint = 1;

    FUZZ_CHECK(dctx != NULL);
    while (src.pos < src.size) {
        size_t before = src.pos + dst.pos;

        hint = ZSTD_decompressStream(dctx, &dst, &src);
        if (ZSTD_isError(hint) || src.pos + dst.pos == before) {
            break;
        }
    }
    ZSTD_freeDCtx(dctx);
    *out_len = dst.pos;
    return hint == 0 && src.pos == src.size ? ING_OK : ING_ERROR;
}

static void check_reference(enum ing_body_encoding enc, const uint8_t *in,
                            size_t len, const struct result *r)
{
    static unsigned char ref[REFERENCE_CAP];
    size_t ref_len = 0;
    int rc;

    if (enc == ING_BODY_IDENTITY) {
        FUZZ_CHECK(r->out_len == len);
        FUZZ_CHECK(len == 0 || memcmp(in, r->out, len) == 0);
        return;
    }
    if (enc == ING_BODY_ZSTD) {
        rc = zstd_reference(in, len, ref, &ref_len);
    } else {
        rc = zlib_reference(enc, in, len, ref, &ref_len);
    }
    FUZZ_CHECK(rc == ING_OK);
    FUZZ_CHECK(ref_len == r->out_len);
    FUZZ_CHECK(memcmp(ref, r->out, ref_len) == 0);
}

/* A decoded body fits a cap of its size exactly, and not one byte less. */
static void check_cap_edges(enum ing_body_encoding enc, const uint8_t *in,
                            size_t len, const struct result *r)
{
    struct result exact;
    struct result short_by_one;

    decode(enc, in, len, r->out_len, &exact);
    FUZZ_CHECK(exact.rc == ING_OK && exact.out_len == r->out_len);
    FUZZ_CHECK(memcmp(exact.out, r->out, r->out_len) == 0);
    free(exact.out);

    if (r->out_len == 0) {
        return;
    }
    decode(enc, in, len, r->out_len - 1, &short_by_one);
    FUZZ_CHECK(short_by_one.rc == ING_ERROR &&
               short_by_one.err.code == ING_ERR_TOO_LARGE);
    free(short_by_one.out);
}

static void run_coding(enum ing_body_encoding enc, const uint8_t *in,
                       size_t len)
{
    struct result small;
    struct result large;

    decode(enc, in, len, SMALL_CAP, &small);
    decode(enc, in, len, LARGE_CAP, &large);

    if (small.rc == ING_OK) {
        FUZZ_CHECK(large.rc == ING_OK && large.out_len == small.out_len);
        FUZZ_CHECK(memcmp(large.out, small.out, small.out_len) == 0);
    } else if (small.err.code != ING_ERR_TOO_LARGE) {
        FUZZ_CHECK(large.rc == ING_ERROR && large.err.code == small.err.code);
    }

    if (large.rc == ING_OK) {
        check_reference(enc, in, len, &large);
        check_cap_edges(enc, in, len, &large);
    }
    free(small.out);
    free(large.out);
}

static void run_encoding_parse(const uint8_t *data, size_t size)
{
    struct ing_view value = {(const char *)data, size};
    enum ing_body_encoding enc = ING_BODY_IDENTITY;
    struct ing_err err;
    int rc;

    ing_err_clear(&err);
    rc = ing_body_encoding_parse(value, &enc, &err);
    if (rc == ING_OK) {
        FUZZ_CHECK(enc <= ING_BODY_ZSTD);
        FUZZ_CHECK(strcmp(ing_body_encoding_name(enc), "unknown") != 0);
    } else {
        FUZZ_CHECK(rc == ING_ERROR && err.code == ING_ERR_UNSUPPORTED);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run_coding(ING_BODY_GZIP, data, size);
    run_coding(ING_BODY_DEFLATE, data, size);
    run_coding(ING_BODY_ZSTD, data, size);
    run_coding(ING_BODY_IDENTITY, data, size);
    run_encoding_parse(data, size);
    return 0;
}
