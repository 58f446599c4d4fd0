/*
 * server_worker.c - one worker thread: its listening socket (SO_REUSEPORT,
 * so the kernel spreads connections over workers), its event loop, its
 * connections, its timeouts and its spool partition.  Nothing here is
 * shared with another worker, so the request path takes no lock.
 */
#include "server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Small buffers hold the head limit plus a typical single-event body. */
#define SMALL_BUFFER_MIN (16 * 1024)
/* Staging for answers: pipelined answers leave in one write. */
#define OUT_STAGING_BYTES  (64 * 1024)
#define ACCEPT_BURST       64
#define EVENTS_PER_WAIT    128
#define TICK_MS            100
#define GROUP_EXTRA_EVENTS 4096
/* After an answer that closes: how long to drain what the client still
 * sends, so that our close does not reset the answer away. */
#define LINGER_MS 2000

static uint64_t clock_ms(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void worker_clock(struct ing_worker *w)
{
    time_t second = w->date.second;

    w->now_ms = clock_ms(CLOCK_MONOTONIC_COARSE);
    ing_http_date_update(&w->date, time(NULL));
    if (w->date.second != second) {
        struct ing_http_out out = {w->queued_answer, 0,
                                   sizeof(w->queued_answer)};
        struct ing_http_answer a = {
            .status = 202,
            .keep_alive = true,
            .body = ING_QUEUED_BODY,
            .body_len = sizeof(ING_QUEUED_BODY) - 1,
        };

        ing_http_response_append(&out, &a, &w->date);
        w->queued_answer_len = out.len;
    }
}

static int worker_alloc(struct ing_worker *w, const struct ing_config *cfg)
{
    size_t small = cfg->max_header_bytes + 4096;
    size_t large = cfg->max_header_bytes + cfg->max_body_bytes + 16384;

    if (small < SMALL_BUFFER_MIN) {
        small = SMALL_BUFFER_MIN;
    }
    ing_pool_init(&w->pool, small, large, cfg->max_large_buffers);

    w->conn_max = (cfg->max_connections + cfg->threads - 1) / cfg->threads;
    w->conns = calloc(w->conn_max, sizeof(*w->conns));
    w->out.data = malloc(OUT_STAGING_BYTES);
    w->out.cap = OUT_STAGING_BYTES;
    w->decoded = malloc(cfg->max_decoded_bytes);
    w->decoder = ing_body_decoder_create();
    w->scratch = ing_event_scratch_create(&w->limits, cfg->max_decoded_bytes);
    w->loop = ing_loop_create();
    if (w->conns == NULL || w->out.data == NULL || w->decoded == NULL ||
        w->decoder == NULL || w->scratch == NULL || w->loop == NULL) {
        ING_ERROR_LOG("worker", "out of memory at start-up worker=%u", w->id);
        return ING_ERROR;
    }

    for (size_t i = w->conn_max; i-- > 0;) {
        w->conns[i].fd = -1;
        w->conns[i].next = w->free_conns;
        w->free_conns = &w->conns[i];
    }
    return ING_OK;
}

static int worker_open_spool(struct ing_worker *w)
{
    struct ing_spool_options opt = {
        .data_dir = w->cfg->data_dir,
        .segment_bytes = w->cfg->segment_bytes,
        .max_batch_events = w->group_cap,
        .max_bytes = w->cfg->spool_max_bytes / w->cfg->threads,
        .retention_bytes = w->cfg->retention_bytes / w->cfg->threads,
        .retention_age_ms = w->cfg->retention_age_ms,
        /* Both modes: the memory mode's periodic fsync also goes through
         * the sync thread, which only ever syncs the current segment. */
        .durable = true,
    };
    struct ing_err err;

    ing_err_clear(&err);
    return ing_spool_partition_open(&opt, w->id, &w->spool, &err);
}

int ing_worker_init(struct ing_worker *w, unsigned id,
                    const struct ing_config *cfg)
{
    memset(w, 0, sizeof(*w));
    w->date.second = -1;
    w->id = id;
    w->cfg = cfg;
    w->listen_fd = -1;
    w->wake_fd = -1;
    w->sync.done_fd = -1;
    atomic_init(&w->stop_requested, false);
    w->limits.max_events = cfg->max_batch_events;
    w->limits.max_metadata_pairs = cfg->max_metadata_pairs;
    w->limits.max_depth = (unsigned)cfg->max_depth;
    w->timeout_ms[CONN_TIMER_RECV] = cfg->read_timeout_ms;
    w->timeout_ms[CONN_TIMER_WRITE] = cfg->write_timeout_ms;
    w->timeout_ms[CONN_TIMER_IDLE] = cfg->idle_timeout_ms;
    w->timeout_ms[CONN_TIMER_LINGER] = LINGER_MS;
    worker_clock(w);

    /* A group holds a whole batch plus the single events around it. */
    if (worker_alloc(w, cfg) != ING_OK ||
        ing_group_init(w, cfg->max_batch_events + GROUP_EXTRA_EVENTS) !=
            ING_OK) {
        return ING_ERROR;
    }

    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_fd < 0 ||
        ing_loop_add(w->loop, w->wake_fd, ING_LOOP_READ, &w->wake_fd) != 0) {
        ING_LOG_ERRNO(ING_LOG_ERROR, "worker", errno,
                      "eventfd() failed worker=%u", id);
        return ING_ERROR;
    }
    if (worker_open_spool(w) != ING_OK || ing_sync_start(&w->sync, id) != 0 ||
        ing_loop_add(w->loop, w->sync.done_fd, ING_LOOP_READ,
                     &w->sync.done_fd) != 0) {
        return ING_ERROR;
    }
    return ING_OK;
}

