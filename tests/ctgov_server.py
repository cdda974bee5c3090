"""A local stand-in for the ClinicalTrials.gov API v2, for tests and the fetch benchmark.

``serve(routes)`` starts a stdlib HTTP server on 127.0.0.1 (ephemeral port) in a thread and yields
its base URL. ``routes`` maps a request path (``/studies/NCT...``) to a list of :class:`Reply`;
each request takes the next reply, and the last one repeats. Nothing leaves the machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, body, extra headers, a delay before answering."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        replies = self.server.routes.get(self.path)
        with self.server.lock:
            self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1
            n = self.server.hits[self.path]
        if not replies:
            reply = Reply(404, b'{"message": "not found"}')
        else:
            reply = replies[min(n, len(replies)) - 1]
        if reply.delay_s:
            time.sleep(reply.delay_s)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (timeout tests)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, list[Reply]]
    hits: dict[str, int]
    lock: threading.Lock


@contextmanager
def serve(routes: dict[str, list[Reply]]) -> Iterator[tuple[str, dict[str, int]]]:
    """Serve ``routes``; yield ``(base_url, hits per path)``."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.routes, server.hits, server.lock = routes, {}, threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v2", server.hits
    finally:
        server.shutdown()
        server.server_close()
