/*
 * server_int.h - what the server_*.c files share: the worker and the
 * connection.  Everything here belongs to one worker thread; the only
 * field touched by another thread is worker->stop_requested (atomic),
 * set by the main thread on SIGTERM, with wake_fd written to wake the
 * loop.
 */
#ifndef ING_SERVER_INT_H
#define ING_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "body_decode.h"
#include "config.h"
#include "event_batch.h"
#include "http_chunked.h"
#include "http_parse.h"
#include "http_response.h"
#include "loop.h"
#include "pool.h"
#include "server_sync.h"
#include "spool_partition.h"

/* Which timeout a connection is waiting under. */
enum conn_timer {
    CONN_TIMER_NONE,
    CONN_TIMER_RECV,   /* a request has started: read timeout */
    CONN_TIMER_WRITE,  /* output is blocked: write timeout */
    CONN_TIMER_IDLE,   /* keep-alive between requests: idle timeout */
    CONN_TIMER_LINGER, /* answered and half-closed: drain, then close */
    CONN_TIMER_COUNT,
};

enum conn_phase {
    CONN_PHASE_HEAD, /* waiting for the whole request head */
    CONN_PHASE_BODY, /* head parsed, receiving the body */
};

struct ing_conn {
    int fd;
    struct ing_worker *worker;

    /* Input: bytes [in_start, in_len) of in->data are unprocessed. */
    struct ing_buf *in;
    size_t in_start;
    size_t in_len;
    enum conn_phase phase;
    struct ing_http_request req;
    struct ing_http_chunked chunked;
    bool sent_continue;

    /* Output that the socket did not take yet. */
    struct ing_buf *out;
    size_t out_off;
    size_t out_len;
    bool close_after_write;
    bool lingering;
    unsigned watching; /* ING_LOOP_* events registered with the loop */
    size_t req_end;    /* in->data offset where the current request ends */

    /* Group commit (server_group.c): events of this connection are staged
     * in the worker's group; its answers wait in `out` for the commit. */
    bool in_group;
    bool awaiting;
    bool store_failed;
    bool syncing; /* ack=durable: answers wait for the fsync */
    struct ing_conn *awaiting_next;
    struct ing_conn *sync_next;
    uint64_t requests_done;

    /* Timeout bookkeeping: one list per timer kind, oldest first. */
    enum conn_timer timer;
    uint64_t timer_start_ms;
    struct ing_conn *prev;
    struct ing_conn *next;
};

struct conn_list {
    struct ing_conn *head;
    struct ing_conn *tail;
};

struct ing_worker {
    unsigned id;
    const struct ing_config *cfg;
    pthread_t thread;
    atomic_bool stop_requested;
    int wake_fd;
    int listen_fd;
    struct ing_loop *loop;

    struct ing_pool pool;
    struct ing_conn *conns;
    struct ing_conn *free_conns;
    size_t conn_max;
    size_t conn_count;
    struct conn_list timers[CONN_TIMER_COUNT];
    uint64_t timeout_ms[CONN_TIMER_COUNT];

    uint64_t now_ms;
    struct ing_http_date date;
    struct ing_http_out out;
    /* The most common answer, 202 queued with keep-alive, rendered once a
     * second (when Date changes) instead of once a request. */
    char queued_answer[256];
    size_t queued_answer_len;

    struct ing_body_decoder *decoder;
    char *decoded;
    struct ing_event_scratch *scratch;
    struct ing_event_limits limits;
    struct ing_spool_partition *spool;

    /* The group: views of events staged by several requests, written to
     * the spool by one append before any of their answers leaves. */
    struct ing_view *group;
    size_t group_count;
    size_t group_cap;
    struct ing_conn *awaiting_head;
    struct ing_err group_err;

    /* Fsyncs (server_sync.h): connections whose answers wait for the next
     * fsync, and those covered by the one in flight. */
    struct ing_sync sync;
    struct ing_conn *sync_pending;
    struct ing_conn *sync_inflight;
    bool spool_dirty; /* appended since the last fsync started */
    uint64_t last_sync_ms;
    bool sync_failing;
    uint64_t last_retain_ms;

    bool draining;
    uint64_t drain_deadline_ms;
    bool accept_paused;  /* listener unwatched until the next tick */
    bool accept_failing; /* an EMFILE incident is logged */
    int exit_status;
};

