/*
 * server_sync.c - the sync thread, see server_sync.h.
 */
#include "server_sync.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

static void *sync_main(void *arg)
{
    struct ing_sync *s = arg;

    ing_log_set_worker((int)s->id);
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->stop && s->request_fd < 0) {
            pthread_cond_wait(&s->wake, &s->lock);
        }
        if (s->request_fd < 0) {
            break; /* stop, and nothing left to sync */
        }

        int fd = s->request_fd;
        s->request_fd = -1;
        pthread_mutex_unlock(&s->lock);

        int rc = fdatasync(fd);
        int saved = rc == 0 ? 0 : errno;
        close(fd);

        pthread_mutex_lock(&s->lock);
        s->result_errno = saved;
        uint64_t one = 1;
        ssize_t unused = write(s->done_fd, &one, sizeof(one));
        (void)unused;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int ing_sync_start(struct ing_sync *s, unsigned worker_id)
{
    s->request_fd = -1;
    s->stop = false;
    s->busy = false;
    s->result_errno = 0;
    s->id = worker_id;
    s->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->done_fd < 0) {
        ING_LOG_ERRNO(ING_LOG_ERROR, "sync", errno, "eventfd() failed");
        return -1;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);

    int rc = pthread_create(&s->thread, NULL, sync_main, s);
    if (rc != 0) {
        ING_LOG_ERRNO(ING_LOG_ERROR, "sync", rc, "pthread_create() failed");
        return -1;
    }
    s->started = true;
    return 0;
}

void ing_sync_stop(struct ing_sync *s)
{
    if (s->started) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        s->started = false;
    }
    if (s->done_fd >= 0) {
        close(s->done_fd);
        s->done_fd = -1;
    }
}

void ing_sync_request(struct ing_sync *s, int fd)
{
    pthread_mutex_lock(&s->lock);
    s->request_fd = fd;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    s->busy = true;
}

int ing_sync_collect(struct ing_sync *s)
{
    uint64_t count;
    ssize_t unused = read(s->done_fd, &count, sizeof(count));
    (void)unused;

    pthread_mutex_lock(&s->lock);
    int result = s->result_errno;
    pthread_mutex_unlock(&s->lock);
    s->busy = false;
    return result;
}
