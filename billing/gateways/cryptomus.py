"""Cryptomus (https://doc.cryptomus.com): crypto invoices.

- Requests: JSON POSTs to https://api.cryptomus.com/v1/..., with the headers `merchant` (the
  merchant's UUID) and `sign` = md5(base64(body) + payment API key), over the exact body sent.
- Invoice: POST /v1/payment {amount, currency, order_id, url_callback, url_return,
  url_success, lifetime}; the answer's `result.url` is the payment page, `result.uuid` its id.
- Webhook: a JSON POST to url_callback whose `sign` is md5(base64(json_encode(body without
  sign)) + API key), PHP's encoding (slashes escaped, `JSON_UNESCAPED_UNICODE`).
- Status: POST /v1/payment/info {uuid} answers the same fields as the webhook.
Statuses: paid, paid_over (credited), wrong_amount (less arrived), cancel (expired), fail and
system_fail (failed); check, confirm_check, process, wrong_amount_waiting, locked and the
refund_* ones change nothing.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings

from billing.errors import GatewayBadResponse, GatewayNotConfigured, GatewayRefused, WebhookRejected
from billing.gateways import (
    CredentialField,
    DepositUrls,
    Invoice,
    Notification,
    PaymentOutcome,
    PaymentState,
    Redirect,
    decimal_text,
    exact_decimal,
)
from billing.gateways.jsontext import dumps_php, json_text_field, loads_raw
from billing.http import gateway_request
from core.money import money_parse, money_round

API_URL = "https://api.cryptomus.com/v1"
LIFETIME_MIN, LIFETIME_MAX = 300, 43200  # seconds an invoice may live, per the invoice documentation

OUTCOMES: dict[str, PaymentOutcome] = {
    "paid": "paid",
    "paid_over": "paid",
    "wrong_amount": "underpaid",
    "cancel": "expired",
    "fail": "failed",
    "system_fail": "failed",
}


def sign(body: bytes, api_key: str) -> str:
    return hashlib.md5(base64.b64encode(body) + api_key.encode()).hexdigest()  # noqa: S324 (the gateway's scheme)


class CryptomusGateway:
    code = "cryptomus"
    name = "Cryptomus (crypto)"
    credential_fields = (
        CredentialField("merchant", "Merchant UUID", secret=False, help_text="Cryptomus: Settings → Merchant ID."),
        CredentialField("api_key", "Payment API key", help_text="The key for accepting payments, not payouts."),
    )

    def _post(self, path: str, payload: dict | None, credentials: Mapping[str, str]) -> dict:
        merchant, api_key = credentials.get("merchant", ""), credentials.get("api_key", "")
        if not merchant or not api_key:
            raise GatewayNotConfigured()
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        response = gateway_request(
            "POST",
            f"{API_URL}{path}",
            body=body,
            headers={"merchant": merchant, "sign": sign(body, api_key), "Content-Type": "application/json"},
            refuse_4xx=False,
        )
        try:
            answer = loads_raw(response.body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise GatewayBadResponse(detail=f"not an object: {response.text[:300]!r}")
        if response.status >= 400 or str(answer.get("state")) != "0":
            message = answer.get("message") or answer.get("errors") or response.text[:300]
            raise GatewayRefused(detail=f"Cryptomus {path}: HTTP {response.status} {message}")
        result = answer.get("result")
        if not isinstance(result, dict | list):
            raise GatewayBadResponse(detail=f"no result: {response.text[:300]!r}")
        return result

    def invoice_create(self, *, deposit, credentials: Mapping[str, str], urls: DepositUrls) -> Invoice:
        payload = {
            "amount": decimal_text(deposit.amount),
            "currency": settings.PANEL_CURRENCY,
            "order_id": deposit.reference,
            "url_callback": urls.notify,
            "url_return": urls.back,
            "url_success": urls.back,
            "lifetime": min(max(deposit.method.lifetime_minutes * 60, LIFETIME_MIN), LIFETIME_MAX),
        }
        result = self._post("/payment", payload, credentials)
        url, uuid = result.get("url"), result.get("uuid")
        if not isinstance(url, str) or not url.startswith("https://") or not isinstance(uuid, str):
            raise GatewayBadResponse(detail=f"invoice without url/uuid: {str(result)[:300]}")
        return Invoice(redirect=Redirect(url=url), gateway_reference=uuid)

    def notification_reference(self, *, notification: Notification) -> str | None:
        return json_text_field(notification.body, "order_id")

    def notification_verify(self, *, notification: Notification, credentials, deposit) -> PaymentState:
        api_key = credentials.get("api_key", "")
        if not api_key:
            raise WebhookRejected("The payment method has no Cryptomus API key.", http_status=503)
        try:
            data = loads_raw(notification.body)
        except ValueError:
            raise WebhookRejected("The body is not JSON.") from None
        if not isinstance(data, dict) or not isinstance(data.get("sign"), str):
            raise WebhookRejected("No signature in the body.", http_status=403)
        given = data.pop("sign")
        expected = sign(dumps_php(data).encode(), api_key)
        if not hmac.compare_digest(given, expected):
            raise WebhookRejected("Bad signature.", http_status=403)
        if data.get("type", "payment") != "payment":
            raise WebhookRejected(f"Not an invoice notification (type {data.get('type')!r}).")
        return self._state(data, deposit)

    def _state(self, data: dict, deposit) -> PaymentState:
        """The state of the invoice from a webhook's or /payment/info's fields, checked against our deposit."""
        if data.get("order_id") != deposit.reference:
            raise WebhookRejected("The order id does not match the deposit.")
        if str(data.get("currency", "")).upper() != settings.PANEL_CURRENCY.upper():
            raise WebhookRejected(f"Invoice currency {data.get('currency')!r} is not {settings.PANEL_CURRENCY}.")
        if _amount(data.get("amount")) != deposit.amount:
            raise WebhookRejected(f"Invoice amount {data.get('amount')!r} is not the deposit's {deposit.amount}.")
        status = str(data.get("status") or data.get("payment_status") or "")
        outcome = OUTCOMES.get(status, "pending")
        arrived = _arrived(data, deposit.amount)
        if status == "paid":
            # Paid in full per Cryptomus; a rate's rounding never takes a cent off the customer.
            arrived = max(arrived or deposit.amount, deposit.amount)
        return PaymentState(
            reference=deposit.reference,
            outcome=outcome,
            gateway_status=status[:32],
            paid_amount=arrived if outcome in ("paid", "underpaid") else None,
            gateway_reference=str(data.get("uuid") or "")[:128],
        )

    def payment_check(self, *, deposit, credentials: Mapping[str, str]) -> PaymentState | None:
        query = {"uuid": deposit.gateway_reference} if deposit.gateway_reference else {"order_id": deposit.reference}
        result = self._post("/payment/info", query, credentials)
        if not isinstance(result, dict):
            raise GatewayBadResponse(detail="payment info is not an object")
        try:
            return self._state(result, deposit)
        except WebhookRejected as error:
            raise GatewayBadResponse(detail=error.message) from None

    def credentials_test(self, *, credentials: Mapping[str, str]) -> str:
        services = self._post("/payment/services", None, credentials)
        return f"Cryptomus accepted the credentials ({len(services)} payment services available)."


def _amount(value) -> Decimal | None:
    try:
        return money_parse(value)
    except ValueError:
        return None


def _arrived(data: dict, invoice_amount: Decimal) -> Decimal | None:
    """What arrived, in the invoice's currency.

    `payment_amount` is what the payer sent and `payer_amount` what they were asked for, both
    in the payer's currency: their ratio applied to the invoice amount needs no exchange rate.
    """
    sent, asked = exact_decimal(data.get("payment_amount")), exact_decimal(data.get("payer_amount"))
    if sent is not None and str(data.get("payer_currency", "")).upper() == str(data.get("currency", "")).upper():
        return money_round(sent)
    if sent is not None and asked:
        return money_round(invoice_amount * sent / asked)
    usd = _amount(data.get("payment_amount_usd"))
    if usd is not None and str(data.get("currency", "")).upper() == "USD":
        return usd
    return None
