/*
 * load_hist.c - log-linear histogram (see load_hist.h for the scheme).
 */
#include "load_hist.h"

#include <math.h>
#include <string.h>

void ing_load_hist_reset(struct ing_load_hist *hist)
{
    memset(hist, 0, sizeof(*hist));
}

static unsigned bucket_of(uint64_t v)
{
    if (v < ING_LOAD_HIST_EXACT) {
        return (unsigned)v;
    }

    /* The top 8 significant bits select the bucket: the leading 1 names
     * the octave, the 7 bits below it one of its 128 slices. */
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - 7u;
    unsigned sub = (unsigned)(v >> shift) - ING_LOAD_HIST_SUB;

    return ING_LOAD_HIST_EXACT + (shift - 1u) * ING_LOAD_HIST_SUB + sub;
}

static uint64_t bucket_top(unsigned idx)
{
    if (idx < ING_LOAD_HIST_EXACT) {
        return idx;
    }

    unsigned k = idx - ING_LOAD_HIST_EXACT;
    unsigned shift = k / ING_LOAD_HIST_SUB + 1u;
    uint64_t sub = k % ING_LOAD_HIST_SUB + ING_LOAD_HIST_SUB;

    return ((sub + 1u) << shift) - 1u;
}

void ing_load_hist_add(struct ing_load_hist *hist, uint64_t value_ns)
{
    hist->buckets[bucket_of(value_ns)]++;
    hist->count++;
    if (value_ns > hist->max_ns) {
        hist->max_ns = value_ns;
    }
}

uint64_t ing_load_hist_quantile(const struct ing_load_hist *hist, double q)
{
    if (hist->count == 0) {
        return 0;
    }

    uint64_t rank = (uint64_t)ceil(q * (double)hist->count);
    uint64_t seen = 0;

    if (rank == 0) {
        rank = 1;
    }
    for (unsigned i = 0; i < ING_LOAD_HIST_BUCKETS; i++) {
        seen += hist->buckets[i];
        if (seen >= rank) {
            uint64_t top = bucket_top(i);
            return top < hist->max_ns ? top : hist->max_ns;
        }
    }
    return hist->max_ns;
}
