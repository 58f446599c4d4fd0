/*
 * config.c - one table describes every setting: its flag, its environment
 * variable (derived from the flag: --max-body-bytes <->
 * INGESTD_MAX_BODY_BYTES), its unit, its bounds and its help line.  A value
 * that does not parse or is out of bounds is an error, never a silent default.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define GIB (1024ULL * 1024 * 1024)

enum opt_kind {
    OPT_LISTEN,   /* HOST:PORT */
    OPT_STRING,   /* const char * */
    OPT_LOGLEVEL, /* enum ing_log_level */
    OPT_ACK,      /* enum ing_ack_mode */
    OPT_COUNT,    /* size_t, plain number */
    OPT_SIZE,     /* size_t, bytes with optional K/M/G suffix */
    OPT_BYTES64,  /* uint64_t, bytes with optional K/M/G suffix */
    OPT_DURATION, /* uint64_t milliseconds, needs a unit: ms, s, m, h */
};

struct opt {
    const char *name;
    enum opt_kind kind;
    size_t offset;
    uint64_t min;
    uint64_t max;
    const char *help;
};

#define CFG(field) offsetof(struct ing_config, field)

static const struct opt opts[] = {
    {"listen", OPT_LISTEN, CFG(listen_host), 0, 0,
     "address to listen on, HOST:PORT (default 0.0.0.0:8080)"},
    {"threads", OPT_COUNT, CFG(threads), 1, 256,
     "worker threads, one spool partition each (default: cores)"},
    {"data-dir", OPT_STRING, CFG(data_dir), 0, 0,
     "spool directory (default ./data)"},
    {"log-level", OPT_LOGLEVEL, CFG(log_level), 0, 0,
     "debug, info, warn or error (default info)"},
    {"max-header-bytes", OPT_SIZE, CFG(max_header_bytes), 256, 1 * MIB,
     "request line and header fields, bytes (default 8K)"},
    {"max-body-bytes", OPT_SIZE, CFG(max_body_bytes), 1, 256 * MIB,
     "request body as received, bytes (default 1M)"},
    {"max-decoded-bytes", OPT_SIZE, CFG(max_decoded_bytes), 1, 1 * GIB,
     "request body after Content-Encoding, bytes (default 8M)"},
    {"max-batch-events", OPT_COUNT, CFG(max_batch_events), 1, 1000000,
     "events in one request (default 10000)"},
    {"max-metadata-pairs", OPT_COUNT, CFG(max_metadata_pairs), 0, 100000,
     "pairs in an event's metadata object (default 64)"},
    {"max-depth", OPT_COUNT, CFG(max_depth), 2, 1000,
     "JSON nesting depth (default 32)"},
    {"max-connections", OPT_COUNT, CFG(max_connections), 1, 1000000,
     "open client connections, all workers together (default 10000)"},
    {"max-large-buffers", OPT_COUNT, CFG(max_large_buffers), 1, 100000,
     "requests per worker with bodies over 16K in flight (default 64)"},
    {"read-timeout", OPT_DURATION, CFG(read_timeout_ms), 1, 3600000,
     "time to receive a whole request (default 5s)"},
    {"write-timeout", OPT_DURATION, CFG(write_timeout_ms), 1, 3600000,
     "time a blocked response may wait (default 5s)"},
    {"idle-timeout", OPT_DURATION, CFG(idle_timeout_ms), 1, 86400000,
     "idle keep-alive connection lifetime (default 60s)"},
    {"shutdown-timeout", OPT_DURATION, CFG(shutdown_timeout_ms), 1, 3600000,
     "time to finish requests in flight on SIGTERM (default 10s)"},
    {"segment-bytes", OPT_BYTES64, CFG(segment_bytes), 4 * KIB, 64 * GIB,
     "spool segment size before it rolls (default 128M)"},
    {"ack", OPT_ACK, CFG(ack), 0, 0,
     "memory (202 once written) or durable (202 once fsynced)"},
    {"fsync-interval", OPT_DURATION, CFG(fsync_interval_ms), 1, 3600000,
     "ack=memory: how often the spool is fsynced (default 1s)"},
    {"retention-bytes", OPT_BYTES64, CFG(retention_bytes), 0, UINT64_MAX,
     "delete the oldest segments past this spool size (default 0: keep)"},
    {"retention-age", OPT_DURATION, CFG(retention_age_ms), 0, UINT64_MAX,
     "delete segments older than this (default 0: keep)"},
    {"spool-max-bytes", OPT_BYTES64, CFG(spool_max_bytes), 0, UINT64_MAX,
     "answer 503 when the spool holds this much (default 0: disk size)"},
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

void ing_config_defaults(struct ing_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->listen_host, "0.0.0.0");
    cfg->listen_port = 8080;

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = cores > 0 ? (size_t)cores : 1;

    cfg->data_dir = "./data";
    cfg->log_level = ING_LOG_INFO;
    cfg->max_header_bytes = 8 * KIB;
    cfg->max_body_bytes = 1 * MIB;
    cfg->max_decoded_bytes = 8 * MIB;
    cfg->max_batch_events = 10000;
    cfg->max_metadata_pairs = 64;
    cfg->max_depth = 32;
    cfg->max_connections = 10000;
    cfg->max_large_buffers = 64;
    cfg->read_timeout_ms = 5000;
    cfg->write_timeout_ms = 5000;
    cfg->idle_timeout_ms = 60000;
    cfg->shutdown_timeout_ms = 10000;
    cfg->segment_bytes = 128 * MIB;
    cfg->ack = ING_ACK_MEMORY;
    cfg->fsync_interval_ms = 1000;
}

