"""Placement per provider: a cap on `add`s under way, the hand-off to the next order, and retries with backoff."""

import json
import socket
import threading
import time
from decimal import Decimal
from unittest import mock

import pytest
import responses
from celery.exceptions import Retry
from django.db import connection

from billing.models import LedgerEntry
from orders.models import Order
from orders.services.ordering import order_create
from orders.services.upstream import MAX_CONNECT_ATTEMPTS, order_place
from orders.tasks import order_place_task, placement_backoff
from tests.orders.factories import OrderFactory, ServiceFactory
from tests.panel.factories import UserFactory
from tests.providers.factories import ProviderFactory

URL = "https://placement.test/api/v2"
S = Order.Status


def _awaiting(service, count: int) -> list[Order]:
    user = UserFactory(balance="100")
    return [
        order_create(user=user, service_id=service.pk, data={"link": f"https://x.test/{i}", "quantity": 100})
        for i in range(count)
    ]


@pytest.fixture
def service():
    return ServiceFactory(provider_service__provider=ProviderFactory(api_url=URL))


@pytest.mark.django_db
def test_an_order_over_its_providers_cap_stays_awaiting_and_nothing_is_sent(service):
    for _ in range(2):
        OrderFactory(service=service, status=S.PLACING)
    order = _awaiting(service, 1)[0]
    with responses.RequestsMock() as upstream:
        outcome = order_place(order_id=order.pk, max_inflight=2)
        assert len(upstream.calls) == 0
    order.refresh_from_db()
    assert (outcome.claimed, outcome.deferred) == (False, True)
    assert (order.status, order.placement_attempts) == (S.AWAITING, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_a_providers_last_slot_send_one_add(service):
    orders = _awaiting(service, 4)
    release, adds = threading.Event(), []
    outcomes: dict[int, object] = {}

    def add(request):
        adds.append(request.body)
        release.wait(10)
        return 200, {}, json.dumps({"order": 777})

    def place(order_id: int) -> None:
        try:
            outcomes[order_id] = order_place(order_id=order_id, max_inflight=1)
        finally:
            connection.close()

    with responses.RequestsMock() as upstream:
        upstream.add_callback(responses.POST, URL, callback=add)
        threads = [threading.Thread(target=place, args=(order.pk,)) for order in orders]
        for thread in threads:
            thread.start()
        # The one that took the slot is held inside its `add`; the other three must give up meanwhile.
        deadline = time.monotonic() + 10
        while len(outcomes) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        deferred = [outcome for outcome in outcomes.values() if outcome.deferred]
        release.set()
        for thread in threads:
            thread.join(10)
    assert (len(deferred), len(adds)) == (3, 1)
    assert sorted(outcome.status for outcome in outcomes.values()) == [S.AWAITING, S.AWAITING, S.AWAITING, S.PENDING]
    assert Order.objects.filter(status=S.AWAITING, placement_attempts=0).count() == 3


@pytest.mark.django_db
def test_a_finished_placement_hands_the_providers_next_waiting_order_on(service, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.PROVIDER_MAX_INFLIGHT_PLACEMENTS = 1
    orders = _awaiting(service, 3)
    with responses.RequestsMock() as upstream:
        upstream.add_callback(
            responses.POST,
            URL,
            callback=lambda request: (200, {}, json.dumps({"order": 100 + len(upstream.calls)})),
        )
        order_place_task.apply(args=[orders[0].pk])
        assert len(upstream.calls) == 3
    assert [Order.objects.get(pk=o.pk).status for o in orders] == [S.PENDING] * 3


def _refusing_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v2"


@pytest.mark.django_db
def test_a_refused_connection_is_retried_with_a_backoff_from_the_orders_attempts(settings):
    settings.PROVIDER_RETRY_BACKOFF = 0
    service = ServiceFactory(provider_service__provider=ProviderFactory(api_url=_refusing_url()))
    order = _awaiting(service, 1)[0]
    Order.objects.filter(pk=order.pk).update(placement_attempts=2)
    with mock.patch.object(order_place_task, "retry", side_effect=Retry()) as retry, pytest.raises(Retry):
        order_place_task.run(order.pk)
    assert retry.call_args.kwargs == {"countdown": placement_backoff(attempts=3)} == {"countdown": 20}
    order.refresh_from_db()
    assert (order.status, order.placement_attempts) == (S.AWAITING, 3)


@pytest.mark.django_db
def test_retries_count_so_a_provider_that_never_answers_cancels_and_refunds_the_order(settings):
    settings.PROVIDER_RETRY_BACKOFF = 0
    service = ServiceFactory(provider_service__provider=ProviderFactory(api_url=_refusing_url()))
    order = _awaiting(service, 1)[0]
    result = order_place_task.apply(args=[order.pk])
    order.refresh_from_db()
    assert (order.status, order.placement_attempts, order.refunded) == (S.CANCELED, MAX_CONNECT_ATTEMPTS, order.charge)
    assert result.get() == S.CANCELED
    assert LedgerEntry.objects.filter(kind="refund", reference=f"order:{order.pk}").get().amount == order.charge
    assert order.charge > Decimal("0")


def test_the_backoff_doubles_from_five_seconds_up_to_five_minutes():
    assert [placement_backoff(attempts=n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]
