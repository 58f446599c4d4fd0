/*
 * spool_retention_test.c - the retention rule on its own (sizes, ages,
 * the checkpoint hook, the list's room), then what retention leaves on
 * disk as `ingestd check` and the reader see it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_check.h"
#include "ing_err.h"
#include "spool_partition.h"
#include "spool_reader.h"
#include "spool_retention.h"
#include "test_support.h"

#define HOUR_MS (3600u * 1000u)

/* ---- the rule ---- */

static void push(struct ing_spool_retention *r, uint64_t base, uint64_t end,
                 uint64_t bytes, uint64_t last_write_ms)
{
    struct ing_spool_closed_segment seg = {
        .base_offset = base,
        .end_offset = end,
        .size_bytes = bytes,
        .last_write_ms = last_write_ms,
    };

    assert_int_equal(ing_spool_retention_push(r, &seg), ING_OK);
}

static void test_empty_keeps(void **state)
{
    struct ing_spool_retention r;

    (void)state;
    ing_spool_retention_init(&r, 1, 1);
    assert_null(ing_spool_retention_oldest(&r));
    assert_int_equal(ing_spool_retention_due(&r, 1u << 30, UINT64_MAX),
                     ING_SPOOL_RETENTION_KEEP);
    ing_spool_retention_pop(&r); /* harmless on an empty list */
    assert_int_equal(r.closed_bytes, 0);
    ing_spool_retention_fini(&r);
}

/* Over means strictly over, and the active segment's bytes count. */
static void test_bytes(void **state)
{
    struct ing_spool_retention r;

    (void)state;
    ing_spool_retention_init(&r, 1000, 0);
    push(&r, 0, 10, 400, 0);
    push(&r, 10, 20, 400, 0);
    assert_int_equal(r.closed_bytes, 800);

    assert_int_equal(ing_spool_retention_due(&r, 200, 0),
                     ING_SPOOL_RETENTION_KEEP);
    assert_int_equal(ing_spool_retention_due(&r, 201, 0),
                     ING_SPOOL_RETENTION_BYTES);

    ing_spool_retention_pop(&r);
    assert_int_equal(r.closed_bytes, 400);
    assert_int_equal(ing_spool_retention_oldest(&r)->base_offset, 10);
    assert_int_equal(ing_spool_retention_due(&r, 601, 0),
                     ING_SPOOL_RETENTION_BYTES);
    assert_int_equal(ing_spool_retention_due(&r, 600, 0),
                     ING_SPOOL_RETENTION_KEEP);
    ing_spool_retention_fini(&r);
}

/* Only the oldest is judged: a young oldest holds older ones behind it. */
static void test_age(void **state)
{
    struct ing_spool_retention r;
    const uint64_t t = 1000 * HOUR_MS;

    (void)state;
    ing_spool_retention_init(&r, 0, HOUR_MS);
    push(&r, 0, 5, 100, t - HOUR_MS);
    push(&r, 5, 9, 100, t - 9 * HOUR_MS);

    assert_int_equal(ing_spool_retention_due(&r, 1u << 30, t),
                     ING_SPOOL_RETENTION_KEEP);
    assert_int_equal(ing_spool_retention_due(&r, 0, t + 1),
                     ING_SPOOL_RETENTION_AGE);
    ing_spool_retention_pop(&r);
    assert_int_equal(ing_spool_retention_due(&r, 0, t),
                     ING_SPOOL_RETENTION_AGE);

    /* A clock behind the file's mtime (set back, or a touch in the
     * future) keeps the segment rather than wrapping around. */
    assert_int_equal(ing_spool_retention_due(&r, 0, t - 10 * HOUR_MS),
                     ING_SPOOL_RETENTION_KEEP);
    ing_spool_retention_fini(&r);
}

static void test_limits_off(void **state)
{
    struct ing_spool_retention r;

    (void)state;
    ing_spool_retention_init(&r, 0, 0);
    push(&r, 0, 5, UINT64_MAX / 4, 0);
    assert_int_equal(ing_spool_retention_due(&r, UINT64_MAX / 4, UINT64_MAX),
                     ING_SPOOL_RETENTION_KEEP);
    ing_spool_retention_fini(&r);
}

