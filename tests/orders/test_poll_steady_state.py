"""The poll's steady state: most answers repeat the last one, and those cost the stamp alone.

Also what the stamp means (when the order was really asked about) and the dispatcher's order
(the least recently polled provider first), which keep the oldest order's age near its bound
(benchmarks/poll_fanout.py).
"""

import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order, OrderEvent
from orders.selectors import providers_with_work
from orders.services.upstream import orders_poll
from tests.orders.factories import OrderFactory
from tests.providers.factories import ProviderFactory

pytestmark = pytest.mark.django_db
URL = "https://steady.test/api/v2"


@pytest.fixture
def provider():
    return ProviderFactory(api_url=URL)


def _active(provider, count: int, first_id: int = 0, **fields) -> list[Order]:
    first = OrderFactory(
        provider=provider,
        service__provider_service__provider=provider,
        upstream_order_id=str(first_id),
        status=Order.Status.PENDING,
        **fields,
    )
    rows = [
        OrderFactory.build(
            user=first.user,
            service=first.service,
            provider=provider,
            upstream_order_id=str(first_id + i),
            status=Order.Status.PENDING,
            **fields,
        )
        for i in range(1, count)
    ]
    return [first, *Order.objects.bulk_create(rows)]


def _poll(provider, answer: dict):
    with responses.RequestsMock() as mock:
        mock.post(URL, json=answer)
        return orders_poll(provider_id=provider.pk)


def _in_progress(count: int, remains: int = 40) -> dict:
    return {
        str(i): {"charge": "0.9", "start_count": "7", "status": "In progress", "remains": str(remains)}
        for i in range(count)
    }


def test_a_chunk_whose_answers_change_nothing_takes_no_lock_and_writes_only_its_stamp(provider):
    _active(provider, 100)
    first = _poll(provider, _in_progress(100))
    assert (first.calls, first.changed) == (1, 100)
    events = OrderEvent.objects.count()

    with CaptureQueriesContext(connection) as queries:
        again = _poll(provider, _in_progress(100))

    statements = [query["sql"] for query in queries.captured_queries]
    assert (again.calls, again.orders, again.changed) == (1, 100, 0)
    # The provider, the queue's two range scans, the stamp: nothing else.
    assert len(statements) == 4, statements
    assert not [sql for sql in statements if "FOR UPDATE" in sql or "SAVEPOINT" in sql]
    (update,) = [sql for sql in statements if sql.startswith("UPDATE")]
    assert '"last_polled_at" = ' in update and '"remains"' not in update
    assert OrderEvent.objects.count() == events


def test_an_answer_with_new_figures_in_the_same_status_is_still_written(provider):
    _active(provider, 3)
    _poll(provider, _in_progress(3, remains=40))
    events = OrderEvent.objects.count()
    _poll(provider, {**_in_progress(3, remains=40), "1": {"charge": "0.9", "status": "In progress", "remains": "25"}})
    remains = dict(Order.objects.values_list("upstream_order_id", "remains"))
    assert remains == {"0": 40, "1": 25, "2": 40}
    assert OrderEvent.objects.count() == events


def test_an_answer_that_moves_an_order_still_moves_it_with_its_refund(provider):
    _active(provider, 2, charge=Decimal("1.20"))
    _poll(provider, _in_progress(2))
    _poll(provider, {**_in_progress(2), "1": {"charge": "0", "status": "Canceled", "remains": "1000"}})
    statuses = dict(Order.objects.values_list("upstream_order_id", "status"))
    assert statuses == {"0": Order.Status.IN_PROGRESS, "1": Order.Status.CANCELED}
    assert Order.objects.get(upstream_order_id="1").refunded == Decimal("1.20")


def test_each_chunk_is_stamped_with_the_time_it_was_asked_about(provider):
    _active(provider, 150)
    asked_at = []

    def status(request):
        ids = parse_qs(request.body)["orders"][0].split(",")
        asked_at.append(timezone.now())
        return 200, {}, json.dumps({i: {"status": "Pending", "remains": "5"} for i in ids})

    started = timezone.now()
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, URL, callback=status)
        report = orders_poll(provider_id=provider.pk)
    assert report.calls == 2
    stamps = dict(Order.objects.values_list("upstream_order_id", "last_polled_at"))
    first = {stamps[str(i)] for i in range(100)}
    second = {stamps[str(i)] for i in range(100, 150)}
    assert len(first) == len(second) == 1
    (first_stamp,), (second_stamp,) = first, second
    assert started <= first_stamp <= asked_at[0] < second_stamp <= asked_at[1]


def test_the_dispatcher_takes_the_providers_never_polled_first_then_the_longest_unserved():
    now = timezone.now()
    serving, waiting, never, idle = (ProviderFactory() for _ in range(4))
    # A poll of `serving` is under way: it has reached some orders, not yet its oldest.
    _active(serving, 2, last_polled_at=now - timedelta(seconds=500))
    Order.objects.filter(provider=serving, upstream_order_id="0").update(last_polled_at=now - timedelta(seconds=5))
    _active(waiting, 2, last_polled_at=now - timedelta(seconds=100))
    _active(never, 1)
    OrderFactory(provider=idle, service__provider_service__provider=idle, status=Order.Status.COMPLETED)

    assert providers_with_work() == [never.pk, waiting.pk, serving.pk]
