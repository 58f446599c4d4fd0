/*
 * slow_fsync.c - an LD_PRELOAD library that makes fsync(2) and
 * fdatasync(2) take SLOW_FSYNC_MS milliseconds longer, so that a test can
 * see whether an answer waited for one (--ack durable) or not.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void delay(void)
{
    const char *ms = getenv("SLOW_FSYNC_MS");
    long n = ms != NULL ? atol(ms) : 0;
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};

    if (n > 0) {
        nanosleep(&ts, NULL);
    }
}

int fdatasync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

    delay();
    return real(fd);
}

int fsync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

    delay();
    return real(fd);
}
