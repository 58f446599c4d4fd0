/*
 * spool_partition.c - appending to a partition, rolling its segments and
 * recovering it at start-up.
 */
#include "spool_partition.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spool_int.h"
#include "spool_record.h"
#include "spool_retention.h"
#include "spool_segment.h"

#define LOCK_NAME          "LOCK"
#define PARTITION_PREFIX   "partition-"
#define RECOVERY_BUF_BYTES (1024 * 1024)
/* Rolls a closed-segment list absorbs between two retention runs without
 * allocating on the request path. */
#define ROLL_SPARE 16

struct ing_spool_partition {
    unsigned id;
    char *dir_path; /* <data-dir>/partition-<N>, for messages */
    int dir_fd;
    int lock_fd;
    int seg_fd;      /* the segment appended to */
    int unsynced_fd; /* a segment rolled away before its fsync, or -1 */
    uint64_t seg_base;
    uint64_t seg_size; /* bytes of whole records, header included */
    uint64_t next_offset;
    uint64_t segment_bytes;
    uint64_t max_bytes;  /* all segments; 0: no limit */
    bool durable;        /* rolls sync: see spool_partition.h */
    int sync_errno;      /* an fsync failure not yet reported by a sync */
    bool dir_unsynced;   /* a segment was created since the last dir fsync */
    bool tail_dirty;     /* a failed append may have left bytes past seg_size */
    bool roll_wanted;    /* roll at the next append whatever the size */
    bool sync_failing;   /* the last sync failed: do not log again */
    bool retain_failing; /* the last unlink failed: do not log again */
    const char *failing; /* cause of the failing appends, NULL if none */
    uint64_t failed_appends;              /* in the current incident */
    uint64_t last_failure_ms;             /* CLOCK_MONOTONIC_COARSE */
    struct ing_spool_retention retention; /* the closed segments */
    size_t chunk_events;
    struct iovec *iov;      /* two per event: header, payload */
    unsigned char *headers; /* ING_SPOOL_RECORD_HEADER_BYTES per event */
};

static int unavailable(struct ing_err *err, const char *message, int errnum)
{
    err->sys_errno = errnum;
    return ing_err_set(err, ING_ERR_UNAVAILABLE, message, ING_ERR_NONE);
}

int ing_spool_partition_path(char *buf, size_t size, const char *data_dir,
                             unsigned partition_id)
{
    int n = snprintf(buf, size, "%s/" PARTITION_PREFIX "%u", data_dir,
                     partition_id);

    if (n < 0 || (size_t)n >= size) {
        return ING_ERROR;
    }
    return ING_OK;
}

/* ---- start-up: directories and the lock ---- */

static int make_dir(const char *path, struct ing_err *err)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        int saved = errno;

        ING_LOG_ERRNO(ING_LOG_ERROR, "spool", saved, "mkdir() failed path=%s",
                      path);
        return unavailable(err, "cannot create the spool directory", saved);
    }
    return ING_OK;
}

static int open_dirs(struct ing_spool_partition *p, const char *data_dir,
                     struct ing_err *err)
{
    char path[PATH_MAX];

    if (ing_spool_partition_path(path, sizeof(path), data_dir, p->id) !=
        ING_OK) {
        ING_ERROR_LOG("spool", "data directory path too long path=%s",
                      data_dir);
        return unavailable(err, "spool path too long", ENAMETOOLONG);
    }
    if (make_dir(data_dir, err) != ING_OK || make_dir(path, err) != ING_OK) {
        return ING_ERROR;
    }

    p->dir_path = strdup(path);
    if (p->dir_path == NULL) {
        return unavailable(err, "out of memory", ENOMEM);
    }

    p->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->dir_fd < 0) {
        int saved = errno;

        ING_LOG_ERRNO(ING_LOG_ERROR, "spool", saved, "open() failed path=%s",
                      path);
        return unavailable(err, "cannot open the spool directory", saved);
    }
    return ING_OK;
}

/* Reads the holder's pid from LOCK, to name it in the message; 0 if none. */
static long lock_holder(int fd)
{
    char text[32];
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

    if (n <= 0) {
        return 0;
    }
    text[n] = '\0';
    return strtol(text, NULL, 10);
}

/*
 * flock(2) rather than fcntl(2) locks: they belong to the open file
 * description, so a second open in the same process conflicts too, and
 * closing some other descriptor of the file does not drop them.
 */
