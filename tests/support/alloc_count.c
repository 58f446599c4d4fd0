/*
 * alloc_count.c - an LD_PRELOAD library that counts heap allocations.
 *
 * With ALLOC_COUNT_FILE=/path in the environment, the counters live in
 * that file (mmap'ed, shared), so a test or benchmark reads them at any
 * moment while the process runs, without signals or cooperation:
 *
 *   byte  0: malloc calls      byte 24: aligned allocations
 *   byte  8: calloc calls      byte 32: free calls
 *   byte 16: realloc calls     (each a little-endian u64)
 *
 * Allocation is forwarded to glibc's __libc_* entry points, which avoids
 * dlsym (itself an allocating call) during start-up.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *ptr);

enum {
    COUNT_MALLOC,
    COUNT_CALLOC,
    COUNT_REALLOC,
    COUNT_ALIGNED,
    COUNT_FREE,
    COUNT_SLOTS
};

static _Atomic uint64_t local_counts[COUNT_SLOTS];
static _Atomic uint64_t *counts = local_counts;

__attribute__((constructor)) static void alloc_count_init(void)
{
    const char *path = getenv("ALLOC_COUNT_FILE");
    size_t size = sizeof(uint64_t) * COUNT_SLOTS;

    if (path == NULL) {
        return;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
        return;
    }
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map != MAP_FAILED) {
        counts = map;
    }
}

static void bump(int slot)
{
    atomic_fetch_add_explicit(&counts[slot], 1, memory_order_relaxed);
}

void *malloc(size_t size)
{
    bump(COUNT_MALLOC);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    bump(COUNT_CALLOC);
    return __libc_calloc(n, size);
}

void *realloc(void *ptr, size_t size)
{
    bump(COUNT_REALLOC);
    return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
    if (ptr != NULL) {
        bump(COUNT_FREE);
    }
    __libc_free(ptr);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    bump(COUNT_ALIGNED);
    void *p = __libc_memalign(align, size);
    if (p == NULL) {
        return 12; /* ENOMEM */
    }
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
    bump(COUNT_ALIGNED);
    return __libc_memalign(align, size);
}

void *memalign(size_t align, size_t size)
{
    bump(COUNT_ALIGNED);
    return __libc_memalign(align, size);
}
