/*
 * loop_epoll.c - loop.h on Linux epoll.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Events fetched per epoll_wait; the caller's array may be smaller. */
#define LOOP_BATCH 256

struct ing_loop {
    int epfd;
    struct epoll_event ready[LOOP_BATCH];
};

static uint32_t to_epoll(unsigned events)
{
    uint32_t out = EPOLLRDHUP;

    if (events & ING_LOOP_READ) {
        out |= EPOLLIN;
    }
    if (events & ING_LOOP_WRITE) {
        out |= EPOLLOUT;
    }
    return out;
}

static unsigned from_epoll(uint32_t events)
{
    unsigned out = 0;

    if (events & EPOLLIN) {
        out |= ING_LOOP_READ;
    }
    if (events & EPOLLOUT) {
        out |= ING_LOOP_WRITE;
    }
    if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
        out |= ING_LOOP_HUP;
    }
    return out;
}

struct ing_loop *ing_loop_create(void)
{
    struct ing_loop *loop = calloc(1, sizeof(*loop));

    if (loop == NULL) {
        return NULL;
    }
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        int saved = errno;
        free(loop);
        errno = saved;
        return NULL;
    }
    return loop;
}

void ing_loop_destroy(struct ing_loop *loop)
{
    if (loop != NULL) {
        close(loop->epfd);
        free(loop);
    }
}

static int loop_ctl(struct ing_loop *loop, int op, int fd, unsigned events,
                    void *ctx)
{
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = ctx};

    return epoll_ctl(loop->epfd, op, fd, &ev);
}

int ing_loop_add(struct ing_loop *loop, int fd, unsigned events, void *ctx)
{
    return loop_ctl(loop, EPOLL_CTL_ADD, fd, events, ctx);
}

int ing_loop_modify(struct ing_loop *loop, int fd, unsigned events, void *ctx)
{
    return loop_ctl(loop, EPOLL_CTL_MOD, fd, events, ctx);
}

int ing_loop_remove(struct ing_loop *loop, int fd)
{
    return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int ing_loop_wait(struct ing_loop *loop, struct ing_loop_event *out, int max,
                  int timeout_ms)
{
    if (max > LOOP_BATCH) {
        max = LOOP_BATCH;
    }

    int n = epoll_wait(loop->epfd, loop->ready, max, timeout_ms);
    if (n < 0) {
        return errno == EINTR ? 0 : -1;
    }

    for (int i = 0; i < n; i++) {
        out[i].ctx = loop->ready[i].data.ptr;
        out[i].events = from_epoll(loop->ready[i].events);
    }
    return n;
}
