/*
 * spool_partition_test.c - the writer: offsets across reopen, all or
 * nothing, rolls, torn-tail recovery and the lock.
 *
 * Write failures are injected with RLIMIT_FSIZE (SIGXFSZ ignored), which
 * makes a write past the limit short and the next one fail with EFBIG:
 * the same path as ENOSPC, without root or a small file system.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ing_err.h"
#include "log.h"
#include "spool_partition.h"
#include "spool_record.h"
#include "spool_segment.h"

#define EVENT_MAX 64

struct fixture {
    char dir[64];
    struct ing_spool_options opt;
    char events[4096][EVENT_MAX]; /* event text by offset */
    struct ing_view views[4096];
};

static int remove_entry(const char *path, const struct stat *sb, int type,
                        struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    strcpy(f->dir, "/tmp/ingspool-part-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->opt.data_dir = f->dir;
    f->opt.segment_bytes = 1 << 20;
    f->opt.max_batch_events = 64;

    /* Lengths vary so that records do not all line up the same way. */
    for (int i = 0; i < 4096; i++) {
        int n = snprintf(f->events[i], EVENT_MAX, "{\"i\":%d,\"pad\":\"%.*s\"}",
                         i, i % 17, "xxxxxxxxxxxxxxxxxxxxxxxx");
        f->views[i] = ing_view_make(f->events[i], (size_t)n);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct ing_spool_partition *open_ok(struct fixture *f, unsigned id)
{
    struct ing_spool_partition *p;
    struct ing_err err;

    assert_int_equal(ing_spool_partition_open(&f->opt, id, &p, &err), ING_OK);
    return p;
}

/* Appends the fixture's events [from, from + n) and expects success. */
static void append_ok(struct fixture *f, struct ing_spool_partition *p,
                      size_t from, size_t n)
{
    struct ing_err err;

    assert_int_equal(ing_spool_partition_next_offset(p), from);
    assert_int_equal(
        ing_spool_partition_append(p, f->views + from, n, 5000 + from, &err),
        ING_OK);
    assert_int_equal(ing_spool_partition_next_offset(p), from + n);
}

static void segment_path(char *buf, size_t size, struct fixture *f, unsigned id,
                         uint64_t base)
{
    char name[ING_SPOOL_SEGMENT_NAME_BYTES];

    ing_spool_segment_name(name, base);
    snprintf(buf, size, "%s/partition-%u/%s", f->dir, id, name);
}

static int partition_dir_fd(struct fixture *f, unsigned id)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/partition-%u", f->dir, id);
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    return fd;
}

/*
 * Reads every segment of partition `id` and checks that it holds exactly
 * the fixture's events 0 .. n-1 at their offsets, each segment starting
 * with its base.  Returns the number of segments.
 */
static size_t verify(struct fixture *f, unsigned id, uint64_t n)
{
    int dir_fd = partition_dir_fd(f, id);
    struct ing_spool_segment_scan scan;
    struct ing_spool_record rec;
    uint64_t *bases;
    size_t count;
    uint64_t next = 0;

    assert_int_equal(ing_spool_segment_list(dir_fd, &bases, &count), ING_OK);
    assert_int_equal(ing_spool_segment_scan_init(&scan, 4096), ING_OK);
    for (size_t s = 0; s < count; s++) {
        int fd = ing_spool_segment_open(dir_fd, bases[s], O_RDONLY);

        assert_int_equal(bases[s], next);
        assert_int_equal(ing_spool_segment_scan_begin(&scan, fd, bases[s]),
                         ING_SPOOL_SCAN_OK);
        enum ing_spool_scan_status st;
        while ((st = ing_spool_segment_scan_next(&scan, &rec)) ==
               ING_SPOOL_SCAN_OK) {
            assert_int_equal(rec.offset, next);
            assert_int_equal(rec.payload.len, f->views[next].len);
            assert_memory_equal(rec.payload.ptr, f->views[next].ptr,
                                rec.payload.len);
            next++;
        }
        assert_int_equal(st, ING_SPOOL_SCAN_END);
        close(fd);
    }
    assert_int_equal(next, n);

    ing_spool_segment_scan_fini(&scan);
    free(bases);
    close(dir_fd);
    return count;
}

static off_t file_size(const char *path)
{
    struct stat sb;

    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

static void test_reopen_continues(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p = open_ok(f, 0);

    append_ok(f, p, 0, 3);
    append_ok(f, p, 3, 1);
    ing_spool_partition_close(p);

    p = open_ok(f, 0);
    assert_int_equal(ing_spool_partition_next_offset(p), 4);
    append_ok(f, p, 4, 5);
    ing_spool_partition_close(p);

    p = open_ok(f, 0);
    assert_int_equal(ing_spool_partition_next_offset(p), 9);
    ing_spool_partition_close(p);
    assert_int_equal(verify(f, 0, 9), 1);
}

/* The exact bytes of a first append, against the documented layout. */
static void test_file_bytes(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p = open_ok(f, 0);
    struct ing_view ev = ING_VIEW_LIT("{\"a\":\"b\"}");
    struct ing_err err;
    unsigned char want[16 + 24 + 9];
    unsigned char got[sizeof(want) + 1];
    char path[256];

    assert_int_equal(ing_spool_partition_append(p, &ev, 1, 77, &err), ING_OK);
    ing_spool_partition_close(p);

    ing_spool_segment_header_encode(want, 0);
    ing_spool_record_header_encode(want + 16, 0, 77, ev.ptr, 9);
    memcpy(want + 40, ev.ptr, 9);

    segment_path(path, sizeof(path), f, 0, 0);
    int fd = open(path, O_RDONLY);
    assert_int_equal(read(fd, got, sizeof(got)), sizeof(want));
    assert_memory_equal(got, want, sizeof(want));
    assert_memory_equal(got, "INGSEG1\n", 8);
    assert_int_equal(got[16], 9);
    close(fd);
}

/* Batches bigger than the scratch and than IOV_MAX go out whole. */
static void test_large_batches(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;

    f->opt.max_batch_events = 7;
    p = open_ok(f, 0);
    append_ok(f, p, 0, 1000);
    ing_spool_partition_close(p);

    f->opt.max_batch_events = 0;
    p = open_ok(f, 0);
    append_ok(f, p, 1000, 3000);
    ing_spool_partition_close(p);
    verify(f, 0, 4000);
}

static void test_bad_event_size(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p = open_ok(f, 0);
    struct ing_view evs[2] = {ING_VIEW_LIT("{}"), {"", 0}};
    struct ing_err err;

    ing_err_clear(&err);
    assert_int_equal(ing_spool_partition_append(p, evs, 2, 1, &err), ING_ERROR);
    assert_int_equal(err.code, ING_ERR_INTERNAL);
    assert_int_equal(err.index, 1);
    assert_int_equal(ing_spool_partition_next_offset(p), 0);
    ing_spool_partition_close(p);
    verify(f, 0, 0);
}

static void test_roll(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    uint64_t want[] = {0, 9, 15, 22};
    uint64_t *bases;
    size_t count;

    f->opt.segment_bytes = 300;
    p = open_ok(f, 0);
    append_ok(f, p, 0, 4);  /* 182 bytes */
    append_ok(f, p, 4, 5);  /* 412: one call is never split */
    append_ok(f, p, 9, 6);  /* rolls first: segment 9, 330 bytes */
    append_ok(f, p, 15, 7); /* rolls: segment 15, 344 bytes */
    ing_spool_partition_close(p);

    p = open_ok(f, 0); /* the newest segment is full: the next call rolls */
    assert_int_equal(ing_spool_partition_next_offset(p), 22);
    append_ok(f, p, 22, 1);
    ing_spool_partition_close(p);

    int dir_fd = partition_dir_fd(f, 0);
    assert_int_equal(ing_spool_segment_list(dir_fd, &bases, &count), ING_OK);
    assert_int_equal(count, 4);
    assert_memory_equal(bases, want, sizeof(want));
    free(bases);
    close(dir_fd);
    verify(f, 0, 23);
}

/* A directory squatting on the next segment's name makes the roll fail. */
static void test_roll_failure_retried(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    struct ing_err err;
    char path[256];

    f->opt.segment_bytes = 100;
    p = open_ok(f, 0);
    append_ok(f, p, 0, 3);

    segment_path(path, sizeof(path), f, 0, 3);
    assert_int_equal(mkdir(path, 0755), 0);
    ing_err_clear(&err);
    assert_int_equal(ing_spool_partition_append(p, f->views + 3, 2, 1, &err),
                     ING_ERROR);
    assert_int_equal(err.code, ING_ERR_UNAVAILABLE);
    assert_int_equal(err.sys_errno, EEXIST);
    assert_int_equal(ing_spool_partition_next_offset(p), 3);

    assert_int_equal(rmdir(path), 0);
    append_ok(f, p, 3, 2);
    assert_true(file_size(path) > 16);
    ing_spool_partition_close(p);
    assert_int_equal(verify(f, 0, 5), 2);
}

static void set_fsize_limit(rlim_t limit)
{
    struct rlimit rl;

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rl.rlim_cur = limit;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void test_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p = open_ok(f, 0);
    struct ing_err err;
    char path[256];

    append_ok(f, p, 0, 10);
    segment_path(path, sizeof(path), f, 0, 0);
    off_t before = file_size(path);

    /* The limit falls inside the batch: a short write, then EFBIG. */
    signal(SIGXFSZ, SIG_IGN);
    set_fsize_limit((rlim_t)before + 700);
    ing_err_clear(&err);
    int rc = ing_spool_partition_append(p, f->views + 10, 40, 1, &err);
    off_t after = file_size(path);
    set_fsize_limit(RLIM_INFINITY);
    signal(SIGXFSZ, SIG_DFL);

    assert_int_equal(rc, ING_ERROR);
    assert_int_equal(err.code, ING_ERR_UNAVAILABLE);
    assert_int_equal(err.sys_errno, EFBIG);
    assert_int_equal(after, before);
    assert_int_equal(ing_spool_partition_next_offset(p), 10);

    /* The retry gets the same offsets, as if the failure never happened. */
    append_ok(f, p, 10, 40);
    ing_spool_partition_close(p);
    verify(f, 0, 50);
}

/* Each way a tail can be torn: the cut keeps every whole record. */
enum tear {
    TEAR_MID_HEADER,
    TEAR_MID_PAYLOAD,
    TEAR_GARBAGE,
    TEAR_ZEROS,
    TEAR_FLIPPED_CRC,
};

static void tear_and_recover(struct fixture *f, enum tear how,
                             uint64_t want_next)
{
    struct ing_spool_partition *p = open_ok(f, 0);
    char path[256];
    static const char garbage[] = "\x17garbage that is not a record at all";
    static const char zeros[4096];

    append_ok(f, p, 0, 5);
    segment_path(path, sizeof(path), f, 0, 0);
    off_t end4 = file_size(path);
    append_ok(f, p, 5, 1);
    ing_spool_partition_close(p);
    off_t end5 = file_size(path);

    int fd = open(path, O_RDWR);
    switch (how) {
    case TEAR_MID_HEADER:
        assert_int_equal(ftruncate(fd, end4 + 11), 0);
        break;
    case TEAR_MID_PAYLOAD:
        assert_int_equal(ftruncate(fd, end5 - 3), 0);
        break;
    case TEAR_GARBAGE:
        assert_int_equal(pwrite(fd, garbage, sizeof(garbage), end5),
                         sizeof(garbage));
        break;
    case TEAR_ZEROS:
        assert_int_equal(pwrite(fd, zeros, sizeof(zeros), end5), sizeof(zeros));
        break;
    case TEAR_FLIPPED_CRC:
        assert_int_equal(pwrite(fd, "\xFF", 1, end4 + 5), 1);
        break;
    }
    close(fd);

    p = open_ok(f, 0);
    assert_int_equal(ing_spool_partition_next_offset(p), want_next);
    assert_int_equal(file_size(path), want_next == 5 ? end4 : end5);
    append_ok(f, p, want_next, 2);
    ing_spool_partition_close(p);
    verify(f, 0, want_next + 2);
}

static void test_tear_mid_header(void **state)
{
    tear_and_recover(*state, TEAR_MID_HEADER, 5);
}

static void test_tear_mid_payload(void **state)
{
    tear_and_recover(*state, TEAR_MID_PAYLOAD, 5);
}

static void test_tear_garbage(void **state)
{
    tear_and_recover(*state, TEAR_GARBAGE, 6);
}

static void test_tear_zeros(void **state)
{
    tear_and_recover(*state, TEAR_ZEROS, 6);
}

static void test_tear_flipped_crc(void **state)
{
    tear_and_recover(*state, TEAR_FLIPPED_CRC, 5);
}

/* A roll that crashed before its header was whole. */
static void test_torn_segment_header(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    char path[256];

    f->opt.segment_bytes = 100;
    p = open_ok(f, 0);
    append_ok(f, p, 0, 3);
    ing_spool_partition_close(p);

    segment_path(path, sizeof(path), f, 0, 3);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_int_equal(write(fd, "INGSE", 5), 5);
    close(fd);

    p = open_ok(f, 0);
    assert_int_equal(ing_spool_partition_next_offset(p), 3);
    append_ok(f, p, 3, 2);
    ing_spool_partition_close(p);
    assert_int_equal(verify(f, 0, 5), 2);
}

/* A damaged header in the newest segment stops the start: never guess. */
static void test_bad_magic_refuses(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p = open_ok(f, 0);
    struct ing_err err;
    char path[256];

    append_ok(f, p, 0, 2);
    ing_spool_partition_close(p);
    segment_path(path, sizeof(path), f, 0, 0);
    int fd = open(path, O_WRONLY);
    assert_int_equal(pwrite(fd, "X", 1, 0), 1);
    close(fd);

    assert_int_equal(ing_spool_partition_open(&f->opt, 0, &p, &err), ING_ERROR);
    assert_int_equal(err.code, ING_ERR_UNAVAILABLE);
    assert_null(p);
}

static void test_lock(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p0 = open_ok(f, 0);
    struct ing_spool_partition *again;
    struct ing_err err;

    ing_err_clear(&err);
    assert_int_equal(ing_spool_partition_open(&f->opt, 0, &again, &err),
                     ING_ERROR);
    assert_int_equal(err.code, ING_ERR_UNAVAILABLE);
    assert_int_equal(err.sys_errno, EWOULDBLOCK);
    assert_non_null(strstr(err.message, "locked"));

    int dir_fd = partition_dir_fd(f, 0);
    assert_true(ing_spool_partition_in_use(dir_fd));

    struct ing_spool_partition *p1 = open_ok(f, 1);
    ing_spool_partition_close(p1);

    ing_spool_partition_close(p0);
    assert_false(ing_spool_partition_in_use(dir_fd));
    close(dir_fd);
    p0 = open_ok(f, 0);
    ing_spool_partition_close(p0);
}

static void test_sync(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    struct ing_err err;

    f->opt.segment_bytes = 100;
    p = open_ok(f, 0);
    append_ok(f, p, 0, 3);
    append_ok(f, p, 3, 3); /* roll: the old segment waits for the sync */
    append_ok(f, p, 6, 3); /* second roll before a sync */
    assert_int_equal(ing_spool_partition_sync(p, &err), ING_OK);
    assert_int_equal(ing_spool_partition_sync(p, &err), ING_OK);
    ing_spool_partition_close(p);
    assert_int_equal(verify(f, 0, 9), 3);
}

static void test_partition_list(void **state)
{
    struct fixture *f = *state;
    char path[256];
    unsigned *ids;
    size_t count;

    for (unsigned id = 0; id < 12; id += 5) {
        ing_spool_partition_close(open_ok(f, id));
    }
    snprintf(path, sizeof(path), "%s/partition-07", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/partition-x", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);

    assert_int_equal(ing_spool_partition_list(f->dir, &ids, &count), ING_OK);
    assert_int_equal(count, 3);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 5);
    assert_int_equal(ids[2], 10);
    free(ids);
}

/*
 * Not a test: with ING_SPOOL_BENCH=1, times 1000 x the 489-byte reference
 * event per call into the data directory given by ING_SPOOL_BENCH_DIR (or
 * the fixture's /tmp directory) and prints MB/s.
 */
static void test_bench_append(void **state)
{
    struct fixture *f = *state;
    static char event[489];
    struct ing_view views[1000];
    struct ing_spool_partition *p;
    struct ing_err err;
    struct timespec t0, t1;
    const int calls = 2000;

    if (getenv("ING_SPOOL_BENCH") == NULL) {
        skip();
    }
    if (getenv("ING_SPOOL_BENCH_DIR") != NULL) {
        f->opt.data_dir = getenv("ING_SPOOL_BENCH_DIR");
    }
    FILE *ev = fopen("/work/shared/bench/event.json", "r");
    size_t n = ev != NULL ? fread(event, 1, sizeof(event), ev) : 0;
    if (ev != NULL) {
        fclose(ev);
    }
    if (n != sizeof(event)) {
        memset(event, 'x', sizeof(event));
    }
    for (int i = 0; i < 1000; i++) {
        views[i] = ing_view_make(event, sizeof(event));
    }

    f->opt.segment_bytes = 0;
    f->opt.max_batch_events = 1000;
    p = open_ok(f, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < calls; i++) {
        assert_int_equal(ing_spool_partition_append(p, views, 1000, 1, &err),
                         ING_OK);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ing_spool_partition_close(p);

    double s = (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double mb = (double)calls * 1000.0 * 489.0 / 1e6;
    printf("append: %d calls x 1000 x 489 B: %.0f MB/s of events, "
           "%.2f M records/s, %.1f us per call\n",
           calls, mb / s, (double)calls * 1000.0 / s / 1e6, s * 1e6 / calls);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_reopen_continues),
        T(test_file_bytes),
        T(test_large_batches),
        T(test_bad_event_size),
        T(test_roll),
        T(test_roll_failure_retried),
        T(test_all_or_nothing),
        T(test_tear_mid_header),
        T(test_tear_mid_payload),
        T(test_tear_garbage),
        T(test_tear_zeros),
        T(test_tear_flipped_crc),
        T(test_torn_segment_header),
        T(test_bad_magic_refuses),
        T(test_lock),
        T(test_sync),
        T(test_partition_list),
        T(test_bench_append),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
