"""SIGKILL while clients post as fast as they can.

After a restart on the same data directory every event that got a 202 is
in `ingestd read` exactly once, no event appears twice or out of nowhere,
a torn tail left by the kill is cut and the cut is logged with its size,
and `ingestd check` is clean.  Rounds run in both acknowledgement modes.

The moment of the kill and the shape of the traffic come from one seed,
printed by every round; rerun a failure with INGESTD_CRASH_SEED=<seed>.
"""
import collections
import gzip
import json
import os
import random
import signal
import subprocess
import threading
import time

import pytest

from conftest import (BINARY, SegmentLayout, segment_paths, spool_check,
                      wait_for_log)
from httpclient import build_request, post_event

ROUNDS_PER_MODE = 15
CLIENTS = 4
THREADS = 2
SEED = int(os.environ.get("INGESTD_CRASH_SEED", random.randrange(1 << 32)))
NDJSON = {"Content-Type": "application/x-ndjson"}


def make_event(event_id, rng):
    doc = {"event_id": event_id, "timestamp": "2026-12-03T15:04:05.123Z",
           "service": "crash-test",
           "message": "m" * rng.randint(1, 400),
           "metadata": {"client": event_id.split("-")[1]}}
    return json.dumps(doc, separators=(",", ":")).encode()


class Ledger:
    """What one client sent and which of it got a 202."""

    def __init__(self):
        self.sent = []
        self.acked = []
        self.other = []


def request_for(events, rng):
    """One event as application/json, or an NDJSON batch, now and then
    gzip'd (decoded bodies take another path to the spool)."""
    if len(events) == 1:
        return post_event(events[0])
    body = b"\n".join(events) + b"\n"
    if rng.random() < 0.2:
        return build_request("POST", "/ingest", gzip.compress(body, 1),
                             dict(NDJSON, **{"Content-Encoding": "gzip"}))
    return build_request("POST", "/ingest", body, NDJSON)


def client(server, tag, seed, ledger):
    """Posts single events and NDJSON batches of ~50, one to four requests
    pipelined, on one keep-alive connection until the server dies."""
    rng = random.Random(seed)
    n_sent = 0
    try:
        with server.client(timeout=10) as c:
            while True:
                pending = []
                for _ in range(rng.choice([1, 1, 1, 2, 4])):
                    n = 1 if rng.random() < 0.5 else rng.randint(45, 55)
                    ids = [f"{tag}-{n_sent + j}" for j in range(n)]
                    n_sent += n
                    ledger.sent.extend(ids)
                    pending.append(ids)
                c.send(b"".join(request_for([make_event(i, rng) for i in ids],
                                            rng) for ids in pending))
                for ids in pending:
                    r = c.read_response()
                    if r.status == 202:
                        ledger.acked.extend(ids)
                    else:
                        ledger.other.append(r)
    except (ConnectionError, OSError):
        return


def torn_tails(data_dir):
    """{partition dir name: last segment layout} for every torn segment."""
    torn = {}
    for part in sorted(data_dir.glob("partition-*")):
        segs = segment_paths(part)
        if segs:
            layout = SegmentLayout(segs[-1])
            if layout.torn_bytes:
                torn[part.name] = layout
    return torn


def run_until_killed(server, rng, round_tag):
    ledgers = [Ledger() for _ in range(CLIENTS)]
    threads = [threading.Thread(target=client, daemon=True,
                                args=(server, f"{round_tag}c{k}",
                                      rng.randrange(1 << 32), ledgers[k]))
               for k in range(CLIENTS)]
    for t in threads:
        t.start()

    deadline = time.monotonic() + 5
    while not any(lg.acked for lg in ledgers):
        assert time.monotonic() < deadline, "no 202 within 5 s"
        time.sleep(0.001)
    time.sleep(rng.uniform(0.0, 0.5))
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    for t in threads:
        t.join(10)
        assert not t.is_alive(), "a client hung after the kill"
    return ledgers


def assert_cut_logged(log, torn):
    for part, layout in torn.items():
        needle = f"{part}/{layout.path.name} offset={layout.whole_end} " \
                 f"removed_bytes={layout.torn_bytes}"
        assert any("cut torn tail" in line and needle in line
                   for line in log.splitlines()), \
            f"restart did not log the cut {needle!r}:\n{log}"
    for line in log.splitlines():
        if "cut torn tail" in line:
            assert any(f"{part}/" in line for part in torn), \
                f"restart cut a tail nobody tore: {line}"


def stored_ids(server):
    return [json.loads(line)["event_id"] for line in server.read_events()]


@pytest.mark.parametrize("ack", ["memory", "durable"])
@pytest.mark.parametrize("round_no", range(ROUNDS_PER_MODE))
def test_sigkill_keeps_every_acknowledged_event_once(start_server, tmp_path,
                                                     ack, round_no):
    seed = f"{SEED}-{ack}-{round_no}"
    print(f"crash round seed={seed} (INGESTD_CRASH_SEED={SEED})")
    rng = random.Random(seed)
    data = tmp_path / "spool"
    args = ["--ack", ack, "--segment-bytes", rng.choice(["64K", "1M", "128M"])]

    try:
        first = start_server(args=args, threads=THREADS, data_dir=data)
    except RuntimeError as e:
        pytest.fail(f"server refused --ack {ack}: {e}")
    wait_for_log(first, "server: listening")
    ledgers = run_until_killed(first, rng, f"r{round_no}")
    sent = {i for lg in ledgers for i in lg.sent}
    acked = [i for lg in ledgers for i in lg.acked]
    other = [r for lg in ledgers for r in lg.other]
    assert not other, f"seed={seed}: answers other than 202: {other[:5]}"
    torn = torn_tails(data)
    print(f"acked={len(acked)} sent={len(sent)} torn="
          f"{ {p: t.torn_bytes for p, t in torn.items()} }")

    second = start_server(args=args, threads=THREADS, data_dir=data)
    assert_cut_logged(wait_for_log(second, "server: listening"), torn)
    with second.client() as c:
        after = make_event(f"r{round_no}after-0", rng)
        assert c.request("POST", "/ingest", after).status == 202
    assert second.stop() == 0

    ids = stored_ids(second)
    dups = [i for i, n in collections.Counter(ids).items() if n > 1]
    assert not dups, f"seed={seed}: stored twice: {dups[:10]}"
    missing = set(acked) - set(ids)
    assert not missing, \
        f"seed={seed}: {len(missing)} acknowledged events lost: " \
        f"{sorted(missing)[:10]}"
    phantom = set(ids) - sent - {f"r{round_no}after-0"}
    assert not phantom, f"seed={seed}: events nobody sent: {phantom}"
    rc, report = spool_check(data)
    assert rc == 0, f"seed={seed}: check after restart:\n{report}"


def test_durable_ack_is_offered():
    r = subprocess.run([str(BINARY), "serve", "--help"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0
    ack = [line for line in r.stdout.splitlines() if "--ack" in line]
    assert ack and "durable" in ack[0], \
        f"`serve --help` does not offer --ack durable:\n{r.stdout}"
