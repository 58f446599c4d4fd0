/*
 * pool.h - a worker's buffers.  A connection holds a buffer only while a
 * request is in flight, so idle keep-alive connections cost no buffer
 * memory.  Buffers are allocated the first time they are needed and then
 * recycled through free lists that never shrink: in steady state, taking
 * and returning a buffer makes no heap allocation.
 *
 * Two sizes: small buffers hold a head and a typical single-event body;
 * large ones hold the biggest request the limits allow.  The number of
 * large buffers is capped per worker, so memory is bounded by
 * configuration (connections x small + cap x large), not by load; running
 * out is answered with 503 by the caller.
 *
 * A pool belongs to one worker thread; no function here takes a lock.
 */
#ifndef ING_POOL_H
#define ING_POOL_H

#include <stdbool.h>
#include <stddef.h>

struct ing_buf {
    char *data;
    size_t cap;
    bool large;
    struct ing_buf *next_free;
};

struct ing_pool {
    size_t small_bytes;
    size_t large_bytes;
    size_t large_max;
    size_t large_in_use;
    struct ing_buf *free_small;
    struct ing_buf *free_large;
};

/* Sets up an empty pool (allocates nothing yet). */
void ing_pool_init(struct ing_pool *pool, size_t small_bytes,
                   size_t large_bytes, size_t large_max);

/* Frees every buffer on the free lists; buffers still out are the
 * caller's to return first. */
void ing_pool_fini(struct ing_pool *pool);

/* Returns a small buffer, or NULL when memory is exhausted. */
struct ing_buf *ing_pool_get_small(struct ing_pool *pool);

/* Returns a large buffer, or NULL when the cap is reached or memory is
 * exhausted (the caller answers 503). */
struct ing_buf *ing_pool_get_large(struct ing_pool *pool);

/* Gives a buffer back to the pool it came from. */
void ing_pool_put(struct ing_pool *pool, struct ing_buf *buf);

#endif
