"""The one client that talks to upstream providers in the SMM "API v2" protocol.

Every request is a form-encoded POST of `key`, `action` and parameters, answered with JSON.
The providers' own documentation (tests/providers/fixtures, copied from their pages) disagrees
on details: numbers as strings or numbers, `{"status": "success", ...}` wrappers, lowercase
statuses, per-id errors as objects or plain strings, missing commas. All of that is absorbed
here, whatever the dialect, so the rest of the panel only sees typed results and the errors of
`providers.errors`.

Only safe (read-only) actions are retried. `add`, `refill`, `cancel` and `add_product_order` are
sent once: a lost answer must become "needs review", never a second order.
"""

import json
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, urlsplit

import requests
import urllib3.exceptions
from django.conf import settings

from core.money import money_parse
from providers.errors import EXCERPT_LIMIT, ProviderBadResponse, ProviderError, ProviderRefused, ProviderUnreachable
from providers.lenient_json import loads, loads_lenient
from providers.statuses import OrderStatus, RefillStatus, normalize_order_status, normalize_refill_status

__all__ = [
    "CHUNK_SIZE",
    "DIALECTS",
    "MISSING_FROM_ANSWER",
    "AddResult",
    "BalanceResult",
    "CancelResult",
    "OrderStatusResult",
    "ProductOrderStatusResult",
    "ProviderClient",
    "RefillResult",
    "RefillStatusResult",
    "UpstreamProduct",
    "UpstreamService",
    "chunked",
]

logger = logging.getLogger("providers.client")

# Every seed documents "up to 100 IDs" for the multi-id forms of status, refill, refill_status
# and cancel; upstreams refuse or silently cut longer lists.
CHUNK_SIZE = 100
# A full services list is a few megabytes; a body far larger than this is not an API answer.
MAX_BODY_BYTES = 32 * 1024 * 1024
# A product order's result lists what was bought (one account per line); far longer is not a result.
PRODUCT_RESULT_LIMIT = 64 * 1024
DIALECTS = ("standard", "002", "003")
MISSING_FROM_ANSWER = "missing from the provider's answer"

# Read-only actions: repeating them changes nothing upstream, so a failed one may be retried.
SAFE_ACTIONS = frozenset({"services", "status", "refill_status", "balance", "products", "product_order_status"})
# What each dialect's documentation offers; the parser itself accepts every dialect's shapes.
DIALECT_ACTIONS = {
    "standard": frozenset({"services", "add", "status", "refill", "refill_status", "cancel", "balance"}),
    "002": frozenset({"services", "add", "status", "balance"}),
    "003": frozenset(
        {
            "services",
            "add",
            "status",
            "refill",
            "refill_status",
            "balance",
            "products",
            "add_product_order",
            "product_order_status",
        }
    ),
}

# The service types of the API v2 documentation. Upstreams vary their case (seed 002 writes a
# bare `default`), and the order form depends on the exact name, so known names are canonicalised.
SERVICE_TYPES = (
    "Default",
    "Package",
    "Custom Comments",
    "Custom Comments Package",
    "Mentions",
    "Mentions with Hashtags",
    "Mentions Custom List",
    "Mentions Hashtag",
    "Mentions User Followers",
    "Mentions Media Likers",
    "Comment Likes",
    "Comment Replies",
    "Poll",
    "Subscriptions",
    "Invites from Groups",
    "Special (1DG)",
    "Special 1 (1DG)",
)
_SERVICE_TYPE_BY_KEY = {name.casefold(): name for name in SERVICE_TYPES}

_HEADERS = {"Accept": "application/json", "User-Agent": "smm-panel (API v2 client)"}
_RESERVED_FIELDS = frozenset({"key", "action"})
_SUCCESS_WORDS = frozenset({"success", "ok"})
_FAILURE_WORDS = frozenset({"error", "fail", "failed"})
_TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", ""})
_IN_STOCK = frozenset({"instock", "available"})
_OUT_OF_STOCK = frozenset({"outofstock", "soldout", "unavailable"})
# Failures that happen before a single byte of the request leaves: DNS, refused connection,
# connect timeout, a certificate we reject.
_NOT_SENT_CAUSES = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    ConnectionRefusedError,
    socket.gaierror,
    ssl.SSLCertVerificationError,
)

T = TypeVar("T")


