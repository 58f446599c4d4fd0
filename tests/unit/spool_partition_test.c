/*
 * spool_partition_test.c - the writer: offsets across reopen, all or
 * nothing, rolls, torn-tail recovery, the lock, the space limit,
 * retention, and the descriptors handed to a sync thread.
 *
 * Write failures are injected with RLIMIT_FSIZE (SIGXFSZ ignored), which
 * makes a write past the limit short and the next one fail with EFBIG:
 * the same path as ENOSPC, without root or a small file system.  Log
 * lines are counted by pointing stderr at a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
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
#include "test_support.h"

#define EVENT_MAX 64

struct fixture {
    char dir[64];
    struct ing_spool_options opt;
    char events[4096][EVENT_MAX]; /* event text by offset */
    struct ing_view views[4096];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    ing_test_tmpdir_make(f->dir, sizeof(f->dir), "ingspool-part");
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

    ing_test_tmpdir_remove(f->dir);
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

static int partition_dir_fd(struct fixture *f, unsigned id)
{
    char path[256];

    ing_test_partition_path(path, sizeof(path), f->dir, id);
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    return fd;
}

/*
 * Reads every segment of partition `id` and checks that it holds exactly
 * the fixture's events first .. n-1 at their offsets, each segment
 * starting with its base.  Returns the number of segments.
 */
static size_t verify_from(struct fixture *f, unsigned id, uint64_t first,
                          uint64_t n)
{
    int dir_fd = partition_dir_fd(f, id);
    struct ing_spool_segment_scan scan;
    struct ing_spool_record rec;
    uint64_t *bases;
    size_t count;
    uint64_t next = first;

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

static size_t verify(struct fixture *f, unsigned id, uint64_t n)
{
    return verify_from(f, id, 0, n);
}

/* The partition's segment bases into out[0 .. max); returns how many. */
static size_t list_bases(struct fixture *f, unsigned id, uint64_t *out,
                         size_t max)
{
    int dir_fd = partition_dir_fd(f, id);
    uint64_t *bases;
    size_t count;

    assert_int_equal(ing_spool_segment_list(dir_fd, &bases, &count), ING_OK);
    assert_true(count <= max);
    if (count > 0) {
        memcpy(out, bases, count * sizeof(*bases));
    }
    free(bases);
    close(dir_fd);
    return count;
}

static void expect_bases(struct fixture *f, const uint64_t *want, size_t n)
{
    uint64_t got[64];

    assert_int_equal(list_bases(f, 0, got, 64), n);
    assert_memory_equal(got, want, n * sizeof(*want));
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

    ing_test_segment_path(path, sizeof(path), f->dir, 0, 0);
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
    static const uint64_t want[] = {0, 9, 15, 22};

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

    expect_bases(f, want, 4);
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

    ing_test_segment_path(path, sizeof(path), f->dir, 0, 3);
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
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 0);
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
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 0);
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

    ing_test_segment_path(path, sizeof(path), f->dir, 0, 3);
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
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 0);
    ing_test_file_poke(path, 0, "X", 1);

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

/* ---- space limit, retention, sync descriptors ---- */

/* Captures what the logger writes to stderr between start and stop. */
struct capture {
    struct ing_test_capture log;
    char text[16384];
};

static void capture_start(struct fixture *f, struct capture *c)
{
    char path[96];

    snprintf(path, sizeof(path), "%s.log", f->dir);
    ing_test_capture_start(&c->log, 2, path);
}

static void capture_stop(struct capture *c)
{
    ing_test_capture_stop(&c->log, c->text, sizeof(c->text));
    unlink(c->log.path);
}

static int count_lines(const struct capture *c, const char *needle)
{
    int n = 0;

    for (const char *at = c->text; (at = strstr(at, needle)) != NULL; at++) {
        n++;
    }
    return n;
}

/* Bytes the fixture's events [from, from + n) take as records. */
static uint64_t record_bytes(struct fixture *f, size_t from, size_t n)
{
    uint64_t bytes = 0;

    for (size_t i = from; i < from + n; i++) {
        bytes += ING_SPOOL_RECORD_HEADER_BYTES + f->views[i].len;
    }
    return bytes;
}

