from decimal import Decimal

import pytest

from billing.models import LedgerEntry
from billing.selectors import ledger_mismatches
from orders.models import Order, OrderEvent
from orders.services.ordering import order_create
from orders.services.transitions import InvalidTransition, Move, order_transition, orders_transition
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status


def _placed_order(*, balance="10", quantity=1000, rate="0.27819") -> Order:
    user = UserFactory(balance=balance)
    service = ServiceFactory(rate=Decimal(rate))
    order = order_create(user=user, service_id=service.pk, data={"link": "https://x.test/1", "quantity": quantity})
    order_transition(order_id=order.pk, status=S.PLACING, actor="worker")
    return order_transition(order_id=order.pk, status=S.PENDING, actor="worker", upstream_order_id="77")


def test_partial_refunds_the_charge_taken_times_remains_over_quantity():
    order = _placed_order()
    orders_transition(moves=[Move(order.pk, S.PARTIAL, {"remains": 157})], actor="poller")
    order.refresh_from_db()
    refund = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REFUND)
    assert (order.status, order.refunded, refund.amount, refund.reference) == (
        S.PARTIAL,
        Decimal("0.04368"),
        Decimal("0.04368"),
        f"order:{order.pk}",
    )
    assert order.user.__class__.objects.get(pk=order.user_id).balance == Decimal("10") - Decimal("0.27819") + Decimal(
        "0.04368"
    )


def test_a_price_change_after_ordering_does_not_change_the_refund():
    order = _placed_order()
    order.service.__class__.objects.filter(pk=order.service_id).update(rate=Decimal("100"))
    order_transition(order_id=order.pk, status=S.CANCELED, actor="poller")
    assert LedgerEntry.objects.get(kind="refund").amount == Decimal("0.27819")


def test_canceled_refunds_the_whole_charge_once_even_when_reported_twice():
    order = _placed_order()
    orders_transition(moves=[Move(order.pk, S.CANCELED)], actor="poller")
    orders_transition(moves=[Move(order.pk, S.CANCELED)], actor="poller")
    order.refresh_from_db()
    assert LedgerEntry.objects.filter(kind="refund").count() == 1
    assert order.refunded == order.charge
    assert order.user.__class__.objects.get(pk=order.user_id).balance == Decimal("10")
    assert ledger_mismatches() == []


def test_a_final_order_never_moves_again_and_a_strict_move_says_why():
    order = _placed_order()
    order_transition(order_id=order.pk, status=S.COMPLETED, actor="poller")
    assert orders_transition(moves=[Move(order.pk, S.CANCELED)], actor="poller") == []
    with pytest.raises(InvalidTransition, match="is Completed: it cannot become Canceled"):
        order_transition(order_id=order.pk, status=S.CANCELED, actor="staff:1")
    assert LedgerEntry.objects.filter(kind="refund").count() == 0


def test_every_move_writes_an_event_with_who_and_why():
    order = _placed_order()
    order_transition(order_id=order.pk, status=S.IN_PROGRESS, actor="poller", reason="status poll")
    events = list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status", "actor", "reason"))
    assert events == [
        (S.AWAITING, S.PLACING, "worker", ""),
        (S.PLACING, S.PENDING, "worker", ""),
        (S.PENDING, S.IN_PROGRESS, "poller", "status poll"),
    ]


def test_a_batch_moves_many_orders_in_a_constant_number_of_queries(django_assert_max_num_queries):
    orders = [_placed_order(balance="1", quantity=100, rate="1") for _ in range(30)]
    moves = [Move(o.pk, S.PARTIAL if i % 2 else S.COMPLETED, {"remains": 50}) for i, o in enumerate(orders)]
    with django_assert_max_num_queries(10):
        changed = orders_transition(moves=moves, actor="poller")
    assert len(changed) == 30
    assert LedgerEntry.objects.filter(kind="refund").count() == 15
    assert ledger_mismatches() == []
