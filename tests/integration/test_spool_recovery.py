"""A damaged tail in the last segment, found at start-up.

A server is stopped cleanly, the last segment of its partition is damaged
the way a crash or a bad disk would (cut inside a record, garbage or zeros
after the last record, a flipped CRC byte, a repeated record, a segment
header cut short), and the server is started again on the same data
directory.  It must start, log the cut with its position and size, keep
every record before the cut, give new events the next offsets, and leave
a spool that `ingestd check` calls clean.
"""
import json
import random

import pytest

from conftest import SegmentLayout, segment_paths, spool_check, wait_for_log

SEGMENT_ARGS = ["--segment-bytes", "4K"]
EVENTS_BEFORE = 100
EVENTS_AFTER = 5


def make_event(i):
    doc = {"event_id": f"r-{i}", "timestamp": "2026-12-03T15:04:05Z",
           "service": "recovery", "message": "x" * (20 + 7 * (i % 11))}
    return json.dumps(doc, separators=(",", ":")).encode()


def post_all(server, events):
    with server.client() as c:
        for e in events:
            r = c.request("POST", "/ingest", e,
                          {"Content-Type": "application/json"})
            assert r.status == 202, r


@pytest.fixture
def stopped_spool(start_server, tmp_path):
    """A one-partition spool of EVENTS_BEFORE events in several segments,
    its server stopped cleanly; returns (data dir, events in offset order,
    layout of the last segment)."""
    data = tmp_path / "spool"
    server = start_server(args=SEGMENT_ARGS, threads=1, data_dir=data)
    events = [make_event(i) for i in range(EVENTS_BEFORE)]
    post_all(server, events)
    assert server.stop() == 0

    segs = segment_paths(data / "partition-0")
    assert len(segs) >= 3, "the spool should span several segments"
    last = SegmentLayout(segs[-1])
    assert len(last.records) >= 3 and last.torn_bytes == 0
    assert last.records[-1][2] == EVENTS_BEFORE - 1
    return data, events, last


# Each damage returns (bytes the restart must cut, records that survive).

def truncate_mid_header(path, last, n):
    pos = last.records[-1][0]
    with open(path, "r+b") as f:
        f.truncate(pos + 10)
    return 10, n - 1


def truncate_mid_payload(path, last, n):
    pos, length, _ = last.records[-1]
    keep = 24 + length // 2
    with open(path, "r+b") as f:
        f.truncate(pos + keep)
    return keep, n - 1


def truncate_first_record(path, last, n):
    """Only the segment header and a piece of its first record remain."""
    with open(path, "r+b") as f:
        f.truncate(16 + 10)
    return 10, last.base


def append_garbage(path, last, n):
    garbage = random.Random(4).randbytes(100)
    with open(path, "ab") as f:
        f.write(garbage)
    return 100, n


def append_zeros(path, last, n):
    with open(path, "ab") as f:
        f.write(bytes(4096))
    return 4096, n


def append_framed_garbage(path, last, n):
    """A whole record by its length, but its CRC does not match."""
    header = (50).to_bytes(4, "little") + b"\x12\x34\x56\x78" + \
        n.to_bytes(8, "little") + bytes(8)
    with open(path, "ab") as f:
        f.write(header + b"y" * 50)
    return 74, n


def flip_last_crc(path, last, n):
    pos, length, _ = last.records[-1]
    with open(path, "r+b") as f:
        f.seek(pos + 4)
        byte = f.read(1)[0]
        f.seek(pos + 4)
        f.write(bytes([byte ^ 0x01]))
    return 24 + length, n - 1


def repeat_last_record(path, last, n):
    """A copy of the last record: whole, CRC right, offset out of sequence."""
    pos, length, _ = last.records[-1]
    data = path.read_bytes()
    with open(path, "ab") as f:
        f.write(data[pos:pos + 24 + length])
    return 24 + length, n


DAMAGE = [truncate_mid_header, truncate_mid_payload,
          truncate_first_record, append_garbage,
          append_zeros, append_framed_garbage, flip_last_crc,
          repeat_last_record]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda d: d.__name__)
def test_damaged_tail_is_cut_and_offsets_continue(start_server,
                                                  stopped_spool, damage):
    data, events, last = stopped_spool
    removed, survivors = damage(last.path, last, len(events))
    cut_at = last.path.stat().st_size - removed

    rc, report = spool_check(data)
    assert rc == 1, f"check missed the damage:\n{report}"
    assert last.path.name in report

    server = start_server(args=SEGMENT_ARGS, threads=1, data_dir=data)
    log = wait_for_log(server, "server: listening")
    needle = f"partition-0/{last.path.name} offset={cut_at} " \
             f"removed_bytes={removed}"
    assert any("cut torn tail" in line and needle in line
               for line in log.splitlines()), \
        f"no log line with {needle!r}:\n{log}"
    assert last.path.stat().st_size == cut_at
    rc, report = spool_check(data)
    assert rc == 0, f"check after recovery:\n{report}"

    new = [make_event(1000 + i) for i in range(EVENTS_AFTER)]
    post_all(server, new)
    assert server.stop() == 0

    assert server.read_events("--partition", "0", "--from",
                              str(survivors)) == new
    assert server.read_events("--partition", "0") == events[:survivors] + new
    rc, report = spool_check(data)
    assert rc == 0, f"check after new events:\n{report}"

    again = start_server(args=SEGMENT_ARGS, threads=1, data_dir=data)
    log = wait_for_log(again, "server: listening")
    assert "cut torn tail" not in log, log
    assert again.stop() == 0


@pytest.mark.parametrize("kept", [0, 7, 15])
def test_segment_header_cut_short_by_a_roll_is_rewritten(start_server,
                                                         stopped_spool, kept):
    """A crash in a roll can leave a new segment shorter than its header."""
    data, events, last = stopped_spool
    base = len(events)
    torn = last.path.with_name(f"{base:020d}.seg")
    header = b"INGSEG1\n" + base.to_bytes(8, "little")
    torn.write_bytes(header[:kept])

    server = start_server(args=SEGMENT_ARGS, threads=1, data_dir=data)
    log = wait_for_log(server, "server: listening")
    assert f"rewrote torn segment header file={data}/partition-0/" \
           f"{torn.name}" in log, log
    assert torn.stat().st_size == 16

    new = [make_event(1000 + i) for i in range(EVENTS_AFTER)]
    post_all(server, new)
    assert server.stop() == 0
    assert server.read_events("--partition", "0", "--from",
                              str(base)) == new
    assert server.read_events("--partition", "0") == events + new
    rc, report = spool_check(data)
    assert rc == 0, f"check after new events:\n{report}"