@dataclass(frozen=True)
class UpstreamService:
    service_id: str
    name: str
    type: str
    category: str
    rate: Decimal
    min: int
    max: int
    refill: bool
    cancel: bool
    dripfeed: bool
    description: str
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class UpstreamProduct:
    product_id: str
    name: str
    require: str | None
    rate: Decimal
    min: int
    max: int
    category: str
    status: str | None
    in_stock: bool | None
    inventory: int | None
    type: str | None
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class AddResult:
    order_id: str
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class OrderStatusResult:
    order_id: str
    status: OrderStatus | None
    raw_status: str
    charge: Decimal | None
    start_count: int | None
    remains: int | None
    currency: str | None
    error: str | None
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class RefillResult:
    order_id: str
    refill_id: str | None
    error: str | None
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class RefillStatusResult:
    refill_id: str
    status: RefillStatus | None
    raw_status: str
    error: str | None
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class CancelResult:
    order_id: str
    cancel_id: str | None
    error: str | None
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class BalanceResult:
    balance: Decimal
    currency: str
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ProductOrderStatusResult:
    order_id: str
    status: OrderStatus | None
    raw_status: str
    charge: Decimal | None
    result: str | None
    note: str | None
    error: str | None
    raw: Any = field(default=None, compare=False, repr=False)


