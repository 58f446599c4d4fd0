/*
 * http_response.c - status line, fixed header set and JSON bodies.
 */
#include "http_response.h"

#include <stdio.h>
#include <string.h>

void ing_http_date_update(struct ing_http_date *date, time_t now)
{
    struct tm tm;

    if (now == date->second) {
        return;
    }
    date->second = now;
    gmtime_r(&now, &tm);
    strftime(date->text, sizeof(date->text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

const char *ing_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}

bool ing_http_response_append(struct ing_http_out *out,
                              const struct ing_http_answer *answer,
                              const struct ing_http_date *date)
{
    size_t room = out->cap - out->len;
    char *p = out->data + out->len;

    int n = snprintf(
        p, room,
        "HTTP/1.1 %d %s\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: %zu\r\n"
        "Date: %s\r\n"
        "%s%s\r\n",
        answer->status, ing_http_reason(answer->status), answer->body_len,
        date->text,
        answer->keep_alive
            ? (answer->announce_keep_alive ? "Connection: keep-alive\r\n" : "")
            : "Connection: close\r\n",
        answer->extra_headers ? answer->extra_headers : "");
    size_t body_len = answer->omit_body ? 0 : answer->body_len;
    if (n < 0 || (size_t)n + body_len > room) {
        return false;
    }

    memcpy(p + n, answer->body, body_len);
    out->len += (size_t)n + body_len;
    return true;
}

/* Appends text as the inside of a JSON string: messages are static, but
 * one may hold a quote or a backslash ("invalid \u escape"). */
static size_t put_json_text(char *buf, size_t cap, size_t len, const char *text)
{
    for (const char *p = text; *p != '\0' && len + 2 <= cap; p++) {
        if (*p == '"' || *p == '\\') {
            buf[len++] = '\\';
        }
        buf[len++] = *p;
    }
    return len;
}

static size_t put_raw(char *buf, size_t cap, size_t len, const char *text)
{
    size_t n = strlen(text);

    if (len + n > cap) {
        n = cap - len;
    }
    memcpy(buf + len, text, n);
    return len + n;
}

static size_t put_number(char *buf, size_t cap, size_t len, const char *key,
                         size_t value)
{
    char text[64];

    snprintf(text, sizeof(text), ",\"%s\":%zu", key, value);
    return put_raw(buf, cap, len, text);
}

size_t ing_http_error_body(char *buf, size_t size, const struct ing_err *err)
{
    const char *status =
        err->code == ING_ERR_UNAVAILABLE ? "unavailable" : "rejected";
    size_t cap = size - 2; /* the closing brace and NUL always fit */
    size_t len = 0;

    len = put_raw(buf, cap, len, "{\"status\":\"");
    len = put_raw(buf, cap, len, status);
    len = put_raw(buf, cap, len, "\",\"error\":\"");
    len = put_json_text(buf, cap, len, err->message ? err->message : "error");
    len = put_raw(buf, cap, len, "\"");
    if (err->field != NULL) {
        len = put_raw(buf, cap, len, ",\"field\":\"");
        len = put_json_text(buf, cap, len, err->field);
        len = put_raw(buf, cap, len, "\"");
    }
    if (err->index != ING_ERR_NONE) {
        len = put_number(buf, cap, len, "index", err->index);
    }
    if (err->offset != ING_ERR_NONE) {
        len = put_number(buf, cap, len, "offset", err->offset);
    }
    buf[len++] = '}';
    buf[len] = '\0';
    return len;
}