/* Sum of the sizes of the partition's segment files, as du would count. */
static uint64_t disk_bytes(struct fixture *f, unsigned id)
{
    uint64_t bases[64];
    size_t count = list_bases(f, id, bases, 64);
    uint64_t bytes = 0;
    char path[256];

    for (size_t i = 0; i < count; i++) {
        ing_test_segment_path(path, sizeof(path), f->dir, id, bases[i]);
        bytes += (uint64_t)file_size(path);
    }
    return bytes;
}

static void set_mtime_ms(struct fixture *f, uint64_t base, uint64_t ms)
{
    struct timespec times[2];
    char path[256];

    ing_test_segment_path(path, sizeof(path), f->dir, 0, base);
    times[0].tv_sec = times[1].tv_sec = (time_t)(ms / 1000);
    times[0].tv_nsec = times[1].tv_nsec = (long)(ms % 1000) * 1000000;
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* Five calls of three events, each past segment_bytes = 100 on its own:
 * segments 0, 3, 6, 9 and the active 12. */
static struct ing_spool_partition *five_segments(struct fixture *f)
{
    struct ing_spool_partition *p;

    f->opt.segment_bytes = 100;
    p = open_ok(f, 0);
    for (size_t i = 0; i < 15; i += 3) {
        append_ok(f, p, i, 3);
    }
    return p;
}

/*
 * A spool at max_bytes answers 503 without touching the disk, logs the
 * incident once, and takes appends again once retention made room.
 */
static void test_max_bytes(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    struct ing_err err;
    struct capture cap;
    static const uint64_t after[] = {9, 15};

    f->opt.segment_bytes = 300;
    f->opt.max_bytes =
        16 + record_bytes(f, 0, 9) + 16 + record_bytes(f, 9, 6) + 10;
    f->opt.retention_bytes = 16 + record_bytes(f, 9, 6) + 100;
    p = open_ok(f, 0);
    append_ok(f, p, 0, 4);
    append_ok(f, p, 4, 5);
    append_ok(f, p, 9, 6); /* rolls: segment 9, full at 330 bytes */
    uint64_t used = disk_bytes(f, 0);
    assert_int_equal(ing_spool_partition_size_bytes(p), used);

    /* 10 bytes are left; the next call would roll and needs more. */
    capture_start(f, &cap);
    for (int i = 0; i < 3; i++) {
        ing_err_clear(&err);
        assert_int_equal(
            ing_spool_partition_append(p, f->views + 15, 1, 1, &err),
            ING_ERROR);
        assert_int_equal(err.code, ING_ERR_UNAVAILABLE);
        assert_string_equal(err.message, "spool full");
        assert_int_equal(err.sys_errno, 0);
    }
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 1);
    usleep(1100 * 1000); /* an incident ends after 1 s without failure */
    append_ok(f, p, 15, 1);
    capture_stop(&cap);

    assert_int_equal(count_lines(&cap, "spool full, answering 503"), 1);
    assert_int_equal(count_lines(&cap, "appends succeed again"), 1);
    assert_int_equal(count_lines(&cap, "segment deleted"), 1);
    assert_non_null(strstr(cap.text, "failed_appends=3"));
    assert_int_equal(ing_spool_partition_size_bytes(p), disk_bytes(f, 0));
    assert_true(ing_spool_partition_size_bytes(p) <= f->opt.max_bytes);
    ing_spool_partition_close(p);

    expect_bases(f, after, 2);
    verify_from(f, 0, 9, 16);
}

/* A failed write is one incident: logged once, then once recovered. */
static void test_write_failure_logged_once(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p = open_ok(f, 0);
    struct ing_err err;
    struct capture cap;
    char path[256];

    append_ok(f, p, 0, 10);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 0);
    off_t before = file_size(path);

    capture_start(f, &cap);
    signal(SIGXFSZ, SIG_IGN);
    for (int round = 0; round < 2; round++) {
        set_fsize_limit((rlim_t)file_size(path) + 100);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(
                ing_spool_partition_append(p, f->views + 10, 20, 1, &err),
                ING_ERROR);
            assert_int_equal(err.sys_errno, EFBIG);
        }
        set_fsize_limit(RLIM_INFINITY);
        usleep(1100 * 1000); /* an incident ends after 1 s without failure */
        append_ok(f, p, 10 + (size_t)round, 1);
    }
    signal(SIGXFSZ, SIG_DFL);
    capture_stop(&cap);

    /* Two incidents, each one line and one recovery line. */
    assert_int_equal(count_lines(&cap, "segment write failed"), 2);
    assert_int_equal(count_lines(&cap, "appends succeed again"), 2);
    assert_true(file_size(path) > before);
    ing_spool_partition_close(p);
    verify(f, 0, 12);
}

