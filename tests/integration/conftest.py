"""Fixtures that start the real ingestd binary on a free 127.0.0.1 port.

Every server a test starts is stopped by the test (or by the fixture's
finalizer), listens on loopback only, and writes into a temporary data
directory.
"""
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest

from httpclient import Client

REPO = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("INGESTD_BINARY", REPO / "build" / "ingestd"))
SHARED = pathlib.Path(os.environ.get("INGESTD_SHARED_DIR", REPO.parent / "shared"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running `ingestd serve`, with helpers to talk to it."""

    def __init__(self, data_dir, args=(), env=None, threads=2):
        self.data_dir = pathlib.Path(data_dir)
        self.port = free_port()
        self.args = list(args)
        self.env = dict(os.environ, **(env or {}))
        self.threads = threads
        self.proc = None
        self.log_path = self.data_dir.parent / f"ingestd-{self.port}.log"

    def start(self):
        cmd = [str(BINARY), "serve", "--listen", f"127.0.0.1:{self.port}",
               "--data-dir", str(self.data_dir), "--threads", str(self.threads),
               *self.args]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log,
                                     env=self.env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ingestd exited: {self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("ingestd did not start listening")

    def client(self, timeout=5.0):
        return Client("127.0.0.1", self.port, timeout)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def read_events(self, *extra):
        out = subprocess.run([str(BINARY), "read", "--data-dir",
                              str(self.data_dir), *extra],
                             capture_output=True, check=True, timeout=30)
        return [line for line in out.stdout.split(b"\n") if line]


@pytest.fixture
def start_server(tmp_path):
    servers = []

    def start(args=(), env=None, threads=2, data_dir=None):
        s = Server(data_dir or tmp_path / "data", args, env, threads)
        servers.append(s)
        return s.start()

    yield start
    for s in servers:
        s.kill()


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.fixture(scope="session")
def shared_dir():
    if not SHARED.is_dir():
        pytest.fail(f"shared test data not found at {SHARED} "
                    "(set INGESTD_SHARED_DIR)")
    return SHARED


# ---- spool helpers (crash, torn-tail and disk-full tests) ----

SEGMENT_HEADER_BYTES = 16
RECORD_HEADER_BYTES = 24


def run_tool(*args, timeout=60):
    """Runs `ingestd ARGS...` and returns the CompletedProcess (bytes)."""
    return subprocess.run([str(BINARY), *map(str, args)],
                          capture_output=True, timeout=timeout)


def spool_check(data_dir):
    """`ingestd check` on data_dir: (exit status, stdout+stderr as text)."""
    r = run_tool("check", "--data-dir", data_dir)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


class SegmentLayout:
    """The framing of one segment file, walked by record lengths only.

    `records` lists (file position, payload length, offset) of every record
    that is whole in the file; `whole_end` is where the last whole one ends,
    so `size - whole_end` is the torn tail a restart has to cut.  CRCs are
    not verified here: `ingestd check` does that.
    """

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.base = int(self.path.name[:20])
        data = self.path.read_bytes()
        self.size = len(data)
        self.records = []
        pos = SEGMENT_HEADER_BYTES
        while self.size >= SEGMENT_HEADER_BYTES and \
                pos + RECORD_HEADER_BYTES <= self.size:
            length = int.from_bytes(data[pos:pos + 4], "little")
            offset = int.from_bytes(data[pos + 8:pos + 16], "little")
            end = pos + RECORD_HEADER_BYTES + length
            if length == 0 or end > self.size:
                break
            self.records.append((pos, length, offset))
            pos = end
        self.whole_end = min(pos, self.size)

    @property
    def torn_bytes(self):
        return self.size - self.whole_end


def segment_paths(partition_dir):
    """The segment files of one partition directory, oldest first."""
    return sorted(pathlib.Path(partition_dir).glob("[0-9]" * 20 + ".seg"))


def wait_for_log(server, needle, timeout=10):
    """Waits until the server's log holds `needle`; returns the log text.

    A worker accepts connections as soon as its own partition is open,
    before later partitions are recovered, so a test that reads what the
    start-up logged waits for the line that ends it ("server: listening").
    """
    deadline = time.monotonic() + timeout
    while True:
        text = server.log_text()
        if needle in text:
            return text
        if server.proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"log never said {needle!r}:\n{text}")
        time.sleep(0.01)