/* Parses digits with an optional unit; returns false on junk or overflow. */
static bool parse_scaled(const char *text, const char *const *units,
                         const uint64_t *scales, size_t n_units,
                         bool unit_required, uint64_t *out)
{
    char *end;

    if (!isdigit((unsigned char)text[0])) {
        return false;
    }
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0) {
        return false;
    }

    uint64_t scale = 0;
    if (*end == '\0' && !unit_required) {
        scale = 1;
    }
    for (size_t i = 0; i < n_units && scale == 0; i++) {
        if (strcmp(end, units[i]) == 0) {
            scale = scales[i];
        }
    }
    if (scale == 0 || value > UINT64_MAX / scale) {
        return false;
    }
    *out = value * scale;
    return true;
}

static bool parse_bytes(const char *text, uint64_t *out)
{
    static const char *const units[] = {"K", "KiB", "k",   "M", "MiB",
                                        "m", "G",   "GiB", "g"};
    static const uint64_t scales[] = {KIB, KIB, KIB, MIB, MIB,
                                      MIB, GIB, GIB, GIB};

    return parse_scaled(text, units, scales, 9, false, out);
}

static bool parse_duration_ms(const char *text, uint64_t *out)
{
    static const char *const units[] = {"ms", "s", "m", "h"};
    static const uint64_t scales[] = {1, 1000, 60000, 3600000};

    if (strcmp(text, "0") == 0) {
        *out = 0; /* "never" needs no unit */
        return true;
    }
    return parse_scaled(text, units, scales, 4, true, out);
}

static bool parse_listen(struct ing_config *cfg, const char *text)
{
    const char *colon = strrchr(text, ':');
    uint64_t port;

    if (colon == NULL || colon == text) {
        return false;
    }

    size_t host_len = (size_t)(colon - text);

    /* "[::1]:8080": the brackets delimit an IPv6 literal (RFC 3986). */
    if (text[0] == '[' && host_len >= 2 && colon[-1] == ']') {
        text++;
        host_len -= 2;
    }
    if (host_len == 0 || host_len >= sizeof(cfg->listen_host)) {
        return false;
    }
    if (!parse_scaled(colon + 1, NULL, NULL, 0, false, &port) || port > 65535) {
        return false;
    }

    memcpy(cfg->listen_host, text, host_len);
    cfg->listen_host[host_len] = '\0';
    cfg->listen_port = (uint16_t)port;
    return true;
}

