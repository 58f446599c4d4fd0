/*
 * event_validate.c - the event rules of DESIGN.md, see event_validate.h.
 *
 * The event's own members are walked with json_validate's object walker;
 * the five known fields are checked here as their values go by, and every
 * other value is handed to the generic validator.  No second pass: a
 * missing field is known when the closing '}' is reached.
 */
#include "event_validate.h"

#include <stdint.h>
#include <string.h>

#include "event_timestamp.h"

enum event_field {
    FIELD_OTHER,
    FIELD_EVENT_ID,
    FIELD_TIMESTAMP,
    FIELD_SERVICE,
    FIELD_MESSAGE,
    FIELD_METADATA,
    FIELD_COUNT,
};

/* In the order a missing one is reported. */
static const enum event_field required_fields[] = {
    FIELD_EVENT_ID,
    FIELD_TIMESTAMP,
    FIELD_SERVICE,
    FIELD_MESSAGE,
};

/* Static texts per field, so that an error never formats a string. */
struct field_rule {
    const char *name;
    const char *wrong_type;
    const char *missing;
    const char *empty;
    const char *too_long;
};

static const struct field_rule rules[FIELD_COUNT] = {
    [FIELD_OTHER] = {NULL, NULL, NULL, NULL, NULL},
    [FIELD_EVENT_ID] = {"event_id", "event_id must be a string",
                        "missing required field event_id",
                        "event_id must not be empty",
                        "event_id is longer than 256 bytes"},
    [FIELD_TIMESTAMP] = {"timestamp", "timestamp must be a string",
                         "missing required field timestamp", NULL, NULL},
    [FIELD_SERVICE] = {"service", "service must be a string",
                       "missing required field service",
                       "service must not be empty",
                       "service is longer than 256 bytes"},
    [FIELD_MESSAGE] = {"message", "message must be a string",
                       "missing required field message", NULL, NULL},
    [FIELD_METADATA] = {"metadata", "metadata must be an object", NULL, NULL,
                        NULL},
};

void ing_event_limits_init(struct ing_event_limits *lim)
{
    lim->max_events = ING_EVENT_MAX_EVENTS_DEFAULT;
    lim->max_metadata_pairs = ING_EVENT_MAX_METADATA_PAIRS_DEFAULT;
    lim->max_depth = ING_EVENT_MAX_DEPTH_DEFAULT;
}

static int field_fail(struct ing_err *err, enum event_field f,
                      const char *message, size_t offset)
{
    err->field = rules[f].name;
    return ing_err_set(err, ING_ERR_BAD_REQUEST, message, offset);
}

/* A key written with escapes is compared by its decoded value. */
static enum event_field field_lookup_escaped(const char *buf,
                                             const struct ing_json_string *key)
{
    for (int f = FIELD_EVENT_ID; f < FIELD_COUNT; f++) {
        const char *name = rules[f].name;

        if (ing_json_string_eq(buf, key, name, strlen(name))) {
            return (enum event_field)f;
        }
    }
    return FIELD_OTHER;
}

static enum event_field field_lookup(const char *buf,
                                     const struct ing_json_string *key)
{
    const char *k = buf + key->start;

    if (key->escaped) {
        return field_lookup_escaped(buf, key);
    }
    switch (key->len) {
    case 7:
        if (memcmp(k, "message", 7) == 0) {
            return FIELD_MESSAGE;
        }
        return memcmp(k, "service", 7) == 0 ? FIELD_SERVICE : FIELD_OTHER;
    case 8:
        if (memcmp(k, "event_id", 8) == 0) {
            return FIELD_EVENT_ID;
        }
        return memcmp(k, "metadata", 8) == 0 ? FIELD_METADATA : FIELD_OTHER;
    case 9:
        return memcmp(k, "timestamp", 9) == 0 ? FIELD_TIMESTAMP : FIELD_OTHER;
    default:
        return FIELD_OTHER;
    }
}

/* event_id, timestamp, service or message: a string with its own rule. */
static int check_string_field(const char *buf, size_t len, size_t pos,
                              enum event_field f, size_t *end,
                              struct ing_err *err)
{
    const struct field_rule *rule = &rules[f];
    struct ing_json_string str;

    if (pos >= len || buf[pos] != '"') {
        return field_fail(err, f, rule->wrong_type, pos);
    }
    if (ing_json_string_scan(buf, len, pos, &str, err) != ING_OK) {
        err->field = rule->name;
        return ING_ERROR;
    }
    *end = str.start + str.len + 1;

    if (f == FIELD_TIMESTAMP) {
        return ing_event_timestamp_check(buf + str.start, str.len, str.start,
                                         err);
    }
    if (rule->empty != NULL && str.len == 0) {
        return field_fail(err, f, rule->empty, pos);
    }
    if (rule->too_long != NULL && str.len > ING_EVENT_ID_MAX_BYTES) {
        return field_fail(err, f, rule->too_long, pos);
    }
    return ING_OK;
}

