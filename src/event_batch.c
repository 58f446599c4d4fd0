/*
 * event_batch.c - a body split into events, see event_batch.h.
 */
#include "event_batch.h"

#include <stdlib.h>
#include <string.h>

#include "json_validate.h"

struct ing_event_scratch {
    struct ing_json_scratch *json;
    struct ing_view *events;
    size_t max_events;
    size_t max_body_bytes;
};

struct ing_event_scratch *
ing_event_scratch_create(const struct ing_event_limits *lim,
                         size_t max_body_bytes)
{
    struct ing_event_scratch *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->max_events = lim->max_events;
    s->max_body_bytes = max_body_bytes;
    s->json = ing_json_scratch_create(max_body_bytes);
    s->events =
        calloc(lim->max_events ? lim->max_events : 1, sizeof(*s->events));
    if (s->json == NULL || s->events == NULL) {
        ing_event_scratch_destroy(s);
        return NULL;
    }
    return s;
}

void ing_event_scratch_destroy(struct ing_event_scratch *s)
{
    if (s == NULL) {
        return;
    }
    ing_json_scratch_destroy(s->json);
    free(s->events);
    free(s);
}

/* Records a batch-level error (err->index as documented in the header). */
static int batch_fail(struct ing_err *err, enum ing_err_code code,
                      const char *message, size_t offset, size_t index)
{
    err->index = index;
    return ing_err_set(err, code, message, offset);
}

/*
 * Validates the event at body[pos] as event number out->count and appends
 * its view.  The 413 comes first: event max_events + 1 is refused as it
 * starts, without spending time on it.
 */
static int batch_add(struct ing_event_scratch *s, const char *body, size_t len,
                     size_t pos, const struct ing_event_limits *lim,
                     struct ing_event_batch *out, size_t *end,
                     struct ing_err *err)
{
    if (out->count == lim->max_events) {
        return batch_fail(err, ING_ERR_TOO_LARGE, "too many events in batch",
                          pos, out->count);
    }
    if (ing_event_validate(s->json, body, len, pos, lim, end, err) != ING_OK) {
        err->index = out->count;
        return ING_ERROR;
    }
    out->events[out->count++] = ing_view_make(body + pos, *end - pos);
    return ING_OK;
}

static int parse_single(struct ing_event_scratch *s, const char *body,
                        size_t len, size_t pos,
                        const struct ing_event_limits *lim,
                        struct ing_event_batch *out, struct ing_err *err)
{
    size_t end;

    if (batch_add(s, body, len, pos, lim, out, &end, err) != ING_OK) {
        return ING_ERROR;
    }
    end = ing_json_skip_ws(body, len, end);
    if (end != len) {
        return batch_fail(err, ING_ERR_BAD_REQUEST,
                          "trailing data after the event", end, 0);
    }
    return ING_OK;
}

/* After an element: ',' then the next element, or the closing ']'. */
static int array_separator(const char *body, size_t len, size_t *pos,
                           bool *closed, size_t index, struct ing_err *err)
{
    size_t i = ing_json_skip_ws(body, len, *pos);

    if (i >= len) {
        return batch_fail(err, ING_ERR_BAD_REQUEST, "unexpected end of input",
                          len, index);
    }
    *closed = body[i] == ']';
    if (*closed) {
        *pos = i + 1;
        return ING_OK;
    }
    if (body[i] != ',') {
        return batch_fail(err, ING_ERR_BAD_REQUEST, "expected ',' or ']'", i,
                          index);
    }

    i = ing_json_skip_ws(body, len, i + 1);
    if (i < len && body[i] == ']') {
        return batch_fail(err, ING_ERR_BAD_REQUEST, "trailing comma", i, index);
    }
    *pos = i;
    return ING_OK;
}

static int parse_array(struct ing_event_scratch *s, const char *body,
                       size_t len, size_t pos,
                       const struct ing_event_limits *lim,
                       struct ing_event_batch *out, struct ing_err *err)
{
    bool closed;

    pos = ing_json_skip_ws(body, len, pos + 1);
    closed = pos < len && body[pos] == ']';
    if (closed) {
        pos++;
    }

    while (!closed) {
        if (pos >= len) {
            return batch_fail(err, ING_ERR_BAD_REQUEST,
                              "unexpected end of input", pos, out->count);
        }
        if (body[pos] != '{' && out->count < lim->max_events) {
            return batch_fail(err, ING_ERR_BAD_REQUEST,
                              "batch element is not a JSON object", pos,
                              out->count);
        }
        if (batch_add(s, body, len, pos, lim, out, &pos, err) != ING_OK ||
            array_separator(body, len, &pos, &closed, out->count, err) !=
                ING_OK) {
            return ING_ERROR;
        }
    }

