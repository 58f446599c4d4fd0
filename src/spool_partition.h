/*
 * spool_partition.h - the writer of one spool partition: a directory of
 * segment files that one worker thread appends its batches to.
 *
 * The worker owns its partition: no lock is taken on the request path.
 * Every function on a partition must be called by that one thread, or by
 * another thread only while the owner cannot be inside a call on it.
 * Across processes, an exclusive flock(2) on partition-<N>/LOCK keeps a
 * second server off a partition that is in use.
 *
 * Durability: an append is in the page cache when it returns (it survives
 * a crash of the process); ing_spool_partition_sync() makes everything
 * appended so far survive a power loss.  Format: spool_record.h.
 */
#ifndef ING_SPOOL_PARTITION_H
#define ING_SPOOL_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ing_err.h"
#include "ing_view.h"

#define ING_SPOOL_DEFAULT_SEGMENT_BYTES (128ull * 1024 * 1024)
#define ING_SPOOL_DEFAULT_BATCH_EVENTS  10000

struct ing_spool_options {
    const char *data_dir;
    uint64_t segment_bytes;  /* roll when a segment reaches this; 0: 128 MiB */
    size_t max_batch_events; /* sizes the append scratch; 0: 10,000 */
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
 * last whole record; an empty partition starts at 0.
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
 * move.  err->code is ING_ERR_UNAVAILABLE (503) with sys_errno for a failed
 * write (ENOSPC, EDQUOT, EIO, EFBIG) or a failed roll, which is retried at
 * the next call; ING_ERR_INTERNAL for an event size outside the format.
 * The first failure after a success is logged, later ones are not.
 *
 * Rolls to a new segment first when the current one has reached
 * segment_bytes, so one call's records never span two segments.  Request
 * path: no allocation and no copy of event bytes (the kernel reads them
 * from the views); blocks in pwritev(2) but never fsyncs.  Owner thread.
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
