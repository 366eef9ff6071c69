"""One POST to a provider and its answer as text, whatever the network does meanwhile.

The transport owns everything between the form we send and the text we get back:

- one deadline per request (connect, TLS, headers and body together, retries included), kept by
  a watchdog that shuts the socket when it passes, so an upstream that drips one byte every few
  seconds, in the headers, the body or even the TLS handshake, is cut at the deadline;
- a cap on the body, checked while it streams (and on the declared length before reading);
- the address check of `addresses` on every connection it opens, after DNS resolution;
- retries, with exponential backoff, of the safe (read-only) actions only, and only for failures
  that may pass (no connection, a timeout, a 5xx);
- the API key scrubbed out of everything it reports.
"""

import contextlib
import contextvars
import logging
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import requests
import urllib3
import urllib3.exceptions
from celery.exceptions import SoftTimeLimitExceeded
from requests.adapters import HTTPAdapter
from urllib3.util import connection as urllib3_connection

from providers.client import addresses
from providers.errors import EXCERPT_LIMIT, ProviderBadResponse, ProviderError, ProviderUnreachable

__all__ = ["NOT_UPSTREAM_FAULTS", "SAFE_ACTIONS", "Answer", "Scrubber", "Transport"]

logger = logging.getLogger("providers.client")

# Read-only actions: repeating them changes nothing upstream, so a failed one may be retried.
SAFE_ACTIONS = frozenset({"services", "status", "refill_status", "balance", "products", "product_order_status"})
# The catalogue: the one answer that grows with the provider (a few MB for 10,000 services).
CATALOG_ACTIONS = frozenset({"services", "products"})
# Exceptions that may be raised while we wait for an upstream but are not its doing (a worker's
# soft time limit, raised from a signal handler): they pass through, so the task can stop.
NOT_UPSTREAM_FAULTS = (SoftTimeLimitExceeded,)
_HEADERS = {"Accept": "application/json", "User-Agent": "smm-panel (API v2 client)"}
# No proxy from the environment: every address the client reaches is checked, and through a
# proxy the check would only see the proxy's.
_NO_PROXIES = {"http": None, "https": None}
_READ_CHUNK = 64 * 1024
# Failures that happen before a single byte of the request leaves: DNS, refused connection,
# connect timeout, a certificate we reject, an address we refuse.
_NOT_SENT_CAUSES = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    ConnectionRefusedError,
    socket.gaierror,
    ssl.SSLCertVerificationError,
)


class Scrubber:
    """The API key out of upstream text, and the text made safe to show, log and store."""

    def __init__(self, key: str) -> None:
        # The key as it may appear in a body or URL (raw or form-encoded), longest first.
        self._secrets = sorted({key, quote_plus(key), quote(key, safe="")}, key=len, reverse=True)
        self._longest = len(self._secrets[0])

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def clean(self, text: str, *, limit: int = 200, keep_lines: bool = False) -> str:
        """No key, no control characters, no NUL (PostgreSQL refuses it), one line unless `keep_lines`,
        at most `limit` characters."""
        # Scrub before cutting, with room for a key that straddles the cut, so no part of it survives.
        text = self.scrub(text[: 4 * limit + self._longest])[: 4 * limit]
        if keep_lines:
            text = "".join(character for character in text if character.isprintable() or character in "\n\t").strip()
        else:
            text = " ".join("".join(character if character.isprintable() else " " for character in text).split())
        return text[:limit]

    def excerpt(self, text: str) -> str:
        # ProviderError cuts it to EXCERPT_LIMIT and marks the cut; the bound keeps a huge body cheap.
        return self.clean(text, limit=4 * EXCERPT_LIMIT)


@dataclass(frozen=True)
class Answer:
    """An answer with a 2xx or 4xx status (the others are raised): its body as text."""

    status: int
    text: str


class _Deadline:
    """The deadline of one request, and the sockets the watchdog shuts when it passes.

    Shutting a socket is the one way to stop a read that the upstream keeps alive a byte at a
    time: a socket timeout only bounds each wait, and inside TLS every record is read in C.
    """

    def __init__(self, seconds: float, *, allow_private: bool) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.allow_private = allow_private
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.expired or self.remaining() <= 0

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def __enter__(self) -> "_Deadline":
        self._token = _current_deadline.set(self)
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        _current_deadline.reset(self._token)


_current_deadline: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar("provider_deadline", default=None)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for a TLS socket: it wakes a read blocked in another thread.
    # An OSError: the socket is already closed, or not connected yet.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class AddressRefused(urllib3.exceptions.NewConnectionError):
    """The provider's host resolved to an address it may not have (see `addresses`)."""

    def __init__(self, conn: object, message: str) -> None:
        super().__init__(conn, message)  # type: ignore[arg-type]
        self.refusal = message


