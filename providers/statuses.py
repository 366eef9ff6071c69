"""The order and refill statuses of the API v2 protocol, and the one place that reads upstream spellings.

Upstreams write the same status many ways ("Canceled", "Cancelled", "IN_PROGRESS", "pending",
"Partially completed"). A word we do not recognise is never guessed into a status: it gives None,
and an order with an unknown status simply stays where it is until a known status arrives.
"""

import re
from enum import StrEnum

__all__ = [
    "OrderStatus",
    "RefillStatus",
    "normalize_order_status",
    "normalize_refill_status",
]


class OrderStatus(StrEnum):
    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    PROCESSING = "Processing"
    COMPLETED = "Completed"
    PARTIAL = "Partial"
    CANCELED = "Canceled"
    REFUNDED = "Refunded"


class RefillStatus(StrEnum):
    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    COMPLETED = "Completed"
    REJECTED = "Rejected"
    CANCELED = "Canceled"


# Keys are spellings folded by `_fold` (lower case, no spaces, underscores or hyphens).
# Failure words ("fail", "failed", "error") are deliberately absent: they do not say whether
# the upstream charged or delivered anything, so they must not settle an order's money.
_ORDER_SYNONYMS: dict[str, OrderStatus] = {
    "pending": OrderStatus.PENDING,
    "awaiting": OrderStatus.PENDING,
    "queued": OrderStatus.PENDING,
    "waiting": OrderStatus.PENDING,
    "inprogress": OrderStatus.IN_PROGRESS,
    "active": OrderStatus.IN_PROGRESS,
    "processing": OrderStatus.PROCESSING,
    "completed": OrderStatus.COMPLETED,
    "complete": OrderStatus.COMPLETED,
    "success": OrderStatus.COMPLETED,
    "done": OrderStatus.COMPLETED,
    "partial": OrderStatus.PARTIAL,
    "partiallycompleted": OrderStatus.PARTIAL,
    "partialcompleted": OrderStatus.PARTIAL,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    # An upstream that "rejects" an order has not run it: the same money outcome as a cancel.
    "rejected": OrderStatus.CANCELED,
    "refunded": OrderStatus.REFUNDED,
}

_REFILL_SYNONYMS: dict[str, RefillStatus] = {
    "pending": RefillStatus.PENDING,
    "awaiting": RefillStatus.PENDING,
    "queued": RefillStatus.PENDING,
    "waiting": RefillStatus.PENDING,
    "inprogress": RefillStatus.IN_PROGRESS,
    "active": RefillStatus.IN_PROGRESS,
    # The refill protocol has no "Processing"; upstreams that say it mean the refill is running.
    "processing": RefillStatus.IN_PROGRESS,
    "completed": RefillStatus.COMPLETED,
    "complete": RefillStatus.COMPLETED,
    "success": RefillStatus.COMPLETED,
    "done": RefillStatus.COMPLETED,
    "rejected": RefillStatus.REJECTED,
    "canceled": RefillStatus.CANCELED,
    "cancelled": RefillStatus.CANCELED,
}

_SEPARATORS = re.compile(r"[\s_\-]+")


def _fold(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    return _SEPARATORS.sub("", raw).casefold()


def normalize_order_status(raw: object) -> OrderStatus | None:
    """The protocol status an upstream spelling means, or None when it is not a known one."""
    folded = _fold(raw)
    return _ORDER_SYNONYMS.get(folded) if folded else None


def normalize_refill_status(raw: object) -> RefillStatus | None:
    """The refill status an upstream spelling means, or None when it is not a known one."""
    folded = _fold(raw)
    return _REFILL_SYNONYMS.get(folded) if folded else None
