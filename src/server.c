/*
 * server.c - `ingestd serve`: start-up, signals and orderly shutdown.
 *
 * The main thread opens everything that can fail (spool partitions,
 * listening sockets) before any worker runs, so a bad configuration
 * fails fast with one clear message.  Then it only waits for a signal:
 * all signals are blocked in every thread and taken by sigwait() here,
 * so no handler runs in the middle of a worker's request.
 */
#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "server_int.h"

#define LISTEN_BACKLOG 4096

/*
 * SO_REUSEPORT would let a second ingestd bind the same port and take half
 * of the traffic.  A socket without it cannot bind a port that anyone
 * holds, so one such bind first tells "address in use" apart.
 */
static int listen_probe(const struct addrinfo *ai)
{
    int one = 1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int listen_socket(const struct addrinfo *ai, bool probe)
{
    int one = 1;

    if (probe && listen_probe(ai) != 0) {
        return -1;
    }
    int fd =
        socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -1;
    }
    /* One socket per worker on the same port: the kernel balances. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(fd, LISTEN_BACKLOG) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int listen_open(const struct ing_config *cfg, bool first, int *out)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
    };
    struct addrinfo *res = NULL;
    char port[8];

    snprintf(port, sizeof(port), "%u", cfg->listen_port);
    int rc = getaddrinfo(cfg->listen_host, port, &hints, &res);
    if (rc != 0) {
        ING_ERROR_LOG("server", "getaddrinfo() failed host=%s error=\"%s\"",
                      cfg->listen_host, gai_strerror(rc));
        return ING_ERROR;
    }

    *out = listen_socket(res, first && cfg->listen_port != 0);
    int saved = errno;
    freeaddrinfo(res);
    if (*out < 0) {
        ING_LOG_ERRNO(ING_LOG_ERROR, "server", saved,
                      "bind() failed listen=%s:%u", cfg->listen_host,
                      cfg->listen_port);
        return ING_ERROR;
    }
    return ING_OK;
}

/*
 * Everything that can fail is opened for every worker (spool partitions,
 * listening sockets) before the first thread starts, so no request is
 * answered by a server that is about to exit.
 */
static int workers_open(struct ing_worker *workers,
                        const struct ing_config *cfg, size_t *opened)
{
    *opened = 0;
    for (size_t i = 0; i < cfg->threads; i++) {
        struct ing_worker *w = &workers[i];

        if (ing_worker_init(w, (unsigned)i, cfg) != ING_OK ||
            listen_open(cfg, i == 0, &w->listen_fd) != ING_OK) {
            ing_worker_fini(w);
            return ING_ERROR;
        }
        (*opened)++;
        if (ing_loop_add(w->loop, w->listen_fd, ING_LOOP_READ, &w->listen_fd) !=
            0) {
            ING_LOG_ERRNO(ING_LOG_ERROR, "server", errno, "epoll_ctl() failed");
            return ING_ERROR;
        }
    }
    return ING_OK;
}

/* A data dir written with more threads than now keeps partitions no worker
 * owns: still readable, but nothing appends to or retains them. */
static void warn_orphan_partitions(const struct ing_config *cfg)
{
    unsigned *ids = NULL;
    size_t count = 0;

    if (ing_spool_partition_list(cfg->data_dir, &ids, &count) != ING_OK) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (ids[i] >= cfg->threads) {
            ING_WARN("server",
                     "partition without a worker, kept as it is (no "
                     "retention) partition=%u threads=%zu",
                     ids[i], cfg->threads);
        }
    }
    free(ids);
}

static int workers_start(struct ing_worker *workers, size_t count,
                         size_t *started)
{
    *started = 0;
    for (size_t i = 0; i < count; i++) {
        int rc = pthread_create(&workers[i].thread, NULL, ing_worker_main,
                                &workers[i]);
        if (rc != 0) {
            ING_LOG_ERRNO(ING_LOG_ERROR, "server", rc,
                          "pthread_create() failed");
            return ING_ERROR;
        }
        (*started)++;
    }
    return ING_OK;
}

static int workers_stop(struct ing_worker *workers, size_t started,
                        size_t opened)
{
    int status = 0;
    uint64_t one = 1;

    for (size_t i = 0; i < started; i++) {
        atomic_store(&workers[i].stop_requested, true);
        ssize_t unused = write(workers[i].wake_fd, &one, sizeof(one));
        (void)unused;
    }
    for (size_t i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
        if (workers[i].exit_status != 0) {
            status = 1;
        }
    }
    for (size_t i = 0; i < opened; i++) {
        ing_worker_fini(&workers[i]);
    }
    return status;
}

static int wait_for_signal(const sigset_t *set)
{
    int sig = 0;

    while (sigwait(set, &sig) != 0) {
    }
    return sig;
}

int ing_server_run(const struct ing_config *cfg)
{
    sigset_t set;
    size_t started = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct ing_worker *workers = calloc(cfg->threads, sizeof(*workers));
    if (workers == NULL) {
        ING_ERROR_LOG("server", "out of memory at start-up");
        return 1;
    }

    ing_config_log(cfg);
    int status = 0;
    size_t opened = 0;
    warn_orphan_partitions(cfg);
    if (workers_open(workers, cfg, &opened) == ING_OK &&
        workers_start(workers, opened, &started) == ING_OK) {
        ING_INFO("server", "listening addr=%s:%u workers=%zu", cfg->listen_host,
                 cfg->listen_port, started);
        int sig = wait_for_signal(&set);
        ING_INFO("server", "shutting down signal=%s", strsignal(sig));
    } else {
        status = 1;
    }

    if (workers_stop(workers, started, opened) != 0) {
        status = 1;
    }
    free(workers);
    ING_INFO("server", "stopped status=%d", status);
    return status;
}

int ing_cmd_serve_main(int argc, char **argv)
{
    struct ing_config cfg;

    ing_config_defaults(&cfg);
    int rc = ing_config_parse(&cfg, argc, argv);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    ing_log_min_level = cfg.log_level;
    return ing_server_run(&cfg);
}
