/*
 * json_validate.c - one-pass RFC 8259 validation, see json_validate.h.
 *
 * The structure is followed by a small state machine over an explicit
 * stack of open containers; scalars are checked by the grammar and never
 * converted.  Strings are json_string.c's job.
 */
#include "json_validate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Objects up to this many keys check each new key against the earlier ones
 * at once (cheap and cache-friendly for the few keys of a log event); larger
 * objects are checked by sorting when they close.
 */
#define LINEAR_KEYS_MAX 16

/* key_slot.len_flags: the raw length, and whether the key has escapes. */
#define KEY_ESCAPED  0x80000000u
#define KEY_LEN_MASK 0x7FFFFFFFu

/*
 * A key of an open object, as a compact view into the caller's buffer.
 * head summarises the raw bytes (key_head), so that comparing a new key
 * with earlier ones rarely needs to touch the buffer.
 */
struct key_slot {
    uint32_t start;
    uint32_t len_flags;
    uint32_t head;
};

/* An open container of the value scanner. */
struct frame {
    struct ing_json_key_set keys; /* unused for an array */
    bool is_object;
};

struct ing_json_scratch {
    size_t max_body_bytes;
    struct key_slot *keys; /* keys of every open object, innermost last */
    size_t key_cap;
    size_t key_top;
    struct frame frames[ING_JSON_DEPTH_MAX]; /* innermost last */
};

struct ing_json_scratch *ing_json_scratch_create(size_t max_body_bytes)
{
    struct ing_json_scratch *s;

    if (max_body_bytes > KEY_LEN_MASK) {
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }

    /* An open key costs at least 4 input bytes ("":{ or "":0,). */
    s->key_cap = max_body_bytes / 4 + 2;
    s->keys = calloc(s->key_cap, sizeof(*s->keys));
    if (s->keys == NULL) {
        free(s);
        return NULL;
    }
    s->max_body_bytes = max_body_bytes;
    return s;
}

void ing_json_scratch_destroy(struct ing_json_scratch *s)
{
    if (s == NULL) {
        return;
    }
    free(s->keys);
    free(s);
}

void ing_json_scratch_reset(struct ing_json_scratch *s)
{
    s->key_top = 0;
}

static struct ing_json_string slot_string(const struct key_slot *slot)
{
    struct ing_json_string str = {
        slot->start,
        slot->len_flags & KEY_LEN_MASK,
        (slot->len_flags & KEY_ESCAPED) != 0,
    };
    return str;
}

static int err_too_large(struct ing_err *err)
{
    return ing_err_set(err, ING_ERR_TOO_LARGE,
                       "JSON text larger than the validator's limit", 0);
}

static int err_end(struct ing_err *err, size_t len)
{
    return ing_err_set(err, ING_ERR_BAD_REQUEST, "unexpected end of input",
                       len);
}

/*
 * A 32-bit summary of a key's raw bytes: its first four mixed with its
 * last four, so that keys sharing a prefix ("http_method", "http_status")
 * still differ.  Equal raw keys have equal heads.
 */
static uint32_t key_head(const char *buf, const struct ing_json_string *key)
{
    const char *p = buf + key->start;
    uint32_t first = 0;
    uint32_t last;

    if (key->len < sizeof(first)) {
        for (size_t i = 0; i < key->len; i++) {
            first |= (uint32_t)(unsigned char)p[i] << (8 * i);
        }
        return first;
    }
    memcpy(&first, p, sizeof(first));
    memcpy(&last, p + key->len - sizeof(last), sizeof(last));
    return first ^ (last * 0x9E3779B1u);
}

/* True when the slot's key decodes to the same bytes as key. */
static bool slot_eq(const char *buf, const struct key_slot *slot,
                    const struct ing_json_string *key, uint32_t len_flags,
                    uint32_t head)
{
    struct ing_json_string other;

    if (slot->len_flags == len_flags && slot->head == head &&
        memcmp(buf + slot->start, buf + key->start, key->len) == 0) {
        return true;
    }
    /* Different raw bytes can only mean the same key through escapes. */
    if (((slot->len_flags | len_flags) & KEY_ESCAPED) == 0) {
        return false;
    }

    other = slot_string(slot);
    return ing_json_string_cmp(buf, &other, key) == 0;
}

static void keys_open(struct ing_json_scratch *s, struct ing_json_key_set *set)
{
    set->base = s->key_top;
    set->filter = 0;
    set->escaped = false;
}

