/*
 * spool_crc32c_test.c - both CRC-32C paths against published vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "spool_crc32c.h"

typedef uint32_t (*crc_fn)(uint32_t crc, const void *buf, size_t len);

/* RFC 3720 appendix B.4, plus the customary check value. */
static void check_vectors(crc_fn crc)
{
    unsigned char buf[48];

    assert_int_equal(crc(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc(0, "", 0), 0u);

    memset(buf, 0, 32);
    assert_int_equal(crc(0, buf, 32), 0x8A9136AAu);

    memset(buf, 0xFF, 32);
    assert_int_equal(crc(0, buf, 32), 0x62A8AB43u);

    for (int i = 0; i < 32; i++) {
        buf[i] = (unsigned char)i;
    }
    assert_int_equal(crc(0, buf, 32), 0x46DD794Eu);

    for (int i = 0; i < 32; i++) {
        buf[i] = (unsigned char)(31 - i);
    }
    assert_int_equal(crc(0, buf, 32), 0x113FDB5Cu);

    /* The iSCSI read command PDU of B.4. */
    static const unsigned char pdu[48] = {
        0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    assert_int_equal(crc(0, pdu, sizeof(pdu)), 0xD9963A56u);
}

static void test_portable_vectors(void **state)
{
    (void)state;
    check_vectors(ing_spool_crc32c_portable);
}

static void test_sse42_vectors(void **state)
{
    (void)state;
    if (!ing_spool_crc32c_sse42_available()) {
        skip();
    }
    check_vectors(ing_spool_crc32c_sse42);
}

static void test_dispatch_vectors(void **state)
{
    (void)state;
    check_vectors(ing_spool_crc32c);
}

/* Every length and alignment around the 8-byte steps, and chaining. */
static void test_paths_agree(void **state)
{
    unsigned char buf[600];
    uint32_t x = 12345;

    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }

    for (size_t start = 0; start < 9; start++) {
        for (size_t len = 0; start + len <= 300; len++) {
            const unsigned char *p = buf + start;
            uint32_t want = ing_spool_crc32c_portable(0, p, len);

            assert_int_equal(ing_spool_crc32c(0, p, len), want);
            if (ing_spool_crc32c_sse42_available()) {
                assert_int_equal(ing_spool_crc32c_sse42(0, p, len), want);
            }

            size_t cut = len / 3;
            uint32_t head = ing_spool_crc32c(0, p, cut);
            assert_int_equal(ing_spool_crc32c(head, p + cut, len - cut), want);
            head = ing_spool_crc32c_portable(0, p, cut);
            assert_int_equal(
                ing_spool_crc32c_portable(head, p + cut, len - cut), want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_portable_vectors),
        cmocka_unit_test(test_sse42_vectors),
        cmocka_unit_test(test_dispatch_vectors),
        cmocka_unit_test(test_paths_agree),
    };

    printf("sse4.2 crc32: %s\n",
           ing_spool_crc32c_sse42_available() ? "yes" : "no");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
