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
 * All of this runs on the worker thread that owns the connections.
 */
#include "server_int.h"

#include <assert.h>
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
    for (struct ing_conn *c = w->awaiting_head; c != NULL;
         c = c->awaiting_next) {
        if (c->in_group && rc != ING_OK) {
            c->store_failed = true;
        }
        c->in_group = false;
    }
    w->group_count = 0;
}

int ing_group_stage(struct ing_conn *c, const struct ing_view *events,
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
    return ING_OK;
}

/*
 * End of a loop turn: commit, then release every waiting answer.  A
 * connection released here may go on with requests it had buffered and
 * stage again, so repeat until no connection waits.
 */
void ing_group_flush(struct ing_worker *w)
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
            ing_conn_release_answers(c);
        }
    }
}
