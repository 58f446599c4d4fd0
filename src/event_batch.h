/*
 * event_batch.h - a request body as a batch of events: what the server
 * calls once the body is complete (and decoded).
 *
 * Formats:
 * - JSON: one event object (is_batch false), or an array of event objects
 *   ("[]" is an empty batch, count 0).  Whitespace around is allowed;
 *   anything else (a string, a number, [1], a trailing comma, data after
 *   the value) is 400.
 * - NDJSON: one event object per line.  A line ends in LF or CRLF (one CR
 *   before the LF is dropped); spaces, tabs and CRs around the object are
 *   allowed; lines holding only those are skipped; the last LF is
 *   optional.  A line that is not exactly one object is 400.  An object
 *   may not span lines, even where JSON would allow a newline.
 *
 * A body with no event at all (empty, or only whitespace / blank lines)
 * is 400 "empty body"; "[]" is accepted with count 0.
 *
 * The batch is all or nothing: on error the caller stores nothing.
 * err->index is the index of the first bad event (always 0 for a single
 * object); for a fault between events (a missing ',' or a trailing
 * comma) it is the index the next event would have had; for data after
 * the closing ']' and for "empty body" it is ING_ERR_NONE.  err->offset
 * is always a byte offset in the body.
 *
 * No allocation in ing_event_batch_parse: the scratch, created once per
 * worker thread, holds the event views and the validator's key stack.
 */
#ifndef ING_EVENT_BATCH_H
#define ING_EVENT_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "event_validate.h"
#include "ing_err.h"
#include "ing_view.h"

enum ing_event_format {
    ING_EVENT_FORMAT_JSON,
    ING_EVENT_FORMAT_NDJSON,
};

struct ing_event_batch {
    struct ing_view *events; /* scratch-owned, capacity max_events */
    size_t count;
    bool is_batch; /* an array or NDJSON (vs one object) */
};

struct ing_event_scratch;

/*
 * Creates a worker's scratch, able to hold lim->max_events event views
 * and to validate bodies of up to max_body_bytes (at most 2 GiB - 1).
 * About 16 bytes per event plus 3 bytes per body byte are reserved; pages
 * are touched only as large bodies use them.  Returns NULL when memory is
 * short or a limit is out of range.  Call at start-up; the caller owns the
 * result and frees it with ing_event_scratch_destroy().
 */
struct ing_event_scratch *
ing_event_scratch_create(const struct ing_event_limits *lim,
                         size_t max_body_bytes);

/* Frees a scratch; NULL is ignored. */
void ing_event_scratch_destroy(struct ing_event_scratch *s);

/*
 * Splits body[0..len) into events and validates each one
 * (event_validate.h).  On ING_OK, out->events[0..count) are views into
 * body, each exactly one event's bytes from '{' to '}'; they stay valid
 * while body does and until the next call with the same scratch.  On
 * ING_ERROR, err is set as described at the top of this file, and out
 * holds no events: ING_ERR_BAD_REQUEST for a malformed body or event;
 * ING_ERR_TOO_LARGE when event max_events + 1 starts (found before it is
 * validated) or len exceeds the scratch's max_body_bytes; ING_ERR_INTERNAL
 * when lim->max_events exceeds the scratch's capacity.  err is cleared
 * first.  Never blocks or allocates; one thread per scratch at a time.
 */
int ing_event_batch_parse(struct ing_event_scratch *s, const char *body,
                          size_t len, enum ing_event_format fmt,
                          const struct ing_event_limits *lim,
                          struct ing_event_batch *out, struct ing_err *err);

#endif
