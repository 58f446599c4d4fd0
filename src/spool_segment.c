/*
 * spool_segment.c - segment files: naming, listing, creation and scanning.
 */
#include "spool_segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ing_err.h"
#include "spool_int.h"

#define SEGMENT_DIGITS 20

void ing_spool_segment_name(char out[ING_SPOOL_SEGMENT_NAME_BYTES],
                            uint64_t base_offset)
{
    snprintf(out, ING_SPOOL_SEGMENT_NAME_BYTES, "%020llu.seg",
             (unsigned long long)base_offset);
}

bool ing_spool_segment_name_parse(const char *name, uint64_t *base_offset)
{
    uint64_t v = 0;

    for (int i = 0; i < SEGMENT_DIGITS; i++) {
        unsigned d = (unsigned)(unsigned char)name[i] - '0';

        if (d > 9 || v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }

    if (strcmp(name + SEGMENT_DIGITS, ".seg") != 0) {
        return false;
    }
    *base_offset = v;
    return true;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static int list_push(uint64_t **bases, size_t *count, size_t *cap,
                     uint64_t base)
{
    if (*count == *cap) {
        size_t new_cap = *cap == 0 ? 16 : *cap * 2;
        uint64_t *grown = realloc(*bases, new_cap * sizeof(**bases));

        if (grown == NULL) {
            return ING_ERROR;
        }
        *bases = grown;
        *cap = new_cap;
    }
    (*bases)[(*count)++] = base;
    return ING_OK;
}

int ing_spool_segment_list(int dir_fd, uint64_t **bases, size_t *count)
{
    size_t cap = 0;
    int saved;

    *bases = NULL;
    *count = 0;

    /* fdopendir() takes the descriptor over, so give it a fresh one. */
    int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return ING_ERROR;
    }
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        saved = errno;
        close(fd);
        errno = saved;
        return ING_ERROR;
    }

    struct dirent *de;
    errno = 0;
    while ((de = readdir(dir)) != NULL) {
        uint64_t base;

        if (ing_spool_segment_name_parse(de->d_name, &base) &&
            list_push(bases, count, &cap, base) != ING_OK) {
            goto fail;
        }
        errno = 0;
    }
    if (errno != 0) {
        goto fail;
    }

    closedir(dir);
    if (*count > 1) {
        qsort(*bases, *count, sizeof(**bases), compare_u64);
    }
    return ING_OK;

fail:
    saved = errno;
    closedir(dir);
    free(*bases);
    *bases = NULL;
    *count = 0;
    errno = saved;
    return ING_ERROR;
}

int ing_spool_write_at(int fd, struct iovec *iov, size_t iovcnt, uint64_t pos)
{
    while (iovcnt > 0) {
        int batch = iovcnt > (size_t)IOV_MAX ? IOV_MAX : (int)iovcnt;
        ssize_t n = pwritev(fd, iov, batch, (off_t)pos);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return ING_ERROR;
        }

        pos += (uint64_t)n;
        size_t left = (size_t)n;
        while (iovcnt > 0 && iov->iov_len <= left) {
            left -= iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (left > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return ING_OK;
}

static int write_all_at(int fd, const unsigned char *p, size_t len, off_t pos)
{
    struct iovec iov = {(void *)(uintptr_t)p, len};

    return ing_spool_write_at(fd, &iov, 1, (uint64_t)pos);
}

int ing_spool_segment_create(int dir_fd, uint64_t base_offset)
{
    char name[ING_SPOOL_SEGMENT_NAME_BYTES];
    unsigned char header[ING_SPOOL_SEGMENT_HEADER_BYTES];

    ing_spool_segment_name(name, base_offset);
    ing_spool_segment_header_encode(header, base_offset);

    int fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -1;
    }

    if (write_all_at(fd, header, sizeof(header), 0) != ING_OK) {
        int saved = errno;

        /* A half-written header would be taken for a torn segment later. */
        close(fd);
        unlinkat(dir_fd, name, 0);
        errno = saved;
        return -1;
    }
    return fd;
}

int ing_spool_segment_open(int dir_fd, uint64_t base_offset, int flags)
{
    char name[ING_SPOOL_SEGMENT_NAME_BYTES];

    ing_spool_segment_name(name, base_offset);
    return openat(dir_fd, name, flags | O_CLOEXEC);
}

int ing_spool_segment_reset(int fd, uint64_t base_offset)
{
    unsigned char header[ING_SPOOL_SEGMENT_HEADER_BYTES];

    ing_spool_segment_header_encode(header, base_offset);
    if (ftruncate(fd, 0) != 0 ||
        write_all_at(fd, header, sizeof(header), 0) != ING_OK ||
        fsync(fd) != 0) {
        return ING_ERROR;
    }
    return ING_OK;
}

int ing_spool_segment_scan_init(struct ing_spool_segment_scan *s,
                                size_t buf_bytes)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    if (buf_bytes < ING_SPOOL_RECORD_HEADER_BYTES) {
        buf_bytes = ING_SPOOL_RECORD_HEADER_BYTES;
    }

    s->buf = malloc(buf_bytes);
    if (s->buf == NULL) {
        return ING_ERROR;
    }
    s->buf_cap = buf_bytes;
    return ING_OK;
}

