"""A spool that cannot grow: a full file system, --spool-max-bytes, and
retention by --retention-bytes.

When a segment cannot be written the request gets 503 with Retry-After and
the JSON error, nothing of it is stored, the log has one line for the
incident rather than one per request, and ingestion resumes by itself once
space returns.  The full file system is a small tmpfs the test mounts as
root (CI runs as root) and always unmounts.
"""
import errno
import json
import os
import re
import subprocess
import threading
import time

import pytest

from conftest import SegmentLayout, segment_paths, spool_check, wait_for_log

NDJSON = {"Content-Type": "application/x-ndjson"}
BATCH = 50
PROBLEM_LINE = re.compile(r"^\S+ (warn|error) ")


def make_batch(tag, first):
    """NDJSON body of BATCH events (about 11 KB) and their ids."""
    ids = [f"{tag}-{first + j}" for j in range(BATCH)]
    lines = [json.dumps({"event_id": i, "timestamp": "2026-12-03T15:04:05Z",
                         "service": "disk-full", "message": "f" * 160},
                        separators=(",", ":")).encode() for i in ids]
    return b"\n".join(lines) + b"\n", ids


class Poster:
    """Posts batches on a keep-alive connection, reconnecting after the
    server closes it (it does after a 503 for a failed store)."""

    def __init__(self, server):
        self.server = server
        self.conn = None

    def post(self, body):
        if self.conn is None:
            self.conn = self.server.client()
        r = self.conn.request("POST", "/ingest", body, NDJSON)
        if r.status != 202 or r.header("connection") == "close":
            self.conn.close()
            self.conn = None
        return r

    def close(self):
        if self.conn is not None:
            self.conn.close()


def assert_503_for_spool(r):
    assert r.status == 503, r
    assert (r.header("retry-after") or "").isdigit(), r.headers
    assert r.header("content-type") == "application/json"
    doc = r.json()
    assert doc["status"] == "unavailable" and doc["error"], doc


def problem_lines(server):
    return [line for line in server.log_text().splitlines()
            if PROBLEM_LINE.match(line)]


def stored_ids(server):
    return [json.loads(line)["event_id"] for line in server.read_events()]


def assert_no_partial_record(data_dir):
    """`check` forgives a torn tail in a partition a server holds (it may
    be an append in progress), so look at the framing directly too."""
    rc, report = spool_check(data_dir)
    assert rc == 0, report
    for part in data_dir.glob("partition-*"):
        for seg in segment_paths(part):
            torn = SegmentLayout(seg).torn_bytes
            assert torn == 0, f"{seg}: {torn} bytes of a partial record"


def spool_bytes(data_dir):
    """Bytes in segment files; retention may delete one as we look."""
    total = 0
    for part in data_dir.glob("partition-*"):
        for seg in segment_paths(part):
            try:
                total += seg.stat().st_size
            except FileNotFoundError:
                pass
    return total


@pytest.fixture
def small_fs(tmp_path):
    """A 3 MiB tmpfs, unmounted at the end even when the test fails."""
    if os.geteuid() != 0:
        pytest.fail("the disk-full test mounts a tmpfs and must run as root "
                    "(CI does); run it with sudo")
    mnt = tmp_path / "small-fs"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs",
                    str(mnt)], check=True, timeout=10)
    yield mnt
    # The server should be gone; if it is not, detach now and let the
    # kernel free the tmpfs when its last file closes.
    if subprocess.run(["umount", str(mnt)], timeout=10).returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)], timeout=10)


