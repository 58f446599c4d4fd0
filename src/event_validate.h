/*
 * event_validate.h - one event: a JSON object checked against DESIGN.md's
 * table of fields, in one pass over its bytes.
 *
 *   event_id   required, non-empty string, at most 256 bytes
 *   timestamp  required, RFC 3339 date-time (event_timestamp.h)
 *   service    required, non-empty string, at most 256 bytes
 *   message    required string, may be empty
 *   metadata   optional object of string -> string, keys non-empty, at
 *              most max_metadata_pairs pairs
 *   any other  any valid JSON, passed through as it came
 *
 * Decisions this file makes:
 * - The 256-byte limits count the raw bytes between the quotes as
 *   received, escapes as written ("\n" is 2 bytes, "\u00e9" 6): that is
 *   what is stored and forwarded.
 * - Keys are matched by decoded value, so "event\u005fid" IS event_id and
 *   obeys its rule; a repeat of a field in any spelling is a duplicate key.
 *   Duplicate keys are rejected at every level, passed-through values too.
 * - Depth counts from the event's own '{' as 1: metadata is at depth 2, a
 *   passed-through object at 2, its children at 3, ...  In a batch the
 *   array around the events does not count.
 * - "\u0000" in a string is valid JSON and accepted.  metadata: null is
 *   rejected (metadata must be an object when present).
 *
 * Pure: no allocation; a scratch belongs to one thread at a time.
 */
#ifndef ING_EVENT_VALIDATE_H
#define ING_EVENT_VALIDATE_H

#include <stddef.h>

#include "ing_err.h"
#include "json_validate.h"

#define ING_EVENT_MAX_EVENTS_DEFAULT         10000
#define ING_EVENT_MAX_METADATA_PAIRS_DEFAULT 64
#define ING_EVENT_MAX_DEPTH_DEFAULT          32

/* Bytes allowed in event_id and in service (raw, escapes as written). */
#define ING_EVENT_ID_MAX_BYTES 256

struct ing_event_limits {
    size_t max_events;         /* per batch, default 10000 */
    size_t max_metadata_pairs; /* default 64 */
    unsigned max_depth;        /* default 32, at most ING_JSON_DEPTH_MAX */
};

/* Fills *lim with the defaults above. */
void ing_event_limits_init(struct ing_event_limits *lim);

/*
 * Validates the event whose '{' is buf[pos] and sets *end to the offset
 * just past its '}'.  Bytes after the event are not looked at.  Returns
 * ING_OK, or ING_ERROR with err set: ING_ERR_BAD_REQUEST, a static message,
 * the offset in buf of the offending byte (for a missing field, the offset
 * of the event's closing '}'), and err->field naming the field concerned
 * ("timestamp", "metadata", ...) or NULL for a syntax error or a
 * passed-through field.  err->index is not touched.  len must not exceed
 * the scratch's max_body_bytes (ing_event_batch_parse checks; past it the
 * answer is ING_ERR_TOO_LARGE, never an overflow).  Resets the scratch
 * first; never allocates.
 */
int ing_event_validate(struct ing_json_scratch *s, const char *buf, size_t len,
                       size_t pos, const struct ing_event_limits *lim,
                       size_t *end, struct ing_err *err);

#endif
