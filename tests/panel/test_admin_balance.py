from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import LedgerEntry
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = UserFactory(username="operator", is_staff=True, is_superuser=True)
    client.force_login(staff)
    client.staff = staff
    return client


def test_an_operator_credits_a_customer_through_the_ledger(staff_client):
    customer = UserFactory(balance="1")
    url = reverse("admin:panel_user_balance", args=[customer.pk])
    response = staff_client.post(url, {"amount": "2.5", "memo": "bank transfer 77"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.balance == Decimal("3.5")
    entry = customer.ledger_entries.latest("id")
    assert (entry.amount, entry.memo, entry.created_by) == (Decimal("2.5"), "bank transfer 77", staff_client.staff)


def test_an_operator_debit_past_zero_shows_the_error_and_writes_nothing(staff_client):
    customer = UserFactory(balance="1")
    url = reverse("admin:panel_user_balance", args=[customer.pk])
    response = staff_client.post(url, {"amount": "-5", "memo": "oops"})
    assert response.status_code == 200
    assert "Not enough funds on balance" in response.content.decode()
    customer.refresh_from_db()
    assert customer.balance == Decimal("1") and customer.ledger_entries.count() == 1


def test_the_balance_is_read_only_in_the_user_form(staff_client):
    customer = UserFactory(balance="1")
    page = staff_client.get(reverse("admin:panel_user_change", args=[customer.pk])).content.decode()
    assert 'name="balance"' not in page
    assert "Credit / debit" in page


def test_ledger_rows_are_read_only_in_the_admin(staff_client):
    customer = UserFactory(balance="1")
    entry = LedgerEntry.objects.get(user=customer)
    assert staff_client.get(reverse("admin:billing_ledgerentry_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:billing_ledgerentry_add")).status_code == 403
    assert staff_client.post(reverse("admin:billing_ledgerentry_delete", args=[entry.pk])).status_code == 403


def test_customers_cannot_open_the_credit_form(client):
    customer = UserFactory(balance="1")
    client.force_login(customer)
    response = client.get(reverse("admin:panel_user_balance", args=[customer.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
