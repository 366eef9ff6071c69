"""The refill and cancel rules (orders.rules): a button is shown exactly when the service would take the click."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, Refill
from orders.order_fields import OrderInvalid
from orders.rules import order_can_cancel, order_can_refill, order_cancel_pending
from orders.selectors import orders_last_refill
from orders.services.dripfeed import customer_order_cancel
from orders.services.ordering import refill_request
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db
S = Order.Status


def _taken(action) -> bool:
    try:
        action()
    except OrderInvalid:
        return False
    return True


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("service_cancels", [True, False])
@pytest.mark.parametrize("requested", [False, True])
def test_the_cancel_button_shows_exactly_when_the_customers_cancel_is_taken(status, service_cancels, requested):
    order = OrderFactory(
        status=status, service__cancel=service_cancels, cancel_requested_at=timezone.now() if requested else None
    )
    shown = order_can_cancel(order=order)
    pending = order_cancel_pending(order=order)
    taken = _taken(lambda: customer_order_cancel(user=order.user, order_id=order.pk))
    if status == S.AWAITING and requested:
        # A recorded cancel of an order put back to awaiting is carried out by the worker that claims it;
        # the page says "Cancel requested" and offers nothing more.
        assert (shown, pending) == (False, True)
    else:
        assert shown == taken


@pytest.mark.parametrize("runs_stopped", [False, True])
@pytest.mark.parametrize("status", [S.PENDING, S.IN_PROGRESS, S.COMPLETED, S.CANCELED])
def test_a_drip_feed_run_by_the_panel_offers_its_cancel_while_its_runs_go_on(status, runs_stopped):
    order = OrderFactory(
        status=status, runs=3, interval=10, runs_placed=3, dripfeed_by_panel=True, runs_stopped=runs_stopped
    )
    shown = order_can_cancel(order=order)
    assert order_cancel_pending(order=order) == (runs_stopped and status in (S.PENDING, S.IN_PROGRESS))
    assert shown == (not runs_stopped and status in (S.PENDING, S.IN_PROGRESS))
    assert shown == _taken(lambda: customer_order_cancel(user=order.user, order_id=order.pk))


LAST_REFILLS = {
    "none": None,
    "open": (Refill.Status.IN_PROGRESS, timedelta(days=3)),
    "recent": (Refill.Status.COMPLETED, timedelta(hours=23)),
    "old": (Refill.Status.COMPLETED, timedelta(hours=25)),
}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("service_refills", [True, False])
@pytest.mark.parametrize("last", list(LAST_REFILLS))
def test_the_refill_button_shows_exactly_when_the_customers_refill_is_taken(status, service_refills, last):
    order = OrderFactory(status=status, service__refill=service_refills)
    if LAST_REFILLS[last]:
        refill_status, age = LAST_REFILLS[last]
        refill = Refill.objects.create(order=order, user=order.user, status=refill_status)
        Refill.objects.filter(pk=refill.pk).update(created_at=timezone.now() - age)
    shown = order_can_refill(order=order, last_refill=orders_last_refill(orders=[order]).get(order.pk))
    assert shown == (service_refills and status in (S.COMPLETED, S.PARTIAL) and last in ("none", "old"))
    assert shown == _taken(lambda: refill_request(user=order.user, order_id=order.pk))


@pytest.mark.parametrize(("finished_days_ago", "shown"), [(29, True), (31, False)])
def test_the_refill_button_goes_when_the_guarantee_ends(finished_days_ago, shown):
    order = OrderFactory(
        status=S.COMPLETED, service__refill_days=30, finished_at=timezone.now() - timedelta(days=finished_days_ago)
    )
    assert order_can_refill(order=order, last_refill=None) is shown
    assert _taken(lambda: refill_request(user=order.user, order_id=order.pk)) is shown


def test_a_drip_feed_run_by_the_panel_offers_no_refill():
    order = OrderFactory(status=S.COMPLETED, runs=2, interval=10, runs_placed=2, dripfeed_by_panel=True)
    assert order_can_refill(order=order, last_refill=None) is False
    assert _taken(lambda: refill_request(user=order.user, order_id=order.pk)) is False
