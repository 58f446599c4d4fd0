/*
 * cmd_check.c - `ingestd check` (see the header).
 */
#include "cmd_check.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ing_err.h"
#include "spool_partition.h"
#include "spool_segment.h"

#define CHECK_BUF_BYTES (4u * 1024 * 1024)

/* One partition's walk. */
struct check_part {
    const char *path;
    int dir_fd;
    bool in_use; /* a server holds the lock: the newest segment may grow */
    struct ing_spool_segment_scan scan;

    bool have_next;       /* the previous segment ended cleanly ... */
    uint64_t next_offset; /* ... and the next base must be this */

    uint64_t segments;
    uint64_t records;
    uint64_t bytes;
    bool damaged;
};

static const char check_usage[] =
    "usage: ingestd check --data-dir DIR\n"
    "\n"
    "Verifies every segment header, record framing, CRC and offset of the\n"
    "spool; prints a line per problem and a summary per partition.\n"
    "\n"
    "  -d, --data-dir DIR    the spool directory of the server\n"
    "  -h, --help            this text\n"
    "\n"
    "Exit status: 0 clean, 1 damaged or unreadable, 2 bad usage.\n";

static int usage_error(const char *msg)
{
    if (msg != NULL) {
        fprintf(stderr, "ingestd check: %s\n", msg);
    }
    fprintf(stderr, "Try 'ingestd check --help'.\n");
    return 2;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, const char **data_dir)
{
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    *data_dir = NULL;
    optind = 0; /* glibc: start afresh, whoever parsed before us */
    while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            *data_dir = optarg;
            break;
        case 'h':
            fputs(check_usage, stdout);
            return 0;
        default:
            return usage_error(NULL);
        }
    }

    if (optind < argc) {
        return usage_error("unexpected argument");
    }
    if (*data_dir == NULL) {
        return usage_error("--data-dir is required");
    }
    return -1;
}

static void damage(struct check_part *cp, uint64_t base, uint64_t pos,
                   const char *what)
{
    char name[ING_SPOOL_SEGMENT_NAME_BYTES];

    ing_spool_segment_name(name, base);
    printf("damage: %s/%s: byte %llu: %s\n", cp->path, name,
           (unsigned long long)pos, what);
    cp->damaged = true;
}

static void scan_problem(struct check_part *cp, uint64_t base,
                         enum ing_spool_scan_status st)
{
    const struct ing_spool_segment_scan *s = &cp->scan;
    char what[160];

    if (st == ING_SPOOL_SCAN_IO) {
        snprintf(what, sizeof(what), "%s: %s", s->problem,
                 strerror(s->sys_errno));
    } else if (st == ING_SPOOL_SCAN_DAMAGED && s->bad_offset) {
        snprintf(what, sizeof(what), "%s (found %llu, expected %llu)",
                 s->problem, (unsigned long long)s->found_offset,
                 (unsigned long long)s->next_offset);
    } else {
        snprintf(what, sizeof(what), "%s", s->problem);
    }
    damage(cp, base, s->pos, what);
}

/*
 * Continuity across files: a base above the expected offset means records
 * are missing, one below means two segments claim the same offsets.
 */
static void check_base(struct check_part *cp, uint64_t base)
{
    char what[128];

    if (cp->have_next && base != cp->next_offset) {
        snprintf(
            what, sizeof(what),
            "segment base offset %llu does not follow the previous segment (expected %llu)",
            (unsigned long long)base, (unsigned long long)cp->next_offset);
        damage(cp, base, 0, what);
    }
}

static enum ing_spool_scan_status scan_records(struct check_part *cp)
{
    struct ing_spool_record rec;
    enum ing_spool_scan_status st;

    while ((st = ing_spool_segment_scan_next(&cp->scan, &rec)) ==
           ING_SPOOL_SCAN_OK) {
        cp->records++;
    }
    return st;
}

static void check_segment(struct check_part *cp, uint64_t base, bool newest)
{
    struct stat sb;
    enum ing_spool_scan_status st;

    int fd = ing_spool_segment_open(cp->dir_fd, base, O_RDONLY);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        damage(cp, base, 0, strerror(errno));
        cp->have_next = false;
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    cp->segments++;
    cp->bytes += (uint64_t)sb.st_size;

    st = ing_spool_segment_scan_begin(&cp->scan, fd, base);
    if (st == ING_SPOOL_SCAN_OK) {
        check_base(cp, base);
        st = scan_records(cp);
    }

    if (st == ING_SPOOL_SCAN_TORN && newest && cp->in_use) {
        printf(
            "note: %s: a server is writing this partition; its newest segment ends in a record still being written at byte %llu\n",
            cp->path, (unsigned long long)cp->scan.pos);
    } else if (st != ING_SPOOL_SCAN_END) {
        scan_problem(cp, base, st);
    }

    /* After damage the last good offset is unknown: skip the next check. */
    cp->have_next = st == ING_SPOOL_SCAN_END;
    cp->next_offset = cp->scan.next_offset;
    close(fd);
}

static void check_segments(struct check_part *cp)
{
    uint64_t *bases;
    size_t count;

    if (ing_spool_segment_list(cp->dir_fd, &bases, &count) != ING_OK) {
        printf("damage: %s: cannot list segments: %s\n", cp->path,
               strerror(errno));
        cp->damaged = true;
        return;
    }
    for (size_t i = 0; i < count; i++) {
        check_segment(cp, bases[i], i + 1 == count);
    }
    free(bases);
}

/* Returns true when the partition is clean. */
static bool check_partition(const char *data_dir, unsigned id)
{
    char path[PATH_MAX];
    struct check_part cp = {.path = path, .dir_fd = -1};

    if (ing_spool_partition_path(path, sizeof(path), data_dir, id) != ING_OK ||
        (cp.dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        printf("damage: %s/partition-%u: cannot open: %s\n", data_dir, id,
               strerror(errno));
        return false;
    }
    if (ing_spool_segment_scan_init(&cp.scan, CHECK_BUF_BYTES) != ING_OK) {
        printf("ingestd check: out of memory\n");
        close(cp.dir_fd);
        return false;
    }
    cp.in_use = ing_spool_partition_in_use(cp.dir_fd);

    check_segments(&cp);
    printf("partition %u: %llu segments, %llu records, %llu bytes, %s%s\n", id,
           (unsigned long long)cp.segments, (unsigned long long)cp.records,
           (unsigned long long)cp.bytes, cp.damaged ? "DAMAGED" : "ok",
           cp.in_use ? " (in use)" : "");

    ing_spool_segment_scan_fini(&cp.scan);
    close(cp.dir_fd);
    return !cp.damaged;
}

int ing_cmd_check_main(int argc, char **argv)
{
    const char *data_dir;
    unsigned *ids;
    size_t count;
    bool clean = true;

    int rc = parse_args(argc, argv, &data_dir);
    if (rc >= 0) {
        return rc;
    }
    if (ing_spool_partition_list(data_dir, &ids, &count) != ING_OK) {
        fprintf(stderr, "ingestd check: cannot read %s: %s\n", data_dir,
                strerror(errno));
        return 1;
    }

    for (size_t i = 0; i < count; i++) {
        clean = check_partition(data_dir, ids[i]) && clean;
    }
    free(ids);

    printf("%s: %zu partitions, %s\n", data_dir, count,
           clean ? "clean" : "DAMAGED");
    fflush(stdout);
    return clean ? 0 : 1;
}
