/*
 * spool_scan_fuzz.c - segment files through the record scanner, and a
 * partition of them through the reader.
 *
 * Input: 3 bytes of parameters, then segment files back to back (a new
 * one starts at each "INGSEG1\n" after the first byte; at most 4).
 *   [0]     bit 0: before anything, give every record that the framing
 *           reaches its correct CRC (a fuzzer cannot find CRCs itself);
 *           bit 1: number each segment's records from its base first;
 *           bit 2: scan with a base one past the header's;
 *           bits 3-4: the reader's from_offset: 0, the second segment's
 *           base, that + 1, or UINT64_MAX;
 *           bit 5: also read the segments as a partition (the reader's
 *           4 MiB window makes that ten times slower under ASan, so the
 *           fuzzer chooses)
 *   [1..2]  big-endian split: each file first holds only that many bytes
 *           (modulo its size + 1), then grows to all of them, as while a
 *           writer appends
 * Each segment goes to a memfd for the scanner.  Checked (spool_segment.h,
 * spool_record.h):
 *  - begin: TORN below 16 bytes, DAMAGED for a bad magic or base, else
 *    pos 16;
 *  - each record handed out starts where the last one ended, carries the
 *    expected offset, a valid length and a CRC that matches the file's
 *    bytes, and its payload view holds exactly those bytes;
 *  - the scan stops with END exactly at the end of the file, TORN when the
 *    rest cannot hold the record it starts, DAMAGED for a bad length, CRC
 *    or offset (with found_offset for the latter) - each judged by an
 *    independent reading of the bytes at pos - and never with IO;
 *  - a stopped scan called again stays where it is; its read window never
 *    grows past the file's size, whatever a length field claims;
 *  - scanning the grown file on from where the short one stopped gives
 *    the same records as scanning the whole file at once, whatever the
 *    size of the read window (24 bytes, growing, or 64 KiB).
 * With bit 5, the segments are then written as one partition directory (named
 * by their header's base, made unique) and read with spool_reader.h, which must
 * hand out what the scanner found, segment after segment from the one holding
 * from_offset, records below from_offset left out: one ING_ERROR for a segment
 * that is not the newest and stops early (it is then skipped), and at the
 * newest: ING_AGAIN at its end or torn tail, one ING_ERROR then ING_AGAIN for
 * damage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_check.h"
#include "ing_err.h"
#include "spool_reader.h"
#include "spool_record.h"
#include "spool_segment.h"

#define PARAM_BYTES 3

#define FIX_CRC     0x01
#define FIX_OFFSETS 0x02
#define WRONG_BASE  0x04
#define FROM_SHIFT  3
#define READ_TOO    0x20

#define MAX_RECORDS  4096
#define MAX_SEGMENTS 4

struct seen {
    uint64_t offset;
    uint64_t file_pos;
    size_t len;
};

struct outcome {
    enum ing_spool_scan_status st;
    uint64_t pos;
    size_t count;
    struct seen records[MAX_RECORDS];
};

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const unsigned char *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

/* Walks the framing and mends what the flags ask for. */
static void mend(unsigned char *file, size_t n, uint64_t base, unsigned flags)
{
    size_t pos = ING_SPOOL_SEGMENT_HEADER_BYTES;
    uint64_t offset = base;

    while (n >= pos && n - pos >= ING_SPOOL_RECORD_HEADER_BYTES) {
        unsigned char *h = file + pos;
        uint32_t len = get_le32(h);

        if (!ing_spool_record_len_valid(len) ||
            len > n - pos - ING_SPOOL_RECORD_HEADER_BYTES) {
            return;
        }
        if ((flags & FIX_OFFSETS) != 0) {
            put_le64(h + 8, offset++);
        }
        if ((flags & FIX_CRC) != 0) {
            put_le32(h + 4, ing_spool_record_crc(
                                h, h + ING_SPOOL_RECORD_HEADER_BYTES, len));
        }
        pos += ING_SPOOL_RECORD_HEADER_BYTES + len;
    }
}

