/*
 * ing_view.h - a view: pointer + length into bytes owned by someone else
 * (usually the connection buffer).  A view never owns, never allocates and
 * is not NUL-terminated; it is valid only as long as the bytes it points
 * into.
 */
#ifndef ING_VIEW_H
#define ING_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct ing_view {
    const char *ptr;
    size_t len;
};

#define ING_VIEW_LIT(s) ((struct ing_view){(s), sizeof(s) - 1})

static inline struct ing_view ing_view_make(const char *ptr, size_t len)
{
    struct ing_view v = {ptr, len};
    return v;
}

/* True when the view holds exactly the bytes of the C string lit. */
static inline bool ing_view_eq(struct ing_view v, const char *lit)
{
    size_t n = strlen(lit);

    return v.len == n && memcmp(v.ptr, lit, n) == 0;
}

/* As ing_view_eq, ignoring ASCII case (header names, tokens). */
static inline bool ing_view_eq_nocase(struct ing_view v, const char *lit)
{
    size_t n = strlen(lit);

    if (v.len != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)v.ptr[i];
        unsigned char b = (unsigned char)lit[i];

        if (a >= 'A' && a <= 'Z') {
            a = (unsigned char)(a + 32);
        }
        if (b >= 'A' && b <= 'Z') {
            b = (unsigned char)(b + 32);
        }
        if (a != b) {
            return false;
        }
    }
    return true;
}

#endif
