/*
 * spool_cmd_check_test.c - `ingestd check`: clean spools pass, each kind
 * of damage is named with its file and byte, a live writer's tail is not
 * damage.
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
#include <sys/file.h>
#include <unistd.h>

#include "cmd_check.h"
#include "ing_err.h"
#include "log.h"
#include "spool_partition.h"
#include "spool_record.h"
#include "test_support.h"

struct fixture {
    char dir[64];
    char out_path[96];
    char out[1 << 14];
    struct ing_spool_options opt;
    char events[64][ING_TEST_EVENT_BYTES];
    struct ing_view views[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    ing_test_tmpdir_make(f->dir, sizeof(f->dir), "ingspool-chk");
    snprintf(f->out_path, sizeof(f->out_path), "%s.out", f->dir);
    f->opt.data_dir = f->dir;
    f->opt.segment_bytes = 100; /* three records of 31 or 32 bytes */
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

/* Runs `ingestd check` with up to three arguments; stdout in f->out. */
static int run(struct fixture *f, const char *a1, const char *a2,
               const char *a3)
{
    static char store[4][256];
    char *argv[5] = {store[0]};
    const char *args[] = {a1, a2, a3};
    struct ing_test_capture cap;
    int argc = 1;

    strcpy(store[0], "check");
    for (int i = 0; i < 3 && args[i] != NULL; i++, argc++) {
        snprintf(store[argc], sizeof(store[argc]), "%s", args[i]);
        argv[argc] = store[argc];
    }

    ing_test_capture_start(&cap, 1, f->out_path);
    int rc = ing_cmd_check_main(argc, argv);
    ing_test_capture_stop(&cap, f->out, sizeof(f->out));
    return rc;
}

/* Writes 12 records to partition `id` one call each: 4 segments of 3. */
static void fill(struct fixture *f, unsigned id)
{
    struct ing_spool_partition *p;
    struct ing_err err;

    assert_int_equal(ing_spool_partition_open(&f->opt, id, &p, &err), ING_OK);
    for (size_t i = 0; i < 12; i++) {
        assert_int_equal(
            ing_spool_partition_append(p, &f->views[i], 1, 1, &err), ING_OK);
    }
    ing_spool_partition_close(p);
}

static void expect_line(struct fixture *f, const char *line)
{
    if (strstr(f->out, line) == NULL) {
        fail_msg("missing \"%s\" in:\n%s", line, f->out);
    }
}

/* Expects the line "damage: <path>: <what>\n" in the output. */
static void expect_damage(struct fixture *f, const char *path, const char *what)
{
    char line[300];

    snprintf(line, sizeof(line), "damage: %s: %s\n", path, what);
    expect_line(f, line);
}

static void test_clean(void **state)
{
    struct fixture *f = *state;
    char line[160];

    fill(f, 0);
    fill(f, 1);
    assert_int_equal(run(f, "--data-dir", f->dir, NULL), 0);

    /* 4 x 16 header bytes, 12 x 24 record headers, 10 x 7 + 2 x 8 payload */
    expect_line(f, "partition 0: 4 segments, 12 records, 438 bytes, ok\n");
    expect_line(f, "partition 1: 4 segments, 12 records, 438 bytes, ok\n");
    snprintf(line, sizeof(line), "%s: 2 partitions, clean\n", f->dir);
    expect_line(f, line);
    assert_null(strstr(f->out, "damage"));
}

/* A flipped byte in a middle record of a middle segment. */
static void test_flipped_byte(void **state)
{
    struct fixture *f = *state;
    char path[160];

    fill(f, 0);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 3);
    /* Record 4 starts after the header and record 3 (24 + 7 bytes). */
    ing_test_file_poke(path, 16 + 31 + 28, "Z", 1);

    assert_int_equal(run(f, "-d", f->dir, NULL), 1);
    expect_damage(f, path, "byte 47: record CRC mismatch");
    /* Records 3, 6..11 are whole; continuity checks resume after. */
    expect_line(f, "partition 0: 4 segments, 10 records, 438 bytes, DAMAGED");
    expect_line(f, "DAMAGED\n");
}

static void test_missing_segment(void **state)
{
    struct fixture *f = *state;
    char path[160];

    fill(f, 0);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 3);
    assert_int_equal(unlink(path), 0);

    assert_int_equal(run(f, "--data-dir", f->dir, NULL), 1);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 6);
    expect_damage(
        f, path,
        "byte 0: segment base offset 6 does not follow the previous segment (expected 3)");
}

/* A whole record with a good CRC but the wrong offset. */
static void test_offset_gap(void **state)
{
    struct fixture *f = *state;
    unsigned char h[ING_SPOOL_RECORD_HEADER_BYTES];
    char path[160];

    fill(f, 0);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 9);
    ing_spool_record_header_encode(h, 99, 1, f->events[10], 8);
    ing_test_file_poke(path, 16 + 31, h, sizeof(h));

    assert_int_equal(run(f, "--data-dir", f->dir, NULL), 1);
    expect_damage(
        f, path,
        "byte 47: record offset out of sequence (found 99, expected 10)");
}

static void test_bad_header(void **state)
{
    struct fixture *f = *state;
    char path[160];

    fill(f, 0);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 0);
    ing_test_file_poke(path, 8, "\x05", 1);

    assert_int_equal(run(f, "--data-dir", f->dir, NULL), 1);
    expect_damage(f, path,
                  "byte 0: segment header base offset differs from file name");
}

/* A torn tail is damage, unless a server holds the lock and is writing. */
static void test_torn_tail(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    struct ing_err err;
    char path[160];

    fill(f, 0);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 9);
    /* Records 9, 10, 11 take 31 + 32 + 32 bytes after the header. */
    ing_test_file_poke(path, 16 + 31 + 32 + 32, "\x08\0\0\0\0\0", 6);

    assert_int_equal(run(f, "--data-dir", f->dir, NULL), 1);
    expect_damage(f, path, "byte 111: file ends inside a record header");

    /* Hold the lock as a server would, without its start-up cut. */
    int dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY);
    int lock = openat(dir_fd, "partition-0/LOCK", O_RDWR);
    assert_int_equal(flock(lock, LOCK_EX), 0);
    assert_int_equal(run(f, "--data-dir", f->dir, NULL), 0);
    expect_line(f, "note: ");
    expect_line(f, "12 records, 444 bytes, ok (in use)\n");
    close(lock);
    close(dir_fd);

    /* And a real server cuts it at start. */
    assert_int_equal(ing_spool_partition_open(&f->opt, 0, &p, &err), ING_OK);
    ing_spool_partition_close(p);
    assert_int_equal(run(f, "--data-dir", f->dir, NULL), 0);
}

static void test_usage(void **state)
{
    struct fixture *f = *state;
    char missing[128];

    assert_int_equal(run(f, NULL, NULL, NULL), 2);
    assert_int_equal(run(f, "--data-dir", f->dir, "extra"), 2);
    assert_int_equal(run(f, "--nope", NULL, NULL), 2);
    assert_int_equal(run(f, "--help", NULL, NULL), 0);
    expect_line(f, "usage: ingestd check");

    snprintf(missing, sizeof(missing), "%s/missing", f->dir);
    assert_int_equal(run(f, "--data-dir", missing, NULL), 1);

    assert_int_equal(run(f, "--data-dir", f->dir, NULL), 0);
    expect_line(f, "0 partitions, clean");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_clean),      T(test_flipped_byte), T(test_missing_segment),
        T(test_offset_gap), T(test_bad_header),   T(test_torn_tail),
        T(test_usage),
    };
#undef T

    ing_log_min_level = ING_LOG_ERROR;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
