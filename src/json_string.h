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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ing_err.h"

/* Where a scanned string lies in the caller's buffer. */
struct ing_json_string {
    size_t start; /* offset of the first byte after the opening quote */
    size_t len;   /* raw bytes between the quotes, escapes as written */
    bool escaped; /* true when at least one backslash escape is inside */
};

/*
 * The offset of the first byte at or after i that a string cannot carry
 * as itself in plain ASCII ('"', '\\', a control character, a byte >=
 * 0x80), or len.  Runs are skipped 16 bytes at a time with SSE2.
 */
static inline size_t ing_json_plain_run_end(const char *buf, size_t len,
                                            size_t i)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(' ');

    while (len - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(buf + i));
        /* The compare is signed: bytes >= 0x80 are negative, so one
         * compare catches both control characters and UTF-8 lead or
         * continuation bytes. */
        __m128i special = _mm_or_si128(
            _mm_cmplt_epi8(v, space),
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
        unsigned mask = (unsigned)_mm_movemask_epi8(special);

        if (mask != 0) {
            return i + (unsigned)__builtin_ctz(mask);
        }
        i += 16;
    }
#endif
    while (i < len) {
        unsigned char c = (unsigned char)buf[i];

        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
            break;
        }
        i++;
    }
    return i;
}

/*
 * The part of ing_json_string_scan() past the first byte that is not plain
 * ASCII, at buf[i]: escapes, UTF-8, errors.  Called only from there.
 */
int ing_json_string_scan_rest(const char *buf, size_t len, size_t pos, size_t i,
                              struct ing_json_string *str, struct ing_err *err);

/*
 * Validates the string whose opening quote is buf[pos] (the caller has
 * checked that buf[pos] == '"').  Returns ING_OK and fills *str, so that
 * the byte after the closing quote is str->start + str->len + 1; or
 * ING_ERROR with err->code ING_ERR_BAD_REQUEST, a static message and the
 * offset in buf of the offending byte.  Never reads at or past buf[len].
 *
 * Inline because it runs for every key and value: a string of plain ASCII
 * (most of them in log events) then costs no call.
 */
static inline int ing_json_string_scan(const char *buf, size_t len, size_t pos,
                                       struct ing_json_string *str,
                                       struct ing_err *err)
{
    size_t i = ing_json_plain_run_end(buf, len, pos + 1);

    if (i < len && buf[i] == '"') {
        str->start = pos + 1;
        str->len = i - pos - 1;
        str->escaped = false;
        return ING_OK;
    }
    return ing_json_string_scan_rest(buf, len, pos, i, str, err);
}

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
