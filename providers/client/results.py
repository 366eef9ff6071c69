"""What the client answers: typed results whose text is already clean.

Every text field comes from the upstream, so the client cleans it before it lands here: the API
key scrubbed out, no control characters (PostgreSQL refuses NUL), one line except where lines
mean something (descriptions, a product's result), and at most the length below, which fits the
columns that store it. `raw` keeps the entry as the upstream sent it, for debugging only: it is
never stored or shown.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from providers.statuses import OrderStatus, RefillStatus

__all__ = [
    "MISSING_FROM_ANSWER",
    "TEXT_LIMITS",
    "AddResult",
    "BalanceResult",
    "CancelResult",
    "OrderStatusResult",
    "ProductOrderStatusResult",
    "RefillResult",
    "RefillStatusResult",
    "UpstreamProduct",
    "UpstreamService",
]

MISSING_FROM_ANSWER = "missing from the provider's answer"

# The longest text each field may hold, in characters: the narrowest column it is stored in
# (the snapshot's or the catalog's).
TEXT_LIMITS = {
    "name": 500,
    "type": 100,
    "category": 255,
    "description": 5000,
    "require": 500,
    "status": 100,
    "error": 200,
    "currency": 8,
    # A product's result lists what was bought (one account per line); far longer is not a result.
    "result": 64 * 1024,
}


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

    @classmethod
    def failed(cls, order_id: str, error: str, raw: Any = None) -> "OrderStatusResult":
        return cls(order_id, None, "", None, None, None, None, error, raw=raw)


@dataclass(frozen=True)
class RefillResult:
    order_id: str
    refill_id: str | None
    error: str | None
    raw: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def failed(cls, order_id: str, error: str, raw: Any = None) -> "RefillResult":
        return cls(order_id, None, error, raw=raw)


@dataclass(frozen=True)
class RefillStatusResult:
    refill_id: str
    status: RefillStatus | None
    raw_status: str
    error: str | None
    raw: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def failed(cls, refill_id: str, error: str, raw: Any = None) -> "RefillStatusResult":
        return cls(refill_id, None, "", error, raw=raw)


@dataclass(frozen=True)
class CancelResult:
    order_id: str
    cancel_id: str | None
    error: str | None
    raw: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def failed(cls, order_id: str, error: str, raw: Any = None) -> "CancelResult":
        return cls(order_id, None, error, raw=raw)


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

    @classmethod
    def failed(cls, order_id: str, error: str, raw: Any = None) -> "ProductOrderStatusResult":
        return cls(order_id, None, "", None, None, None, error, raw=raw)
