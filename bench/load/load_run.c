/*
 * load_run.c - open-loop schedule over keep-alive connections, one thread,
 * epoll.  See load_run.h for what is measured and why.
 *
 * The generator sleeps until the next request is due with a nanosecond
 * epoll_pwait2() timeout and a 1 ns timer slack rather than spinning: on
 * a two-core machine a spinning generator would compete with the server
 * for memory bandwidth and turbo budget, and the schedule only needs to
 * be a few microseconds exact against latencies of tens of microseconds.
 */
#include "load_run.h"

#include "ing_err.h"
#include "load_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S           1000000000ull
#define IN_BUF_BYTES       16384
#define MAX_EVENTS         64
#define CONNECT_TIMEOUT_NS (3 * NS_PER_S)
#define BACKLOG_WAIT_NS    (50 * 1000 * 1000ull)

/* CLOSED first: a zeroed table holds no descriptor to close. */
enum conn_state { CONN_CLOSED, CONN_CONNECTING, CONN_IDLE, CONN_BUSY };

struct conn {
    int fd;
    enum conn_state state;
    const struct ing_view *out;
    size_t out_off;
    uint64_t due_ns;
    uint64_t sent_ns;
    size_t in_len;
    char in[IN_BUF_BYTES];
};

struct runner {
    const struct ing_load_config *cfg;
    struct ing_load_result *res;
    struct sockaddr_in addr;
    int epfd;
    struct conn *conns;
    unsigned *idle;
    unsigned idle_count;
    unsigned open_count;
    uint64_t t0_ns;
    uint64_t window_start_ns;
    uint64_t window_end_ns;
    uint64_t next_seq;
    uint64_t last_answer_ns;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t due_of(const struct runner *r, uint64_t seq)
{
    double offset_ns = (double)seq * 1e9 / r->cfg->rate_per_s;

    return r->t0_ns + (uint64_t)offset_ns;
}

static bool measured(const struct runner *r, uint64_t due_ns)
{
    return due_ns >= r->window_start_ns && due_ns < r->window_end_ns;
}

static void watch(struct runner *r, unsigned i, int op, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u32 = i};

    if (epoll_ctl(r->epfd, op, r->conns[i].fd, &ev) != 0) {
        perror("load: epoll_ctl");
    }
}

static int conn_open(struct runner *r, unsigned i)
{
    struct conn *c = &r->conns[i];
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        perror("load: socket");
        return ING_ERROR;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    int rc = connect(c->fd, (const struct sockaddr *)&r->addr, sizeof(r->addr));

    if (rc != 0 && errno != EINPROGRESS) {
        perror("load: connect");
        close(c->fd);
        c->state = CONN_CLOSED;
        return ING_ERROR;
    }
    c->state = CONN_CONNECTING;
    c->in_len = 0;
    watch(r, i, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT);
    return ING_OK;
}

static void conn_set_idle(struct runner *r, unsigned i)
{
    r->conns[i].state = CONN_IDLE;
    r->idle[r->idle_count++] = i;
}

static void conn_reopen(struct runner *r, unsigned i)
{
    struct conn *c = &r->conns[i];

    if (c->state == CONN_IDLE) {
        /* Drop it from the idle stack; the stack is short. */
        for (unsigned k = 0; k < r->idle_count; k++) {
            if (r->idle[k] == i) {
                r->idle[k] = r->idle[--r->idle_count];
                break;
            }
        }
    }
    close(c->fd);
    c->state = CONN_CLOSED;

    r->res->reconnects++;
    if (conn_open(r, i) != ING_OK) {
        r->open_count--;
    }
}

/* The request in flight, if any, is lost; the connection is replaced. */
static void conn_fail(struct runner *r, unsigned i)
{
    struct conn *c = &r->conns[i];

    if (c->state == CONN_BUSY && measured(r, c->due_ns)) {
        r->res->failed++;
    }
    conn_reopen(r, i);
}