/*
 * server_worker.c.  All on the worker's own thread, except init and fini,
 * which the main thread calls before the thread starts and after it ends.
 */

/* Allocates the worker's pools, scratch, loop, eventfds, spool partition
 * and sync thread.  Returns ING_OK, or ING_ERROR (logged). */
int ing_worker_init(struct ing_worker *w, unsigned id,
                    const struct ing_config *cfg);

/* Stops the sync thread, closes the partition and frees everything. */
void ing_worker_fini(struct ing_worker *w);

/* The thread's body: the loop, until drained.  arg is the worker. */
void *ing_worker_main(void *arg);

/* Returns a closed connection's slot to the free list. */
void ing_worker_conn_release(struct ing_worker *w, struct ing_conn *c);

/* Puts c under `timer` (or none), started now. */
void ing_worker_timer_set(struct ing_worker *w, struct ing_conn *c,
                          enum conn_timer timer);

/*
 * server_group.c (group commit, see its header comment).  Worker thread.
 */

/* Allocates room for cap staged event views.  Start-up only. */
int ing_group_init(struct ing_worker *w, size_t cap);
void ing_group_fini(struct ing_worker *w);

/* Stages c's events (views into its buffer, or into the shared decode
 * buffer when bytes_are_reused, which commits at once). */
void ing_group_stage(struct ing_conn *c, const struct ing_view *events,
                     size_t count, bool bytes_are_reused);

/* Appends everything staged; marks the staged connections on failure. */
void ing_group_commit(struct ing_worker *w);

/* End of a loop turn: commit and release (or park) every waiting answer. */
void ing_group_flush(struct ing_worker *w);

/* The sync thread's eventfd fired: release what the fsync covered. */
void ing_group_synced(struct ing_worker *w);

/* Timer tick: starts the periodic fsync of ack=memory when it is due. */
void ing_group_sync_tick(struct ing_worker *w);

/* Shutdown past its deadline: forget the connections waiting for fsync. */
void ing_group_abandon(struct ing_worker *w);

/*
 * server_conn.c.  Worker thread.
 */

/* Writes the answers that waited for a commit or fsync (a 503 in their
 * place when c->store_failed), then goes on with buffered requests. */
void ing_conn_release_answers(struct ing_conn *c);

/* ack=durable: stop watching c and its timers while its answers wait. */
void ing_conn_park(struct ing_conn *c);

/* Takes over an accepted, non-blocking socket fd. */
void ing_conn_open(struct ing_worker *w, struct ing_conn *c, int fd);

/* Readiness reported by the loop for c. */
void ing_conn_on_event(struct ing_conn *c, unsigned events);

/* Closes c now (committing its staged events first) and frees its slot. */
void ing_conn_close(struct ing_conn *c);

/* c's timer expired: 408 for a started request, else close. */
void ing_conn_on_timeout(struct ing_conn *c);

/* True when c holds no partial request and no pending output. */
bool ing_conn_is_idle(const struct ing_conn *c);

/*
 * server_route.c: answers one complete request (c->req); the body is
 * body[0..body_len) with any chunked framing already removed.  The answer
 * is queued with ing_conn_answer*.
 */
void ing_route_request(struct ing_conn *c, char *body, size_t body_len);

/*
 * server_route.c: whether the route will want this request's body, judged
 * from the head alone (path, method, Host, Content-Type, Content-Encoding).
 * When it will not, ing_route_request(c, NULL, 0) gives the answer it
 * would give anyway, without the body (RFC 9110 §10.1.1).
 */
bool ing_route_wants_body(const struct ing_conn *c);

/*
 * server_conn.c: queues an answer to the current request.  Keep-alive is
 * decided here (the request's wish, unless the connection is closing or
 * the worker is draining); extra_headers is NULL or CRLF-ended lines.
 */
void ing_conn_answer(struct ing_conn *c, int status, const char *extra_headers,
                     const char *body, size_t body_len);

/* Queues the JSON error answer for err; close forces Connection: close
 * (for errors after which the request framing cannot be trusted). */
void ing_conn_answer_error(struct ing_conn *c, const struct ing_err *err,
                           bool close);

#endif
