"""Subscriptions: posts optional; unlimited ones are charged as a hold, never past the balance, stopped when used."""

from decimal import Decimal

import pytest

from billing.errors import InsufficientFunds
from orders.models import Order, Service
from orders.order_types import SUBSCRIPTION_HOLD_POSTS
from orders.services.cycle import orders_cycle
from orders.services.ordering import order_create
from orders.services.subscriptions import HOLD_USED_UP, subscriptions_hold_check
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status
DATA = {"username": "someone", "min": "50", "max": "100", "delay": "30"}


def test_a_limited_subscription_is_charged_for_max_on_every_new_and_old_post():
    user = UserFactory(balance="10")
    service = ServiceFactory(provider_service__type="Subscriptions", min=10, max=500, rate=Decimal("1"))
    order = order_create(user=user, service_id=service.pk, data=DATA | {"posts": "4", "old_posts": "2"})
    assert (order.quantity, order.charge, order.params["posts"], order.params["old_posts"]) == (
        600,
        Decimal("0.6"),
        4,
        2,
    )


def test_an_unlimited_subscription_is_charged_a_hold_of_posts_up_front():
    user = UserFactory(balance="10")
    service = ServiceFactory(provider_service__type="Subscriptions", min=10, max=500, rate=Decimal("1"))
    order = order_create(user=user, service_id=service.pk, data=DATA)
    assert "posts" not in order.params
    assert (order.quantity, order.charge) == (100 * SUBSCRIPTION_HOLD_POSTS, Decimal("1"))
    user.refresh_from_db()
    assert user.balance == Decimal("9")


def test_a_hold_past_the_balance_is_refused_and_the_balance_never_goes_negative():
    user = UserFactory(balance="0.99")
    service = ServiceFactory(provider_service__type="Subscriptions", min=10, max=500, rate=Decimal("1"))
    with pytest.raises(InsufficientFunds):
        order_create(user=user, service_id=service.pk, data=DATA)
    user.refresh_from_db()
    assert user.balance == Decimal("0.99") and Order.objects.count() == 0


def test_a_used_up_hold_settles_the_subscription_and_stops_it_upstream(upstream):
    service = Service.objects.get(provider=upstream.provider, type="Subscriptions")
    user = UserFactory(balance="1000")
    data = DATA | {"min": str(service.min), "max": str(service.min)}
    order = order_create(user=user, service_id=service.pk, data=data)
    orders_cycle(concurrency=1)
    order.refresh_from_db()
    assert order.status == S.PENDING and order.upstream_charge < order.cost  # the provider charged one post so far
    assert subscriptions_hold_check(provider_id=upstream.provider.pk) == 0

    Order.objects.filter(pk=order.pk).update(upstream_charge=order.cost)  # the provider reports the hold used
    assert subscriptions_hold_check(provider_id=upstream.provider.pk) == 1
    order.refresh_from_db()
    assert (order.status, order.refunded, order.error) == (S.COMPLETED, Decimal("0"), HOLD_USED_UP)
    assert ("cancel", {"action": "cancel", "orders": order.upstream_order_id}) in upstream.sim.requests
    user.refresh_from_db()
    assert user.balance == Decimal("1000") - order.charge
    assert subscriptions_hold_check(provider_id=upstream.provider.pk) == 0
