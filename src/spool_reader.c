/*
 * spool_reader.c - records of one partition in offset order (see header).
 */
#include "spool_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ing_err.h"

/* Big enough that reading a segment costs few preads. */
#define READER_BUF_BYTES (4u * 1024 * 1024)

struct ing_spool_reader {
    char *dir_path;
    int dir_fd;
    uint64_t from_offset;

    uint64_t *bases; /* cached segment listing, ascending */
    size_t count;

    bool have_segment; /* cur_base names the segment being read */
    uint64_t cur_base;
    int seg_fd;     /* -1 until cur_base is opened */
    bool begun;     /* the segment header has been checked */
    bool seg_final; /* a newer segment exists: this one will not grow */

    bool stuck; /* damage in the newest segment, reported once */
    uint64_t stuck_base;
    uint64_t stuck_pos;

    struct ing_spool_segment_scan scan;
    struct ing_spool_damage damage;
};

/* What to do after the scan stopped at something other than a record. */
enum reader_step {
    READER_CONTINUE,
    READER_AGAIN,
    READER_ERROR,
};

int ing_spool_reader_open(const char *partition_dir, uint64_t from_offset,
                          struct ing_spool_reader **out)
{
    struct ing_spool_reader *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (r == NULL) {
        return ING_ERROR;
    }
    r->seg_fd = -1;
    r->from_offset = from_offset;
    r->dir_path = strdup(partition_dir);
    r->dir_fd = open(partition_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->dir_path == NULL || r->dir_fd < 0 ||
        ing_spool_segment_scan_init(&r->scan, READER_BUF_BYTES) != ING_OK) {
        int saved = r->dir_path == NULL ? ENOMEM : errno;

        ing_spool_reader_close(r);
        errno = saved;
        return ING_ERROR;
    }
    r->damage.dir = r->dir_path;
    *out = r;
    return ING_OK;
}

void ing_spool_reader_close(struct ing_spool_reader *r)
{
    if (r == NULL) {
        return;
    }
    if (r->seg_fd >= 0) {
        close(r->seg_fd);
    }
    if (r->dir_fd >= 0) {
        close(r->dir_fd);
    }
    ing_spool_segment_scan_fini(&r->scan);
    free(r->bases);
    free(r->dir_path);
    free(r);
}

const struct ing_spool_damage *
ing_spool_reader_damage(const struct ing_spool_reader *r)
{
    return &r->damage;
}

static int relist(struct ing_spool_reader *r)
{
    free(r->bases);
    return ing_spool_segment_list(r->dir_fd, &r->bases, &r->count);
}