/* One metadata member whose key was just read: key and value rules. */
static int check_metadata_pair(const char *buf, size_t len, size_t pos,
                               const struct ing_json_string *key, size_t *end,
                               struct ing_err *err)
{
    struct ing_json_string value;

    if (key->len == 0) {
        return field_fail(err, FIELD_METADATA, "metadata key must not be empty",
                          key->start - 1);
    }
    if (pos >= len || buf[pos] != '"') {
        return field_fail(err, FIELD_METADATA,
                          "metadata values must be strings", pos);
    }
    if (ing_json_string_scan(buf, len, pos, &value, err) != ING_OK) {
        return ING_ERROR;
    }
    *end = value.start + value.len + 1;
    return ING_OK;
}

static int check_metadata(struct ing_json_scratch *s, const char *buf,
                          size_t len, size_t pos,
                          const struct ing_event_limits *lim, size_t *end,
                          struct ing_err *err)
{
    struct ing_json_object obj;
    struct ing_json_string key;
    size_t pairs = 0;
    int r;

    if (pos >= len || buf[pos] != '{') {
        return field_fail(err, FIELD_METADATA, rules[FIELD_METADATA].wrong_type,
                          pos);
    }
    if (lim->max_depth < 2) {
        return field_fail(err, FIELD_METADATA, "nesting too deep", pos);
    }

    ing_json_object_open(s, &obj, buf, len, pos, true);
    while ((r = ing_json_object_next(s, &obj, &key, err)) == ING_JSON_MEMBER) {
        if (++pairs > lim->max_metadata_pairs) {
            return field_fail(err, FIELD_METADATA,
                              "metadata has too many pairs", key.start - 1);
        }
        if (check_metadata_pair(buf, len, obj.pos, &key, &obj.pos, err) !=
            ING_OK) {
            return ING_ERROR;
        }
    }
    *end = obj.pos;
    return r;
}

static int check_member(struct ing_json_scratch *s, const char *buf, size_t len,
                        size_t pos, enum event_field f,
                        const struct ing_event_limits *lim, size_t *end,
                        struct ing_err *err)
{
    int r;

    switch (f) {
    case FIELD_OTHER:
        return ing_json_value_scan(s, buf, len, pos, 1, lim->max_depth, true,
                                   end, err);
    case FIELD_METADATA:
        r = check_metadata(s, buf, len, pos, lim, end, err);
        if (r != ING_OK) {
            err->field = rules[FIELD_METADATA].name;
        }
        return r;
    default:
        return check_string_field(buf, len, pos, f, end, err);
    }
}

/*
 * Repeats of the known fields are caught by the seen bits (field_lookup
 * decodes escaped names, so every spelling counts); only other keys need
 * the key set.
 */
static int check_key(struct ing_json_scratch *s, struct ing_json_object *obj,
                     const struct ing_json_string *key, enum event_field f,
                     unsigned seen, struct ing_err *err)
{
    if (f == FIELD_OTHER) {
        return ing_json_object_check_key(s, obj, key, err);
    }
    if ((seen & (1u << f)) != 0) {
        return field_fail(err, f, "duplicate key", key->start - 1);
    }
    return ING_OK;
}

/* At the event's closing '}' (offset close): is every required field in? */
static int check_required(unsigned seen, size_t close, struct ing_err *err)
{
    for (size_t i = 0; i < sizeof(required_fields) / sizeof(*required_fields);
         i++) {
        enum event_field f = required_fields[i];

        if ((seen & (1u << f)) == 0) {
            return field_fail(err, f, rules[f].missing, close);
        }
    }
    return ING_OK;
}

int ing_event_validate(struct ing_json_scratch *s, const char *buf, size_t len,
                       size_t pos, const struct ing_event_limits *lim,
                       size_t *end, struct ing_err *err)
{
    struct ing_json_object obj;
    struct ing_json_string key;
    unsigned seen = 0;
    int r;

    if (pos >= len || buf[pos] != '{') {
        return ing_err_set(err, ING_ERR_BAD_REQUEST,
                           "event must be a JSON object", pos);
    }
    ing_json_scratch_reset(s);
    ing_json_object_open(s, &obj, buf, len, pos, false);

    for (;;) {
        enum event_field f;

        key.start = SIZE_MAX;
        r = ing_json_object_next(s, &obj, &key, err);
        if (r != ING_JSON_MEMBER) {
            break;
        }
        f = field_lookup(buf, &key);
        if (check_key(s, &obj, &key, f, seen, err) != ING_OK ||
            check_member(s, buf, len, obj.pos, f, lim, &obj.pos, err) !=
                ING_OK) {
            return ING_ERROR;
        }
        seen |= 1u << f;
    }

    if (r != ING_OK) {
        /* A bad ':' belongs to the member whose key was read. */
        if (key.start != SIZE_MAX) {
            err->field = rules[field_lookup(buf, &key)].name;
        }
        return ING_ERROR;
    }
    if (check_required(seen, obj.pos - 1, err) != ING_OK) {
        return ING_ERROR;
    }
    *end = obj.pos;
    return ING_OK;
}
