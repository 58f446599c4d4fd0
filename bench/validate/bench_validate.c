/*
 * bench_validate.c - event validation speed, ours beside two library
 * parsers, on the reference payloads, in one thread of one run.
 *
 *   bench_validate [SHARED_DIR]     (default $INGESTD_SHARED_DIR, ../shared)
 *
 * For each payload and parser: 5 runs, each repeating the whole payload
 * until at least 0.5 s of the thread's CPU time have passed; the table
 * shows the median run.  Time is CPU time (CLOCK_THREAD_CPUTIME_ID), so
 * other load on the machine does not count against a parser; the last
 * column is the same median run by the wall clock, for reference.
 *
 * - ingestd:      ing_event_batch_parse, what the server calls: JSON,
 *                 UTF-8, event rules, duplicate keys, views of the events.
 * - ingestd-json: ing_json_validate alone (any-value mode, duplicates
 *                 rejected): the validator without the event rules.
 * - jansson:      json_loadb then json_decref (builds and frees a tree).
 * - cJSON:        cJSON_ParseWithLength then cJSON_Delete (the same).
 *
 * The libraries have no NDJSON entry point: for them the NDJSON payload is
 * parsed line by line, which is how a server would use them.  They check
 * less than we do (no event rules; jansson and cJSON accept repeated
 * keys), so the comparison flatters them if anything.
 */
#include <cJSON.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event_batch.h"
#include "json_validate.h"

#define RUNS            5
#define RUN_MIN_SECONDS 0.5
#define MAX_BODY        ((size_t)8 << 20)

struct payload {
    const char *file;
    enum ing_event_format fmt;
    char *buf;
    size_t len;
    size_t events;
};

/* One parser: returns 0 when buf parsed, anything else on failure. */
typedef int (*parse_fn)(const struct payload *p);

static struct ing_event_scratch *event_scratch;
static struct ing_json_scratch *json_scratch;
static struct ing_event_limits limits;
static volatile size_t sink;

struct timing {
    double cpu; /* seconds of thread CPU time per iteration */
    double wall;
};

