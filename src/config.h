/*
 * config.h - the server's settings: defaults, command-line flags and their
 * INGESTD_* environment equivalents (a flag wins over the environment).
 *
 * Parsed once at start-up by the main thread; read-only afterwards, so
 * worker threads read it without a lock.
 */
#ifndef ING_CONFIG_H
#define ING_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* When a 202 is sent (DESIGN.md, "The spool"). */
enum ing_ack_mode {
    ING_ACK_MEMORY,  /* once the record is written to its segment */
    ING_ACK_DURABLE, /* once an fsync covers the record */
};

struct ing_config {
    char listen_host[256];
    uint16_t listen_port;
    size_t threads;
    const char *data_dir;
    enum ing_log_level log_level;

    size_t max_header_bytes;
    size_t max_body_bytes;
    size_t max_decoded_bytes;
    size_t max_batch_events;
    size_t max_metadata_pairs;
    size_t max_depth;
    size_t max_connections;
    size_t max_large_buffers; /* per worker: bodies past the small buffer */

    uint64_t read_timeout_ms;
    uint64_t write_timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t shutdown_timeout_ms;

    uint64_t segment_bytes;
    enum ing_ack_mode ack;
    uint64_t fsync_interval_ms;
    uint64_t retention_bytes;  /* whole spool; 0: no limit */
    uint64_t retention_age_ms; /* 0: no limit */
    uint64_t spool_max_bytes;  /* whole spool; 0: only the disk's size */
};

/* Fills cfg with the defaults of DESIGN.md. */
void ing_config_defaults(struct ing_config *cfg);

/*
 * Applies INGESTD_* environment variables, then argv (argv[0] is the
 * subcommand name, e.g. "serve").  Returns 0 on success, 1 when --help or
 * --version was answered (the caller exits 0), 2 on a bad flag or value
 * (a clear message is already on stderr; the caller exits 2).
 * Not thread-safe: call before starting workers.
 */
int ing_config_parse(struct ing_config *cfg, int argc, char **argv);

/* Logs the effective configuration at info, one line. */
void ing_config_log(const struct ing_config *cfg);

#endif
