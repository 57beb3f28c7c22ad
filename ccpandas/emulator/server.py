"""HTTP plumbing: a threading HTTP/1.1 server on a loopback address.

Keep-alive connections are reused; every answer carries an exact ``Content-Length``.
The server refuses to bind anywhere but loopback: it serves fake data behind a fixed,
guessable token and must never be reachable from another machine.

Example:
    >>> check_loopback("localhost"), check_loopback("::1")
    ('127.0.0.1', '::1')
    >>> check_loopback("0.0.0.0")
    Traceback (most recent call last):
    ...
    ValueError: the emulator binds only to loopback (127.0.0.1, ::1, localhost), not '0.0.0.0'
"""

from __future__ import annotations

import contextlib
import email.utils
import http
import ipaddress
import logging
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ccpandas.emulator.pipeline import Outcome, Pipeline

__all__ = ["MAX_BODY_BYTES", "EmulatorHTTPServer", "check_loopback"]

logger = logging.getLogger("ccpandas.emulator")

#: Larger request bodies get 413.
MAX_BODY_BYTES = 8 * 1024 * 1024
#: An oversized body up to this size is read and discarded, so the client can read the
#: 413 (closing with unread data would reset the connection); beyond it, we hang up.
_DRAIN_BYTES = 64 * 1024 * 1024


def check_loopback(host: str) -> str:
    """The address to bind for ``host``; ``ValueError`` unless it is loopback."""
    if host.lower() == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(
            f"the emulator binds only to loopback (127.0.0.1, ::1, localhost), not {host!r}"
        )
    return str(address)


class _BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    default_request_version = "HTTP/1.0"  # so even a garbled request line gets headers
    server_version = "ccpandas-emulator"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection is closed after this many seconds
    disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stalls
    server: EmulatorHTTPServer

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header is the emulator's clock, as a server's Date is its own time
        # (the one its timestamps, token expiry and quota day follow), so a moved clock
        # shows in Date too.
        if timestamp is None:
            timestamp = self.server.pipeline.account.clock.now().timestamp()
        return email.utils.formatdate(timestamp, usegmt=True)

    def __getattr__(self, name: str) -> Any:
        # Every method, known or not, goes through the pipeline, which answers 405 for
        # the wrong ones (BaseHTTPRequestHandler would say 501 with an HTML page).
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        server = self.server
        try:
            body, too_large = self._read_body()
        except _BadRequest as exc:
            self.close_connection = True
            self._send(Pipeline.error(400, "bad_request", str(exc)))
            return
        outcome = server.pipeline.handle(
            self.command, self.path, dict(self.headers.items()), body, too_large=too_large
        )
        if outcome.delay > 0:
            server.stopping.wait(outcome.delay)
        if outcome.drop:
            self.close_connection = True  # the request was handled; the answer is lost
            return
        self._send(outcome)

    def _read_body(self) -> tuple[bytes, bool]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b"", False
        try:
            length = int(raw)
        except ValueError:
            raise _BadRequest("Content-Length is not a number.") from None
        if length < 0:
            raise _BadRequest("Content-Length is negative.")
        if length > MAX_BODY_BYTES:
            self._discard(length)
            return b"", True
        body = self.rfile.read(length)
        if len(body) != length:
            raise _BadRequest("The request body is shorter than its Content-Length.")
        return body, False

    def _discard(self, length: int) -> None:
        if length > _DRAIN_BYTES:
            self.close_connection = True  # too big even to drain: hang up after the 413
            return
        while length > 0:
            got = len(self.rfile.read(min(length, 1 << 20)))
            if not got:
                break
            length -= got

    def _read_chunked(self) -> tuple[bytes, bool]:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                size = -1
            if size < 0:
                raise _BadRequest("Malformed chunked request body.")
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                if total > MAX_BODY_BYTES:
                    return b"", True
                return b"".join(parts), False
            total += size
            if total > _DRAIN_BYTES:
                self.close_connection = True
                return b"", True
            chunk = self.rfile.read(size)
            if total <= MAX_BODY_BYTES:
                parts.append(chunk)
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _send(self, outcome: Outcome) -> None:
        try:
            self.send_response(outcome.status)
            headers = dict(outcome.headers)  # may set its own Content-Type (OAuth2 pages)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(outcome.body)))
            for name, value in headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(outcome.body)
        except OSError:  # the client went away (e.g. it timed out during injected latency)
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found before routing (bad request line, huge headers) as JSON too."""
        self.close_connection = True
        try:
            phrase = http.HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        key = phrase.lower().replace(" ", "_").replace("-", "_")
        self._send(Pipeline.error(code, key, message or phrase))

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("emulator %s: %s", self.address_string(), format % args)


class EmulatorHTTPServer(ThreadingHTTPServer):
    """The threading server; it can close its open keep-alive connections on stop."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, host: str, port: int, pipeline: Pipeline) -> None:
        host = check_loopback(host)
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.pipeline = pipeline
        self.stopping = threading.Event()  # wakes up injected delays on stop
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (socket.getfqdn), which can hang
        # for seconds without network; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = str(host)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        with self._connections_lock:
            self._connections.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every open connection (idle keep-alive ones would otherwise linger)."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("emulator: connection error from %s", client_address, exc_info=True)
