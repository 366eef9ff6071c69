"""Customers, operators and placing workers racing for the same orders, with real threads on PostgreSQL.

The simulated provider counts every order it holds. Whatever the interleaving, an order the
provider holds is never refunded here unless its cancel went upstream and the provider reported
it; and every cent adds up.
"""

import queue
import random
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from billing.selectors import ledger_mismatches
from orders.models import Order, OrderEvent
from orders.order_types import OrderInvalid
from orders.services.cycle import orders_cycle
from orders.services.ordering import (
    ACTIVE_LINK_MESSAGE,
    order_cancel_refund,
    order_cancel_request,
    order_create,
    order_review_resend,
)
from orders.services.transitions import StatusChanged, order_transition
from orders.services.upstream import cancels_send, order_place
from providers.simulator.state import FIRST_ORDER_ID
from tests.billing.test_concurrency import _run_together
from tests.panel.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = Order.Status

CUSTOMERS = 8
PAIRS_PER_CUSTOMER = 25  # 200 add + cancel pairs in all
PLACING_WORKERS = 4
# Each `add` takes this long upstream: the window in which a cancel finds the order `placing`.
ADD_LATENCY_MS = 20


@pytest.fixture
def sim(upstream_factory):
    upstream = upstream_factory(latency_ms=ADD_LATENCY_MS, balance="100000")
    upstream.connect()
    return upstream