def chunked(ids: Iterable[T], size: int = CHUNK_SIZE) -> Iterator[list[T]]:
    """`ids` in lists of at most `size`, in order."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    chunk: list[T] = []
    for item in ids:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class ProviderClient:
    """One upstream provider: its URL, key and dialect, and a typed method per protocol action."""

    def __init__(
        self,
        *,
        url: str,
        key: str,
        name: str = "",
        dialect: str = "standard",
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        session: requests.Session | None = None,
    ) -> None:
        key = (key or "").strip()
        if not key:
            raise ValueError("The provider's API key is empty.")
        self._key = key
        # The key as it may appear in a body or URL (raw or form-encoded), longest first.
        self._secrets = sorted({key, quote_plus(key), quote(key, safe="")}, key=len, reverse=True)
        self.url = (url or "").strip()
        parts = urlsplit(self.url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"The provider URL must be an http:// or https:// address, not {self._scrub(self.url)!r}.")
        if dialect not in DIALECTS:
            raise ValueError(f"Unknown provider dialect {dialect!r}; expected one of {', '.join(DIALECTS)}.")
        self.name = name or parts.hostname
        self.dialect = dialect
        self.connect_timeout = float(settings.PROVIDER_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout)
        self.read_timeout = float(settings.PROVIDER_READ_TIMEOUT if read_timeout is None else read_timeout)
        self.retries = int(settings.PROVIDER_SAFE_RETRIES if retries is None else retries)
        self.backoff = float(settings.PROVIDER_RETRY_BACKOFF if backoff is None else backoff)
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("Provider timeouts must be positive: a request without a timeout can hang a worker.")
        if self.retries < 0 or self.backoff < 0:
            raise ValueError("Provider retries and backoff cannot be negative.")
        self._owns_session = session is None
        self._session = session or requests.Session()

    def __repr__(self) -> str:
        return f"ProviderClient(name={self.name!r}, url={self._scrub(self.url)!r}, dialect={self.dialect!r})"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> "ProviderClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def supports(self, action: str) -> bool:
        """Whether this provider's dialect documents `action` (e.g. "cancel", "products")."""
        return action in DIALECT_ACTIONS[self.dialect]

    # Actions

    def detect_dialect(self) -> str:
        """Which dialect the upstream speaks: a success wrapper on balance is "002", a products list "003"."""
        if _is_success_wrapper(self._request("balance", {})):
            return "002"
        try:
            products = _unwrap(self._request("products", {}), status_is_data=False)
        except ProviderError as error:
            # Providers without products answer the action with an error: that is the answer.
            logger.info("%s: no products action (%s); standard dialect", self.name, error)
            return "standard"
        return "003" if isinstance(products, list) else "standard"

    def services(self) -> list[UpstreamService]:
        """The upstream catalogue; a service we cannot use (no rate, bad min/max) is skipped and logged."""
        entries = self._entries("services", self._payload("services", {}))
        services = []
        for entry in entries:
            try:
                services.append(self._service(entry))
            except (ValueError, TypeError) as error:
                logger.warning("%s services: skipped %s: %s", self.name, self._describe_entry(entry, "service"), error)
        return services

    def add(
        self, *, service: str | int, link: str | None = None, quantity: int | None = None, **fields: Any
    ) -> AddResult:
        """Place an order. Sent exactly once, never retried: see the module docstring.

        `fields` are the order-type parameters of the protocol (runs, interval, comments,
        usernames, hashtags, username, min, max, posts, old_posts, delay, expiry, groups, list,
        suggest, search, answer_number, media, ...); None values are not sent and lists are
        joined with newlines, as the protocol's list parameters expect.
        """
        reserved = sorted(_RESERVED_FIELDS & fields.keys())
        if reserved:
            raise TypeError(f"add() cannot take {', '.join(reserved)} as an order field")
        params = _form({"service": _id(service), "link": link, "quantity": quantity, **fields})
        return self._add_result("add", self._payload("add", params))

    def status(self, order_id: str | int) -> OrderStatusResult:
        order_id = _id(order_id)
        payload = self._payload("status", {"order": order_id}, status_is_data=True)
        return self._order_status(order_id, self._single_entry("status", payload, order_id))

    def statuses(self, order_ids: Iterable[str | int]) -> dict[str, OrderStatusResult]:
        """Statuses of many orders, CHUNK_SIZE per request; ids the upstream leaves out get an error result."""
        results: dict[str, OrderStatusResult] = {}
        for chunk in chunked(_unique_ids(order_ids)):
            payload = self._payload("status", {"orders": ",".join(chunk)}, status_is_data=True)
            entries = self._entries_by_id("status", payload, chunk, id_field="order")
            for order_id in chunk:
                if order_id in entries:
                    results[order_id] = self._order_status(order_id, entries[order_id])
                else:
                    results[order_id] = OrderStatusResult(
                        order_id, None, "", None, None, None, None, MISSING_FROM_ANSWER
                    )
        return results

    def refill(self, order_id: str | int) -> RefillResult:
        """Ask for a refill of one order. Never retried."""
        order_id = _id(order_id)
        payload = self._payload("refill", {"order": order_id})
        entry = self._single_entry("refill", payload, order_id, marker="refill")
        if not isinstance(entry, dict) or ("refill" not in entry and not entry.get("error")):
            # The upstream may have accepted the refill: an answer without its id is not a refusal.
            raise self._shape_error("refill", "an object with the refill id", payload)
        return self._refill_result(order_id, entry)

    def refills(self, order_ids: Iterable[str | int]) -> dict[str, RefillResult]:
        """Ask for refills of many orders, CHUNK_SIZE per request. Never retried."""
        results: dict[str, RefillResult] = {}
        for chunk in chunked(_unique_ids(order_ids)):
            payload = self._payload("refill", {"orders": ",".join(chunk)})
            entries = self._entries_by_id("refill", payload, chunk, id_field="order", marker="refill")
            for order_id in chunk:
                entry = entries.get(order_id)
                results[order_id] = (
                    self._refill_result(order_id, entry)
                    if entry is not None
                    else RefillResult(order_id, None, MISSING_FROM_ANSWER)
                )
        return results

    def refill_status(self, refill_id: str | int) -> RefillStatusResult:
        refill_id = _id(refill_id)
        payload = self._payload("refill_status", {"refill": refill_id}, status_is_data=True)
        return self._refill_status(refill_id, self._single_entry("refill_status", payload, refill_id))

    def refill_statuses(self, refill_ids: Iterable[str | int]) -> dict[str, RefillStatusResult]:
        results: dict[str, RefillStatusResult] = {}
        for chunk in chunked(_unique_ids(refill_ids)):
            payload = self._payload("refill_status", {"refills": ",".join(chunk)}, status_is_data=True)
            entries = self._entries_by_id("refill_status", payload, chunk, id_field="refill")
            for refill_id in chunk:
                entry = entries.get(refill_id)
                results[refill_id] = (
                    self._refill_status(refill_id, entry)
                    if entry is not None
                    else RefillStatusResult(refill_id, None, "", MISSING_FROM_ANSWER)
                )
        return results

    def cancel(self, order_ids: Iterable[str | int]) -> dict[str, CancelResult]:
        """Ask the upstream to cancel orders, CHUNK_SIZE per request. Never retried."""
        results: dict[str, CancelResult] = {}
        for chunk in chunked(_unique_ids(order_ids)):
            payload = self._payload("cancel", {"orders": ",".join(chunk)})
            entries = self._entries_by_id("cancel", payload, chunk, id_field="order", marker="cancel")
            for order_id in chunk:
                entry = entries.get(order_id)
                if entry is None:
                    results[order_id] = CancelResult(order_id, None, MISSING_FROM_ANSWER)
                    continue
                cancel_id, error = self._id_or_error(entry, "cancel")
                results[order_id] = CancelResult(order_id, cancel_id, error, raw=entry)
        return results

    def balance(self) -> BalanceResult:
        payload = self._payload("balance", {})
        if not isinstance(payload, dict) or "balance" not in payload:
            raise self._shape_error("balance", "an object with a balance", payload)
        try:
            amount = money_parse(payload["balance"])
        except ValueError:
            raise self._shape_error("balance", "a balance amount", payload) from None
        return BalanceResult(amount, _text(payload.get("currency")), raw=payload)

    def products(self) -> list[UpstreamProduct]:
        """Seed 003's product catalogue (accounts, subscriptions); unusable entries are skipped and logged."""
        entries = self._entries("products", self._payload("products", {}))
        products = []
        for entry in entries:
            try:
                products.append(self._product(entry))
            except (ValueError, TypeError) as error:
                logger.warning("%s products: skipped %s: %s", self.name, self._describe_entry(entry, "product"), error)
        return products

    def add_product_order(self, *, product: str | int, quantity: int, require: str) -> AddResult:
        """Order a product (seed 003). Never retried."""
        params = _form({"product": _id(product), "quantity": quantity, "require": require})
        return self._add_result("add_product_order", self._payload("add_product_order", params))

    def product_order_status(self, order_id: str | int) -> ProductOrderStatusResult:
        order_id = _id(order_id)
        payload = self._payload("product_order_status", {"order": order_id}, status_is_data=True)
        return self._product_order_status(order_id, self._single_entry("product_order_status", payload, order_id))

    def product_order_statuses(self, order_ids: Iterable[str | int]) -> dict[str, ProductOrderStatusResult]:
        results: dict[str, ProductOrderStatusResult] = {}
        for chunk in chunked(_unique_ids(order_ids)):
            payload = self._payload("product_order_status", {"orders": ",".join(chunk)}, status_is_data=True)
            entries = self._entries_by_id("product_order_status", payload, chunk, id_field="order")
            for order_id in chunk:
                entry = entries.get(order_id)
                results[order_id] = (
                    self._product_order_status(order_id, entry)
                    if entry is not None
                    else ProductOrderStatusResult(order_id, None, "", None, None, None, MISSING_FROM_ANSWER)
                )
        return results

    # Transport

    def _payload(self, action: str, params: Mapping[str, str], *, status_is_data: bool = False) -> Any:
        return _unwrap(self._request(action, params, status_is_data=status_is_data), status_is_data=status_is_data)

    def _request(self, action: str, params: Mapping[str, str], *, status_is_data: bool = False) -> Any:
        """The decoded answer to one action, retried with backoff only when the action is safe."""
        attempts = 1 + (self.retries if action in SAFE_ACTIONS else 0)
        attempt = 1
        while True:
            try:
                return self._request_once(action, params, status_is_data=status_is_data)
            except (ProviderUnreachable, ProviderBadResponse) as error:
                if attempt >= attempts or not _is_temporary(error):
                    raise
                delay = self.backoff * 2 ** (attempt - 1)
                logger.warning("%s; retry %d of %d in %.1fs", error, attempt, attempts - 1, delay)
                time.sleep(delay)
                attempt += 1

    def _request_once(self, action: str, params: Mapping[str, str], *, status_is_data: bool) -> Any:
        started = time.monotonic()
        status_code, location, body = self._post(action, params)
        logger.debug("%s %s: HTTP %s in %.2fs", self.name, action, status_code, time.monotonic() - started)
        # The protocol is UTF-8 whatever the Content-Type says; a stray BOM is common from PHP panels.
        text = body.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
        excerpt = self._excerpt(text)
        context = {"provider": self.name, "action": action, "excerpt": excerpt}
        if 300 <= status_code < 400:
            target = self._clean(location) or "an unnamed location"
            raise ProviderBadResponse(
                f"HTTP {status_code}: redirected to {target}; redirects are not followed, so fix the provider URL",
                http_status=status_code,
                **context,
            )
        if status_code >= 500 or status_code < 200:
            raise ProviderBadResponse(f"HTTP {status_code}", http_status=status_code, **context)
        if status_code >= 400:
            # Some panels answer a bad key or a refusal with 4xx and a JSON error: that is a refusal.
            try:
                payload = self._decode(action, text, excerpt)
            except ProviderBadResponse:
                raise ProviderBadResponse(f"HTTP {status_code}", http_status=status_code, **context) from None
            self._raise_refusal(action, payload, excerpt, status_is_data=status_is_data)
            raise ProviderBadResponse(f"HTTP {status_code}", http_status=status_code, **context)
        payload = self._decode(action, text, excerpt)
        self._raise_refusal(action, payload, excerpt, status_is_data=status_is_data)
        return payload

    def _post(self, action: str, params: Mapping[str, str]) -> tuple[int, str, bytes]:
        data = {"key": self._key, "action": action, **params}
        try:
            response = self._session.post(
                self.url,
                data=data,
                headers=_HEADERS,
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
                verify=True,
                stream=True,
            )
        except requests.RequestException as error:
            # `from None`: the requests exception carries the prepared request, key included;
            # what it says is kept, scrubbed, in our message.
            raise self._transport_error(action, error) from None
        try:
            body = self._read_body(action, response)
        except requests.RequestException as error:
            raise self._transport_error(action, error) from None
        finally:
            response.close()
        return response.status_code, response.headers.get("Location", ""), body

    def _read_body(self, action: str, response: requests.Response) -> bytes:
        chunks = []
        size = 0
        for chunk in response.iter_content(chunk_size=64 * 1024):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ProviderBadResponse(
                    f"the answer is larger than {MAX_BODY_BYTES} bytes",
                    http_status=response.status_code,
                    provider=self.name,
                    action=action,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _transport_error(self, action: str, error: requests.RequestException) -> ProviderUnreachable:
        sent = not _never_reached_upstream(error)
        reason = self._clean(_transport_reason(error))
        if isinstance(error, requests.exceptions.ConnectTimeout):
            detail = f"could not connect within {self.connect_timeout:g}s"
        elif isinstance(error, requests.exceptions.ReadTimeout):
            detail = f"no answer within {self.read_timeout:g}s after the request was sent"
        elif not sent:
            detail = f"could not connect ({reason})"
        else:
            detail = f"the connection failed after the request was sent ({reason})"
        return ProviderUnreachable(detail, provider=self.name, action=action, request_sent=sent)

    def _decode(self, action: str, text: str, excerpt: str) -> Any:
        context = {"provider": self.name, "action": action, "excerpt": excerpt}
        if not text:
            raise ProviderBadResponse("an empty answer instead of JSON", **context)
        try:
            return loads(text)
        except ValueError:
            pass
        if text.startswith("<"):
            raise ProviderBadResponse("an HTML page instead of JSON", **context)
        try:
            payload = loads_lenient(text)
        except ValueError:
            raise ProviderBadResponse("an answer that is not JSON", **context) from None
        logger.warning("%s %s: invalid JSON answer repaired (missing commas, bare words)", self.name, action)
        return payload

    def _raise_refusal(self, action: str, payload: Any, excerpt: str, *, status_is_data: bool) -> None:
        message = _refusal_message(payload, status_is_data=status_is_data)
        if message is not None:
            raise ProviderRefused(self._clean(message), provider=self.name, action=action, excerpt=excerpt)

    # Parsing

    def _order_status(self, order_id: str, entry: Any) -> OrderStatusResult:
        error = self._entry_error(entry)
        if error is not None:
            return OrderStatusResult(order_id, None, "", None, None, None, None, error, raw=entry)
        raw_status = self._clean(_text(entry.get("status")), limit=100)
        status = normalize_order_status(raw_status)
        if status is None:
            self._unknown_status("order", order_id, raw_status)
        return OrderStatusResult(
            order_id=order_id,
            status=status,
            raw_status=raw_status,
            charge=self._optional(money_parse, entry, "charge", order_id),
            start_count=self._optional(_int, entry, "start_count", order_id),
            remains=self._optional(_int, entry, "remains", order_id),
            currency=_text(entry.get("currency")) or None,
            error=None,
            raw=entry,
        )

    def _refill_result(self, order_id: str, entry: Any) -> RefillResult:
        refill_id, error = self._id_or_error(entry, "refill")
        return RefillResult(order_id, refill_id, error, raw=entry)

    def _refill_status(self, refill_id: str, entry: Any) -> RefillStatusResult:
        error = self._entry_error(entry)
        if error is not None:
            return RefillStatusResult(refill_id, None, "", error, raw=entry)
        raw_status = self._clean(_text(entry.get("status")), limit=100)
        status = normalize_refill_status(raw_status)
        if status is None:
            self._unknown_status("refill", refill_id, raw_status)
        return RefillStatusResult(refill_id, status, raw_status, None, raw=entry)

    def _product_order_status(self, order_id: str, entry: Any) -> ProductOrderStatusResult:
        error = self._entry_error(entry)
        if error is not None:
            return ProductOrderStatusResult(order_id, None, "", None, None, None, error, raw=entry)
        raw_status = self._clean(_text(entry.get("status")), limit=100)
        status = normalize_order_status(raw_status)
        if status is None:
            self._unknown_status("product order", order_id, raw_status)
        return ProductOrderStatusResult(
            order_id=order_id,
            status=status,
            raw_status=raw_status,
            charge=self._optional(money_parse, entry, "charge", order_id),
            # A product's result is what the customer bought (accounts, codes): kept whole, line by line.
            result=self._clean(_text(entry.get("result")), limit=PRODUCT_RESULT_LIMIT, keep_lines=True) or None,
            note=self._clean(_text(entry.get("note")), limit=PRODUCT_RESULT_LIMIT, keep_lines=True) or None,
            error=None,
            raw=entry,
        )

    def _service(self, entry: Any) -> UpstreamService:
        if not isinstance(entry, dict):
            raise ValueError(f"not an object: {entry!r}")
        minimum, maximum = _int(entry.get("min")), _int(entry.get("max"))
        if minimum < 0 or maximum < minimum:
            raise ValueError(f"unusable min/max {minimum}/{maximum}")
        return UpstreamService(
            service_id=_id(_first(entry, "service", "id", "service_id")),
            name=_text(entry.get("name")),
            type=_service_type(entry.get("type")),
            category=_text(entry.get("category")),
            rate=_rate(entry.get("rate")),
            min=minimum,
            max=maximum,
            refill=self._flag(entry, "refill"),
            cancel=self._flag(entry, "cancel"),
            dripfeed=self._flag(entry, "dripfeed"),
            description=_text(_first(entry, "desc", "description")),
            raw=entry,
        )

    def _product(self, entry: Any) -> UpstreamProduct:
        if not isinstance(entry, dict):
            raise ValueError(f"not an object: {entry!r}")
        product_id = _id(_first(entry, "product", "id", "product_id"))
        minimum, maximum = _int(entry.get("min")), _int(entry.get("max"))
        if minimum < 0 or maximum < minimum:
            raise ValueError(f"unusable min/max {minimum}/{maximum}")
        stock_status = _text(entry.get("status")) or None
        return UpstreamProduct(
            product_id=product_id,
            name=_text(entry.get("name")),
            require=_text(entry.get("require")) or None,
            rate=_rate(entry.get("rate")),
            min=minimum,
            max=maximum,
            category=_text(entry.get("category")),
            status=stock_status,
            in_stock=_in_stock(stock_status),
            inventory=self._optional(_int, entry, "inventory", product_id),
            type=_text(entry.get("type")) or None,
            raw=entry,
        )

    def _add_result(self, action: str, payload: Any) -> AddResult:
        if not isinstance(payload, dict) or payload.get("order") in (None, ""):
            # The upstream may have created the order: an answer without its id is not a refusal.
            raise self._shape_error(action, "an object with the new order id", payload)
        try:
            return AddResult(_id(payload["order"]), raw=payload)
        except ValueError:
            raise self._shape_error(action, "an order id", payload) from None

    def _entries(self, action: str, payload: Any) -> list[Any]:
        if isinstance(payload, list):
            return payload
        # A few panels key their catalogue by id instead of listing it.
        if isinstance(payload, dict) and payload and all(isinstance(value, dict) for value in payload.values()):
            return list(payload.values())
        raise self._shape_error(action, "a list", payload)

    def _single_entry(self, action: str, payload: Any, item_id: str, *, marker: str = "status") -> Any:
        """The object about `item_id` in a single-id answer, also when a panel keys it by id."""
        if not isinstance(payload, dict):
            raise self._shape_error(action, "an object", payload)
        if marker not in payload and item_id in payload:
            return payload[item_id]
        return payload

    def _entries_by_id(
        self, action: str, payload: Any, chunk: list[str], *, id_field: str, marker: str = "status"
    ) -> dict[str, Any]:
        """A multi-id answer as {id: entry}: seeds key statuses by id and list refills/cancels."""
        if isinstance(payload, dict):
            entries = {str(key).strip(): value for key, value in payload.items()}
            single_form = marker in entries and not (marker == "status" and _is_success_wrapper(payload))
            if len(chunk) == 1 and chunk[0] not in entries and single_form:
                # A panel that answers a one-id list in the single-id form.
                return {chunk[0]: payload}
            return entries
        if isinstance(payload, list):
            entries = {}
            for entry in payload:
                try:
                    entries[_id(entry[id_field])] = entry
                except (KeyError, TypeError, ValueError):
                    logger.warning("%s %s: ignored an entry without %s: %r", self.name, action, id_field, entry)
            return entries
        raise self._shape_error(action, "an object or a list", payload)

    def _entry_error(self, entry: Any) -> str | None:
        """The per-id error of an entry: `{"error": ...}` (seed 000), a bare string (seed 002),
        or `{"status": {"error": ...}}` (refill status)."""
        if isinstance(entry, str):
            return self._clean(entry) or "an empty answer"
        if not isinstance(entry, dict):
            return f"an unexpected answer: {self._clean(repr(entry), limit=100)}"
        if entry.get("error"):
            return self._clean(_error_text(entry["error"]))
        if isinstance(entry.get("status"), dict | list):
            return self._clean(_error_text(entry["status"]))
        return None

    def _id_or_error(self, entry: Any, field_name: str) -> tuple[str | None, str | None]:
        """`{"refill": 1}` / `{"cancel": {"error": "..."}}`: the new id, or the reason there is none."""
        if not isinstance(entry, dict):
            # Keyed answers may hold the bare value: {"9": 1} or {"9": "Incorrect order ID"}.
            entry = {field_name: entry}
        if entry.get("error"):
            return None, self._clean(_error_text(entry["error"]))
        value = entry.get(field_name)
        if value is None or value == "":
            return None, f"no {field_name} id in the provider's answer"
        if value is True:
            return None, None
        if value is False:
            return None, f"{field_name} refused without a reason"
        if isinstance(value, dict | list):
            return None, self._clean(_error_text(value))
        if isinstance(value, str) and any(character.isspace() for character in value.strip()):
            # Ids never contain spaces; a sentence here is the upstream's error.
            return None, self._clean(value)
        try:
            return _id(value), None
        except ValueError:
            return None, f"an unexpected {field_name} value: {self._clean(repr(value), limit=100)}"

    def _optional(self, parse: Callable[[Any], T], entry: dict, key: str, item_id: str) -> T | None:
        """An optional field: absent or empty is None, and so is an unreadable one (logged)."""
        value = entry.get(key)
        if value is None or value == "":
            return None
        try:
            return parse(value)
        except (ValueError, TypeError):
            logger.warning("%s: unreadable %s %s for %s", self.name, key, self._clean(repr(value), limit=100), item_id)
            return None

    def _flag(self, entry: dict, key: str) -> bool:
        try:
            return _bool(entry.get(key))
        except ValueError:
            logger.warning("%s: unreadable flag %s=%r, taken as false", self.name, key, entry.get(key))
            return False

    def _unknown_status(self, what: str, item_id: str, raw_status: str) -> None:
        logger.warning("%s: unknown %s status %r for %s; left unchanged", self.name, what, raw_status, item_id)

    def _describe_entry(self, entry: Any, id_field: str) -> str:
        if isinstance(entry, dict) and entry.get(id_field) is not None:
            return f"{id_field} {self._clean(str(entry[id_field]), limit=50)}"
        return f"an entry {self._clean(repr(entry), limit=100)}"

    def _shape_error(self, action: str, expected: str, payload: Any) -> ProviderBadResponse:
        shown = json.dumps(payload, ensure_ascii=False, default=str)
        return ProviderBadResponse(
            f"unexpected answer: expected {expected}", provider=self.name, action=action, excerpt=self._excerpt(shown)
        )

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _excerpt(self, text: str) -> str:
        # ProviderError cuts it to EXCERPT_LIMIT and marks the cut; the bound keeps a huge body cheap.
        return self._clean(text, limit=4 * EXCERPT_LIMIT)

    def _clean(self, text: str, *, limit: int = 200, keep_lines: bool = False) -> str:
        """Upstream text made safe to show and store: no key, no control characters, no NUL
        (PostgreSQL refuses it), one line unless `keep_lines`, at most `limit` characters."""
        # Scrub the whole text before cutting it, so that no part of the key survives at the cut.
        text = self._scrub(text)[: 4 * limit]
        if keep_lines:
            text = "".join(character for character in text if character.isprintable() or character in "\n\t").strip()
        else:
            text = " ".join("".join(character if character.isprintable() else " " for character in text).split())
        return text[:limit]


def _is_temporary(error: ProviderError) -> bool:
    if isinstance(error, ProviderUnreachable):
        return True
    return isinstance(error, ProviderBadResponse) and (error.http_status or 0) >= 500


def _never_reached_upstream(error: BaseException) -> bool:
    """True only when the failure certainly happened before the request was sent."""
    if isinstance(error, requests.exceptions.ReadTimeout):
        return False
    if isinstance(error, requests.exceptions.ConnectTimeout | requests.exceptions.InvalidURL):
        return True
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _NOT_SENT_CAUSES):
            return True
        # requests wraps urllib3's MaxRetryError (args[0]), which names the real failure in `reason`.
        linked = [*current.args, getattr(current, "reason", None), current.__cause__]
        pending.extend(item for item in linked if isinstance(item, BaseException))
    return False