/* The filter bit of an unescaped key (multiplicative hashing). */
static uint64_t key_filter_bit(uint32_t len_flags, uint32_t head)
{
    uint64_t h = ((uint64_t)len_flags << 32 | head) * 0x9E3779B97F4A7C15u;

    return (uint64_t)1 << (h >> 58);
}

/*
 * Rejects key if it equals an earlier key of the object set.  Out of line:
 * with the filter it runs only for likely repeats and escaped keys, and
 * keeping it apart keeps keys_push() small.
 */
static __attribute__((noinline)) int
keys_find_repeat(const struct ing_json_scratch *s, const char *buf,
                 const struct ing_json_key_set *set,
                 const struct ing_json_string *key, uint32_t len_flags,
                 uint32_t head, struct ing_err *err)
{
    for (size_t k = set->base; k < s->key_top; k++) {
        if (slot_eq(buf, &s->keys[k], key, len_flags, head)) {
            return ing_err_set(err, ING_ERR_BAD_REQUEST, "duplicate key",
                               key->start - 1);
        }
    }
    return ING_OK;
}

/*
 * Pushes key on the key stack of the object set.  A small object rejects
 * a repeat here; a large one in keys_close().
 */
static inline int keys_push(struct ing_json_scratch *s, const char *buf,
                            struct ing_json_key_set *set,
                            const struct ing_json_string *key,
                            struct ing_err *err)
{
    uint32_t len_flags = (uint32_t)key->len | (key->escaped ? KEY_ESCAPED : 0);
    uint32_t head = key_head(buf, key);
    uint64_t bit = key_filter_bit(len_flags, head);
    bool maybe_seen = (set->filter & bit) != 0 || set->escaped || key->escaped;
    struct key_slot *slot;

    set->filter |= bit;
    set->escaped |= key->escaped;
    if (maybe_seen && s->key_top - set->base < LINEAR_KEYS_MAX &&
        keys_find_repeat(s, buf, set, key, len_flags, head, err) != ING_OK) {
        return ING_ERROR;
    }

    /* Cannot happen while texts fit max_body_bytes (checked at each entry
     * point), since every key costs 4 input bytes; kept as a cheap guard. */
    if (s->key_top == s->key_cap) {
        return err_too_large(err);
    }
    slot = &s->keys[s->key_top++];
    slot->start = (uint32_t)key->start;
    slot->len_flags = len_flags;
    slot->head = head;
    return ING_OK;
}

/* Orders by decoded key, then by position, so repeats sit in input order. */
static int slot_cmp(const char *buf, const struct key_slot *a,
                    const struct key_slot *b)
{
    struct ing_json_string sa = slot_string(a);
    struct ing_json_string sb = slot_string(b);
    int r = ing_json_string_cmp(buf, &sa, &sb);

    if (r != 0) {
        return r;
    }
    return (a->start > b->start) - (a->start < b->start);
}

static void slot_swap(struct key_slot *a, struct key_slot *b)
{
    struct key_slot t = *a;

    *a = *b;
    *b = t;
}

static void sift_down(const char *buf, struct key_slot *a, size_t root,
                      size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;

        if (child >= n) {
            return;
        }
        if (child + 1 < n && slot_cmp(buf, &a[child], &a[child + 1]) < 0) {
            child++;
        }
        if (slot_cmp(buf, &a[root], &a[child]) >= 0) {
            return;
        }
        slot_swap(&a[root], &a[child]);
        root = child;
    }
}

/* Heapsort: in place and O(n log n) whatever the keys, unlike quicksort. */
static void slots_sort(const char *buf, struct key_slot *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;) {
        sift_down(buf, a, i, n);
    }
    for (size_t end = n; end-- > 1;) {
        slot_swap(&a[0], &a[end]);
        sift_down(buf, a, 0, end);
    }
}

/*
 * Rejects a repeat among n sorted keys.  The offset reported is the
 * earliest second occurrence of any key, as a one-pass check would find.
 */
static int slots_check_sorted(const char *buf, const struct key_slot *a,
                              size_t n, struct ing_err *err)
{
    uint32_t first_repeat = UINT32_MAX;

    for (size_t i = 1; i < n; i++) {
        struct ing_json_string prev = slot_string(&a[i - 1]);
        struct ing_json_string cur = slot_string(&a[i]);

        if (a[i].start < first_repeat &&
            ing_json_string_cmp(buf, &prev, &cur) == 0) {
            first_repeat = a[i].start;
        }
    }

    if (first_repeat != UINT32_MAX) {
        return ing_err_set(err, ING_ERR_BAD_REQUEST, "duplicate key",
                           (size_t)first_repeat - 1);
    }
    return ING_OK;
}

