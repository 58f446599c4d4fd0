/*
 * server_conn.c - one client connection: read into a pooled buffer, parse
 * the request in place, receive its body, hand it to the router, write the
 * answers.  Requests pipelined in one read are answered in order and their
 * answers leave in one write (the worker's staging buffer).
 *
 * Buffer life: a connection takes a small buffer when bytes arrive and
 * gives it back as soon as no partial request remains, so an idle
 * keep-alive connection holds no buffer.  A body that does not fit moves
 * once into a large buffer: the bytes already received (at most one small
 * buffer) are copied; everything after is read in place.
 */
#include "server_int.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

static const char continue_answer[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* Room kept free in the staging buffer for one more answer: the longest
 * is an error (head of ~250 bytes, body of at most 512). */
#define ANSWER_ROOM 2048

static void conn_watch(struct ing_conn *c, unsigned events)
{
    if (c->watching != events) {
        ing_loop_modify(c->worker->loop, c->fd, events, c);
        c->watching = events;
    }
}

void ing_conn_open(struct ing_worker *w, struct ing_conn *c, int fd)
{
    int one = 1;

    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->worker = w;
    c->phase = CONN_PHASE_HEAD;

    /* Answers are small and complete: send them now, not after an ACK. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (ing_loop_add(w->loop, fd, ING_LOOP_READ, c) != 0) {
        ING_LOG_ERRNO(ING_LOG_WARN, "conn", errno, "epoll_ctl() failed");
        close(fd);
        ing_worker_conn_release(w, c);
        return;
    }
    c->watching = ING_LOOP_READ;

    /* A new connection gets the read timeout for its first bytes, not the
     * idle timeout: one that never sends anything is closed in seconds. */
    ing_worker_timer_set(w, c, CONN_TIMER_RECV);
}

bool ing_conn_is_idle(const struct ing_conn *c)
{
    return c->in == NULL && c->out == NULL;
}

void ing_conn_close(struct ing_conn *c)
{
    struct ing_worker *w = c->worker;

    assert(!c->awaiting);
    if (c->in_group) {
        ing_group_commit(w); /* its staged views point into c->in */
    }
    close(c->fd);
    if (c->in != NULL) {
        ing_pool_put(&w->pool, c->in);
        c->in = NULL;
    }
    if (c->out != NULL) {
        ing_pool_put(&w->pool, c->out);
        c->out = NULL;
    }
    ing_worker_conn_release(w, c);
}

/*
 * Closing a socket that still has unread input makes the kernel send a
 * reset, which can destroy the answer before the client reads it (a 413
 * sent while the client is still sending its body).  So: half-close, read
 * and discard until the client closes or the linger timer fires.
 */
static void conn_linger(struct ing_conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->lingering = true;
    if (c->in != NULL) {
        ing_pool_put(&c->worker->pool, c->in);
        c->in = NULL;
    }
    conn_watch(c, ING_LOOP_READ);
    ing_worker_timer_set(c->worker, c, CONN_TIMER_LINGER);
}

static void conn_linger_read(struct ing_conn *c)
{
    char sink[4096];
    ssize_t n = read(c->fd, sink, sizeof(sink));

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        ing_conn_close(c);
    }
}

/* Keeps the answer bytes the socket did not take, for the next EPOLLOUT. */
static bool conn_stash(struct ing_conn *c, const char *data, size_t len)
{
    struct ing_pool *pool = &c->worker->pool;

    c->out = len <= pool->small_bytes ? ing_pool_get_small(pool)
                                      : ing_pool_get_large(pool);
    if (c->out != NULL && c->out->cap < len) {
        ing_pool_put(pool, c->out);
        c->out = NULL;
    }
    if (c->out == NULL) {
        return false;
    }
    memcpy(c->out->data, data, len);
    c->out_off = 0;
    c->out_len = len;
    return true;
}

/* Moves the staged answers into the connection's own buffer, where they
 * wait for the group commit. */
static bool conn_stash_staged(struct ing_conn *c)
{
    struct ing_http_out *staged = &c->worker->out;
    bool ok = staged->len == 0 || conn_stash(c, staged->data, staged->len);

    staged->len = 0;
    return ok;
}

