"""How each dialect writes its answers: the shapes, key orders and JSON types copied from the seeds.

- "standard": seeds 000, 001 and 004 (most panels).
- "002": seed 002: `"status": "success"` wrappers, string ids, lowercase statuses, 4-decimal charges,
  per-id errors of a batch as plain strings. The seed documents no refill or cancel; we answer them
  in the standard shapes with this dialect's habits (wrapper on single objects, plain-string errors).
- "003": seed 003: no currency in `status`, no `cancel` flag in `services`, "Incorrect refill ID",
  and the product actions with numbers (not strings) for money.
"""

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from providers.simulator.catalog import SUBSCRIPTION_DELAYS, SUBSCRIPTION_DELAYS_002, Product, Service

DIALECTS = ("standard", "002", "003")


def decimal_text(value: Decimal, places: int, *, trim: bool = False, rounding: str = ROUND_HALF_UP) -> str:
    """A fixed-point string ("0.27819"; "2.5" when trimmed), never an exponent."""
    text = f"{value.quantize(Decimal(1).scaleb(-places), rounding=rounding):f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def decimal_number(value: Decimal) -> int | float:
    """Seed 003 writes product money as JSON numbers: 7.5, 0."""
    return int(value) if value == value.to_integral_value() else float(value)


class Dialect:
    """The standard dialect; the others override what their seed shows differently."""

    name = "standard"
    refill_not_found = "Refill not found"
    processing_stage = False  # whether the first in-progress stage reads "Processing"
    has_products = False
    subscription_delays = SUBSCRIPTION_DELAYS

    def word(self, status: str) -> str:
        return status

    def service(self, service: Service) -> dict[str, Any]:
        return {
            "service": service.id,
            "name": service.name,
            "type": service.type,
            "category": service.category,
            "rate": str(service.rate),
            "min": str(service.min),
            "max": str(service.max),
            "refill": service.refill,
            "cancel": service.cancel,
        }

    def added(self, order_id: int) -> dict[str, Any]:
        return {"order": order_id}

    def status(
        self, *, order_id: int, charge: Decimal, start_count: int, status: str, remains: int, currency: str
    ) -> dict[str, Any]:
        return {
            "charge": decimal_text(charge, 5, trim=True),
            "start_count": str(start_count),
            "status": self.word(status),
            "remains": str(remains),
            "currency": currency,
        }

    def item_error(self, message: str) -> Any:
        """A per-id error inside a batch answer."""
        return {"error": message}

    def refill_created(self, refill_id: int) -> dict[str, Any]:
        return {"refill": str(refill_id)}

    def refill_status(self, status: str) -> dict[str, Any]:
        return {"status": self.word(status)}

    def balance(self, amount: Decimal, currency: str) -> dict[str, Any]:
        return {"balance": decimal_text(amount, 5), "currency": currency}

    def product(self, product: Product, inventory: int | None) -> dict[str, Any]:
        raise NotImplementedError


class WrappedDialect(Dialect):
    name = "002"
    processing_stage = True
    subscription_delays = SUBSCRIPTION_DELAYS_002

    def word(self, status: str) -> str:
        return status.lower()

    def service(self, service: Service) -> dict[str, Any]:
        return {
            "service": str(service.id),
            "name": service.name,
            "category": service.category,
            "rate": str(service.rate),
            "min": str(service.min),
            "max": str(service.max),
            "type": service.type.lower(),
            "desc": service.desc,
            "dripfeed": int(service.dripfeed),
        }

    def added(self, order_id: int) -> dict[str, Any]:
        return {"status": "success", "order": order_id}

    def status(
        self, *, order_id: int, charge: Decimal, start_count: int, status: str, remains: int, currency: str
    ) -> dict[str, Any]:
        return {
            "order": str(order_id),
            "status": self.word(status),
            "charge": decimal_text(charge, 4),
            "start_count": str(start_count),
            "remains": str(remains),
        }

    def item_error(self, message: str) -> Any:
        return message

    def refill_created(self, refill_id: int) -> dict[str, Any]:
        return {"status": "success", "refill": str(refill_id)}

    def balance(self, amount: Decimal, currency: str) -> dict[str, Any]:
        return {"status": "success", "balance": decimal_text(amount, 2, rounding=ROUND_DOWN), "currency": currency}


class ProductsDialect(Dialect):
    name = "003"
    refill_not_found = "Incorrect refill ID"
    processing_stage = True
    has_products = True

    def service(self, service: Service) -> dict[str, Any]:
        answer = super().service(service)
        del answer["cancel"]
        return answer

    def status(
        self, *, order_id: int, charge: Decimal, start_count: int, status: str, remains: int, currency: str
    ) -> dict[str, Any]:
        answer = super().status(
            order_id=order_id, charge=charge, start_count=start_count, status=status, remains=remains, currency=currency
        )
        del answer["currency"]
        return answer

    def balance(self, amount: Decimal, currency: str) -> dict[str, Any]:
        return {"balance": decimal_text(amount, 4), "currency": currency}

    def product(self, product: Product, inventory: int | None) -> dict[str, Any]:
        answer: dict[str, Any] = {"product": product.id, "name": product.name}
        if product.require:
            answer["require"] = product.require
        answer |= {
            "rate": decimal_number(product.rate),
            "min": product.min,
            "max": product.max,
            "category": product.category,
            "status": "Out of stock" if inventory == 0 else "In stock",
        }
        if inventory is not None:
            answer["inventory"] = inventory
        answer["type"] = product.type
        return answer


def dialect_for(name: str) -> Dialect:
    dialects = {"standard": Dialect, "002": WrappedDialect, "003": ProductsDialect}
    if name not in dialects:
        raise ValueError(f"unknown dialect {name!r}: choose one of {', '.join(DIALECTS)}")
    return dialects[name]()
