"""`ProviderClient`: one typed method per action of the API v2 protocol."""

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings

from providers.client import parsing
from providers.client.parsing import Reading, chunked, unique_ids
from providers.client.results import (
    AddResult,
    BalanceResult,
    CancelResult,
    OrderStatusResult,
    ProductOrderStatusResult,
    RefillResult,
    RefillStatusResult,
    UpstreamProduct,
    UpstreamService,
)
from providers.client.transport import NOT_UPSTREAM_FAULTS, Scrubber, Transport
from providers.errors import ProviderBadResponse, ProviderError, ProviderRefused

__all__ = ["DIALECTS", "ProviderClient"]

logger = logging.getLogger("providers.client")

R = TypeVar("R")

DIALECTS = ("standard", "002", "003")
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
_RESERVED_FIELDS = frozenset({"key", "action"})


@dataclass(frozen=True)
class _PerIdAction:
    """How an action takes many ids (`orders=1,2,3`) and how its answer names each one."""

    id_param: str
    id_field: str
    # The field whose presence marks a one-id list answered in the single-id form.
    marker: str
    # Whether `status` in the answer is the item's status (so a failure word is not a refusal).
    status_is_data: bool


_PER_ID_ACTIONS = {
    "status": _PerIdAction("orders", "order", "status", status_is_data=True),
    "refill": _PerIdAction("orders", "order", "refill", status_is_data=False),
    "refill_status": _PerIdAction("refills", "refill", "status", status_is_data=True),
    "cancel": _PerIdAction("orders", "order", "cancel", status_is_data=False),
    "product_order_status": _PerIdAction("orders", "order", "status", status_is_data=True),
}