/* A segment still holding an undelivered offset outranks both limits. */
static void test_keep_from(void **state)
{
    struct ing_spool_retention r;

    (void)state;
    ing_spool_retention_init(&r, 1, 1);
    assert_int_equal(r.keep_from_offset, ING_SPOOL_KEEP_NONE);
    push(&r, 100, 200, 50, 0);

    r.keep_from_offset = 199;
    assert_int_equal(ing_spool_retention_due(&r, 50, HOUR_MS),
                     ING_SPOOL_RETENTION_KEEP);
    r.keep_from_offset = 200;
    assert_int_equal(ing_spool_retention_due(&r, 50, HOUR_MS),
                     ING_SPOOL_RETENTION_BYTES);
    r.retention_bytes = 0;
    assert_int_equal(ing_spool_retention_due(&r, 50, HOUR_MS),
                     ING_SPOOL_RETENTION_AGE);
    ing_spool_retention_fini(&r);
}

/*
 * Pushes after a reserve do not move the array (no allocation), and a
 * long run of rolls and deletions keeps order and the byte count.
 */
static void test_room_and_order(void **state)
{
    struct ing_spool_retention r;
    uint64_t next_pop = 0;

    (void)state;
    ing_spool_retention_init(&r, 0, 0);
    assert_int_equal(ing_spool_retention_reserve(&r, 40), ING_OK);
    const struct ing_spool_closed_segment *first = NULL;
    for (uint64_t i = 0; i < 40; i++) {
        push(&r, i * 10, i * 10 + 10, 7, i);
        if (first == NULL) {
            first = ing_spool_retention_oldest(&r);
        }
        assert_ptr_equal(ing_spool_retention_oldest(&r), first);
    }

    for (uint64_t i = 40; i < 5000; i++) {
        push(&r, i * 10, i * 10 + 10, 7, i);
        if (i % 3 != 0) {
            assert_int_equal(ing_spool_retention_oldest(&r)->base_offset,
                             next_pop * 10);
            ing_spool_retention_pop(&r);
            next_pop++;
        }
        if (i % 97 == 0) {
            assert_int_equal(ing_spool_retention_reserve(&r, 16), ING_OK);
        }
    }
    assert_int_equal(r.count, 5000 - next_pop);
    assert_int_equal(r.closed_bytes, 7 * r.count);
    assert_true(r.cap < 4 * r.count);
    for (uint64_t b = next_pop; r.count > 0; b++) {
        assert_int_equal(ing_spool_retention_oldest(&r)->base_offset, b * 10);
        ing_spool_retention_pop(&r);
    }
    assert_int_equal(r.closed_bytes, 0);
    ing_spool_retention_fini(&r);
}

/* ---- what retention leaves behind, for check and read ---- */

struct fixture {
    char dir[64];
    char out_path[96];
    char out[8192];
    struct ing_spool_options opt;
    char events[64][ING_TEST_EVENT_BYTES];
    struct ing_view views[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    ing_test_tmpdir_make(f->dir, sizeof(f->dir), "ingspool-ret");
    snprintf(f->out_path, sizeof(f->out_path), "%s.out", f->dir);
    f->opt.data_dir = f->dir;
    f->opt.segment_bytes = 100; /* three records of 31 or 32 bytes */
    f->opt.retention_bytes = 1;
    ing_test_events_make(f->events, f->views, 64, "n");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ing_test_tmpdir_remove(f->dir);
    unlink(f->out_path);
    free(f);
    return 0;
}

/* Appends events [from, to) one per call: a segment per three. */
static void fill(struct fixture *f, struct ing_spool_partition *p, size_t from,
                 size_t to)
{
    struct ing_err err;

    for (size_t i = from; i < to; i++) {
        assert_int_equal(
            ing_spool_partition_append(p, &f->views[i], 1, 1, &err), ING_OK);
    }
}

/* Runs `ingestd check --data-dir DIR`; its stdout in f->out. */
static int run_check(struct fixture *f)
{
    static char store[3][96];
    char *argv[4] = {store[0], store[1], store[2], NULL};
    struct ing_test_capture cap;

    strcpy(store[0], "check");
    strcpy(store[1], "--data-dir");
    snprintf(store[2], sizeof(store[2]), "%s", f->dir);

    ing_test_capture_start(&cap, 1, f->out_path);
    int rc = ing_cmd_check_main(3, argv);
    ing_test_capture_stop(&cap, f->out, sizeof(f->out));
    return rc;
}

static struct ing_spool_reader *reader_at(struct fixture *f, uint64_t from)
{
    struct ing_spool_reader *r;
    char path[128];