static int flush_out(struct runner *r, unsigned i)
{
    struct conn *c = &r->conns[i];

    while (c->out_off < c->out->len) {
        ssize_t n =
            write(c->fd, c->out->ptr + c->out_off, c->out->len - c->out_off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            watch(r, i, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
            return ING_AGAIN;
        }
        if (n <= 0) {
            return ING_ERROR;
        }
        c->out_off += (size_t)n;
    }
    return ING_OK;
}

static void conn_send(struct runner *r, unsigned i, uint64_t seq, uint64_t now)
{
    struct conn *c = &r->conns[i];
    size_t which = (size_t)(seq % r->cfg->request_count);

    c->state = CONN_BUSY;
    c->out = &r->cfg->requests[which];
    c->out_off = 0;
    c->due_ns = due_of(r, seq);
    c->sent_ns = now;
    if (flush_out(r, i) == ING_ERROR) {
        conn_fail(r, i);
    }
}

static void dispatch(struct runner *r, uint64_t now)
{
    while (r->idle_count > 0) {
        uint64_t due = due_of(r, r->next_seq);

        if (due > now || due >= r->window_end_ns) {
            return;
        }
        conn_send(r, r->idle[--r->idle_count], r->next_seq, now);
        r->next_seq++;
    }
}

static void record(struct runner *r, struct conn *c, int status, uint64_t now)
{
    struct ing_load_result *res = r->res;

    if (!measured(r, c->due_ns)) {
        return;
    }
    if (status >= 200 && status < 300) {
        res->answered_2xx++;
    } else {
        res->answered_other++;
    }
    ing_load_hist_add(&res->corrected, now - c->due_ns);
    ing_load_hist_add(&res->uncorrected, now - c->sent_ns);
    r->last_answer_ns = now;
}

/* Consumes every complete response in c->in. */
static void take_responses(struct runner *r, unsigned i, uint64_t now)
{
    struct conn *c = &r->conns[i];

    for (;;) {
        struct ing_load_response rsp;
        long n = ing_load_http_response_parse(c->in, c->in_len, &rsp);

        if (n == ING_AGAIN) {
            return;
        }
        if (n == ING_ERROR || c->state != CONN_BUSY) {
            conn_fail(r, i);
            return;
        }
        record(r, c, rsp.status, now);
        c->in_len -= rsp.size;
        memmove(c->in, c->in + rsp.size, c->in_len);
        if (rsp.will_close) {
            conn_reopen(r, i);
            return;
        }
        conn_set_idle(r, i);
    }
}

static void on_readable(struct runner *r, unsigned i, uint64_t now)
{
    struct conn *c = &r->conns[i];

    if (c->state != CONN_BUSY && c->state != CONN_IDLE) {
        return;
    }

    ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        conn_fail(r, i);
        return;
    }
    c->in_len += (size_t)n;
    take_responses(r, i, now);
}

static void on_writable(struct runner *r, unsigned i)
{
    struct conn *c = &r->conns[i];
    int err = 0;
    socklen_t len = sizeof(err);

    if (c->state == CONN_CONNECTING) {
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            fprintf(stderr, "load: connect: %s\n", strerror(err));
            conn_fail(r, i);
            return;
        }
        watch(r, i, EPOLL_CTL_MOD, EPOLLIN);
        conn_set_idle(r, i);
        return;
    }
    if (c->state != CONN_BUSY) {
        return;
    }

    int rc = flush_out(r, i);

    if (rc == ING_OK) {
        watch(r, i, EPOLL_CTL_MOD, EPOLLIN);
    } else if (rc == ING_ERROR) {
        conn_fail(r, i);
    }
}

static int wait_events(struct runner *r, struct epoll_event *events,
                       uint64_t timeout_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / NS_PER_S),
                          .tv_nsec = (long)(timeout_ns % NS_PER_S)};
    int n = epoll_pwait2(r->epfd, events, MAX_EVENTS, &ts, NULL);

    if (n < 0 && errno == ENOSYS) {
        /* Kernels before 5.11: millisecond timeouts, rounded up so the
         * schedule is never run early. */
        int ms = (int)((timeout_ns + 999999u) / 1000000u);
        n = epoll_wait(r->epfd, events, MAX_EVENTS, ms);
    }
    return n;
}

static void poll_once(struct runner *r, uint64_t timeout_ns)
{
    struct epoll_event events[MAX_EVENTS];
    int n = wait_events(r, events, timeout_ns);
    uint64_t now = now_ns();

    for (int k = 0; k < n; k++) {
        unsigned i = events[k].data.u32;

        if (events[k].events & EPOLLOUT) {
            on_writable(r, i);
        }
        if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            on_readable(r, i, now);
        }
    }
}

static uint64_t next_wait_ns(const struct runner *r, uint64_t now)
{
    uint64_t due = due_of(r, r->next_seq);

    if (due >= r->window_end_ns || r->idle_count == 0) {
        /* Nothing more to send, or no idle connection to send it on:
         * only an answer (an event) can change that. */
        return BACKLOG_WAIT_NS;
    }
    return due > now ? due - now : 0;
}

static unsigned busy_count(const struct runner *r)
{
    unsigned busy = 0;

    for (unsigned i = 0; i < r->cfg->connections; i++) {
        if (r->conns[i].state == CONN_BUSY) {
            busy++;
        }
    }
    return busy;
}

