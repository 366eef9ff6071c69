"""Money: Decimal only, digits defined once (MoneyField), one rounding function, rates per 1,000 units."""

from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

from django.conf import settings
from django.core.management.base import CommandError
from django.db import models

MONEY_QUANTUM = Decimal(1).scaleb(-settings.MONEY_DECIMAL_PLACES)
RATE_UNIT = 1000  # the protocol prices every service per 1,000 units

__all__ = [
    "MONEY_QUANTUM",
    "ROUND_HALF_UP",
    "ROUND_UP",
    "MoneyField",
    "money_arg",
    "money_display",
    "money_display_approx",
    "money_form_field",
    "money_parse",
    "money_round",
    "money_sum_field",
    "order_charge",
    "partial_refund",
]


class MoneyField(models.DecimalField):
    """A money column: its digits come from settings, defined here once for every model and form.

    It deconstructs as a plain DecimalField, so migrations read like any other decimal column.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs["max_digits"] = settings.MONEY_MAX_DIGITS
        kwargs["decimal_places"] = settings.MONEY_DECIMAL_PLACES
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


def money_sum_field() -> models.DecimalField:
    """The output field of a SUM of money columns: room for many rows, the same decimals."""
    return models.DecimalField(max_digits=settings.MONEY_MAX_DIGITS + 10, decimal_places=settings.MONEY_DECIMAL_PLACES)


def money_form_field(**kwargs):
    """A form field for an amount, with the money digits (bounds that fit the column)."""
    from django import forms

    return forms.DecimalField(
        max_digits=settings.MONEY_MAX_DIGITS, decimal_places=settings.MONEY_DECIMAL_PLACES, **kwargs
    )


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
    # Compare exponents before any arithmetic: abs() or quantize() of 1e999999999 overflows the context.
    if amount and amount.adjusted() >= settings.MONEY_MAX_DIGITS - settings.MONEY_DECIMAL_PLACES:
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


def money_display(amount: Decimal, *, exact: bool = False) -> str:
    """An amount as people read it on the website (the `money` template filter; the rule is in README).

    Not exact (balances, totals): PANEL_MONEY_DISPLAY_PLACES decimals, cut rather than rounded up so
    a balance never reads as more than there is; a non-zero amount that would read as zero is shown
    exactly instead. Exact (charges, refunds, ledger rows, prices): every decimal kept, never fewer
    than the display places. Thousands grouped with commas.
    """
    places = max(0, min(settings.PANEL_MONEY_DISPLAY_PLACES, settings.MONEY_DECIMAL_PLACES))
    kept = money_round(amount)
    if not exact:
        cut = kept.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
        if cut or not kept:
            return f"{cut + 0:,.{places}f}"  # + 0 turns -0.00 into 0.00
    decimals = max(places, -kept.normalize().as_tuple().exponent)
    return f"{kept:,.{decimals}f}"


APPROX = "≈"


def money_display_approx(amount: Decimal, *, rate: Decimal, code: str) -> str:
    """An amount converted at `rate` into another currency, for reading only: "≈ 9.20 EUR".

    The same rule as a balance (`money_display`, not exact): converted figures are approximate by
    nature, so they are always marked so, and never kept or charged anywhere.
    """
    return f"{APPROX} {money_display(Decimal(amount) * Decimal(rate))} {code}"


def money_arg(option: str, text: str, *, negative: bool = False, zero: bool = True) -> Decimal:
    """An amount given to a management command, or a CommandError that says what was expected."""
    try:
        value = money_parse(text)
    except ValueError:
        raise CommandError(f"{option} must be an amount such as 25.50, not {text!r}.") from None
    if value < 0 and not negative:
        raise CommandError(f"{option} cannot be negative.")
    if value == 0 and not zero:
        raise CommandError(f"{option} must not be zero.")
    return value
