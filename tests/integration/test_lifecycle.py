"""Start-up, flags, SIGTERM, restart: what an operator sees."""
import signal
import subprocess
import threading
import time

import pytest

from conftest import BINARY
from httpclient import post_event
from test_ingest import event


def run(*args, env=None):
    return subprocess.run([str(BINARY), *args], capture_output=True,
                          text=True, timeout=10, env=env)


def test_help_and_version():
    r = run("serve", "--help")
    assert r.returncode == 0
    assert "--max-body-bytes" in r.stdout and "INGESTD_" in r.stdout
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("ingestd ")


@pytest.mark.parametrize("args,needle", [
    (["--threads", "0"], "threads"),
    (["--threads", "two"], "threads"),
    (["--max-body-bytes", "1X"], "max-body-bytes"),
    (["--read-timeout", "5"], "unit"),
    (["--listen", "nowhere"], "HOST:PORT"),
    (["--listen", "127.0.0.1:99999"], "listen"),
    (["--no-such-flag"], ""),
    (["--log-level", "loud"], "log-level"),
])
def test_bad_flag_is_exit_2_with_message(args, needle):
    r = run("serve", *args)
    assert r.returncode == 2
    assert needle in r.stderr
    assert r.stderr.strip()


def test_bad_environment_value_is_exit_2():
    import os
    env = dict(os.environ, INGESTD_MAX_DEPTH="deep")
    r = run("serve", env=env)
    assert r.returncode == 2
    assert "INGESTD_MAX_DEPTH" in r.stderr


def test_environment_sets_a_limit(start_server):
    server = start_server(env={"INGESTD_MAX_BODY_BYTES": "100"})
    with server.client() as c:
        r = c.request("POST", "/ingest", event(1, message="x" * 200))
        assert r.status == 413


def test_unknown_command_is_exit_2():
    assert run("frobnicate").returncode == 2


def test_sigterm_exits_0_and_keeps_every_acknowledged_event(start_server):
    server = start_server()
    acked = []
    stop = threading.Event()

    def client(k):
        try:
            with server.client() as c:
                i = 0
                while not stop.is_set():
                    e = event(k * 1_000_000 + i)
                    c.send(post_event(e))
                    if c.read_response().status == 202:
                        acked.append(e)
                    i += 1
        except (ConnectionError, OSError):
            pass

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    while len(acked) < 2000:
        pass
    assert server.stop(signal.SIGTERM) == 0
    stop.set()
    for t in threads:
        t.join(10)

    stored = server.read_events()
    assert len(stored) == len(set(stored))
    assert set(acked) <= set(stored)
    assert "stopped status=0" in server.log_text()


def test_restart_continues_the_spool(start_server, tmp_path):
    data = tmp_path / "spool"
    first = start_server(data_dir=data)
    with first.client() as c:
        for i in range(50):
            assert c.request("POST", "/ingest", event(i)).status == 202
    assert first.stop() == 0

    second = start_server(data_dir=data)
    with second.client() as c:
        for i in range(50, 100):
            assert c.request("POST", "/ingest", event(i)).status == 202
    assert second.stop() == 0
    assert sorted(second.read_events()) == sorted(event(i) for i in range(100))


def test_second_server_on_same_data_dir_fails(start_server, tmp_path):
    data = tmp_path / "spool"
    start_server(data_dir=data)
    with pytest.raises(RuntimeError):
        start_server(data_dir=data)


def test_idle_connections_do_not_delay_shutdown(start_server):
    server = start_server()
    clients = [server.client() for _ in range(50)]
    try:
        assert server.stop(signal.SIGINT, timeout=5) == 0
    finally:
        for c in clients:
            c.close()


def test_second_server_on_same_port_fails(start_server, tmp_path):
    """SO_REUSEPORT would let two servers split one port's traffic."""
    first = start_server()
    r = subprocess.run([str(BINARY), "serve", "--listen",
                        f"127.0.0.1:{first.port}", "--data-dir",
                        str(tmp_path / "other")], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 1
    assert "Address already in use" in r.stderr


def test_fewer_threads_than_partitions_is_logged(start_server, tmp_path):
    data = tmp_path / "spool"
    first = start_server(threads=2, data_dir=data)
    assert first.stop() == 0
    second = start_server(threads=1, data_dir=data)
    assert second.stop() == 0
    assert "partition without a worker" in second.log_text()
    assert "partition=1 threads=1" in second.log_text()


def test_silent_connection_closes_after_read_timeout(start_server):
    server = start_server(["--read-timeout", "300ms"])
    with server.client() as c:
        assert c.is_closed(wait=3)


def test_connection_limit_answers_503_and_recovers(start_server):
    server = start_server(["--max-connections", "3"], threads=1)

    def connect_until_accepted():
        # the fixture's readiness probe may not be seen closed yet
        deadline = time.monotonic() + 5
        while True:
            c = server.client()
            try:
                if c.request("GET", "/healthz").status == 200:
                    return c
            except OSError:
                pass
            c.close()
            assert time.monotonic() < deadline
            time.sleep(0.05)

    held = []
    try:
        for _ in range(3):
            held.append(connect_until_accepted())
        with server.client() as extra:
            r = extra.read_response()
            assert r.status == 503
            assert r.header("retry-after") == "1"
            assert r.header("date") and r.header("connection") == "close"
            assert r.json()["error"] == "too many connections"
            assert extra.is_closed()
        held.pop().close()
        deadline = time.monotonic() + 5
        while True:
            # until the server has seen the close, a new one may still get
            # the 503 (and a reset, as its request is not read)
            try:
                with server.client() as again:
                    again.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                    if again.read_response().status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        for c in held:
            c.close()


def test_out_of_descriptors_pauses_accepts_and_recovers(start_server):
    """With few descriptors, accept4() fails with EMFILE while the
    connection waits in the queue: the server must neither spin nor log a
    line per attempt, and must accept again once descriptors are freed."""
    import resource

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    server = start_server(threads=1)
    server.kill()
    server.proc = subprocess.Popen(
        [str(BINARY), "serve", "--listen", f"127.0.0.1:{server.port}",
         "--data-dir", str(server.data_dir), "--threads", "1"],
        stdout=server.log, stderr=server.log, preexec_fn=low_limit)
    deadline = time.monotonic() + 5
    while server.log_text().count("server: listening") < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    clients = []
    try:
        for _ in range(80):
            clients.append(server.client())
        time.sleep(1.0)
        cpu = sum(int(x) for x in open(f"/proc/{server.proc.pid}/stat")
                  .read().split(")")[1].split()[11:13])
        time.sleep(1.0)
        cpu_after = sum(int(x) for x in open(f"/proc/{server.proc.pid}/stat")
                        .read().split(")")[1].split()[11:13])
        assert cpu_after - cpu < 30, "the server spins on a failing accept"
        assert server.log_text().count("accept4() failed") == 1
    finally:
        for c in clients:
            c.close()
    deadline = time.monotonic() + 5
    while True:
        try:
            with server.client() as c:
                if c.request("GET", "/healthz").status == 200:
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert "accepting again" in server.log_text()
    assert server.stop() == 0