void ing_spool_segment_scan_fini(struct ing_spool_segment_scan *s)
{
    free(s->buf);
    s->buf = NULL;
    s->buf_cap = 0;
}

static enum ing_spool_scan_status scan_fail(struct ing_spool_segment_scan *s,
                                            enum ing_spool_scan_status st,
                                            const char *problem)
{
    s->problem = problem;
    s->bad_offset = false;
    if (st == ING_SPOOL_SCAN_IO) {
        s->sys_errno = errno;
    }

    /* A retry must see the file as it is then, not these bytes. */
    if (s->pos >= s->buf_start && s->pos - s->buf_start < s->buf_len) {
        s->buf_len = (size_t)(s->pos - s->buf_start);
    }
    return st;
}

/*
 * Grows the window towards `need` bytes from `pos`, but only as far as the
 * file goes: a torn or damaged header can claim up to 64 MiB, and growing
 * for bytes that are not there would cost that much memory for nothing
 * (or fail as ENOMEM, an I/O error, where the answer is a torn tail).
 * Bytes appended after the fstat are read by the next call.
 */
static int scan_grow(struct ing_spool_segment_scan *s, size_t need)
{
    struct stat st;
    unsigned char *grown;

    if (fstat(s->fd, &st) != 0) {
        return ING_ERROR;
    }
    if ((uint64_t)st.st_size < s->pos + need) {
        uint64_t have =
            (uint64_t)st.st_size > s->pos ? (uint64_t)st.st_size - s->pos : 0;

        if (have <= s->buf_cap) {
            return ING_OK;
        }
        need = (size_t)have;
    }

    grown = realloc(s->buf, need);
    if (grown == NULL) {
        return ING_ERROR;
    }
    s->buf = grown;
    s->buf_cap = need;
    return ING_OK;
}

/*
 * Makes the bytes [pos, pos + need) readable at scan_at(s): returns how
 * many are (fewer than `need` only at the end of the file), or -1.
 *
 * A refill starts again at `pos` and drops what the window held past it:
 * those bytes were an incomplete record, which the writer may since have
 * finished or truncated and rewritten, so they must not be trusted.
 */
static ssize_t scan_fill(struct ing_spool_segment_scan *s, size_t need)
{
    if (s->pos >= s->buf_start && s->pos + need <= s->buf_start + s->buf_len) {
        return (ssize_t)need;
    }

    if (need > s->buf_cap && scan_grow(s, need) != ING_OK) {
        return -1;
    }

    s->buf_start = s->pos;
    s->buf_len = 0;
    while (s->buf_len < need && s->buf_len < s->buf_cap) {
        ssize_t n = pread(s->fd, s->buf + s->buf_len, s->buf_cap - s->buf_len,
                          (off_t)(s->buf_start + s->buf_len));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            break;
        }
        s->buf_len += (size_t)n;
    }
    return (ssize_t)(s->buf_len < need ? s->buf_len : need);
}

static const unsigned char *scan_at(const struct ing_spool_segment_scan *s)
{
    return s->buf + (s->pos - s->buf_start);
}

