/*
 * spool_crc32c.h - CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected as
 * 0x82F63B78), the checksum of every spool record.
 *
 * Castagnoli rather than the zlib CRC-32 because x86 computes it in one
 * instruction (SSE 4.2 `crc32`), so checksumming a record costs far less
 * than copying it would.  The instruction is used when the CPU has it,
 * found at run time; a slicing-by-8 table serves every other CPU.
 *
 * The value is the standard one (initial value and final value inverted,
 * "123456789" -> 0xE3069283), and calls chain: passing the result of one
 * call as `crc` to the next gives the CRC of the concatenated bytes.
 *
 * All functions are pure, never block or allocate, and may be called from
 * any thread; the table and the CPU check are set up before main() runs.
 */
#ifndef ING_SPOOL_CRC32C_H
#define ING_SPOOL_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Returns the CRC-32C of the `len` bytes at `buf` continued from `crc`
 * (0 to start), with the fastest implementation this CPU supports.
 */
uint32_t ing_spool_crc32c(uint32_t crc, const void *buf, size_t len);

/* As ing_spool_crc32c, always with the portable table (for tests). */
uint32_t ing_spool_crc32c_portable(uint32_t crc, const void *buf, size_t len);

/* True when this CPU has SSE 4.2, so ing_spool_crc32c_sse42 may be called. */
bool ing_spool_crc32c_sse42_available(void);

/*
 * As ing_spool_crc32c, always with the SSE 4.2 instruction.  Calling it
 * when ing_spool_crc32c_sse42_available() is false is undefined behaviour
 * (an illegal instruction); on CPUs other than x86 it falls back to the
 * portable table.
 */
uint32_t ing_spool_crc32c_sse42(uint32_t crc, const void *buf, size_t len);

#endif
