"""What customers look for on a service: its description, average completion time and refill guarantee."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from orders.models import Order, Service
from orders.order_fields import OrderInvalid
from orders.services.catalog import (
    refill_days_from_name,
    service_operator_edit,
    services_completion_update,
    services_sync,
)
from orders.services.ordering import refill_request
from panel.services import api_key_rotate
from tests.orders.factories import OrderFactory, ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return UserFactory(balance="10")


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer)
    return client


@pytest.mark.parametrize(
    ("name", "days"),
    [
        ("Telegram Views [Instant] [Max 50,000] [1K/Day] [60 Days Refill]", 60),
        ("Instagram Followers ( 30 days auto refill ) ( Max 350K ) (Indian Majority )", 30),
        ("Likes | Refill: 90 days | instant", 90),
        ("Twitter Likes [ X ] | 100k/D | Super Fast | Refill 30 Days | instant", 30),
        ("Views 365D Refill", 365),
        ("Followers [R30] HQ", 30),
        ("Instagram Followers - Max 300k - No refill - 30-40k/Day", None),
        ("Followers [Max 10K] [5K/Day]", None),
    ],
)
def test_the_refill_guarantee_is_read_from_the_service_name(name, days):
    assert refill_days_from_name(name) == days


def test_sync_reads_the_guarantee_and_the_description_and_keeps_an_operators_edits(upstream_factory):
    upstream = upstream_factory("002")  # seed 002's services carry a desc
    upstream.connect()
    first = upstream.service(1)
    assert first.refill_days == 60 and first.description.startswith("Start: Instant")
    first.description = "Our own words."
    first.refill_days = 15
    service_operator_edit(service=first, changed={"description", "refill_days"})
    services_sync(provider_id=upstream.provider.pk)
    first.refresh_from_db()
    assert (first.description, first.refill_days) == ("Our own words.", 15)


def test_a_refill_outside_the_guarantee_is_refused_with_the_reason(customer_client, customer):
    service = ServiceFactory(refill=True, refill_days=30)
    now = timezone.now()
    old = OrderFactory(
        user=customer, service=service, status=Order.Status.COMPLETED, finished_at=now - timedelta(days=31)
    )
    recent = OrderFactory(
        user=customer, service=service, status=Order.Status.COMPLETED, finished_at=now - timedelta(days=29)
    )
    ended = timezone.localtime(old.finished_at + timedelta(days=30)).strftime("%Y-%m-%d")
    with pytest.raises(OrderInvalid, match=f"The refill guarantee of 30 days ended on {ended}"):
        refill_request(user=customer, order_id=old.pk)
    assert refill_request(user=customer, order_id=recent.pk).order_id == recent.pk
    html = customer_client.get("/orders/").content.decode()
    assert f'id="refill-{old.pk}"' not in html
    key = api_key_rotate(user=customer)
    answer = customer_client.post(
        "/api/v2",
        urlencode({"key": key, "action": "refill", "order": old.pk}),
        content_type="application/x-www-form-urlencoded",
    ).json()
    assert answer == {"error": f"The refill guarantee of 30 days ended on {ended}."}


def test_the_average_completion_time_comes_from_our_own_completed_orders(customer_client, customer):
    service = ServiceFactory(refill=True, refill_days=30, description="Fast start")
    other = ServiceFactory(provider_service__provider=service.provider)
    now = timezone.now()
    for hours in (1, 2, 3):
        OrderFactory(
            service=service,
            status=Order.Status.COMPLETED,
            placed_at=now - timedelta(hours=hours, minutes=30),
            finished_at=now - timedelta(minutes=30),
        )
    OrderFactory(service=service, status=Order.Status.PARTIAL, placed_at=now - timedelta(days=3), finished_at=now)
    assert services_completion_update(provider_id=service.provider_id) == 1
    service.refresh_from_db()
    other.refresh_from_db()
    assert (service.average_completion, other.average_completion) == (timedelta(hours=2), None)

    html = customer_client.get("/services/").content.decode()
    assert 'data-testid="service-average-time">2 hours</td>' in html
    assert '<span class="badge badge-yes">30 days</span>' in html and "Fast start" in html
    assert 'data-testid="service-average-time">Not enough data</td>' in html
    html = customer_client.get("/orders/new/", {"service": service.pk}).content.decode()
    assert 'id="service-average-time" data-testid="service-average-time">2 hours</dd>' in html
    assert 'id="service-refill" data-testid="service-refill">30 days</dd>' in html
    key = api_key_rotate(user=customer)
    listed = customer_client.post(
        "/api/v2", urlencode({"key": key, "action": "services"}), content_type="application/x-www-form-urlencoded"
    ).json()
    mine = next(s for s in listed if s["service"] == service.pk)
    assert (mine["desc"], mine["refill_days"], mine["average_time"]) == ("Fast start", 30, "2 hours")
    assert Service.objects.get(pk=other.pk).average_completion is None
    assert Decimal(mine["rate"]) == service.price
