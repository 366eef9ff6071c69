"""The test gateway (issue 9 §3): only with DEBUG or PAYMENTS_TEST_GATEWAY=1, and its page holds no secret."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from billing.checks import check_test_gateway
from billing.errors import GatewayNotConfigured
from billing.gateways import gateway_choices, gateway_for
from billing.models import FundsRequest, LedgerEntry, PaymentMethod, WebhookLog
from billing.services import deposit_start, funds_request_create
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.PAYMENTS_TEST_GATEWAY = False
    return settings


@pytest.fixture
def development(settings):
    settings.PAYMENTS_TEST_GATEWAY = True
    return settings


@pytest.fixture
def test_method():
    return PaymentMethod.objects.create(name="Test card", gateway="test")


def test_in_development_the_test_gateway_pays_through_a_notification_signed_on_the_server(
    development, customer_client, customer
):
    method = PaymentMethod.objects.create(name="Test card", gateway="test")
    response = customer_client.post("/funds/", {"method": method.pk, "amount": "12.5", "note": ""})
    deposit = FundsRequest.objects.get()
    assert response["Location"] == f"/funds/deposits/{deposit.pk}/?pay=1"
    assert deposit.payment_url == f"/funds/test-gateway/{deposit.pk}/"
    page = customer_client.get(deposit.payment_url).content.decode()
    assert "signature" not in page and deposit.reference not in page

    customer_client.post(f"/funds/test-gateway/{deposit.pk}/pay/", {"amount": "12.50"})
    customer_client.post(f"/funds/test-gateway/{deposit.pk}/pay/", {"amount": "12.50"})

    customer.refresh_from_db()
    assert customer.balance == Decimal("12.5")
    assert LedgerEntry.objects.filter(reference=f"funds:{deposit.pk}").count() == 1
    assert list(WebhookLog.objects.order_by("id").values_list("http_status", flat=True)) == [200, 409]


def test_a_customer_cannot_pay_anothers_test_deposit(development, customer_client, test_method):
    owner = UserFactory()
    deposit = funds_request_create(user_id=owner.pk, method_id=test_method.pk, amount=Decimal("10"))
    response = customer_client.post(f"/funds/test-gateway/{deposit.pk}/pay/", {"amount": "10"})
    assert response.status_code == 404
    owner.refresh_from_db()
    assert owner.balance == Decimal("0")


def test_in_production_the_test_gateway_does_not_exist(production, customer_client, customer, test_method):
    assert gateway_for("test") is None
    assert "test" not in dict(gateway_choices())
    deposit = FundsRequest.objects.create(user=customer, method=test_method, amount=Decimal("10"), reference="dep_x")
    assert customer_client.get(f"/funds/test-gateway/{deposit.pk}/").status_code == 404
    assert customer_client.post(f"/funds/test-gateway/{deposit.pk}/pay/", {"amount": "1000000"}).status_code == 404
    webhook = customer_client.post(
        "/payments/webhook/test/", {"reference": "dep_x", "amount": "1000000", "signature": "x"}
    )
    assert webhook.status_code == 404
    customer.refresh_from_db()
    assert customer.balance == Decimal("0")


def test_in_production_a_test_method_cannot_be_chosen_by_customers(production, customer_client, test_method):
    assert "Test card" not in customer_client.get("/funds/").content.decode()
    response = customer_client.post("/funds/", {"method": test_method.pk, "amount": "10"})
    assert "No payment method is available yet" in response.content.decode()
    assert not FundsRequest.objects.exists()


def test_a_deposit_whose_gateway_is_gone_fails_with_a_clear_message(production, customer, test_method):
    deposit = FundsRequest.objects.create(user=customer, method=test_method, amount=Decimal("10"), reference="dep_y")
    with pytest.raises(GatewayNotConfigured, match=r"This payment method is not available\."):
        deposit_start(deposit_id=deposit.pk, notify_url="https://p/", back_url="https://b/")
    deposit.refresh_from_db()
    assert (deposit.status, deposit.status_message) == ("failed", "This payment method is not available.")


def test_in_production_the_admin_refuses_to_save_a_test_method(production, admin_client):
    response = admin_client.post(
        reverse("admin:billing_paymentmethod_add"),
        {
            "name": "Free money",
            "gateway": "test",
            "min_amount": "1",
            "max_amount": "100",
            "fee_percent": "0",
            "bonus_percent": "0",
            "underpayment": "hold",
            "lifetime_minutes": "60",
            "sort_order": "0",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice. test is not one of the available choices." in response.content.decode()
    assert not PaymentMethod.objects.exists()


def test_the_system_check_warns_about_an_existing_test_method_in_production(production, test_method):
    warnings = check_test_gateway()
    assert [w.id for w in warnings] == ["billing.W002"]
    assert "1 payment method(s) use the test gateway, which is disabled" in warnings[0].msg


def test_the_system_check_warns_when_the_test_gateway_is_forced_on_in_production(settings):
    settings.DEBUG = False
    settings.PAYMENTS_TEST_GATEWAY = True
    assert [w.id for w in check_test_gateway()] == ["billing.W001"]


def test_the_system_check_is_silent_in_development(settings, test_method):
    settings.DEBUG = True
    assert check_test_gateway() == []


def test_the_check_runs_with_manage_check(production, test_method):
    with pytest.raises(SystemCheckError, match=r"billing\.W002"):
        call_command("check", "--fail-level", "WARNING")
