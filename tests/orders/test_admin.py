from decimal import Decimal

import pytest

from billing.models import LedgerEntry
from orders.models import Order, Service
from orders.services.catalog import sync_progress_clear, sync_progress_set
from orders.services.ordering import order_create
from providers.models import Provider
from tests.orders.factories import OrderFactory, ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.mark.parametrize("dialect", ["standard", "002", "003"])
def test_an_operator_adds_a_provider_of_each_dialect_and_syncs_it(client, staff, upstream_factory, dialect, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    upstream = upstream_factory(dialect)
    response = client.post(
        "/admin/providers/provider/add/",
        {
            "name": f"sim {dialect}",
            "api_url": upstream.url,
            "api_key": upstream.sim.key,
            "dialect": "",
            "exchange_rate": "1",
            "is_active": "on",
            "markup_percent": "10",
            "markup_fixed": "0",
            "low_balance_alert": "10",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    provider = Provider.objects.get()
    assert (provider.dialect, provider.balance, provider.api_key) == (dialect, Decimal("1000"), upstream.sim.key)
    response = client.post(
        "/admin/providers/provider/", {"action": "sync_now", "_selected_action": [provider.pk]}, follow=True
    )
    assert Service.objects.filter(provider=provider, kind="service").count() == 20
    provider.refresh_from_db()
    assert provider.last_sync_ok is True


def test_a_provider_whose_key_is_refused_is_not_saved(client, staff, upstream_factory):
    upstream = upstream_factory()
    response = client.post(
        "/admin/providers/provider/add/",
        {
            "name": "bad",
            "api_url": upstream.url,
            "api_key": "wrong",
            "dialect": "standard",
            "exchange_rate": "1",
            "markup_percent": "0",
            "markup_fixed": "0",
            "low_balance_alert": "10",
        },
    )
    assert response.status_code == 200
    assert "Connection check failed" in response.content.decode() and "Invalid API key" in response.content.decode()
    assert not Provider.objects.exists()


def test_the_provider_list_shows_a_running_sync_progress(client, staff, upstream):
    sync_progress_set(provider_id=upstream.provider.pk, done=3000, total=10000)
    page = client.get("/admin/providers/provider/").content.decode()
    sync_progress_clear(provider_id=upstream.provider.pk)
    assert "syncing: 3000 / 10000 services" in page


def test_bulk_disable_and_enable_services(client, staff):
    services = ServiceFactory.create_batch(3)
    ids = [s.pk for s in services]
    client.post("/admin/orders/service/", {"action": "disable", "_selected_action": ids})
    assert Service.objects.filter(is_enabled=False, disabled_by="operator").count() == 3
    client.post("/admin/orders/service/", {"action": "enable", "_selected_action": ids[:1]})
    assert list(Service.objects.filter(is_enabled=True).values_list("pk", flat=True)) == ids[:1]


def test_the_review_queue_resend_attach_and_cancel_with_refund(client, staff):
    customer = UserFactory(balance="10")
    service = ServiceFactory(rate=Decimal("1"))
    orders = [
        order_create(user=customer, service_id=service.pk, data={"link": f"https://x.test/{i}", "quantity": 1000})
        for i in range(3)
    ]
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=Order.Status.NEEDS_REVIEW)
    resend, attach, cancel = orders
    client.post("/admin/orders/order/", {"action": "resend", "_selected_action": [resend.pk], "post": "yes"})
    client.post(f"/admin/orders/order/{attach.pk}/attach/", {"upstream_order_id": "777"})
    client.post("/admin/orders/order/", {"action": "cancel_and_refund", "_selected_action": [cancel.pk], "post": "yes"})
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {resend.pk: "awaiting", attach.pk: "pending", cancel.pk: "canceled"}
    assert Order.objects.get(pk=attach.pk).upstream_order_id == "777"
    assert LedgerEntry.objects.filter(kind="refund", reference=f"order:{cancel.pk}").count() == 1
    customer.refresh_from_db()
    assert customer.balance == Decimal("8")


def test_attaching_an_id_another_order_has_is_refused(client, staff):
    taken = OrderFactory(upstream_order_id="55", status=Order.Status.PENDING)
    order = OrderFactory(provider=taken.provider, service=taken.service, status=Order.Status.NEEDS_REVIEW)
    response = client.post(f"/admin/orders/order/{order.pk}/attach/", {"upstream_order_id": "55"})
    assert "Another order already has the provider&#x27;s id 55." in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.NEEDS_REVIEW


def test_the_order_page_shows_its_history(client, staff):
    customer = UserFactory(balance="10")
    order = order_create(
        user=customer, service_id=ServiceFactory().pk, data={"link": "https://x.test/h", "quantity": 100}
    )
    client.post("/admin/orders/order/", {"action": "cancel_and_refund", "_selected_action": [order.pk], "post": "yes"})
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "staff:" in page and "cancelled by staff" in page


def test_an_order_running_upstream_cannot_be_cancelled_with_a_full_refund(client, staff):
    running = OrderFactory(status=Order.Status.IN_PROGRESS, upstream_order_id="9")
    response = client.post(
        "/admin/orders/order/",
        {"action": "cancel_and_refund", "_selected_action": [running.pk], "post": "yes"},
        follow=True,
    )
    assert "running orders are cancelled at the provider" in response.content.decode()
    running.refresh_from_db()
    assert running.status == Order.Status.IN_PROGRESS
    assert not LedgerEntry.objects.filter(kind="refund").exists()
