"""Batches (JSON arrays, NDJSON) and compressed bodies (gzip, deflate,
zstd): accepted whole or rejected whole, with the index and offset of the
first bad event."""
import gzip
import json
import zlib

import pytest
import zstandard

from test_ingest import event

NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture(scope="module")
def reference(shared_dir):
    lines = (shared_dir / "bench" / "events-1000.ndjson").read_bytes()
    array = (shared_dir / "bench" / "events-1000.json").read_bytes()
    return lines, array, [l for l in lines.split(b"\n") if l]


def post(server, body, headers=None):
    with server.client() as c:
        return c.request("POST", "/ingest", body, headers)


def test_ndjson_batch_is_stored_event_by_event(server, reference):
    lines, _, events = reference
    r = post(server, lines, NDJSON)
    assert r.status == 202
    assert r.json() == {"status": "queued", "accepted": 1000}
    assert sorted(server.read_events()) == sorted(events)


def test_json_array_batch(server, reference):
    _, array, events = reference
    r = post(server, array, {"Content-Type": "application/json"})
    assert r.json() == {"status": "queued", "accepted": 1000}
    assert sorted(server.read_events()) == sorted(events)


def test_ndjson_blank_lines_crlf_and_no_final_newline(server):
    body = b"\n" + event(1) + b"\r\n\n  \n" + event(2)
    r = post(server, body, NDJSON)
    assert r.json()["accepted"] == 2
    assert sorted(server.read_events()) == [event(1), event(2)]


def test_empty_array_accepts_nothing(server):
    r = post(server, b"[]")
    assert (r.status, r.json()["accepted"]) == (202, 0)
    assert server.read_events() == []


@pytest.mark.parametrize("encoding,compress", [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("zstd", lambda b: zstandard.ZstdCompressor(write_checksum=True)
     .compress(b)),
])
def test_compressed_batches(server, reference, encoding, compress):
    lines, _, events = reference
    r = post(server, compress(lines),
             dict(NDJSON, **{"Content-Encoding": encoding}))
    assert r.json() == {"status": "queued", "accepted": 1000}
    assert sorted(server.read_events()) == sorted(events)


def test_compressed_single_events_in_one_pipeline(server):
    """Each decoded body reuses one buffer: every event must still be
    stored as its own bytes."""
    events = [event(i) for i in range(50)]
    with server.client() as c:
        wire = b""
        for e in events:
            z = gzip.compress(e)
            wire += (b"POST /ingest HTTP/1.1\r\nHost: t\r\n"
                     b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                     % len(z)) + z
        c.send(wire)
        assert [c.read_response().status for _ in events] == [202] * 50
    assert sorted(server.read_events()) == sorted(events)


def rejected(server, body, headers=None, status=400):
    r = post(server, body, headers)
    assert r.status == status, r
    assert server.read_events() == []
    return r.json()


def test_truncated_gzip_is_400(server, reference):
    z = gzip.compress(reference[0])
    doc = rejected(server, z[:len(z) // 2], dict(NDJSON, **{
        "Content-Encoding": "gzip"}))
    assert doc["status"] == "rejected"


def test_zstd_with_wrong_checksum_is_400(server, reference):
    z = bytearray(zstandard.ZstdCompressor(write_checksum=True)
                  .compress(reference[0]))
    z[-1] ^= 0xFF
    rejected(server, bytes(z), dict(NDJSON, **{"Content-Encoding": "zstd"}))


def test_gzip_bomb_is_413_at_the_decoded_limit(start_server):
    server = start_server(["--max-body-bytes", "2M"])
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    bomb = b"".join(comp.compress(zeros) for _ in range(1024)) + comp.flush()
    assert len(bomb) < (2 << 20)
    doc = rejected(server, bomb, {"Content-Encoding": "gzip"}, status=413)
    assert "decoded" in doc["error"]


def test_unknown_encoding_and_type_are_415(server):
    rejected(server, event(1), {"Content-Encoding": "br"}, status=415)
    rejected(server, event(1), {"Content-Type": "text/plain"}, status=415)


def test_array_with_trailing_comma_is_400(server):
    doc = rejected(server, b"[" + event(1) + b"," + event(2) + b",]")
    assert doc["offset"] > len(event(1)) + len(event(2))


def test_ndjson_line_that_is_not_an_object(server):
    body = event(0) + b"\n" + event(1) + b"\n[1,2]\n" + event(3)
    doc = rejected(server, body, NDJSON)
    assert doc["index"] == 2
    assert doc["offset"] == len(event(0)) + len(event(1)) + 2


def test_batch_whose_10000th_event_is_bad_stores_nothing(server):
    events = [event(i) for i in range(10000)]
    events[9999] = event(9999, timestamp="2026-13-01T00:00:00Z")
    body = b"\n".join(events)
    doc = rejected(server, body, NDJSON)
    assert doc["index"] == 9999
    assert doc["field"] == "timestamp"
    assert doc["offset"] == body.index(events[9999]) + \
        events[9999].index(b"2026-13")


def test_more_events_than_the_limit_is_413(start_server):
    server = start_server(["--max-batch-events", "100"])
    body = b"\n".join(event(i) for i in range(101))
    doc = rejected(server, body, NDJSON, status=413)
    assert doc["index"] == 100


def test_a_bad_batch_leaves_the_connection_usable(server):
    with server.client() as c:
        r = c.request("POST", "/ingest", b"[" + event(1) + b",{}]")
        assert r.status == 400 and r.json()["index"] == 1
        r = c.request("POST", "/ingest", b"[" + event(2) + b"]")
        assert r.json()["accepted"] == 1
    assert server.read_events() == [event(2)]


def test_concurrent_large_batches_keep_their_headers(server, reference):
    """Regression: a body that moves into a large buffer must not keep
    views of its head in the small buffer it left (another connection
    reuses that buffer at once)."""
    lines, _, events = reference
    clients = [server.client() for _ in range(6)]
    try:
        for _ in range(5):
            for c in clients:
                c.send(b"POST /ingest HTTP/1.1\r\nHost: t\r\n"
                       b"Content-Type: application/x-ndjson\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(lines) + lines)
            for c in clients:
                r = c.read_response()
                assert (r.status, r.json()["accepted"]) == (202, 1000), r
    finally:
        for c in clients:
            c.close()
    assert len(server.read_events()) == 30 * 1000
