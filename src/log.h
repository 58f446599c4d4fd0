/*
 * log.h - one line per entry, for operators who grep:
 *
 *   2026-12-03T16:48:21.123Z info  w0 spool: segment rolled partition=0 ...
 *
 * UTC time, level, worker ("w0", or "main"), subsystem, then the message
 * with key=value details (logfmt).  A failed call logs as "open() failed"
 * and the logger appends errno's text as error="...".
 *
 * Client faults are logged only at debug.  Never log event payloads.
 * Every function here may be called from any thread; a line is written
 * with one write(2), so lines from different threads do not interleave.
 */
#ifndef ING_LOG_H
#define ING_LOG_H

#include <stdbool.h>

enum ing_log_level {
    ING_LOG_DEBUG = 0,
    ING_LOG_INFO = 1,
    ING_LOG_WARN = 2,
    ING_LOG_ERROR = 3,
};

/* The least level written; read without a lock (set once at start-up). */
extern enum ing_log_level ing_log_min_level;

/* Parses "debug", "info", "warn", "error"; returns false if unknown. */
bool ing_log_level_parse(const char *name, enum ing_log_level *out);

/* Names the calling thread in its log lines ("w3"); -1 means "main". */
void ing_log_set_worker(int worker_id);

/*
 * Writes one line to stderr.  errnum != 0 appends error="strerror text".
 * Use the macros below, which test the level before formatting anything.
 */
void ing_log_write(enum ing_log_level level, const char *subsystem, int errnum,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define ING_LOG(level, subsystem, ...)                                         \
    do {                                                                       \
        if ((level) >= ing_log_min_level) {                                    \
            ing_log_write((level), (subsystem), 0, __VA_ARGS__);               \
        }                                                                      \
    } while (0)

#define ING_LOG_ERRNO(level, subsystem, errnum, ...)                           \
    do {                                                                       \
        if ((level) >= ing_log_min_level) {                                    \
            ing_log_write((level), (subsystem), (errnum), __VA_ARGS__);        \
        }                                                                      \
    } while (0)

#define ING_DEBUG(sub, ...)     ING_LOG(ING_LOG_DEBUG, sub, __VA_ARGS__)
#define ING_INFO(sub, ...)      ING_LOG(ING_LOG_INFO, sub, __VA_ARGS__)
#define ING_WARN(sub, ...)      ING_LOG(ING_LOG_WARN, sub, __VA_ARGS__)
#define ING_ERROR_LOG(sub, ...) ING_LOG(ING_LOG_ERROR, sub, __VA_ARGS__)

#endif
