/*
 * event_timestamp.c - RFC 3339 date-time check, see event_timestamp.h.
 *
 * The grammar has fixed positions up to the seconds, so the check reads
 * digits at known offsets instead of running a tokenizer.
 */
#include "event_timestamp.h"

#include <stdbool.h>

/* Index of each separator in "YYYY-MM-DDTHH:MM:SS". */
enum {
    TS_DASH1 = 4,
    TS_DASH2 = 7,
    TS_T = 10,
    TS_COLON1 = 13,
    TS_COLON2 = 16,
    TS_SECOND_END = 19,
    TS_FRACTION_MAX = 9,
};

struct ts_fields {
    unsigned year;
    unsigned month;
    unsigned day;
    unsigned hour;
    unsigned minute;
    unsigned second;
    int offset_minutes; /* local time minus UTC */
};

static int ts_fail(struct ing_err *err, const char *message, size_t offset)
{
    err->field = "timestamp";
    return ing_err_set(err, ING_ERR_BAD_REQUEST, message, offset);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads n digits at p[i]; false if one is not a digit. */
static bool read_digits(const char *p, size_t i, size_t n, unsigned *out)
{
    unsigned v = 0;

    for (size_t k = 0; k < n; k++) {
        if (!is_digit(p[i + k])) {
            return false;
        }
        v = v * 10 + (unsigned)(p[i + k] - '0');
    }
    *out = v;
    return true;
}

static bool is_leap_year(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30,
                                           31, 31, 30, 31, 30, 31};

    if (m == 2 && is_leap_year(y)) {
        return 29;
    }
    return days[m - 1];
}

/* The fixed part "YYYY-MM-DDTHH:MM:SS"; len >= TS_SECOND_END. */
static bool read_date_time(const char *p, struct ts_fields *f)
{
    return read_digits(p, 0, 4, &f->year) && p[TS_DASH1] == '-' &&
           read_digits(p, 5, 2, &f->month) && p[TS_DASH2] == '-' &&
           read_digits(p, 8, 2, &f->day) &&
           (p[TS_T] == 'T' || p[TS_T] == 't') &&
           read_digits(p, 11, 2, &f->hour) && p[TS_COLON1] == ':' &&
           read_digits(p, 14, 2, &f->minute) && p[TS_COLON2] == ':' &&
           read_digits(p, 17, 2, &f->second);
}

/* Skips ".digits" at p[*i] if present; false when it is malformed. */
static bool skip_fraction(const char *p, size_t len, size_t *i)
{
    size_t start;

    if (*i >= len || p[*i] != '.') {
        return true;
    }
    start = ++*i;
    while (*i < len && is_digit(p[*i])) {
        ++*i;
    }
    return *i > start && *i - start <= TS_FRACTION_MAX;
}

/* "Z" or "+HH:MM" / "-HH:MM" exactly filling p[i..len). */
static bool read_offset(const char *p, size_t len, size_t i,
                        struct ts_fields *f)
{
    unsigned oh;
    unsigned om;

    if (len - i == 1 && (p[i] == 'Z' || p[i] == 'z')) {
        f->offset_minutes = 0;
        return true;
    }
    if (len - i != 6 || (p[i] != '+' && p[i] != '-') ||
        !read_digits(p, i + 1, 2, &oh) || p[i + 3] != ':' ||
        !read_digits(p, i + 4, 2, &om) || oh > 23 || om > 59) {
        return false;
    }
    f->offset_minutes = (int)(oh * 60 + om) * (p[i] == '-' ? -1 : 1);
    return true;
}

/* RFC 3339 §5.7: a leap second is the last second of a UTC day. */
static bool is_leap_second_time(const struct ts_fields *f)
{
    int utc = (int)(f->hour * 60 + f->minute) - f->offset_minutes;

    utc = ((utc % 1440) + 1440) % 1440;
    return utc == 23 * 60 + 59;
}

/* Why a timestamp failed the grammar: escapes get a message of their own,
 * since the text may well be a valid date-time once decoded. */
static const char *grammar_message(const char *p, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        if (p[k] == '\\') {
            return "timestamp must not contain escapes";
        }
    }
    return "timestamp is not an RFC 3339 date-time";
}

int ing_event_timestamp_check(const char *p, size_t len, size_t offset,
                              struct ing_err *err)
{
    struct ts_fields f;
    size_t i = TS_SECOND_END;

    if (len < TS_SECOND_END || !read_date_time(p, &f) ||
        !skip_fraction(p, len, &i) || !read_offset(p, len, i, &f)) {
        return ts_fail(err, grammar_message(p, len), offset);
    }

    if (f.month < 1 || f.month > 12 || f.day < 1 ||
        f.day > days_in_month(f.year, f.month)) {
        return ts_fail(err, "timestamp has no such date", offset);
    }
    if (f.hour > 23 || f.minute > 59 || f.second > 60 ||
        (f.second == 60 && !is_leap_second_time(&f))) {
        return ts_fail(err, "timestamp has no such time", offset + TS_T + 1);
    }
    return ING_OK;
}