class _GuardedConnection:
    """A urllib3 connection that opens only to allowed addresses and puts its socket under the deadline."""

    def _new_conn(self) -> socket.socket:
        deadline = _current_deadline.get()
        checked = deadline is None or not deadline.allow_private
        sock = self._connect_public() if checked else super()._new_conn()  # type: ignore[misc]
        if deadline is not None:
            deadline.watch(sock)
        return sock

    def request(self, *args: object, **kwargs: object) -> None:
        # A connection kept alive from an earlier request: its socket joins this request's deadline.
        deadline = _current_deadline.get()
        if deadline is not None and self.sock is not None:  # type: ignore[attr-defined]
            deadline.watch(self.sock)  # type: ignore[attr-defined]
        super().request(*args, **kwargs)  # type: ignore[misc]

    def _connect_public(self) -> socket.socket:
        """Resolve once, check every address, and connect to those very addresses (no second lookup)."""
        host, port = self._dns_host, self.port  # type: ignore[attr-defined]
        try:
            found = addresses.resolve(host, port)
        except socket.gaierror as error:
            raise urllib3.exceptions.NameResolutionError(host, self, error) from error  # type: ignore[arg-type]
        for address in found:
            problem = addresses.address_problem(address)
            if problem:
                raise AddressRefused(self, addresses.refusal(host, address, problem))
        last_error: OSError | None = None
        for address in found:
            try:
                return urllib3_connection.create_connection(
                    (address, port),
                    self.timeout,  # type: ignore[attr-defined]
                    source_address=self.source_address,  # type: ignore[attr-defined]
                    socket_options=self.socket_options,  # type: ignore[attr-defined]
                )
            except TimeoutError as error:
                raise urllib3.exceptions.ConnectTimeoutError(
                    self,
                    f"Connection to {host} timed out. (connect timeout={self.timeout})",  # type: ignore[attr-defined]
                ) from error
            except OSError as error:
                last_error = error
        raise urllib3.exceptions.NewConnectionError(
            self,  # type: ignore[arg-type]
            f"Failed to establish a new connection: {last_error}",
        ) from last_error


