"""Cryptomus: invoice, webhook and status check, signed exactly as doc.cryptomus.com documents them."""

import base64
import hashlib
import json
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.utils import timezone

from billing.models import FundsRequest, LedgerEntry, WebhookLog
from billing.selectors import ledger_mismatches
from billing.services import deposit_start, deposits_sweep
from tests.billing.conftest import CRYPTOMUS_KEY, CRYPTOMUS_MERCHANT, cryptomus_body, cryptomus_webhook, deposit_for

pytestmark = pytest.mark.django_db
WEBHOOK = "/payments/webhook/cryptomus/"
S = FundsRequest.Status


def post_webhook(client, fields, **kwargs):
    return client.post(WEBHOOK, data=cryptomus_body(fields, **kwargs), content_type="application/json")


def invoice_answer(deposit, uuid="62f88b36-a9d5-4fa6-aa26-e040c3dbf26d"):
    return {
        "state": 0,
        "result": {
            "uuid": uuid,
            "order_id": deposit.reference,
            "amount": "10.00",
            "payment_status": "check",
            "url": f"https://pay.cryptomus.com/pay/{uuid}",
            "expired_at": 1689098133,
            "status": "check",
            "is_final": False,
        },
    }


def test_an_invoice_is_created_with_the_documented_body_headers_and_signature(customer, cryptomus, gateway_http):
    deposit = deposit_for(customer, cryptomus, "10")
    gateway_http.add(responses.POST, "https://api.cryptomus.com/v1/payment", json=invoice_answer(deposit))

    redirect = deposit_start(
        deposit_id=deposit.pk, notify_url="https://panel.test/payments/webhook/cryptomus/", back_url="https://b/"
    )

    request = gateway_http.calls[0].request
    assert json.loads(request.body) == {
        "amount": "10.00",
        "currency": "USD",
        "order_id": deposit.reference,
        "url_callback": "https://panel.test/payments/webhook/cryptomus/",
        "url_return": "https://b/",
        "url_success": "https://b/",
        "lifetime": 3600,
    }
    assert request.headers["merchant"] == CRYPTOMUS_MERCHANT
    assert request.headers["sign"] == hashlib.md5(base64.b64encode(request.body) + CRYPTOMUS_KEY.encode()).hexdigest()
    assert request.headers["Content-Type"] == "application/json"
    deposit.refresh_from_db()
    assert redirect.url == "https://pay.cryptomus.com/pay/62f88b36-a9d5-4fa6-aa26-e040c3dbf26d"
    assert (deposit.gateway_reference, deposit.status) == ("62f88b36-a9d5-4fa6-aa26-e040c3dbf26d", S.PENDING)


def test_a_refused_invoice_fails_the_deposit_with_a_clear_message(customer, cryptomus, gateway_http, customer_client):
    gateway_http.add(
        responses.POST, "https://api.cryptomus.com/v1/payment", status=401, json={"state": 1, "message": "Bad sign"}
    )
    response = customer_client.post("/funds/", {"method": cryptomus.pk, "amount": "10"}, follow=True)
    deposit = FundsRequest.objects.get()
    assert deposit.status == S.FAILED
    assert "The payment gateway refused the request." in response.content.decode()


