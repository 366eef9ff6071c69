"""Cancels racing placement, one step at a time: whoever locks the row first wins, and money follows the winner.

A customer's cancel either refunds an order that was never sent, or becomes a cancel request sent
upstream, refunded when the provider reports it; never a refund here for an order running there.
The threaded versions are in test_cancel_races.py.
"""

from decimal import Decimal

import pytest

from billing.models import LedgerEntry
from billing.selectors import ledger_mismatches
from orders.models import Order, OrderEvent
from orders.order_types import OrderInvalid
from orders.services.cycle import orders_cycle
from orders.services.ordering import (
    order_cancel_refund,
    order_cancel_request,
    order_create,
    order_review_attach,
    order_review_resend,
)
from orders.services.transitions import InvalidTransition, StatusChanged
from orders.services.upstream import cancels_send, order_place
from providers.client import AddResult, ProviderClient
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status
CHARGE = Decimal("15.2013")  # simulator service 1: 15.2013 per 1,000


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Placement is driven by the test, not queued to a broker."""
    monkeypatch.setattr("orders.services.ordering.order_placement_queue", lambda *, order_id: None)


def _order(upstream, user, n: int = 1) -> Order:
    service = upstream.service(1)
    return order_create(user=user, service_id=service.pk, data={"link": f"https://insta.test/p/{n}", "quantity": 1000})


def _during_add(monkeypatch, action):
    """Run `action(order_id)` while the order is `placing`: after the claim, with `add` on its way."""
    original = ProviderClient.add

    def add(client, **fields):
        order = Order.objects.get(link=fields["link"])
        assert order.status == S.PLACING
        action(order.pk)
        return original(client, **fields)

    monkeypatch.setattr(ProviderClient, "add", add)


def _balance(user) -> Decimal:
    return type(user).objects.get(pk=user.pk).balance


def test_a_cancel_that_wins_the_row_before_the_worker_refunds_and_the_worker_then_sends_nothing(upstream):
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    after = order_cancel_request(user=user, order_id=order.pk)
    assert (after.status, after.refunded) == (S.CANCELED, CHARGE)
    outcome = order_place(order_id=order.pk)
    assert not outcome.claimed
    assert upstream.sim.order_count == 0
    assert _balance(user) == Decimal("100")
    assert ledger_mismatches() == []


def test_a_cancel_while_placing_is_sent_upstream_and_refunded_only_when_the_provider_cancels(upstream, monkeypatch):
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    answers = []
    _during_add(monkeypatch, lambda pk: answers.append(order_cancel_request(user=user, order_id=pk)))
    outcome = order_place(order_id=order.pk)
    assert (answers[0].status, answers[0].refunded) == (S.PLACING, Decimal("0"))
    assert outcome.status == S.PENDING
    order.refresh_from_db()
    assert (order.status, order.refunded, order.upstream_order_id) == (S.PENDING, Decimal("0"), "10001")
    assert order.cancel_requested_at is not None
    assert _balance(user) == Decimal("100") - CHARGE
    assert cancels_send(provider_id=upstream.provider.pk) == 1
    assert upstream.sim.order(10001).cancel_requested
    upstream.finish_everything()
    orders_cycle()
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.CANCELED, CHARGE)
    assert _balance(user) == Decimal("100")
    assert ledger_mismatches() == []


def test_a_cancel_recorded_on_an_awaiting_order_makes_the_worker_refund_instead_of_sending(upstream):
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    # A customer's cancel that lost the row to a worker whose connection was then refused (back to awaiting).
    Order.objects.filter(pk=order.pk).update(cancel_requested_at=order.created_at)
    outcome = order_place(order_id=order.pk)
    assert (outcome.claimed, outcome.status) == (True, S.CANCELED)
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.CANCELED, CHARGE)
    assert upstream.sim.order_count == 0
    assert not [action for action, _ in upstream.sim.requests if action == "add"]
    assert ledger_mismatches() == []


def test_a_second_cancel_request_is_told_it_was_already_requested(upstream):
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    order_place(order_id=order.pk)
    order_cancel_request(user=user, order_id=order.pk)
    with pytest.raises(OrderInvalid, match="already requested"):
        order_cancel_request(user=user, order_id=order.pk)


def test_staff_cancel_and_refund_of_an_order_being_placed_is_refused_and_refunds_nothing(upstream, monkeypatch):
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    refused = []

    def staff_cancels(pk):
        with pytest.raises(OrderInvalid, match="is Placing: only orders awaiting placement or review") as error:
            order_cancel_refund(order_id=pk, staff_id=1)
        refused.append(error.value)

    _during_add(monkeypatch, staff_cancels)
    assert order_place(order_id=order.pk).status == S.PENDING
    order.refresh_from_db()
    assert len(refused) == 1
    assert (order.status, order.refunded) == (S.PENDING, Decimal("0"))
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()


def test_resend_of_an_order_being_placed_is_refused_and_it_is_sent_once(upstream, monkeypatch):
    user = UserFactory(balance="100")
    order = _order(upstream, user)

    def staff_resends(pk):
        with pytest.raises(StatusChanged, match="is Placing, no longer Needs review"):
            order_review_resend(order_id=pk, staff_id=1)

    _during_add(monkeypatch, staff_resends)
    assert order_place(order_id=order.pk).status == S.PENDING
    assert order_place(order_id=order.pk).claimed is False
    assert upstream.sim.order_count == 1
    assert list(OrderEvent.objects.filter(order=order).values_list("to_status", flat=True)) == [S.PLACING, S.PENDING]


def test_attach_is_only_for_an_order_in_review(upstream):
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    with pytest.raises(InvalidTransition, match="is Awaiting placement, no longer Needs review"):
        order_review_attach(order_id=order.pk, upstream_order_id="10001", staff_id=1)
    order.refresh_from_db()
    assert (order.status, order.upstream_order_id) == (S.AWAITING, None)


def test_an_upstream_answering_two_adds_with_one_id_sends_the_second_order_to_review_at_once(upstream, monkeypatch):
    user = UserFactory(balance="100")
    first, second = _order(upstream, user, 1), _order(upstream, user, 2)
    monkeypatch.setattr(ProviderClient, "add", lambda client, **fields: AddResult(order_id="555"))
    assert order_place(order_id=first.pk).status == S.PENDING
    outcome = order_place(order_id=second.pk)
    assert outcome.status == S.NEEDS_REVIEW
    second.refresh_from_db()
    assert (second.status, second.upstream_order_id, second.refunded) == (S.NEEDS_REVIEW, None, Decimal("0"))
    assert second.error == "Waiting for a check by our staff."
    event = OrderEvent.objects.get(order=second, to_status=S.NEEDS_REVIEW)
    assert event.from_status == S.PLACING
    assert event.reason == (
        f"The provider answered `add` with order id 555, which it had already given our order {first.pk}: "
        "check both orders at the provider."
    )
    first.refresh_from_db()
    assert (first.status, first.upstream_order_id) == (S.PENDING, "555")


def test_attaching_an_id_another_order_holds_is_refused(upstream, monkeypatch):
    user = UserFactory(balance="100")
    first, second = _order(upstream, user, 1), _order(upstream, user, 2)
    monkeypatch.setattr(ProviderClient, "add", lambda client, **fields: AddResult(order_id="555"))
    order_place(order_id=first.pk)
    order_place(order_id=second.pk)
    with pytest.raises(OrderInvalid, match="Another order already has the provider's id 555"):
        order_review_attach(order_id=second.pk, upstream_order_id="555", staff_id=1)
    assert order_review_attach(order_id=second.pk, upstream_order_id="556", staff_id=1).status == S.PENDING