/*
 * Writes the worker's staged answers for this connection.  What the
 * socket does not take is stashed, and the connection stops reading until
 * it is written (a client that pipelines without reading gets no more
 * answers queued than one buffer).  Returns ING_OK or ING_ERROR (close).
 */
static int conn_flush(struct ing_conn *c)
{
    struct ing_http_out *staged = &c->worker->out;
    size_t done = 0;
    int rc = ING_OK;

    if (staged->len == 0) {
        return ING_OK;
    }

    ssize_t n = write(c->fd, staged->data, staged->len);
    if (n > 0) {
        done = (size_t)n;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        rc = ING_ERROR;
    }

    if (rc == ING_OK && done < staged->len &&
        !conn_stash(c, staged->data + done, staged->len - done)) {
        rc = ING_ERROR;
    }
    staged->len = 0;
    if (rc == ING_OK && c->out != NULL) {
        conn_watch(c, ING_LOOP_WRITE);
        ing_worker_timer_set(c->worker, c, CONN_TIMER_WRITE);
    }
    return rc;
}

static int conn_write_pending(struct ing_conn *c)
{
    ssize_t n =
        write(c->fd, c->out->data + c->out_off, c->out_len - c->out_off);

    if (n < 0) {
        return errno == EAGAIN || errno == EINTR ? ING_AGAIN : ING_ERROR;
    }
    c->out_off += (size_t)n;
    if (c->out_off < c->out_len) {
        return ING_AGAIN;
    }
    ing_pool_put(&c->worker->pool, c->out);
    c->out = NULL;
    return ING_OK;
}

void ing_conn_answer(struct ing_conn *c, int status, const char *extra_headers,
                     const char *body, size_t body_len)
{
    struct ing_worker *w = c->worker;
    struct ing_http_answer a = {
        .status = status,
        .keep_alive =
            c->req.keep_alive && !c->close_after_write && !w->draining,
        .announce_keep_alive = c->req.version_minor == 0,
        .extra_headers = extra_headers,
        .body = body,
        .body_len = body_len,
        .omit_body = c->req.method == ING_HTTP_HEAD,
    };

    if (!a.keep_alive) {
        c->close_after_write = true;
    }

    if (status == 202 && a.keep_alive && !a.announce_keep_alive &&
        body_len == sizeof(ING_QUEUED_BODY) - 1 &&
        memcmp(body, ING_QUEUED_BODY, body_len) == 0 &&
        w->out.cap - w->out.len >= w->queued_answer_len) {
        memcpy(w->out.data + w->out.len, w->queued_answer,
               w->queued_answer_len);
        w->out.len += w->queued_answer_len;
        return;
    }

    /* conn_process keeps ANSWER_ROOM free, so this fits. */
    if (!ing_http_response_append(&w->out, &a, &w->date)) {
        ING_ERROR_LOG("conn", "answer does not fit status=%d", status);
        c->close_after_write = true;
    }
}

void ing_conn_answer_error(struct ing_conn *c, const struct ing_err *err,
                           bool close)
{
    char body[512];
    const char *extra = NULL;
    size_t len = ing_http_error_body(body, sizeof(body), err);

    if (close) {
        c->close_after_write = true;
    }
    if (err->code == ING_ERR_UNAVAILABLE) {
        extra = "Retry-After: 1\r\n";
    }
    ing_conn_answer(c, (int)err->code, extra, body, len);
}

/* Answers an error found while receiving: the request is abandoned. */
static int conn_fail(struct ing_conn *c, const struct ing_err *err)
{
    ING_DEBUG("conn", "request rejected status=%d reason=\"%s\" offset=%zu",
              (int)err->code, err->message ? err->message : "", err->offset);
    ing_conn_answer_error(c, err, true);
    return ING_ERROR;
}

/* Moves the unprocessed bytes to the front of the buffer. */
static void conn_compact(struct ing_conn *c)
{
    size_t pending = c->in_len - c->in_start;

    memmove(c->in->data, c->in->data + c->in_start, pending);
    c->in_start = 0;
    c->in_len = pending;
}

/*
 * The parsed head holds views into the buffer; after its bytes moved they
 * must point at the new place.  Parsing again is simpler than adjusting
 * every view and costs a few hundred nanoseconds, once per large body.
 */
