/*
 * spool_retention.h - a partition's closed segments, kept in memory, and
 * the rule that says which of them retention deletes next.
 *
 * A closed segment is one the writer no longer appends to: every segment
 * of a partition but the newest.  The writer lists them once at open and
 * adds one at each roll, so that the once-a-second question "is anything
 * due?" costs a few comparisons, not a readdir(3) and a stat(2) per file.
 *
 * Age is the time of a segment's last write, taken from its file's mtime
 * (at open, or at the roll that closed it), not from the receive time in
 * its last record: a segment has no index, so finding its last record at
 * open means reading the whole file, and a stat(2) is enough.  The two
 * differ by the duration of the write, or by a later touch(1) by hand,
 * which then counts as a write.
 *
 * Deletion is oldest first and stops at the first segment that must stay,
 * so what remains is always one contiguous range of offsets.
 *
 * Owner thread of the partition only; no lock.  Only
 * ing_spool_retention_reserve() and ing_spool_retention_push() allocate.
 */
#ifndef ING_SPOOL_RETENTION_H
#define ING_SPOOL_RETENTION_H

#include <stddef.h>
#include <stdint.h>

/* "No checkpoint holds segments back." */
#define ING_SPOOL_KEEP_NONE UINT64_MAX

struct ing_spool_closed_segment {
    uint64_t base_offset;
    uint64_t end_offset;    /* one past its last record: the next base */
    uint64_t size_bytes;    /* the file's size, segment header included */
    uint64_t last_write_ms; /* mtime, milliseconds since the Unix epoch */
};

/* Why the oldest closed segment is due for deletion, if it is. */
enum ing_spool_retention_reason {
    ING_SPOOL_RETENTION_KEEP,  /* it stays */
    ING_SPOOL_RETENTION_BYTES, /* the partition is over retention_bytes */
    ING_SPOOL_RETENTION_AGE,   /* its last write is over retention_age_ms */
};

/*
 * Embedded in its partition.  Read the settings and closed_bytes; the
 * array is private: reach it through the functions below.
 */
struct ing_spool_retention {
    uint64_t retention_bytes;  /* 0: no limit by size */
    uint64_t retention_age_ms; /* 0: no limit by age */
    /*
     * A segment holding this offset or a later one is never deleted: the
     * hook for a forwarder's checkpoint.  ING_SPOOL_KEEP_NONE by default.
     */
    uint64_t keep_from_offset;
    uint64_t closed_bytes; /* sum of the closed segments' size_bytes */

    struct ing_spool_closed_segment *segs; /* [head, head + count) */
    size_t head;
    size_t count;
    size_t cap;
};

/* Sets the limits (0: none), no checkpoint, no closed segment. */
void ing_spool_retention_init(struct ing_spool_retention *r,
                              uint64_t retention_bytes,
                              uint64_t retention_age_ms);

/* Frees the list.  The files are untouched. */
void ing_spool_retention_fini(struct ing_spool_retention *r);

/*
 * Makes room for `spare` more pushes without allocating.  ING_OK, or
 * ING_ERROR when out of memory (the list is unchanged).  Off the request
 * path: at open and on the retention timer.
 */
int ing_spool_retention_reserve(struct ing_spool_retention *r, size_t spare);

/*
 * Appends a segment that was just closed (its base must be above every
 * listed one).  Allocates only when no spare room was reserved; ING_OK,
 * or ING_ERROR when that allocation failed (the list is unchanged).
 */
int ing_spool_retention_push(struct ing_spool_retention *r,
                             const struct ing_spool_closed_segment *seg);

/* The oldest closed segment, or NULL when there is none. */
const struct ing_spool_closed_segment *
ing_spool_retention_oldest(const struct ing_spool_retention *r);

/*
 * Says whether the oldest closed segment is due for deletion at `now_ms`
 * (milliseconds since the Unix epoch, CLOCK_REALTIME) given the bytes of
 * the newest segment, which is never a candidate.  Pure.
 */
enum ing_spool_retention_reason
ing_spool_retention_due(const struct ing_spool_retention *r,
                        uint64_t active_bytes, uint64_t now_ms);

/* Drops the oldest closed segment from the list (its file is gone). */
void ing_spool_retention_pop(struct ing_spool_retention *r);

#endif