@pytest.mark.parametrize("segment", ["256K", "4K"])
def test_full_disk_answers_503_and_recovers_without_restart(small_fs,
                                                            start_server,
                                                            segment):
    """With 4K segments every batch first rolls to a new segment."""
    filler = small_fs / "filler.bin"
    filler.write_bytes(os.urandom(1024 * 1024))
    server = start_server(args=["--segment-bytes", segment], threads=1,
                          data_dir=small_fs)
    wait_for_log(server, "server: listening")
    poster = Poster(server)
    acked, rejected_body, rejected_ids = [], None, []

    for n in range(400):
        body, ids = make_batch("fill", n * BATCH)
        r = poster.post(body)
        if r.status != 202:
            assert_503_for_spool(r)
            rejected_body, rejected_ids = body, ids
            break
        acked += ids
    assert rejected_body is not None, "the 3 MiB file system never filled"
    assert acked, "not even the first batch fit"

    for _ in range(10):
        assert_503_for_spool(poster.post(rejected_body))
    incident = problem_lines(server)
    assert len(incident) == 1, \
        "want one log line for the incident, got:\n" + "\n".join(incident)
    assert_no_partial_record(small_fs)
    assert sorted(stored_ids(server)) == sorted(acked)

    filler.unlink()
    r = poster.post(rejected_body)
    assert r.status == 202, f"still refused after space returned: {r}"
    acked += rejected_ids
    for n in range(5):
        body, ids = make_batch("after", n * BATCH)
        assert poster.post(body).status == 202
        acked += ids
    poster.close()
    assert server.stop() == 0
    assert len(problem_lines(server)) == 1, server.log_text()

    ids = stored_ids(server)
    assert len(ids) == len(set(ids)), "an event is stored twice"
    assert sorted(ids) == sorted(acked)
    rc, report = spool_check(small_fs)
    assert rc == 0, report


def fill_up(path):
    """Writes `path` until the file system has not one free page left."""
    with open(path, "wb", buffering=0) as f:
        for size in (64 * 1024, 4096):
            block = os.urandom(size)
            try:
                while True:
                    f.write(block)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise


def test_full_disk_at_a_segment_roll(small_fs, start_server):
    """No page left when the segment must roll: the new segment cannot be
    created; nothing is half-created, and the roll succeeds later."""
    server = start_server(args=["--segment-bytes", "4K"], threads=1,
                          data_dir=small_fs)
    wait_for_log(server, "server: listening")
    poster = Poster(server)
    acked = []
    for n in range(5):
        body, ids = make_batch("before", n * BATCH)
        assert poster.post(body).status == 202
        acked += ids
    segments = segment_paths(small_fs / "partition-0")

    filler = small_fs / "filler.bin"
    fill_up(filler)
    body, ids = make_batch("refused", 0)
    for _ in range(5):
        assert_503_for_spool(poster.post(body))
    assert segment_paths(small_fs / "partition-0") == segments
    assert len(problem_lines(server)) == 1, server.log_text()
    assert_no_partial_record(small_fs)

    filler.unlink()
    assert poster.post(body).status == 202
    acked += ids
    poster.close()
    assert server.stop() == 0
    assert sorted(stored_ids(server)) == sorted(acked)
    rc, report = spool_check(small_fs)
    assert rc == 0, report


def test_full_disk_with_concurrent_clients(small_fs, start_server):
    """Requests of several connections share one append (group commit):
    when it fails none of them is stored, and every 202 is."""
    filler = small_fs / "filler.bin"
    filler.write_bytes(os.urandom(1024 * 1024))
    server = start_server(args=["--segment-bytes", "64K"], threads=2,
                          data_dir=small_fs)
    wait_for_log(server, "server: listening")
    acked, refused, errors = [], [], []

    def client(k):
        poster = Poster(server)
        n_refused = 0
        try:
            for n in range(300):
                body, ids = make_batch(f"c{k}", n * BATCH)
                r = poster.post(body)
                if r.status == 202:
                    acked.extend(ids)
                    continue
                assert_503_for_spool(r)
                refused.extend(ids)
                n_refused += 1
                if n_refused == 3:
                    break
        except Exception as e:
            errors.append(e)
        finally:
            poster.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert refused, "the file system never filled"
    assert_no_partial_record(small_fs)
    assert sorted(stored_ids(server)) == sorted(acked)

    filler.unlink()
    body, ids = make_batch("after", 0)
    poster = Poster(server)
    assert poster.post(body).status == 202
    poster.close()
    assert server.stop() == 0
    assert sorted(stored_ids(server)) == sorted(acked + ids)
    rc, report = spool_check(small_fs)
    assert rc == 0, report


def sized_event(event_id, size):
    """A single event of exactly `size` bytes."""
    doc = {"event_id": event_id, "timestamp": "2026-12-03T15:04:05Z",
           "service": "disk-full", "message": ""}
    bare = len(json.dumps(doc, separators=(",", ":")))
    doc["message"] = "p" * (size - bare)
    return json.dumps(doc, separators=(",", ":")).encode()


