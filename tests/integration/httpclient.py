"""A deliberately small HTTP/1.1 client over a raw socket.

Tests need to send exact bytes (pipelined, split, malformed) and read the
answers as they come, which http.client does not allow.
"""
import json
import socket


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


class Client:
    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.buf += chunk

    def read_response(self, head_request=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status, reason = lines[0].split(" ", 2)
        assert version == "HTTP/1.1", lines[0]
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        status = int(status)
        length = 0 if head_request or status in (100, 204, 304) else \
            int(headers["content-length"])
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return Response(status, reason, headers, body)

    def is_closed(self, wait=2.0):
        """True when the server closed its side (EOF or reset)."""
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def request(self, method, path, body=b"", headers=None):
        self.send(build_request(method, path, body, headers))
        return self.read_response(head_request=(method == "HEAD"))


def build_request(method, path, body=b"", headers=None, host=True):
    headers = dict(headers or {})
    lines = [f"{method} {path} HTTP/1.1"]
    if host:
        lines.append("Host: test")
    if body or method in ("POST", "PUT"):
        headers.setdefault("Content-Length", str(len(body)))
    for k, v in headers.items():
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def post_event(event_bytes, path="/ingest", headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return build_request("POST", path, event_bytes, h)
