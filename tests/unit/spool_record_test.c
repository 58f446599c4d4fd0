/*
 * spool_record_test.c - the byte layout of records and segment headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "spool_crc32c.h"
#include "spool_record.h"

/* The layout written out by hand, so a change to the format fails here. */
static void test_header_bytes(void **state)
{
    static const char payload[] = "{\"a\":1}";
    unsigned char h[ING_SPOOL_RECORD_HEADER_BYTES];
    unsigned char covered[16 + sizeof(payload) - 1];
    static const unsigned char want_fixed[] = {
        7,    0,    0,    0,                            /* length */
        0,    0,    0,    0,                            /* CRC, below */
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* offset */
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* time */
    };

    (void)state;
    ing_spool_record_header_encode(h, 0x0102030405060708ull,
                                   0x8877665544332211ull, payload, 7);

    assert_memory_equal(h, want_fixed, 4);
    assert_memory_equal(h + 8, want_fixed + 8, 16);

    memcpy(covered, want_fixed + 8, 16);
    memcpy(covered + 16, payload, 7);
    uint32_t crc = ing_spool_crc32c_portable(0, covered, sizeof(covered));
    unsigned char crc_le[4] = {(unsigned char)crc, (unsigned char)(crc >> 8),
                               (unsigned char)(crc >> 16),
                               (unsigned char)(crc >> 24)};
    assert_memory_equal(h + 4, crc_le, 4);
}

static void test_header_roundtrip(void **state)
{
    unsigned char h[ING_SPOOL_RECORD_HEADER_BYTES];
    struct ing_spool_record_header d;

    (void)state;
    ing_spool_record_header_encode(h, 42, 1700000000123456789ull, "xyz", 3);
    ing_spool_record_header_decode(h, &d);

    assert_int_equal(d.payload_len, 3);
    assert_int_equal(d.offset, 42);
    assert_int_equal(d.recv_time_ns, 1700000000123456789ull);
    assert_int_equal(d.crc, ing_spool_record_crc(h, "xyz", 3));
}

/* Bytes 8..23 and the payload are covered; the length and CRC fields not. */
static void test_crc_coverage(void **state)
{
    unsigned char h[ING_SPOOL_RECORD_HEADER_BYTES];
    char payload[] = "{\"k\":\"v\"}";
    size_t plen = sizeof(payload) - 1;

    (void)state;
    ing_spool_record_header_encode(h, 7, 9, payload, (uint32_t)plen);
    uint32_t good = ing_spool_record_crc(h, payload, plen);

    for (size_t i = 0; i < sizeof(h); i++) {
        h[i] ^= 0x01;
        uint32_t c = ing_spool_record_crc(h, payload, plen);
        h[i] ^= 0x01;
        if (i < 8) {
            assert_int_equal(c, good);
        } else {
            assert_int_not_equal(c, good);
        }
    }
    for (size_t i = 0; i < plen; i++) {
        payload[i] ^= 0x20;
        assert_int_not_equal(ing_spool_record_crc(h, payload, plen), good);
        payload[i] ^= 0x20;
    }
}

static void test_len_limits(void **state)
{
    (void)state;
    assert_false(ing_spool_record_len_valid(0));
    assert_true(ing_spool_record_len_valid(1));
    assert_true(ing_spool_record_len_valid(64u * 1024 * 1024));
    assert_false(ing_spool_record_len_valid(64u * 1024 * 1024 + 1));
    assert_false(ing_spool_record_len_valid(UINT32_MAX));
}

static void test_segment_header(void **state)
{
    unsigned char h[ING_SPOOL_SEGMENT_HEADER_BYTES];
    static const unsigned char want[] = {'I', 'N',  'G',  'S',  'E',  'G',
                                         '1', '\n', 0xEF, 0xBE, 0xAD, 0xDE,
                                         0,   0,    0,    0};
    uint64_t base = 0;

    (void)state;
    ing_spool_segment_header_encode(h, 0xDEADBEEFull);
    assert_memory_equal(h, want, sizeof(want));
    assert_true(ing_spool_segment_header_decode(h, &base));
    assert_int_equal(base, 0xDEADBEEFull);

    h[6] = '2';
    assert_false(ing_spool_segment_header_decode(h, &base));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_bytes),
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_crc_coverage),
        cmocka_unit_test(test_len_limits),
        cmocka_unit_test(test_segment_header),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