def test_a_signed_paid_webhook_credits_the_deposit_once_and_a_replay_is_refused(customer, cryptomus, client):
    deposit = deposit_for(customer, cryptomus, "10", gateway_reference="62f88b36-a9d5-4fa6-aa26-e040c3dbf26d")
    fields = cryptomus_webhook(deposit, "paid", additional_data="https://panel.test/a/b")

    first = post_webhook(client, fields)
    replay = post_webhook(client, fields)

    assert (first.status_code, replay.status_code) == (200, 409)
    deposit.refresh_from_db()
    customer.refresh_from_db()
    assert (deposit.status, deposit.credited_amount, customer.balance) == (S.APPROVED, Decimal("10"), Decimal("10"))
    assert LedgerEntry.objects.filter(user=customer).count() == 1
    assert list(WebhookLog.objects.order_by("id").values_list("outcome", "http_status")) == [
        ("credited", 200),
        ("unchanged", 409),
    ]


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        ({"key": "a-guessed-key"}, 403),
        ({"body_change": {"amount": "1000.00"}}, 403),
    ],
)
def test_a_forged_or_altered_webhook_is_refused_logged_and_changes_nothing(customer, cryptomus, client, tamper, status):
    deposit = deposit_for(customer, cryptomus, "10")
    fields = cryptomus_webhook(deposit, "paid")
    body = cryptomus_body(fields, key=tamper.get("key", CRYPTOMUS_KEY))
    if "body_change" in tamper:
        body = body.replace(b'"amount":"10.00"', b'"amount":"1000.00"')
    response = client.post(WEBHOOK, data=body, content_type="application/json")
    assert response.status_code == status
    deposit.refresh_from_db()
    assert deposit.status == S.PENDING
    assert not LedgerEntry.objects.exists()
    log = WebhookLog.objects.get()
    assert (log.outcome, log.deposit, log.message) == ("rejected", deposit, "Bad signature.")


def test_a_webhook_for_an_unknown_payment_answers_404_and_is_logged(customer, cryptomus, client):
    deposit = deposit_for(customer, cryptomus, "10")
    fields = cryptomus_webhook(deposit, "paid", order_id="dep_not_ours")
    response = post_webhook(client, fields)
    assert response.status_code == 404
    assert WebhookLog.objects.get().message == "Unknown payment 'dep_not_ours'."
    assert not LedgerEntry.objects.exists()


def test_a_webhook_that_is_not_json_answers_400(client, cryptomus):
    response = client.post(WEBHOOK, data=b"\x00not json", content_type="application/json")
    assert response.status_code == 400
    assert WebhookLog.objects.get().outcome == "rejected"


def test_an_underpayment_is_held_for_the_operator_by_default(customer, cryptomus, client):
    deposit = deposit_for(customer, cryptomus, "10")
    fields = cryptomus_webhook(deposit, "wrong_amount", payment_amount="6.00000000", payment_amount_usd="6.00")
    assert post_webhook(client, fields).status_code == 200
    deposit.refresh_from_db()
    assert (deposit.status, deposit.paid_amount) == (S.HELD, Decimal("6"))
    assert deposit.status_message == "6.00000 of 10.00000 arrived: an operator will review it."
    assert not LedgerEntry.objects.exists()


def test_an_underpayment_credits_what_arrived_when_the_method_says_so(customer, cryptomus, client):
    cryptomus.underpayment = "credit"
    cryptomus.save()
    deposit = deposit_for(customer, cryptomus, "10")
    # Paid in BTC: 0.0003 of the 0.0005 asked arrived, so 3/5 of the invoice.
    fields = cryptomus_webhook(
        deposit, "wrong_amount", payer_currency="BTC", payer_amount="0.00050000", payment_amount="0.00030000"
    )
    assert post_webhook(client, fields).status_code == 200
    customer.refresh_from_db()
    assert customer.balance == Decimal("6")


def test_an_overpayment_credits_what_arrived(customer, cryptomus, client):
    deposit = deposit_for(customer, cryptomus, "10")
    fields = cryptomus_webhook(deposit, "paid_over", payment_amount="12.50000000")
    post_webhook(client, fields)
    customer.refresh_from_db()
    assert customer.balance == Decimal("12.5")


def test_a_webhook_whose_invoice_amount_differs_from_the_deposit_is_refused(customer, cryptomus, client):
    deposit = deposit_for(customer, cryptomus, "10")
    response = post_webhook(client, cryptomus_webhook(deposit, "paid", amount="1000.00"))
    assert response.status_code == 400
    assert WebhookLog.objects.get().message == "Invoice amount '1000.00' is not the deposit's 10.00000."
    assert not LedgerEntry.objects.exists()