static int take_lock(struct ing_spool_partition *p, struct ing_err *err)
{
    char pid[32];

    p->lock_fd =
        openat(p->dir_fd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (p->lock_fd < 0) {
        int saved = errno;

        ING_LOG_ERRNO(ING_LOG_ERROR, "spool", saved,
                      "open() failed path=%s/" LOCK_NAME, p->dir_path);
        return unavailable(err, "cannot open the spool lock", saved);
    }

    if (flock(p->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;

        ING_LOG_ERRNO(
            ING_LOG_ERROR, "spool", saved,
            "partition is locked by another process, is another ingestd using this data directory? path=%s holder_pid=%ld",
            p->dir_path, lock_holder(p->lock_fd));
        return unavailable(err, "spool partition locked by another process",
                           saved);
    }

    /* Only informative: the lock, not the text, is what excludes. */
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(p->lock_fd, 0) != 0 ||
        pwrite(p->lock_fd, pid, (size_t)n, 0) != n) {
        ING_LOG_ERRNO(ING_LOG_WARN, "spool", errno,
                      "cannot write pid to lock file path=%s/" LOCK_NAME,
                      p->dir_path);
    }
    return ING_OK;
}

bool ing_spool_partition_in_use(int dir_fd)
{
    int fd = openat(dir_fd, LOCK_NAME, O_RDONLY | O_CLOEXEC);
    bool in_use = false;

    if (fd < 0) {
        return false;
    }
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        in_use = errno == EWOULDBLOCK;
    } else {
        flock(fd, LOCK_UN);
    }
    close(fd);
    return in_use;
}

/* ---- start-up: recovery of the last segment ---- */

static int create_first_segment(struct ing_spool_partition *p,
                                struct ing_err *err)
{
    p->seg_fd = ing_spool_segment_create(p->dir_fd, 0);
    if (p->seg_fd < 0 || fsync(p->dir_fd) != 0) {
        int saved = errno;

        ING_LOG_ERRNO(ING_LOG_ERROR, "spool", saved,
                      "cannot create the first segment path=%s", p->dir_path);
        return unavailable(err, "cannot create a spool segment", saved);
    }
    p->seg_base = 0;
    p->seg_size = ING_SPOOL_SEGMENT_HEADER_BYTES;
    p->next_offset = 0;
    return ING_OK;
}

static enum ing_spool_scan_status
scan_to_end(struct ing_spool_segment_scan *scan)
{
    struct ing_spool_record rec;
    enum ing_spool_scan_status st;

    do {
        st = ing_spool_segment_scan_next(scan, &rec);
    } while (st == ING_SPOOL_SCAN_OK);
    return st;
}

/*
 * Cuts the segment at the end of its last whole record.  Everything after
 * the first bad record goes, as in Kafka's recovery: past a tear the
 * framing cannot be trusted, and a later record that happened to parse
 * would leave a hole in the offsets.  `check` reports what was there.
 */
static int cut_tail(struct ing_spool_partition *p, const char *name,
                    const struct ing_spool_segment_scan *scan,
                    struct ing_err *err)
{
    struct stat st;

    if (fstat(p->seg_fd, &st) != 0) {
        return unavailable(err, "cannot stat a spool segment", errno);
    }
    if ((uint64_t)st.st_size <= scan->pos) {
        return ING_OK;
    }

    if (ftruncate(p->seg_fd, (off_t)scan->pos) != 0 || fsync(p->seg_fd) != 0) {
        int saved = errno;

        ING_LOG_ERRNO(ING_LOG_ERROR, "spool", saved,
                      "cannot cut torn tail file=%s/%s offset=%llu",
                      p->dir_path, name, (unsigned long long)scan->pos);
        return unavailable(err, "cannot repair a spool segment", saved);
    }
    ING_WARN(
        "spool",
        "cut torn tail file=%s/%s offset=%llu removed_bytes=%llu reason=\"%s\" next_offset=%llu",
        p->dir_path, name, (unsigned long long)scan->pos,
        (unsigned long long)((uint64_t)st.st_size - scan->pos), scan->problem,
        (unsigned long long)scan->next_offset);
    return ING_OK;
}

static int recover_scan(struct ing_spool_partition *p, const char *name,
                        struct ing_spool_segment_scan *scan,
                        struct ing_err *err)
{
    enum ing_spool_scan_status st;

