/*
 * spool_retention.c - the closed-segment list and the retention rule (see
 * the header).
 */
#include "spool_retention.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ing_err.h"

void ing_spool_retention_init(struct ing_spool_retention *r,
                              uint64_t retention_bytes,
                              uint64_t retention_age_ms)
{
    memset(r, 0, sizeof(*r));
    r->retention_bytes = retention_bytes;
    r->retention_age_ms = retention_age_ms;
    r->keep_from_offset = ING_SPOOL_KEEP_NONE;
}

void ing_spool_retention_fini(struct ing_spool_retention *r)
{
    free(r->segs);
    r->segs = NULL;
    r->head = r->count = r->cap = 0;
}

/* Slides the live entries to the front, freeing the room pops left. */
static void compact(struct ing_spool_retention *r)
{
    if (r->head == 0) {
        return;
    }
    memmove(r->segs, r->segs + r->head, r->count * sizeof(*r->segs));
    r->head = 0;
}

int ing_spool_retention_reserve(struct ing_spool_retention *r, size_t spare)
{
    if (r->cap - r->head - r->count >= spare) {
        return ING_OK;
    }

    compact(r);
    if (r->cap - r->count >= spare) {
        return ING_OK;
    }

    size_t cap = r->cap < 16 ? 16 : r->cap;
    while (cap - r->count < spare) {
        cap *= 2;
    }
    struct ing_spool_closed_segment *grown =
        realloc(r->segs, cap * sizeof(*r->segs));
    if (grown == NULL) {
        return ING_ERROR;
    }
    r->segs = grown;
    r->cap = cap;
    return ING_OK;
}

int ing_spool_retention_push(struct ing_spool_retention *r,
                             const struct ing_spool_closed_segment *seg)
{
    if (ing_spool_retention_reserve(r, 1) != ING_OK) {
        return ING_ERROR;
    }

    r->segs[r->head + r->count] = *seg;
    r->count++;
    r->closed_bytes += seg->size_bytes;
    return ING_OK;
}

const struct ing_spool_closed_segment *
ing_spool_retention_oldest(const struct ing_spool_retention *r)
{
    return r->count == 0 ? NULL : &r->segs[r->head];
}

static bool too_old(const struct ing_spool_retention *r,
                    const struct ing_spool_closed_segment *seg, uint64_t now_ms)
{
    if (r->retention_age_ms == 0 || now_ms <= seg->last_write_ms) {
        return false;
    }
    return now_ms - seg->last_write_ms > r->retention_age_ms;
}

enum ing_spool_retention_reason
ing_spool_retention_due(const struct ing_spool_retention *r,
                        uint64_t active_bytes, uint64_t now_ms)
{
    const struct ing_spool_closed_segment *oldest =
        ing_spool_retention_oldest(r);

    /* A checkpoint short of the segment's end means records in it are
     * not delivered yet: they outrank every limit. */
    if (oldest == NULL || oldest->end_offset > r->keep_from_offset) {
        return ING_SPOOL_RETENTION_KEEP;
    }

    if (r->retention_bytes != 0 &&
        r->closed_bytes + active_bytes > r->retention_bytes) {
        return ING_SPOOL_RETENTION_BYTES;
    }
    if (too_old(r, oldest, now_ms)) {
        return ING_SPOOL_RETENTION_AGE;
    }
    return ING_SPOOL_RETENTION_KEEP;
}

void ing_spool_retention_pop(struct ing_spool_retention *r)
{
    if (r->count == 0) {
        return;
    }

    r->closed_bytes -= r->segs[r->head].size_bytes;
    r->head++;
    r->count--;
    if (r->count == 0) {
        r->head = 0;
    }
}
