"""Celery tasks: thin callers of the services, each safe to run twice.

Beat runs dispatchers; each fans the work out as one task per provider on its own queue
(`placement`, `polling`, `sync`; the rest on `default`), so workers on any machine work for
many providers at once and a slow or broken provider holds only its own task. Periodic work
holds a short lock in the cache (Redis in production), so that two beats, or a slow run
overlapping the next, never work on the same provider at once.
"""

import logging
import uuid
from contextlib import contextmanager

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError
from django.conf import settings
from django.core.cache import cache

from orders.selectors import providers_with_work
from orders.services.alerts import alerts_notify, alerts_refresh
from orders.services.catalog import services_sync_in_background
from orders.services.cycle import provider_cycle
from orders.services.dripfeed import dripfeed_orders_update, dripfeed_runs_place
from orders.services.upstream import (
    MAX_CONNECT_ATTEMPTS,
    order_place,
    orders_awaiting_placement,
    orders_next_to_place,
    orders_stuck_review,
)
from providers.models import Provider
from providers.services import provider_balance_check

logger = logging.getLogger(__name__)
LOCK_SECONDS = 240  # below the task time limit, so a killed run's lock expires by itself
# The longest wait before an order refused at connection is tried again.
PLACEMENT_BACKOFF_CEILING = 300


@contextmanager
def periodic_lock(name: str):
    """Yield True when this run holds the lock, False when another run does."""
    key, token = f"lock:{name}", uuid.uuid4().hex
    acquired = cache.add(key, token, LOCK_SECONDS)
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def placement_backoff(*, attempts: int) -> int:
    """Seconds before the next try of an order whose `attempts` sends were all refused at connection."""
    return min(PLACEMENT_BACKOFF_CEILING, 5 * 2 ** max(attempts - 1, 0))


@shared_task(bind=True, max_retries=MAX_CONNECT_ATTEMPTS)
def order_place_task(self, order_id: int) -> str:
    cap = settings.PROVIDER_MAX_INFLIGHT_PLACEMENTS or None
    outcome = order_place(order_id=order_id, max_inflight=cap)
    if outcome.deferred:
        # Its provider has `cap` adds under way: the one that finishes first hands this order on
        # (below), and the sweep re-queues whatever a lost hand-off left waiting.
        return outcome.status
    if outcome.claimed and cap:
        _hand_on_placements(order_id=order_id, max_inflight=cap)
    if outcome.retry:
        # The provider refused the connection before anything was sent: try again later.
        try:
            raise self.retry(countdown=placement_backoff(attempts=outcome.attempts))
        except MaxRetriesExceededError:
            logger.warning("order %s: out of retries; the placement sweep will queue it again", order_id)
    return outcome.status


def _hand_on_placements(*, order_id: int, max_inflight: int) -> None:
    provider_id = Provider.objects.filter(orders__pk=order_id).values_list("pk", flat=True).first()
    if provider_id is not None:
        for next_id in orders_next_to_place(provider_id=provider_id, max_inflight=max_inflight):
            if next_id != order_id:
                order_place_task.delay(next_id)


@shared_task
def orders_place_sweep() -> int:
    """Re-queue orders still awaiting placement (a crash between commit and queueing loses nothing)."""
    with periodic_lock("orders-place-sweep") as acquired:
        if not acquired:
            return 0
        orders_stuck_review()
        # Orders changed in the last minute are in a worker's hands or waiting out a retry backoff.
        waiting = orders_awaiting_placement(idle_seconds=60)
        for order_id in waiting:
            order_place_task.delay(order_id)
        return len(waiting)


def _queued_key(provider_id: int) -> str:
    return f"poll-queued:{provider_id}"


@shared_task
def orders_poll_dispatch() -> int:
    """Beat's poll: one `provider_poll_task` per provider with work, for any worker to take.

    A provider whose last task is still waiting in the queue gets no second one, so a backlog
    of workers never piles up polls of the same provider.
    """
    queued = 0
    for provider_id in providers_with_work():
        if cache.add(_queued_key(provider_id), 1, LOCK_SECONDS):
            provider_poll_task.delay(provider_id)
            queued += 1
    return queued


@shared_task
def provider_poll_task(provider_id: int) -> int:
    """One provider's cycle within the poll budget, under that provider's own lock."""
    cache.delete(_queued_key(provider_id))
    with periodic_lock(f"provider-poll-{provider_id}") as acquired:
        if not acquired:
            return 0
        report = provider_cycle(provider_id=provider_id, budget_seconds=settings.ORDER_POLL_BUDGET_SECONDS)
        return report.changed


@shared_task
def services_sync_task(provider_id: int | None = None) -> None:
    """Sync one provider, or queue one sync per active provider (beat), so none waits for another."""
    if provider_id is None:
        for pk in Provider.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True):
            services_sync_task.delay(pk)
        return
    with periodic_lock(f"services-sync-{provider_id}") as acquired:
        if not acquired:
            return
        try:
            services_sync_in_background(provider_id=provider_id)
        except Exception:
            logger.exception("sync of provider %s failed", provider_id)


@shared_task
def provider_balances_task() -> None:
    for provider in Provider.objects.filter(is_active=True):
        try:
            provider_balance_check(provider=provider)
        except Exception:
            logger.exception("balance of %s could not be checked", provider.name)


@shared_task
def alerts_check_task() -> int:
    """Raise and resolve the operator alerts; e-mail the new ones in a task of their own."""
    with periodic_lock("alerts-check") as acquired:
        if not acquired:
            return 0
        report = alerts_refresh()
    if report.unnotified:
        alerts_notify_task.delay()
    return report.raised


@shared_task
def alerts_notify_task() -> int:
    return alerts_notify()


@shared_task
def dripfeed_task() -> int:
    """Drip-feeds run by the panel: create the runs that are due, and bring their orders in step with them."""
    with periodic_lock("dripfeed") as acquired:
        if not acquired:
            return 0
        created = dripfeed_runs_place()
        dripfeed_orders_update()
        return created