    st = ing_spool_segment_scan_begin(scan, p->seg_fd, p->seg_base);
    if (st == ING_SPOOL_SCAN_TORN) {
        if (ing_spool_segment_reset(p->seg_fd, p->seg_base) != ING_OK) {
            return unavailable(err, "cannot repair a spool segment", errno);
        }
        ING_WARN("spool", "rewrote torn segment header file=%s/%s", p->dir_path,
                 name);
        st = ing_spool_segment_scan_begin(scan, p->seg_fd, p->seg_base);
    }
    if (st != ING_SPOOL_SCAN_OK) {
        ING_LOG_ERRNO(
            ING_LOG_ERROR, "spool", scan->sys_errno,
            "last segment unusable, run ingestd check file=%s/%s problem=\"%s\"",
            p->dir_path, name, scan->problem);
        return unavailable(err, "spool segment header damaged", EIO);
    }

    st = scan_to_end(scan);
    if (st == ING_SPOOL_SCAN_IO) {
        ING_LOG_ERRNO(ING_LOG_ERROR, "spool", scan->sys_errno,
                      "read() failed file=%s/%s", p->dir_path, name);
        return unavailable(err, "cannot read a spool segment", scan->sys_errno);
    }
    if (st != ING_SPOOL_SCAN_END && cut_tail(p, name, scan, err) != ING_OK) {
        return ING_ERROR;
    }

    p->seg_size = scan->pos;
    p->next_offset = scan->next_offset;
    return ING_OK;
}

static int recover_last(struct ing_spool_partition *p, uint64_t base,
                        struct ing_err *err)
{
    char name[ING_SPOOL_SEGMENT_NAME_BYTES];
    struct ing_spool_segment_scan scan;

    ing_spool_segment_name(name, base);
    p->seg_base = base;
    p->seg_fd = ing_spool_segment_open(p->dir_fd, base, O_RDWR);
    if (p->seg_fd < 0) {
        int saved = errno;

        ING_LOG_ERRNO(ING_LOG_ERROR, "spool", saved, "open() failed path=%s/%s",
                      p->dir_path, name);
        return unavailable(err, "cannot open a spool segment", saved);
    }

    if (ing_spool_segment_scan_init(&scan, RECOVERY_BUF_BYTES) != ING_OK) {
        return unavailable(err, "out of memory", ENOMEM);
    }
    int rc = recover_scan(p, name, &scan, err);
    ing_spool_segment_scan_fini(&scan);
    return rc;
}

static uint64_t realtime_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

static uint64_t mtime_ms(const struct stat *st)
{
    if (st->st_mtim.tv_sec < 0) {
        return 0;
    }
    return (uint64_t)st->st_mtim.tv_sec * 1000u +
           (uint64_t)st->st_mtim.tv_nsec / 1000000u;
}

static int stat_closed(struct ing_spool_partition *p,
                       struct ing_spool_closed_segment *seg,
                       struct ing_err *err)
{
    char name[ING_SPOOL_SEGMENT_NAME_BYTES];
    struct stat st;

    ing_spool_segment_name(name, seg->base_offset);
    if (fstatat(p->dir_fd, name, &st, 0) != 0) {
        int saved = errno;

        ING_LOG_ERRNO(ING_LOG_ERROR, "spool", saved, "stat() failed path=%s/%s",
                      p->dir_path, name);
        return unavailable(err, "cannot stat a spool segment", saved);
    }
    seg->size_bytes = (uint64_t)st.st_size;
    seg->last_write_ms = mtime_ms(&st);
    return ING_OK;
}

/* Every segment but the newest, for the space limit and retention. */
static int load_closed(struct ing_spool_partition *p, const uint64_t *bases,
                       size_t count, struct ing_err *err)
{
    if (ing_spool_retention_reserve(&p->retention, count + ROLL_SPARE) !=
        ING_OK) {
        ING_ERROR_LOG("spool", "out of memory listing segments=%zu", count);
        return unavailable(err, "out of memory", ENOMEM);
    }

    for (size_t i = 0; i + 1 < count; i++) {
        struct ing_spool_closed_segment seg = {
            .base_offset = bases[i],
            .end_offset = bases[i + 1],
        };

        if (stat_closed(p, &seg, err) != ING_OK) {
            return ING_ERROR;
        }
        /* Cannot fail: the room was reserved above. */
        ing_spool_retention_push(&p->retention, &seg);
    }
    return ING_OK;
}

/*
 * Only the newest segment is scanned, as a server only ever appends there.
 * Known shortcoming: without `durable`, a power loss right after a roll
 * can also tear the previous segment (its fsync is deferred to the next
 * sync, see roll_deferred()); that tail is not cut here, and `ingestd
 * check` and readers report it as damage.  Scanning the last two segments
 * would close that, at the price of a second scan of up to segment_bytes
 * at every start.
 *
 * The directory is fsync'd once: a server stopped by a crash after a roll
 * may have left the newest segment's name unsynced, and the records that
 * go there now may be acknowledged as durable.
 */
