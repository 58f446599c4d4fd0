/*
 * json_validate.h - RFC 8259 validation in one pass, in place, no tree.
 *
 * The validator reads the caller's bytes and says whether they are JSON;
 * it never unescapes, copies or converts anything, and allocates nothing
 * after its scratch is created.  Nesting is followed with an explicit
 * stack, so hostile depth costs a clean error, never the C stack.
 *
 * Duplicate keys (optional, on for events): keys compare by their decoded
 * value, so "a" and "\u0061" collide.  In an object's first 16 keys a
 * repeat is found as it is read: a 64-bit filter of key hashes says when
 * a new key may repeat one, and only then is it compared with the earlier
 * ones.  A larger object sorts its key views when it closes (heapsort,
 * O(k log k) comparisons even for hostile input), so a repeat among its
 * later keys is reported then, after any syntax error inside it; the
 * offset still names the repeated key.
 *
 * Threads: a scratch belongs to one thread at a time (one per worker);
 * with distinct scratches any number of threads validate at once.
 */
#ifndef ING_JSON_VALIDATE_H
#define ING_JSON_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ing_err.h"
#include "json_string.h"

/*
 * The deepest nesting any caller may ask for; a larger max_depth is taken
 * as this.  The explicit stack is sized for it inside the scratch.
 */
#define ING_JSON_DEPTH_MAX 1024

/* ing_json_object_next() read a member (a key and its ':'). */
#define ING_JSON_MEMBER 1

struct ing_json_scratch;

/*
 * Creates the per-worker scratch: the key stack for duplicate detection,
 * sized so that any JSON text of up to max_body_bytes fits (12 bytes per 4
 * input bytes, reserved as virtual memory and touched only as used).
 * Returns NULL when memory is short or max_body_bytes exceeds 2 GiB - 1.
 * Call at start-up, not on the request path; the caller owns the result.
 */
struct ing_json_scratch *ing_json_scratch_create(size_t max_body_bytes);

/* Frees a scratch from ing_json_scratch_create(); NULL is ignored. */
void ing_json_scratch_destroy(struct ing_json_scratch *s);

/*
 * Forgets the keys of any earlier, possibly failed, validation.  Entry
 * points that start a new text (ing_json_validate, ing_event_validate) do
 * it themselves; lower-level callers do it before their first object.
 */
void ing_json_scratch_reset(struct ing_json_scratch *s);

/*
 * "Any JSON value" mode: true when buf[0..len) is exactly one JSON text
 * (RFC 8259 §2: one value of any kind, whitespace around it allowed).
 * Containers may nest max_depth deep (the outermost counts as 1).
 * Returns ING_OK, or ING_ERROR with err set: ING_ERR_BAD_REQUEST, a static
 * message and the offset in buf of the offending byte; ING_ERR_TOO_LARGE
 * when len exceeds the scratch's max_body_bytes.  A byte order mark is
 * rejected (RFC 8259 §8.1 forbids sending one).
 */
int ing_json_validate(struct ing_json_scratch *s, const char *buf, size_t len,
                      unsigned max_depth, bool reject_dup_keys,
                      struct ing_err *err);

/*
 * Validates the one value that starts exactly at buf[pos] (no whitespace
 * before it) and sets *end to the offset just past it.  depth is the
 * number of containers already open around the value: its own containers
 * count from depth + 1 and must not exceed max_depth.  Errors as for
 * ing_json_validate.  The scratch must hold no keys above those of objects
 * the caller has open (see ing_json_object_open); on success the key
 * stack is as it was.
 */
int ing_json_value_scan(struct ing_json_scratch *s, const char *buf, size_t len,
                        size_t pos, unsigned depth, unsigned max_depth,
                        bool reject_dup_keys, size_t *end, struct ing_err *err);

/*
 * Private to json_validate.c: what an open object knows of its keys.  The
 * filter has one bit per hash of each key's raw length, first and last
 * bytes, so a new key that matches no bit needs no comparison at all.
 */
struct ing_json_key_set {
    size_t base;     /* index of its first key on the scratch's key stack */
    uint64_t filter; /* bits of the keys' hashes */
    bool escaped;    /* a key has escapes: raw hashes do not decide */
};

/*
 * Walks the members of one object for a caller that treats some values
 * itself (the event validator).  Lives on the caller's stack.  After
 * ing_json_object_next() returns ING_JSON_MEMBER, pos is the offset of the
 * member's value; the caller validates it and sets pos just past it
 * before calling ing_json_object_next() again.  Other fields are private.
 */
struct ing_json_object {
    const char *buf;
    size_t len;
    size_t pos;
    struct ing_json_key_set keys;
    bool reject_dup_keys;
    bool has_member;
};

/*
 * Starts walking the object whose '{' is buf[pos].  Its keys (all of them
 * when reject_dup_keys, else those given to ing_json_object_check_key())
 * go on the scratch's key stack above those of any object already open,
 * so walkers and ing_json_value_scan() nest.  Cannot fail: errors surface
 * from ing_json_object_next().  Depth is the caller's to count.
 */
void ing_json_object_open(struct ing_json_scratch *s,
                          struct ing_json_object *obj, const char *buf,
                          size_t len, size_t pos, bool reject_dup_keys);

/*
 * Reads the next member's key and ':'.  Returns ING_JSON_MEMBER with *key
 * set and obj->pos at the value; ING_OK when the closing '}' was consumed
 * (obj->pos just past it, the object's keys popped); or ING_ERROR with err
 * set (ING_ERR_TOO_LARGE when len exceeds the scratch's max_body_bytes).
 * On a "duplicate key" error *key is the repeated key.
 */
int ing_json_object_next(struct ing_json_scratch *s,
                         struct ing_json_object *obj,
                         struct ing_json_string *key, struct ing_err *err);

/*
 * For a walker opened with reject_dup_keys false: rejects key when it
 * equals (decoded) a key passed here earlier for the same object, then
 * remembers it; large objects are checked when the '}' is read.  Lets a
 * caller that tracks some keys itself (the event's known fields) check
 * only the others.  Returns ING_OK or ING_ERROR ("duplicate key").
 */
int ing_json_object_check_key(struct ing_json_scratch *s,
                              struct ing_json_object *obj,
                              const struct ing_json_string *key,
                              struct ing_err *err);

/* JSON whitespace (RFC 8259 §2): space, tab, LF, CR. */
static inline bool ing_json_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The offset of the first non-whitespace byte at or after pos, or len. */
static inline size_t ing_json_skip_ws(const char *buf, size_t len, size_t pos)
{
    /* Compact JSON has no whitespace: one test settles the common case. */
    while (pos < len && (unsigned char)buf[pos] <= ' ' &&
           ing_json_is_ws(buf[pos])) {
        pos++;
    }
    return pos;
}

#endif
