"""Payment gateways: the interface real gateways plug into, and a test gateway that needs no network.

A gateway takes a pending FundsRequest to a payment page (`start`) and later tells us it was
paid (`confirm`, from its callback); `billing.services.funds_request_approve` then writes the
ledger, once, whatever the number of callbacks.
"""

import hashlib
import hmac
from typing import Protocol

from django.conf import settings
from django.urls import reverse

from billing.models import FundsRequest


class PaymentGateway(Protocol):
    code: str
    name: str

    def start(self, *, funds_request: FundsRequest) -> str:
        """The URL the customer is sent to, to pay."""

    def confirm(self, *, funds_request: FundsRequest, data: dict) -> str | None:
        """The gateway's payment reference when `data` (its callback) proves payment, else None."""


class TestGateway:
    """Pays at once on a local page: for demos and tests. Its callback carries an HMAC of the request."""

    code = "test"
    name = "Test gateway (no real money)"

    def signature(self, funds_request: FundsRequest) -> str:
        message = f"{funds_request.pk}:{funds_request.amount}".encode()
        return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()

    def start(self, *, funds_request: FundsRequest) -> str:
        return reverse("test_gateway", args=[funds_request.pk])

    def confirm(self, *, funds_request: FundsRequest, data: dict) -> str | None:
        given = str(data.get("signature", ""))
        if not hmac.compare_digest(given, self.signature(funds_request)):
            return None
        return f"test-{funds_request.pk}"


GATEWAYS: dict[str, PaymentGateway] = {TestGateway.code: TestGateway()}


def gateway_for(code: str) -> PaymentGateway | None:
    return GATEWAYS.get(code)
