/*
 * event_timestamp.h - the event's timestamp: an RFC 3339 date-time.
 *
 *   YYYY-MM-DD T HH:MM:SS [.1 to 9 digits] (Z | +HH:MM | -HH:MM)
 *
 * 'T' and 'Z' may also be lower case (RFC 3339 §5.6, note); the space
 * separator that §5.6 lets applications choose is not accepted.  The date
 * is checked against the Gregorian calendar (month lengths, leap years);
 * the time against hour 0-23, minute 0-59, second 0-60, where 60 is
 * accepted only as a leap second, i.e. at 23:59:60 in UTC once the offset
 * is applied (RFC 3339 §5.7); whether that leap second really happened is
 * not checked.  Offsets are 00:00 to 23:59, "-00:00" included.  At most 9
 * fraction digits (nanoseconds), since more carry nothing a reader keeps.
 *
 * The bytes are those between the JSON string's quotes, as received: a
 * timestamp written with an escape ("\u0032026-...") is rejected, not
 * decoded, with the message "timestamp must not contain escapes".
 *
 * Pure: any thread, no allocation.
 */
#ifndef ING_EVENT_TIMESTAMP_H
#define ING_EVENT_TIMESTAMP_H

#include <stddef.h>

#include "ing_err.h"

/*
 * Checks the len bytes at p.  Returns ING_OK, or ING_ERROR with err set:
 * ING_ERR_BAD_REQUEST, field "timestamp", a static message saying what is
 * wrong ("... is not an RFC 3339 date-time", "... has no such date",
 * "... has no such time", "... must not contain escapes"), and err->offset
 * = offset, or offset + 11 (the hour) for an impossible time.  Pass p's
 * offset in the request body as offset.
 */
int ing_event_timestamp_check(const char *p, size_t len, size_t offset,
                              struct ing_err *err);

#endif
