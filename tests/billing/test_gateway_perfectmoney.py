"""Perfect Money: the SCI form, the status notification's V2_HASH, and the history look-up."""

from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.utils import timezone

from billing.models import FundsRequest, LedgerEntry, WebhookLog
from billing.services import deposit_start, deposits_sweep
from tests.billing.conftest import PM_ACCOUNT, deposit_for, perfectmoney_form

pytestmark = pytest.mark.django_db
WEBHOOK = "/payments/webhook/perfectmoney/"
S = FundsRequest.Status


def test_the_payment_form_carries_the_documented_fields(customer, perfectmoney, gateway_http):
    deposit = deposit_for(customer, perfectmoney, "15.95")
    redirect = deposit_start(
        deposit_id=deposit.pk, notify_url="https://p/payments/webhook/perfectmoney/", back_url="https://b/"
    )
    assert (redirect.url, redirect.method) == ("https://perfectmoney.com/api/step1.asp", "POST")
    assert dict(redirect.fields) == {
        "PAYEE_ACCOUNT": PM_ACCOUNT,
        "PAYEE_NAME": "Panel",
        "PAYMENT_ID": deposit.reference,
        "PAYMENT_AMOUNT": "15.95",
        "PAYMENT_UNITS": "USD",
        "STATUS_URL": "https://p/payments/webhook/perfectmoney/",
        "PAYMENT_URL": "https://b/",
        "PAYMENT_URL_METHOD": "GET",
        "NOPAYMENT_URL": "https://b/",
        "NOPAYMENT_URL_METHOD": "GET",
        "SUGGESTED_MEMO": f"Deposit {deposit.pk}",
        "BAGGAGE_FIELDS": "",
    }
    assert len(gateway_http.calls) == 0


def test_the_deposit_page_posts_the_form_to_perfect_money(customer_client, perfectmoney):
    response = customer_client.post("/funds/", {"method": perfectmoney.pk, "amount": "15.95"})
    deposit = FundsRequest.objects.get()
    assert response["Location"] == f"/funds/deposits/{deposit.pk}/?pay=1"
    page = customer_client.get(response["Location"]).content.decode()
    assert '<form method="post" action="https://perfectmoney.com/api/step1.asp" id="pay-form" data-autostart>' in page
    assert f'<input type="hidden" name="PAYMENT_ID" value="{deposit.reference}">' in page
    assert "<script>" not in page


def test_a_status_with_a_valid_v2_hash_credits_once(customer, perfectmoney, client):
    deposit = deposit_for(customer, perfectmoney, "15.95")
    form = perfectmoney_form(deposit)
    assert client.post(WEBHOOK, form).status_code == 200
    assert client.post(WEBHOOK, form).status_code == 409
    deposit.refresh_from_db()
    customer.refresh_from_db()
    assert (deposit.status, deposit.gateway_reference, customer.balance) == (S.APPROVED, "789456123", Decimal("15.95"))
    assert LedgerEntry.objects.filter(user=customer).count() == 1


def test_a_status_signed_with_another_passphrase_is_refused(customer, perfectmoney, client):
    deposit = deposit_for(customer, perfectmoney, "15.95")
    response = client.post(WEBHOOK, perfectmoney_form(deposit, passphrase="guessed"))
    assert response.status_code == 403
    assert WebhookLog.objects.get().message == "Bad V2_HASH."
    assert not LedgerEntry.objects.exists()


def test_a_payment_to_another_account_or_currency_is_refused(customer, perfectmoney, client):
    deposit = deposit_for(customer, perfectmoney, "15.95")
    assert client.post(WEBHOOK, perfectmoney_form(deposit, PAYEE_ACCOUNT="U9999999")).status_code == 400
    assert client.post(WEBHOOK, perfectmoney_form(deposit, PAYMENT_UNITS="EUR")).status_code == 400
    assert not LedgerEntry.objects.exists()


def test_less_than_the_invoice_is_held_and_more_is_credited(customer, perfectmoney, client):
    short = deposit_for(customer, perfectmoney, "15.95")
    over = deposit_for(customer, perfectmoney, "10")
    client.post(WEBHOOK, perfectmoney_form(short, amount="5.00"))
    client.post(WEBHOOK, perfectmoney_form(over, amount="12.00", PAYMENT_BATCH_NUM="789456124"))
    short.refresh_from_db()
    customer.refresh_from_db()
    assert (short.status, short.paid_amount) == (S.HELD, Decimal("5"))
    assert customer.balance == Decimal("12")


def test_the_sweep_finds_a_payment_in_the_account_history(customer, perfectmoney, gateway_http):
    perfectmoney.credentials = {**perfectmoney.credentials, "account_id": "1234567", "passphrase": "account-pass"}
    perfectmoney.save()
    deposit = deposit_for(customer, perfectmoney, "15.95")
    FundsRequest.objects.filter(pk=deposit.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    csv_text = (
        "Time,Type,Batch,Currency,Amount,Fee,Payer Account,Payee Account,Payment ID,Memo\n"
        f"11/24/2026 15:40,Income,789456123,USD,15.95,0.08,U7654321,{PM_ACCOUNT},{deposit.reference},Deposit\n"
    )
    gateway_http.add(responses.GET, "https://perfectmoney.com/acct/historycsv.asp", body=csv_text)

    report = deposits_sweep()

    params = gateway_http.calls[0].request.params
    assert (params["AccountID"], params["payment_id"], params["paymentsreceived"]) == (
        "1234567",
        deposit.reference,
        "1",
    )
    deposit.refresh_from_db()
    assert (report.credited, deposit.status, deposit.gateway_reference) == (1, S.APPROVED, "789456123")


def test_without_api_credentials_the_sweep_only_expires(customer, perfectmoney, gateway_http):
    deposit = deposit_for(customer, perfectmoney, "15.95")
    past = timezone.now() - timedelta(hours=2)
    FundsRequest.objects.filter(pk=deposit.pk).update(created_at=past, expires_at=past + timedelta(hours=1))
    report = deposits_sweep()
    deposit.refresh_from_db()
    assert (report.expired, deposit.status, len(gateway_http.calls)) == (1, S.EXPIRED, 0)