enum ing_spool_scan_status
ing_spool_segment_scan_begin(struct ing_spool_segment_scan *s, int fd,
                             uint64_t base_offset)
{
    uint64_t stored_base;

    s->fd = fd;
    s->base_offset = base_offset;
    s->next_offset = base_offset;
    s->pos = 0;
    s->buf_start = 0;
    s->buf_len = 0;
    s->problem = NULL;
    s->sys_errno = 0;

    ssize_t n = scan_fill(s, ING_SPOOL_SEGMENT_HEADER_BYTES);
    if (n < 0) {
        return scan_fail(s, ING_SPOOL_SCAN_IO, "segment read failed");
    }
    if (n < ING_SPOOL_SEGMENT_HEADER_BYTES) {
        return scan_fail(s, ING_SPOOL_SCAN_TORN,
                         "segment shorter than its 16-byte header");
    }

    if (!ing_spool_segment_header_decode(scan_at(s), &stored_base)) {
        return scan_fail(s, ING_SPOOL_SCAN_DAMAGED, "bad segment magic");
    }
    if (stored_base != base_offset) {
        return scan_fail(s, ING_SPOOL_SCAN_DAMAGED,
                         "segment header base offset differs from file name");
    }
    s->pos = ING_SPOOL_SEGMENT_HEADER_BYTES;
    return ING_SPOOL_SCAN_OK;
}

/* Reads and checks the header at `pos`; OK means the whole record is in. */
static enum ing_spool_scan_status scan_header(struct ing_spool_segment_scan *s,
                                              struct ing_spool_record_header *h)
{
    ssize_t n = scan_fill(s, ING_SPOOL_RECORD_HEADER_BYTES);
    if (n < 0) {
        return scan_fail(s, ING_SPOOL_SCAN_IO, "segment read failed");
    }
    if (n == 0) {
        return ING_SPOOL_SCAN_END;
    }
    if (n < ING_SPOOL_RECORD_HEADER_BYTES) {
        return scan_fail(s, ING_SPOOL_SCAN_TORN,
                         "file ends inside a record header");
    }

    ing_spool_record_header_decode(scan_at(s), h);
    if (!ing_spool_record_len_valid(h->payload_len)) {
        return scan_fail(s, ING_SPOOL_SCAN_DAMAGED,
                         "record length is zero or over 64 MiB");
    }

    size_t total = ING_SPOOL_RECORD_HEADER_BYTES + (size_t)h->payload_len;
    n = scan_fill(s, total);
    if (n < 0) {
        return scan_fail(s, ING_SPOOL_SCAN_IO, "segment read failed");
    }
    if ((size_t)n < total) {
        return scan_fail(s, ING_SPOOL_SCAN_TORN,
                         "file ends inside a record payload");
    }
    return ING_SPOOL_SCAN_OK;
}

enum ing_spool_scan_status
ing_spool_segment_scan_next(struct ing_spool_segment_scan *s,
                            struct ing_spool_record *rec)
{
    struct ing_spool_record_header h;

    enum ing_spool_scan_status st = scan_header(s, &h);
    if (st != ING_SPOOL_SCAN_OK) {
        return st;
    }

    const unsigned char *p = scan_at(s);
    const unsigned char *payload = p + ING_SPOOL_RECORD_HEADER_BYTES;
    if (ing_spool_record_crc(p, payload, h.payload_len) != h.crc) {
        return scan_fail(s, ING_SPOOL_SCAN_DAMAGED, "record CRC mismatch");
    }
    if (h.offset != s->next_offset) {
        scan_fail(s, ING_SPOOL_SCAN_DAMAGED, "record offset out of sequence");
        s->bad_offset = true;
        s->found_offset = h.offset;
        return ING_SPOOL_SCAN_DAMAGED;
    }

    rec->offset = h.offset;
    rec->recv_time_ns = h.recv_time_ns;
    rec->file_pos = s->pos;
    rec->payload = ing_view_make((const char *)payload, h.payload_len);
    s->pos += ING_SPOOL_RECORD_HEADER_BYTES + (uint64_t)h.payload_len;
    s->next_offset++;
    return ING_SPOOL_SCAN_OK;
}