    ing_test_partition_path(path, sizeof(path), f->dir, 0);
    assert_int_equal(ing_spool_reader_open(path, from, &r), ING_OK);
    return r;
}

/* Reads records until ING_AGAIN, expecting offsets first .. end-1. */
static void expect_records(struct fixture *f, struct ing_spool_reader *r,
                           uint64_t first, uint64_t end)
{
    struct ing_spool_record rec;

    for (uint64_t want = first; want < end; want++) {
        assert_int_equal(ing_spool_reader_next(r, &rec), ING_OK);
        assert_int_equal(rec.offset, want);
        assert_int_equal(rec.payload.len, f->views[want].len);
        assert_memory_equal(rec.payload.ptr, f->views[want].ptr,
                            rec.payload.len);
    }
    assert_int_equal(ing_spool_reader_next(r, &rec), ING_AGAIN);
}

/* A partition that starts at 9, not 0, is clean, in use or not. */
static void test_check_after_retention(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    struct ing_err err;

    assert_int_equal(ing_spool_partition_open(&f->opt, 0, &p, &err), ING_OK);
    fill(f, p, 0, 12);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 3);

    assert_int_equal(run_check(f), 0);
    assert_non_null(strstr(f->out, "partition 0: 1 segments, 3 records"));
    assert_null(strstr(f->out, "damage"));

    ing_spool_partition_close(p);
    assert_int_equal(run_check(f), 0);
    assert_non_null(strstr(f->out, "clean"));
}

/* Reading from an offset retention deleted starts at the oldest kept. */
static void test_read_after_retention(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    struct ing_spool_reader *r;
    struct ing_err err;

    assert_int_equal(ing_spool_partition_open(&f->opt, 0, &p, &err), ING_OK);
    fill(f, p, 0, 12);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 3);

    r = reader_at(f, 0);
    expect_records(f, r, 9, 12);
    ing_spool_reader_close(r);
    r = reader_at(f, 4);
    expect_records(f, r, 9, 12);
    ing_spool_reader_close(r);
    r = reader_at(f, 10);
    expect_records(f, r, 10, 12);
    ing_spool_reader_close(r);
    ing_spool_partition_close(p);
}

/*
 * A follower in the middle of a segment when retention deletes it and
 * the next ones finishes the open file, then steps over the missing
 * segments to the oldest kept one: no damage, no stop.
 */
static void test_follower_outrun_by_retention(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    struct ing_spool_record rec;
    struct ing_err err;

    assert_int_equal(ing_spool_partition_open(&f->opt, 0, &p, &err), ING_OK);
    fill(f, p, 0, 9);
    struct ing_spool_reader *r = reader_at(f, 0);
    assert_int_equal(ing_spool_reader_next(r, &rec), ING_OK);
    assert_int_equal(rec.offset, 0);

    fill(f, p, 9, 15);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 4);
    for (uint64_t want = 1; want < 3; want++) {
        assert_int_equal(ing_spool_reader_next(r, &rec), ING_OK);
        assert_int_equal(rec.offset, want);
    }
    expect_records(f, r, 12, 15);
    ing_spool_reader_close(r);

    r = reader_at(f, 0);
    fill(f, p, 15, 16);
    expect_records(f, r, 12, 16);
    ing_spool_reader_close(r);
    ing_spool_partition_close(p);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_keeps),
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_limits_off),
        cmocka_unit_test(test_keep_from),
        cmocka_unit_test(test_room_and_order),
        T(test_check_after_retention),
        T(test_read_after_retention),
        T(test_follower_outrun_by_retention),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