static int conn_rebase_head(struct ing_conn *c)
{
    struct ing_err err;

    if (c->phase != CONN_PHASE_BODY) {
        return ING_OK;
    }
    ing_err_clear(&err);
    int rc = ing_http_request_parse(
        c->in->data + c->in_start, c->in_len - c->in_start,
        c->worker->cfg->max_header_bytes, &c->req, &err);
    assert(rc > 0);
    return rc > 0 ? ING_OK : ING_ERROR;
}

/*
 * Makes room for a request of `need` bytes (head + body, or "more" for a
 * chunked body of unknown size): compact, or move to a large buffer.
 */
static int conn_make_room(struct ing_conn *c, size_t need)
{
    struct ing_worker *w = c->worker;
    struct ing_err err;

    if (c->in_start + need <= c->in->cap) {
        return ING_OK;
    }
    if (c->in_group) {
        ing_group_commit(w); /* staged views point into this buffer */
    }
    if (need <= c->in->cap && c->in_start > 0) {
        conn_compact(c);
        return conn_rebase_head(c);
    }

    ing_err_clear(&err);
    if (c->in->large) {
        ing_err_set(&err, ING_ERR_TOO_LARGE, "request body too large",
                    ING_ERR_NONE);
        return conn_fail(c, &err);
    }

    struct ing_buf *large = ing_pool_get_large(&w->pool);
    if (large == NULL) {
        ing_err_set(&err, ING_ERR_UNAVAILABLE, "server busy: no buffer",
                    ING_ERR_NONE);
        return conn_fail(c, &err);
    }
    memcpy(large->data, c->in->data + c->in_start, c->in_len - c->in_start);
    c->in_len -= c->in_start;
    c->in_start = 0;
    ing_pool_put(&w->pool, c->in);
    c->in = large;
    return conn_rebase_head(c);
}

/* Decisions the head alone allows, before any body byte is looked at. */
static int conn_check_head(struct ing_conn *c)
{
    const struct ing_config *cfg = c->worker->cfg;
    struct ing_err err;

    ing_err_clear(&err);
    if (c->req.expect_unsupported) {
        ing_err_set(&err, ING_ERR_EXPECTATION, "unsupported Expect value",
                    ING_ERR_NONE);
        return conn_fail(c, &err);
    }
    if (c->req.has_content_length &&
        c->req.content_length > cfg->max_body_bytes) {
        /* RFC 9110 §15.5.14: refuse before reading the body. */
        ing_err_set(&err, ING_ERR_TOO_LARGE, "request body too large",
                    ING_ERR_NONE);
        return conn_fail(c, &err);
    }
    if (c->req.chunked) {
        ing_http_chunked_init(&c->chunked, cfg->max_body_bytes,
                              cfg->max_header_bytes);
    }

    bool has_body = c->req.chunked || c->req.content_length > 0;
    size_t received = c->in_len - c->in_start - c->req.head_bytes;
    if (c->req.expect_continue && has_body && received == 0 &&
        c->req.version_minor >= 1) {
        struct ing_http_out *out = &c->worker->out;

        /* The route's final answer instead of 100; the client may still
         * send the body, so the connection closes (and drains) after it. */
        if (!ing_route_wants_body(c)) {
            c->close_after_write = true;
            ing_route_request(c, NULL, 0);
            return ING_ERROR;
        }

        if (out->cap - out->len >= sizeof(continue_answer)) {
            memcpy(out->data + out->len, continue_answer,
                   sizeof(continue_answer) - 1);
            out->len += sizeof(continue_answer) - 1;
        }
    }
    return ING_OK;
}

static int conn_parse_head(struct ing_conn *c)
{
    struct ing_err err;

    ing_err_clear(&err);
    int rc = ing_http_request_parse(
        c->in->data + c->in_start, c->in_len - c->in_start,
        c->worker->cfg->max_header_bytes, &c->req, &err);
    if (rc == ING_AGAIN) {
        return ING_AGAIN;
    }
    if (rc < 0) {
        return conn_fail(c, &err);
    }
    c->phase = CONN_PHASE_BODY;
    return conn_check_head(c);
}

