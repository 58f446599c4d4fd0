/*
 * spool_cmd_read_test.c - `ingestd read`: output bytes, CR/LF, partition
 * order, --partition/--from, --follow, exit statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd_read.h"
#include "ing_err.h"
#include "log.h"
#include "spool_partition.h"
#include "test_support.h"

#define OUT_MAX (1 << 16)

struct fixture {
    char dir[64];
    char out_path[96];
    char err_path[96];
    char out[OUT_MAX];
    char err[4096];
    struct ing_spool_options opt;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    ing_test_tmpdir_make(f->dir, sizeof(f->dir), "ingspool-cmdr");
    snprintf(f->out_path, sizeof(f->out_path), "%s.out", f->dir);
    snprintf(f->err_path, sizeof(f->err_path), "%s.err", f->dir);
    f->opt.data_dir = f->dir;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ing_test_tmpdir_remove(f->dir);
    unlink(f->out_path);
    unlink(f->err_path);
    free(f);
    return 0;
}

/* Points fd 1 and 2 at the fixture's files until restore(). */
static void redirect(struct fixture *f, struct ing_test_capture cap[2])
{
    ing_test_capture_start(&cap[0], 1, f->out_path);
    ing_test_capture_start(&cap[1], 2, f->err_path);
}

/* Gives fd 1 and 2 back; what was written is in f->out and f->err. */
static void restore(struct fixture *f, struct ing_test_capture cap[2])
{
    ing_test_capture_stop(&cap[0], f->out, sizeof(f->out));
    ing_test_capture_stop(&cap[1], f->err, sizeof(f->err));
}

/* Runs `ingestd read ARGS...` (NULL-terminated); output in f->out/err. */
static int run(struct fixture *f, ...)
{
    static char store[16][256];
    char *argv[17];
    int argc = 0;
    struct ing_test_capture cap[2];
    va_list ap;

    /* getopt wants char *argv[]; literals are const here. */
    strcpy(store[argc], "read");
    argv[argc] = store[argc];
    argc++;
    va_start(ap, f);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL; argc++) {
        snprintf(store[argc], sizeof(store[argc]), "%s", a);
        argv[argc] = store[argc];
    }
    va_end(ap);
    argv[argc] = NULL;

    redirect(f, cap);
    int rc = ing_cmd_read_main(argc, argv);
    restore(f, cap);
    return rc;
}

static void append(struct fixture *f, unsigned id, const char **events,
                   size_t n)
{
    struct ing_spool_partition *p;
    struct ing_view views[16];
    struct ing_err err;

    for (size_t i = 0; i < n; i++) {
        views[i] = ing_view_make(events[i], strlen(events[i]));
    }
    assert_int_equal(ing_spool_partition_open(&f->opt, id, &p, &err), ING_OK);
    assert_int_equal(ing_spool_partition_append(p, views, n, 1, &err), ING_OK);
    ing_spool_partition_close(p);
}

static void test_cr_lf_blanked(void **state)
{
    struct fixture *f = *state;
    const char *events[] = {
        "{\"a\":1,\r\n\"b\":\"x\"}",
        "{\n\"c\":\"line\\nbreak \\r escaped\"}\n",
        "{\"d\":\"caf\xC3\xA9 \\u00e9\"}",
    };

    append(f, 0, events, 3);
    assert_int_equal(run(f, "--data-dir", f->dir, NULL), 0);
    assert_string_equal(f->out, "{\"a\":1,  \"b\":\"x\"}\n"
                                "{ \"c\":\"line\\nbreak \\r escaped\"} \n"
                                "{\"d\":\"caf\xC3\xA9 \\u00e9\"}\n");
    assert_string_equal(f->err, "");
}

static void test_partitions_in_order(void **state)
{
    struct fixture *f = *state;
    const char *p0[] = {"{\"p\":0,\"o\":0}", "{\"p\":0,\"o\":1}"};
    const char *p1[] = {"{\"p\":1,\"o\":0}", "{\"p\":1,\"o\":1}",
                        "{\"p\":1,\"o\":2}", "{\"p\":1,\"o\":3}",
                        "{\"p\":1,\"o\":4}"};
    const char *p10[] = {"{\"p\":10,\"o\":0}"};

    append(f, 10, p10, 1);
    append(f, 1, p1, 5);
    append(f, 0, p0, 2);

    assert_int_equal(run(f, "-d", f->dir, NULL), 0);
    assert_string_equal(f->out, "{\"p\":0,\"o\":0}\n{\"p\":0,\"o\":1}\n"
                                "{\"p\":1,\"o\":0}\n{\"p\":1,\"o\":1}\n"
                                "{\"p\":1,\"o\":2}\n{\"p\":1,\"o\":3}\n"
                                "{\"p\":1,\"o\":4}\n{\"p\":10,\"o\":0}\n");

    assert_int_equal(run(f, "--data-dir", f->dir, "--partition", "1", NULL), 0);
    assert_string_equal(f->out, "{\"p\":1,\"o\":0}\n{\"p\":1,\"o\":1}\n"
                                "{\"p\":1,\"o\":2}\n{\"p\":1,\"o\":3}\n"
                                "{\"p\":1,\"o\":4}\n");

    assert_int_equal(
        run(f, "--data-dir", f->dir, "--partition", "1", "--from", "3", NULL),
        0);
    assert_string_equal(f->out, "{\"p\":1,\"o\":3}\n{\"p\":1,\"o\":4}\n");

    assert_int_equal(
        run(f, "--data-dir", f->dir, "-p", "0", "--from", "9", NULL), 0);
    assert_string_equal(f->out, "");
}