def test_nearly_full_disk_logs_the_incident_once(small_fs, start_server):
    """At the edge of a full disk a small event still fits in the last page
    of the segment while a batch does not.  Clients that mix the two must
    not turn the incident into a log line per failed request."""
    server = start_server(args=["--segment-bytes", "256K"], threads=1,
                          data_dir=small_fs)
    wait_for_log(server, "server: listening")
    poster = Poster(server)
    for n in range(3):
        assert poster.post(make_batch("before", n * BATCH)[0]).status == 202
    # Leave about 3 KB free in the segment's last page.
    seg = segment_paths(small_fs / "partition-0")[-1]
    pad = (1000 - seg.stat().st_size - 24) % 4096
    pad += 4096 if pad < 200 else 0
    assert poster.post(sized_event("pad", pad)).status == 202

    fill_up(small_fs / "filler.bin")
    batch = make_batch("refused", 0)[0]
    for n in range(10):
        assert_503_for_spool(poster.post(batch))
        r = poster.post(sized_event(f"small-{n}", 150))
        assert r.status == 202, f"a small event no longer fits: {r}"
    poster.close()
    incident = problem_lines(server)
    assert server.stop() == 0
    assert len(incident) <= 2, \
        f"{len(incident)} warn/error lines for one full disk, first:\n" + \
        "\n".join(incident[:3])


# ---- --spool-max-bytes and --retention-bytes ----

SEGMENT = 64 * 1024


def test_spool_max_bytes_answers_503_when_reached(start_server, tmp_path):
    limit = 512 * 1024
    data = tmp_path / "spool"
    server = start_server(args=["--segment-bytes", "64K",
                                "--spool-max-bytes", "512K"],
                          threads=1, data_dir=data)
    poster = Poster(server)
    acked, refused = [], None

    for n in range(200):
        body, ids = make_batch("max", n * BATCH)
        r = poster.post(body)
        if r.status != 202:
            refused = (r, body)
            break
        acked += ids
    assert refused is not None, \
        f"no 503 after {spool_bytes(data)} bytes with --spool-max-bytes 512K"
    assert_503_for_spool(refused[0])
    size = spool_bytes(data)
    assert limit - SEGMENT - len(refused[1]) <= size <= limit, size

    for _ in range(5):
        assert_503_for_spool(poster.post(refused[1]))
    poster.close()
    assert len(problem_lines(server)) == 1, server.log_text()
    assert server.stop() == 0
    assert sorted(stored_ids(server)) == sorted(acked)
    rc, report = spool_check(data)
    assert rc == 0, report


def test_retention_deletes_old_segments_and_202s_continue(start_server,
                                                          tmp_path):
    """Retention below the spool limit: old segments go, nothing is
    refused.  Posted at about 1 MiB/s, so a retention pass once a second
    keeps up as well as one at every roll."""
    data = tmp_path / "spool"
    server = start_server(args=["--segment-bytes", "64K",
                                "--retention-bytes", "256K",
                                "--spool-max-bytes", "2M"],
                          threads=1, data_dir=data)
    poster = Poster(server)
    acked = []
    started = time.monotonic()

    for n in range(240):
        body, ids = make_batch("ret", n * BATCH)
        r = poster.post(body)
        assert r.status == 202, f"request {n} after {len(acked)} events: {r}"
        acked += ids
        lag = started + (n + 1) * len(body) / (1024 * 1024) - time.monotonic()
        if lag > 0:
            time.sleep(lag)
    poster.close()
    deadline = time.monotonic() + 3
    while spool_bytes(data) > 256 * 1024 + SEGMENT and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert spool_bytes(data) <= 256 * 1024 + SEGMENT, spool_bytes(data)
    assert server.stop() == 0

    segs = segment_paths(data / "partition-0")
    assert segs[0].name != f"{0:020d}.seg", "the oldest segment is still there"
    ids = stored_ids(server)
    assert ids == acked[len(acked) - len(ids):], \
        "what is left is not the newest events in order"
    rc, report = spool_check(data)
    assert rc == 0, report
