from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from orders.models import Order
from providers.services import provider_record_failure
from tests.orders.factories import OrderFactory
from tests.panel.factories import UserFactory
from tests.providers.factories import ProviderFactory

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_money_statuses_low_balances_and_the_review_queue(client):
    operator = UserFactory(is_staff=True)
    operator.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client.force_login(operator)
    ProviderFactory(name="Cheap upstream", balance=Decimal("2"), low_balance_alert=Decimal("10"))
    OrderFactory(charge=Decimal("3"), cost=Decimal("2"), status=Order.Status.COMPLETED)
    OrderFactory(charge=Decimal("1"), refunded=Decimal("0.5"), cost=Decimal("0.2"), upstream_charge=Decimal("0.1"))
    stuck = OrderFactory(status=Order.Status.NEEDS_REVIEW, error="answer lost", cost=Decimal("0"))
    page = client.get("/admin/dashboard/").content.decode()
    assert 'data-testid="status-completed">1<' in page
    assert 'data-testid="status-needs_review">1<' in page
    # Revenue 3 + 0.5 + 1.2; cost 2 + 0.1 (the provider's own figure wins) + 0.
    assert "<td>4.70000</td><td>2.10000</td><td>2.60000</td>" in page
    assert "2.00000 USD (low)" in page
    assert f'href="/admin/orders/order/{stuck.pk}/change/"' in page


def test_a_failing_provider_shows_as_failing_and_left_alone_while_its_circuit_is_open(client, settings):
    operator = UserFactory(is_staff=True)
    operator.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client.force_login(operator)
    ProviderFactory(name="Healthy upstream")
    failing = ProviderFactory(name="Broken upstream")
    for _ in range(settings.PROVIDER_CIRCUIT_FAILURES):
        provider_record_failure(provider=failing, error="Provider Broken upstream, action status: HTTP 500")
    page = client.get("/admin/dashboard/").content.decode()
    assert page.count('data-testid="provider-failing"') == 1
    assert f"({settings.PROVIDER_CIRCUIT_FAILURES} in a row, left alone until " in page
    assert "action status: HTTP 500" in page


def test_customers_cannot_open_the_dashboard(client):
    client.force_login(UserFactory())
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_without_the_dashboard_permission_are_refused(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/admin/dashboard/").status_code == 403
