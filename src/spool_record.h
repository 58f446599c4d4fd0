/*
 * spool_record.h - the on-disk format of the spool.  This is the one place
 * that defines it; the writer, the reader, `ingestd check` and the
 * forwarder all go through the functions below.
 *
 * Layout
 *
 *   <data-dir>/partition-<N>/LOCK
 *   <data-dir>/partition-<N>/<base offset, 20 decimal digits>.seg
 *
 * One partition per worker thread (N = 0 .. threads-1).  Offsets are per
 * partition, start at 0 and are contiguous.  A segment file is named by the
 * offset of its first record (its base offset), as in Kafka's log, so the
 * segment holding offset X is the one with the greatest base <= X.
 * LOCK carries an exclusive flock(2) held by the server that writes the
 * partition.
 *
 * Segment header, 16 bytes
 *
 *   0   8  magic "INGSEG1\n"
 *   8   8  base offset, u64 little-endian (equal to the file name)
 *
 * Record, 24-byte header then the payload, no padding
 *
 *   0   4  payload length in bytes, u32 LE, 1 .. 64 MiB
 *   4   4  CRC-32C, u32 LE, over bytes 8..23 of this header and the payload
 *   8   8  offset, u64 LE (previous record's + 1; the first = base offset)
 *  16   8  receive time, u64 LE, nanoseconds since the Unix epoch
 *  24   n  payload: the event's exact bytes as received
 *
 * A length of 0 or over ING_SPOOL_RECORD_MAX_PAYLOAD is damage, as is a CRC
 * that does not match or an offset out of sequence.  The length is outside
 * the CRC on purpose: a damaged length is caught by the sanity limit or by
 * the CRC of the bytes it wrongly frames.  A file that ends inside a record
 * is a torn tail: an interrupted append, cut off by the server at start.
 *
 * Every function here is pure: no I/O, no allocation, any thread.
 */
#ifndef ING_SPOOL_RECORD_H
#define ING_SPOOL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ing_view.h"

#define ING_SPOOL_SEGMENT_MAGIC        "INGSEG1\n"
#define ING_SPOOL_SEGMENT_MAGIC_BYTES  8
#define ING_SPOOL_SEGMENT_HEADER_BYTES 16
#define ING_SPOOL_RECORD_HEADER_BYTES  24
#define ING_SPOOL_RECORD_MAX_PAYLOAD   (64u * 1024u * 1024u)

/* The fixed fields of a record header, decoded. */
struct ing_spool_record_header {
    uint32_t payload_len;
    uint32_t crc;
    uint64_t offset;
    uint64_t recv_time_ns;
};

/*
 * A record read back from a segment.  `payload` is a view into the
 * reader's buffer, valid until the next call on that reader.
 */
struct ing_spool_record {
    uint64_t offset;
    uint64_t recv_time_ns;
    uint64_t file_pos; /* position of the record header in its segment */
    struct ing_view payload;
};

/*
 * Writes the 24-byte header of a record carrying `payload_len` bytes at
 * `payload`, including its CRC.  The payload is only read.
 */
void ing_spool_record_header_encode(unsigned char *out, uint64_t offset,
                                    uint64_t recv_time_ns, const void *payload,
                                    uint32_t payload_len);

/* Decodes the 24 bytes at `in` without checking anything. */
void ing_spool_record_header_decode(const unsigned char *in,
                                    struct ing_spool_record_header *h);

/* True when the header's length is within 1 .. ING_SPOOL_RECORD_MAX_PAYLOAD. */
bool ing_spool_record_len_valid(uint32_t payload_len);

/*
 * Returns the CRC a record must carry: over bytes 8..23 of its 24-byte
 * header at `header` and the `payload_len` bytes at `payload`.
 */
uint32_t ing_spool_record_crc(const unsigned char *header, const void *payload,
                              size_t payload_len);

/* Writes the 16-byte segment header for `base_offset` to `out`. */
void ing_spool_segment_header_encode(unsigned char *out, uint64_t base_offset);

/*
 * Decodes the 16 bytes at `in`: returns false when the magic is wrong,
 * else true with the base offset in *base_offset.
 */
bool ing_spool_segment_header_decode(const unsigned char *in,
                                     uint64_t *base_offset);

#endif
