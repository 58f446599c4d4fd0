/*
 * spool_record.c - encoding and decoding of the format in spool_record.h.
 */
#include "spool_record.h"

#include <string.h>

#include "spool_crc32c.h"

/*
 * Byte by byte, so the format is little-endian whatever the host; gcc and
 * clang turn each of these into a single load or store on x86.
 */
static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint32_t get_le32(const unsigned char *p)
{
    uint32_t v = 0;

    for (int i = 3; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

uint32_t ing_spool_record_crc(const unsigned char *header, const void *payload,
                              size_t payload_len)
{
    uint32_t crc = ing_spool_crc32c(0, header + 8, 16);

    return ing_spool_crc32c(crc, payload, payload_len);
}

void ing_spool_record_header_encode(unsigned char *out, uint64_t offset,
                                    uint64_t recv_time_ns, const void *payload,
                                    uint32_t payload_len)
{
    put_le32(out, payload_len);
    put_le64(out + 8, offset);
    put_le64(out + 16, recv_time_ns);
    put_le32(out + 4, ing_spool_record_crc(out, payload, payload_len));
}

void ing_spool_record_header_decode(const unsigned char *in,
                                    struct ing_spool_record_header *h)
{
    h->payload_len = get_le32(in);
    h->crc = get_le32(in + 4);
    h->offset = get_le64(in + 8);
    h->recv_time_ns = get_le64(in + 16);
}

bool ing_spool_record_len_valid(uint32_t payload_len)
{
    return payload_len > 0 && payload_len <= ING_SPOOL_RECORD_MAX_PAYLOAD;
}

void ing_spool_segment_header_encode(unsigned char *out, uint64_t base_offset)
{
    memcpy(out, ING_SPOOL_SEGMENT_MAGIC, ING_SPOOL_SEGMENT_MAGIC_BYTES);
    put_le64(out + ING_SPOOL_SEGMENT_MAGIC_BYTES, base_offset);
}

bool ing_spool_segment_header_decode(const unsigned char *in,
                                     uint64_t *base_offset)
{
    if (memcmp(in, ING_SPOOL_SEGMENT_MAGIC, ING_SPOOL_SEGMENT_MAGIC_BYTES) !=
        0) {
        return false;
    }
    *base_offset = get_le64(in + ING_SPOOL_SEGMENT_MAGIC_BYTES);
    return true;
}
