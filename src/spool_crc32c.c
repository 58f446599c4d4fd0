/*
 * spool_crc32c.c - CRC-32C, by instruction or by table (see the header).
 */
#include "spool_crc32c.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define CRC32C_HAVE_X86 1
#else
#define CRC32C_HAVE_X86 0
#endif

/* The reflected Castagnoli polynomial (RFC 3720 §12.1). */
#define CRC32C_POLY 0x82F63B78u

/*
 * Slicing-by-8: table[k][b] is the CRC of byte b followed by k zero bytes,
 * so eight input bytes are folded with eight lookups instead of eight
 * dependent byte steps.
 */
static uint32_t crc32c_table[8][256];

static bool crc32c_use_sse42;

static void crc32c_table_fill(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t crc = b;

        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 1u) != 0 ? (crc >> 1) ^ CRC32C_POLY : crc >> 1;
        }
        crc32c_table[0][b] = crc;
    }

    for (uint32_t b = 0; b < 256; b++) {
        for (int k = 1; k < 8; k++) {
            uint32_t prev = crc32c_table[k - 1][b];

            crc32c_table[k][b] = (prev >> 8) ^ crc32c_table[0][prev & 0xFFu];
        }
    }
}

/*
 * Runs before main(), so that the table and the CPU flag are written
 * before any thread can read them and no call pays for a once-check.
 */
__attribute__((constructor)) static void crc32c_setup(void)
{
    crc32c_table_fill();
#if CRC32C_HAVE_X86
    __builtin_cpu_init();
    crc32c_use_sse42 = __builtin_cpu_supports("sse4.2") != 0;
#endif
}

static uint64_t crc32c_load64(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

uint32_t ing_spool_crc32c_portable(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t c = ~crc;

    while (len >= 8) {
        uint64_t v = crc32c_load64(p) ^ c;

        c = crc32c_table[7][v & 0xFFu] ^ crc32c_table[6][(v >> 8) & 0xFFu] ^
            crc32c_table[5][(v >> 16) & 0xFFu] ^
            crc32c_table[4][(v >> 24) & 0xFFu] ^
            crc32c_table[3][(v >> 32) & 0xFFu] ^
            crc32c_table[2][(v >> 40) & 0xFFu] ^
            crc32c_table[1][(v >> 48) & 0xFFu] ^ crc32c_table[0][v >> 56];
        p += 8;
        len -= 8;
    }

    while (len > 0) {
        c = (c >> 8) ^ crc32c_table[0][(c ^ *p) & 0xFFu];
        p++;
        len--;
    }
    return ~c;
}

#if CRC32C_HAVE_X86

bool ing_spool_crc32c_sse42_available(void)
{
    return crc32c_use_sse42;
}

/*
 * One dependent `crc32` per 8 bytes.  Interleaving three streams and
 * combining them would be about twice as fast on long buffers, but events
 * are a few hundred bytes, where the combine step eats the gain.
 */
__attribute__((target("sse4.2"))) uint32_t
ing_spool_crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint64_t c = ~crc;

#if defined(__x86_64__)
    while (len >= 8) {
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        c = _mm_crc32_u64(c, v);
        p += 8;
        len -= 8;
    }
#endif

    while (len > 0) {
        c = _mm_crc32_u8((uint32_t)c, *p);
        p++;
        len--;
    }
    return ~(uint32_t)c;
}

#else

bool ing_spool_crc32c_sse42_available(void)
{
    return false;
}

uint32_t ing_spool_crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
    return ing_spool_crc32c_portable(crc, buf, len);
}

#endif

uint32_t ing_spool_crc32c(uint32_t crc, const void *buf, size_t len)
{
    if (crc32c_use_sse42) {
        return ing_spool_crc32c_sse42(crc, buf, len);
    }
    return ing_spool_crc32c_portable(crc, buf, len);
}
