/*
 * json_string.h - JSON strings (RFC 8259 §7) checked in place.
 *
 * A string is validated where it lies: UTF-8 well-formedness, no raw
 * control characters, only the escapes the RFC lists, and \u surrogates
 * in high-low pairs.  Nothing is unescaped into memory; when two strings
 * must be compared by what they mean ("a" against "\u0061"), the escapes
 * are decoded on the fly during the comparison.
 *
 * Everything here is pure: no allocation, no global state; any thread may
 * call any function at any time.
 */
#ifndef ING_JSON_STRING_H
#define ING_JSON_STRING_H

#include <stdbool.h>
#include <stddef.h>

#include "ing_err.h"

/* Where a scanned string lies in the caller's buffer. */
struct ing_json_string {
    size_t start; /* offset of the first byte after the opening quote */
    size_t len;   /* raw bytes between the quotes, escapes as written */
    bool escaped; /* true when at least one backslash escape is inside */
};

/*
 * Validates the string whose opening quote is buf[pos] (the caller has
 * checked that buf[pos] == '"').  Returns ING_OK and fills *str, so that
 * the byte after the closing quote is str->start + str->len + 1; or
 * ING_ERROR with err->code ING_ERR_BAD_REQUEST, a static message and the
 * offset in buf of the offending byte.  Never reads at or past buf[len].
 */
int ing_json_string_scan(const char *buf, size_t len, size_t pos,
                         struct ing_json_string *str, struct ing_err *err);

/*
 * Compares two validated strings of buf by their decoded bytes (UTF-8 of
 * the code points they denote), like memcmp extended to different lengths:
 * negative, zero or positive.  "\u00e9" equals the raw bytes C3 A9.
 */
int ing_json_string_cmp(const char *buf, const struct ing_json_string *a,
                        const struct ing_json_string *b);

/*
 * True when the validated string str of buf decodes to exactly the lit_len
 * bytes at lit.
 */
bool ing_json_string_eq(const char *buf, const struct ing_json_string *str,
                        const char *lit, size_t lit_len);

#endif