void ing_worker_fini(struct ing_worker *w)
{
    ing_sync_stop(&w->sync);
    if (w->spool != NULL) {
        ing_spool_partition_close(w->spool);
        w->spool = NULL;
    }
    if (w->listen_fd >= 0) {
        close(w->listen_fd);
    }
    if (w->wake_fd >= 0) {
        close(w->wake_fd);
    }
    ing_group_fini(w);
    ing_loop_destroy(w->loop);
    ing_event_scratch_destroy(w->scratch);
    ing_body_decoder_destroy(w->decoder);
    free(w->decoded);
    free(w->out.data);
    free(w->conns);
    ing_pool_fini(&w->pool);
}

static void list_unlink(struct conn_list *list, struct ing_conn *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        list->head = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    } else {
        list->tail = c->prev;
    }
    c->prev = NULL;
    c->next = NULL;
}

static void list_append(struct conn_list *list, struct ing_conn *c)
{
    c->prev = list->tail;
    c->next = NULL;
    if (list->tail != NULL) {
        list->tail->next = c;
    } else {
        list->head = c;
    }
    list->tail = c;
}

/*
 * Each timer kind has one fixed timeout, so appending at the tail keeps a
 * list sorted by expiry: the sweep looks only at heads, O(1) per expired
 * connection, with no heap or wheel.
 */
void ing_worker_timer_set(struct ing_worker *w, struct ing_conn *c,
                          enum conn_timer timer)
{
    if (c->timer != CONN_TIMER_NONE) {
        list_unlink(&w->timers[c->timer], c);
    }
    c->timer = timer;
    c->timer_start_ms = w->now_ms;
    if (timer != CONN_TIMER_NONE) {
        list_append(&w->timers[timer], c);
    }
}

static void worker_sweep_timers(struct ing_worker *w)
{
    for (int t = CONN_TIMER_RECV; t < CONN_TIMER_COUNT; t++) {
        struct conn_list *list = &w->timers[t];

        while (list->head != NULL &&
               w->now_ms - list->head->timer_start_ms >= w->timeout_ms[t]) {
            ing_conn_on_timeout(list->head);
        }
    }
}

/*
 * Answer to a connection over the limit: one write, best effort, close.
 * The request is not read (there is no connection slot to read it into),
 * so a client that already sent one may see a reset instead.
 */
static void worker_refuse(struct ing_worker *w, int fd)
{
    static const char body[] =
        "{\"status\":\"unavailable\",\"error\":\"too many connections\"}";
    char text[512];
    struct ing_http_out out = {text, 0, sizeof(text)};
    struct ing_http_answer a = {
        .status = 503,
        .keep_alive = false,
        .extra_headers = "Retry-After: 1\r\n",
        .body = body,
        .body_len = sizeof(body) - 1,
    };

    if (ing_http_response_append(&out, &a, &w->date)) {
        ssize_t unused = write(fd, out.data, out.len);
        (void)unused;
    }
    close(fd);
}

/*
 * Out of descriptors: the pending connection stays in the queue and the
 * level-triggered listener would wake us at once, forever.  Stop watching
 * it until the next timer tick, and log once per incident.
 */
static void worker_accept_pause(struct ing_worker *w, int errnum)
{
    if (!w->accept_failing) {
        ING_LOG_ERRNO(ING_LOG_WARN, "worker", errnum,
                      "accept4() failed, pausing accepts: out of descriptors "
                      "connections=%zu",
                      w->conn_count);
        w->accept_failing = true;
    }
    ing_loop_modify(w->loop, w->listen_fd, 0, &w->listen_fd);
    w->accept_paused = true;
}

static void worker_accept_resume(struct ing_worker *w)
{
    if (w->accept_paused && w->listen_fd >= 0) {
        ing_loop_modify(w->loop, w->listen_fd, ING_LOOP_READ, &w->listen_fd);
        w->accept_paused = false;
    }
}

