"""The test gateway: a local page that "pays" without money, for development and demos only.

It exists only with DEBUG or PAYMENTS_TEST_GATEWAY=1 (see `billing.gateways`). Its payment
page never holds a signature: the page's button asks our server, which signs a notification
with SECRET_KEY and hands it to the same verification path a real gateway's webhook takes.
"""

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from billing.errors import WebhookRejected
from billing.gateways import DepositUrls, Invoice, Notification, PaymentState, Redirect, decimal_text
from core.money import money_parse


class TestGateway:
    code = "test"
    name = "Test gateway (no real money)"
    credential_fields = ()

    @staticmethod
    def signature(reference: str, amount: str) -> str:
        message = f"{reference}:{amount}".encode()
        return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()

    def notification_for(self, *, reference: str, amount: Decimal) -> Notification:
        """What the pretend gateway sends when the customer presses "Pay": signed here, on the server."""
        text = decimal_text(amount)
        form = {"reference": reference, "amount": text, "signature": self.signature(reference, text)}
        return Notification(body=b"", headers={}, form=form)

    def invoice_create(self, *, deposit, credentials: Mapping[str, str], urls: DepositUrls) -> Invoice:
        return Invoice(redirect=Redirect(url=reverse("test_gateway", args=[deposit.pk])), gateway_reference="")

    def notification_reference(self, *, notification: Notification) -> str | None:
        return notification.form.get("reference") or None

    def notification_verify(self, *, notification: Notification, credentials, deposit) -> PaymentState:
        form = notification.form
        given = str(form.get("signature", ""))
        if not hmac.compare_digest(given, self.signature(str(form.get("reference", "")), str(form.get("amount", "")))):
            raise WebhookRejected("Bad signature.", http_status=403)
        try:
            paid = money_parse(form.get("amount"))
        except ValueError:
            raise WebhookRejected("Unreadable amount.") from None
        return PaymentState(
            reference=deposit.reference,
            outcome="paid",
            gateway_status="paid",
            paid_amount=paid,
            gateway_reference=f"test-{deposit.pk}",
        )

    def payment_check(self, *, deposit, credentials) -> PaymentState | None:
        return None

    def credentials_test(self, *, credentials) -> str:
        return "The test gateway needs no credentials."