/* Index of the first cached base greater than `base`, or r->count. */
static size_t upper_bound(const struct ing_spool_reader *r, uint64_t base)
{
    size_t lo = 0;
    size_t hi = r->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (r->bases[mid] <= base) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/*
 * Finds the segment after the current one, listing the directory again
 * only when the cached listing has none (so a long read lists it once,
 * not once per segment).  1 found (*next set), 0 none yet, -1 error.
 */
static int find_next(struct ing_spool_reader *r, uint64_t *next)
{
    size_t i = upper_bound(r, r->cur_base);

    if (i == r->count) {
        if (relist(r) != ING_OK) {
            return -1;
        }
        i = upper_bound(r, r->cur_base);
        if (i == r->count) {
            return 0;
        }
    }
    *next = r->bases[i];
    return 1;
}

/* The segment holding from_offset: the greatest base <= it, else the first. */
static int pick_first(struct ing_spool_reader *r)
{
    if (relist(r) != ING_OK) {
        return ING_ERROR;
    }
    if (r->count == 0) {
        return ING_AGAIN;
    }

    size_t i = upper_bound(r, r->from_offset);
    r->cur_base = r->bases[i == 0 ? 0 : i - 1];
    r->have_segment = true;
    return ING_OK;
}

static void close_segment(struct ing_spool_reader *r)
{
    if (r->seg_fd >= 0) {
        close(r->seg_fd);
    }
    r->seg_fd = -1;
    r->begun = false;
    r->seg_final = false;
}

static int fail(struct ing_spool_reader *r, const char *what, int errnum)
{
    r->damage.segment[0] = '\0';
    if (r->have_segment) {
        ing_spool_segment_name(r->damage.segment, r->cur_base);
    }
    r->damage.file_pos = r->begun ? r->scan.pos : 0;
    r->damage.what = what;
    r->damage.sys_errno = errnum;
    return ING_ERROR;
}

/* Opens the current segment; a vanished one (retention) is stepped over. */
static int open_segment(struct ing_spool_reader *r)
{
    uint64_t next;

    if (!r->have_segment) {
        int rc = pick_first(r);

        if (rc != ING_OK) {
            return rc == ING_AGAIN ? ING_AGAIN
                                   : fail(r, "readdir failed", errno);
        }
    }

    for (;;) {
        r->seg_fd = ing_spool_segment_open(r->dir_fd, r->cur_base, O_RDONLY);
        if (r->seg_fd >= 0) {
            return ING_OK;
        }
        if (errno != ENOENT) {
            return fail(r, "open failed", errno);
        }

        int found = find_next(r, &next);
        if (found <= 0) {
            return found == 0 ? ING_AGAIN : fail(r, "readdir failed", errno);
        }
        r->cur_base = next;
    }
}

static enum reader_step skip_segment(struct ing_spool_reader *r)
{
    uint64_t next;

    if (find_next(r, &next) == 1) {
        close_segment(r);
        r->cur_base = next;
    } else {
        /* The newer segment vanished: this one is the newest again. */
        r->seg_final = false;
    }
    return READER_ERROR;
}

/*
 * Damage in the newest segment is reported once and then waited on: a
 * server that restarts cuts it and appends new records in its place.
 */
static enum reader_step on_damage(struct ing_spool_reader *r)
{
    uint64_t pos = r->begun ? r->scan.pos : 0;

    fail(r, r->scan.problem, 0);
    if (r->seg_final) {
        return skip_segment(r);
    }
    if (r->stuck && r->stuck_base == r->cur_base && r->stuck_pos == pos) {
        return READER_AGAIN;
    }
    r->stuck = true;
    r->stuck_base = r->cur_base;
    r->stuck_pos = pos;
    return READER_ERROR;
}

/*
 * The end of the file, or a record cut short by it.  In the newest segment
 * that is "not yet written".  Once a newer segment exists this one is
 * final, but it may have grown between our read and the roll, so it is
 * read once more before we trust what we saw.
 */
static enum reader_step on_end(struct ing_spool_reader *r,
                               enum ing_spool_scan_status st)
{
    uint64_t next;

    if (!r->seg_final) {
        int found = find_next(r, &next);

        if (found < 0) {
            fail(r, "readdir failed", errno);
            return READER_ERROR;
        }
        if (found == 0) {
            return READER_AGAIN;
        }
        r->seg_final = true;
        return READER_CONTINUE;
    }

    if (st == ING_SPOOL_SCAN_TORN) {
        fail(r, r->scan.problem, 0);
        return skip_segment(r);
    }
    if (find_next(r, &next) != 1) {
        /* The newer segment vanished (retention): wait for the listing. */
        r->seg_final = false;
        return READER_AGAIN;
    }
    close_segment(r);
    r->cur_base = next;
    return READER_CONTINUE;
}

static enum reader_step on_stop(struct ing_spool_reader *r,
                                enum ing_spool_scan_status st)
{
    switch (st) {
    case ING_SPOOL_SCAN_END:
    case ING_SPOOL_SCAN_TORN:
        return on_end(r, st);
    case ING_SPOOL_SCAN_DAMAGED:
        if (!r->seg_final) {
            uint64_t next;

            r->seg_final = find_next(r, &next) == 1;
        }
        return on_damage(r);
    case ING_SPOOL_SCAN_IO:
    case ING_SPOOL_SCAN_OK:
        break;
    }
    fail(r, r->scan.problem, r->scan.sys_errno);
    return READER_ERROR;
}

static enum ing_spool_scan_status step(struct ing_spool_reader *r,
                                       struct ing_spool_record *rec)
{
    if (r->begun) {
        return ing_spool_segment_scan_next(&r->scan, rec);
    }

    enum ing_spool_scan_status st =
        ing_spool_segment_scan_begin(&r->scan, r->seg_fd, r->cur_base);
    if (st == ING_SPOOL_SCAN_OK) {
        r->begun = true;
        return ing_spool_segment_scan_next(&r->scan, rec);
    }
    return st;
}

int ing_spool_reader_next(struct ing_spool_reader *r,
                          struct ing_spool_record *rec)
{
    for (;;) {
        if (r->seg_fd < 0) {
            int rc = open_segment(r);

            if (rc != ING_OK) {
                return rc;
            }
        }

        enum ing_spool_scan_status st = step(r, rec);
        if (st == ING_SPOOL_SCAN_OK) {
            r->stuck = false;
            if (rec->offset >= r->from_offset) {
                return ING_OK;
            }
            continue;
        }

        enum reader_step next = on_stop(r, st);
        if (next == READER_AGAIN) {
            return ING_AGAIN;
        }
        if (next == READER_ERROR) {
            return ING_ERROR;
        }
    }
}
