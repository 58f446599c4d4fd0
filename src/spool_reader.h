/*
 * spool_reader.h - reading one partition's records in offset order, across
 * its segments, while a server may be appending to it.
 *
 * For `ingestd read`, and later the forwarder.  The reader never writes
 * and takes no lock: the writer only ever appends to the newest segment,
 * so everything before it is final, and in the newest segment a record
 * that is not yet whole is "not yet written" (ING_AGAIN), not damage.
 * Every record handed out has passed its CRC and offset checks.
 *
 * Known limit: a record of an append that later fails and is cut back
 * (spool_partition.h: all or nothing) can be seen by a reader in the short
 * time between the write and the cut, and its offset is then reused by a
 * different record.  Closing that needs a committed-size mark shared with
 * the writer, which the forwarder (in the same process) can get later.
 *
 * A reader belongs to one thread at a time; calls block on file I/O and
 * may allocate (the listing, a window big enough for the largest record).
 */
#ifndef ING_SPOOL_READER_H
#define ING_SPOOL_READER_H

#include <stdint.h>

#include "spool_record.h"
#include "spool_segment.h"

/* Opaque: one open reader. */
struct ing_spool_reader;

/* What ING_ERROR from ing_spool_reader_next was about. */
struct ing_spool_damage {
    const char *dir;                            /* partition directory */
    char segment[ING_SPOOL_SEGMENT_NAME_BYTES]; /* segment file name */
    uint64_t file_pos; /* byte position in the segment file */
    const char *what;  /* static description */
    int sys_errno;     /* for a failed read, else 0 */
};

/*
 * Opens a reader on the partition directory `partition_dir` that starts at
 * the first record with offset >= from_offset.  Returns ING_OK with *out
 * owned by the caller (ing_spool_reader_close), or ING_ERROR with errno
 * set (directory missing or unreadable, out of memory).  A partition
 * without segments yet is not an error: reading it gives ING_AGAIN.
 */
int ing_spool_reader_open(const char *partition_dir, uint64_t from_offset,
                          struct ing_spool_reader **out);

/*
 * Reads the next record into *rec; its payload is a view valid until the
 * next call on this reader.  Returns
 *   ING_OK     a record;
 *   ING_AGAIN  no further whole record yet: the end of the newest segment,
 *              a record there still being written, or damage there already
 *              reported.  Call again later to see new records (the reader
 *              re-reads the file and notices new segments);
 *   ING_ERROR  damage or a failed read, described by
 *              ing_spool_reader_damage().  Records after damage in a segment
 *              that is not the newest are skipped: the next call goes on
 *              with the following segment.
 */
int ing_spool_reader_next(struct ing_spool_reader *r,
                          struct ing_spool_record *rec);

/* The description of the last ING_ERROR, valid until the next call. */
const struct ing_spool_damage *
ing_spool_reader_damage(const struct ing_spool_reader *r);

/* Closes the files and frees `r`; NULL is a no-op. */
void ing_spool_reader_close(struct ing_spool_reader *r);

#endif
