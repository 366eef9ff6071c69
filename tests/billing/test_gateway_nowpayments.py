"""NOWPayments: invoice, IPN and payment status, signed as NOWPayments documents them."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.utils import timezone

from billing.models import FundsRequest, LedgerEntry, WebhookLog
from billing.services import deposit_start, deposits_sweep
from tests.billing.conftest import NOWPAYMENTS_KEY, deposit_for, nowpayments_ipn, nowpayments_signature

pytestmark = pytest.mark.django_db
WEBHOOK = "/payments/webhook/nowpayments/"
S = FundsRequest.Status


def post_ipn(client, fields, signature=None, raw=None):
    body = raw if raw is not None else json.dumps(fields, separators=(",", ":"))
    return client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={"x-nowpayments-sig": signature or nowpayments_signature(fields)},
    )


def test_an_invoice_is_created_with_the_documented_body_and_api_key(customer, nowpayments, gateway_http):
    deposit = deposit_for(customer, nowpayments, "25.5")
    gateway_http.add(
        responses.POST,
        "https://api.nowpayments.io/v1/invoice",
        json={
            "id": "4522625843",
            "order_id": deposit.reference,
            "price_amount": "25.5",
            "price_currency": "usd",
            "invoice_url": "https://nowpayments.io/payment/?iid=4522625843",
        },
    )

    redirect = deposit_start(
        deposit_id=deposit.pk, notify_url="https://p/payments/webhook/nowpayments/", back_url="https://b/"
    )

    request = gateway_http.calls[0].request
    assert request.headers["x-api-key"] == NOWPAYMENTS_KEY
    assert json.loads(request.body) == {
        "price_amount": 25.5,
        "price_currency": "usd",
        "order_id": deposit.reference,
        "order_description": f"Deposit {deposit.pk}",
        "ipn_callback_url": "https://p/payments/webhook/nowpayments/",
        "success_url": "https://b/",
        "cancel_url": "https://b/",
    }
    deposit.refresh_from_db()
    assert redirect.url == "https://nowpayments.io/payment/?iid=4522625843"
    assert deposit.gateway_reference == "4522625843"


def test_a_finished_ipn_credits_once_and_its_replay_answers_409(customer, nowpayments, client):
    deposit = deposit_for(customer, nowpayments, "10", gateway_reference="4522625843")
    fields = nowpayments_ipn(deposit, "finished")
    assert post_ipn(client, fields).status_code == 200
    assert post_ipn(client, fields).status_code == 409
    deposit.refresh_from_db()
    customer.refresh_from_db()
    assert (deposit.status, deposit.gateway_payment_id, customer.balance) == (S.APPROVED, "5077125051", Decimal("10"))
    assert LedgerEntry.objects.filter(user=customer, kind="deposit").count() == 1


def test_the_signature_is_over_the_sorted_keys_whatever_order_the_body_has(customer, nowpayments, client):
    deposit = deposit_for(customer, nowpayments, "10")
    fields = nowpayments_ipn(deposit, "finished")
    shuffled = json.dumps(dict(reversed(list(fields.items()))))
    assert post_ipn(client, fields, raw=shuffled).status_code == 200


def test_a_forged_signature_is_refused_and_logged(customer, nowpayments, client):
    deposit = deposit_for(customer, nowpayments, "10")
    fields = nowpayments_ipn(deposit, "finished")
    response = post_ipn(client, fields, signature=nowpayments_signature(fields, secret="guessed"))
    assert response.status_code == 403
    deposit.refresh_from_db()
    assert deposit.status == S.PENDING
    assert WebhookLog.objects.get().headers["x-nowpayments-sig"] == nowpayments_signature(fields, secret="guessed")


def test_an_ipn_without_a_signature_is_refused(customer, nowpayments, client):
    deposit = deposit_for(customer, nowpayments, "10")
    response = client.post(WEBHOOK, data=json.dumps(nowpayments_ipn(deposit)), content_type="application/json")
    assert response.status_code == 403
    assert not LedgerEntry.objects.exists()


def test_a_partial_payment_is_held_with_what_arrived(customer, nowpayments, client):
    deposit = deposit_for(customer, nowpayments, "10")
    fields = nowpayments_ipn(deposit, "partially_paid", pay_amount=200, actually_paid=150)
    assert post_ipn(client, fields).status_code == 200
    deposit.refresh_from_db()
    assert (deposit.status, deposit.paid_amount) == (S.HELD, Decimal("7.5"))
    assert not LedgerEntry.objects.exists()


def test_an_ipn_for_another_price_is_refused(customer, nowpayments, client):
    deposit = deposit_for(customer, nowpayments, "10")
    response = post_ipn(client, nowpayments_ipn(deposit, "finished", price_amount=1000))
    assert response.status_code == 400
    assert not LedgerEntry.objects.exists()


def test_an_expired_ipn_expires_the_deposit(customer, nowpayments, client):
    deposit = deposit_for(customer, nowpayments, "10")
    assert post_ipn(client, nowpayments_ipn(deposit, "expired")).status_code == 200
    deposit.refresh_from_db()
    assert deposit.status == S.EXPIRED


def test_a_waiting_ipn_records_the_payment_id_the_sweep_then_asks_about(customer, nowpayments, client, gateway_http):
    deposit = deposit_for(customer, nowpayments, "10")
    assert post_ipn(client, nowpayments_ipn(deposit, "waiting")).status_code == 200
    FundsRequest.objects.filter(pk=deposit.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    gateway_http.add(
        responses.GET, "https://api.nowpayments.io/v1/payment/5077125051", json=nowpayments_ipn(deposit, "finished")
    )

    report = deposits_sweep()

    assert gateway_http.calls[0].request.headers["x-api-key"] == NOWPAYMENTS_KEY
    assert (report.checked, report.credited) == (1, 1)
    customer.refresh_from_db()
    assert customer.balance == Decimal("10")


def test_the_sweep_expires_an_invoice_nobody_paid(customer, nowpayments, gateway_http):
    deposit = deposit_for(customer, nowpayments, "10")
    past = timezone.now() - timedelta(hours=2)
    FundsRequest.objects.filter(pk=deposit.pk).update(created_at=past, expires_at=past + timedelta(hours=1))
    report = deposits_sweep()
    deposit.refresh_from_db()
    # No IPN ever named a payment: there is nothing to ask NOWPayments, and the invoice's time is over.
    assert (report.checked, report.expired, deposit.status, len(gateway_http.calls)) == (1, 1, S.EXPIRED, 0)


def test_test_credentials_uses_the_api_key(nowpayments, gateway_http):
    from billing.gateways.nowpayments import NowPaymentsGateway

    gateway_http.add(responses.GET, "https://api.nowpayments.io/v1/currencies", json={"currencies": ["btc", "eth"]})
    text = NowPaymentsGateway().credentials_test(credentials=nowpayments.credentials)
    assert gateway_http.calls[0].request.headers["x-api-key"] == NOWPAYMENTS_KEY
    assert text.startswith("NOWPayments accepted the API key (2 currencies available).")
