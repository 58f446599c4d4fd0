/*
 * load_run.h - the open-loop core of the load generator.
 *
 * Requests are due on a fixed schedule (request i at t0 + i / rate),
 * whatever the server does.  Each is sent on an idle keep-alive connection
 * as soon as it is due; when every connection is busy it waits, and its
 * latency still counts from the time it was due.  That is the correction
 * for coordinated omission: a stalled server cannot slow the schedule
 * down and so hide its own stall, as a closed-loop tool like wrk does.
 */
#ifndef LOAD_RUN_H
#define LOAD_RUN_H

#include "ing_view.h"
#include "load_hist.h"

#include <stdint.h>

struct ing_load_config {
    const char *host; /* numeric IPv4 address */
    uint16_t port;
    const struct ing_view *requests; /* whole requests, sent in turn */
    size_t request_count;
    double rate_per_s;
    uint64_t warmup_ns;   /* scheduled, sent, not measured */
    uint64_t duration_ns; /* the measured window */
    uint64_t drain_ns;    /* wait for late answers after the window */
    unsigned connections;
};

/* Counts cover requests due inside the measured window only. */
struct ing_load_result {
    uint64_t scheduled;
    uint64_t answered_2xx;
    uint64_t answered_other; /* a complete response with another status */
    uint64_t failed;         /* connection lost or response unparseable */
    uint64_t unanswered;     /* still unsent or in flight after the drain */
    uint64_t reconnects;     /* whole run, warm-up included */
    uint64_t window_ns;      /* from the window's start to the last answer */
    struct ing_load_hist corrected;   /* from the time each was due */
    struct ing_load_hist uncorrected; /* from the time each was written */
};

/*
 * Runs the schedule against cfg->host:cfg->port and fills *res.  Returns
 * ING_OK, or ING_ERROR (with a message on stderr) when the connections
 * cannot be opened or every connection is lost.  Blocks for warm-up +
 * duration + at most drain; single-threaded; allocates its connection
 * table once before the schedule starts and frees it before returning.
 */
int ing_load_run(const struct ing_load_config *cfg,
                 struct ing_load_result *res);

#endif
