/*
 * load_main.c - `load`, the benchmark's open-loop HTTP load generator.
 *
 *   load --port 8080 --body event.json --rate 20000 --duration 5
 *   load --calibrate
 *
 * It posts the given bodies (in turn) at a fixed rate over keep-alive
 * connections, and prints latency percentiles measured from each
 * request's scheduled time (see load_run.h), then one machine-readable
 * RESULT line.  --calibrate instead times a fixed integer loop, so that
 * a benchmark can record how fast the host was next to each run.
 */
#include "ing_err.h"
#include "load_hist.h"
#include "load_run.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REQUESTS     100000
#define CALIBRATE_ROUNDS 50000000u

struct options {
    struct ing_load_config cfg;
    const char *path;
    const char *content_type;
    const char *body_files[16];
    unsigned body_file_count;
    const char *ndjson_file;
    const char *quantiles_file;
    int calibrate;
};

/* Quantiles printed and written for the plot; the last is the maximum. */
static const double quantiles[] = {0.5,   0.75,   0.9,    0.95,    0.99, 0.995,
                                   0.999, 0.9995, 0.9999, 0.99999, 1.0};
static const char *const summary_names[] = {"p50",   "p90",    "p99",
                                            "p99.9", "p99.99", "max"};
static const double summary_q[] = {0.5, 0.9, 0.99, 0.999, 0.9999, 1.0};

static struct ing_load_result result;
static struct ing_view requests[MAX_REQUESTS];

static void usage(void)
{
    fputs("usage: load --port N [--host 127.0.0.1] [--path /ingest]\n"
          "            [--body FILE ...] [--ndjson FILE] --rate PER_S\n"
          "            [--duration S] [--warmup S] [--drain S]\n"
          "            [--connections N] [--content-type T]\n"
          "            [--quantiles FILE]\n"
          "       load --calibrate\n",
          stderr);
    exit(2);
}

static uint64_t seconds_ns(const char *arg)
{
    return (uint64_t)(strtod(arg, NULL) * 1e9);
}

static void parse_option(struct options *o, int opt, const char *arg)
{
    switch (opt) {
    case 'H':
        o->cfg.host = arg;
        break;
    case 'p':
        o->cfg.port = (uint16_t)strtoul(arg, NULL, 10);
        break;
    case 'P':
        o->path = arg;
        break;
    case 'b':
        if (o->body_file_count == 16) {
            usage();
        }
        o->body_files[o->body_file_count++] = arg;
        break;
    case 'n':
        o->ndjson_file = arg;
        break;
    case 'r':
        o->cfg.rate_per_s = strtod(arg, NULL);
        break;
    case 'd':
        o->cfg.duration_ns = seconds_ns(arg);
        break;
    case 'w':
        o->cfg.warmup_ns = seconds_ns(arg);
        break;
    case 'D':
        o->cfg.drain_ns = seconds_ns(arg);
        break;
    case 'c':
        o->cfg.connections = (unsigned)strtoul(arg, NULL, 10);
        break;
    case 't':
        o->content_type = arg;
        break;
    case 'q':
        o->quantiles_file = arg;
        break;
    default:
        usage();
    }
}

static void parse_options(struct options *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"path", required_argument, NULL, 'P'},
        {"body", required_argument, NULL, 'b'},
        {"ndjson", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"drain", required_argument, NULL, 'D'},
        {"connections", required_argument, NULL, 'c'},
        {"content-type", required_argument, NULL, 't'},
        {"quantiles", required_argument, NULL, 'q'},
        {"calibrate", no_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (opt == 'C') {
            o->calibrate = 1;
        } else {
            parse_option(o, opt, optarg);
        }
    }
    if (o->calibrate) {
        return;
    }
    if (o->cfg.port == 0 || o->cfg.rate_per_s <= 0 || o->cfg.connections == 0 ||
        (o->body_file_count == 0 && o->ndjson_file == NULL)) {
        usage();
    }
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        goto fail;
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        goto fail;
    }
    fclose(f);
    *len = (size_t)size;
    return buf;

fail:
    perror(path);
    free(buf);
    if (f != NULL) {
        fclose(f);
    }
    exit(1);
}

