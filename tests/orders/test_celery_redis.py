"""The real queue: an order committed by the web process is placed by a Celery worker through Redis."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import caches

from orders.models import Order
from orders.services.ordering import order_create
from orders.tasks import periodic_lock, provider_poll_task
from panel.celery import app
from tests.panel.factories import UserFactory

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_an_order_queued_on_commit_is_placed_by_a_worker_through_redis(upstream_factory, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    upstream = upstream_factory()
    upstream.connect()
    app.control.purge()
    user = UserFactory(balance="100")
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10):
        order = order_create(
            user=user, service_id=upstream.service(1).pk, data={"link": "https://x.test/1", "quantity": 100}
        )
        placed = _wait_for(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PENDING)
    assert placed, Order.objects.get(pk=order.pk).status
    assert upstream.sim.order_count == 1


def test_a_periodic_task_does_nothing_while_another_run_holds_its_lock():
    assert caches["default"].__class__.__name__ == "RedisCache"
    with periodic_lock("provider-poll-7") as first:
        assert first is True
        with periodic_lock("provider-poll-7") as second:
            assert second is False
        assert provider_poll_task(7) == 0
    with periodic_lock("provider-poll-7") as again:
        assert again is True
