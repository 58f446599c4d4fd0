"""The public raw-request cases (shared/testdata/http-requests) against the
real server: count the answers, check their status classes, and check
whether the connection was closed.  The framing is judged, not the
application (404 for an unknown path is fine).
"""
import csv
import re
import socket
import time

import pytest

from conftest import SHARED

CASES_DIR = SHARED / "testdata" / "http-requests"


def load_cases():
    path = CASES_DIR / "cases.tsv"
    if not path.exists():
        return [pytest.param(None, marks=pytest.mark.xfail(
            reason=f"{path} missing", strict=True))]
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [pytest.param(r, id=r["file"]) for r in rows]


def exchange(port, data, quiet=0.4, limit=5.0):
    """Sends data, then collects answers until the server closes or goes
    quiet.  Returns (statuses, closed)."""
    sock = socket.create_connection(("127.0.0.1", port), 2)
    sock.sendall(data)
    received = b""
    closed = False
    deadline = time.monotonic() + limit
    sock.settimeout(quiet)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        received += chunk
    sock.close()
    return parse_answers(received), closed


def parse_answers(raw):
    statuses = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        assert sep, f"truncated answer: {raw[:200]!r}"
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        raw = rest[length:]
        if status != 100:
            statuses.append(status)
    return statuses


@pytest.fixture(scope="module")
def case_server(tmp_path_factory):
    from conftest import Server
    server = Server(tmp_path_factory.mktemp("cases") / "data").start()
    yield server
    server.kill()


@pytest.mark.parametrize("case", load_cases())
def test_case(case_server, case):
    data = (CASES_DIR / "cases" / case["file"]).read_bytes()
    statuses, closed = exchange(case_server.port, data)
    n_ok = int(case["n_ok"] or 0)
    host_missing = case["host"] == "no"
    expect = case["expect"]

    def ok_status(s):
        return s < 400 or s in (404, 405, 411, 413) or \
            (s == 400 and host_missing)

    if expect == "accept":
        assert len(statuses) == n_ok, (statuses, case["what"])
        assert all(ok_status(s) for s in statuses), statuses
    elif expect == "accept-then-close":
        assert len(statuses) == n_ok, (statuses, case["what"])
        assert all(ok_status(s) for s in statuses), statuses
        assert closed
    elif expect in ("reject", "accept-then-reject"):
        assert len(statuses) == n_ok + 1, (statuses, case["what"])
        assert all(ok_status(s) for s in statuses[:n_ok]), statuses
        # 400 unless the note names another; 501 is RFC 9110 §9.1's answer
        # to a method we do not know, which is how garbage after a request
        # is recognised as the start of a bad one.
        named = {int(c) for c in re.findall(r"\b[45]\d\d\b", case["note"])}
        assert statuses[-1] in named | {400, 501}, (statuses, case["note"])
        assert closed, "connection left open after a framing error"
    elif expect == "incomplete":
        # n_ok complete requests answered, then silence: no error, no close
        assert len(statuses) == n_ok, (statuses, case["what"])
        assert all(ok_status(s) for s in statuses), statuses
        assert not closed
    else:
        pytest.fail(f"unknown expectation {expect}")
