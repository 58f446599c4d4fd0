/*
 * log.c - the line format described in log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum ing_log_level ing_log_min_level = ING_LOG_INFO;

static _Thread_local int log_worker_id = -1;

static const char *const level_names[] = {"debug", "info ", "warn ", "error"};

bool ing_log_level_parse(const char *name, enum ing_log_level *out)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};

    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum ing_log_level)i;
            return true;
        }
    }
    return false;
}

void ing_log_set_worker(int worker_id)
{
    log_worker_id = worker_id;
}

static size_t log_prefix(char *buf, size_t size, enum ing_log_level level,
                         const char *subsystem)
{
    struct timespec now;
    struct tm tm;
    char worker[16];

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    if (log_worker_id < 0) {
        snprintf(worker, sizeof(worker), "main");
    } else {
        snprintf(worker, sizeof(worker), "w%d", log_worker_id);
    }

    int n = snprintf(
        buf, size,
        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s %s: ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        now.tv_nsec / 1000000, level_names[level], worker, subsystem);
    return n < 0 ? 0 : (size_t)n;
}

void ing_log_write(enum ing_log_level level, const char *subsystem, int errnum,
                   const char *fmt, ...)
{
    char line[1024];
    size_t len = log_prefix(line, sizeof(line), level, subsystem);
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        len += (size_t)n;
    }

    if (errnum != 0 && len < sizeof(line)) {
        char text[128];
        const char *msg = strerror_r(errnum, text, sizeof(text));

        n = snprintf(line + len, sizeof(line) - len, " error=\"%s\"", msg);
        if (n > 0) {
            len += (size_t)n;
        }
    }

    /* A truncated line still ends in a newline, so lines stay lines. */
    if (len >= sizeof(line)) {
        len = sizeof(line) - 1;
    }
    line[len++] = '\n';

    ssize_t unused = write(STDERR_FILENO, line, len);
    (void)unused;
}