static bool parse_ack(const char *text, enum ing_ack_mode *out)
{
    if (strcmp(text, "memory") == 0) {
        *out = ING_ACK_MEMORY;
    } else if (strcmp(text, "durable") == 0) {
        *out = ING_ACK_DURABLE;
    } else {
        return false;
    }
    return true;
}

static const char *kind_hint(enum opt_kind kind)
{
    switch (kind) {
    case OPT_LISTEN:
        return "expected HOST:PORT";
    case OPT_LOGLEVEL:
        return "expected debug, info, warn or error";
    case OPT_ACK:
        return "expected memory or durable";
    case OPT_COUNT:
        return "expected a whole number";
    case OPT_SIZE:
    case OPT_BYTES64:
        return "expected bytes, optionally with K, M or G (KiB, MiB, GiB)";
    case OPT_DURATION:
        return "expected a duration with a unit: ms, s, m or h";
    case OPT_STRING:
        break;
    }
    return "bad value";
}

static bool parse_number(const struct opt *o, const char *text, uint64_t *out)
{
    switch (o->kind) {
    case OPT_COUNT:
        return parse_scaled(text, NULL, NULL, 0, false, out);
    case OPT_SIZE:
    case OPT_BYTES64:
        return parse_bytes(text, out);
    case OPT_DURATION:
        return parse_duration_ms(text, out);
    default:
        return false;
    }
}

/* Stores one value; `source` names where it came from, for the message. */
static bool opt_apply(struct ing_config *cfg, const struct opt *o,
                      const char *text, const char *source)
{
    char *base = (char *)cfg;
    uint64_t value = 0;
    bool ok = true;

    if (o->kind == OPT_STRING) {
        ok = text[0] != '\0';
        if (ok) {
            memcpy(base + o->offset, &text, sizeof(text));
        }
    } else if (o->kind == OPT_LISTEN) {
        ok = parse_listen(cfg, text);
    } else if (o->kind == OPT_LOGLEVEL) {
        ok = ing_log_level_parse(text, &cfg->log_level);
    } else if (o->kind == OPT_ACK) {
        ok = parse_ack(text, &cfg->ack);
    } else if (!parse_number(o, text, &value)) {
        ok = false;
    } else if (value < o->min || value > o->max) {
        fprintf(stderr,
                "ingestd: %s: %s=%s is out of range (%" PRIu64 "..%" PRIu64
                ")\n",
                source, o->name, text, o->min, o->max);
        return false;
    } else if (o->kind == OPT_BYTES64 || o->kind == OPT_DURATION) {
        memcpy(base + o->offset, &value, sizeof(value));
    } else {
        size_t sz = (size_t)value;
        memcpy(base + o->offset, &sz, sizeof(sz));
    }

    if (!ok) {
        fprintf(stderr, "ingestd: %s: bad value '%s' for %s: %s\n", source,
                text, o->name, kind_hint(o->kind));
    }
    return ok;
}

static void env_name(const struct opt *o, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "INGESTD_%s", o->name);

    for (size_t i = 8; i < n && i < size; i++) {
        buf[i] = buf[i] == '-' ? '_' : (char)toupper((unsigned char)buf[i]);
    }
}

