/*
 * server_group.c - group commit: one spool append for the events of every
 * request handled in one turn of the event loop.
 *
 * Appending to a file costs a system call and the file system's locking,
 * about as much as the rest of a small request.  Under load one turn of
 * the loop handles many connections, so their events are staged here (as
 * views: nothing is copied) and written by one writev at the end of the
 * turn.  Their answers wait in each connection's output buffer until then:
 * a 202 never leaves before its record is written.
 *
 * Views point into connection buffers, so a staged connection's buffer
 * must not move or be reused before the commit: server_conn.c commits
 * first when it has to (compaction, a larger buffer, close).  Events
 * decoded into the worker's shared decode buffer are committed at once,
 * since the next compressed request reuses that buffer.
 *
 * If the append fails nothing of the group is stored (the spool cuts its
 * segment back), and every connection in the group answers 503 with
 * Connection: close in place of the answers it had queued.
 *
 * With ack=durable the answers wait once more, for an fsync that covers
 * the group (run by the worker's sync thread, server_sync.h); with
 * ack=memory the same thread fsyncs every --fsync-interval.
 *
 * All of this runs on the worker thread that owns the connections.
 */
#include "server_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

int ing_group_init(struct ing_worker *w, size_t cap)
{
    w->group = calloc(cap, sizeof(*w->group));
    if (w->group == NULL) {
        ING_ERROR_LOG("worker", "out of memory at start-up group=%zu", cap);
        return ING_ERROR;
    }
    w->group_cap = cap;
    return ING_OK;
}

