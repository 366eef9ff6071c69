"""Money arithmetic: Decimal only, one rounding function, rates per 1,000 units."""

from decimal import ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

from django.conf import settings

MONEY_QUANTUM = Decimal(1).scaleb(-settings.MONEY_DECIMAL_PLACES)
RATE_UNIT = 1000  # the protocol prices every service per 1,000 units

__all__ = ["MONEY_QUANTUM", "ROUND_HALF_UP", "ROUND_UP", "money_parse", "money_round", "order_charge", "partial_refund"]


def money_round(value: Decimal, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    """The one place that rounds money: to MONEY_DECIMAL_PLACES, half up unless told otherwise.

    Catalog prices are rounded up (`ROUND_UP`) so a markup is never lost to rounding.
    """
    return Decimal(value).quantize(MONEY_QUANTUM, rounding=rounding)


def money_parse(value: object) -> Decimal:
    """A money amount from user or upstream input ("0.27819", 2.5, 7): exact, finite, rounded.

    Floats are read through their shortest text form so 2.5 becomes Decimal("2.5"), not a
    binary approximation. Raises ValueError on anything else.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    if abs(amount) >= Decimal(10) ** (settings.MONEY_MAX_DIGITS - settings.MONEY_DECIMAL_PLACES):
        raise ValueError(f"amount too large: {value!r}")
    return money_round(amount)


def order_charge(*, rate: Decimal, quantity: int, runs: int = 1, per: int = RATE_UNIT) -> Decimal:
    """What an order costs: rate per 1,000 (`per` 1 for products) × quantity (× runs for drip-feed), rounded once."""
    return money_round(rate * quantity * max(runs, 1) / per)


def partial_refund(*, charge: Decimal, remains: int, quantity: int) -> Decimal:
    """The share of the charge actually taken that was not delivered: charge × remains / quantity."""
    if quantity <= 0 or remains <= 0:
        return Decimal("0")
    return money_round(charge * min(remains, quantity) / quantity)


def money_str(amount: Decimal) -> str:
    """Money as the protocol writes it: a string with at least two decimals ("0.90", "0.27819")."""
    text = f"{money_round(amount):f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"
