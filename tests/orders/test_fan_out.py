"""Fan-out on the real queue: one poll task per provider for any worker; a hanging provider holds only its own."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache

from orders.models import Order
from orders.services.cycle import orders_place_waiting
from orders.services.ordering import order_create
from orders.services.transitions import FINAL
from orders.tasks import orders_poll_dispatch
from panel.celery import app
from tests.panel.factories import UserFactory

QUEUES = {"default", "placement", "polling", "sync"}


def _wait_for(predicate, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_placement_polling_and_sync_go_to_their_own_queues():
    routes = {
        "orders.tasks.order_place_task": "placement",
        "orders.tasks.provider_poll_task": "polling",
        "orders.tasks.services_sync_task": "sync",
        "orders.tasks.provider_balances_task": "sync",
        "orders.tasks.orders_poll_dispatch": "default",
        "orders.tasks.orders_place_sweep": "default",
    }
    for task, queue in routes.items():
        assert app.amqp.router.route({}, task)["queue"].name == queue, task


def test_a_worker_started_without_options_consumes_every_queue():
    assert set(app.amqp.queues) == QUEUES
    # What `celery -A panel worker` does with no -Q: select nothing, so consume every declared queue.
    app.amqp.queues.select(None)
    assert {queue.name for queue in app.amqp.queues.consume_from.values()} == QUEUES


def test_beat_runs_the_dispatcher_every_poll_interval(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["orders-poll"]
    assert (schedule["task"], schedule["schedule"]) == (
        "orders.tasks.orders_poll_dispatch",
        settings.ORDER_POLL_INTERVAL,
    )
    assert settings.ORDER_POLL_BUDGET_SECONDS <= settings.CELERY_TASK_SOFT_TIME_LIMIT / 2


def _orders(upstream, count: int) -> list[Order]:
    user = UserFactory(balance="1000")
    service = upstream.service(1)
    return [
        order_create(user=user, service_id=service.pk, data={"link": f"https://x.test/{i}", "quantity": 100})
        for i in range(count)
    ]


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_hanging_provider_does_not_hold_up_another_providers_poll(upstream_factory, settings):
    settings.PROVIDER_READ_TIMEOUT = 4
    settings.PROVIDER_SAFE_RETRIES = 0
    hanging, healthy = upstream_factory("002"), upstream_factory("standard")
    # The hanging provider comes first: polled in turn, it would keep the healthy one waiting.
    hanging.connect()
    healthy.connect()
    healthy_orders, hanging_orders = _orders(healthy, 3), _orders(hanging, 3)
    assert orders_place_waiting(concurrency=1) == {"pending": 6}
    app.control.purge()
    cache.delete_many([f"poll-queued:{healthy.provider.pk}", f"poll-queued:{hanging.provider.pk}"])
    healthy.finish_everything()
    hanging.finish_everything()
    hanging.sim.inject("timeout", action="status", times=10, seconds=30)
    hanging_lock = f"lock:provider-poll-{hanging.provider.pk}"

    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"):
        started = time.monotonic()
        assert orders_poll_dispatch.delay() is not None
        completed = _wait_for(
            lambda: all(
                status in FINAL
                for status in Order.objects.filter(pk__in=[o.pk for o in healthy_orders]).values_list(
                    "status", flat=True
                )
            )
        )
        elapsed = time.monotonic() - started
        # The hanging provider's task is still waiting on its status call, under its own lock.
        still_hanging = cache.get(hanging_lock) is not None
        assert _wait_for(lambda: cache.get(hanging_lock) is None)

    assert completed and elapsed < settings.PROVIDER_READ_TIMEOUT, elapsed
    assert still_hanging
    assert hanging.sim.faults_fired == [("status", "timeout")]
    hanging.provider.refresh_from_db()
    healthy.provider.refresh_from_db()
    assert (hanging.provider.consecutive_failures, healthy.provider.consecutive_failures) == (1, 0)
    assert set(Order.objects.filter(pk__in=[o.pk for o in hanging_orders]).values_list("status", flat=True)) == {
        Order.Status.PENDING
    }