class ProviderClient:
    """One upstream provider: its URL, key and dialect, and a typed method per protocol action.

    Every method returns typed results with clean text or raises a `ProviderError` naming this
    provider and the action: whatever the upstream sends (garbage, a bomb, a dripped or endless
    body, a hang), nothing else escapes, and nothing takes longer than the deadline per request.
    """

    def __init__(
        self,
        *,
        url: str,
        key: str,
        name: str = "",
        dialect: str = "standard",
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        deadline: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        max_body: int | None = None,
        max_catalog_body: int | None = None,
        allow_private: bool | None = None,
    ) -> None:
        key = (key or "").strip()
        if not key:
            raise ValueError("The provider's API key is empty.")
        self._scrubber = Scrubber(key)
        self.url = (url or "").strip()
        parts = urlsplit(self.url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            shown = self._scrubber.scrub(self.url)
            raise ValueError(f"The provider URL must be an http:// or https:// address, not {shown!r}.")
        if dialect not in DIALECTS:
            raise ValueError(f"Unknown provider dialect {dialect!r}; expected one of {', '.join(DIALECTS)}.")
        self.name = name or parts.hostname
        self.dialect = dialect
        self.connect_timeout = float(settings.PROVIDER_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout)
        self.read_timeout = float(settings.PROVIDER_READ_TIMEOUT if read_timeout is None else read_timeout)
        self.deadline = float(settings.PROVIDER_REQUEST_DEADLINE if deadline is None else deadline)
        self.retries = int(settings.PROVIDER_SAFE_RETRIES if retries is None else retries)
        self.backoff = float(settings.PROVIDER_RETRY_BACKOFF if backoff is None else backoff)
        if self.connect_timeout <= 0 or self.read_timeout <= 0 or self.deadline <= 0:
            raise ValueError("Provider timeouts must be positive: a request without a timeout can hang a worker.")
        if self.retries < 0 or self.backoff < 0:
            raise ValueError("Provider retries and backoff cannot be negative.")
        self._transport = Transport(
            url=self.url,
            key=key,
            name=self.name,
            scrubber=self._scrubber,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            deadline=self.deadline,
            retries=self.retries,
            backoff=self.backoff,
            max_body=int(settings.PROVIDER_MAX_BODY_BYTES if max_body is None else max_body),
            max_catalog_body=int(settings.PROVIDER_MAX_CATALOG_BYTES if max_catalog_body is None else max_catalog_body),
            allow_private=bool(settings.PROVIDER_ALLOW_PRIVATE_URLS if allow_private is None else allow_private),
        )

    def __repr__(self) -> str:
        return f"ProviderClient(name={self.name!r}, url={self._scrubber.scrub(self.url)!r}, dialect={self.dialect!r})"

    def close(self) -> None:
        self._transport.close()

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
        if self._call("balance", {}, _is_success_wrapper, unwrap=False):
            return "002"
        try:
            lists_products = self._call("products", {}, _is_list)
        except ProviderError as error:
            # Providers without products answer the action with an error: that is the answer.
            logger.info("%s: no products action (%s); standard dialect", self.name, error)
            return "standard"
        return "003" if lists_products else "standard"

    def services(self) -> list[UpstreamService]:
        """The upstream catalogue; a service we cannot use (no rate, bad min/max) is skipped and logged."""
        return self._call("services", {}, functools.partial(_catalogue, read=parsing.service, what="service"))

    def products(self) -> list[UpstreamProduct]:
        """Seed 003's product catalogue (accounts, subscriptions); unusable entries are skipped and logged."""
        return self._call("products", {}, functools.partial(_catalogue, read=parsing.product, what="product"))

    def add(
        self, *, service: str | int, link: str | None = None, quantity: int | None = None, **fields: Any
    ) -> AddResult:
        """Place an order. Sent exactly once, never retried: a lost answer must become "needs review",
        never a second order.

        `fields` are the order-type parameters of the protocol (runs, interval, comments,
        usernames, hashtags, username, min, max, posts, old_posts, delay, expiry, groups, list,
        suggest, search, answer_number, media, ...); None values are not sent and lists are
        joined with newlines, as the protocol's list parameters expect.
        """
        reserved = sorted(_RESERVED_FIELDS & fields.keys())
        if reserved:
            raise TypeError(f"add() cannot take {', '.join(reserved)} as an order field")
        params = parsing.form({"service": parsing.to_id(service), "link": link, "quantity": quantity, **fields})
        return self._call("add", params, parsing.add_result)

    def add_product_order(self, *, product: str | int, quantity: int, require: str) -> AddResult:
        """Order a product (seed 003). Never retried."""
        params = parsing.form({"product": parsing.to_id(product), "quantity": quantity, "require": require})
        return self._call("add_product_order", params, parsing.add_result)

    def balance(self) -> BalanceResult:
        return self._call("balance", {}, parsing.balance)

    def statuses(self, order_ids: Iterable[str | int]) -> dict[str, OrderStatusResult]:
        """Statuses of many orders, PROTOCOL_BATCH per request; ids the upstream leaves out get an error result."""
        return self._per_id("status", order_ids, parsing.order_status, OrderStatusResult.failed)

    def refills(self, order_ids: Iterable[str | int]) -> dict[str, RefillResult]:
        """Ask for refills of many orders, PROTOCOL_BATCH per request. Never retried."""
        return self._per_id("refill", order_ids, parsing.refill_result, RefillResult.failed)

    def refill_statuses(self, refill_ids: Iterable[str | int]) -> dict[str, RefillStatusResult]:
        return self._per_id("refill_status", refill_ids, parsing.refill_status, RefillStatusResult.failed)

    def cancel(self, order_ids: Iterable[str | int]) -> dict[str, CancelResult]:
        """Ask the upstream to cancel orders, PROTOCOL_BATCH per request. Never retried."""
        return self._per_id("cancel", order_ids, parsing.cancel_result, CancelResult.failed)

    def product_order_statuses(self, order_ids: Iterable[str | int]) -> dict[str, ProductOrderStatusResult]:
        return self._per_id(
            "product_order_status", order_ids, parsing.product_order_status, ProductOrderStatusResult.failed
        )

    # One request and its answer

    def _per_id(
        self,
        action: str,
        ids: Iterable[str | int],
        read: Callable[[Reading, str, Any], R],
        missing: Callable[[str, str], R],
    ) -> dict[str, R]:
        """Results for every id, in order: one request per chunk of PROTOCOL_BATCH, each answer read per id."""
        spec = _PER_ID_ACTIONS[action]
        results: dict[str, R] = {}
        for chunk in chunked(unique_ids(ids)):
            read_chunk = functools.partial(
                parsing.per_id, ids=chunk, id_field=spec.id_field, marker=spec.marker, read=read, missing=missing
            )
            params = {spec.id_param: ",".join(chunk)}
            results.update(self._call(action, params, read_chunk, status_is_data=spec.status_is_data))
        return results

    def _call(
        self,
        action: str,
        params: Mapping[str, str],
        read: Callable[[Reading, Any], R],
        *,
        status_is_data: bool = False,
        unwrap: bool = True,
    ) -> R:
        """Send one request and read its answer with `read`.

        Whatever goes wrong while reading (a refusal, a wrong shape, a bomb that exhausts the
        recursion limit, a number too large to convert, any exception at all) ends as a
        ProviderError for this provider and this action.
        """
        answer = self._transport.request(action, params)
        reading = Reading(self._scrubber)
        context = {"provider": self.name, "action": action}
        http_status = answer.status if answer.status >= 400 else None
        try:
            payload = parsing.decode(answer.text, reading)
            message = parsing.refusal_message(payload, status_is_data=status_is_data)
            if message is not None:
                raise ProviderRefused(self._scrubber.clean(message), excerpt=self._excerpt(answer.text), **context)
            if http_status is not None:
                raise ProviderBadResponse(
                    f"HTTP {http_status}", http_status=http_status, excerpt=self._excerpt(answer.text), **context
                )
            if unwrap:
                payload = parsing.unwrap(payload, status_is_data=status_is_data)
            return read(reading, payload)
        except (ProviderError, *NOT_UPSTREAM_FAULTS):
            raise
        except parsing.AnswerError as error:
            # A 4xx whose body is no usable refusal: the status says more than the body.
            detail = f"HTTP {http_status}" if http_status is not None else error.detail
            raise ProviderBadResponse(
                detail, http_status=http_status, excerpt=self._excerpt(answer.text), **context
            ) from None
        except Exception as error:
            logger.warning("%s %s: unreadable answer (%s)", self.name, action, type(error).__name__)
            raise ProviderBadResponse(
                f"an answer the panel cannot read ({type(error).__name__})",
                http_status=http_status,
                excerpt=self._excerpt(answer.text),
                **context,
            ) from None
        finally:
            if reading.problems:
                logger.warning("%s %s: %s", self.name, action, reading.summary())

    def _excerpt(self, text: str) -> str:
        return self._scrubber.excerpt(text)


def _catalogue(reading: Reading, payload: Any, *, read: Callable[[Reading, Any], R], what: str) -> list[R]:
    return parsing.read_each(reading, parsing.entries(payload), read, what=what)


def _is_success_wrapper(reading: Reading, payload: Any) -> bool:
    return parsing.is_success_wrapper(payload)


def _is_list(reading: Reading, payload: Any) -> bool:
    return isinstance(payload, list)