static int conn_body_chunked(struct ing_conn *c, char **body, size_t *body_len)
{
    size_t body_start = c->in_start + c->req.head_bytes;
    struct ing_err err;

    ing_err_clear(&err);
    int rc = ing_http_chunked_decode(&c->chunked, c->in->data + body_start,
                                     c->in_len - body_start, &err);
    if (rc == ING_ERROR) {
        return conn_fail(c, &err);
    }
    if (rc == ING_AGAIN) {
        /* Full buffer, body not complete: drop the consumed framing, and
         * only if that frees nothing ask for a bigger buffer. */
        if (c->in_len == c->in->cap) {
            c->in_len = body_start + ing_http_chunked_compact(
                                         &c->chunked, c->in->data + body_start,
                                         c->in_len - body_start);
        }
        if (c->in_len == c->in->cap) {
            size_t more = c->in_len - c->in_start + 1;

            return conn_make_room(c, more) == ING_OK ? ING_AGAIN : ING_ERROR;
        }
        return ING_AGAIN;
    }

    *body = c->in->data + body_start;
    *body_len = c->chunked.decoded_bytes;
    c->req_end = body_start + c->chunked.raw_consumed;
    return ING_OK;
}

static int conn_body_sized(struct ing_conn *c, char **body, size_t *body_len)
{
    size_t length =
        c->req.has_content_length ? (size_t)c->req.content_length : 0;
    size_t need = c->req.head_bytes + length;

    if (c->in_len - c->in_start < need) {
        return conn_make_room(c, need) == ING_OK ? ING_AGAIN : ING_ERROR;
    }

    *body = c->in->data + c->in_start + c->req.head_bytes;
    *body_len = length;
    c->req_end = c->in_start + need;
    return ING_OK;
}

/* One request ended: its answer is queued; move to the next. */
static void conn_request_done(struct ing_conn *c)
{
    c->requests_done++;
    c->in_start = c->req_end;
    c->phase = CONN_PHASE_HEAD;
    if (c->worker->draining) {
        c->close_after_write = true;
    }
}

/*
 * Handles every complete request in the buffer, in order.  Stops at an
 * incomplete one, at an answer that closes the connection, and while
 * answers are waiting for the socket (backpressure on pipelining).
 */
static void conn_process(struct ing_conn *c)
{
    struct ing_http_out *staged = &c->worker->out;

    while (c->in != NULL && c->in_start < c->in_len && !c->close_after_write &&
           c->out == NULL && staged->cap - staged->len >= ANSWER_ROOM) {
        char *body = NULL;
        size_t body_len = 0;
        int rc = ING_OK;

        if (c->phase == CONN_PHASE_HEAD) {
            rc = conn_parse_head(c);
        }
        if (rc == ING_OK) {
            rc = c->req.chunked ? conn_body_chunked(c, &body, &body_len)
                                : conn_body_sized(c, &body, &body_len);
        }
        if (rc != ING_OK) {
            break;
        }

        ing_route_request(c, body, body_len);
        conn_request_done(c);
    }
}

/*
 * After a round of work: close, keep waiting for output, or wait for the
 * next request; give back an empty input buffer; pick the timer.
 */
static void conn_settle(struct ing_conn *c, bool request_started)
{
    struct ing_worker *w = c->worker;

    if (c->out != NULL) {
        return; /* conn_flush set the write watch and timer */
    }
    if (c->close_after_write) {
        conn_linger(c);
        return;
    }

    conn_watch(c, ING_LOOP_READ);
    if (c->in != NULL && c->in_start == c->in_len) {
        ing_pool_put(&w->pool, c->in);
        c->in = NULL;
    } else if (c->in != NULL && c->phase == CONN_PHASE_HEAD &&
               c->in_start > 0) {
        conn_compact(c);
    }

    if (c->in == NULL) {
        ing_worker_timer_set(w, c, CONN_TIMER_IDLE);
    } else if (request_started || c->timer != CONN_TIMER_RECV) {
        ing_worker_timer_set(w, c, CONN_TIMER_RECV);
    }
}

/*
 * Runs the buffered requests and sends their answers, or, when some of
 * them staged events, parks the answers until the group commit
 * (server_group.c).  Returns false when the connection was closed.
 */
static bool conn_work(struct ing_conn *c, bool request_started)
{
    uint64_t done_before = c->requests_done;
    uint64_t done;

    do {
        done = c->requests_done;
        conn_process(c);
        if (c->awaiting) {
            if (!conn_stash_staged(c)) {
                c->close_after_write = true;
            }
            return true;
        }
        if (conn_flush(c) != ING_OK) {
            ing_conn_close(c);
            return false;
        }
    } while (c->requests_done > done && c->out == NULL &&
             !c->close_after_write && c->in != NULL && c->in_start < c->in_len);

    conn_settle(c, request_started || c->requests_done != done_before);
    return true;
}