static int recover(struct ing_spool_partition *p, struct ing_err *err)
{
    uint64_t *bases;
    size_t count;
    int rc;

    if (ing_spool_segment_list(p->dir_fd, &bases, &count) != ING_OK) {
        int saved = errno;

        ING_LOG_ERRNO(ING_LOG_ERROR, "spool", saved, "readdir() failed path=%s",
                      p->dir_path);
        return unavailable(err, "cannot list spool segments", saved);
    }

    if (count == 0) {
        rc = create_first_segment(p, err);
    } else {
        rc = recover_last(p, bases[count - 1], err);
    }
    if (rc == ING_OK) {
        rc = load_closed(p, bases, count, err);
    }
    free(bases);
    if (rc == ING_OK && fsync(p->dir_fd) != 0) {
        int saved = errno;

        ING_LOG_ERRNO(ING_LOG_ERROR, "spool", saved, "fsync() failed path=%s",
                      p->dir_path);
        rc = unavailable(err, "cannot sync the spool directory", saved);
    }
    return rc;
}

static int alloc_scratch(struct ing_spool_partition *p, size_t events,
                         struct ing_err *err)
{
    p->chunk_events = events == 0 ? ING_SPOOL_DEFAULT_BATCH_EVENTS : events;
    p->iov = calloc(p->chunk_events * 2, sizeof(*p->iov));
    p->headers = calloc(p->chunk_events, ING_SPOOL_RECORD_HEADER_BYTES);
    if (p->iov == NULL || p->headers == NULL) {
        ING_ERROR_LOG("spool", "out of memory for append scratch events=%zu",
                      p->chunk_events);
        return unavailable(err, "out of memory", ENOMEM);
    }
    return ING_OK;
}

static void partition_free(struct ing_spool_partition *p)
{
    int fds[] = {p->unsynced_fd, p->seg_fd, p->lock_fd, p->dir_fd};

    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
    ing_spool_retention_fini(&p->retention);
    free(p->iov);
    free(p->headers);
    free(p->dir_path);
    free(p);
}

int ing_spool_partition_open(const struct ing_spool_options *opt,
                             unsigned partition_id,
                             struct ing_spool_partition **out,
                             struct ing_err *err)
{
    ing_err_clear(err);
    *out = NULL;
    if (opt->data_dir == NULL || opt->data_dir[0] == '\0') {
        ING_ERROR_LOG("spool", "no data directory configured");
        return unavailable(err, "no spool data directory", EINVAL);
    }

    struct ing_spool_partition *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        ING_ERROR_LOG("spool", "out of memory opening partition=%u",
                      partition_id);
        return unavailable(err, "out of memory", ENOMEM);
    }
    p->id = partition_id;
    p->dir_fd = p->lock_fd = p->seg_fd = p->unsynced_fd = -1;
    p->segment_bytes = opt->segment_bytes == 0 ? ING_SPOOL_DEFAULT_SEGMENT_BYTES
                                               : opt->segment_bytes;
    p->max_bytes = opt->max_bytes;
    p->durable = opt->durable;
    ing_spool_retention_init(&p->retention, opt->retention_bytes,
                             opt->retention_age_ms);

    if (open_dirs(p, opt->data_dir, err) != ING_OK ||
        take_lock(p, err) != ING_OK || recover(p, err) != ING_OK ||
        alloc_scratch(p, opt->max_batch_events, err) != ING_OK) {
        partition_free(p);
        return ING_ERROR;
    }

    ING_INFO(
        "spool",
        "partition open path=%s segments=%zu bytes=%llu segment_base=%llu next_offset=%llu",
        p->dir_path, p->retention.count + 1,
        (unsigned long long)ing_spool_partition_size_bytes(p),
        (unsigned long long)p->seg_base, (unsigned long long)p->next_offset);
    *out = p;
    return ING_OK;
}

/* ---- request path ---- */

uint64_t ing_spool_partition_size_bytes(const struct ing_spool_partition *p)
{
    return p->retention.closed_bytes + p->seg_size;
}

/* An incident ends only after appends have succeeded this long without a
 * failure: on a nearly full disk small appends still fit while large ones
 * fail, and each alternation must not log a pair of lines. */
#define INCIDENT_QUIET_MS 1000

static uint64_t coarse_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * One incident, one line: its first failure, and another only if the
 * cause changes (a full spool that becomes a failing disk), so a client
 * retrying against a full disk cannot flood the log.
 */