/* Requests are built once, before the clock starts, and never freed. */
static void add_request(struct options *o, const char *body, size_t len)
{
    size_t n = o->cfg.request_count;

    if (n == MAX_REQUESTS) {
        fprintf(stderr, "load: more than %d bodies\n", MAX_REQUESTS);
        exit(1);
    }

    char *req = NULL;
    int head =
        asprintf(&req,
                 "POST %s HTTP/1.1\r\nHost: %s:%u\r\n"
                 "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                 o->path, o->cfg.host, o->cfg.port, o->content_type, len);

    if (head < 0 || (req = realloc(req, (size_t)head + len)) == NULL) {
        perror("load: request");
        exit(1);
    }
    memcpy(req + head, body, len);
    requests[n] = ing_view_make(req, (size_t)head + len);
    o->cfg.request_count = n + 1;
}

static void load_bodies(struct options *o)
{
    size_t len;

    for (unsigned i = 0; i < o->body_file_count; i++) {
        char *body = read_file(o->body_files[i], &len);

        /* A trailing newline is the file's, not the event's. */
        while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r')) {
            len--;
        }
        add_request(o, body, len);
        free(body);
    }
    if (o->ndjson_file == NULL) {
        return;
    }

    char *all = read_file(o->ndjson_file, &len);

    for (char *line = all, *end = all + len; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *stop = nl != NULL ? nl : end;

        if (stop > line) {
            add_request(o, line, (size_t)(stop - line));
        }
        line = stop + 1;
    }
    free(all);
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void print_summary(const struct options *o)
{
    const struct ing_load_result *r = &result;
    double window_s = (double)r->window_ns / 1e9;
    double answered = (double)(r->answered_2xx + r->answered_other);

    printf("load: rate=%.0f/s connections=%u window=%.2fs\n", o->cfg.rate_per_s,
           o->cfg.connections, window_s);
    printf("  scheduled=%llu 2xx=%llu other=%llu failed=%llu "
           "unanswered=%llu reconnects=%llu achieved=%.0f/s\n",
           (unsigned long long)r->scheduled,
           (unsigned long long)r->answered_2xx,
           (unsigned long long)r->answered_other, (unsigned long long)r->failed,
           (unsigned long long)r->unanswered, (unsigned long long)r->reconnects,
           answered / window_s);
    printf("  latency from the scheduled time (us):");
    for (size_t i = 0; i < sizeof(summary_q) / sizeof(summary_q[0]); i++) {
        printf(" %s=%.1f", summary_names[i],
               us(ing_load_hist_quantile(&r->corrected, summary_q[i])));
    }
    printf("\n  latency from the time sent (us):     ");
    for (size_t i = 0; i < sizeof(summary_q) / sizeof(summary_q[0]); i++) {
        printf(" %s=%.1f", summary_names[i],
               us(ing_load_hist_quantile(&r->uncorrected, summary_q[i])));
    }
    printf("\n");
}

static void print_result_line(const struct options *o)
{
    const struct ing_load_result *r = &result;
    const struct ing_load_hist *h = &r->corrected;
    double window_s = (double)r->window_ns / 1e9;

    printf("RESULT rate=%.0f scheduled=%llu ok=%llu other=%llu failed=%llu "
           "unanswered=%llu achieved_rps=%.1f p50_us=%.1f p90_us=%.1f "
           "p99_us=%.1f p999_us=%.1f p9999_us=%.1f max_us=%.1f "
           "sent_p99_us=%.1f\n",
           o->cfg.rate_per_s, (unsigned long long)r->scheduled,
           (unsigned long long)r->answered_2xx,
           (unsigned long long)r->answered_other, (unsigned long long)r->failed,
           (unsigned long long)r->unanswered,
           (double)(r->answered_2xx + r->answered_other) / window_s,
           us(ing_load_hist_quantile(h, 0.5)),
           us(ing_load_hist_quantile(h, 0.9)),
           us(ing_load_hist_quantile(h, 0.99)),
           us(ing_load_hist_quantile(h, 0.999)),
           us(ing_load_hist_quantile(h, 0.9999)), us(h->max_ns),
           us(ing_load_hist_quantile(&r->uncorrected, 0.99)));
}

static int write_quantiles(const char *path)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        perror(path);
        return ING_ERROR;
    }
    fprintf(f, "# quantile latency_us (from the scheduled time)\n");
    for (size_t i = 0; i < sizeof(quantiles) / sizeof(quantiles[0]); i++) {
        fprintf(f, "%.5f %.1f\n", quantiles[i],
                us(ing_load_hist_quantile(&result.corrected, quantiles[i])));
    }
    return fclose(f) == 0 ? ING_OK : ING_ERROR;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * A fixed chain of dependent multiplies and shifts: it stays in registers,
 * so its time tracks only the core's clock, not memory or the kernel.
 */
static int calibrate(void)
{
    volatile uint64_t sink;
    uint64_t x = 88172645463325252u;
    uint64_t start = mono_ns();

    for (unsigned i = 0; i < CALIBRATE_ROUNDS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x *= 0x9e3779b97f4a7c15u;
    }
    sink = x;
    (void)sink;
    printf("calibration_ms=%.2f\n", (double)(mono_ns() - start) / 1e6);
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {
        .cfg = {.host = "127.0.0.1",
                .requests = requests,
                .duration_ns = 5000000000u,
                .warmup_ns = 1000000000u,
                .drain_ns = 2000000000u,
                .connections = 16},
        .path = "/ingest",
        .content_type = "application/json",
    };

    parse_options(&o, argc, argv);
    if (o.calibrate) {
        return calibrate();
    }
    load_bodies(&o);

    if (ing_load_run(&o.cfg, &result) != ING_OK) {
        return 1;
    }
    print_summary(&o);
    print_result_line(&o);
    if (o.quantiles_file != NULL && write_quantiles(o.quantiles_file) != 0) {
        return 1;
    }
    return 0;
}
