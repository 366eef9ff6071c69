"""A tiny upstream on a local socket that answers the way hostile or broken panels do.

Each connection's request is read whole, then the server's `answer(connection)` writes what it
likes, as slowly as it likes: raw bytes, so that headers, lengths and timing are the test's own.
"""

import socket
import threading
import time
from collections.abc import Callable

Answer = Callable[[socket.socket, "HostileServer"], None]


def http_head(status: int = 200, *, length: int | None = None, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    else:
        head += "Connection: close\r\n"
    return (head + extra + "\r\n").encode()


def whole(body: bytes, status: int = 200) -> Answer:
    """A complete answer at once."""

    def answer(connection: socket.socket, server: "HostileServer") -> None:
        connection.sendall(http_head(status, length=len(body)) + body)

    return answer


def dripped(body: bytes, *, every: float, with_length: bool = True, head_too: bool = False) -> Answer:
    """One byte every `every` seconds: the body, or the headers too."""

    def answer(connection: socket.socket, server: "HostileServer") -> None:
        head = http_head(length=len(body) if with_length else None)
        if not head_too:
            connection.sendall(head)
        for byte in (head if head_too else b"") + body:
            if server.stop.wait(every):
                return
            connection.sendall(bytes([byte]))

    return answer


def hang(connection: socket.socket, server: "HostileServer") -> None:
    server.stop.wait(30)


def hang_up(connection: socket.socket, server: "HostileServer") -> None:
    """Close the connection without a word."""


def tls_drip(connection: socket.socket, server: "HostileServer") -> None:
    """What looks like the start of a TLS handshake record of 16,000 bytes, then a byte at a time."""
    connection.sendall(b"\x16\x03\x03\x3e\x80")
    while not server.stop.wait(0.1):
        connection.sendall(b"\x00")


class HostileServer:
    def __init__(self, answer: Answer, *, read_request: bool = True) -> None:
        self.answer = answer
        self.read_request = read_request
        self.connections = 0
        self.requests = 0
        self.stop = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/api/v2"
        self.threads = [threading.Thread(target=self._serve, daemon=True)]
        self.threads[0].start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._handle, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            try:
                if self.read_request:
                    _read_request(connection)
                    self.requests += 1
                self.answer(connection, self)
            except OSError:
                pass  # the client hung up: what the deadline is for

    def received(self, expected: int) -> int:
        """The number of requests read, once `expected` arrived or a second passed."""
        deadline = time.monotonic() + 1
        while self.requests < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # room for one more, so that "exactly" is checked
        return self.requests

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(5)
        self.listener.close()


def _read_request(connection: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            return received
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class Stopwatch:
    def __enter__(self) -> "Stopwatch":
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.monotonic() - self.started