/* Pops the keys of the object that started at base, checking a large one. */
static int keys_close(struct ing_json_scratch *s, const char *buf, size_t base,
                      struct ing_err *err)
{
    size_t n = s->key_top - base;

    s->key_top = base;
    if (n <= LINEAR_KEYS_MAX) {
        return ING_OK;
    }

    slots_sort(buf, &s->keys[base], n);
    return slots_check_sorted(buf, &s->keys[base], n, err);
}

/*
 * Reads a member's key and ':' at *pos (whitespace already skipped) and
 * leaves *pos at the value.  A '}' here means the ',' before it was one
 * too many.
 */
static int member_key(struct ing_json_scratch *s, const char *buf, size_t len,
                      size_t *pos, struct ing_json_key_set *set,
                      bool reject_dup_keys, struct ing_json_string *key,
                      struct ing_err *err)
{
    size_t i = *pos;

    if (i >= len) {
        return err_end(err, len);
    }
    if (buf[i] != '"') {
        return ing_err_set(
            err, ING_ERR_BAD_REQUEST,
            buf[i] == '}' ? "trailing comma" : "expected a string key", i);
    }
    if (ing_json_string_scan(buf, len, i, key, err) != ING_OK) {
        return ING_ERROR;
    }
    if (reject_dup_keys && keys_push(s, buf, set, key, err) != ING_OK) {
        return ING_ERROR;
    }

    i = key->start + key->len + 1;
    if (i >= len || buf[i] != ':') {
        i = ing_json_skip_ws(buf, len, i);
        if (i >= len) {
            return err_end(err, len);
        }
        if (buf[i] != ':') {
            return ing_err_set(err, ING_ERR_BAD_REQUEST, "expected ':'", i);
        }
    }
    *pos = ing_json_skip_ws(buf, len, i + 1);
    return ING_OK;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t skip_digits(const char *buf, size_t len, size_t i)
{
    while (i < len && is_digit(buf[i])) {
        i++;
    }
    return i;
}

/*
 * RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.  The number
 * is not converted: its range and precision are the reader's business.
 */
static int number_scan(const char *buf, size_t len, size_t *pos,
                       struct ing_err *err)
{
    size_t i = *pos;

    if (buf[i] == '-') {
        i++;
    }
    if (i >= len || !is_digit(buf[i])) {
        return ing_err_set(err, ING_ERR_BAD_REQUEST, "invalid number", i);
    }
    if (buf[i] == '0') {
        i++;
        if (i < len && is_digit(buf[i])) {
            return ing_err_set(err, ING_ERR_BAD_REQUEST,
                               "leading zero in number", i - 1);
        }
    } else {
        i = skip_digits(buf, len, i);
    }

    if (i < len && buf[i] == '.') {
        i++;
        if (i >= len || !is_digit(buf[i])) {
            return ing_err_set(err, ING_ERR_BAD_REQUEST,
                               "digit expected after '.' in number", i);
        }
        i = skip_digits(buf, len, i);
    }

    if (i < len && (buf[i] == 'e' || buf[i] == 'E')) {
        i++;
        if (i < len && (buf[i] == '+' || buf[i] == '-')) {
            i++;
        }
        if (i >= len || !is_digit(buf[i])) {
            return ing_err_set(err, ING_ERR_BAD_REQUEST,
                               "digit expected in exponent", i);
        }
        i = skip_digits(buf, len, i);
    }