/*
 * A nearly full disk: small appends fit while large ones fail.  Failures
 * and successes alternating quickly are one incident, one line; it ends
 * only after a second without failure.
 */
static void test_alternating_failures_are_one_incident(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p = open_ok(f, 0);
    struct ing_err err;
    struct capture cap;
    char path[256];

    append_ok(f, p, 0, 10);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 0);

    capture_start(f, &cap);
    signal(SIGXFSZ, SIG_IGN);
    for (int round = 0; round < 5; round++) {
        set_fsize_limit((rlim_t)file_size(path) + 200);
        assert_int_equal(
            ing_spool_partition_append(p, f->views + 11, 20, 1, &err),
            ING_ERROR);
        append_ok(f, p, 10 + (size_t)round, 1);
        set_fsize_limit(RLIM_INFINITY);
    }
    usleep(1100 * 1000);
    append_ok(f, p, 15, 1);
    signal(SIGXFSZ, SIG_DFL);
    capture_stop(&cap);

    assert_int_equal(count_lines(&cap, "segment write failed"), 1);
    assert_int_equal(count_lines(&cap, "appends succeed again"), 1);
    assert_non_null(strstr(cap.text, "failed_appends=5"));
    ing_spool_partition_close(p);
    verify(f, 0, 16);
}

static void test_retain_bytes(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p = five_segments(f);
    char path[256];
    static const uint64_t four[] = {3, 6, 9, 12};
    static const uint64_t one[] = {12};

    ing_test_segment_path(path, sizeof(path), f->dir, 0, 0);
    uint64_t total = disk_bytes(f, 0);
    uint64_t first = (uint64_t)file_size(path);
    ing_spool_partition_close(p);

    /* Just over the limit by less than the oldest segment: it alone goes. */
    f->opt.retention_bytes = total - first / 2;
    p = open_ok(f, 0);
    assert_int_equal(ing_spool_partition_size_bytes(p), total);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 1);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 0);
    expect_bases(f, four, 4);
    assert_int_equal(ing_spool_partition_size_bytes(p), total - first);
    ing_spool_partition_close(p);

    /* A limit below the active segment: everything else goes, not it. */
    f->opt.retention_bytes = 1;
    p = open_ok(f, 0);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 3);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 0);
    expect_bases(f, one, 1);
    assert_int_equal(ing_spool_partition_size_bytes(p), disk_bytes(f, 0));
    assert_int_equal(ing_spool_partition_next_offset(p), 15);
    ing_spool_partition_close(p);
    verify_from(f, 0, 12, 15);
}

/* Offsets go on after deletions, in the process and across a reopen. */
static void test_retain_then_offsets_continue(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    static const uint64_t three[] = {15, 18, 20};

    f->opt.retention_bytes = 1;
    p = five_segments(f);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 4);
    append_ok(f, p, 15, 3); /* rolls to 15 */
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 1);
    append_ok(f, p, 18, 2); /* rolls to 18 */
    uint64_t size = ing_spool_partition_size_bytes(p);
    ing_spool_partition_close(p);

    p = open_ok(f, 0);
    assert_int_equal(ing_spool_partition_next_offset(p), 20);
    assert_int_equal(ing_spool_partition_size_bytes(p), size);
    append_ok(f, p, 20, 1); /* rolls to 20 */
    ing_spool_partition_close(p);
    expect_bases(f, three, 3);
    verify_from(f, 0, 15, 21);
}