static int memfd_get(void)
{
    static int fd = -1;

    if (fd < 0) {
        fd = memfd_create("fuzz-segment", MFD_CLOEXEC);
        FUZZ_CHECK(fd >= 0);
    }
    return fd;
}

static void file_set(const unsigned char *file, size_t n)
{
    int fd = memfd_get();

    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(n == 0 || pwrite(fd, file, n, 0) == (ssize_t)n);
}

/* What the scan must say about the bytes at pos (it did not hand out). */
static void check_stop(const unsigned char *file, size_t n,
                       const struct ing_spool_segment_scan *s,
                       enum ing_spool_scan_status st)
{
    size_t pos = (size_t)s->pos;
    size_t rest = n - pos;
    const unsigned char *h = file + pos;
    uint32_t len;

    FUZZ_CHECK(s->pos <= n);
    if (rest == 0) {
        FUZZ_CHECK(st == ING_SPOOL_SCAN_END);
        return;
    }
    FUZZ_CHECK(s->problem != NULL);
    if (rest < ING_SPOOL_RECORD_HEADER_BYTES) {
        FUZZ_CHECK(st == ING_SPOOL_SCAN_TORN);
        return;
    }
    len = get_le32(h);
    if (!ing_spool_record_len_valid(len)) {
        FUZZ_CHECK(st == ING_SPOOL_SCAN_DAMAGED && !s->bad_offset);
        return;
    }
    if (len > rest - ING_SPOOL_RECORD_HEADER_BYTES) {
        FUZZ_CHECK(st == ING_SPOOL_SCAN_TORN);
        return;
    }
    FUZZ_CHECK(st == ING_SPOOL_SCAN_DAMAGED);
    if (ing_spool_record_crc(h, h + ING_SPOOL_RECORD_HEADER_BYTES, len) !=
        get_le32(h + 4)) {
        FUZZ_CHECK(!s->bad_offset);
        return;
    }
    FUZZ_CHECK(s->bad_offset && s->found_offset == get_le64(h + 8));
    FUZZ_CHECK(s->found_offset != s->next_offset);
}

static void check_record(const unsigned char *file, size_t n,
                         const struct ing_spool_segment_scan *s,
                         const struct ing_spool_record *rec, uint64_t expect)
{
    const unsigned char *h = file + rec->file_pos;
    size_t len = rec->payload.len;

    FUZZ_CHECK(rec->offset == expect);
    FUZZ_CHECK(ing_spool_record_len_valid((uint32_t)len));
    FUZZ_CHECK(rec->file_pos + ING_SPOOL_RECORD_HEADER_BYTES + len == s->pos);
    FUZZ_CHECK(s->pos <= n);
    FUZZ_CHECK(get_le32(h) == len && get_le64(h + 8) == rec->offset);
    FUZZ_CHECK(get_le64(h + 16) == rec->recv_time_ns);
    FUZZ_CHECK(
        memcmp(rec->payload.ptr, h + ING_SPOOL_RECORD_HEADER_BYTES, len) == 0);
    FUZZ_CHECK(ing_spool_record_crc(h, h + ING_SPOOL_RECORD_HEADER_BYTES,
                                    len) == get_le32(h + 4));
}

/* Runs the scan on until it stops; appends what it hands out to *o. */
static void scan_on(const unsigned char *file, size_t n,
                    struct ing_spool_segment_scan *s, struct outcome *o)
{
    struct ing_spool_record rec;
    enum ing_spool_scan_status st;

    for (;;) {
        uint64_t before = s->pos;

        st = ing_spool_segment_scan_next(s, &rec);
        if (st != ING_SPOOL_SCAN_OK) {
            break;
        }
        FUZZ_CHECK(rec.file_pos == before);
        check_record(file, n, s, &rec, s->next_offset - 1);
        FUZZ_CHECK(o->count < MAX_RECORDS);
        o->records[o->count++] =
            (struct seen){rec.offset, rec.file_pos, rec.payload.len};
    }
    FUZZ_CHECK(st != ING_SPOOL_SCAN_IO);
    check_stop(file, n, s, st);
    o->st = st;
    o->pos = s->pos;