static int append_failed(struct ing_spool_partition *p, const char *what,
                         int errnum, struct ing_err *err)
{
    p->failed_appends++;
    p->last_failure_ms = coarse_ms();
    if (p->failing == NULL || strcmp(p->failing, what) != 0) {
        char name[ING_SPOOL_SEGMENT_NAME_BYTES];

        ing_spool_segment_name(name, p->seg_base);
        ING_LOG_ERRNO(
            ING_LOG_ERROR, "spool", errnum,
            "%s, answering 503 until appends succeed file=%s/%s next_offset=%llu spool_bytes=%llu max_bytes=%llu",
            what, p->dir_path, name, (unsigned long long)p->next_offset,
            (unsigned long long)ing_spool_partition_size_bytes(p),
            (unsigned long long)p->max_bytes);
        p->failing = what;
    }
    return unavailable(err, what, errnum);
}

static void append_succeeded(struct ing_spool_partition *p)
{
    if (p->failing == NULL ||
        coarse_ms() - p->last_failure_ms < INCIDENT_QUIET_MS) {
        return;
    }
    ING_INFO(
        "spool",
        "appends succeed again path=%s failed_appends=%llu spool_bytes=%llu",
        p->dir_path, (unsigned long long)p->failed_appends,
        (unsigned long long)ing_spool_partition_size_bytes(p));
    p->failing = NULL;
    p->failed_appends = 0;
}

/*
 * An fsync the partition ran itself failed: kept for the next sync or
 * sync_fd to report, so that no record it should have covered is
 * acknowledged.  Logged every time, as rolls are rare.
 */
static void note_sync_error(struct ing_spool_partition *p, int errnum)
{
    ING_LOG_ERRNO(ING_LOG_ERROR, "spool", errnum,
                  "fsync() of a rolled segment failed path=%s base_offset=%llu",
                  p->dir_path, (unsigned long long)p->seg_base);
    if (p->sync_errno == 0) {
        p->sync_errno = errnum;
    }
    p->sync_failing = true; /* logged: the sync that reports it need not */
}

/* Flushes and closes the rolled-away segment; ING_ERROR with errno. */
static int sync_unsynced(struct ing_spool_partition *p)
{
    int saved = 0;

    if (p->unsynced_fd < 0) {
        return ING_OK;
    }
    if (fsync(p->unsynced_fd) != 0) {
        saved = errno;
    }
    close(p->unsynced_fd);
    p->unsynced_fd = -1;

    errno = saved;
    return saved == 0 ? ING_OK : ING_ERROR;
}

/*
 * Without `durable` the rolled-away segment is fsync'd by the next sync,
 * not here: flushing up to segment_bytes of page cache would stall this
 * worker.  Only a second roll before any sync flushes the first one here,
 * as one descriptor is all we keep.
 */
static void roll_deferred(struct ing_spool_partition *p)
{
    if (sync_unsynced(p) != ING_OK) {
        note_sync_error(p, errno);
    }
    p->unsynced_fd = p->seg_fd;
    p->dir_unsynced = true;
}

/*
 * With `durable` the old segment and the new one's directory entry are
 * made durable before the switch, so that the sync thread only ever has
 * the current segment to fsync (one descriptor, spool_partition.h).  The
 * price is that this worker blocks once per segment_bytes for one
 * fdatasync of what the sync thread has not flushed yet (little: it
 * fsyncs the segment continuously under ack=durable, every interval
 * otherwise) and one directory fsync.  Handing the old segment to the
 * sync thread instead would double the thread contract for a rare event.
 *
 * A failed fdatasync does not stop the roll (leaving pages the kernel may
 * have dropped is the right move anyway) but is reported by the next
 * sync_fd; a failed directory fsync does, since a record in a file whose
 * name may vanish at a power loss must not be acknowledged.
 */
static int roll_synced(struct ing_spool_partition *p, int new_fd,
                       struct ing_err *err)
{
    if (fdatasync(p->seg_fd) != 0) {
        note_sync_error(p, errno);
    }

    if (fsync(p->dir_fd) != 0) {
        char name[ING_SPOOL_SEGMENT_NAME_BYTES];
        int saved = errno;

        ing_spool_segment_name(name, p->next_offset);
        close(new_fd);
        unlinkat(p->dir_fd, name, 0);
        return append_failed(p, "segment roll failed", saved, err);
    }
    close(p->seg_fd);
    return ING_OK;
}

