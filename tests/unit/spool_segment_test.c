/*
 * spool_segment_test.c - segment names, listing, creation and the scan
 * that recovery, read, check and the forwarder share.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ing_err.h"
#include "spool_record.h"
#include "spool_segment.h"
#include "test_support.h"

struct fixture {
    char dir[64];
    int dir_fd;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    ing_test_tmpdir_make(f->dir, sizeof(f->dir), "ingspool-seg");
    f->dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY);
    assert_true(f->dir_fd >= 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    close(f->dir_fd);
    ing_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* Appends a record to fd by hand, as the writer would. */
static void put_record(int fd, uint64_t offset, const char *payload, size_t len)
{
    unsigned char h[ING_SPOOL_RECORD_HEADER_BYTES];

    ing_spool_record_header_encode(h, offset, 1000 + offset, payload,
                                   (uint32_t)len);
    assert_int_equal(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
    assert_int_equal(write(fd, payload, len), (ssize_t)len);
}

static int make_segment(struct fixture *f, uint64_t base, unsigned records)
{
    int fd = ing_spool_segment_create(f->dir_fd, base);
    char payload[32];

    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 0, SEEK_END), ING_SPOOL_SEGMENT_HEADER_BYTES);
    for (unsigned i = 0; i < records; i++) {
        int n = snprintf(payload, sizeof(payload), "{\"n\":%u}", i);
        put_record(fd, base + i, payload, (size_t)n);
    }
    return fd;
}

/* Starts a scan of fd from `base` with a window of window_bytes. */
static void scan_begin(struct ing_spool_segment_scan *scan, int fd,
                       uint64_t base, size_t window_bytes)
{
    assert_int_equal(ing_spool_segment_scan_init(scan, window_bytes), ING_OK);
    assert_int_equal(ing_spool_segment_scan_begin(scan, fd, base),
                     ING_SPOOL_SCAN_OK);
}

static void test_names(void **state)
{
    char name[ING_SPOOL_SEGMENT_NAME_BYTES];
    char path[128];
    char want[128];
    uint64_t base = 1;

    (void)state;
    ing_spool_segment_name(name, 0);
    assert_string_equal(name, "00000000000000000000.seg");
    ing_spool_segment_name(name, UINT64_MAX);
    assert_string_equal(name, "18446744073709551615.seg");

    assert_true(
        ing_spool_segment_name_parse("00000000000000001234.seg", &base));
    assert_int_equal(base, 1234);
    assert_true(ing_spool_segment_name_parse(name, &base));
    assert_true(base == UINT64_MAX);

    assert_false(
        ing_spool_segment_name_parse("18446744073709551616.seg", &base));
    assert_false(
        ing_spool_segment_name_parse("0000000000000000123.seg", &base));
    assert_false(
        ing_spool_segment_name_parse("00000000000000001234.seg.tmp", &base));
    assert_false(
        ing_spool_segment_name_parse("0000000000000000123x.seg", &base));
    assert_false(ing_spool_segment_name_parse("LOCK", &base));

    /* The paths other tests spell in test_support name the same files. */
    ing_spool_segment_name(name, 1234);
    snprintf(want, sizeof(want), "d/partition-7/%s", name);
    ing_test_segment_path(path, sizeof(path), "d", 7, 1234);
    assert_string_equal(path, want);
}

static void test_list_sorted(void **state)
{
    struct fixture *f = *state;
    uint64_t want[] = {0, 9, 10, 100000};
    uint64_t *bases;
    size_t count;

    close(make_segment(f, 100000, 0));
    close(make_segment(f, 9, 0));
    close(make_segment(f, 0, 0));
    close(make_segment(f, 10, 0));
    close(openat(f->dir_fd, "LOCK", O_CREAT | O_WRONLY, 0644));
    close(openat(f->dir_fd, "00000000000000000005.seg.tmp", O_CREAT | O_WRONLY,
                 0644));

    assert_int_equal(ing_spool_segment_list(f->dir_fd, &bases, &count), ING_OK);
    assert_int_equal(count, 4);
    assert_memory_equal(bases, want, sizeof(want));
    free(bases);
}

static void test_create_excl(void **state)
{
    struct fixture *f = *state;

    close(make_segment(f, 5, 0));
    assert_int_equal(ing_spool_segment_create(f->dir_fd, 5), -1);
    assert_int_equal(errno, EEXIST);
}

