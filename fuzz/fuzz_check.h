/*
 * fuzz_check.h - what every harness shares: the libFuzzer entry point,
 * invariant checks that stop the run with a message, and a count of the
 * heap allocations the code under test makes.
 *
 * A harness is one file, fuzz/<target>_fuzz.c, that defines
 * LLVMFuzzerTestOneInput().  It is linked either with libFuzzer (clang,
 * `make fuzz`) or with fuzz/replay.c (any compiler, `make fuzz-replay`),
 * so it must not depend on libFuzzer beyond that one function.
 */
#ifndef ING_FUZZ_CHECK_H
#define ING_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Runs one input.  data[0 .. size) is only read; the harness copies it
 * where the code under test needs to write.  Returns 0 (libFuzzer's
 * contract); a broken invariant aborts instead.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Reports a broken invariant on stderr and aborts, so that libFuzzer saves
 * the input and the replay driver names the file.
 */
__attribute__((noreturn)) void ing_fuzz_fail(const char *file, int line,
                                             const char *what);

/* An invariant of the code under test; never compiled out. */
#define FUZZ_CHECK(cond)                                                       \
    ((cond) ? (void)0 : ing_fuzz_fail(__FILE__, __LINE__, #cond))

/* Reports an impossible case, like a broken FUZZ_CHECK. */
#define FUZZ_FAIL(what) ing_fuzz_fail(__FILE__, __LINE__, (what))

/*
 * Allocation counting, for the "no heap allocation on the request path"
 * contracts.  Counting works only under AddressSanitizer, which offers
 * malloc hooks; elsewhere ing_fuzz_alloc_end() always returns 0.  Only
 * allocations by the calling thread are counted.  Not nestable.
 */
void ing_fuzz_alloc_begin(void);

/* Stops counting; returns the allocations made since the begin. */
size_t ing_fuzz_alloc_end(void);

/* True when allocations are really counted (an ASan build). */
bool ing_fuzz_alloc_counting(void);

/* FNV-1a of the input: a cheap, deterministic source of choices. */
uint64_t ing_fuzz_hash(const uint8_t *data, size_t size);

#endif
