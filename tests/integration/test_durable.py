"""--ack durable: answers wait for the fsync that covers their records."""
import subprocess
import time

import pytest

from conftest import BINARY, REPO
from httpclient import post_event
from test_ingest import event

SLOW_FSYNC = REPO / "build" / "slow_fsync.so"


def test_durable_mode_answers_and_stores(start_server):
    server = start_server(["--ack", "durable"])
    clients = [server.client() for _ in range(4)]
    sent = []
    try:
        for round_ in range(25):
            for k, c in enumerate(clients):
                batch = [event(round_ * 100 + k * 10 + j) for j in range(2)]
                c.send(b"".join(post_event(e) for e in batch))
                sent += batch
            for c in clients:
                assert [c.read_response().status for _ in range(2)] == \
                    [202, 202]
        with server.client() as c:
            body = b"\n".join(event(10000 + i) for i in range(100))
            r = c.request("POST", "/ingest", body,
                          {"Content-Type": "application/x-ndjson"})
            assert r.json() == {"status": "queued", "accepted": 100}
    finally:
        for c in clients:
            c.close()
    assert server.stop() == 0
    stored = server.read_events()
    assert len(stored) == 300
    assert set(sent) <= set(stored)


def test_durable_and_memory_modes_log_their_mode(start_server, tmp_path):
    server = start_server(["--ack", "durable"], data_dir=tmp_path / "d")
    assert server.stop() == 0
    assert "ack=durable" in server.log_text()
    out = subprocess.run([str(BINARY), "check", "--data-dir",
                          str(tmp_path / "d")], capture_output=True)
    assert out.returncode == 0


def timed_post(server):
    with server.client() as c:
        started = time.monotonic()
        r = c.request("POST", "/ingest", event(1))
        assert r.status == 202
        return time.monotonic() - started


def test_durable_answer_waits_for_the_fsync(start_server):
    """With every fsync slowed by 600 ms, a durable 202 takes that long and
    a memory-mode 202 does not (its fsyncs run beside, on a timer)."""
    if not SLOW_FSYNC.exists():
        pytest.fail("build/slow_fsync.so missing: run `make test`")
    env = {"LD_PRELOAD": str(SLOW_FSYNC), "SLOW_FSYNC_MS": "600"}

    durable = start_server(["--ack", "durable"], env=env)
    assert timed_post(durable) >= 0.55
    assert durable.stop() == 0

    memory = start_server(["--ack", "memory", "--fsync-interval", "10ms"],
                          env=env, data_dir=durable.data_dir.parent / "mem")
    timed_post(memory)  # starts the periodic fsyncs
    assert max(timed_post(memory) for _ in range(5)) < 0.3
    assert memory.stop() == 0
