"""Celery tasks: thin callers of the services, each safe to run twice.

Periodic tasks hold a short lock in the cache (Redis in production) so that two beats, or
a slow run overlapping the next, never work on the same orders at once.
"""

import logging
import uuid
from contextlib import contextmanager

from celery import shared_task
from django.core.cache import cache

from orders.services.catalog import services_sync_in_background
from orders.services.dripfeed import dripfeed_orders_update, dripfeed_runs_place
from orders.services.subscriptions import subscriptions_hold_check
from orders.services.upstream import (
    MAX_CONNECT_ATTEMPTS,
    cancels_send,
    order_place,
    orders_awaiting_placement,
    orders_poll,
    orders_stuck_review,
    providers_with_work,
    refills_poll,
    refills_send,
)
from providers.errors import ProviderError
from providers.models import Provider
from providers.services import provider_balance_check

logger = logging.getLogger(__name__)
LOCK_SECONDS = 240  # below the task time limit, so a killed run's lock expires by itself


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


@shared_task(bind=True, max_retries=MAX_CONNECT_ATTEMPTS)
def order_place_task(self, order_id: int) -> str:
    outcome = order_place(order_id=order_id)
    if outcome.retry:
        # The provider refused the connection before anything was sent: try again later.
        self.apply_async(args=[order_id], countdown=min(300, 5 * 2**self.request.retries))
    return outcome.status


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


@shared_task
def orders_poll_task() -> int:
    with periodic_lock("orders-poll") as acquired:
        if not acquired:
            return 0
        changed = 0
        for provider_id in providers_with_work():
            try:
                cancels_send(provider_id=provider_id)
                changed += orders_poll(provider_id=provider_id).changed
                subscriptions_hold_check(provider_id=provider_id)
                refills_send(provider_id=provider_id)
                refills_poll(provider_id=provider_id)
            except ProviderError as error:
                logger.warning("provider %s: %s", provider_id, error)
        return changed


@shared_task
def services_sync_task(provider_id: int | None = None) -> None:
    ids = [provider_id] if provider_id else Provider.objects.filter(is_active=True).values_list("pk", flat=True)
    for pk in ids:
        with periodic_lock(f"services-sync-{pk}") as acquired:
            if not acquired:
                continue
            try:
                services_sync_in_background(provider_id=pk)
            except ProviderError as error:
                logger.warning("sync of provider %s failed: %s", pk, error)


@shared_task
def provider_balances_task() -> None:
    for provider in Provider.objects.filter(is_active=True):
        try:
            provider_balance_check(provider=provider)
        except ProviderError as error:
            logger.warning("balance of %s: %s", provider.name, error)


@shared_task
def dripfeed_task() -> int:
    """Drip-feeds run by the panel: create the runs that are due, and bring their orders in step with them."""
    with periodic_lock("dripfeed") as acquired:
        if not acquired:
            return 0
        created = dripfeed_runs_place()
        dripfeed_orders_update()
        return created