static void test_scan_records(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_segment_scan scan;
    struct ing_spool_record rec;
    int fd = make_segment(f, 40, 3);

    scan_begin(&scan, fd, 40, 64);

    for (unsigned i = 0; i < 3; i++) {
        char want[32];
        int n = snprintf(want, sizeof(want), "{\"n\":%u}", i);

        assert_int_equal(ing_spool_segment_scan_next(&scan, &rec),
                         ING_SPOOL_SCAN_OK);
        assert_int_equal(rec.offset, 40 + i);
        assert_int_equal(rec.recv_time_ns, 1040 + i);
        assert_int_equal(rec.payload.len, n);
        assert_memory_equal(rec.payload.ptr, want, (size_t)n);
    }
    assert_int_equal(ing_spool_segment_scan_next(&scan, &rec),
                     ING_SPOOL_SCAN_END);
    assert_int_equal(scan.next_offset, 43);
    assert_int_equal(scan.pos, lseek(fd, 0, SEEK_END));

    /* A later append is seen by the same scan: how a reader follows. */
    put_record(fd, 43, "{}", 2);
    assert_int_equal(ing_spool_segment_scan_next(&scan, &rec),
                     ING_SPOOL_SCAN_OK);
    assert_int_equal(rec.offset, 43);

    ing_spool_segment_scan_fini(&scan);
    close(fd);
}

/* A record bigger than the window makes it grow. */
static void test_scan_large_record(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_segment_scan scan;
    struct ing_spool_record rec;
    size_t big = 3 * 1024 * 1024 + 7;
    char *payload = malloc(big);
    int fd = make_segment(f, 0, 1);

    memset(payload, 'x', big);
    put_record(fd, 1, payload, big);
    put_record(fd, 2, "{}", 2);

    scan_begin(&scan, fd, 0, 4096);
    assert_int_equal(ing_spool_segment_scan_next(&scan, &rec),
                     ING_SPOOL_SCAN_OK);
    assert_int_equal(ing_spool_segment_scan_next(&scan, &rec),
                     ING_SPOOL_SCAN_OK);
    assert_int_equal(rec.payload.len, big);
    assert_memory_equal(rec.payload.ptr, payload, big);
    assert_int_equal(ing_spool_segment_scan_next(&scan, &rec),
                     ING_SPOOL_SCAN_OK);
    assert_int_equal(rec.offset, 2);

    ing_spool_segment_scan_fini(&scan);
    free(payload);
    close(fd);
}

static void pwrite_bytes(int fd, off_t pos, const void *p, size_t n)
{
    assert_int_equal(pwrite(fd, p, n, pos), (ssize_t)n);
}

/* Scans fd from `base` to its first stop; returns it, *good = records. */
static enum ing_spool_scan_status scan_stop(int fd, uint64_t base,
                                            unsigned *good, uint64_t *pos)
{
    struct ing_spool_segment_scan scan;
    struct ing_spool_record rec;
    enum ing_spool_scan_status st;

    *good = 0;
    assert_int_equal(ing_spool_segment_scan_init(&scan, 4096), ING_OK);
    st = ing_spool_segment_scan_begin(&scan, fd, base);
    while (st == ING_SPOOL_SCAN_OK) {
        st = ing_spool_segment_scan_next(&scan, &rec);
        *good += st == ING_SPOOL_SCAN_OK;
    }
    *pos = scan.pos;
    ing_spool_segment_scan_fini(&scan);
    return st;
}