/* The closed segment's last write, for retention by age. */
static uint64_t last_write_ms(int fd)
{
    struct stat st;

    /* Without a stat, now: a later time keeps the segment longer. */
    if (fstat(fd, &st) != 0) {
        return realtime_ms();
    }
    return mtime_ms(&st);
}

static int roll(struct ing_spool_partition *p, struct ing_err *err)
{
    struct ing_spool_closed_segment closed = {
        .base_offset = p->seg_base,
        .end_offset = p->next_offset,
        .size_bytes = p->seg_size,
        .last_write_ms = last_write_ms(p->seg_fd),
    };

    if (ing_spool_retention_reserve(&p->retention, 1) != ING_OK) {
        return append_failed(p, "segment roll failed", ENOMEM, err);
    }
    int fd = ing_spool_segment_create(p->dir_fd, p->next_offset);
    if (fd < 0) {
        return append_failed(p, "segment roll failed", errno, err);
    }

    if (!p->durable) {
        roll_deferred(p);
    } else if (roll_synced(p, fd, err) != ING_OK) {
        return ING_ERROR;
    }

    /* Cannot fail: the room was reserved above. */
    ing_spool_retention_push(&p->retention, &closed);
    p->seg_fd = fd;
    p->seg_base = p->next_offset;
    p->seg_size = ING_SPOOL_SEGMENT_HEADER_BYTES;
    p->roll_wanted = false;
    ING_INFO("spool", "segment rolled partition=%u base_offset=%llu", p->id,
             (unsigned long long)p->seg_base);
    return ING_OK;
}

static bool roll_due(const struct ing_spool_partition *p)
{
    bool has_records = p->seg_size > ING_SPOOL_SEGMENT_HEADER_BYTES;

    return has_records && (p->roll_wanted || p->seg_size >= p->segment_bytes);
}

static int prepare(struct ing_spool_partition *p, struct ing_err *err)
{
    if (p->tail_dirty) {
        if (ftruncate(p->seg_fd, (off_t)p->seg_size) != 0) {
            return append_failed(p, "segment truncate failed", errno, err);
        }
        p->tail_dirty = false;
    }

    if (roll_due(p)) {
        return roll(p, err);
    }
    return ING_OK;
}

/* Checks every event fits the format; *bytes gets their bytes framed. */
static int measure(const struct ing_view *events, size_t count, uint64_t *bytes,
                   struct ing_err *err)
{
    *bytes = 0;
    for (size_t i = 0; i < count; i++) {
        if (events[i].len == 0 ||
            events[i].len > ING_SPOOL_RECORD_MAX_PAYLOAD) {
            err->index = i;
            err->sys_errno = 0;
            return ing_err_set(err, ING_ERR_INTERNAL,
                               "event size outside the spool format",
                               ING_ERR_NONE);
        }
        *bytes += ING_SPOOL_RECORD_HEADER_BYTES + (uint64_t)events[i].len;
    }
    return ING_OK;
}

/*
 * max_bytes counts whole files, as du(1) would, so the header of a
 * segment this call would roll to counts too.  Checked before anything
 * is written: a full spool costs no I/O.
 */
static int check_space(struct ing_spool_partition *p, uint64_t bytes,
                       struct ing_err *err)
{
    uint64_t used = ing_spool_partition_size_bytes(p);

    if (p->max_bytes == 0) {
        return ING_OK;
    }
    if (roll_due(p)) {
        bytes += ING_SPOOL_SEGMENT_HEADER_BYTES;
    }
    if (used <= p->max_bytes && bytes <= p->max_bytes - used) {
        return ING_OK;
    }
    return append_failed(p, "spool full", 0, err);
}

/* Fills headers and iovecs for `n` events; returns their bytes on disk. */
static uint64_t frame(struct ing_spool_partition *p,
                      const struct ing_view *events, size_t n,
                      uint64_t first_offset, uint64_t recv_time_ns)
{
    uint64_t bytes = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char *h = p->headers + i * ING_SPOOL_RECORD_HEADER_BYTES;

        ing_spool_record_header_encode(h, first_offset + i, recv_time_ns,
                                       events[i].ptr, (uint32_t)events[i].len);
        p->iov[2 * i].iov_base = h;
        p->iov[2 * i].iov_len = ING_SPOOL_RECORD_HEADER_BYTES;
        /* iovec is not const-correct; pwritev only reads the bytes. */
        p->iov[2 * i + 1].iov_base = (void *)(uintptr_t)events[i].ptr;
        p->iov[2 * i + 1].iov_len = events[i].len;
        bytes += ING_SPOOL_RECORD_HEADER_BYTES + events[i].len;
    }
    return bytes;
}