static double now_seconds(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_ingestd(const struct payload *p)
{
    struct ing_event_batch batch;
    struct ing_err err;
    int r = ing_event_batch_parse(event_scratch, p->buf, p->len, p->fmt,
                                  &limits, &batch, &err);

    sink += batch.count;
    return r;
}

/* NDJSON is validated line by line, as a JSON text per line. */
static int parse_ingestd_json(const struct payload *p)
{
    struct ing_err err;
    const char *line = p->buf;
    const char *end = p->buf + p->len;

    if (p->fmt == ING_EVENT_FORMAT_JSON) {
        return ing_json_validate(json_scratch, p->buf, p->len, 32, true, &err);
    }
    while (line < end) {
        const char *lf = memchr(line, '\n', (size_t)(end - line));
        size_t n = lf != NULL ? (size_t)(lf - line) : (size_t)(end - line);

        if (ing_json_validate(json_scratch, line, n, 32, true, &err) != 0) {
            return -1;
        }
        line += n + 1;
    }
    return 0;
}

static int jansson_one(const char *buf, size_t len)
{
    json_error_t error;
    json_t *root = json_loadb(buf, len, 0, &error);

    if (root == NULL) {
        return -1;
    }
    sink += json_is_object(root) ? 1 : 0;
    json_decref(root);
    return 0;
}

static int cjson_one(const char *buf, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(buf, len);

    if (root == NULL) {
        return -1;
    }
    sink += cJSON_IsObject(root) ? 1 : 0;
    cJSON_Delete(root);
    return 0;
}

static int per_line(const struct payload *p,
                    int (*one)(const char *buf, size_t len))
{
    const char *line = p->buf;
    const char *end = p->buf + p->len;

    if (p->fmt == ING_EVENT_FORMAT_JSON) {
        return one(p->buf, p->len);
    }
    while (line < end) {
        const char *lf = memchr(line, '\n', (size_t)(end - line));
        size_t n = lf != NULL ? (size_t)(lf - line) : (size_t)(end - line);

        if (n > 0 && one(line, n) != 0) {
            return -1;
        }
        line += n + 1;
    }
    return 0;
}

static int parse_jansson(const struct payload *p)
{
    return per_line(p, jansson_one);
}

static int parse_cjson(const struct payload *p)
{
    return per_line(p, cjson_one);
}

/* Seconds per iteration of one run of at least RUN_MIN_SECONDS. */
static struct timing one_run(parse_fn parse, const struct payload *p)
{
    size_t iterations = 0;
    size_t batch = 1;
    double start = now_seconds(CLOCK_THREAD_CPUTIME_ID);
    double wall_start = now_seconds(CLOCK_MONOTONIC);
    struct timing t;
    double elapsed;

    do {
        for (size_t i = 0; i < batch; i++) {
            if (parse(p) != 0) {
                fprintf(stderr, "parse failed: %s\n", p->file);
                exit(1);
            }
        }
        iterations += batch;
        elapsed = now_seconds(CLOCK_THREAD_CPUTIME_ID) - start;
        if (batch < 4096) {
            batch *= 2;
        }
    } while (elapsed < RUN_MIN_SECONDS);

    t.cpu = elapsed / (double)iterations;
    t.wall = (now_seconds(CLOCK_MONOTONIC) - wall_start) / (double)iterations;
    return t;
}

static int cmp_timing(const void *a, const void *b)
{
    double x = ((const struct timing *)a)->cpu;
    double y = ((const struct timing *)b)->cpu;

    return (x > y) - (x < y);
}

static void bench(const char *name, parse_fn parse, const struct payload *p)
{
    struct timing runs[RUNS];
    struct timing median;

    for (int r = 0; r < RUNS; r++) {
        runs[r] = one_run(parse, p);
    }
    qsort(runs, RUNS, sizeof(runs[0]), cmp_timing);
    median = runs[RUNS / 2];
    printf("%-20s %-13s %10.1f %12.1f %12.1f\n", p->file, name,
           (double)p->len / median.cpu / 1e6,
           median.cpu * 1e9 / (double)p->events,
           (double)p->len / median.wall / 1e6);
    fflush(stdout);
}

static void load(const char *dir, struct payload *p)
{
    char path[4096];
    FILE *f;
    long n;

    snprintf(path, sizeof(path), "%s/bench/%s", dir, p->file);
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    rewind(f);
    p->len = (size_t)n;
    p->buf = malloc(p->len);
    if (p->buf == NULL || fread(p->buf, 1, p->len, f) != p->len) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    struct payload payloads[] = {
        {"event.json", ING_EVENT_FORMAT_JSON, NULL, 0, 1},
        {"event-escaped.json", ING_EVENT_FORMAT_JSON, NULL, 0, 1},
        {"events-1000.ndjson", ING_EVENT_FORMAT_NDJSON, NULL, 0, 1000},
        {"events-1000.json", ING_EVENT_FORMAT_JSON, NULL, 0, 1000},
    };
    static const struct {
        const char *name;
        parse_fn parse;
    } parsers[] = {
        {"ingestd", parse_ingestd},
        {"ingestd-json", parse_ingestd_json},
        {"jansson", parse_jansson},
        {"cJSON", parse_cjson},
    };
    const char *dir = argc > 1 ? argv[1] : getenv("INGESTD_SHARED_DIR");
    size_t np = sizeof(payloads) / sizeof(payloads[0]);

    if (dir == NULL || dir[0] == '\0') {
        dir = "../shared";
    }
    ing_event_limits_init(&limits);
    event_scratch = ing_event_scratch_create(&limits, MAX_BODY);
    json_scratch = ing_json_scratch_create(MAX_BODY);
    if (event_scratch == NULL || json_scratch == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    printf("# median of %d runs of >= %.1f s CPU time each, one thread\n", RUNS,
           RUN_MIN_SECONDS);
    printf("%-20s %-13s %10s %12s %12s\n", "payload", "parser", "MB/s",
           "ns/event", "wall MB/s");
    for (size_t i = 0; i < np; i++) {
        load(dir, &payloads[i]);
        for (size_t k = 0; k < sizeof(parsers) / sizeof(parsers[0]); k++) {
            bench(parsers[k].name, parsers[k].parse, &payloads[i]);
        }
        free(payloads[i].buf);
    }

    ing_event_scratch_destroy(event_scratch);
    ing_json_scratch_destroy(json_scratch);
    return 0;
}