    *pos = i;
    return ING_OK;
}

static int literal_scan(const char *buf, size_t len, size_t *pos,
                        const char *word, size_t word_len, struct ing_err *err)
{
    if (len - *pos < word_len || memcmp(buf + *pos, word, word_len) != 0) {
        return ing_err_set(err, ING_ERR_BAD_REQUEST, "invalid literal", *pos);
    }
    *pos += word_len;
    return ING_OK;
}

/* States of the value scanner, between tokens. */
enum scan_state {
    SCAN_VALUE,        /* a value must start at pos */
    SCAN_ARRAY_FIRST,  /* just after '[': a value or ']' */
    SCAN_OBJECT_FIRST, /* just after '{': a key or '}' */
    SCAN_AFTER_VALUE,  /* a value ended: ',' or the closing bracket */
    SCAN_DONE,
};

struct scan {
    struct ing_json_scratch *s;
    const char *buf;
    size_t len;
    size_t pos;
    size_t nframes;
    unsigned depth;     /* containers open around the scanned value */
    unsigned max_depth; /* clamped to ING_JSON_DEPTH_MAX */
    bool reject_dup_keys;
    struct ing_err *err;
};

static int scan_open(struct scan *sc, bool is_object, enum scan_state *st)
{
    if (sc->depth + sc->nframes + 1 > sc->max_depth) {
        return ing_err_set(sc->err, ING_ERR_BAD_REQUEST, "nesting too deep",
                           sc->pos);
    }

    struct frame *f = &sc->s->frames[sc->nframes++];

    f->is_object = is_object;
    keys_open(sc->s, &f->keys);
    sc->pos = ing_json_skip_ws(sc->buf, sc->len, sc->pos + 1);
    *st = is_object ? SCAN_OBJECT_FIRST : SCAN_ARRAY_FIRST;
    return ING_OK;
}

/* Consumes the closing bracket of the innermost container. */
static int scan_close(struct scan *sc, enum scan_state *st)
{
    const struct frame *f = &sc->s->frames[--sc->nframes];

    sc->pos++;
    *st = sc->nframes == 0 ? SCAN_DONE : SCAN_AFTER_VALUE;
    if (!f->is_object || !sc->reject_dup_keys) {
        return ING_OK;
    }
    return keys_close(sc->s, sc->buf, f->keys.base, sc->err);
}

static int scan_value(struct scan *sc, enum scan_state *st)
{
    struct ing_json_string str;
    int r;

    if (sc->pos >= sc->len) {
        return err_end(sc->err, sc->len);
    }

    switch (sc->buf[sc->pos]) {
    case '{':
        return scan_open(sc, true, st);
    case '[':
        return scan_open(sc, false, st);
    case '"':
        r = ing_json_string_scan(sc->buf, sc->len, sc->pos, &str, sc->err);
        if (r == ING_OK) {
            sc->pos = str.start + str.len + 1;
        }
        break;
    case 't':
        r = literal_scan(sc->buf, sc->len, &sc->pos, "true", 4, sc->err);
        break;
    case 'f':
        r = literal_scan(sc->buf, sc->len, &sc->pos, "false", 5, sc->err);
        break;
    case 'n':
        r = literal_scan(sc->buf, sc->len, &sc->pos, "null", 4, sc->err);
        break;
    case '-':
    case '0' ... '9':
        r = number_scan(sc->buf, sc->len, &sc->pos, sc->err);
        break;
    default:
        return ing_err_set(sc->err, ING_ERR_BAD_REQUEST,
                           "expected a JSON value", sc->pos);
    }

    *st = sc->nframes == 0 ? SCAN_DONE : SCAN_AFTER_VALUE;
    return r;
}

static int scan_key(struct scan *sc, enum scan_state *st)
{
    struct ing_json_string key;
    struct ing_json_key_set *set = &sc->s->frames[sc->nframes - 1].keys;

    *st = SCAN_VALUE;
    return member_key(sc->s, sc->buf, sc->len, &sc->pos, set,
                      sc->reject_dup_keys, &key, sc->err);
}

static int scan_after_value(struct scan *sc, enum scan_state *st)
{
    bool in_object = sc->s->frames[sc->nframes - 1].is_object;
    char close = in_object ? '}' : ']';
    size_t i = ing_json_skip_ws(sc->buf, sc->len, sc->pos);

    sc->pos = i;
    if (i >= sc->len) {
        return err_end(sc->err, sc->len);
    }
    if (sc->buf[i] == close) {
        return scan_close(sc, st);
    }
    if (sc->buf[i] != ',') {
        return ing_err_set(
            sc->err, ING_ERR_BAD_REQUEST,
            in_object ? "expected ',' or '}'" : "expected ',' or ']'", i);
    }

    sc->pos = ing_json_skip_ws(sc->buf, sc->len, i + 1);
    if (in_object) {
        return scan_key(sc, st);
    }
    if (sc->pos < sc->len && sc->buf[sc->pos] == ']') {
        return ing_err_set(sc->err, ING_ERR_BAD_REQUEST, "trailing comma",
                           sc->pos);
    }
    *st = SCAN_VALUE;
    return ING_OK;
}

static int scan_run(struct scan *sc)
{
    enum scan_state st = SCAN_VALUE;
    int r = ING_OK;

    while (r == ING_OK && st != SCAN_DONE) {
        switch (st) {
        case SCAN_VALUE:
            r = scan_value(sc, &st);
            break;
        case SCAN_ARRAY_FIRST:
            if (sc->pos < sc->len && sc->buf[sc->pos] == ']') {
                r = scan_close(sc, &st);
            } else {
                st = SCAN_VALUE;
            }
            break;
        case SCAN_OBJECT_FIRST:
            if (sc->pos < sc->len && sc->buf[sc->pos] == '}') {
                r = scan_close(sc, &st);
            } else {
                r = scan_key(sc, &st);
            }
            break;
        case SCAN_AFTER_VALUE:
            r = scan_after_value(sc, &st);
            break;
        case SCAN_DONE:
            break;
        }
    }
    return r;
}

int ing_json_value_scan(struct ing_json_scratch *s, const char *buf, size_t len,
                        size_t pos, unsigned depth, unsigned max_depth,
                        bool reject_dup_keys, size_t *end, struct ing_err *err)
{
    struct scan sc = {
        .s = s,
        .buf = buf,
        .len = len,
        .pos = pos,
        .depth = depth,
        .max_depth =
            max_depth < ING_JSON_DEPTH_MAX ? max_depth : ING_JSON_DEPTH_MAX,
        .reject_dup_keys = reject_dup_keys,
        .err = err,
    };

    if (len > s->max_body_bytes) {
        return err_too_large(err);
    }
    if (scan_run(&sc) != ING_OK) {
        return ING_ERROR;
    }
    *end = sc.pos;
    return ING_OK;
}

int ing_json_validate(struct ing_json_scratch *s, const char *buf, size_t len,
                      unsigned max_depth, bool reject_dup_keys,
                      struct ing_err *err)
{
    size_t pos;