def _transport_reason(error: BaseException) -> str:
    inner = error.args[0] if error.args and isinstance(error.args[0], BaseException) else error
    reason = getattr(inner, "reason", None)
    shown = reason if isinstance(reason, BaseException) else inner
    return " ".join(f"{type(shown).__name__}: {shown}".split())


def _refusal_message(payload: Any, *, status_is_data: bool) -> str | None:
    """The upstream's refusal in a top-level answer, or None.

    `{"error": "..."}` (all seeds) or `{"status": "error"|"fail", "message"|"error": "..."}`.
    Where `status` is the data (status actions) a failure word alone is an unknown status, not a refusal.
    """
    if not isinstance(payload, dict):
        return None
    if payload.get("error"):
        return _error_text(payload["error"])
    status = payload.get("status")
    if isinstance(status, str) and status.strip().casefold() in _FAILURE_WORDS:
        for key in ("message", "msg"):
            if payload.get(key):
                return _error_text(payload[key])
        if not status_is_data:
            return status.strip()
    return None


def _is_success_wrapper(payload: Any) -> bool:
    status = payload.get("status") if isinstance(payload, dict) else None
    return isinstance(status, str) and status.strip().casefold() in _SUCCESS_WORDS


def _unwrap(payload: Any, *, status_is_data: bool) -> Any:
    """The answer without seed 002's `{"status": "success", ...}` wrapper.

    For status actions `status` is the order's own status, so only a `data` wrapper is removed.
    """
    if not _is_success_wrapper(payload):
        return payload
    if "data" in payload:
        return payload["data"]
    if status_is_data:
        return payload
    return {key: value for key, value in payload.items() if key != "status"}


