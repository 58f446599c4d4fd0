/*
 * fuzz_check.c - helpers shared by the harnesses, see fuzz_check.h.
 */
#include "fuzz_check.h"

#include <stdio.h>
#include <stdlib.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_HAVE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_HAVE_ASAN 1
#endif

/*
 * Thread-local: libFuzzer and ASan have threads of their own that may
 * allocate while a harness counts.
 */
static __thread bool counting;
static __thread size_t allocations;

void ing_fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "fuzz: invariant broken at %s:%d: %s\n", file, line, what);
    abort();
}

#ifdef FUZZ_HAVE_ASAN

/*
 * Declared here rather than taken from <sanitizer/allocator_interface.h>,
 * which gcc does not ship; both runtimes export it.
 */
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *ptr, size_t size),
    void (*free_hook)(const volatile void *ptr));

static void malloc_hook(const volatile void *ptr, size_t size)
{
    (void)ptr;
    (void)size;
    if (counting) {
        allocations++;
    }
}

static void free_hook(const volatile void *ptr)
{
    (void)ptr;
}

static void hooks_install(void)
{
    static bool installed;

    if (!installed) {
        __sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook);
        installed = true;
    }
}

bool ing_fuzz_alloc_counting(void)
{
    return true;
}

#else

static void hooks_install(void)
{
}

bool ing_fuzz_alloc_counting(void)
{
    return false;
}

#endif

void ing_fuzz_alloc_begin(void)
{
    hooks_install();
    allocations = 0;
    counting = true;
}

size_t ing_fuzz_alloc_end(void)
{
    counting = false;
    return allocations;
}

uint64_t ing_fuzz_hash(const uint8_t *data, size_t size)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (size_t i = 0; i < size; i++) {
        h = (h ^ data[i]) * 0x100000001b3u;
    }
    return h;
}
