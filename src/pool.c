/*
 * pool.c - free lists of buffers, see pool.h.
 */
#include "pool.h"

#include <stdlib.h>

void ing_pool_init(struct ing_pool *pool, size_t small_bytes,
                   size_t large_bytes, size_t large_max)
{
    pool->small_bytes = small_bytes;
    pool->large_bytes = large_bytes;
    pool->large_max = large_max;
    pool->large_in_use = 0;
    pool->free_small = NULL;
    pool->free_large = NULL;
}

static void free_list(struct ing_buf *buf)
{
    while (buf != NULL) {
        struct ing_buf *next = buf->next_free;
        free(buf);
        buf = next;
    }
}

void ing_pool_fini(struct ing_pool *pool)
{
    free_list(pool->free_small);
    free_list(pool->free_large);
    pool->free_small = NULL;
    pool->free_large = NULL;
}

/* The header and the bytes share one allocation. */
static struct ing_buf *buf_new(size_t cap, bool large)
{
    struct ing_buf *buf = malloc(sizeof(*buf) + cap);

    if (buf == NULL) {
        return NULL;
    }
    buf->data = (char *)(buf + 1);
    buf->cap = cap;
    buf->large = large;
    buf->next_free = NULL;
    return buf;
}

static struct ing_buf *pop(struct ing_buf **list)
{
    struct ing_buf *buf = *list;

    if (buf != NULL) {
        *list = buf->next_free;
        buf->next_free = NULL;
    }
    return buf;
}

struct ing_buf *ing_pool_get_small(struct ing_pool *pool)
{
    struct ing_buf *buf = pop(&pool->free_small);

    return buf != NULL ? buf : buf_new(pool->small_bytes, false);
}

struct ing_buf *ing_pool_get_large(struct ing_pool *pool)
{
    if (pool->large_in_use >= pool->large_max) {
        return NULL;
    }

    struct ing_buf *buf = pop(&pool->free_large);
    if (buf == NULL) {
        buf = buf_new(pool->large_bytes, true);
    }
    if (buf != NULL) {
        pool->large_in_use++;
    }
    return buf;
}

void ing_pool_put(struct ing_pool *pool, struct ing_buf *buf)
{
    if (buf->large) {
        pool->large_in_use--;
        buf->next_free = pool->free_large;
        pool->free_large = buf;
    } else {
        buf->next_free = pool->free_small;
        pool->free_small = buf;
    }
}