    ing_err_clear(err);
    if (len > s->max_body_bytes) {
        return err_too_large(err);
    }
    ing_json_scratch_reset(s);

    pos = ing_json_skip_ws(buf, len, 0);
    if (pos == len) {
        return ing_err_set(err, ING_ERR_BAD_REQUEST, "empty JSON text", pos);
    }
    if (ing_json_value_scan(s, buf, len, pos, 0, max_depth, reject_dup_keys,
                            &pos, err) != ING_OK) {
        return ING_ERROR;
    }

    pos = ing_json_skip_ws(buf, len, pos);
    if (pos != len) {
        return ing_err_set(err, ING_ERR_BAD_REQUEST,
                           "trailing data after the JSON value", pos);
    }
    return ING_OK;
}

void ing_json_object_open(struct ing_json_scratch *s,
                          struct ing_json_object *obj, const char *buf,
                          size_t len, size_t pos, bool reject_dup_keys)
{
    obj->buf = buf;
    obj->len = len;
    obj->pos = ing_json_skip_ws(buf, len, pos + 1);
    keys_open(s, &obj->keys);
    obj->reject_dup_keys = reject_dup_keys;
    obj->has_member = false;
}

/* Consumes what separates members: ',' or the closing '}'. */
static int object_separator(struct ing_json_object *obj, bool *closed,
                            struct ing_err *err)
{
    size_t i = obj->pos;

    if (i >= obj->len || (obj->buf[i] != ',' && obj->buf[i] != '}')) {
        i = ing_json_skip_ws(obj->buf, obj->len, i);
    }
    if (i >= obj->len) {
        return err_end(err, obj->len);
    }
    if (obj->buf[i] == '}') {
        obj->pos = i;
        *closed = true;
        return ING_OK;
    }
    if (obj->buf[i] != ',') {
        return ing_err_set(err, ING_ERR_BAD_REQUEST, "expected ',' or '}'", i);
    }
    obj->pos = ing_json_skip_ws(obj->buf, obj->len, i + 1);
    *closed = false;
    return ING_OK;
}

int ing_json_object_next(struct ing_json_scratch *s,
                         struct ing_json_object *obj,
                         struct ing_json_string *key, struct ing_err *err)
{
    bool closed = false;

    if (obj->has_member) {
        if (object_separator(obj, &closed, err) != ING_OK) {
            return ING_ERROR;
        }
    } else if (obj->len > s->max_body_bytes) {
        return err_too_large(err);
    } else if (obj->pos < obj->len && obj->buf[obj->pos] == '}') {
        closed = true;
    }

    if (closed) {
        obj->pos++;
        if (s->key_top == obj->keys.base) {
            return ING_OK;
        }
        return keys_close(s, obj->buf, obj->keys.base, err);
    }

    obj->has_member = true;
    if (member_key(s, obj->buf, obj->len, &obj->pos, &obj->keys,
                   obj->reject_dup_keys, key, err) != ING_OK) {
        return ING_ERROR;
    }
    return ING_JSON_MEMBER;
}

int ing_json_object_check_key(struct ing_json_scratch *s,
                              struct ing_json_object *obj,
                              const struct ing_json_string *key,
                              struct ing_err *err)
{
    return keys_push(s, obj->buf, &obj->keys, key, err);
}
