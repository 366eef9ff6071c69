from decimal import Decimal

import pytest

from billing.models import LedgerEntry
from billing.selectors import ledger_mismatches
from orders.models import Order, OrderEvent
from orders.services.ordering import order_create
from orders.services.transitions import (
    UPSTREAM_ACTIVE,
    InvalidTransition,
    Move,
    StatusChanged,
    order_transition,
    orders_transition,
)
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status


def _placed_order(*, balance="10", quantity=1000, rate="0.27819") -> Order:
    user = UserFactory(balance=balance)
    service = ServiceFactory(rate=Decimal(rate))
    order = order_create(user=user, service_id=service.pk, data={"link": "https://x.test/1", "quantity": quantity})
    order_transition(order_id=order.pk, from_status=S.AWAITING, status=S.PLACING, actor="worker")
    return order_transition(
        order_id=order.pk, from_status=S.PLACING, status=S.PENDING, actor="worker", upstream_order_id="77"
    )


def test_partial_refunds_the_charge_taken_times_remains_over_quantity():
    order = _placed_order()
    orders_transition(
        moves=[Move(order_id=order.pk, from_status=S.PENDING, status=S.PARTIAL, fields={"remains": 157})],
        actor="poller",
    )
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
    order_transition(order_id=order.pk, from_status=S.PENDING, status=S.CANCELED, actor="poller")
    assert LedgerEntry.objects.get(kind="refund").amount == Decimal("0.27819")


def test_canceled_refunds_the_whole_charge_once_even_when_reported_twice():
    order = _placed_order()
    canceled = Move(order_id=order.pk, from_status=UPSTREAM_ACTIVE, status=S.CANCELED)
    orders_transition(moves=[canceled], actor="poller")
    orders_transition(moves=[canceled], actor="poller")
    order.refresh_from_db()
    assert LedgerEntry.objects.filter(kind="refund").count() == 1
    assert order.refunded == order.charge
    assert order.user.__class__.objects.get(pk=order.user_id).balance == Decimal("10")
    assert ledger_mismatches() == []


def test_a_final_order_never_moves_again_and_a_strict_move_says_why():
    order = _placed_order()
    order_transition(order_id=order.pk, from_status=S.PENDING, status=S.COMPLETED, actor="poller")
    late_poll = Move(order_id=order.pk, from_status=UPSTREAM_ACTIVE, status=S.CANCELED, fields={"remains": 5})
    assert orders_transition(moves=[late_poll], actor="poller") == []
    with pytest.raises(StatusChanged, match="is Completed, no longer In progress or Pending or Processing"):
        order_transition(order_id=order.pk, from_status=UPSTREAM_ACTIVE, status=S.CANCELED, actor="staff:1")
    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded) == (S.COMPLETED, None, Decimal("0"))
    assert LedgerEntry.objects.filter(kind="refund").count() == 0


def test_every_move_writes_an_event_with_who_and_why():
    order = _placed_order()
    order_transition(
        order_id=order.pk, from_status=S.PENDING, status=S.IN_PROGRESS, actor="poller", reason="status poll"
    )
    events = list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status", "actor", "reason"))
    assert events == [
        (S.AWAITING, S.PLACING, "worker", ""),
        (S.PLACING, S.PENDING, "worker", ""),
        (S.PENDING, S.IN_PROGRESS, "poller", "status poll"),
    ]


def test_a_batch_moves_many_orders_in_a_constant_number_of_queries(django_assert_max_num_queries):
    orders = [_placed_order(balance="1", quantity=100, rate="1") for _ in range(30)]
    moves = [
        Move(order_id=o.pk, from_status=S.PENDING, status=S.PARTIAL if i % 2 else S.COMPLETED, fields={"remains": 50})
        for i, o in enumerate(orders)
    ]
    with django_assert_max_num_queries(10):
        changed = orders_transition(moves=moves, actor="poller")
    assert len(changed) == 30
    assert LedgerEntry.objects.filter(kind="refund").count() == 15
    assert ledger_mismatches() == []


def test_a_move_names_the_status_it_leaves_and_one_the_table_forbids_is_refused_at_once():
    with pytest.raises(TypeError, match="from_status"):
        Move(order_id=1, status=S.CANCELED)
    with pytest.raises(InvalidTransition, match="Completed → Canceled is not an allowed move"):
        Move(order_id=1, from_status=(S.PENDING, S.COMPLETED), status=S.CANCELED)


def test_a_move_from_a_status_the_order_has_left_does_nothing_and_refunds_nothing():
    order = _placed_order()
    with pytest.raises(StatusChanged, match="is Pending, no longer Awaiting placement: nothing was done"):
        order_transition(order_id=order.pk, from_status=S.AWAITING, status=S.CANCELED, actor="customer:1")
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.PENDING, Decimal("0"))
    assert LedgerEntry.objects.filter(kind="refund").count() == 0
    assert not OrderEvent.objects.filter(order=order, to_status=S.CANCELED).exists()
