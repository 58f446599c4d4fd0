/*
 * spool_int.h - what the spool_*.c files share and nothing else needs.
 */
#ifndef ING_SPOOL_INT_H
#define ING_SPOOL_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * Writes all of iov[0 .. iovcnt) at file position pos, through short
 * writes, EINTR and IOV_MAX; iov is consumed (advanced) as it goes.
 * Returns ING_OK, or ING_ERROR with errno set (EIO for a write of zero
 * bytes).  Blocks in pwritev(2).  Any thread that owns fd.
 */
int ing_spool_write_at(int fd, struct iovec *iov, size_t iovcnt, uint64_t pos);

#endif
