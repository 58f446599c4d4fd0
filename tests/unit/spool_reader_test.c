/*
 * spool_reader_test.c - reading a partition in offset order while it is
 * written: --from, following appends and rolls, torn tails, damage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ing_err.h"
#include "log.h"
#include "spool_partition.h"
#include "spool_reader.h"
#include "spool_record.h"
#include "spool_segment.h"
#include "test_support.h"

struct fixture {
    char dir[64];
    char part_dir[96];
    struct ing_spool_options opt;
    struct ing_spool_partition *p;
    char events[256][ING_TEST_EVENT_BYTES];
    struct ing_view views[256];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct ing_err err;

    ing_test_tmpdir_make(f->dir, sizeof(f->dir), "ingspool-read");
    ing_test_partition_path(f->part_dir, sizeof(f->part_dir), f->dir, 0);
    f->opt.data_dir = f->dir;
    f->opt.segment_bytes = 200; /* about four records a segment */
    ing_test_events_make(f->events, f->views, 256, "event");
    assert_int_equal(ing_spool_partition_open(&f->opt, 0, &f->p, &err), ING_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ing_spool_partition_close(f->p);
    ing_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* Appends events one call at a time, so the small segments roll. */
static void append(struct fixture *f, size_t from, size_t n)
{
    struct ing_err err;

    for (size_t i = from; i < from + n; i++) {
        assert_int_equal(
            ing_spool_partition_append(f->p, &f->views[i], 1, i, &err), ING_OK);
    }
}

/* Expects the records `from` .. `to - 1` next, then ING_AGAIN. */
static void expect(struct ing_spool_reader *r, struct fixture *f, uint64_t from,
                   uint64_t to)
{
    struct ing_spool_record rec;

    for (uint64_t i = from; i < to; i++) {
        assert_int_equal(ing_spool_reader_next(r, &rec), ING_OK);
        assert_int_equal(rec.offset, i);
        assert_int_equal(rec.recv_time_ns, i);
        assert_int_equal(rec.payload.len, f->views[i].len);
        assert_memory_equal(rec.payload.ptr, f->views[i].ptr, rec.payload.len);
    }
    assert_int_equal(ing_spool_reader_next(r, &rec), ING_AGAIN);
}

/* Counts partition 0's segments; their bases in *bases unless NULL. */
static size_t segment_count(struct fixture *f, uint64_t **bases)
{
    uint64_t *list;
    size_t count;
    int fd = open(f->part_dir, O_RDONLY | O_DIRECTORY);

    assert_int_equal(ing_spool_segment_list(fd, &list, &count), ING_OK);
    close(fd);
    if (bases != NULL) {
        *bases = list;
    } else {
        free(list);
    }
    return count;
}

static void test_all_and_from(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_reader *r;

    append(f, 0, 30);
    assert_true(segment_count(f, NULL) >= 5);

    assert_int_equal(ing_spool_reader_open(f->part_dir, 0, &r), ING_OK);
    expect(r, f, 0, 30);
    ing_spool_reader_close(r);

    assert_int_equal(ing_spool_reader_open(f->part_dir, 17, &r), ING_OK);
    expect(r, f, 17, 30);
    ing_spool_reader_close(r);

    assert_int_equal(ing_spool_reader_open(f->part_dir, 29, &r), ING_OK);
    expect(r, f, 29, 30);
    ing_spool_reader_close(r);

    assert_int_equal(ing_spool_reader_open(f->part_dir, 1000, &r), ING_OK);
    expect(r, f, 0, 0);
    ing_spool_reader_close(r);
}

static void test_missing_dir(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_reader *r;
    char path[128];

    ing_test_partition_path(path, sizeof(path), f->dir, 9);
    assert_int_equal(ing_spool_reader_open(path, 0, &r), ING_ERROR);
    assert_null(r);
}

/* What --follow relies on: ING_AGAIN, then new records and new segments. */
static void test_follow(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_reader *r;

    assert_int_equal(ing_spool_reader_open(f->part_dir, 0, &r), ING_OK);
    expect(r, f, 0, 0);
    append(f, 0, 2);
    expect(r, f, 0, 2);
    append(f, 2, 1);
    expect(r, f, 2, 3);
    append(f, 3, 20); /* several rolls */
    expect(r, f, 3, 23);
    expect(r, f, 23, 23);
    ing_spool_reader_close(r);
}

/* A record half written in the newest segment is not there yet. */
static void test_torn_tail_waits(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_reader *r;
    unsigned char h[ING_SPOOL_RECORD_HEADER_BYTES];
    uint64_t *bases;
    char path[160];

    append(f, 0, 10);
    size_t count = segment_count(f, &bases);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, bases[count - 1]);
    free(bases);

    /* Record 10 by hand, in two writes, as a slow writer would. */
    ing_spool_record_header_encode(h, 10, 10, f->views[10].ptr,
                                   (uint32_t)f->views[10].len);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, h, 20), 20);

    assert_int_equal(ing_spool_reader_open(f->part_dir, 0, &r), ING_OK);
    expect(r, f, 0, 10);
    assert_int_equal(write(fd, h + 20, 4), 4);
    assert_int_equal(write(fd, f->views[10].ptr, 3), 3);
    expect(r, f, 10, 10);
    assert_int_equal(write(fd, f->views[10].ptr + 3, f->views[10].len - 3),
                     (ssize_t)f->views[10].len - 3);
    expect(r, f, 10, 11);
    close(fd);
    ing_spool_reader_close(r);
}