def test_a_cancelled_invoice_expires_the_deposit_without_money(customer, cryptomus, client):
    deposit = deposit_for(customer, cryptomus, "10")
    assert post_webhook(client, cryptomus_webhook(deposit, "cancel", payment_amount="0.00000000")).status_code == 200
    deposit.refresh_from_db()
    assert deposit.status == S.EXPIRED
    assert not LedgerEntry.objects.exists()


def test_the_sweep_asks_cryptomus_about_a_pending_deposit_and_credits_it(customer, cryptomus, gateway_http):
    deposit = deposit_for(customer, cryptomus, "10", gateway_reference="62f88b36-a9d5-4fa6-aa26-e040c3dbf26d")
    FundsRequest.objects.filter(pk=deposit.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    info = {"state": 0, "result": {**cryptomus_webhook(deposit, "paid"), "payment_status": "paid"}}
    gateway_http.add(responses.POST, "https://api.cryptomus.com/v1/payment/info", json=info)

    report = deposits_sweep()

    request = gateway_http.calls[0].request
    assert json.loads(request.body) == {"uuid": "62f88b36-a9d5-4fa6-aa26-e040c3dbf26d"}
    assert request.headers["sign"] == hashlib.md5(base64.b64encode(request.body) + CRYPTOMUS_KEY.encode()).hexdigest()
    assert (report.checked, report.credited) == (1, 1)
    customer.refresh_from_db()
    assert customer.balance == Decimal("10")
    assert ledger_mismatches() == []


def test_the_sweep_expires_a_deposit_past_its_lifetime_that_cryptomus_reports_unpaid(customer, cryptomus, gateway_http):
    deposit = deposit_for(customer, cryptomus, "10")
    past = timezone.now() - timedelta(hours=2)
    FundsRequest.objects.filter(pk=deposit.pk).update(created_at=past, expires_at=past + timedelta(hours=1))
    info = {"state": 0, "result": {**cryptomus_webhook(deposit, "check", payment_amount=None)}}
    gateway_http.add(responses.POST, "https://api.cryptomus.com/v1/payment/info", json=info)

    report = deposits_sweep()

    deposit.refresh_from_db()
    assert (report.checked, report.expired, deposit.status) == (1, 1, S.EXPIRED)


def test_a_late_paid_webhook_still_credits_an_expired_deposit(customer, cryptomus, client):
    deposit = deposit_for(customer, cryptomus, "10", status=S.EXPIRED)
    assert post_webhook(client, cryptomus_webhook(deposit, "paid")).status_code == 200
    deposit.refresh_from_db()
    assert deposit.status == S.APPROVED


def test_the_sweep_leaves_young_deposits_and_unreachable_gateways_pending(customer, cryptomus, gateway_http):
    young = deposit_for(customer, cryptomus, "10")
    old = deposit_for(customer, cryptomus, "11")
    FundsRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    gateway_http.add(responses.POST, "https://api.cryptomus.com/v1/payment/info", status=502, body="Bad gateway")

    report = deposits_sweep()

    assert (report.checked, report.errors) == (1, 1)
    assert set(FundsRequest.objects.values_list("status", flat=True)) == {S.PENDING}
    assert FundsRequest.objects.get(pk=young.pk).last_checked_at is None


def test_test_credentials_signs_an_empty_body(cryptomus, gateway_http):
    from billing.gateways.cryptomus import CryptomusGateway

    gateway_http.add(
        responses.POST, "https://api.cryptomus.com/v1/payment/services", json={"state": 0, "result": [{}, {}]}
    )
    text = CryptomusGateway().credentials_test(credentials=cryptomus.credentials)
    request = gateway_http.calls[0].request
    assert request.headers["sign"] == hashlib.md5(base64.b64encode(b"") + CRYPTOMUS_KEY.encode()).hexdigest()
    assert text == "Cryptomus accepted the credentials (2 payment services available)."
