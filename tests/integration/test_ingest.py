"""POST /ingest with one event: the answers of DESIGN.md and what is stored."""
import json
import time

import pytest

from httpclient import build_request, post_event

EVENT = (b'{"event_id":"e-1","timestamp":"2026-12-03T15:04:05.123Z",'
         b'"service":"payments","message":"card declined",'
         b'"metadata":{"region":"eu-west-1","host":"pg-7"}}')


def event(i, **fields):
    doc = {"event_id": f"e-{i}", "timestamp": "2026-12-03T15:04:05Z",
           "service": "svc", "message": f"message {i}"}
    doc.update(fields)
    return json.dumps(doc, separators=(",", ":")).encode()


def test_valid_event_is_queued_and_stored(server):
    with server.client() as c:
        r = c.request("POST", "/ingest", EVENT,
                      {"Content-Type": "application/json"})
    assert r.status == 202
    assert r.json() == {"status": "queued"}
    assert r.header("content-type") == "application/json"
    assert r.header("date").endswith(" GMT")
    assert server.read_events() == [EVENT]


def test_reference_payloads_are_stored_byte_for_byte(server, shared_dir):
    payloads = [(shared_dir / "bench" / name).read_bytes().strip()
                for name in ("event.json", "event-escaped.json")]
    with server.client() as c:
        for p in payloads:
            assert c.request("POST", "/ingest", p).status == 202
    assert sorted(server.read_events()) == sorted(payloads)


@pytest.mark.parametrize("body,field,reason", [
    (b'{"timestamp":"2026-12-03T15:04:05Z","service":"s","message":"m"}',
     "event_id", None),
    (b'{"event_id":"","timestamp":"2026-12-03T15:04:05Z","service":"s",'
     b'"message":"m"}', "event_id", None),
    (b'{"event_id":"a","timestamp":"2026-02-30T15:04:05Z","service":"s",'
     b'"message":"m"}', "timestamp", None),
    (b'{"event_id":"a","timestamp":"2026-12-03T15:04:05Z","service":"s",'
     b'"message":7}', "message", None),
    (b'{"event_id":"a","timestamp":"2026-12-03T15:04:05Z","service":"s",'
     b'"message":"m","metadata":{"k":1}}', "metadata", None),
    (b'{"event_id":"a","event_id":"b","timestamp":"2026-12-03T15:04:05Z",'
     b'"service":"s","message":"m"}', None, "duplicate"),
    (b'{"event_id":"a","timestamp":"2026-12-03T15:04:05Z","service":"s",'
     b'"message":"\xff"}', None, "utf-8"),
    (b'{"event_id":"a","timestamp":"2026-12-03T15:04:05Z","service":"s",'
     b'"message":"\\ud800"}', None, "surrogate"),
    (b'{"event_id":"a",', None, None),
    (b'', None, None),
])
def test_invalid_event_is_rejected_with_reason(server, body, field, reason):
    with server.client() as c:
        r = c.request("POST", "/ingest", body,
                      {"Content-Type": "application/json"})
        assert r.status == 400, r
        doc = r.json()
        assert doc["status"] == "rejected"
        assert doc["error"]
        assert "offset" in doc and 0 <= doc["offset"] <= len(body)
        if field:
            assert doc["field"] == field
        if reason:
            assert reason in doc["error"].lower()
        # the framing was sound, so the connection stays usable
        assert c.request("GET", "/healthz").status == 200
    assert server.read_events() == []


def test_unknown_fields_are_kept(server):
    body = (b'{"event_id":"x","timestamp":"2026-12-03T15:04:05+01:00",'
            b'"service":"s","message":"","extra":{"deep":[1,2,{"a":null}]}}')
    with server.client() as c:
        assert c.request("POST", "/ingest", body).status == 202
    assert server.read_events() == [body]


def test_pretty_printed_event_reads_back_as_one_line(server):
    body = b'{\n  "event_id": "x",\n  "timestamp": "2026-12-03T15:04:05Z",' \
           b'\r\n  "service": "s",\n  "message": "m"\n}'
    with server.client() as c:
        assert c.request("POST", "/ingest", body).status == 202
    [line] = server.read_events()
    assert json.loads(line) == json.loads(body)
    assert line == body.replace(b"\r", b" ").replace(b"\n", b" ")


