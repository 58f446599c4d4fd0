"""--ack durable: answers wait for the fsync that covers their records."""
import subprocess

from conftest import BINARY
from httpclient import post_event
from test_ingest import event


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