static void test_retain_age(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    uint64_t t = ing_test_now_ms();
    const uint64_t hour = 3600 * 1000;
    static const uint64_t kept[] = {6, 9};
    static const uint64_t after_roll[] = {6, 9, 12};
    static const uint64_t last[] = {12};

    f->opt.segment_bytes = 100;
    p = open_ok(f, 0);
    for (size_t i = 0; i < 12; i += 3) {
        append_ok(f, p, i, 3);
    }
    ing_spool_partition_close(p);
    set_mtime_ms(f, 0, t - 3 * hour);
    set_mtime_ms(f, 3, t - 2 * hour);
    set_mtime_ms(f, 6, t - 10 * 60 * 1000);
    set_mtime_ms(f, 9, t - 5 * hour); /* the active one: never deleted */

    f->opt.retention_age_ms = hour;
    p = open_ok(f, 0);
    assert_int_equal(ing_spool_partition_retain(p, t), 2);
    assert_int_equal(ing_spool_partition_retain(p, t), 0);
    expect_bases(f, kept, 2);

    /* Once rolled, 9 is judged by its last write, five hours ago, but
     * oldest first: 6, ten minutes old, holds it back until 6 is due. */
    append_ok(f, p, 12, 3);
    assert_int_equal(ing_spool_partition_retain(p, t), 0);
    expect_bases(f, after_roll, 3);
    assert_int_equal(ing_spool_partition_retain(p, t + hour), 2);
    assert_int_equal(ing_spool_partition_retain(p, t + 1000 * hour), 0);
    expect_bases(f, last, 1);
    ing_spool_partition_close(p);
    verify_from(f, 0, 12, 15);
}

/* A segment rolled in this process is aged from its real last write. */
static void test_retain_age_rolled_here(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    static const uint64_t only_active[] = {12};

    f->opt.retention_age_ms = 60 * 1000;
    p = five_segments(f);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 0);
    assert_int_equal(
        ing_spool_partition_retain(p, ing_test_now_ms() + 61 * 1000), 4);
    expect_bases(f, only_active, 1);
    ing_spool_partition_close(p);
}

/* The forwarder's hook: nothing at or past keep_from is deleted. */
static void test_retain_keep_from(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    static const uint64_t held[] = {6, 9, 12};
    static const uint64_t freed[] = {12};

    f->opt.retention_bytes = 1;
    f->opt.retention_age_ms = 1;
    p = five_segments(f);
    ing_spool_partition_keep_from(p, 7);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms() + 10000),
                     2);
    expect_bases(f, held, 3);

    ing_spool_partition_keep_from(p, 9); /* 6 ends at 9: now delivered */
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms() + 10000),
                     1);
    ing_spool_partition_keep_from(p, ING_SPOOL_KEEP_NONE);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms() + 10000),
                     1);
    expect_bases(f, freed, 1);
    ing_spool_partition_close(p);
}

/*
 * A segment that cannot be unlinked (a directory squatting on its name)
 * stops retention there, logged once; once it is gone by hand, retention
 * goes on from it.
 */
static void test_retain_unlink_failure(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    struct capture cap;
    char path[256];
    static const uint64_t held[] = {0, 3, 6, 9, 12};
    static const uint64_t freed[] = {12};

    f->opt.retention_bytes = 1;
    p = five_segments(f);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);

    capture_start(f, &cap);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()),
                     ING_ERROR);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()),
                     ING_ERROR);
    expect_bases(f, held, 5); /* the directory lists as a segment */
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(ing_spool_partition_retain(p, ing_test_now_ms()), 4);
    capture_stop(&cap);

    assert_int_equal(count_lines(&cap, "unlink() failed"), 1);
    assert_int_equal(count_lines(&cap, "segment deleted"), 4);
    expect_bases(f, freed, 1);
    assert_int_equal(ing_spool_partition_size_bytes(p), disk_bytes(f, 0));
    ing_spool_partition_close(p);
}

/* No limit configured: retention deletes nothing, however old or big. */
static void test_retain_off(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p = five_segments(f);

    assert_int_equal(ing_spool_partition_retain(p, UINT64_MAX), 0);
    ing_spool_partition_close(p);
    verify(f, 0, 15);
}

/* Counts this process's descriptors open on segment `base` of partition 0. */
static int fds_on_segment(struct fixture *f, uint64_t base)
{
    char want[256];
    char link[64];
    char target[256];
    int n = 0;

    ing_test_segment_path(want, sizeof(want), f->dir, 0, base);
    for (int fd = 0; fd < 1024; fd++) {
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0) {
            continue;
        }
        target[len] = '\0';
        n += strcmp(target, want) == 0;
    }
    return n;
}

