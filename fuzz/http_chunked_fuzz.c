/*
 * http_chunked_fuzz.c - the chunked decoder fed whole, in two parts and
 * one byte at a time, with and without compaction between calls.
 *
 * Input: 4 bytes of parameters, then the raw body region.
 *   [0..1]  split point (big-endian, modulo the body length + 1)
 *   [2]     max_body_bytes: below 0x80 the byte itself, else 1 MiB, or
 *           SIZE_MAX when 0x40 is also set
 *   [3]     max_trailer_bytes: below 0x80 the byte itself, else 8 KiB
 *
 * Checked (http_chunked.h):
 *  - every way of feeding the bytes reaches the same verdict: the same
 *    decoded body and the same end of the raw bytes, or the same error
 *    status at the same raw offset.  The ways: all at once; the split
 *    point, then the rest; one byte at a time; and the last two again
 *    with ing_http_chunked_compact() after every ING_AGAIN, where offsets
 *    into the buffer move down by what compaction reclaimed;
 *  - after every call decoded_bytes <= max_body_bytes, decoded_bytes <=
 *    raw_consumed <= len, and the raw bytes from raw_consumed on are
 *    untouched; compaction leaves raw_consumed == decoded_bytes and the
 *    undecoded bytes intact;
 *  - a call reads nothing past len (the rest of the buffer is poisoned
 *    under ASan);
 *  - once finished, more calls change nothing, *err included;
 *  - an accepted body equals the chunk data that a simple second reading
 *    of the framing finds, and its framing ends at raw_consumed;
 *  - no heap allocation (counted under ASan).
 */
#include <sanitizer/asan_interface.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "http_chunked.h"

#define PARAM_BYTES 4

/* Byte-at-a-time feeding costs a call per byte; cap it. */
#define BYTEWISE_MAX 4096

struct input {
    const uint8_t *body;
    size_t len;
    size_t split;
    size_t max_body;
    size_t max_trailer;
};

/*
 * One way of feeding the input.  The buffer holds the body region:
 * buf[0 .. len), which is raw input byte i + shift at index i from
 * raw_consumed on; shift grows by what each compaction reclaims.
 */
struct run {
    struct ing_http_chunked d;
    struct ing_err err;
    char *buf;
    size_t len;
    size_t shift;
    int rc;
};

static void check_state(const struct input *in, const struct run *r)
{
    const struct ing_http_chunked *d = &r->d;

    FUZZ_CHECK(d->decoded_bytes <= in->max_body);
    FUZZ_CHECK(d->decoded_bytes <= d->raw_consumed);
    FUZZ_CHECK(d->raw_consumed <= r->len);
    FUZZ_CHECK(memcmp(r->buf + d->raw_consumed,
                      in->body + d->raw_consumed + r->shift,
                      r->len - d->raw_consumed) == 0);

    if (r->rc == ING_ERROR) {
        FUZZ_CHECK(r->err.code == ING_ERR_BAD_REQUEST ||
                   r->err.code == ING_ERR_TOO_LARGE ||
                   r->err.code == ING_ERR_HEADERS_TOO_LARGE);
        FUZZ_CHECK(r->err.offset < r->len);
        FUZZ_CHECK(r->err.message != NULL);
    } else {
        FUZZ_CHECK(r->rc == ING_OK || r->rc == ING_AGAIN);
    }
}

static void run_start(const struct input *in, struct run *r)
{
    ing_http_chunked_init(&r->d, in->max_body, in->max_trailer);
    ing_err_clear(&r->err);
    r->buf = malloc(in->len > 0 ? in->len : 1);
    FUZZ_CHECK(r->buf != NULL);
    r->len = 0;
    r->shift = 0;
}

/* Appends raw input up to byte `upto`, then decodes what is there. */
static void feed(const struct input *in, struct run *r, size_t upto)
{
    size_t old = r->len;

    r->len = upto - r->shift;
    memcpy(r->buf + old, in->body + old + r->shift, r->len - old);

    ASAN_POISON_MEMORY_REGION(r->buf + r->len, in->len - r->len);
    ing_fuzz_alloc_begin();
    r->rc = ing_http_chunked_decode(&r->d, r->buf, r->len, &r->err);
    FUZZ_CHECK(ing_fuzz_alloc_end() == 0);
    ASAN_UNPOISON_MEMORY_REGION(r->buf + r->len, in->len - r->len);
    check_state(in, r);
}

static void compact(const struct input *in, struct run *r)
{
    size_t gap = r->d.raw_consumed - r->d.decoded_bytes;
    size_t len;

    ing_fuzz_alloc_begin();
    len = ing_http_chunked_compact(&r->d, r->buf, r->len);
    FUZZ_CHECK(ing_fuzz_alloc_end() == 0);

    FUZZ_CHECK(len == r->len - gap);
    FUZZ_CHECK(r->d.raw_consumed == r->d.decoded_bytes);
    r->len = len;
    r->shift += gap;
    check_state(in, r);
}