    /* Stopped means stopped: asking again changes nothing. */
    FUZZ_CHECK(ing_spool_segment_scan_next(s, &rec) == st);
    FUZZ_CHECK(s->pos == o->pos);
}

static bool begin(const unsigned char *file, size_t n,
                  struct ing_spool_segment_scan *s, uint64_t base,
                  struct outcome *o)
{
    enum ing_spool_scan_status st;

    st = ing_spool_segment_scan_begin(s, memfd_get(), base);
    o->count = 0;
    o->st = st;
    o->pos = s->pos;
    if (n < ING_SPOOL_SEGMENT_HEADER_BYTES) {
        FUZZ_CHECK(st == ING_SPOOL_SCAN_TORN);
        return false;
    }
    if (memcmp(file, ING_SPOOL_SEGMENT_MAGIC, 8) != 0 ||
        get_le64(file + 8) != base) {
        FUZZ_CHECK(st == ING_SPOOL_SCAN_DAMAGED);
        return false;
    }
    FUZZ_CHECK(st == ING_SPOOL_SCAN_OK);
    FUZZ_CHECK(s->pos == ING_SPOOL_SEGMENT_HEADER_BYTES);
    return true;
}

/* The whole file at once, or first split bytes and then the rest. */
static void scan_file(const unsigned char *file, size_t n, size_t split,
                      size_t window, uint64_t base, struct outcome *o)
{
    struct ing_spool_segment_scan s;

    FUZZ_CHECK(ing_spool_segment_scan_init(&s, window) == ING_OK);
    file_set(file, split);
    if (begin(file, split, &s, base, o)) {
        scan_on(file, split, &s, o);
    }
    if (split < n) {
        file_set(file, n);
        if (o->st != ING_SPOOL_SCAN_OK && o->count == 0 &&
            o->pos < ING_SPOOL_SEGMENT_HEADER_BYTES) {
            /* The header itself was short: begin again, as a reader does. */
            if (begin(file, n, &s, base, o)) {
                scan_on(file, n, &s, o);
            }
        } else if (o->st == ING_SPOOL_SCAN_END ||
                   o->st == ING_SPOOL_SCAN_TORN) {
            scan_on(file, n, &s, o);
        }
    }
    /* A length field may claim 64 MiB; the window grows only for bytes
     * the file has. */
    FUZZ_CHECK(s.buf_cap <= window || s.buf_cap <= n);
    ing_spool_segment_scan_fini(&s);
}

static bool outcome_same(const struct outcome *a, const struct outcome *b)
{
    if (a->st != b->st || a->pos != b->pos || a->count != b->count) {
        return false;
    }
    for (size_t i = 0; i < a->count; i++) {
        if (a->records[i].offset != b->records[i].offset ||
            a->records[i].file_pos != b->records[i].file_pos ||
            a->records[i].len != b->records[i].len) {
            return false;
        }
    }
    return true;
}

/* The scanner's checks on one segment file. */
static void scan_checks(const unsigned char *file, size_t n, size_t split,
                        uint64_t base)
{
    static struct outcome whole;
    static struct outcome grown;
    static struct outcome wide;

    scan_file(file, n, n, ING_SPOOL_RECORD_HEADER_BYTES, base, &whole);
    scan_file(file, n, split, ING_SPOOL_RECORD_HEADER_BYTES, base, &grown);
    scan_file(file, n, n, 64 * 1024, base, &wide);
    FUZZ_CHECK(outcome_same(&whole, &grown));
    FUZZ_CHECK(outcome_same(&whole, &wide));
}

struct segment {
    unsigned char *file;
    size_t n;
    uint64_t base; /* the one in its file name */
};

struct partition {
    struct segment segs[MAX_SEGMENTS];
    size_t count;
    uint64_t from_offset;
};

