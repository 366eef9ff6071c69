"""Display currency: prices and balances also shown in a currency the customer chose, for reading only.

The panel keeps and exchanges money in PANEL_CURRENCY alone (balances, the ledger, orders and
`/api/v2`); this module only converts figures for the website, each marked approximate, at rates an
operator sets in the admin or that `display_rates_fetch` reads once a day from
DISPLAY_CURRENCY_RATES_URL. It lives in `panel` because it is the website's concern: billing and
orders never see a converted amount.
"""

import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from billing.errors import GatewayError
from billing.http import gateway_request
from core.errors import PanelError
from panel.models import DisplayCurrency, User

logger = logging.getLogger(__name__)

RATE_QUANTUM = Decimal(1).scaleb(-DisplayCurrency._meta.get_field("rate").decimal_places)
RATE_CEILING = Decimal(10) ** (
    DisplayCurrency._meta.get_field("rate").max_digits - DisplayCurrency._meta.get_field("rate").decimal_places
)


class CurrencyInvalid(PanelError):
    default_message = gettext_lazy("This currency is not available.")


def display_currencies_enabled() -> list[DisplayCurrency]:
    return list(DisplayCurrency.objects.filter(is_enabled=True).order_by("code"))


def display_currency_of(*, user) -> DisplayCurrency | None:
    """The enabled currency this customer reads prices in besides PANEL_CURRENCY, or None."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.display_currency_id:
        return None
    return DisplayCurrency.objects.filter(pk=user.display_currency_id, is_enabled=True).first()


def display_currency_choose(*, user: User, code: str) -> DisplayCurrency | None:
    """The customer picks a display currency by code; "" (or PANEL_CURRENCY) shows PANEL_CURRENCY alone."""
    code = (code or "").strip().upper()
    if not code or code == settings.PANEL_CURRENCY:
        currency = None
    else:
        currency = DisplayCurrency.objects.filter(code=code, is_enabled=True).first()
        if currency is None:
            raise CurrencyInvalid(gettext("%(code)s is not a currency you can choose.") % {"code": code[:10]})
    user.display_currency = currency
    user.save(update_fields=["display_currency"])
    return currency


@dataclass
class RatesReport:
    updated: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    error: str = ""

    def __str__(self) -> str:
        if self.error:
            return f"rates not updated: {self.error}"
        text = f"{len(self.updated)} rates updated ({', '.join(self.updated) or 'none'})"
        if self.missing:
            text += f"; not in the answer: {', '.join(self.missing)}"
        return text


def display_rates_fetch() -> RatesReport:
    """Read today's rates from DISPLAY_CURRENCY_RATES_URL into the currencies marked `auto_update`.

    The source answers JSON with a `rates` object of codes to amounts per one PANEL_CURRENCY, as
    open.er-api.com and Frankfurter do; a `{currency}` in the URL becomes PANEL_CURRENCY, and a
    `base` or `base_code` in the answer must be it. An unreachable source or an answer we cannot
    read changes nothing (the last rates stay, with the time they were set) and is reported.
    """
    url = settings.DISPLAY_CURRENCY_RATES_URL
    if not url:
        return RatesReport(error="DISPLAY_CURRENCY_RATES_URL is not set")
    base = settings.PANEL_CURRENCY
    try:
        answer = gateway_request("GET", url.replace("{currency}", base), headers={"Accept": "application/json"})
        body = answer.json()
    except GatewayError as error:
        logger.warning("display currency rates: %s", error.detail or error.message)
        return RatesReport(error=error.detail or error.message)
    rates = body.get("rates") if isinstance(body, dict) else None
    if not isinstance(rates, dict):
        return RatesReport(error="the answer has no rates object")
    named = body.get("base_code", body.get("base"))
    if named is not None and str(named).upper() != base:
        return RatesReport(error=f"the rates are for {str(named)[:10]!r}, not {base}")
    report = RatesReport()
    now = timezone.now()
    for currency in DisplayCurrency.objects.filter(auto_update=True).order_by("code"):
        rate = _rate(rates.get(currency.code))
        if rate is None:
            report.missing.append(currency.code)
            continue
        DisplayCurrency.objects.filter(pk=currency.pk).update(rate=rate, rate_updated_at=now)
        report.updated.append(currency.code)
    logger.info("display currency rates: %s", report)
    return report


def _rate(value: object) -> Decimal | None:
    """A rate from the source's JSON (a number or its text), or None if it is not a usable positive rate."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        rate = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        return None
    if not rate.is_finite() or rate <= 0 or rate >= RATE_CEILING:
        return None
    rate = rate.quantize(RATE_QUANTUM)
    return rate if rate > 0 else None