/*
 * Puts the segment back as it was before the call: all or nothing.  A crash
 * between the write and this cut keeps the whole records already written;
 * their client got no 202 and retries, so that costs a duplicate, not a
 * loss (the pipeline is at-least-once anyway).
 */
static int undo(struct ing_spool_partition *p, int errnum, struct ing_err *err)
{
    if (ftruncate(p->seg_fd, (off_t)p->seg_size) != 0) {
        ING_LOG_ERRNO(
            ING_LOG_ERROR, "spool", errno,
            "cannot cut back a failed append, retrying at the next one path=%s size=%llu",
            p->dir_path, (unsigned long long)p->seg_size);
        p->tail_dirty = true;
    }
    return append_failed(p, "segment write failed", errnum, err);
}

int ing_spool_partition_append(struct ing_spool_partition *p,
                               const struct ing_view *events, size_t count,
                               uint64_t recv_time_ns, struct ing_err *err)
{
    uint64_t pos;
    uint64_t total;

    if (count == 0) {
        return ING_OK;
    }
    if (measure(events, count, &total, err) != ING_OK ||
        check_space(p, total, err) != ING_OK || prepare(p, err) != ING_OK) {
        return ING_ERROR;
    }

    pos = p->seg_size;
    for (size_t done = 0; done < count;) {
        size_t n = count - done;

        if (n > p->chunk_events) {
            n = p->chunk_events;
        }
        uint64_t bytes =
            frame(p, events + done, n, p->next_offset + done, recv_time_ns);
        if (ing_spool_write_at(p->seg_fd, p->iov, 2 * n, pos) != ING_OK) {
            return undo(p, errno, err);
        }
        pos += bytes;
        done += n;
    }

    p->seg_size = pos;
    p->next_offset += count;
    append_succeeded(p);
    return ING_OK;
}

/*
 * A new open file description, not a dup(2): Linux reports a writeback
 * error once per open file description, so with a shared one a roll's
 * fdatasync on this thread could take the error the sync thread's fsync
 * must see, and records would be acknowledged that are not on disk.
 */
int ing_spool_partition_sync_fd(struct ing_spool_partition *p)
{
    if (p->sync_errno != 0) {
        errno = p->sync_errno;
        p->sync_errno = 0;
        p->roll_wanted = true;
        return -1;
    }
    return ing_spool_segment_open(p->dir_fd, p->seg_base, O_RDONLY);
}

/*
 * A failed fsync reports its error to one descriptor only; pages it lost
 * may hold records appended after the descriptor was taken, which the
 * next fsync would then wrongly cover.  So the error stays pending for the
 * next sync_fd, which fails and has them answered 503 too.
 */
void ing_spool_partition_sync_failed(struct ing_spool_partition *p, int errnum)
{
    if (p->sync_errno == 0) {
        p->sync_errno = errnum != 0 ? errnum : EIO;
    }
    /* Linux may have dropped the failed pages (they now read as clean). */
    p->roll_wanted = true;
}

/* ---- retention, on the owner's timer ---- */

static const char *const retention_reason_names[] = {
    [ING_SPOOL_RETENTION_KEEP] = "keep",
    [ING_SPOOL_RETENTION_BYTES] = "retention_bytes",
    [ING_SPOOL_RETENTION_AGE] = "retention_age",
};

static int delete_oldest(struct ing_spool_partition *p,
                         enum ing_spool_retention_reason why)
{
    const struct ing_spool_closed_segment *seg =
        ing_spool_retention_oldest(&p->retention);
    char name[ING_SPOOL_SEGMENT_NAME_BYTES];

    ing_spool_segment_name(name, seg->base_offset);
    /* ENOENT: removed by hand; the list only catches up. */
    if (unlinkat(p->dir_fd, name, 0) != 0 && errno != ENOENT) {
        if (!p->retain_failing) {
            ING_LOG_ERRNO(
                ING_LOG_ERROR, "spool", errno,
                "unlink() failed, retention retries at each run file=%s/%s",
                p->dir_path, name);
            p->retain_failing = true;
        }
        return ING_ERROR;
    }

    ING_INFO(
        "spool",
        "segment deleted file=%s/%s base_offset=%llu records=%llu bytes=%llu reason=%s",
        p->dir_path, name, (unsigned long long)seg->base_offset,
        (unsigned long long)(seg->end_offset - seg->base_offset),
        (unsigned long long)seg->size_bytes, retention_reason_names[why]);
    p->retain_failing = false;
    ing_spool_retention_pop(&p->retention);
    return ING_OK;
}