def test_healthz_and_readyz(server):
    with server.client() as c:
        r = c.request("GET", "/healthz")
        assert (r.status, r.json()) == (200, {"status": "ok"})
        r = c.request("HEAD", "/healthz")
        assert r.status == 200 and r.body == b""
        assert c.request("GET", "/readyz").status == 200


def test_unknown_path_is_404(server):
    with server.client() as c:
        r = c.request("POST", "/nope", EVENT)
        assert r.status == 404
        assert r.json()["status"] == "rejected"
        assert c.request("GET", "/healthz").status == 200


@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/ingest", "POST"), ("PUT", "/ingest", "POST"),
    ("POST", "/healthz", "GET, HEAD"), ("DELETE", "/readyz", "GET, HEAD"),
])
def test_wrong_method_is_405_with_allow(server, method, path, allow):
    with server.client() as c:
        r = c.request(method, path, b"")
        assert r.status == 405
        assert r.header("allow") == allow
        assert r.json()["error"] == "method not allowed"


def test_post_without_length_is_411(server):
    with server.client() as c:
        c.send(b"POST /ingest HTTP/1.1\r\nHost: t\r\n\r\n")
        r = c.read_response()
        assert r.status == 411
        assert c.request("GET", "/healthz").status == 200


def test_body_over_limit_is_413_before_reading_it(start_server):
    server = start_server(["--max-body-bytes", "1K"])
    with server.client() as c:
        # only the head is sent: the answer must not wait for the body
        c.send(b"POST /ingest HTTP/1.1\r\nHost: t\r\n"
               b"Content-Length: 5000\r\n\r\n")
        r = c.read_response()
        assert r.status == 413
        assert r.header("connection") == "close"
        assert c.is_closed()


def test_chunked_body_over_limit_is_413(start_server):
    server = start_server(["--max-body-bytes", "1K"])
    with server.client() as c:
        c.send(b"POST /ingest HTTP/1.1\r\nHost: t\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n800\r\n")
        assert c.read_response().status == 413
    assert server.read_events() == []


def test_headers_over_limit_are_431(server):
    with server.client() as c:
        c.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " +
               b"a" * 9000 + b"\r\n\r\n")
        assert c.read_response().status == 431


def test_slow_request_gets_408(start_server):
    server = start_server(["--read-timeout", "500ms"])
    with server.client() as c:
        c.send(b"POST /ingest HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n")
        started = time.monotonic()
        r = c.read_response()
        assert r.status == 408
        assert 0.4 <= time.monotonic() - started < 3
        assert c.is_closed()


def test_idle_keepalive_connection_is_closed(start_server):
    server = start_server(["--idle-timeout", "300ms"])
    with server.client() as c:
        assert c.request("GET", "/healthz").status == 200
        assert c.is_closed(wait=3)


def test_chunked_event_with_extensions_and_trailer(server):
    body = EVENT
    raw = (b"POST /ingest HTTP/1.1\r\nHost: t\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n" +
           b"%x;ext=1\r\n" % 10 + body[:10] + b"\r\n" +
           b"%X\r\n" % (len(body) - 10) + body[10:] + b"\r\n" +
           b"0\r\nX-Trailer: yes\r\n\r\n")
    with server.client() as c:
        c.send(raw)
        assert c.read_response().status == 202
    assert server.read_events() == [body]


def test_expect_100_continue(server):
    with server.client() as c:
        c.send(b"POST /ingest HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
               b"Content-Length: %d\r\n\r\n" % len(EVENT))
        assert c.read_response().status == 100
        c.send(EVENT)
        assert c.read_response().status == 202


def test_http10_request_closes_unless_keepalive(server):
    with server.client() as c:
        c.send(b"POST /ingest HTTP/1.0\r\nContent-Length: %d\r\n\r\n"
               % len(EVENT) + EVENT)
        r = c.read_response()
        assert r.status == 202
        assert c.is_closed()
    with server.client() as c:
        c.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        assert r.header("connection") == "keep-alive"
        assert c.request("GET", "/healthz").status == 200