    pos = ing_json_skip_ws(body, len, pos);
    if (pos != len) {
        return batch_fail(err, ING_ERR_BAD_REQUEST,
                          "trailing data after the JSON array", pos,
                          ING_ERR_NONE);
    }
    return ING_OK;
}

/* NDJSON allows spaces, tabs and CRs around an event on its line. */
static size_t skip_blank(const char *body, size_t stop, size_t pos)
{
    while (pos < stop &&
           (body[pos] == ' ' || body[pos] == '\t' || body[pos] == '\r')) {
        pos++;
    }
    return pos;
}

/* One line body[pos..stop), the LF excluded; blank lines add nothing. */
static int parse_line(struct ing_event_scratch *s, const char *body, size_t pos,
                      size_t stop, const struct ing_event_limits *lim,
                      struct ing_event_batch *out, struct ing_err *err)
{
    size_t end;

    pos = skip_blank(body, stop, pos);
    if (pos == stop) {
        return ING_OK;
    }
    if (body[pos] != '{' && out->count < lim->max_events) {
        return batch_fail(err, ING_ERR_BAD_REQUEST,
                          "NDJSON line is not a JSON object", pos, out->count);
    }

    /* stop as the end of input keeps the event from running on into the
     * next line. */
    if (batch_add(s, body, stop, pos, lim, out, &end, err) != ING_OK) {
        return ING_ERROR;
    }
    end = skip_blank(body, stop, end);
    if (end != stop) {
        return batch_fail(err, ING_ERR_BAD_REQUEST,
                          "trailing data after the event on its line", end,
                          out->count - 1);
    }
    return ING_OK;
}

static int parse_ndjson(struct ing_event_scratch *s, const char *body,
                        size_t len, const struct ing_event_limits *lim,
                        struct ing_event_batch *out, struct ing_err *err)
{
    size_t pos = 0;

    out->is_batch = true;
    while (pos < len) {
        const char *lf = memchr(body + pos, '\n', len - pos);
        size_t stop = lf != NULL ? (size_t)(lf - body) : len;

        if (parse_line(s, body, pos, stop, lim, out, err) != ING_OK) {
            return ING_ERROR;
        }
        pos = stop + 1;
    }

    if (out->count == 0) {
        return batch_fail(err, ING_ERR_BAD_REQUEST, "empty body", 0,
                          ING_ERR_NONE);
    }
    return ING_OK;
}

static int parse_json(struct ing_event_scratch *s, const char *body, size_t len,
                      const struct ing_event_limits *lim,
                      struct ing_event_batch *out, struct ing_err *err)
{
    size_t pos = ing_json_skip_ws(body, len, 0);

    if (pos == len) {
        return batch_fail(err, ING_ERR_BAD_REQUEST, "empty body", pos,
                          ING_ERR_NONE);
    }
    if (body[pos] == '{') {
        return parse_single(s, body, len, pos, lim, out, err);
    }
    if (body[pos] == '[') {
        out->is_batch = true;
        return parse_array(s, body, len, pos, lim, out, err);
    }
    return batch_fail(err, ING_ERR_BAD_REQUEST,
                      "body must be a JSON object or an array of objects", pos,
                      0);
}

int ing_event_batch_parse(struct ing_event_scratch *s, const char *body,
                          size_t len, enum ing_event_format fmt,
                          const struct ing_event_limits *lim,
                          struct ing_event_batch *out, struct ing_err *err)
{
    int r;

    ing_err_clear(err);
    out->events = s->events;
    out->count = 0;
    out->is_batch = false;
    if (lim->max_events > s->max_events) {
        return ing_err_set(err, ING_ERR_INTERNAL,
                           "event limits exceed the scratch's capacity", 0);
    }
    if (len > s->max_body_bytes) {
        return ing_err_set(err, ING_ERR_TOO_LARGE,
                           "body larger than the validator's limit", 0);
    }

    if (fmt == ING_EVENT_FORMAT_NDJSON) {
        r = parse_ndjson(s, body, len, lim, out, err);
    } else {
        r = parse_json(s, body, len, lim, out, err);
    }
    if (r != ING_OK) {
        out->count = 0;
    }
    return r;
}
