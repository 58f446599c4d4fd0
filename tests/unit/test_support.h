/*
 * test_support.h - scaffolding the unit tests share: scratch directories,
 * whole-file reads, the shared test data, capturing stdout or stderr,
 * spool paths and numbered events.
 *
 * Every function runs on the calling test's thread, may block on the file
 * system, and reports a failure through cmocka (a failed assert or
 * fail_msg), so callers need not check results.  Nothing here calls into
 * src/: a test built with DEPS="x y" links test_support.o with those
 * modules alone.
 */
#ifndef ING_TEST_SUPPORT_H
#define ING_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ing_view.h"

/* Width of one event made by ing_test_events_make, NUL included. */
#define ING_TEST_EVENT_BYTES 32

/*
 * Makes a new, empty directory /tmp/<prefix>-XXXXXX and writes its path
 * into dir[0 .. size).  Fails the test when the path does not fit or
 * mkdtemp fails.  The caller removes it with ing_test_tmpdir_remove.
 */
void ing_test_tmpdir_make(char *dir, size_t size, const char *prefix);

/*
 * Removes dir and everything below it, following no symbolic link.
 * Failures are ignored: a teardown has nothing better to do with them.
 */
void ing_test_tmpdir_remove(const char *dir);

/*
 * Reads the whole file at path into a new heap buffer (not NUL-terminated,
 * never NULL, even for an empty file) and stores its length in *len.
 * Fails the test when the file cannot be opened or read.  The caller
 * frees the buffer.
 */
char *ing_test_file_read(const char *path, size_t *len);

/*
 * Reads at most size - 1 bytes of the file at path into buf and
 * NUL-terminates them.  A file that is missing or unreadable reads as "":
 * tests poll output files that a command may not have written yet.
 */
void ing_test_file_slurp(const char *path, char *buf, size_t size);

/*
 * Writes bytes[0 .. n) at position pos of the existing file at path, in
 * place (damage for a reader or `ingestd check` to find).  Fails the test
 * when the file cannot be opened or the write is short.
 */
void ing_test_file_poke(const char *path, off_t pos, const void *bytes,
                        size_t n);

/*
 * The directory of the shared test data: $INGESTD_SHARED_DIR when set and
 * not empty, else "../shared" (relative to the repository root, where
 * make runs the tests).  The string is static or the environment's.
 */
const char *ing_test_shared_dir(void);

/*
 * Writes the path of a file or directory below the shared directory,
 * "<shared dir>/" followed by fmt formatted, into buf[0 .. size).  Fails
 * the test when it does not fit.
 */
void ing_test_shared_path(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * ing_test_file_read of rel below the shared directory, for instance
 * "bench/event.json".  A missing file fails the test with a hint to set
 * INGESTD_SHARED_DIR.  The caller frees the buffer.
 */
char *ing_test_shared_read(const char *rel, size_t *len);

/*
 * A descriptor of this process (1 or 2) pointed at a file for a while, so
 * that a test can read what a command printed or the logger wrote.
 */
struct ing_test_capture {
    int fd;
    int saved_fd;
    char path[128];
};

/*
 * Flushes stdio, then points fd at the file at path, created or
 * truncated, until ing_test_capture_stop.  The file is the caller's to
 * remove.
 */
void ing_test_capture_start(struct ing_test_capture *c, int fd,
                            const char *path);

/*
 * Flushes stdio, gives fd back its original target, and reads what was
 * written (ing_test_file_slurp) into text[0 .. size).
 */
void ing_test_capture_stop(struct ing_test_capture *c, char *text, size_t size);

/* Writes "<data_dir>/partition-<id>" into buf; fails if it does not fit. */
void ing_test_partition_path(char *buf, size_t size, const char *data_dir,
                             unsigned id);

/*
 * Writes the path of the segment with base offset `base` of partition id,
 * "<data_dir>/partition-<id>/<base, 20 digits>.seg", into buf; fails the
 * test if it does not fit.  The name is spelled here, from the layout in
 * spool_record.h, rather than by ing_spool_segment_name, so that this
 * file links without src/; spool_segment_test pins the two together.
 */
void ing_test_segment_path(char *buf, size_t size, const char *data_dir,
                           unsigned id, uint64_t base);

/* The wall clock in milliseconds since the epoch, as retention reads it. */
uint64_t ing_test_now_ms(void);

/*
 * Writes n events {"<key>":<i>} into text[i] and a view of each, without
 * its NUL, into views[i]: payloads whose length is known from i alone.
 */
void ing_test_events_make(char (*text)[ING_TEST_EVENT_BYTES],
                          struct ing_view *views, size_t n, const char *key);

#endif