/* After a final verdict, another call with all bytes changes nothing. */
static void check_final_sticks(const struct input *in, struct run *r)
{
    struct ing_http_chunked before = r->d;
    struct ing_err err_before = r->err;
    int rc = r->rc;

    feed(in, r, in->len);
    FUZZ_CHECK(r->rc == rc);
    FUZZ_CHECK(r->d.decoded_bytes == before.decoded_bytes);
    FUZZ_CHECK(r->d.raw_consumed == before.raw_consumed);
    FUZZ_CHECK(r->d.state == before.state);
    FUZZ_CHECK(r->err.code == err_before.code);
    FUZZ_CHECK(r->err.offset == err_before.offset);
    FUZZ_CHECK(r->err.message == err_before.message);
}

static bool is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

static unsigned hex_digit(uint8_t c)
{
    if (c <= '9') {
        return (unsigned)(c - '0');
    }
    return (unsigned)((c | 0x20) - 'a' + 10);
}

/* The offset just past the next CRLF at or after pos. */
static size_t after_crlf(const uint8_t *b, size_t len, size_t pos)
{
    while (pos + 1 < len && !(b[pos] == '\r' && b[pos + 1] == '\n')) {
        pos++;
    }
    FUZZ_CHECK(pos + 1 < len);
    return pos + 2;
}

/*
 * A second, naive reading of framing the decoder accepted: sizes, data,
 * and lines skipped to their CRLF (extensions and trailer fields cannot
 * hold a CR, so the first CRLF ends a line).
 */
static void check_against_reference(const struct input *in, const struct run *r)
{
    const uint8_t *b = in->body;
    size_t pos = 0;
    size_t out = 0;

    for (;;) {
        uint64_t size = 0;

        FUZZ_CHECK(pos < in->len && is_hex(b[pos]));
        while (pos < in->len && is_hex(b[pos])) {
            size = size * 16 + hex_digit(b[pos++]);
        }
        pos = after_crlf(b, in->len, pos);
        if (size == 0) {
            break;
        }
        FUZZ_CHECK(size <= in->len - pos && size <= r->d.decoded_bytes - out);
        FUZZ_CHECK(memcmp(r->buf + out, b + pos, (size_t)size) == 0);
        out += (size_t)size;
        pos += (size_t)size;
        FUZZ_CHECK(pos + 1 < in->len && b[pos] == '\r' && b[pos + 1] == '\n');
        pos += 2;
    }

    while (!(pos + 1 < in->len && b[pos] == '\r' && b[pos + 1] == '\n')) {
        pos = after_crlf(b, in->len, pos);
    }
    FUZZ_CHECK(pos + 2 == r->d.raw_consumed);
    FUZZ_CHECK(out == r->d.decoded_bytes);
}

/* Same verdict, comparing positions as raw input offsets. */
static void check_same_verdict(const struct run *a, const struct run *b)
{
    FUZZ_CHECK(a->rc == b->rc);
    if (a->rc == ING_ERROR) {
        FUZZ_CHECK(a->err.code == b->err.code);
        FUZZ_CHECK(a->err.offset + a->shift == b->err.offset + b->shift);
        FUZZ_CHECK(a->err.message == b->err.message);
        return;
    }
    FUZZ_CHECK(a->d.decoded_bytes == b->d.decoded_bytes);
    FUZZ_CHECK(a->d.raw_consumed + a->shift == b->d.raw_consumed + b->shift);
    FUZZ_CHECK(a->d.state == b->d.state);
    FUZZ_CHECK(memcmp(a->buf, b->buf, a->d.decoded_bytes) == 0);
}

static void run_split(const struct input *in, struct run *r, bool compacting)
{
    run_start(in, r);
    feed(in, r, in->split);
    if (r->rc != ING_AGAIN) {
        check_final_sticks(in, r);
        return;
    }
    if (compacting) {
        compact(in, r);
    }
    feed(in, r, in->len);
}

static void run_bytewise(const struct input *in, struct run *r, bool compacting)
{
    run_start(in, r);
    for (size_t k = 0; k <= in->len; k++) {
        feed(in, r, k);
        if (r->rc != ING_AGAIN) {
            check_final_sticks(in, r);
            return;
        }
        if (compacting) {
            compact(in, r);
        }
    }
}

static size_t pick_max_body(uint8_t b)
{
    if (b < 0x80) {
        return b;
    }
    return (b & 0x40) != 0 ? SIZE_MAX : (size_t)1 << 20;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run whole;
    static struct run other;
    struct input in;

    if (size < PARAM_BYTES) {
        return 0;
    }
    in.body = data + PARAM_BYTES;
    in.len = size - PARAM_BYTES;
    in.split = (size_t)(data[0] << 8 | data[1]) % (in.len + 1);
    in.max_body = pick_max_body(data[2]);
    in.max_trailer = data[3] < 0x80 ? data[3] : 8192;

    run_start(&in, &whole);
    feed(&in, &whole, in.len);
    if (whole.rc != ING_AGAIN) {
        check_final_sticks(&in, &whole);
    }
    if (whole.rc == ING_OK) {
        check_against_reference(&in, &whole);
    }

    for (int compacting = 0; compacting <= 1; compacting++) {
        run_split(&in, &other, compacting);
        check_same_verdict(&whole, &other);
        free(other.buf);

        if (in.len <= BYTEWISE_MAX) {
            run_bytewise(&in, &other, compacting);
            check_same_verdict(&whole, &other);
            free(other.buf);
        }
    }
    free(whole.buf);
    return 0;
}