def _error_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        for key in ("message", "error", "msg", "description"):
            if value.get(key):
                return _error_text(value[key])
    if isinstance(value, list):
        return "; ".join(_error_text(item) for item in value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _unique_ids(ids: Iterable[str | int]) -> list[str]:
    if isinstance(ids, str | int):
        raise TypeError("pass a list of ids, not a single id")
    return list(dict.fromkeys(_id(item) for item in ids))


def _form(params: Mapping[str, Any]) -> dict[str, str]:
    """Form fields for the protocol: None is left out, lists become newline-separated text."""
    form = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            value = "\n".join(str(item) for item in value)
        elif isinstance(value, bool):
            value = "1" if value else "0"
        form[key] = str(value)
    return form


def _first(entry: dict, *keys: str) -> Any:
    for key in keys:
        if entry.get(key) not in (None, ""):
            return entry[key]
    return None


def _id(value: Any) -> str:
    """Ids come as 23501 or "23501"; they are kept as text."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an id: {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    if isinstance(value, str):
        text = value.strip()
        if text and not any(character.isspace() for character in text):
            return text
    raise ValueError(f"not an id: {value!r}")


def _int(value: Any) -> int:
    """Counts come as 50, "50" or "-2" (seed 003's remains); 50.0 is accepted, 50.5 is not."""
    if isinstance(value, bool):
        raise ValueError(f"not a whole number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = value.strip()
    try:
        number = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise ValueError(f"not a whole number: {value!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


def _rate(value: Any) -> Decimal:
    rate = money_parse(value)
    if rate < 0:
        raise ValueError(f"negative rate {value!r}")
    return rate


def _bool(value: Any) -> bool:
    """Flags come as true, 1, "1", "true", "yes"; absent means no."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | Decimal):
        return value != 0
    if isinstance(value, str) and value.strip().casefold() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().casefold() in _TRUE_WORDS
    raise ValueError(f"not a flag: {value!r}")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def _service_type(value: Any) -> str:
    text = " ".join(_text(value).split())
    if not text:
        return "Default"
    return _SERVICE_TYPE_BY_KEY.get(text.casefold(), text)


def _in_stock(status: str | None) -> bool | None:
    folded = "".join((status or "").split()).casefold()
    if folded in _IN_STOCK:
        return True
    if folded in _OUT_OF_STOCK:
        return False
    return None
