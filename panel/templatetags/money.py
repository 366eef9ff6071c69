"""Money on the website, one rule everywhere: `{% load money %}{{ amount|money }}`.

- `{{ amount|money }}`: balances and totals (the nav, the dashboard, add funds, the account) at
  the panel's display precision, PANEL_MONEY_DISPLAY_PLACES (default 2). The amount is cut, not
  rounded up, so a balance never reads as more than the customer has (99.80745 reads 99.80, and
  an order priced 99.81 is refused for a reason the customer can see). An amount that is not zero
  never reads as zero: when the cut would show 0.00, the exact amount is shown instead.
- `{{ amount|money:"exact" }}`: where money is decided (an order's charge and refund, a ledger row,
  a deposit, a price per 1,000 or per unit) every significant decimal is shown, up to the
  MONEY_DECIMAL_PLACES the panel keeps, and never fewer than the display places: a rate of
  0.00125 per 1,000 reads 0.00125, a charge of 15.2013 reads 15.2013, and 2 reads 2.00.

Both group thousands with commas (12,345.60). Values meant for scripts and forms (data-*
attributes, inputs) are written raw, never through this filter.

- `{{ amount|approx:DISPLAY_CURRENCY }}`: the amount converted into the customer's display currency,
  for reading only and always marked so: "≈ 9.20 EUR" (the balance rule above, after conversion).
  Empty when the customer reads PANEL_CURRENCY alone. Nothing is ever kept or charged converted.
"""

from decimal import Decimal, InvalidOperation

from django import template

from core.money import money_display, money_display_approx

register = template.Library()

EXACT = "exact"


def _amount(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


@register.filter
def approx(value, currency) -> str:
    """ "≈ 9.20 EUR": the amount in the customer's display currency (a DisplayCurrency), or "" without one."""
    amount = _amount(value)
    if not currency or amount is None:
        return ""
    try:
        return money_display_approx(amount, rate=currency.rate, code=currency.code)
    except InvalidOperation:  # an amount too large for the money digits once converted
        return ""


@register.filter
def money(value, mode: str = "") -> str:
    """An amount (a Decimal, or its text) as the website shows it; `money:"exact"` where money is decided."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    return money_display(amount, exact=mode == EXACT)