static void worker_accept(struct ing_worker *w)
{
    for (int i = 0; i < ACCEPT_BURST; i++) {
        int fd =
            accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                worker_accept_pause(w, errno);
            }
            return;
        }
        if (w->accept_failing) {
            ING_INFO("worker", "accepting again connections=%zu",
                     w->conn_count);
            w->accept_failing = false;
        }

        struct ing_conn *c = w->free_conns;
        if (c == NULL) {
            ING_DEBUG("worker", "connection refused: limit reached max=%zu",
                      w->conn_max);
            worker_refuse(w, fd);
            continue;
        }
        w->free_conns = c->next;
        c->next = NULL;
        w->conn_count++;
        ing_conn_open(w, c, fd);
    }
}

/* Retention runs on the worker (it owns the partition) once a second;
 * it makes no system call when nothing is due. */
static void worker_retain(struct ing_worker *w)
{
    if (w->now_ms - w->last_retain_ms < 1000) {
        return;
    }
    w->last_retain_ms = w->now_ms;
    ing_spool_partition_retain(w->spool, clock_ms(CLOCK_REALTIME));
}

/* Called by server_conn.c when a connection has been closed. */
void ing_worker_conn_release(struct ing_worker *w, struct ing_conn *c)
{
    ing_worker_timer_set(w, c, CONN_TIMER_NONE);
    c->fd = -1;
    c->next = w->free_conns;
    w->free_conns = c;
    w->conn_count--;
}

/*
 * SIGTERM: stop accepting (closing our SO_REUSEPORT socket; connections
 * still in its accept queue are reset by the kernel), close idle
 * connections now, and let busy ones finish their request; server_conn.c
 * closes each after its answer once w->draining is set.
 */
static void worker_begin_drain(struct ing_worker *w)
{
    uint64_t count;
    ssize_t unused = read(w->wake_fd, &count, sizeof(count));
    (void)unused;

    if (w->draining) {
        return;
    }
    w->draining = true;
    w->drain_deadline_ms = w->now_ms + w->cfg->shutdown_timeout_ms;
    if (w->listen_fd >= 0) {
        ing_loop_remove(w->loop, w->listen_fd);
        close(w->listen_fd);
        w->listen_fd = -1;
    }

    for (size_t i = 0; i < w->conn_max; i++) {
        struct ing_conn *c = &w->conns[i];

        if (c->fd >= 0 && ing_conn_is_idle(c)) {
            ing_conn_close(c);
        }
    }
    ING_INFO("worker", "draining connections=%zu", w->conn_count);
}

static void worker_close_all(struct ing_worker *w)
{
    for (size_t i = 0; i < w->conn_max; i++) {
        if (w->conns[i].fd >= 0) {
            ing_conn_close(&w->conns[i]);
        }
    }
}

/* Handles one turn's events; returns true when the wake fd fired. */
static bool worker_dispatch(struct ing_worker *w, struct ing_loop_event *ev,
                            int n)
{
    bool woken = false;

    for (int i = 0; i < n; i++) {
        if (ev[i].ctx == &w->listen_fd) {
            worker_accept(w);
        } else if (ev[i].ctx == &w->wake_fd) {
            woken = true;
        } else if (ev[i].ctx == &w->sync.done_fd) {
            ing_group_synced(w);
        } else {
            ing_conn_on_event(ev[i].ctx, ev[i].events);
        }
    }
    return woken;
}

void *ing_worker_main(void *arg)
{
    struct ing_worker *w = arg;
    struct ing_loop_event events[EVENTS_PER_WAIT];
    uint64_t last_sweep_ms = w->now_ms;

    ing_log_set_worker((int)w->id);
    while (!w->draining ||
           (w->conn_count > 0 && w->now_ms < w->drain_deadline_ms)) {
        int n = ing_loop_wait(w->loop, events, EVENTS_PER_WAIT, TICK_MS);
        if (n < 0) {
            ING_LOG_ERRNO(ING_LOG_ERROR, "worker", errno,
                          "epoll_wait() failed");
            w->exit_status = 1;
            break;
        }

        worker_clock(w);
        bool woken = worker_dispatch(w, events, n);

        /* Answers of this turn leave once their events are stored; only
         * then may connections be closed by drain or timers. */
        ing_group_flush(w);
        if (woken) {
            worker_begin_drain(w);
        }
        if (w->now_ms - last_sweep_ms >= TICK_MS) {
            worker_accept_resume(w);
            ing_group_sync_tick(w);
            worker_sweep_timers(w);
            worker_retain(w);
            last_sweep_ms = w->now_ms;
        }
    }

    if (w->conn_count > 0) {
        ING_WARN("worker", "shutdown timeout: closing connections=%zu",
                 w->conn_count);
        ing_group_abandon(w);
    }
    worker_close_all(w);

    struct ing_err err;
    ing_err_clear(&err);
    if (ing_spool_partition_sync(w->spool, &err) != ING_OK) {
        w->exit_status = 1;
    }
    return NULL;
}
