/*
 * test_support.c - scaffolding shared by the unit tests (see the header).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

/* A formatted string that must fit: a cut path would name another file. */
static void format_fits(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void format_fits(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);

    assert_true(n >= 0 && (size_t)n < size);
}

void ing_test_tmpdir_make(char *dir, size_t size, const char *prefix)
{
    format_fits(dir, size, "/tmp/%s-XXXXXX", prefix);
    assert_non_null(mkdtemp(dir));
}

static int remove_entry(const char *path, const struct stat *sb, int type,
                        struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

void ing_test_tmpdir_remove(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* hint follows the path in the failure message, to say what to fix. */
static char *read_whole(const char *path, size_t *len, const char *hint)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL) {
        fail_msg("cannot open %s%s", path, hint);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);

    buf = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

char *ing_test_file_read(const char *path, size_t *len)
{
    return read_whole(path, len, "");
}

void ing_test_file_slurp(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : 0;

    buf[n > 0 ? n : 0] = '\0';
    if (fd >= 0) {
        close(fd);
    }
}

void ing_test_file_poke(const char *path, off_t pos, const void *bytes,
                        size_t n)
{
    int fd = open(path, O_RDWR);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, pos), (ssize_t)n);
    close(fd);
}

const char *ing_test_shared_dir(void)
{
    const char *dir = getenv("INGESTD_SHARED_DIR");

    return dir != NULL && dir[0] != '\0' ? dir : "../shared";
}

void ing_test_shared_path(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int head = snprintf(buf, size, "%s/", ing_test_shared_dir());

    assert_true(head >= 0 && (size_t)head < size);

    va_start(ap, fmt);
    int tail = vsnprintf(buf + head, size - (size_t)head, fmt, ap);
    va_end(ap);

    assert_true(tail >= 0 && (size_t)tail < size - (size_t)head);
}

char *ing_test_shared_read(const char *rel, size_t *len)
{
    char path[4096];

    ing_test_shared_path(path, sizeof(path), "%s", rel);
    return read_whole(path, len, " (set INGESTD_SHARED_DIR)");
}

void ing_test_capture_start(struct ing_test_capture *c, int fd,
                            const char *path)
{
    format_fits(c->path, sizeof(c->path), "%s", path);
    fflush(stdout);
    fflush(stderr);

    int file = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(file >= 0);
    c->fd = fd;
    c->saved_fd = dup(fd);
    assert_true(c->saved_fd >= 0);
    dup2(file, fd);
    close(file);
}

void ing_test_capture_stop(struct ing_test_capture *c, char *text, size_t size)
{
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved_fd, c->fd);
    close(c->saved_fd);

    ing_test_file_slurp(c->path, text, size);
}

void ing_test_partition_path(char *buf, size_t size, const char *data_dir,
                             unsigned id)
{
    format_fits(buf, size, "%s/partition-%u", data_dir, id);
}

void ing_test_segment_path(char *buf, size_t size, const char *data_dir,
                           unsigned id, uint64_t base)
{
    format_fits(buf, size, "%s/partition-%u/%020" PRIu64 ".seg", data_dir, id,
                base);
}

uint64_t ing_test_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ing_test_events_make(char (*text)[ING_TEST_EVENT_BYTES],
                          struct ing_view *views, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(text[i], sizeof(text[i]), "{\"%s\":%zu}", key, i);

        assert_true(len > 0 && (size_t)len < sizeof(text[i]));
        views[i] = ing_view_make(text[i], (size_t)len);
    }
}