void ing_group_fini(struct ing_worker *w)
{
    free(w->group);
    w->group = NULL;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ing_group_commit(struct ing_worker *w)
{
    if (w->group_count == 0) {
        return;
    }

    ing_err_clear(&w->group_err);
    int rc = ing_spool_partition_append(w->spool, w->group, w->group_count,
                                        now_ns(), &w->group_err);

    /* Spool full (no errno: our limit, not the disk's): retention may free
     * space now rather than at its next tick, so try once more. */
    if (rc != ING_OK && w->group_err.sys_errno == 0 &&
        w->group_err.code == ING_ERR_UNAVAILABLE &&
        ing_spool_partition_retain(w->spool, now_ns() / 1000000) > 0) {
        ing_err_clear(&w->group_err);
        rc = ing_spool_partition_append(w->spool, w->group, w->group_count,
                                        now_ns(), &w->group_err);
    }
    for (struct ing_conn *c = w->awaiting_head; c != NULL;
         c = c->awaiting_next) {
        if (c->in_group && rc != ING_OK) {
            c->store_failed = true;
        }
        c->in_group = false;
    }
    w->group_count = 0;
    if (rc == ING_OK) {
        w->spool_dirty = true;
    }
}

void ing_group_stage(struct ing_conn *c, const struct ing_view *events,
                     size_t count, bool bytes_are_reused)
{
    struct ing_worker *w = c->worker;

    assert(count <= w->group_cap);
    if (count > w->group_cap - w->group_count) {
        ing_group_commit(w);
    }

    for (size_t i = 0; i < count; i++) {
        w->group[w->group_count + i] = events[i];
    }
    w->group_count += count;
    c->in_group = true;
    if (!c->awaiting) {
        c->awaiting = true;
        c->awaiting_next = w->awaiting_head;
        w->awaiting_head = c;
    }

    if (bytes_are_reused) {
        ing_group_commit(w);
    }
}

/* Releases every connection of a waiting list with a 503. */
static void group_fail_waiting(struct ing_worker *w, struct ing_conn **list)
{
    struct ing_conn *c = *list;

    *list = NULL;
    while (c != NULL) {
        struct ing_conn *next = c->sync_next;

        c->sync_next = NULL;
        c->syncing = false;
        ing_err_clear(&w->group_err);
        ing_err_set(&w->group_err, ING_ERR_UNAVAILABLE, "spool fsync failed",
                    ING_ERR_NONE);
        c->store_failed = true;
        ing_conn_release_answers(c);
        c = next;
    }
}

static void group_park(struct ing_worker *w, struct ing_conn *c)
{
    c->syncing = true;
    c->sync_next = w->sync_pending;
    w->sync_pending = c;
    ing_conn_park(c);
}

/*
 * ack=durable: an fsync starts as soon as none is in flight and some
 * answer waits for one; everything appended until it starts is covered.
 * ack=memory: one every --fsync-interval while there is unsynced data.
 */
static void group_sync_start(struct ing_worker *w)
{
    bool durable = w->cfg->ack == ING_ACK_DURABLE;
    bool due = !durable && w->spool_dirty &&
               w->now_ms - w->last_sync_ms >= w->cfg->fsync_interval_ms;

    if (w->sync.busy || (w->sync_pending == NULL && !due)) {
        return;
    }

    /* -1: an earlier fsync failed, so pages written before it may be
     * lost; nothing waiting now can be acknowledged as durable. */
    int fd = ing_spool_partition_sync_fd(w->spool);
    if (fd < 0) {
        group_fail_waiting(w, &w->sync_pending);
        return;
    }
    w->sync_inflight = w->sync_pending;
    w->sync_pending = NULL;
    w->spool_dirty = false;
    w->last_sync_ms = w->now_ms;
    ing_sync_request(&w->sync, fd);
}

static void group_release_awaiting(struct ing_worker *w)
{
    while (w->awaiting_head != NULL) {
        ing_group_commit(w);

        struct ing_conn *list = w->awaiting_head;
        w->awaiting_head = NULL;
        while (list != NULL) {
            struct ing_conn *c = list;

            list = c->awaiting_next;
            c->awaiting_next = NULL;
            c->awaiting = false;
            if (w->cfg->ack == ING_ACK_DURABLE && !c->store_failed) {
                group_park(w, c);
            } else {
                ing_conn_release_answers(c);
            }
        }
    }
}

/*
 * End of a loop turn: commit, then release every waiting answer.  A
 * connection released here may go on with requests it had buffered and
 * stage again, so repeat until no connection waits.
 */
void ing_group_flush(struct ing_worker *w)
{
    do {
        group_release_awaiting(w);
        /* A failed fsync start releases 503s, which may stage again. */
        group_sync_start(w);
    } while (w->awaiting_head != NULL);
}

void ing_group_sync_tick(struct ing_worker *w)
{
    group_sync_start(w);
}

/* The fsync in flight finished: release the answers it covered. */
void ing_group_synced(struct ing_worker *w)
{
    int result = ing_sync_collect(&w->sync);

    if (result != 0 && !w->sync_failing) {
        ING_LOG_ERRNO(ING_LOG_ERROR, "spool", result, "fdatasync() failed");
    } else if (result == 0 && w->sync_failing) {
        ING_INFO("spool", "fdatasync() succeeds again");
    }
    w->sync_failing = result != 0;

    if (result != 0) {
        ing_spool_partition_sync_failed(w->spool, result);
        group_fail_waiting(w, &w->sync_inflight);
    }

    struct ing_conn *list = w->sync_inflight;
    w->sync_inflight = NULL;
    while (list != NULL) {
        struct ing_conn *c = list;

        list = c->sync_next;
        c->sync_next = NULL;
        c->syncing = false;
        ing_conn_release_answers(c);
    }
    ing_group_flush(w);
}

/* Shutdown past its deadline: forget the waiting lists; the connections
 * are about to be closed without their answers. */
void ing_group_abandon(struct ing_worker *w)
{
    struct ing_conn *lists[] = {w->sync_pending, w->sync_inflight};

    for (size_t i = 0; i < 2; i++) {
        for (struct ing_conn *c = lists[i]; c != NULL; c = c->sync_next) {
            c->syncing = false;
        }
    }
    w->sync_pending = NULL;
    w->sync_inflight = NULL;
}
