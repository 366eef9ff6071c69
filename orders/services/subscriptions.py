"""Unlimited subscriptions: charged as a hold, stopped when the provider has used it.

A subscription without `posts` runs at the provider for every new post until it expires. The
panel cannot charge per post as the provider serves them (no seed's provider reports a
subscription's posts), and must never let a balance go negative, so the customer pays up front
a hold of SUBSCRIPTION_HOLD_POSTS posts of `max` (`order_create`, shown on the form and the API
page). The provider's own `charge` for the order, read by every status poll
(`Order.upstream_charge`, in our currency), says how much of it has been used: once it reaches
what the hold was expected to cost us, the order is settled as completed (the customer had the
whole hold) and the panel asks the provider to cancel it, so nothing more is delivered unpaid.
Until then it settles like any order (what the provider reports undelivered is refunded).
"""

import logging

from orders.models import Order
from orders.order_types import SUBSCRIPTION_HOLD_POSTS, QuantityFrom, order_type_for
from orders.services.transitions import UPSTREAM_ACTIVE, Move, orders_transition
from providers.errors import ProviderError
from providers.models import Provider
from providers.services import provider_client

logger = logging.getLogger(__name__)
HOLD_USED_UP = f"The hold of {SUBSCRIPTION_HOLD_POSTS} posts is used up: the subscription was stopped."


def order_is_unlimited_subscription(*, order: Order) -> bool:
    return order_type_for(order.service.type).quantity_from == QuantityFrom.SUBSCRIPTION and "posts" not in order.params


def subscriptions_hold_check(*, provider_id: int, actor: str = "hold-check") -> int:
    """Settle the provider's unlimited subscriptions whose hold the provider has used, and stop them upstream."""
    running = (
        Order.objects.filter(
            provider_id=provider_id,
            status__in=UPSTREAM_ACTIVE,
            upstream_order_id__isnull=False,
            upstream_charge__isnull=False,
        )
        .exclude(params__has_key="posts")
        .select_related("service")
    )
    used_up = [
        order
        for order in running
        if order_is_unlimited_subscription(order=order) and order.upstream_charge >= order.cost
    ]
    if not used_up:
        return 0
    moves = [
        Move(
            order_id=order.pk,
            from_status=order.status,
            status=Order.Status.COMPLETED,
            reason="hold used up",
            fields={"error": HOLD_USED_UP},
        )
        for order in used_up
    ]
    settled = orders_transition(moves=moves, actor=actor)
    client = provider_client(provider=Provider.objects.get(pk=provider_id))
    if settled and client.supports("cancel"):
        try:
            client.cancel([order.upstream_order_id for order in settled])
        except ProviderError as error:
            # The order is settled either way; an operator sees the failure in the log and the order's error.
            logger.warning("could not stop used-up subscriptions at provider %s: %s", provider_id, error)
            Order.objects.filter(pk__in=[o.pk for o in settled]).update(cancel_error=error.message[:500])
    return len(settled)
