"""The money admin: gateway credentials encrypted, test credentials, deposit actions and their permissions."""

from decimal import Decimal

import pytest
import responses
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing.models import FundsRequest, LedgerEntry, PaymentMethod, WebhookLog
from billing.services import funds_request_create
from tests.billing.conftest import CRYPTOMUS_KEY, CRYPTOMUS_MERCHANT
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db

METHOD_FORM = {
    "name": "Cryptomus",
    "instructions": "",
    "gateway": "cryptomus",
    "min_amount": "5",
    "max_amount": "5000",
    "fee_percent": "0",
    "bonus_percent": "0",
    "underpayment": "hold",
    "lifetime_minutes": "60",
    "is_active": "on",
    "sort_order": "0",
}


def staff_with(*codenames: str):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return staff


@pytest.fixture
def bank():
    return PaymentMethod.objects.create(name="Bank", min_amount=Decimal("1"))


@pytest.fixture
def pending(bank, customer):
    return funds_request_create(user_id=customer.pk, method_id=bank.pk, amount=Decimal("50"))


def test_an_operator_enters_gateway_credentials_which_are_stored_encrypted(admin_client):
    form = {**METHOD_FORM, "cred__cryptomus__merchant": CRYPTOMUS_MERCHANT, "cred__cryptomus__api_key": CRYPTOMUS_KEY}
    response = admin_client.post(reverse("admin:billing_paymentmethod_add"), form)
    assert response.status_code == 302
    method = PaymentMethod.objects.get()
    assert method.credentials == {"merchant": CRYPTOMUS_MERCHANT, "api_key": CRYPTOMUS_KEY}
    assert CRYPTOMUS_KEY not in method.credentials_encrypted
    page = admin_client.get(reverse("admin:billing_paymentmethod_change", args=[method.pk])).content.decode()
    assert CRYPTOMUS_KEY not in page and CRYPTOMUS_MERCHANT in page
    assert "/payments/webhook/cryptomus/" in page

    # An empty secret keeps the saved one; a new merchant id replaces the old.
    form = {**METHOD_FORM, "cred__cryptomus__merchant": "new-merchant", "cred__cryptomus__api_key": ""}
    admin_client.post(reverse("admin:billing_paymentmethod_change", args=[method.pk]), form)
    method.refresh_from_db()
    assert method.credentials == {"merchant": "new-merchant", "api_key": CRYPTOMUS_KEY}


def test_a_gateway_method_without_its_credentials_is_refused(admin_client):
    response = admin_client.post(reverse("admin:billing_paymentmethod_add"), METHOD_FORM)
    assert response.status_code == 200
    assert "Cryptomus (crypto) needs its payment api key." in response.content.decode()
    assert not PaymentMethod.objects.exists()


def test_test_credentials_reports_the_gateways_answer(admin_client, cryptomus, gateway_http):
    gateway_http.add(responses.POST, "https://api.cryptomus.com/v1/payment/services", status=401, json={"state": 1})
    url = reverse("admin:billing_paymentmethod_test", args=[cryptomus.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, follow=True)
    assert "Cryptomus: The payment gateway refused the request." in response.content.decode()


def test_test_credentials_is_refused_to_staff_without_the_change_permission(client, cryptomus, gateway_http):
    client.force_login(staff_with("view_paymentmethod"))
    url = reverse("admin:billing_paymentmethod_test", args=[cryptomus.pk])
    assert client.post(url).status_code == 403
    changelist = reverse("admin:billing_paymentmethod_changelist")
    response = client.post(changelist, {"action": "test_credentials", "_selected_action": [cryptomus.pk]})
    assert response.status_code in (200, 302)
    assert len(gateway_http.calls) == 0


def test_approving_needs_the_approve_funds_permission(client, pending, customer):
    client.force_login(staff_with("view_fundsrequest", "change_fundsrequest"))
    changelist = reverse("admin:billing_fundsrequest_changelist")
    for action in ("approve", "reject"):
        client.post(changelist, {"action": action, "_selected_action": [pending.pk]})
    pending.refresh_from_db()
    customer.refresh_from_db()
    assert (pending.status, customer.balance) == (FundsRequest.Status.PENDING, Decimal("0"))
    page = client.get(changelist).content.decode()
    assert 'value="approve"' not in page and 'value="reject"' not in page


def test_a_finance_operator_approves_and_a_second_approval_says_already_decided(client, pending, customer):
    staff = staff_with("view_fundsrequest", "approve_funds")
    client.force_login(staff)
    changelist = reverse("admin:billing_fundsrequest_changelist")
    client.post(changelist, {"action": "approve", "_selected_action": [pending.pk]})
    response = client.post(changelist, {"action": "reject", "_selected_action": [pending.pk]}, follow=True)
    assert response.status_code == 200
    assert f"Deposit {pending.pk} was already decided (credited)." in response.content.decode()
    customer.refresh_from_db()
    assert customer.balance == Decimal("50")
    assert LedgerEntry.objects.get(user=customer).created_by == staff


def test_asking_the_gateway_needs_the_approve_funds_permission(client, customer, cryptomus, gateway_http):
    deposit = funds_request_create(user_id=customer.pk, method_id=cryptomus.pk, amount=Decimal("10"))
    client.force_login(staff_with("view_fundsrequest", "change_fundsrequest"))
    changelist = reverse("admin:billing_fundsrequest_changelist")
    client.post(changelist, {"action": "check_with_gateway", "_selected_action": [deposit.pk]})
    assert len(gateway_http.calls) == 0


def test_the_webhook_log_is_read_only_for_operators(admin_client, cryptomus):
    admin_client.post("/payments/webhook/cryptomus/", data=b"{}", content_type="application/json")
    log = WebhookLog.objects.get()
    assert admin_client.get(reverse("admin:billing_webhooklog_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:billing_webhooklog_change", args=[log.pk])).status_code == 200
    assert admin_client.get(reverse("admin:billing_webhooklog_add")).status_code == 403
    assert admin_client.post(reverse("admin:billing_webhooklog_delete", args=[log.pk])).status_code == 403


def test_the_deposit_admin_lists_huge_and_odd_rows_without_error(admin_client, customer, bank):
    FundsRequest.objects.create(user=customer, method=bank, amount=Decimal("999999999999999.99999"), note="x" * 255)
    assert admin_client.get(reverse("admin:billing_fundsrequest_changelist")).status_code == 200


def test_the_webhook_log_records_the_address_the_trusted_proxy_saw(client, cryptomus, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.post(
        "/payments/webhook/cryptomus/",
        data=b"{}",
        content_type="application/json",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9",
    )
    assert WebhookLog.objects.get().remote_addr == "203.0.113.9"