/* Splits the input at each later "INGSEG1\n", up to MAX_SEGMENTS files. */
static void split_segments(const uint8_t *p, size_t n, struct partition *pt)
{
    const size_t magic = ING_SPOOL_SEGMENT_MAGIC_BYTES;
    size_t start = 0;

    pt->count = 0;
    for (size_t i = 1; i <= n; i++) {
        bool cut =
            i == n || (pt->count + 1 < MAX_SEGMENTS && n - i >= magic &&
                       memcmp(p + i, ING_SPOOL_SEGMENT_MAGIC, magic) == 0);
        struct segment *seg;

        if (!cut) {
            continue;
        }
        seg = &pt->segs[pt->count++];
        seg->n = i - start;
        seg->file = malloc(seg->n > 0 ? seg->n : 1);
        FUZZ_CHECK(seg->file != NULL);
        memcpy(seg->file, p + start, seg->n);
        start = i;
    }
}

static bool base_taken(const struct partition *pt, size_t upto, uint64_t b)
{
    for (size_t k = 0; k < upto; k++) {
        if (pt->segs[k].base == b) {
            return true;
        }
    }
    return false;
}

/* Names each segment by its header's base, made unique. */
static void name_segments(struct partition *pt)
{
    for (size_t i = 0; i < pt->count; i++) {
        struct segment *seg = &pt->segs[i];
        uint64_t b = i > 0 ? pt->segs[i - 1].base + 1 : 0;

        if (seg->n >= ING_SPOOL_SEGMENT_HEADER_BYTES) {
            b = get_le64(seg->file + 8);
        }
        while (base_taken(pt, i, b)) {
            b++;
        }
        seg->base = b;
    }
}

static int seg_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct segment *)a)->base;
    uint64_t y = ((const struct segment *)b)->base;

    return (x > y) - (x < y);
}

/* The partition directory, made once per process; its segment files. */
static char dir_path[64];
static char written[MAX_SEGMENTS][ING_SPOOL_SEGMENT_NAME_BYTES];
static size_t nwritten;

static void dir_clear(int dir)
{
    for (size_t i = 0; i < nwritten; i++) {
        FUZZ_CHECK(unlinkat(dir, written[i], 0) == 0);
    }
    nwritten = 0;
}

static void dir_remove(void)
{
    int dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dir >= 0) {
        dir_clear(dir);
        close(dir);
    }
    rmdir(dir_path);
}

static const char *dir_get(void)
{
    if (dir_path[0] == '\0') {
        const char *root = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

        snprintf(dir_path, sizeof(dir_path), "%s/ingestd-fuzz.XXXXXX", root);
        FUZZ_CHECK(mkdtemp(dir_path) != NULL);
        atexit(dir_remove);
    }
    return dir_path;
}

