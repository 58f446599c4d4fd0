/*
 * load_hist.h - a log-linear latency histogram for the load generator.
 *
 * Values (nanoseconds) below 256 are counted exactly; above, each power of
 * two is split into 128 equal buckets, so any reported value is within
 * 0.8% of the true one, from 1 ns to the full range of a u64.  That is the
 * scheme of HdrHistogram, cut down to what a fixed-size array needs: no
 * allocation, constant-time insertion, and percentiles by one linear walk.
 */
#ifndef LOAD_HIST_H
#define LOAD_HIST_H

#include <stdint.h>

#define ING_LOAD_HIST_EXACT 256
#define ING_LOAD_HIST_SUB   128
#define ING_LOAD_HIST_BUCKETS                                                  \
    (ING_LOAD_HIST_EXACT + (63 - 7) * ING_LOAD_HIST_SUB)

struct ing_load_hist {
    uint64_t count;
    uint64_t max_ns;
    uint64_t buckets[ING_LOAD_HIST_BUCKETS];
};

/* Empties the histogram.  Any thread; the caller owns *hist. */
void ing_load_hist_reset(struct ing_load_hist *hist);

/* Counts one value in nanoseconds.  Never fails, never blocks. */
void ing_load_hist_add(struct ing_load_hist *hist, uint64_t value_ns);

/*
 * Returns the value at quantile q (0 < q <= 1): the upper edge of the
 * bucket holding the ceil(q * count)-th smallest value, capped at the
 * exact maximum, so a percentile never reads low.  Returns 0 when empty.
 */
uint64_t ing_load_hist_quantile(const struct ing_load_hist *hist, double q);

#endif