class PlacingWorkers:
    """Threads placing orders as they are queued, as Celery workers do with `order_place_task`."""

    def __init__(self, monkeypatch, count: int = PLACING_WORKERS) -> None:
        self.work: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self.errors: list[Exception] = []
        monkeypatch.setattr(
            "orders.services.ordering.order_placement_queue", lambda *, order_id: self.work.put(order_id)
        )
        self.threads = [threading.Thread(target=self._run) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        try:
            while (order_id := self.work.get()) is not None:
                try:
                    order_place(order_id=order_id)
                except Exception as error:
                    self.errors.append(error)
        finally:
            connection.close()

    def stop(self) -> None:
        for _ in self.threads:
            self.work.put(None)
        for thread in self.threads:
            thread.join(timeout=60)
        assert self.errors == []


def _held(sim) -> dict[str, object]:
    """The orders the provider holds, by link."""
    views = [sim.sim.order(order_id) for order_id in range(FIRST_ORDER_ID, FIRST_ORDER_ID + sim.sim.order_count)]
    links = [view.link for view in views]
    assert len(set(links)) == len(links), "the provider holds two orders for one of ours"
    return dict(zip(links, views, strict=True))


def test_two_hundred_adds_each_cancelled_at_once_never_leave_an_order_refunded_here_and_running_upstream(
    sim, monkeypatch
):
    service = sim.service(1)
    customers = [UserFactory(balance="100") for _ in range(CUSTOMERS)]
    workers = PlacingWorkers(monkeypatch)

    def customer(i: int) -> list[Order]:
        rng = random.Random(i)
        answers = []
        for n in range(PAIRS_PER_CUSTOMER):
            data = {"link": f"https://insta.test/{i}/{n}", "quantity": 100}
            order = order_create(user=customers[i], service_id=service.pk, data=data)
            # Cancels land before the claim, while `add` is on its way, or after the placement is recorded.
            time.sleep(rng.random() * 2 * ADD_LATENCY_MS / 1000)
            answers.append(order_cancel_request(user=customers[i], order_id=order.pk))
        return answers

    answers = [answer for outcome in _run_together(CUSTOMERS, customer) for answer in outcome]
    workers.stop()
    assert len(answers) == CUSTOMERS * PAIRS_PER_CUSTOMER and all(isinstance(a, Order) for a in answers)
    orders = {order.link: order for order in Order.objects.all()}
    held = _held(sim)
    adds = sum(1 for action, _ in sim.sim.requests if action == "add")
    assert adds == len(held)

    # Every order the provider holds is recorded here, not refunded, and its cancel is queued for upstream.
    for link, view in held.items():
        order = orders[link]
        assert (order.status, order.upstream_order_id, order.refunded) == (S.PENDING, str(view.id), Decimal("0"))
        assert order.cancel_requested_at is not None
    # Every other order was never sent, and is cancelled and refunded in full here.
    for link in set(orders) - set(held):
        order = orders[link]
        assert (order.status, order.upstream_order_id, order.refunded) == (S.CANCELED, None, order.charge)
    assert ledger_mismatches() == []
    # The race went both ways: some cancels won the row, some went upstream.
    assert 0 < len(held) < len(orders)

    assert cancels_send(provider_id=sim.provider.pk) == len(held)
    assert all(view.cancel_requested for view in _held(sim).values())
    sim.finish_everything()
    orders_cycle(concurrency=1)
    for order in Order.objects.all():
        assert (order.status, order.refunded) == (S.CANCELED, order.charge), order.pk
    assert {customer.balance for customer in type(customers[0]).objects.all()} == {Decimal("100")}
    assert ledger_mismatches() == []


def _awaiting_orders(sim, monkeypatch, count: int) -> list[Order]:
    monkeypatch.setattr("orders.services.ordering.order_placement_queue", lambda *, order_id: None)
    user = UserFactory(balance="1000")
    service = sim.service(1)
    return [
        order_create(user=user, service_id=service.pk, data={"link": f"https://insta.test/{n}", "quantity": 100})
        for n in range(count)
    ]


def test_staff_cancel_and_refund_racing_placement_wins_before_anything_is_sent_or_is_refused(sim, monkeypatch):
    orders = _awaiting_orders(sim, monkeypatch, 40)
    rng = random.Random(7)
    delays = [rng.random() * 2 * ADD_LATENCY_MS / 1000 for _ in range(2 * len(orders))]
    outcomes: dict[int, object] = {}
    per_round = 4
    for start in range(0, len(orders), per_round):
        batch = orders[start : start + per_round]

        def work(i: int, batch=batch, start=start):
            order = batch[i % len(batch)]
            time.sleep(delays[2 * (start + i % len(batch)) + (i >= len(batch))])
            if i < len(batch):
                return order_place(order_id=order.pk)
            try:
                return order_cancel_refund(order_id=order.pk, staff_id=1)
            except OrderInvalid as error:
                return error

        results = _run_together(2 * len(batch), work)
        outcomes.update({order.pk: results[len(batch) + i] for i, order in enumerate(batch)})

    held = _held(sim)
    won = refused = 0
    for order in Order.objects.all():
        outcome = outcomes[order.pk]
        if isinstance(outcome, Order):
            won += 1
            # The operator locked the row first: the worker found nothing to place.
            assert (order.status, order.refunded) == (S.CANCELED, order.charge)
            assert order.link not in held
        else:
            refused += 1
            assert isinstance(outcome, OrderInvalid), outcome
            assert "only orders awaiting placement or review" in outcome.message
            assert (order.status, order.refunded) == (S.PENDING, Decimal("0"))
            assert held[order.link].id == int(order.upstream_order_id)
    assert won + refused == len(orders) and won > 0 and refused > 0
    assert ledger_mismatches() == []


def test_resends_racing_the_placement_they_queued_send_each_order_once(sim, monkeypatch):
    orders = _awaiting_orders(sim, monkeypatch, 20)
    # Each order's answer was lost after sending (nothing reached the simulator): it waits for review.
    for order in orders:
        order_transition(order_id=order.pk, from_status=S.AWAITING, status=S.PLACING, actor="worker")
        order_transition(order_id=order.pk, from_status=S.PLACING, status=S.NEEDS_REVIEW, actor="worker")
    workers = PlacingWorkers(monkeypatch, count=2)
    rng = random.Random(11)
    # Two operators resend each order; the second one's click may land while a worker is placing it.
    delays = [rng.random() * 2 * ADD_LATENCY_MS / 1000 for _ in range(2 * len(orders))]
    resent: dict[int, list] = {}
    per_round = 4
    for start in range(0, len(orders), per_round):
        batch = orders[start : start + per_round]

        def resend(i: int, batch=batch, start=start):
            time.sleep(delays[2 * start + i])
            try:
                return order_review_resend(order_id=batch[i // 2].pk, staff_id=i)
            except StatusChanged as error:
                return error

        results = _run_together(2 * len(batch), resend)
        for i, order in enumerate(batch):
            resent[order.pk] = results[2 * i : 2 * i + 2]
    deadline = time.monotonic() + 20
    while Order.objects.exclude(status=S.PENDING).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    workers.stop()

    held = _held(sim)
    assert len(held) == len(orders) == sim.sim.order_count
    for order in Order.objects.all():
        answers = resent[order.pk]
        assert sum(isinstance(a, Order) for a in answers) == 1, answers
        assert all(isinstance(a, (Order, StatusChanged)) for a in answers), answers
        assert (order.status, order.upstream_order_id) == (S.PENDING, str(held[order.link].id))
        claims = OrderEvent.objects.filter(order=order, from_status=S.AWAITING, to_status=S.PLACING).count()
        assert claims == 2  # the lost attempt and the one resend


def test_the_one_active_order_per_link_guard_holds_for_eight_simultaneous_adds(sim, monkeypatch):
    monkeypatch.setattr("orders.services.ordering.order_placement_queue", lambda *, order_id: None)
    service = sim.service(1)
    type(service).objects.filter(pk=service.pk).update(refuse_active_link=True)
    user = UserFactory(balance="100")

    def add(i: int):
        data = {"link": "https://insta.test/same", "quantity": 100}
        try:
            return order_create(user=user, service_id=service.pk, data=data)
        except OrderInvalid as error:
            return error

    outcomes = _run_together(8, add)
    taken = [o for o in outcomes if isinstance(o, Order)]
    refused = [o for o in outcomes if isinstance(o, OrderInvalid)]
    assert (len(taken), len(refused)) == (1, 7), outcomes
    assert {error.message for error in refused} == {ACTIVE_LINK_MESSAGE}
    assert Order.objects.count() == 1
    user.refresh_from_db()
    assert user.balance == Decimal("100") - taken[0].charge
    assert ledger_mismatches() == []
