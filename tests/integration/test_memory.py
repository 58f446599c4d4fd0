"""Steady state makes no heap allocation per request.

The LD_PRELOAD counter (tests/support/alloc_count.c) keeps malloc, calloc,
realloc and aligned-allocation counts in a file we read while the server
runs.  After a warm-up, 10,000 keep-alive requests must not add to them.
"""
import struct

import pytest

from conftest import REPO
from httpclient import post_event
from test_ingest import event

PRELOAD = REPO / "build" / "alloc_count.so"


def allocations(path):
    malloc, calloc, realloc, aligned, _free = struct.unpack(
        "<5Q", path.read_bytes()[:40])
    return malloc + calloc + realloc + aligned


def send_many(server, payloads, connections=4):
    clients = [server.client() for _ in range(connections)]
    try:
        for i in range(0, len(payloads), connections):
            batch = payloads[i:i + connections]
            for c, p in zip(clients, batch):
                c.send(p)
            for c, _ in zip(clients, batch):
                assert c.read_response().status in (202, 400, 404)
    finally:
        for c in clients:
            c.close()


@pytest.mark.parametrize("kind", ["valid", "mixed"])
def test_no_allocation_per_request(start_server, tmp_path, kind):
    if not PRELOAD.exists():
        pytest.fail("build/alloc_count.so missing: run `make test`")
    counts = tmp_path / "allocs"
    server = start_server(env={"LD_PRELOAD": str(PRELOAD),
                               "ALLOC_COUNT_FILE": str(counts)})

    def payloads(n, base):
        out = []
        for i in range(n):
            if kind == "mixed" and i % 3 == 1:
                out.append(post_event(b'{"event_id":1}'))
            elif kind == "mixed" and i % 3 == 2:
                out.append(post_event(event(i), path="/missing"))
            else:
                out.append(post_event(event(base + i)))
        return out

    send_many(server, payloads(2000, 0))
    before = allocations(counts)
    send_many(server, payloads(10000, 100000))
    after = allocations(counts)
    assert after - before < 10, f"{after - before} allocations in 10,000 requests"
    assert server.stop() == 0