static void test_scan_problems(void **state)
{
    struct fixture *f = *state;
    unsigned good;
    uint64_t pos;
    const off_t rec1 = ING_SPOOL_SEGMENT_HEADER_BYTES + 24 + 7;
    int fd = make_segment(f, 0, 3); /* payloads of 7 bytes: {"n":0} */
    off_t end = lseek(fd, 0, SEEK_END);

    assert_int_equal(scan_stop(fd, 0, &good, &pos), ING_SPOOL_SCAN_END);
    assert_int_equal(good, 3);

    /* A flipped payload byte in the middle record. */
    pwrite_bytes(fd, rec1 + 24 + 2, "X", 1);
    assert_int_equal(scan_stop(fd, 0, &good, &pos), ING_SPOOL_SCAN_DAMAGED);
    assert_int_equal(good, 1);
    assert_int_equal(pos, rec1);
    pwrite_bytes(fd, rec1 + 24 + 2, "n", 1);

    /* A zero length. */
    pwrite_bytes(fd, rec1, "\0\0\0\0", 4);
    assert_int_equal(scan_stop(fd, 0, &good, &pos), ING_SPOOL_SCAN_DAMAGED);
    assert_int_equal(pos, rec1);
    pwrite_bytes(fd, rec1, "\7\0\0\0", 4);

    /* Tears. */
    assert_int_equal(ftruncate(fd, end - 3), 0);
    assert_int_equal(scan_stop(fd, 0, &good, &pos), ING_SPOOL_SCAN_TORN);
    assert_int_equal(good, 2);
    assert_int_equal(ftruncate(fd, rec1 + 10), 0);
    assert_int_equal(scan_stop(fd, 0, &good, &pos), ING_SPOOL_SCAN_TORN);
    assert_int_equal(good, 1);
    assert_int_equal(pos, rec1);

    /* Wrong base: as if the file had been renamed. */
    assert_int_equal(scan_stop(fd, 1, &good, &pos), ING_SPOOL_SCAN_DAMAGED);

    pwrite_bytes(fd, 0, "X", 1);
    assert_int_equal(scan_stop(fd, 0, &good, &pos), ING_SPOOL_SCAN_DAMAGED);

    assert_int_equal(ftruncate(fd, 9), 0);
    assert_int_equal(scan_stop(fd, 0, &good, &pos), ING_SPOOL_SCAN_TORN);
    close(fd);
}

/*
 * A torn header that claims a huge payload is a torn tail, found without
 * growing the window to the claimed size (found by fuzz/spool_scan: every
 * such header cost a 64 MiB allocation).
 */
static void test_scan_torn_huge_length(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_segment_scan scan;
    struct ing_spool_record rec;
    unsigned char h[ING_SPOOL_RECORD_HEADER_BYTES];
    int fd = make_segment(f, 0, 1);
    off_t end = lseek(fd, 0, SEEK_END);

    memset(h, 0, sizeof(h));
    memcpy(h, "\0\0\xc0\x03", 4); /* 60 MiB */
    pwrite_bytes(fd, end, h, sizeof(h));
    pwrite_bytes(fd, end + (off_t)sizeof(h), "0123456789", 10);

    scan_begin(&scan, fd, 0, 4096);
    assert_int_equal(ing_spool_segment_scan_next(&scan, &rec),
                     ING_SPOOL_SCAN_OK);
    assert_int_equal(ing_spool_segment_scan_next(&scan, &rec),
                     ING_SPOOL_SCAN_TORN);
    assert_int_equal(scan.pos, (uint64_t)end);
    assert_true(scan.buf_cap < 64 * 1024);

    ing_spool_segment_scan_fini(&scan);
    close(fd);
}

/* A whole, CRC-valid record whose offset breaks the sequence. */
static void test_scan_offset_gap(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_segment_scan scan;
    struct ing_spool_record rec;
    int fd = make_segment(f, 10, 1);

    put_record(fd, 12, "{}", 2);
    scan_begin(&scan, fd, 10, 4096);
    assert_int_equal(ing_spool_segment_scan_next(&scan, &rec),
                     ING_SPOOL_SCAN_OK);
    assert_int_equal(ing_spool_segment_scan_next(&scan, &rec),
                     ING_SPOOL_SCAN_DAMAGED);
    assert_true(scan.bad_offset);
    assert_int_equal(scan.found_offset, 12);
    assert_int_equal(scan.next_offset, 11);

    ing_spool_segment_scan_fini(&scan);
    close(fd);
}

static void test_reset(void **state)
{
    struct fixture *f = *state;
    unsigned good;
    uint64_t pos;
    int fd = make_segment(f, 77, 2);

    assert_int_equal(ing_spool_segment_reset(fd, 77), ING_OK);
    assert_int_equal(lseek(fd, 0, SEEK_END), ING_SPOOL_SEGMENT_HEADER_BYTES);
    assert_int_equal(scan_stop(fd, 77, &good, &pos), ING_SPOOL_SCAN_END);
    assert_int_equal(good, 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_list_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_excl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_large_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scan_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_offset_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_torn_huge_length, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
