import html
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.utils import timezone

from billing.models import PaymentMethod
from billing.services import funds_request_create
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


def dashboard_operator(client):
    operator = UserFactory(is_staff=True)
    operator.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client.force_login(operator)
    return operator


def inline_scripts(page: str) -> list[str]:
    """<script> elements without a src that a browser would run (JSON data blocks are not run)."""
    return [
        tag
        for tag in re.findall(r"<script\b[^>]*>", page)
        if "src=" not in tag and 'type="application/json"' not in tag
    ]


def test_the_admin_home_is_the_dashboard_with_a_30_day_chart_from_a_data_attribute(client):
    dashboard_operator(client)
    OrderFactory(charge=Decimal("3"), cost=Decimal("2"), status=Order.Status.COMPLETED)
    response = client.get("/admin/")
    page = response.content.decode()
    assert 'id="staff-dashboard"' in page and 'data-testid="money-chart"' in page
    data = json.loads(html.unescape(re.search(r'data-type="line" data-value="([^"]*)"', page).group(1)))
    assert len(data["labels"]) == 30
    assert [d["label"] for d in data["datasets"]] == ["Revenue", "Cost", "Profit"]
    assert [d["data"][-1] for d in data["datasets"]] == ["3.00000", "2.00000", "1.00000"]
    assert inline_scripts(page) == []
    # The theme's scripts need eval (Alpine.js) and its colours an inline style: said for django-csp.
    assert response._csp_update == {"script-src": ["'unsafe-eval'"], "style-src": ["'unsafe-inline'"]}


def test_staff_without_the_dashboard_permission_get_the_models_at_the_admin_home(client):
    client.force_login(UserFactory(is_staff=True))
    page = client.get("/admin/").content.decode()
    assert 'id="staff-dashboard"' not in page and "Revenue" not in page


def test_the_dashboard_shows_each_providers_work_and_the_deposits_waiting(client):
    dashboard_operator(client)
    provider = ProviderFactory(name="Fast upstream")
    now = timezone.now()
    OrderFactory(
        service__provider_service__provider=provider,
        status=Order.Status.COMPLETED,
        placed_at=now - timedelta(hours=3),
        finished_at=now - timedelta(hours=1),
    )
    OrderFactory(service__provider_service__provider=provider, status=Order.Status.IN_PROGRESS, placed_at=now)
    OrderFactory(service__provider_service__provider=provider, status=Order.Status.CANCELED)
    method = PaymentMethod.objects.create(name="Bank")
    funds = funds_request_create(user_id=UserFactory().pk, method_id=method.pk, amount=Decimal("25"))
    page = client.get("/admin/dashboard/").content.decode()
    row = re.search(r'<tr data-testid="provider-row">(.*?)</tr>', page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[0] == "Fast upstream" and cells[2:6] == ["1", "2", "1", "2h 00m"]
    assert 'data-testid="pending-funds-count">1<' in page
    assert f'href="/admin/billing/fundsrequest/{funds.pk}/change/"' in page


def test_at_scale_the_30_day_figures_are_kept_a_few_minutes(client, monkeypatch):
    from orders import selectors

    cache.clear()
    dashboard_operator(client)
    OrderFactory(charge=Decimal("3"), cost=Decimal("2"))
    monkeypatch.setattr(selectors, "DASHBOARD_CACHE_FROM_ROWS", 0)
    first = selectors.staff_dashboard_figures()
    OrderFactory(charge=Decimal("5"), cost=Decimal("1"))
    assert selectors.staff_dashboard_figures()["today"] == first["today"]
    monkeypatch.setattr(selectors, "DASHBOARD_CACHE_FROM_ROWS", 10**9)
    assert selectors.staff_dashboard_figures()["today"]["orders"] == 2
    cache.clear()