static bool apply_environment(struct ing_config *cfg)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        char name[64];
        env_name(&opts[i], name, sizeof(name));

        const char *value = getenv(name);
        if (value != NULL && !opt_apply(cfg, &opts[i], value, name)) {
            return false;
        }
    }
    return true;
}

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: ingestd serve [options]\n"
            "\n"
            "Accepts log events over HTTP (POST /ingest) and stores them in\n"
            "an append-only spool.  Every option can also be set by an\n"
            "environment variable: --max-body-bytes is "
            "INGESTD_MAX_BODY_BYTES.\n"
            "\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        char flag[48];
        snprintf(flag, sizeof(flag), "--%s", opts[i].name);
        fprintf(out, "  %-22s %s\n", flag, opts[i].help);
    }
    fprintf(out, "  %-22s %s\n  %-22s %s\n", "--help", "this text", "--version",
            "print the version");
}

static bool check_consistency(const struct ing_config *cfg)
{
    if (cfg->max_decoded_bytes < cfg->max_body_bytes) {
        fprintf(stderr,
                "ingestd: --max-decoded-bytes (%zu) must be at least "
                "--max-body-bytes (%zu)\n",
                cfg->max_decoded_bytes, cfg->max_body_bytes);
        return false;
    }
    if (cfg->max_connections < cfg->threads) {
        fprintf(stderr,
                "ingestd: --max-connections (%zu) must be at least "
                "--threads (%zu)\n",
                cfg->max_connections, cfg->threads);
        return false;
    }
    return true;
}

int ing_config_parse(struct ing_config *cfg, int argc, char **argv)
{
    struct option longopts[N_OPTS + 3];

    for (size_t i = 0; i < N_OPTS; i++) {
        longopts[i] = (struct option){opts[i].name, required_argument, NULL,
                                      256 + (int)i};
    }
    longopts[N_OPTS] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[N_OPTS + 1] = (struct option){"version", no_argument, NULL, 'V'};
    longopts[N_OPTS + 2] = (struct option){NULL, 0, NULL, 0};

    if (!apply_environment(cfg)) {
        return 2;
    }

    optind = 1;
    opterr = 1;
    int c;
    while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        if (c == 'h') {
            print_usage(stdout);
            return 1;
        }
        if (c == 'V') {
            printf("ingestd %s\n", INGESTD_VERSION);
            return 1;
        }
        if (c < 256 || c >= 256 + (int)N_OPTS) {
            fprintf(stderr, "ingestd: try 'ingestd serve --help'\n");
            return 2;
        }
        if (!opt_apply(cfg, &opts[c - 256], optarg, "flag")) {
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ingestd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return check_consistency(cfg) ? 0 : 2;
}

void ing_config_log(const struct ing_config *cfg)
{
    ING_INFO("config",
             "starting listen=%s:%u threads=%zu data_dir=%s ack=%s "
             "max_header_bytes=%zu max_body_bytes=%zu max_decoded_bytes=%zu "
             "max_batch_events=%zu max_metadata_pairs=%zu max_depth=%zu "
             "max_connections=%zu max_large_buffers=%zu",
             cfg->listen_host, cfg->listen_port, cfg->threads, cfg->data_dir,
             cfg->ack == ING_ACK_DURABLE ? "durable" : "memory",
             cfg->max_header_bytes, cfg->max_body_bytes, cfg->max_decoded_bytes,
             cfg->max_batch_events, cfg->max_metadata_pairs, cfg->max_depth,
             cfg->max_connections, cfg->max_large_buffers);
    ING_INFO("config",
             "timeouts read_timeout_ms=%" PRIu64 " write_timeout_ms=%" PRIu64
             " idle_timeout_ms=%" PRIu64 " shutdown_timeout_ms=%" PRIu64,
             cfg->read_timeout_ms, cfg->write_timeout_ms, cfg->idle_timeout_ms,
             cfg->shutdown_timeout_ms);
    ING_INFO("config",
             "spool segment_bytes=%" PRIu64 " fsync_interval_ms=%" PRIu64
             " retention_bytes=%" PRIu64 " retention_age_ms=%" PRIu64
             " spool_max_bytes=%" PRIu64,
             cfg->segment_bytes, cfg->fsync_interval_ms, cfg->retention_bytes,
             cfg->retention_age_ms, cfg->spool_max_bytes);
}
