/*
 * server_sync.h - a worker's sync thread: runs fdatasync() so that the
 * worker never blocks on the disk.
 *
 * The worker hands over one descriptor at a time (a dup of its current
 * segment, which it no longer owns afterwards) and learns of completion
 * through an eventfd that it watches in its loop.  While an fsync runs the
 * worker goes on appending; the next fsync covers everything appended in
 * the meantime, so one fsync answers every request that arrived while the
 * previous one ran (group commit, DESIGN.md).
 *
 * Thread contract: ing_sync_request and ing_sync_collect are called by the
 * owning worker thread only; the sync thread touches only the fields
 * under `lock`.
 */
#ifndef ING_SERVER_SYNC_H
#define ING_SERVER_SYNC_H

#include <pthread.h>
#include <stdbool.h>

struct ing_sync {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool started;

    /* under lock */
    int request_fd; /* to sync and close; -1 when none waits */
    bool stop;
    int result_errno;

    int done_fd; /* eventfd, readable when an fsync finished */
    bool busy;   /* worker's view: a request is in flight */
    unsigned id; /* the worker's id, for log lines */
};

/* Creates the eventfd and starts the thread.  Returns 0 or -1 (logged).
 * Start-up only. */
int ing_sync_start(struct ing_sync *s, unsigned worker_id);

/* Stops and joins the thread (after the fsync in flight, if any). */
void ing_sync_stop(struct ing_sync *s);

/* Hands fd over for fdatasync + close.  Requires !s->busy. */
void ing_sync_request(struct ing_sync *s, int fd);

/* After done_fd was readable: clears busy and returns 0 when the fsync
 * succeeded, or its errno. */
int ing_sync_collect(struct ing_sync *s);

#endif