static void flip_byte(struct fixture *f, uint64_t base, off_t pos)
{
    char path[160];
    unsigned char b;

    ing_test_segment_path(path, sizeof(path), f->dir, 0, base);
    int fd = open(path, O_RDWR);
    assert_int_equal(pread(fd, &b, 1, pos), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, pos), 1);
    close(fd);
}

/* Damage in an older segment: reported, the rest of it skipped. */
static void test_damage_skips_segment(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_reader *r;
    struct ing_spool_record rec;
    uint64_t *bases;

    append(f, 0, 20);
    size_t count = segment_count(f, &bases);
    assert_true(count >= 3);
    uint64_t first = bases[0];
    uint64_t second = bases[1];
    free(bases);
    assert_true(second >= 3);

    /* The second record of segment 0: record 0 is 24 + 11 bytes. */
    off_t rec1 = 16 + 24 + 11;
    flip_byte(f, first, rec1 + 30);

    assert_int_equal(ing_spool_reader_open(f->part_dir, 0, &r), ING_OK);
    assert_int_equal(ing_spool_reader_next(r, &rec), ING_OK);
    assert_int_equal(rec.offset, 0);
    assert_int_equal(ing_spool_reader_next(r, &rec), ING_ERROR);

    const struct ing_spool_damage *d = ing_spool_reader_damage(r);
    assert_string_equal(d->segment, "00000000000000000000.seg");
    assert_int_equal(d->file_pos, rec1);
    assert_string_equal(d->what, "record CRC mismatch");
    assert_string_equal(d->dir, f->part_dir);

    expect(r, f, second, 20);
    ing_spool_reader_close(r);
}

/* Damage in the newest segment: reported once, then waited on. */
static void test_damage_in_newest(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_reader *r;
    struct ing_spool_record rec;

    append(f, 0, 2);
    assert_int_equal(segment_count(f, NULL), 1);
    flip_byte(f, 0, 16 + 24 + 11 + 30);

    assert_int_equal(ing_spool_reader_open(f->part_dir, 0, &r), ING_OK);
    assert_int_equal(ing_spool_reader_next(r, &rec), ING_OK);
    assert_int_equal(ing_spool_reader_next(r, &rec), ING_ERROR);
    assert_int_equal(ing_spool_reader_next(r, &rec), ING_AGAIN);
    assert_int_equal(ing_spool_reader_next(r, &rec), ING_AGAIN);

    /* Repaired in place (as a restarted server's cut and new appends). */
    flip_byte(f, 0, 16 + 24 + 11 + 30);
    expect(r, f, 1, 2);
    ing_spool_reader_close(r);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_all_and_from),
        T(test_missing_dir),
        T(test_follow),
        T(test_torn_tail_waits),
        T(test_damage_skips_segment),
        T(test_damage_in_newest),
    };
#undef T

    ing_log_min_level = ING_LOG_ERROR;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
