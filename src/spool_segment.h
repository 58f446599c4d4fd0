/*
 * spool_segment.h - one segment file: its name, its creation, the listing
 * of a partition's segments, and a sequential scan that checks every
 * record (format in spool_record.h).
 *
 * The scan is shared by start-up recovery, `ingestd read`, `ingestd check`
 * and the forwarder, so that all of them agree on what a whole record is.
 * It reads with pread(2) into its own buffer rather than mmap(2), because a
 * segment may be truncated under a reader (recovery, a failed append), and
 * a mapping would answer that with SIGBUS.
 *
 * None of this is on the request path except ing_spool_segment_create(),
 * which the writer calls when it rolls.  Functions block on file I/O.
 * A scan belongs to one thread at a time.
 */
#ifndef ING_SPOOL_SEGMENT_H
#define ING_SPOOL_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool_record.h"

/* "<20 digits>.seg" and its NUL. */
#define ING_SPOOL_SEGMENT_NAME_BYTES 25

/* Writes the file name of the segment whose base is `base_offset`. */
void ing_spool_segment_name(char out[ING_SPOOL_SEGMENT_NAME_BYTES],
                            uint64_t base_offset);

/*
 * Parses a segment file name: true with *base_offset set when `name` is
 * exactly 20 digits (a value that fits 64 bits) followed by ".seg".
 */
bool ing_spool_segment_name_parse(const char *name, uint64_t *base_offset);

/*
 * Lists the segments of the partition directory open at `dir_fd` (which
 * stays open and unmoved).  On ING_OK, *bases is a malloc'd array of the
 * base offsets in ascending order (NULL when *count is 0), owned by the
 * caller, who frees it.  Other files are ignored.  ING_ERROR with errno set
 * when the directory cannot be read or memory runs out.
 */
int ing_spool_segment_list(int dir_fd, uint64_t **bases, size_t *count);

/*
 * Creates the segment for `base_offset` in `dir_fd` (failing if it exists)
 * and writes its header.  Returns the new read-write descriptor, or -1
 * with errno set, in which case no file is left behind.  Neither the file
 * nor the directory is fsync'd.
 */
int ing_spool_segment_create(int dir_fd, uint64_t base_offset);

/* Opens an existing segment with `flags` (O_RDONLY or O_RDWR); -1/errno. */
int ing_spool_segment_open(int dir_fd, uint64_t base_offset, int flags);

/*
 * Empties the segment open read-write at `fd` and writes a fresh header for
 * `base_offset`, then fsyncs it: the repair for a segment created by a roll
 * that crashed before its header was whole.  ING_OK or ING_ERROR/errno.
 */
int ing_spool_segment_reset(int fd, uint64_t base_offset);

enum ing_spool_scan_status {
    ING_SPOOL_SCAN_OK,      /* begin: header valid; next: *rec holds a record */
    ING_SPOOL_SCAN_END,     /* the file ends after a whole record */
    ING_SPOOL_SCAN_TORN,    /* the file ends inside a header or a record */
    ING_SPOOL_SCAN_DAMAGED, /* bad magic or base, length, CRC or offset */
    ING_SPOOL_SCAN_IO,      /* a read failed, or memory ran out */
};

/*
 * A sequential scan of one segment, embedded by its owner.  Read `pos`,
 * `next_offset` and the problem fields; the window fields are private.
 */
struct ing_spool_segment_scan {
    int fd; /* the segment, not owned */
    uint64_t base_offset;
    uint64_t pos;          /* end of the last whole record: where a cut goes */
    uint64_t next_offset;  /* the offset the next record must carry */
    bool bad_offset;       /* DAMAGED by a whole record's offset, ... */
    uint64_t found_offset; /* ... which was this instead of next_offset */
    const char *problem;   /* static description for TORN, DAMAGED, IO */
    int sys_errno;         /* errno for IO */

    unsigned char *buf;
    size_t buf_cap;
    uint64_t buf_start; /* file position of buf[0] */
    size_t buf_len;
};

/*
 * Allocates a scan whose read window starts at `buf_bytes` (it grows to
 * hold the largest record met).  ING_OK, or ING_ERROR when out of memory.
 */
int ing_spool_segment_scan_init(struct ing_spool_segment_scan *s,
                                size_t buf_bytes);

/* Frees the window; the segment descriptor is the caller's to close. */
void ing_spool_segment_scan_fini(struct ing_spool_segment_scan *s);

/*
 * Starts scanning the segment open at `fd` whose file name says
 * `base_offset`: reads and checks its 16-byte header.  OK leaves `pos`
 * after the header; TORN means the file is shorter than the header.
 * May be called again on the same scan for another segment or to retry.
 */
enum ing_spool_scan_status
ing_spool_segment_scan_begin(struct ing_spool_segment_scan *s, int fd,
                             uint64_t base_offset);

/*
 * Reads the record at `pos`.  On OK, *rec is filled (its payload a view
 * into the window, valid until the next call) and `pos` and `next_offset`
 * move past it.  Otherwise nothing moves, so `pos` is where the problem
 * starts; calling again re-reads the file from there, which is how a
 * reader waits for a record still being written.
 */
enum ing_spool_scan_status
ing_spool_segment_scan_next(struct ing_spool_segment_scan *s,
                            struct ing_spool_record *rec);

#endif
