/*
 * spool_partition.h - the writer of one spool partition: a directory of
 * segment files that one worker thread appends its batches to.
 *
 * The worker owns its partition: no lock is taken on the request path.
 * Every function on a partition must be called by that one thread, or by
 * another thread only while the owner cannot be inside a call on it.
 * Across processes, an exclusive flock(2) on partition-<N>/LOCK keeps a
 * second server off a partition that is in use.  Format: spool_record.h.
 *
 * Durability.  An append is in the page cache when it returns (it survives
 * a crash of the process).  Two ways make it survive a power loss:
 *
 *  - ing_spool_partition_sync() on the owner thread, which blocks it;
 *  - a sync thread: the owner calls ing_spool_partition_sync_fd() and
 *    hands the descriptor over; the sync thread calls fdatasync(2) on it
 *    and closes it, while the owner goes on appending (and rolling: the
 *    descriptor is the sync thread's own, so closing the segment does not
 *    close it).  The owner learns the result and reports a failure with
 *    ing_spool_partition_sync_failed().  When that fdatasync succeeds,
 *    every record appended before the sync_fd call is durable, provided
 *    the partition was opened with `durable` set: then a roll itself
 *    makes the old segment and the new segment's directory entry durable
 *    before any record goes to the new segment, so the current segment is
 *    all that is ever left to sync.  The sync thread touches nothing but
 *    its descriptor: no function here may be called from it.
 *
 * Space.  The partition knows its bytes on disk (all segments, listed at
 * open, kept up to date by appends, rolls and deletions).  An append that
 * would take it past max_bytes gets 503; ing_spool_partition_retain(),
 * called by the owner on a timer, deletes whole old segments by size and
 * age, after which appends succeed again by themselves.
 */
#ifndef ING_SPOOL_PARTITION_H
#define ING_SPOOL_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ing_err.h"
#include "ing_view.h"
#include "spool_retention.h"

#define ING_SPOOL_DEFAULT_SEGMENT_BYTES (128ull * 1024 * 1024)
#define ING_SPOOL_DEFAULT_BATCH_EVENTS  10000

struct ing_spool_options {
    const char *data_dir;
    uint64_t segment_bytes;  /* roll when a segment reaches this; 0: 128 MiB */
    size_t max_batch_events; /* sizes the append scratch; 0: 10,000 */
    /*
     * Limits, 0 for none.  The bytes are this partition's shares of the
     * spool-wide flags: the caller divides --spool-max-bytes and
     * --retention-bytes by the number of partitions.
     */
    uint64_t max_bytes;        /* appends past it get 503 "spool full" */
    uint64_t retention_bytes;  /* ing_spool_partition_retain() deletes ... */
    uint64_t retention_age_ms; /* ... past either of these */
    /*
     * Rolls sync the old segment and the directory before the switch.
     * Set it whenever fsyncs go through ing_spool_partition_sync_fd(),
     * whatever the ack mode: without it a sync thread's fsync does not
     * cover a segment rolled away since the previous one.
     */
    bool durable;
};

/* Opaque: one open partition. */
struct ing_spool_partition;

/*
 * Opens partition `partition_id` under opt->data_dir for appending, at
 * start-up.  Creates the data directory and partition-<N>/ if missing,
 * takes the exclusive lock on partition-<N>/LOCK (failing, with a message
 * naming the directory, when another process holds it), then scans the
 * last segment and cuts a torn or damaged tail after the last whole record,
 * logging the file, position and bytes removed.  Offsets continue from the
 * last whole record; an empty partition starts at 0.  The other segments
 * are listed (size and mtime) for the space limit and retention; the
 * oldest need not start at offset 0 (retention deleted those before it).
 *
 * Returns ING_OK with *out owned by the caller (release it with
 * ing_spool_partition_close), or ING_ERROR with err filled (code
 * ING_ERR_UNAVAILABLE, sys_errno) and the cause already logged.  Blocks on
 * file I/O, allocates; call from the thread that will own the partition or
 * before that thread starts.  `opt` is not kept.
 */
int ing_spool_partition_open(const struct ing_spool_options *opt,
                             unsigned partition_id,
                             struct ing_spool_partition **out,
                             struct ing_err *err);

/*
 * Appends `count` events (views of their exact bytes, each 1 byte to
 * 64 MiB) as `count` records with consecutive offsets from
 * ing_spool_partition_next_offset(), all stamped `recv_time_ns`.
 *
 * All or nothing: on ING_OK every record is written; on ING_ERROR none is
 * (the segment is cut back to its size before the call) and offsets do not
 * move.  err->code is ING_ERR_UNAVAILABLE (503) with message "spool full"
 * and sys_errno 0 when the records would take the partition past
 * max_bytes (nothing is attempted), or with sys_errno for a failed write
 * (ENOSPC, EDQUOT, EIO, EFBIG) or a failed roll; every such failure is
 * retried afresh by the next call, so appends resume by themselves once
 * space returns.  ING_ERR_INTERNAL for an event size outside the format.
 * One incident is logged once: its first failure (again if its cause
 * changes), and one line when an append succeeds again.
 *
 * Rolls to a new segment first when the current one has reached
 * segment_bytes, so one call's records never span two segments.  Request
 * path: no copy of event bytes (the kernel reads them from the views);
 * blocks in pwritev(2).  No allocation, except at a roll that finds no
 * room reserved in the closed-segment list (reserved at open and by each
 * ing_spool_partition_retain, so only after many rolls within a second).
 * Never fsyncs, except at a roll with `durable` set: fdatasync(2) of the
 * old segment and fsync(2) of the directory, once per segment_bytes.
 * Owner thread.
 */
