"""NOWPayments (https://documenter.getpostman.com/view/7907941/2s93JusNJt): crypto invoices.

- Requests carry the API key in the `x-api-key` header.
- Invoice: POST https://api.nowpayments.io/v1/invoice {price_amount, price_currency, order_id,
  order_description, ipn_callback_url, success_url, cancel_url}; the answer's `invoice_url`
  is the payment page and `id` the invoice's id.
- IPN: a JSON POST to ipn_callback_url with `x-nowpayments-sig` = hex HMAC-SHA512, under the
  IPN secret, of JSON.stringify(body with every object's keys sorted). It names the payment
  (`payment_id`), which GET /v1/payment/{payment_id} reports on later (the sweep); before a
  first IPN there is no payment id to ask about, and the invoice simply expires.
Statuses: finished (credited), partially_paid (less arrived), expired, failed; waiting,
confirming, confirmed, sending and refunded change nothing.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings

from billing.errors import GatewayBadResponse, GatewayNotConfigured, WebhookRejected
from billing.gateways import (
    CredentialField,
    DepositUrls,
    Invoice,
    Notification,
    PaymentOutcome,
    PaymentState,
    Redirect,
    exact_decimal,
)
from billing.gateways.jsontext import dumps_js_sorted, json_text_field, loads_raw
from billing.http import gateway_request
from core.money import money_parse, money_round

API_URL = "https://api.nowpayments.io/v1"
SIGNATURE_HEADER = "x-nowpayments-sig"

OUTCOMES: dict[str, PaymentOutcome] = {
    "finished": "paid",
    "partially_paid": "underpaid",
    "expired": "expired",
    "failed": "failed",
}


def ipn_signature(body: bytes | str, ipn_secret: str) -> str:
    """NOWPayments' signature of an IPN body: HMAC-SHA512 of the body re-encoded with sorted keys."""
    canonical = dumps_js_sorted(loads_raw(body))
    return hmac.new(ipn_secret.encode(), canonical.encode(), hashlib.sha512).hexdigest()


class NowPaymentsGateway:
    code = "nowpayments"
    name = "NOWPayments (crypto)"
    credential_fields = (
        CredentialField("api_key", "API key", help_text="NOWPayments: Store settings → API keys."),
        CredentialField("ipn_secret", "IPN secret key", help_text="Store settings → Instant payment notifications."),
    )

    def _headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        if not credentials.get("api_key") or not credentials.get("ipn_secret"):
            raise GatewayNotConfigured()
        return {"x-api-key": credentials["api_key"], "Content-Type": "application/json"}

    def invoice_create(self, *, deposit, credentials: Mapping[str, str], urls: DepositUrls) -> Invoice:
        payload = {
            # Two decimals at most (the deposit form's rule), so the float is exact in JSON.
            "price_amount": float(deposit.amount),
            "price_currency": settings.PANEL_CURRENCY.lower(),
            "order_id": deposit.reference,
            "order_description": f"Deposit {deposit.pk}",
            "ipn_callback_url": urls.notify,
            "success_url": urls.back,
            "cancel_url": urls.back,
        }
        response = gateway_request(
            "POST",
            f"{API_URL}/invoice",
            body=json.dumps(payload, separators=(",", ":")).encode(),
            headers=self._headers(credentials),
        )
        answer = response.json()
        url = answer.get("invoice_url") if isinstance(answer, dict) else None
        invoice_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(url, str) or not url.startswith("https://") or invoice_id in (None, ""):
            raise GatewayBadResponse(detail=f"invoice without invoice_url/id: {response.text[:300]!r}")
        return Invoice(redirect=Redirect(url=url), gateway_reference=str(invoice_id)[:128])

    def notification_reference(self, *, notification: Notification) -> str | None:
        return json_text_field(notification.body, "order_id")

    def notification_verify(self, *, notification: Notification, credentials, deposit) -> PaymentState:
        secret = credentials.get("ipn_secret", "")
        if not secret:
            raise WebhookRejected("The payment method has no NOWPayments IPN secret.", http_status=503)
        given = notification.headers.get(SIGNATURE_HEADER, "")
        if not given:
            raise WebhookRejected(f"No {SIGNATURE_HEADER} header.", http_status=403)
        try:
            data = loads_raw(notification.body)
            expected = ipn_signature(notification.body, secret)
        except ValueError:
            raise WebhookRejected("The body is not JSON.") from None
        if not hmac.compare_digest(given.lower(), expected):
            raise WebhookRejected("Bad signature.", http_status=403)
        if not isinstance(data, dict):
            raise WebhookRejected("The body is not a JSON object.")
        return self._state(data, deposit)

    def _state(self, data: dict, deposit) -> PaymentState:
        if data.get("order_id") != deposit.reference:
            raise WebhookRejected("The order id does not match the deposit.")
        if str(data.get("price_currency", "")).upper() != settings.PANEL_CURRENCY.upper():
            raise WebhookRejected(f"Price currency {data.get('price_currency')!r} is not {settings.PANEL_CURRENCY}.")
        if _amount(data.get("price_amount")) != deposit.amount:
            raise WebhookRejected(f"Price {data.get('price_amount')!r} is not the deposit's {deposit.amount}.")
        invoice_id = data.get("invoice_id")
        if deposit.gateway_reference and invoice_id not in (None, "") and str(invoice_id) != deposit.gateway_reference:
            raise WebhookRejected("The invoice id does not match the deposit.")
        status = str(data.get("payment_status", ""))
        outcome = OUTCOMES.get(status, "pending")
        arrived = None
        asked, sent = exact_decimal(data.get("pay_amount")), exact_decimal(data.get("actually_paid"))
        if asked and sent is not None:
            # Both in the paying crypto: their ratio applied to the price needs no exchange rate.
            arrived = money_round(deposit.amount * sent / asked)
        if outcome == "paid":
            arrived = max(arrived or deposit.amount, deposit.amount)
        return PaymentState(
            reference=deposit.reference,
            outcome=outcome,
            gateway_status=status[:32],
            paid_amount=arrived if outcome in ("paid", "underpaid") else None,
            gateway_payment_id=str(data.get("payment_id") or "")[:128],
        )

    def payment_check(self, *, deposit, credentials: Mapping[str, str]) -> PaymentState | None:
        if not deposit.gateway_payment_id:
            return None
        response = gateway_request(
            "GET", f"{API_URL}/payment/{deposit.gateway_payment_id}", headers=self._headers(credentials)
        )
        try:
            data = loads_raw(response.body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise GatewayBadResponse(detail=f"payment status is not an object: {response.text[:300]!r}")
        try:
            return self._state(data, deposit)
        except WebhookRejected as error:
            raise GatewayBadResponse(detail=error.message) from None

    def credentials_test(self, *, credentials: Mapping[str, str]) -> str:
        response = gateway_request("GET", f"{API_URL}/currencies", headers=self._headers(credentials))
        answer = response.json()
        count = len(answer.get("currencies", [])) if isinstance(answer, dict) else 0
        return (
            f"NOWPayments accepted the API key ({count} currencies available). "
            "The IPN secret is checked on the first notification."
        )


def _amount(value) -> Decimal | None:
    try:
        return money_parse(value)
    except ValueError:
        return None
