/*
 * cmd_read.c - `ingestd read` (see the header).
 */
#include "cmd_read.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ing_err.h"
#include "spool_partition.h"
#include "spool_reader.h"

/* Large enough that a write(2) moves megabytes, not lines. */
#define OUT_BUF_BYTES  (1024 * 1024)
#define FOLLOW_POLL_MS 100
/* Per partition per round in --follow, so one busy partition cannot
 * starve the others. */
#define FOLLOW_ROUND_RECORDS 10000

struct read_opts {
    const char *data_dir;
    bool have_partition;
    unsigned partition;
    bool have_from;
    uint64_t from;
    bool follow;
};

struct read_out {
    char *buf;
    size_t len;
    bool failed;
};

struct read_part {
    unsigned id;
    struct ing_spool_reader *reader; /* NULL once given up on */
};

struct read_state {
    struct read_opts opts;
    struct read_out out;
    struct read_part *parts;
    size_t nparts;
    int status;
};

static volatile sig_atomic_t read_stop;

static const char read_usage[] =
    "usage: ingestd read --data-dir DIR [--partition N] [--from OFFSET] [--follow]\n"
    "\n"
    "Prints every stored event as one NDJSON line, partitions in order,\n"
    "records in offset order.  CR and LF inside an event print as a space.\n"
    "\n"
    "  -d, --data-dir DIR    the spool directory of the server\n"
    "  -p, --partition N     only partition N\n"
    "      --from OFFSET     start at this offset (needs --partition)\n"
    "  -f, --follow          keep printing new events until interrupted\n"
    "  -h, --help            this text\n"
    "\n"
    "Exit status: 0 done, 1 unreadable data or damage found, 2 bad usage.\n";

static void on_signal(int sig)
{
    (void)sig;
    read_stop = 1;
}

/* Strict decimal: digits only, no sign, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;

    if (*s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

static int usage_error(const char *msg)
{
    if (msg != NULL) {
        fprintf(stderr, "ingestd read: %s\n", msg);
    }
    fprintf(stderr, "Try 'ingestd read --help'.\n");
    return 2;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct read_opts *o)
{
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"partition", required_argument, NULL, 'p'},
        {"from", required_argument, NULL, 'o'},
        {"follow", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    int c;

    memset(o, 0, sizeof(*o));
    optind = 0; /* glibc: start afresh, whoever parsed before us */
    while ((c = getopt_long(argc, argv, "d:p:fh", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->data_dir = optarg;
            break;
        case 'p':
            if (!parse_u64(optarg, &v) || v > UINT_MAX) {
                return usage_error("--partition takes a partition number");
            }
            o->have_partition = true;
            o->partition = (unsigned)v;
            break;
        case 'o':
            if (!parse_u64(optarg, &o->from)) {
                return usage_error("--from takes an offset (a number)");
            }
            o->have_from = true;
            break;
        case 'f':
            o->follow = true;
            break;
        case 'h':
            fputs(read_usage, stdout);
            return 0;
        default:
            return usage_error(NULL);
        }
    }

    if (optind < argc) {
        return usage_error("unexpected argument");
    }
    if (o->data_dir == NULL) {
        return usage_error("--data-dir is required");
    }
    if (o->have_from && !o->have_partition) {
        return usage_error(
            "--from needs --partition (offsets are per partition)");
    }
    return -1;
}

/* ---- output ---- */

static void out_flush(struct read_out *out)
{
    size_t done = 0;

    while (done < out->len && !out->failed) {
        ssize_t n = write(STDOUT_FILENO, out->buf + done, out->len - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, "ingestd read: write to stdout failed: %s\n",
                    n < 0 ? strerror(errno) : "wrote nothing");
            out->failed = true;
        } else {
            done += (size_t)n;
        }
    }
    out->len = 0;
}

/* CR and LF can only be insignificant whitespace in valid JSON. */
static void blank_line_breaks(char *p, size_t n)
{
    char *end = p + n;

    /* memchr is vectorised; events almost never hold either byte. */
    for (char *c = p; (c = memchr(c, '\n', (size_t)(end - c))) != NULL;) {
        *c++ = ' ';
    }
    for (char *c = p; (c = memchr(c, '\r', (size_t)(end - c))) != NULL;) {
        *c++ = ' ';
    }
}

static void out_line(struct read_out *out, struct ing_view payload)
{
    const char *src = payload.ptr;
    size_t left = payload.len;

    while (left > 0) {
        if (out->len == OUT_BUF_BYTES) {
            out_flush(out);
        }
        size_t n = OUT_BUF_BYTES - out->len;
        if (n > left) {
            n = left;
        }
        memcpy(out->buf + out->len, src, n);
        blank_line_breaks(out->buf + out->len, n);
        out->len += n;
        src += n;
        left -= n;
    }

    if (out->len == OUT_BUF_BYTES) {
        out_flush(out);
    }
    out->buf[out->len++] = '\n';
}