int ing_spool_partition_retain(struct ing_spool_partition *p, uint64_t now_ms)
{
    int deleted = 0;

    for (;;) {
        enum ing_spool_retention_reason why =
            ing_spool_retention_due(&p->retention, p->seg_size, now_ms);

        if (why == ING_SPOOL_RETENTION_KEEP) {
            break;
        }
        if (delete_oldest(p, why) != ING_OK) {
            return ING_ERROR;
        }
        deleted++;
    }

    /* Room for the coming rolls, taken here rather than in an append.  A
     * failure is not fatal: a roll then allocates, or fails with 503. */
    ing_spool_retention_reserve(&p->retention, ROLL_SPARE);
    return deleted;
}

void ing_spool_partition_keep_from(struct ing_spool_partition *p,
                                   uint64_t offset)
{
    p->retention.keep_from_offset = offset;
}

int ing_spool_partition_sync(struct ing_spool_partition *p, struct ing_err *err)
{
    int errnum = p->sync_errno;

    p->sync_errno = 0;
    if (sync_unsynced(p) != ING_OK && errnum == 0) {
        errnum = errno;
    }
    if (fsync(p->seg_fd) != 0 && errnum == 0) {
        errnum = errno;
    }
    if (p->dir_unsynced) {
        if (fsync(p->dir_fd) == 0) {
            p->dir_unsynced = false;
        } else if (errnum == 0) {
            errnum = errno;
        }
    }

    if (errnum != 0) {
        /* Linux may have dropped the failed pages (they now read as
         * clean): keep new records out of them by starting a segment. */
        p->roll_wanted = true;
        if (!p->sync_failing) {
            ING_LOG_ERRNO(ING_LOG_ERROR, "spool", errnum,
                          "fsync() failed path=%s next_offset=%llu",
                          p->dir_path, (unsigned long long)p->next_offset);
            p->sync_failing = true;
        }
        return unavailable(err, "spool fsync failed", errnum);
    }
    if (p->sync_failing) {
        ING_INFO("spool", "fsync succeeds again path=%s", p->dir_path);
        p->sync_failing = false;
    }
    return ING_OK;
}

uint64_t ing_spool_partition_next_offset(const struct ing_spool_partition *p)
{
    return p->next_offset;
}

void ing_spool_partition_close(struct ing_spool_partition *p)
{
    struct ing_err err;

    if (p == NULL) {
        return;
    }
    ing_spool_partition_sync(p, &err);
    partition_free(p);
}

/* ---- listing, for the tools ---- */

static bool parse_partition_name(const char *name, unsigned *id)
{
    size_t plen = sizeof(PARTITION_PREFIX) - 1;
    unsigned long v = 0;

    if (strncmp(name, PARTITION_PREFIX, plen) != 0 || name[plen] == '\0') {
        return false;
    }
    /* One spelling per id, as ing_spool_partition_path writes it. */
    if (name[plen] == '0' && name[plen + 1] != '\0') {
        return false;
    }
    for (const char *c = name + plen; *c != '\0'; c++) {
        if (*c < '0' || *c > '9' || v > (UINT_MAX - 9) / 10) {
            return false;
        }
        v = v * 10 + (unsigned long)(*c - '0');
    }
    *id = (unsigned)v;
    return true;
}

static int compare_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a;
    unsigned y = *(const unsigned *)b;

    return (x > y) - (x < y);
}

int ing_spool_partition_list(const char *data_dir, unsigned **ids,
                             size_t *count)
{
    size_t cap = 0;
    struct dirent *de;

    *ids = NULL;
    *count = 0;
    DIR *dir = opendir(data_dir);
    if (dir == NULL) {
        return ING_ERROR;
    }

    while ((errno = 0, de = readdir(dir)) != NULL) {
        unsigned id;

        if (!parse_partition_name(de->d_name, &id)) {
            continue;
        }
        if (*count == cap) {
            cap = cap == 0 ? 16 : cap * 2;
            unsigned *grown = realloc(*ids, cap * sizeof(**ids));
            if (grown == NULL) {
                break;
            }
            *ids = grown;
        }
        (*ids)[(*count)++] = id;
    }

    int saved = errno;
    closedir(dir);
    if (saved != 0) {
        free(*ids);
        *ids = NULL;
        *count = 0;
        errno = saved;
        return ING_ERROR;
    }
    if (*count > 1) {
        qsort(*ids, *count, sizeof(**ids), compare_unsigned);
    }
    return ING_OK;
}
