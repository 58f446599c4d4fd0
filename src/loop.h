/*
 * loop.h - the event loop, behind a narrow interface so that nothing above
 * it includes <sys/epoll.h> (and io_uring could replace it later).
 *
 * A loop belongs to one thread: every function here must be called by the
 * thread that created the loop.  Registrations are level-triggered: a
 * readable socket is reported again until it has been drained, so a
 * worker may read once per wake-up and still never lose a request.
 */
#ifndef ING_LOOP_H
#define ING_LOOP_H

#include <stdint.h>

#define ING_LOOP_READ  0x1u
#define ING_LOOP_WRITE 0x2u
#define ING_LOOP_HUP   0x4u /* peer hung up or error: read to find out */

struct ing_loop;

/* One readiness report: the ctx given at registration and what is ready. */
struct ing_loop_event {
    void *ctx;
    unsigned events;
};

/* Creates a loop; returns NULL with errno set on failure (start-up only). */
struct ing_loop *ing_loop_create(void);

/* Closes the loop's descriptor and frees it. */
void ing_loop_destroy(struct ing_loop *loop);

/*
 * Watches fd for `events` (ING_LOOP_READ / ING_LOOP_WRITE); ctx comes back
 * in each event.  Returns 0, or -1 with errno set.
 */
int ing_loop_add(struct ing_loop *loop, int fd, unsigned events, void *ctx);

/* Changes what fd is watched for.  Returns 0, or -1 with errno set. */
int ing_loop_modify(struct ing_loop *loop, int fd, unsigned events, void *ctx);

/* Stops watching fd (closing fd does this too).  Returns 0 or -1. */
int ing_loop_remove(struct ing_loop *loop, int fd);

/*
 * Blocks up to timeout_ms (-1: forever) for readiness; fills up to max
 * events and returns how many (0 on timeout or EINTR), or -1 with errno.
 */
int ing_loop_wait(struct ing_loop *loop, struct ing_loop_event *out, int max,
                  int timeout_ms);

#endif
