"""Placement from many threads at once, on PostgreSQL: every order is sent exactly once."""

import pytest

from orders.models import Order
from orders.services.cycle import orders_place_waiting
from orders.services.ordering import order_create
from orders.services.upstream import order_place
from tests.billing.test_concurrency import _run_together
from tests.panel.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _orders(upstream, count: int) -> list[Order]:
    user = UserFactory(balance="1000")
    service = upstream.service(1)
    return [
        order_create(user=user, service_id=service.pk, data={"link": f"https://x.test/{i}", "quantity": 100})
        for i in range(count)
    ]


def test_a_pool_of_placement_threads_sends_every_order_once(upstream):
    _orders(upstream, 30)
    counts = orders_place_waiting(concurrency=6)
    assert counts == {"pending": 30}
    assert upstream.sim.order_count == 30
    assert Order.objects.filter(status=Order.Status.PENDING, upstream_order_id__isnull=False).count() == 30


def test_workers_racing_for_the_same_order_send_it_once(upstream):
    order = _orders(upstream, 1)[0]
    outcomes = _run_together(8, lambda i: order_place(order_id=order.pk))
    assert sum(1 for outcome in outcomes if outcome.claimed) == 1
    assert upstream.sim.order_count == 1
