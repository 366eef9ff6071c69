"""The simulator over real HTTP: a ThreadingHTTPServer in a daemon thread, POST /api/v2.

The HTTP layer acts out the faults `SimulatedProvider.handle` decides: a lost response closes the
socket without a byte of answer, a timeout holds the connection past the client's patience and then
drops it. Waits end early when the server stops, so `stop()` never hangs on a sleeping request.
"""

import contextlib
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from providers.simulator.state import HTML_TYPE, JSON_TYPE, SimulatedProvider

API_PATH = "/api/v2"
MAX_BODY = 10 * 1024 * 1024


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog of 5 refuses connections when a benchmark fires hundreds of requests at once.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], provider: SimulatedProvider, verbose: bool) -> None:
        self.provider = provider
        self.verbose = verbose
        self.stopping = threading.Event()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, every answer after the first on a
    # kept-alive connection would wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "SimulatedPanel/1.0"
    sys_version = ""
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        if not self._on_api_path():
            return
        self._send(405, JSON_TYPE, json.dumps({"error": "Incorrect request: use POST"}).encode(), allow="POST")

    def do_POST(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # Unread chunks would be taken for the next request on this keep-alive connection.
            self.close_connection = True
            self._send(411, JSON_TYPE, b'{"error":"Content-Length required"}')
            return
        length_text = self.headers.get("Content-Length") or "0"
        length = int(length_text) if length_text.isdigit() else -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._send(413, JSON_TYPE, b'{"error":"Request too large"}')
            return
        body = self.rfile.read(length)
        if not self._on_api_path():
            return
        form = self._form(body)
        provider = self.server.provider
        if provider.latency_ms:
            self.server.stopping.wait(provider.latency_ms / 1000)
        try:
            reply = provider.handle(form)
        except Exception as error:  # a simulator bug must still answer, and loudly
            print(f"simulator: {error!r} answering {form.get('action')!r}", file=sys.stderr)
            self._send(500, JSON_TYPE, json.dumps({"error": f"simulator error: {error!r}"}).encode())
            return
        if reply.fault == "timeout":
            self.server.stopping.wait(reply.hold_seconds)
            self._drop()
        elif reply.fault == "lost_response":
            self._drop()
        else:
            self._send(reply.status, reply.content_type, reply.body)

    def _on_api_path(self) -> bool:
        if urlsplit(self.path).path.rstrip("/") == API_PATH:
            return True
        self._send(404, HTML_TYPE, b"<html><body><h1>404 Not Found</h1></body></html>\n")
        return False

    def _form(self, body: bytes) -> dict[str, str]:
        """Form fields from the query string and the body: url-encoded, or a JSON object."""
        form = {name: values[0] for name, values in parse_qs(urlsplit(self.path).query).items()}
        text = body.decode("utf-8", errors="replace")
        content_type = self.headers.get("Content-Type", "")
        if "json" in content_type or text.lstrip().startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                form.update({str(name): "" if value is None else str(value) for name, value in data.items()})
                return form
        form.update({name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()})
        return form

    def _send(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.capitalize(), value)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        """Close the connection with no answer at all, as a crashed or overloaded upstream does."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class SimulatorServer:
    """Serves a `SimulatedProvider` on localhost. `with SimulatorServer(sim) as server: server.url`."""

    def __init__(
        self, provider: SimulatedProvider, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
    ) -> None:
        self.provider = provider
        self.host = host
        self._port = port
        self._verbose = verbose
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{API_PATH}"

    def start(self) -> str:
        """Bind and serve in a daemon thread; returns the API URL."""
        if self._httpd is None:
            self._httpd = _HTTPServer((self.host, self._port), self.provider, self._verbose)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="simulator", daemon=True
            )
            self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._port = self._httpd.server_address[1]
        self._httpd = None
        self._thread = None

    def __enter__(self) -> "SimulatorServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