static int connect_all(struct runner *r)
{
    uint64_t deadline = now_ns() + CONNECT_TIMEOUT_NS;

    for (unsigned i = 0; i < r->cfg->connections; i++) {
        if (conn_open(r, i) != ING_OK) {
            return ING_ERROR;
        }
    }
    r->open_count = r->cfg->connections;
    while (r->idle_count < r->cfg->connections) {
        if (now_ns() > deadline || r->open_count < r->cfg->connections) {
            fprintf(stderr, "load: could not open %u connections\n",
                    r->cfg->connections);
            return ING_ERROR;
        }
        poll_once(r, BACKLOG_WAIT_NS);
    }
    return ING_OK;
}

static int run_schedule(struct runner *r)
{
    r->t0_ns = now_ns();
    r->window_start_ns = r->t0_ns + r->cfg->warmup_ns;
    r->window_end_ns = r->window_start_ns + r->cfg->duration_ns;

    for (;;) {
        uint64_t now = now_ns();

        if (r->open_count == 0) {
            fprintf(stderr, "load: every connection was lost\n");
            return ING_ERROR;
        }
        if (now >= r->window_end_ns &&
            due_of(r, r->next_seq) >= r->window_end_ns) {
            return ING_OK;
        }
        if (now >= r->window_end_ns + r->cfg->drain_ns) {
            return ING_OK;
        }
        dispatch(r, now);
        poll_once(r, next_wait_ns(r, now));
    }
}

static void drain(struct runner *r)
{
    uint64_t deadline = r->window_end_ns + r->cfg->drain_ns;

    while (busy_count(r) > 0 && now_ns() < deadline) {
        poll_once(r, BACKLOG_WAIT_NS / 10);
    }
}

/*
 * Requests that never got an answer still happened to someone: each is
 * counted at least as late as the end of the drain, so an overloaded or
 * stalled server shows in the tail instead of vanishing from it.
 */
static void count_unanswered(struct runner *r)
{
    uint64_t now = now_ns();
    struct ing_load_result *res = r->res;

    for (unsigned i = 0; i < r->cfg->connections; i++) {
        struct conn *c = &r->conns[i];

        if (c->state == CONN_BUSY && measured(r, c->due_ns)) {
            res->unanswered++;
            ing_load_hist_add(&res->corrected, now - c->due_ns);
        }
    }
    for (uint64_t due = due_of(r, r->next_seq); due < r->window_end_ns;
         due = due_of(r, ++r->next_seq)) {
        if (measured(r, due)) {
            res->unanswered++;
            ing_load_hist_add(&res->corrected, now - due);
        }
    }
}

static void finish(struct runner *r)
{
    struct ing_load_result *res = r->res;
    uint64_t end = r->last_answer_ns > r->window_end_ns ? r->last_answer_ns
                                                        : r->window_end_ns;

    count_unanswered(r);
    res->scheduled =
        res->answered_2xx + res->answered_other + res->failed + res->unanswered;
    res->window_ns = end - r->window_start_ns;
    for (unsigned i = 0; i < r->cfg->connections; i++) {
        if (r->conns[i].state != CONN_CLOSED) {
            close(r->conns[i].fd);
        }
    }
}

int ing_load_run(const struct ing_load_config *cfg, struct ing_load_result *res)
{
    struct runner r = {.cfg = cfg, .res = res};
    int rc = ING_ERROR;

    ing_load_hist_reset(&res->corrected);
    ing_load_hist_reset(&res->uncorrected);
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    r.addr.sin_family = AF_INET;
    r.addr.sin_port = htons(cfg->port);
    if (inet_pton(AF_INET, cfg->host, &r.addr.sin_addr) != 1) {
        fprintf(stderr, "load: not an IPv4 address: %s\n", cfg->host);
        return ING_ERROR;
    }

    r.epfd = epoll_create1(EPOLL_CLOEXEC);
    r.conns = calloc(cfg->connections, sizeof(*r.conns));
    r.idle = calloc(cfg->connections, sizeof(*r.idle));
    if (r.epfd < 0 || r.conns == NULL || r.idle == NULL) {
        perror("load: setup");
        goto out;
    }

    if (connect_all(&r) == ING_OK && run_schedule(&r) == ING_OK) {
        drain(&r);
        rc = ING_OK;
    }
    finish(&r);

out:
    free(r.conns);
    free(r.idle);
    if (r.epfd >= 0) {
        close(r.epfd);
    }
    return rc;
}