static void conn_read(struct ing_conn *c)
{
    struct ing_worker *w = c->worker;

    if (c->in == NULL) {
        c->in = ing_pool_get_small(&w->pool);
        if (c->in == NULL) {
            ING_WARN("conn", "out of memory for a connection buffer");
            ing_conn_close(c);
            return;
        }
        c->in_start = 0;
        c->in_len = 0;
    }

    bool starting = c->in_start == c->in_len;
    ssize_t n = read(c->fd, c->in->data + c->in_len, c->in->cap - c->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        /* EOF or reset: a partial request gets no answer (no one reads). */
        ing_conn_close(c);
        return;
    }

    c->in_len += (size_t)n;
    conn_work(c, starting);
}

/* The group this connection's events were in could not be stored: the
 * answers it queued are replaced by one 503, and the connection closes
 * (the client retries the requests that got no answer). */
static void conn_answer_store_failed(struct ing_conn *c)
{
    struct ing_worker *w = c->worker;
    char body[512];
    size_t len = ing_http_error_body(body, sizeof(body), &w->group_err);
    struct ing_http_answer a = {
        .status = 503,
        .keep_alive = false,
        .extra_headers = "Retry-After: 1\r\n",
        .body = body,
        .body_len = len,
    };

    c->close_after_write = true;
    if (c->out == NULL) {
        c->out = ing_pool_get_small(&w->pool);
        if (c->out == NULL) {
            return;
        }
    }

    struct ing_http_out out = {c->out->data, 0, c->out->cap};
    ing_http_response_append(&out, &a, &w->date);
    c->out_off = 0;
    c->out_len = out.len;
}

/* ack=durable: the answers wait for an fsync; read nothing meanwhile
 * (a level-triggered watch would spin) and let no timer close us. */
void ing_conn_park(struct ing_conn *c)
{
    conn_watch(c, 0);
    ing_worker_timer_set(c->worker, c, CONN_TIMER_NONE);
}

void ing_conn_release_answers(struct ing_conn *c)
{
    if (c->store_failed) {
        c->store_failed = false;
        conn_answer_store_failed(c);
    }
    if (c->out == NULL) {
        conn_settle(c, false);
        return;
    }

    int rc = conn_write_pending(c);
    if (rc == ING_ERROR) {
        ing_conn_close(c);
    } else if (rc == ING_AGAIN) {
        conn_watch(c, ING_LOOP_WRITE);
        ing_worker_timer_set(c->worker, c, CONN_TIMER_WRITE);
    } else {
        conn_work(c, false);
    }
}

void ing_conn_on_event(struct ing_conn *c, unsigned events)
{
    if (c->lingering) {
        conn_linger_read(c);
        return;
    }

    if (c->out != NULL && (events & (ING_LOOP_WRITE | ING_LOOP_HUP))) {
        int rc = conn_write_pending(c);
        if (rc == ING_ERROR) {
            ing_conn_close(c);
            return;
        }
        if (rc == ING_AGAIN) {
            return;
        }
        /* Output drained: go on with requests already buffered. */
        conn_work(c, true);
        return;
    }

    if (events & (ING_LOOP_READ | ING_LOOP_HUP)) {
        conn_read(c);
    }
}

void ing_conn_on_timeout(struct ing_conn *c)
{
    struct ing_err err;

    /* Only a started request earns a 408; stray CRLFs do not (§2.2). */
    if (c->timer != CONN_TIMER_RECV || c->lingering || c->in == NULL ||
        ing_http_request_is_blank(c->in->data + c->in_start,
                                  c->in_len - c->in_start)) {
        ing_conn_close(c);
        return;
    }

    /* RFC 9110 §15.5.9: 408 for a request not received in time. */
    ing_err_clear(&err);
    ing_err_set(&err, ING_ERR_TIMEOUT, "request not received in time",
                ING_ERR_NONE);
    ing_conn_answer_error(c, &err, true);
    if (conn_flush(c) != ING_OK || c->out == NULL) {
        ing_conn_close(c);
    }
}