int ing_spool_partition_append(struct ing_spool_partition *p,
                               const struct ing_view *events, size_t count,
                               uint64_t recv_time_ns, struct ing_err *err);

/*
 * Makes every record appended so far durable: fsyncs the current segment,
 * a segment rolled away since the last sync, and the directory after a
 * roll.  Returns ING_OK, or ING_ERROR (503, sys_errno) when an fsync
 * failed, after which the kernel may have dropped the unwritten pages: the
 * records since the previous successful sync must be taken as lost, and the
 * next append starts a new segment so that later records do not share
 * pages with them.  Blocks (that is its point).  Owner thread.
 */
int ing_spool_partition_sync(struct ing_spool_partition *p,
                             struct ing_err *err);

/*
 * Returns a new descriptor of the segment being appended to (its own open
 * file description, read-only, close-on-exec), which the caller owns and
 * closes; fdatasync(2) on it makes every record appended before this call
 * durable (with `durable` set, see the top of this file).  The caller may
 * hand it to another thread; rolls, retention and
 * ing_spool_partition_close() may happen while it is in use.
 *
 * Returns -1 with errno when the open fails (EMFILE), or when an fsync
 * failed since the previous call: one the partition ran itself (a durable
 * roll's fdatasync of the old segment, the deferred fsync of a
 * non-durable roll) or one reported by ing_spool_partition_sync_failed().
 * Such an error is returned once, here or by ing_spool_partition_sync(),
 * whichever comes first.  On -1, every record waiting for an fsync must
 * be answered 503, not acknowledged: the kernel may have dropped its
 * pages.  The next append starts a new segment.  Does not block (one
 * openat(2)).  Owner thread.
 */
int ing_spool_partition_sync_fd(struct ing_spool_partition *p);

/*
 * Tells the partition that an fdatasync of a descriptor from
 * ing_spool_partition_sync_fd() failed with `errnum`: the next append
 * starts a new segment, so that new records do not share pages the kernel
 * may have dropped, and the next ing_spool_partition_sync_fd() returns -1
 * once, because the lost pages may also hold records appended after that
 * descriptor was taken.  Does not log (the caller does, once per
 * incident).  Owner thread.
 */
void ing_spool_partition_sync_failed(struct ing_spool_partition *p, int errnum);

/*
 * Deletes whole closed segments, oldest first, never the one being
 * appended to, while the partition is over retention_bytes or while the
 * oldest segment's last write (its mtime, see spool_retention.h) is more
 * than retention_age_ms before `now_ms` (milliseconds since the Unix
 * epoch, CLOCK_REALTIME), and never a segment holding the offset set by
 * ing_spool_partition_keep_from() or a later one.  Each deletion is
 * logged at info with its file, offsets and bytes.
 *
 * Returns the number of segments deleted (0 when nothing was due), or
 * ING_ERROR when an unlink failed (logged once per incident; that segment
 * and those after it wait for the next call).  Meant for a timer of about
 * a second on the owner thread: when nothing is due it makes no system
 * call, reading only the in-memory list.  Blocks in unlink(2) when it
 * deletes.  May allocate (room for future rolls).  Owner thread.
 */
int ing_spool_partition_retain(struct ing_spool_partition *p, uint64_t now_ms);

/*
 * Holds back retention: no segment holding `offset` or a later one will
 * be deleted (the forwarder's checkpoint: the first offset not yet
 * delivered).  ING_SPOOL_KEEP_NONE (UINT64_MAX, the default) lifts the
 * constraint.  Owner thread.
 */
void ing_spool_partition_keep_from(struct ing_spool_partition *p,
                                   uint64_t offset);

/* The partition's bytes on disk, all segments.  Owner thread. */
uint64_t ing_spool_partition_size_bytes(const struct ing_spool_partition *p);

/* The offset the next appended record will get.  Owner thread. */
uint64_t ing_spool_partition_next_offset(const struct ing_spool_partition *p);

/*
 * Syncs (logging a failure), releases the lock and frees `p`.  NULL is a
 * no-op.  Blocks.  Owner thread.
 */
void ing_spool_partition_close(struct ing_spool_partition *p);

/*
 * Writes "<data_dir>/partition-<id>" into buf.  ING_OK, or ING_ERROR when
 * it does not fit in `size` bytes.
 */
int ing_spool_partition_path(char *buf, size_t size, const char *data_dir,
                             unsigned partition_id);

/*
 * Lists the partition-<N> directories of `data_dir`.  On ING_OK, *ids is a
 * malloc'd array of the ids in ascending order (NULL when *count is 0),
 * owned by the caller.  ING_ERROR with errno when the directory cannot be
 * read.  For the tools, not the request path; any thread.
 */
int ing_spool_partition_list(const char *data_dir, unsigned **ids,
                             size_t *count);

/*
 * True when another open file description holds the lock of the partition
 * directory open at `dir_fd`, i.e. a server is writing it; false when not,
 * or when there is no LOCK file.  Probes with a shared lock released at
 * once, so a server starting in that instant fails to lock (and says so).
 * Any thread.
 */
bool ing_spool_partition_in_use(int dir_fd);

#endif