class _HTTPConnection(_GuardedConnection, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_GuardedConnection, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class Transport:
    """How to reach one provider, and the one method that does."""

    def __init__(
        self,
        *,
        url: str,
        key: str,
        name: str,
        scrubber: Scrubber,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
        retries: int,
        backoff: float,
        max_body: int,
        max_catalog_body: int,
        allow_private: bool,
    ) -> None:
        self.url = url
        self._key = key
        self.name = name
        self.scrubber = scrubber
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.retries = retries
        self.backoff = backoff
        self.max_body = max_body
        self.max_catalog_body = max_catalog_body
        self.allow_private = allow_private
        self._session = requests.Session()
        adapter = _GuardedAdapter()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def close(self) -> None:
        self._session.close()

    def request(self, action: str, params: Mapping[str, str]) -> Answer:
        """The answer to one action within one deadline, retried with backoff only when the action is safe."""
        attempts = 1 + (self.retries if action in SAFE_ACTIONS else 0)
        with _Deadline(self.deadline, allow_private=self.allow_private) as deadline:
            attempt = 1
            while True:
                try:
                    return self._attempt(action, params, deadline)
                except (ProviderUnreachable, ProviderBadResponse) as error:
                    delay = self.backoff * 2 ** (attempt - 1)
                    if attempt >= attempts or not _is_temporary(error) or deadline.remaining() <= delay:
                        raise
                    logger.warning("%s; retry %d of %d in %.1fs", error, attempt, attempts - 1, delay)
                    time.sleep(delay)
                    attempt += 1

    def _attempt(self, action: str, params: Mapping[str, str], deadline: _Deadline) -> Answer:
        started = time.monotonic()
        status, location, body = self._post(action, params, deadline)
        logger.debug("%s %s: HTTP %s in %.2fs", self.name, action, status, time.monotonic() - started)
        # The protocol is UTF-8 whatever the Content-Type says; a stray BOM is common from PHP panels.
        text = body.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
        context = {"provider": self.name, "action": action, "excerpt": self.scrubber.excerpt(text)}
        if 300 <= status < 400:
            target = self.scrubber.clean(location) or "an unnamed location"
            raise ProviderBadResponse(
                f"HTTP {status}: redirected to {target}; redirects are not followed, so fix the provider URL",
                http_status=status,
                **context,
            )
        if status >= 500 or status < 200:
            raise ProviderBadResponse(f"HTTP {status}", http_status=status, **context)
        return Answer(status, text)

    def _post(self, action: str, params: Mapping[str, str], deadline: _Deadline) -> tuple[int, str, bytes]:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise self._deadline_error(action, sent=False)
        data = {"key": self._key, "action": action, **params}
        try:
            response = self._session.post(
                self.url,
                data=data,
                headers=_HEADERS,
                timeout=(min(self.connect_timeout, remaining), min(self.read_timeout, remaining)),
                allow_redirects=False,
                verify=True,
                stream=True,
                proxies=_NO_PROXIES,
            )
        except requests.RequestException as error:
            # `from None`: the requests exception carries the prepared request, key included;
            # what it says is kept, scrubbed, in our message.
            raise self._transport_error(action, error, deadline) from None
        except NOT_UPSTREAM_FAULTS:
            raise
        except Exception as error:
            raise self._unexpected_error(action, error) from None
        try:
            body = self._read_body(action, response)
        except requests.RequestException as error:
            raise self._transport_error(action, error, deadline) from None
        except (ProviderError, *NOT_UPSTREAM_FAULTS):
            raise
        except Exception as error:
            raise self._unexpected_error(action, error) from None
        finally:
            response.close()
        if deadline.expired:
            # A body sent without a length ends when the connection does: the watchdog's cut looks like the end.
            raise self._deadline_error(action, sent=True)
        return response.status_code, response.headers.get("Location", ""), body

    def _read_body(self, action: str, response: requests.Response) -> bytes:
        limit = self.max_catalog_body if action in CATALOG_ACTIONS else self.max_body
        too_large = ProviderBadResponse(
            f"the answer is larger than {limit} bytes",
            http_status=response.status_code,
            provider=self.name,
            action=action,
        )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks = []
        size = 0
        for chunk in response.iter_content(chunk_size=_READ_CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def _transport_error(
        self, action: str, error: requests.RequestException, deadline: _Deadline
    ) -> ProviderUnreachable:
        refused = _address_refused(error)
        if refused is not None:
            # A configuration problem, not a passing one; and nothing was sent.
            return ProviderUnreachable(
                f"refused to connect: {refused}",
                provider=self.name,
                action=action,
                permanent=True,
                request_sent=False,
            )
        sent = not _never_reached_upstream(error)
        if deadline.passed():
            return self._deadline_error(action, sent=sent)
        reason = self.scrubber.clean(_transport_reason(error))
        if isinstance(error, requests.exceptions.ConnectTimeout):
            detail = f"could not connect within {self.connect_timeout:g}s"
        elif isinstance(error, requests.exceptions.ReadTimeout):
            detail = f"no answer within {self.read_timeout:g}s after the request was sent"
        elif not sent:
            detail = f"could not connect ({reason})"
        else:
            detail = f"the connection failed after the request was sent ({reason})"
        return ProviderUnreachable(detail, provider=self.name, action=action, request_sent=sent)

    def _unexpected_error(self, action: str, error: Exception) -> ProviderUnreachable:
        """A failure requests does not name: the request may have left, so it counts as sent."""
        logger.warning("%s %s: unexpected transport failure (%s)", self.name, action, type(error).__name__)
        return ProviderUnreachable(
            f"the request failed ({type(error).__name__}: {self.scrubber.clean(str(error))})",
            provider=self.name,
            action=action,
            request_sent=True,
        )

    def _deadline_error(self, action: str, *, sent: bool) -> ProviderUnreachable:
        return ProviderUnreachable(
            f"no complete answer within {self.deadline:g}s (the deadline of one request)",
            provider=self.name,
            action=action,
            request_sent=sent,
        )


def _is_temporary(error: ProviderError) -> bool:
    if error.permanent:
        return False
    if isinstance(error, ProviderUnreachable):
        return True
    return isinstance(error, ProviderBadResponse) and (error.http_status or 0) >= 500


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and what it wraps: requests wraps urllib3's MaxRetryError (args[0]), which names the
    real failure in `reason`."""
    seen: set[int] = set()
    found: list[BaseException] = []
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        linked = [*current.args, getattr(current, "reason", None), current.__cause__]
        pending.extend(item for item in linked if isinstance(item, BaseException))
    return found


def _address_refused(error: BaseException) -> str | None:
    for cause in _causes(error):
        if isinstance(cause, AddressRefused):
            return cause.refusal
    return None


def _never_reached_upstream(error: BaseException) -> bool:
    """True only when the failure certainly happened before the request was sent."""
    if isinstance(error, requests.exceptions.ReadTimeout):
        return False
    if isinstance(error, requests.exceptions.ConnectTimeout | requests.exceptions.InvalidURL):
        return True
    return any(isinstance(cause, _NOT_SENT_CAUSES) for cause in _causes(error))


def _transport_reason(error: BaseException) -> str:
    inner = error.args[0] if error.args and isinstance(error.args[0], BaseException) else error
    reason = getattr(inner, "reason", None)
    shown = reason if isinstance(reason, BaseException) else inner
    return " ".join(f"{type(shown).__name__}: {shown}".split())
