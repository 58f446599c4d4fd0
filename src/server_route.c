/*
 * server_route.c - what each path answers.
 *
 *   POST /ingest         events: validate, store, 202
 *   GET|HEAD /healthz    200 while the process runs
 *   GET|HEAD /readyz     200 while accepting, 503 while draining
 *
 * Everything else is 404, or 405 with Allow for a known path.
 */
#include "server_int.h"

#include <stdio.h>

#include "log.h"

#define LIT(s) s, sizeof(s) - 1

static void answer_simple_error(struct ing_conn *c, enum ing_err_code code,
                                const char *message)
{
    struct ing_err err;

    ing_err_clear(&err);
    ing_err_set(&err, code, message, ING_ERR_NONE);
    ing_conn_answer_error(c, &err, false);
}

/* Content-Type's media type, parameters ignored; missing means JSON. */
static int body_format(struct ing_view type, enum ing_event_format *out)
{
    size_t len = 0;

    while (len < type.len && type.ptr[len] != ';' && type.ptr[len] != ' ' &&
           type.ptr[len] != '\t') {
        len++;
    }

    struct ing_view media = ing_view_make(type.ptr, len);
    if (len == 0 || ing_view_eq_nocase(media, "application/json")) {
        *out = ING_EVENT_FORMAT_JSON;
    } else if (ing_view_eq_nocase(media, "application/x-ndjson") ||
               ing_view_eq_nocase(media, "application/ndjson")) {
        *out = ING_EVENT_FORMAT_NDJSON;
    } else {
        return ING_ERROR;
    }
    return ING_OK;
}

/* Undoes Content-Encoding into the worker's decode buffer if needed. */
static int ingest_decode(struct ing_conn *c, char **body, size_t *len,
                         struct ing_err *err)
{
    struct ing_worker *w = c->worker;
    enum ing_body_encoding enc;

    if (ing_body_encoding_parse(c->req.content_encoding, &enc, err) != ING_OK) {
        return ING_ERROR;
    }
    if (enc == ING_BODY_IDENTITY) {
        return ING_OK;
    }
    if (ing_body_decode(w->decoder, enc, *body, *len, w->decoded,
                        w->cfg->max_decoded_bytes, len, err) != ING_OK) {
        return ING_ERROR;
    }
    *body = w->decoded;
    return ING_OK;
}

static void answer_queued(struct ing_conn *c, const struct ing_event_batch *b)
{
    char text[64];

    if (!b->is_batch) {
        ing_conn_answer(c, 202, NULL, LIT(ING_QUEUED_BODY));
        return;
    }
    int n = snprintf(text, sizeof(text),
                     "{\"status\":\"queued\",\"accepted\":%zu}", b->count);
    ing_conn_answer(c, 202, NULL, text, (size_t)n);
}

static void route_ingest(struct ing_conn *c, char *body, size_t len)
{
    struct ing_worker *w = c->worker;
    enum ing_event_format format;
    struct ing_event_batch batch;
    struct ing_err err;

    ing_err_clear(&err);
    if (!c->req.has_content_length && !c->req.chunked) {
        answer_simple_error(c, ING_ERR_LENGTH_REQUIRED,
                            "Content-Length or chunked body required");
        return;
    }
    if (body_format(c->req.content_type, &format) != ING_OK) {
        answer_simple_error(c, ING_ERR_UNSUPPORTED,
                            "Content-Type must be application/json or "
                            "application/x-ndjson");
        return;
    }

    if (ingest_decode(c, &body, &len, &err) != ING_OK ||
        ing_event_batch_parse(w->scratch, body, len, format, &w->limits, &batch,
                              &err) != ING_OK) {
        ING_DEBUG("ingest",
                  "rejected status=%d reason=\"%s\" index=%zu "
                  "offset=%zu",
                  (int)err.code, err.message ? err.message : "", err.index,
                  err.offset);
        ing_conn_answer_error(c, &err, false);
        return;
    }

    /* The 202 waits for the group commit; a failed one replaces it. */
    if (batch.count > 0) {
        ing_group_stage(c, batch.events, batch.count, body == w->decoded);
    }
    answer_queued(c, &batch);
}

bool ing_route_wants_body(const struct ing_conn *c)
{
    const struct ing_http_request *req = &c->req;
    enum ing_event_format format;
    enum ing_body_encoding enc;
    struct ing_err err;

    return ing_view_eq(req->path, "/ingest") && req->method == ING_HTTP_POST &&
           (req->version_minor == 0 || req->has_host) &&
           body_format(req->content_type, &format) == ING_OK &&
           ing_body_encoding_parse(req->content_encoding, &enc, &err) == ING_OK;
}

static bool method_is_get(const struct ing_http_request *req)
{
    return req->method == ING_HTTP_GET || req->method == ING_HTTP_HEAD;
}

void ing_route_request(struct ing_conn *c, char *body, size_t body_len)
{
    const struct ing_http_request *req = &c->req;

    if (req->version_minor >= 1 && !req->has_host) {
        /* RFC 9112 §3.2; the framing is sound, so keep the connection. */
        answer_simple_error(c, ING_ERR_BAD_REQUEST, "missing Host header");
    } else if (ing_view_eq(req->path, "/ingest")) {
        if (req->method == ING_HTTP_POST) {
            route_ingest(c, body, body_len);
        } else {
            ing_conn_answer(c, 405, "Allow: POST\r\n",
                            LIT("{\"status\":\"rejected\",\"error\":"
                                "\"method not allowed\"}"));
        }
    } else if (ing_view_eq(req->path, "/healthz") && method_is_get(req)) {
        ing_conn_answer(c, 200, NULL, LIT("{\"status\":\"ok\"}"));
    } else if (ing_view_eq(req->path, "/readyz") && method_is_get(req)) {
        if (c->worker->draining) {
            ing_conn_answer(c, 503, "Retry-After: 1\r\n",
                            LIT("{\"status\":\"draining\"}"));
        } else {
            ing_conn_answer(c, 200, NULL, LIT("{\"status\":\"ready\"}"));
        }
    } else if (ing_view_eq(req->path, "/healthz") ||
               ing_view_eq(req->path, "/readyz")) {
        ing_conn_answer(c, 405, "Allow: GET, HEAD\r\n",
                        LIT("{\"status\":\"rejected\",\"error\":"
                            "\"method not allowed\"}"));
    } else {
        ing_conn_answer(c, 404, NULL,
                        LIT("{\"status\":\"rejected\",\"error\":"
                            "\"not found\"}"));
    }
}
