"""Payment gateways: the interface each gateway implements, and the registry of the available ones.

A gateway turns a pending deposit into somewhere the customer pays (`invoice_create`: a URL,
or a form to post for Perfect Money), tells us from a notification what happened
(`notification_verify`: signature checked, amounts read) and, asked by the sweep, what the
payment's state is now (`payment_check`). It never touches money: `billing.services` credits
the customer from the `PaymentState` it returns, once.

The test gateway exists only with DEBUG or PAYMENTS_TEST_GATEWAY=1: without either it is not
in the registry, so it can be neither chosen in the admin nor paid.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol

from django.conf import settings

if TYPE_CHECKING:
    from billing.models import FundsRequest

# What a gateway's word for a payment means to us. "underpaid": money arrived, less than the
# invoice (its amount in `paid_amount` when the gateway says it).
PaymentOutcome = Literal["pending", "paid", "underpaid", "expired", "failed"]


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str
    secret: bool = True
    required: bool = True
    help_text: str = ""


@dataclass(frozen=True)
class Redirect:
    """Where the customer goes to pay: a GET of `url`, or a POST of `fields` to it (Perfect Money's form)."""

    url: str
    method: Literal["GET", "POST"] = "GET"
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Invoice:
    redirect: Redirect
    gateway_reference: str = ""


@dataclass(frozen=True)
class DepositUrls:
    """Absolute URLs the gateway needs: its notifications, and the customer's way back."""

    notify: str
    back: str


@dataclass(frozen=True)
class Notification:
    """A request a gateway sent us, as received."""

    body: bytes
    headers: Mapping[str, str]
    form: Mapping[str, str]


@dataclass(frozen=True)
class PaymentState:
    """What a verified notification or a status check says about one deposit.

    `paid_amount` is what arrived in the panel's currency for this invoice, when the gateway
    says so (None: the gateway only says "paid in full").
    """

    reference: str
    outcome: PaymentOutcome
    gateway_status: str
    paid_amount: Decimal | None = None
    gateway_payment_id: str = ""
    gateway_reference: str = ""


class PaymentGateway(Protocol):
    code: str
    name: str
    credential_fields: tuple[CredentialField, ...]

    def invoice_create(self, *, deposit: "FundsRequest", credentials: Mapping[str, str], urls: DepositUrls) -> Invoice:
        """Open an invoice at the gateway (or prepare its form); raise GatewayError when it cannot."""

    def notification_reference(self, *, notification: Notification) -> str | None:
        """Our deposit reference named in a notification, before verifying it (to find its credentials)."""

    def notification_verify(
        self, *, notification: Notification, credentials: Mapping[str, str], deposit: "FundsRequest"
    ) -> PaymentState:
        """The verified state, or WebhookRejected (mis-signed, wrong account, wrong currency...)."""

    def payment_check(self, *, deposit: "FundsRequest", credentials: Mapping[str, str]) -> PaymentState | None:
        """Ask the gateway about a deposit (the sweep); None when the gateway offers no way to ask."""

    def credentials_test(self, *, credentials: Mapping[str, str]) -> str:
        """A sentence saying the credentials work, or GatewayError."""


def gateway_classes() -> list[type]:
    """Every gateway the code knows, enabled or not (the admin declares their credential fields once)."""
    from billing.gateways.cryptomus import CryptomusGateway
    from billing.gateways.nowpayments import NowPaymentsGateway
    from billing.gateways.perfectmoney import PerfectMoneyGateway
    from billing.gateways.test import TestGateway

    return [CryptomusGateway, NowPaymentsGateway, PerfectMoneyGateway, TestGateway]


def gateways_available() -> dict[str, PaymentGateway]:
    """The gateways this panel can use now, by code (the test gateway only when enabled)."""
    return {cls.code: cls() for cls in gateway_classes() if cls.code != "test" or test_gateway_enabled()}


def test_gateway_enabled() -> bool:
    """The test gateway pays without money: only in development, or when explicitly asked for."""
    return bool(settings.DEBUG or settings.PAYMENTS_TEST_GATEWAY)


def gateway_for(code: str) -> PaymentGateway | None:
    return gateways_available().get(code) if code else None


def gateway_choices() -> list[tuple[str, str]]:
    return [("", "Manual (an operator approves)")] + [(g.code, g.name) for g in gateways_available().values()]


def decimal_text(value: Decimal) -> str:
    """An amount as gateways want it: plain digits, at least two decimals ("10.00", "10.5" → "10.50")."""
    text = f"{value:f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction.ljust(2, '0')}"


def exact_decimal(value: object) -> Decimal | None:
    """A gateway's number read exactly (crypto amounts carry more decimals than money), or None."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return number if number.is_finite() and number >= 0 else None