def test_connection_close_is_honoured(server):
    with server.client() as c:
        c.send(build_request("GET", "/healthz", headers={"Connection": "close"}))
        r = c.read_response()
        assert r.status == 200
        assert r.header("connection") == "close"
        assert c.is_closed()


def test_missing_host_is_400_and_keeps_framing(server):
    with server.client() as c:
        c.send(b"GET /healthz HTTP/1.1\r\n\r\n")
        r = c.read_response()
        assert r.status == 400 and "Host" in r.json()["error"]
        assert c.request("GET", "/healthz").status == 200


def test_100_pipelined_requests_answered_in_order(server):
    events = [event(i) for i in range(100)]
    wire = b"".join(post_event(e) if i % 10 else
                    build_request("GET", f"/nope{i}")
                    for i, e in enumerate(events))
    with server.client() as c:
        c.send(wire)
        answers = [c.read_response() for _ in range(100)]
    assert [a.status for a in answers] == \
        [404 if i % 10 == 0 else 202 for i in range(100)]
    stored = set(server.read_events())
    assert stored == {e for i, e in enumerate(events) if i % 10}


def test_body_sent_one_byte_per_write(server):
    wire = post_event(EVENT)
    with server.client() as c:
        for i in range(len(wire)):
            c.send(wire[i:i + 1])
            time.sleep(0.001)
        assert c.read_response().status == 202
    assert server.read_events() == [EVENT]


def test_large_event_uses_large_buffer(server):
    big = event(1, message="x" * 600_000)
    with server.client() as c:
        assert c.request("POST", "/ingest", big).status == 202
        assert c.request("POST", "/ingest", EVENT).status == 202
    assert sorted(server.read_events()) == sorted([big, EVENT])


def test_many_keepalive_requests_on_many_connections(server):
    clients = [server.client() for _ in range(20)]
    try:
        for round_ in range(20):
            for i, c in enumerate(clients):
                c.send(post_event(event(round_ * 100 + i)))
            for c in clients:
                assert c.read_response().status == 202
    finally:
        for c in clients:
            c.close()
    assert len(server.read_events()) == 400


def test_413_survives_a_client_that_keeps_sending(start_server):
    """The server half-closes and drains after a 413 instead of closing at
    once: a close with unread input would reset the connection and the
    client, still sending its body, would never see the answer."""
    server = start_server(["--max-body-bytes", "1K"])
    chunk = b"x" * 65536
    with server.client() as c:
        c.send(b"POST /ingest HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n"
               % (40 * len(chunk)))
        for _ in range(40):  # slower than the server's 100 ms timer tick
            c.send(chunk)
            time.sleep(0.02)
        r = c.read_response()
        assert r.status == 413
        assert c.is_closed()


def test_chunked_framing_does_not_count_against_the_body_limit(start_server):
    """One-byte chunks: six bytes on the wire per byte of body.  The body
    fits the limit, so it is accepted although its framing does not."""
    server = start_server(["--max-body-bytes", "100K"])
    body = event(1, message="m" * 60_000)
    raw = b"".join(b"1\r\n" + body[i:i + 1] + b"\r\n" for i in range(len(body)))
    with server.client() as c:
        c.send(b"POST /ingest HTTP/1.1\r\nHost: t\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + raw + b"0\r\n\r\n")
        assert c.read_response().status == 202
    assert server.read_events() == [body]


@pytest.mark.parametrize("head,status", [
    (b"POST /nope HTTP/1.1\r\nHost: t\r\n", 404),
    (b"PUT /ingest HTTP/1.1\r\nHost: t\r\n", 405),
    (b"POST /ingest HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n", 415),
    (b"POST /ingest HTTP/1.1\r\nHost: t\r\nContent-Encoding: br\r\n", 415),
])
def test_expect_continue_refused_before_the_body(server, head, status):
    with server.client() as c:
        c.send(head + b"Expect: 100-continue\r\nContent-Length: 10\r\n\r\n")
        r = c.read_response()
        assert r.status == status
        assert r.header("connection") == "close"
        if status == 405:
            assert r.header("allow") == "POST"