static void dir_write(const struct partition *pt)
{
    int dir = open(dir_get(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    FUZZ_CHECK(dir >= 0);
    dir_clear(dir);

    for (size_t i = 0; i < pt->count; i++) {
        const struct segment *seg = &pt->segs[i];
        int fd;

        ing_spool_segment_name(written[nwritten], seg->base);
        fd =
            openat(dir, written[nwritten++], O_WRONLY | O_CREAT | O_EXCL, 0644);
        FUZZ_CHECK(fd >= 0);
        FUZZ_CHECK(seg->n == 0 ||
                   pwrite(fd, seg->file, seg->n, 0) == (ssize_t)seg->n);
        close(fd);
    }
    close(dir);
}

/* What the reader must answer, one entry per call. */
struct step {
    int rc;
    uint64_t offset;
    uint64_t file_pos;
    size_t len;
};

struct model {
    struct step steps[MAX_SEGMENTS * (MAX_RECORDS + 2)];
    size_t count;
};

static void model_add(struct model *m, int rc, const struct seen *rec)
{
    struct step *st = &m->steps[m->count++];

    st->rc = rc;
    st->offset = rec != NULL ? rec->offset : 0;
    st->file_pos = rec != NULL ? rec->file_pos : 0;
    st->len = rec != NULL ? rec->len : 0;
}

/* The segment a reader starts in: the greatest base <= from, else the
 * first. */
static size_t first_segment(const struct partition *pt)
{
    size_t first = 0;

    for (size_t i = 0; i < pt->count; i++) {
        if (pt->segs[i].base <= pt->from_offset) {
            first = i;
        }
    }
    return first;
}

static void model_build(const struct partition *pt, struct model *m)
{
    static struct outcome o;

    m->count = 0;
    for (size_t i = first_segment(pt); i < pt->count; i++) {
        const struct segment *seg = &pt->segs[i];
        bool newest = i + 1 == pt->count;

        scan_file(seg->file, seg->n, seg->n, 4096, seg->base, &o);
        for (size_t k = 0; k < o.count; k++) {
            if (o.records[k].offset >= pt->from_offset) {
                model_add(m, ING_OK, &o.records[k]);
            }
        }
        if (o.st == ING_SPOOL_SCAN_DAMAGED ||
            (o.st == ING_SPOOL_SCAN_TORN && !newest)) {
            model_add(m, ING_ERROR, NULL);
        }
        if (newest) {
            model_add(m, ING_AGAIN, NULL);
        }
    }
}

static void reader_checks(struct partition *pt)
{
    static struct model m;
    struct ing_spool_reader *r;
    struct ing_spool_record rec;

    qsort(pt->segs, pt->count, sizeof(pt->segs[0]), seg_cmp);
    dir_write(pt);
    model_build(pt, &m);

    FUZZ_CHECK(ing_spool_reader_open(dir_get(), pt->from_offset, &r) == ING_OK);
    for (size_t i = 0; i < m.count; i++) {
        const struct step *want = &m.steps[i];
        int rc = ing_spool_reader_next(r, &rec);

        FUZZ_CHECK(rc == want->rc);
        if (rc == ING_OK) {
            FUZZ_CHECK(rec.offset == want->offset &&
                       rec.file_pos == want->file_pos &&
                       rec.payload.len == want->len);
        } else if (rc == ING_ERROR) {
            FUZZ_CHECK(ing_spool_reader_damage(r)->what != NULL);
        }
    }
    /* At the end of the newest segment the reader waits. */
    FUZZ_CHECK(ing_spool_reader_next(r, &rec) == ING_AGAIN);
    ing_spool_reader_close(r);
}

static uint64_t pick_from(const struct partition *pt, unsigned choice)
{
    uint64_t second = pt->count > 1 ? pt->segs[1].base : 0;

    switch (choice & 3) {
    case 1:
        return second;
    case 2:
        return second + 1;
    case 3:
        return UINT64_MAX;
    default:
        return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct partition pt;
    unsigned flags;
    size_t split;

    if (size < PARAM_BYTES) {
        return 0;
    }
    flags = data[0];
    split = (size_t)(data[1] << 8 | data[2]);
    split_segments(data + PARAM_BYTES, size - PARAM_BYTES, &pt);
    name_segments(&pt);

    for (size_t i = 0; i < pt.count; i++) {
        struct segment *seg = &pt.segs[i];
        uint64_t header_base = 0;

        if (seg->n >= ING_SPOOL_SEGMENT_HEADER_BYTES) {
            header_base = get_le64(seg->file + 8);
        }
        mend(seg->file, seg->n, header_base, flags);
        scan_checks(seg->file, seg->n, split % (seg->n + 1),
                    header_base + ((flags & WRONG_BASE) != 0 ? 1 : 0));
    }

    if (pt.count > 0 && (flags & READ_TOO) != 0) {
        pt.from_offset = pick_from(&pt, flags >> FROM_SHIFT);
        reader_checks(&pt);
    }
    for (size_t i = 0; i < pt.count; i++) {
        free(pt.segs[i].file);
    }
    return 0;
}