/* The descriptor for the sync thread outlives the roll and the close. */
static void test_sync_fd_survives_roll(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    struct stat old_st, st;
    char path[256];
    char magic[8];

    f->opt.segment_bytes = 100;
    f->opt.durable = true;
    p = open_ok(f, 0);
    append_ok(f, p, 0, 3);
    int fd = ing_spool_partition_sync_fd(p);
    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);

    append_ok(f, p, 3, 3); /* rolls: the partition closes segment 0 */
    assert_int_equal(fds_on_segment(f, 0), 1); /* ours alone */
    int fd2 = ing_spool_partition_sync_fd(p);
    assert_true(fd2 >= 0);
    ing_spool_partition_close(p);

    assert_int_equal(fdatasync(fd), 0);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 0);
    assert_int_equal(stat(path, &old_st), 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_ino, old_st.st_ino);
    assert_int_equal(st.st_size, old_st.st_size);
    assert_int_equal(pread(fd, magic, 8, 0), 8);
    assert_memory_equal(magic, "INGSEG1\n", 8);

    assert_int_equal(fdatasync(fd2), 0);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 3);
    assert_int_equal(stat(path, &old_st), 0);
    assert_int_equal(fstat(fd2, &st), 0);
    assert_int_equal(st.st_ino, old_st.st_ino);
    close(fd);
    close(fd2);
    verify(f, 0, 6);
}

/*
 * What can be seen of a durable roll from outside: the old segment is not
 * left open for a later fsync (it was synced and closed at the roll),
 * whereas without `durable` it is kept until the next sync; both leave
 * every directory entry and record in place.
 */
static void test_durable_roll(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    struct ing_err err;

    f->opt.segment_bytes = 100;
    f->opt.durable = false;
    p = open_ok(f, 0);
    append_ok(f, p, 0, 3);
    append_ok(f, p, 3, 3);
    assert_int_equal(fds_on_segment(f, 0), 1);
    assert_int_equal(ing_spool_partition_sync(p, &err), ING_OK);
    assert_int_equal(fds_on_segment(f, 0), 0);
    ing_spool_partition_close(p);

    f->opt.durable = true;
    p = open_ok(f, 0);
    append_ok(f, p, 6, 3); /* rolls from 3 to 6 */
    assert_int_equal(fds_on_segment(f, 3), 0);
    append_ok(f, p, 9, 3);
    assert_int_equal(fds_on_segment(f, 6), 0);
    assert_int_equal(fds_on_segment(f, 9), 1);
    assert_int_equal(ing_spool_partition_sync(p, &err), ING_OK);
    ing_spool_partition_close(p);
    assert_int_equal(verify(f, 0, 12), 4);
}

/* A failed fsync of the sync thread is answered once, then a new segment. */
static void test_sync_failed(void **state)
{
    struct fixture *f = *state;
    struct ing_spool_partition *p;
    struct ing_err err;
    static const uint64_t two[] = {0, 3};

    f->opt.durable = true;
    p = open_ok(f, 0);
    append_ok(f, p, 0, 3);

    ing_spool_partition_sync_failed(p, EIO);
    errno = 0;
    assert_int_equal(ing_spool_partition_sync_fd(p), -1);
    assert_int_equal(errno, EIO);
    int fd = ing_spool_partition_sync_fd(p);
    assert_true(fd >= 0);
    close(fd);

    /* The same error reaches ing_spool_partition_sync if it asks first. */
    ing_spool_partition_sync_failed(p, 0);
    assert_int_equal(ing_spool_partition_sync(p, &err), ING_ERROR);
    assert_int_equal(err.sys_errno, EIO);
    fd = ing_spool_partition_sync_fd(p);
    assert_true(fd >= 0);
    close(fd);

    append_ok(f, p, 3, 1); /* far below segment_bytes, yet a new segment */
    expect_bases(f, two, 2);
    ing_spool_partition_close(p);
    verify(f, 0, 4);
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
    char path[4096];

    if (getenv("ING_SPOOL_BENCH") == NULL) {
        skip();
    }
    if (getenv("ING_SPOOL_BENCH_DIR") != NULL) {
        f->opt.data_dir = getenv("ING_SPOOL_BENCH_DIR");
    }
    ing_test_shared_path(path, sizeof(path), "bench/event.json");
    FILE *ev = fopen(path, "r");
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
        T(test_max_bytes),
        T(test_write_failure_logged_once),
        T(test_alternating_failures_are_one_incident),
        T(test_retain_bytes),
        T(test_retain_then_offsets_continue),
        T(test_retain_age),
        T(test_retain_age_rolled_here),
        T(test_retain_keep_from),
        T(test_retain_unlink_failure),
        T(test_retain_off),
        T(test_sync_fd_survives_roll),
        T(test_durable_roll),
        T(test_sync_failed),
        T(test_bench_append),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