/* ---- partitions ---- */

static int add_partition(struct read_state *s, unsigned id)
{
    char path[PATH_MAX];
    struct ing_spool_reader *r;
    uint64_t from = s->opts.have_from ? s->opts.from : 0;

    if (ing_spool_partition_path(path, sizeof(path), s->opts.data_dir, id) !=
            ING_OK ||
        ing_spool_reader_open(path, from, &r) != ING_OK) {
        fprintf(stderr, "ingestd read: cannot open %s/partition-%u: %s\n",
                s->opts.data_dir, id, strerror(errno));
        return ING_ERROR;
    }

    struct read_part *grown =
        realloc(s->parts, (s->nparts + 1) * sizeof(*s->parts));
    if (grown == NULL) {
        ing_spool_reader_close(r);
        fprintf(stderr, "ingestd read: out of memory\n");
        return ING_ERROR;
    }
    s->parts = grown;
    s->parts[s->nparts].id = id;
    s->parts[s->nparts].reader = r;
    s->nparts++;
    return ING_OK;
}

static bool have_partition(const struct read_state *s, unsigned id)
{
    for (size_t i = 0; i < s->nparts; i++) {
        if (s->parts[i].id == id) {
            return true;
        }
    }
    return false;
}

/* Opens readers for partitions not seen yet; the listing is ascending. */
static int add_new_partitions(struct read_state *s)
{
    unsigned *ids;
    size_t count;

    if (s->opts.have_partition) {
        return have_partition(s, s->opts.partition)
                   ? ING_OK
                   : add_partition(s, s->opts.partition);
    }
    if (ing_spool_partition_list(s->opts.data_dir, &ids, &count) != ING_OK) {
        fprintf(stderr, "ingestd read: cannot read %s: %s\n", s->opts.data_dir,
                strerror(errno));
        return ING_ERROR;
    }

    int rc = ING_OK;
    for (size_t i = 0; i < count && rc == ING_OK; i++) {
        if (!have_partition(s, ids[i])) {
            rc = add_partition(s, ids[i]);
        }
    }
    free(ids);
    return rc;
}

static void report_damage(struct read_state *s, struct read_part *part)
{
    const struct ing_spool_damage *d = ing_spool_reader_damage(part->reader);

    fprintf(stderr, "ingestd read: %s/%s: byte %llu: %s%s%s\n", d->dir,
            d->segment, (unsigned long long)d->file_pos, d->what,
            d->sys_errno != 0 ? ": " : "",
            d->sys_errno != 0 ? strerror(d->sys_errno) : "");
    s->status = 1;

    /* A failed read would fail again: give up on this partition. */
    if (d->sys_errno != 0) {
        ing_spool_reader_close(part->reader);
        part->reader = NULL;
    }
}

/* Prints up to `limit` records; returns how many. */
static size_t drain(struct read_state *s, struct read_part *part, size_t limit)
{
    struct ing_spool_record rec;
    size_t printed = 0;

    while (part->reader != NULL && printed < limit && !s->out.failed) {
        int rc = ing_spool_reader_next(part->reader, &rec);

        if (rc == ING_AGAIN) {
            break;
        }
        if (rc == ING_ERROR) {
            report_damage(s, part);
            continue;
        }
        out_line(&s->out, rec.payload);
        printed++;
    }
    return printed;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void follow(struct read_state *s)
{
    struct sigaction sa = {0};
    struct sigaction old_int;
    struct sigaction old_term;

    /* No SA_RESTART: the signal must cut the poll sleep short. */
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    read_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    while (!read_stop && !s->out.failed) {
        size_t printed = 0;

        for (size_t i = 0; i < s->nparts; i++) {
            printed += drain(s, &s->parts[i], FOLLOW_ROUND_RECORDS);
        }
        if (printed == 0) {
            out_flush(&s->out);
            sleep_ms(FOLLOW_POLL_MS);
            add_new_partitions(s);
        }
    }

    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}

static void read_all(struct read_state *s)
{
    for (size_t i = 0; i < s->nparts && !s->out.failed; i++) {
        drain(s, &s->parts[i], SIZE_MAX);
    }
}

int ing_cmd_read_main(int argc, char **argv)
{
    struct read_state s = {0};

    int rc = parse_args(argc, argv, &s.opts);
    if (rc >= 0) {
        return rc;
    }

    s.out.buf = malloc(OUT_BUF_BYTES + 1);
    if (s.out.buf == NULL) {
        fprintf(stderr, "ingestd read: out of memory\n");
        return 1;
    }

    if (add_new_partitions(&s) != ING_OK) {
        s.status = 1;
    } else if (s.opts.follow) {
        follow(&s);
    } else {
        read_all(&s);
    }
    out_flush(&s.out);

    for (size_t i = 0; i < s.nparts; i++) {
        ing_spool_reader_close(s.parts[i].reader);
    }
    free(s.parts);
    free(s.out.buf);
    return s.out.failed ? 1 : s.status;
}