static void test_usage(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(run(f, NULL), 2);
    assert_non_null(strstr(f->err, "--data-dir is required"));
    assert_int_equal(run(f, "--data-dir", f->dir, "--from", "3", NULL), 2);
    assert_non_null(strstr(f->err, "--from needs --partition"));
    assert_int_equal(run(f, "--data-dir", f->dir, "--bogus", NULL), 2);
    assert_int_equal(run(f, "--data-dir", f->dir, "-p", "x", NULL), 2);
    assert_int_equal(run(f, "--data-dir", f->dir, "-p", "-1", NULL), 2);
    assert_int_equal(
        run(f, "--data-dir", f->dir, "-p", "0", "--from", "1x", NULL), 2);
    assert_int_equal(run(f, "--data-dir", f->dir, "extra", NULL), 2);
    assert_int_equal(run(f, "--help", NULL), 0);
    assert_non_null(strstr(f->out, "usage: ingestd read"));
}

static void test_unreadable(void **state)
{
    struct fixture *f = *state;
    char missing[128];

    snprintf(missing, sizeof(missing), "%s/nope", f->dir);
    assert_int_equal(run(f, "--data-dir", missing, NULL), 1);
    assert_non_null(strstr(f->err, "cannot read"));
    assert_int_equal(run(f, "--data-dir", f->dir, "--partition", "3", NULL), 1);
    assert_non_null(strstr(f->err, "partition-3"));
}

static void test_damage_reported(void **state)
{
    struct fixture *f = *state;
    const char *events[] = {"{\"n\":0}", "{\"n\":1}", "{\"n\":2}"};
    char path[160];
    char want[200];

    append(f, 0, events, 3);
    ing_test_segment_path(path, sizeof(path), f->dir, 0, 0);
    ing_test_file_poke(path, 16 + 31 + 26, "X", 1);

    assert_int_equal(run(f, "--data-dir", f->dir, NULL), 1);
    assert_string_equal(f->out, "{\"n\":0}\n");
    snprintf(want, sizeof(want), "%s: byte 47: record CRC mismatch", path);
    assert_non_null(strstr(f->err, want));
}

struct follow_run {
    struct fixture *f;
    int rc;
};

static void *follow_thread(void *arg)
{
    struct follow_run *fr = arg;
    static char read_arg[] = "read";
    static char dir_arg[] = "--data-dir";
    static char follow_arg[] = "--follow";
    char *argv[] = {read_arg, dir_arg, fr->f->dir, follow_arg, NULL};

    fr->rc = ing_cmd_read_main(4, argv);
    return NULL;
}

/* Waits up to 5 s for the output file to read `want`. */
static bool wait_output(struct fixture *f, const char *want)
{
    char buf[OUT_MAX];
    struct timespec ms10 = {0, 10000000};

    for (int i = 0; i < 500; i++) {
        ing_test_file_slurp(f->out_path, buf, sizeof(buf));
        if (strcmp(buf, want) == 0) {
            return true;
        }
        nanosleep(&ms10, NULL);
    }
    return false;
}

static void test_follow(void **state)
{
    struct fixture *f = *state;
    struct follow_run fr = {f, -1};
    const char *first[] = {"{\"a\":1}"};
    const char *more[] = {"{\"b\":2}", "{\"c\":3}"};
    const char *other[] = {"{\"p\":4}"};
    struct ing_spool_partition *p;
    struct ing_view v[2];
    struct ing_err err;
    pthread_t tid;
    struct ing_test_capture cap[2];

    f->opt.segment_bytes = 40;
    append(f, 0, first, 1);
    redirect(f, cap);
    assert_int_equal(pthread_create(&tid, NULL, follow_thread, &fr), 0);
    bool ok1 = wait_output(f, "{\"a\":1}\n");

    /* Rolls to a new segment, then a partition appears. */
    assert_int_equal(ing_spool_partition_open(&f->opt, 0, &p, &err), ING_OK);
    v[0] = ing_view_make(more[0], strlen(more[0]));
    v[1] = ing_view_make(more[1], strlen(more[1]));
    assert_int_equal(ing_spool_partition_append(p, v, 1, 1, &err), ING_OK);
    assert_int_equal(ing_spool_partition_append(p, v + 1, 1, 1, &err), ING_OK);
    ing_spool_partition_close(p);
    bool ok2 = wait_output(f, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
    append(f, 2, other, 1);
    bool ok3 = wait_output(f, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n{\"p\":4}\n");

    pthread_kill(tid, SIGTERM);
    pthread_join(tid, NULL);
    restore(f, cap);

    assert_true(ok1);
    assert_true(ok2);
    assert_true(ok3);
    assert_int_equal(fr.rc, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_cr_lf_blanked), T(test_partitions_in_order), T(test_usage),
        T(test_unreadable),    T(test_damage_reported),     T(test_follow),
    };
#undef T

    ing_log_min_level = ING_LOG_ERROR;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
