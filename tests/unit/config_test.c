/* config_test.c - flags, environment and their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "config.h"

/* Copies the arguments into writable storage, as a real argv is. */
static int parse(struct ing_config *cfg, const char *const *args)
{
    static char storage[32][64];
    static char *argv[33];
    int argc = 0;

    for (; args[argc] != NULL; argc++) {
        snprintf(storage[argc], sizeof(storage[argc]), "%s", args[argc]);
        argv[argc] = storage[argc];
    }
    argv[argc] = NULL;
    ing_config_defaults(cfg);
    return ing_config_parse(cfg, argc, argv);
}

static void test_defaults_follow_design(void **state)
{
    struct ing_config cfg;
    const char *const argv[] = {"serve", NULL};

    (void)state;
    assert_int_equal(parse(&cfg, argv), 0);
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 8080);
    assert_int_equal(cfg.max_header_bytes, 8192);
    assert_int_equal(cfg.max_body_bytes, 1024 * 1024);
    assert_int_equal(cfg.max_decoded_bytes, 8 * 1024 * 1024);
    assert_int_equal(cfg.max_batch_events, 10000);
    assert_int_equal(cfg.max_metadata_pairs, 64);
    assert_int_equal(cfg.max_depth, 32);
    assert_int_equal(cfg.read_timeout_ms, 5000);
    assert_int_equal(cfg.write_timeout_ms, 5000);
    assert_int_equal(cfg.idle_timeout_ms, 60000);
    assert_int_equal(cfg.max_connections, 10000);
    assert_true(cfg.threads >= 1);
}

static void test_flags_with_units(void **state)
{
    struct ing_config cfg;
    const char *const argv[] = {"serve",
                                "--listen",
                                "127.0.0.1:9000",
                                "--max-body-bytes",
                                "2M",
                                "--read-timeout",
                                "250ms",
                                "--idle-timeout",
                                "2m",
                                "--threads",
                                "3",
                                "--segment-bytes",
                                "64KiB",
                                NULL};

    (void)state;
    assert_int_equal(parse(&cfg, argv), 0);
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 9000);
    assert_int_equal(cfg.max_body_bytes, 2 * 1024 * 1024);
    assert_int_equal(cfg.read_timeout_ms, 250);
    assert_int_equal(cfg.idle_timeout_ms, 120000);
    assert_int_equal(cfg.threads, 3);
    assert_int_equal(cfg.segment_bytes, 64 * 1024);
}

static void test_ipv6_listen_address(void **state)
{
    struct ing_config cfg;
    const char *const argv[] = {"serve", "--listen", "::1:7000", NULL};

    (void)state;
    assert_int_equal(parse(&cfg, argv), 0);
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 7000);

    const char *const bracketed[] = {"serve", "--listen", "[::1]:7001", NULL};
    assert_int_equal(parse(&cfg, bracketed), 0);
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 7001);

    const char *const empty[] = {"serve", "--listen", "[]:7001", NULL};
    assert_int_equal(parse(&cfg, empty), 2);
}

static void test_bad_values_are_errors(void **state)
{
    static const char *const bad[][2] = {
        {"--threads", "0"},         {"--threads", "1x"},
        {"--max-body-bytes", "-1"}, {"--max-body-bytes", "1T"},
        {"--read-timeout", "5"},    {"--read-timeout", "5 s"},
        {"--listen", "8080"},       {"--listen", "host:70000"},
        {"--listen", ":80"},        {"--log-level", "verbose"},
        {"--max-depth", "1"},       {"--max-body-bytes", ""},
        {"--data-dir", ""},         {"--max-connections", "99999999999"},
    };
    struct ing_config cfg;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *const argv[] = {"serve", bad[i][0], bad[i][1], NULL};

        assert_int_equal(parse(&cfg, argv), 2);
    }
}

static void test_unknown_flag_and_extra_argument(void **state)
{
    struct ing_config cfg;
    const char *const unknown[] = {"serve", "--bogus", NULL};
    const char *const extra[] = {"serve", "stray", NULL};

    (void)state;
    assert_int_equal(parse(&cfg, unknown), 2);
    assert_int_equal(parse(&cfg, extra), 2);
}

static void test_decoded_limit_below_body_limit(void **state)
{
    struct ing_config cfg;
    const char *const argv[] = {
        "serve", "--max-body-bytes", "2M", "--max-decoded-bytes", "1M", NULL};

    (void)state;
    assert_int_equal(parse(&cfg, argv), 2);
}

static void test_environment_then_flag_wins(void **state)
{
    struct ing_config cfg;
    const char *const none[] = {"serve", NULL};
    const char *const flag[] = {"serve", "--max-batch-events", "7", NULL};

    (void)state;
    setenv("INGESTD_MAX_BATCH_EVENTS", "123", 1);
    assert_int_equal(parse(&cfg, none), 0);
    assert_int_equal(cfg.max_batch_events, 123);
    assert_int_equal(parse(&cfg, flag), 0);
    assert_int_equal(cfg.max_batch_events, 7);

    setenv("INGESTD_MAX_BATCH_EVENTS", "lots", 1);
    assert_int_equal(parse(&cfg, none), 2);
    unsetenv("INGESTD_MAX_BATCH_EVENTS");
}

static void test_help_and_version_answer_1(void **state)
{
    struct ing_config cfg;
    const char *const help[] = {"serve", "--help", NULL};
    const char *const version[] = {"serve", "--version", NULL};

    (void)state;
    assert_int_equal(parse(&cfg, help), 1);
    assert_int_equal(parse(&cfg, version), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_follow_design),
        cmocka_unit_test(test_flags_with_units),
        cmocka_unit_test(test_ipv6_listen_address),
        cmocka_unit_test(test_bad_values_are_errors),
        cmocka_unit_test(test_unknown_flag_and_extra_argument),
        cmocka_unit_test(test_decoded_limit_below_body_limit),
        cmocka_unit_test(test_environment_then_flag_wins),
        cmocka_unit_test(test_help_and_version_answer_1),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
