"""Orders through the simulator in each dialect: placed, progressing, settled, refunded to the cent."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import LedgerEntry
from billing.selectors import ledger_mismatches
from orders.models import Order, Refill
from orders.services.cycle import orders_cycle
from orders.services.ordering import order_cancel_request, order_create, refill_request
from orders.services.transitions import order_transition
from orders.services.upstream import order_add_fields, order_place, orders_stuck_review
from providers.client import ProviderClient
from providers.services import provider_client
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status
DIALECTS = ["standard", "002", "003"]


def _order(upstream, user, quantity=1000, service=1):
    service = upstream.service(service)
    return order_create(user=user, service_id=service.pk, data={"link": "https://insta.test/p/1", "quantity": quantity})


def _status(order) -> str:
    order.refresh_from_db()
    return order.status


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_order_is_placed_progresses_and_completes(upstream_factory, dialect):
    upstream = upstream_factory(dialect)
    upstream.connect()
    upstream.sim.force_next_fate("completed")
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    assert order.charge == Decimal("15.2013")
    orders_cycle()
    order.refresh_from_db()
    assert (order.status, order.upstream_order_id) == (S.PENDING, "10001")
    upstream.clock.advance(10)
    orders_cycle()
    assert _status(order) in (S.IN_PROGRESS, S.PROCESSING)
    upstream.finish_everything()
    orders_cycle()
    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded) == (S.COMPLETED, 0, Decimal("0"))
    user.refresh_from_db()
    assert user.balance == Decimal("84.7987")
    assert upstream.sim.order_count == 1
    assert ledger_mismatches() == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_partial_order_refunds_the_remains_share_of_the_charge(upstream_factory, dialect):
    upstream = upstream_factory(dialect)
    upstream.connect()
    upstream.sim.force_next_fate("partial", remains=157)
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    orders_cycle()
    upstream.finish_everything()
    orders_cycle()
    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded) == (S.PARTIAL, 157, Decimal("2.38660"))
    user.refresh_from_db()
    assert user.balance == Decimal("100") - Decimal("15.2013") + Decimal("2.3866")
    assert ledger_mismatches() == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_canceled_order_is_refunded_in_full_once(upstream_factory, dialect):
    upstream = upstream_factory(dialect)
    upstream.connect()
    upstream.sim.force_next_fate("canceled")
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    orders_cycle()
    upstream.finish_everything()
    orders_cycle()
    orders_cycle()
    assert _status(order) == S.CANCELED
    user.refresh_from_db()
    assert user.balance == Decimal("100")
    assert LedgerEntry.objects.filter(kind="refund", reference=f"order:{order.pk}").count() == 1


def test_a_refill_goes_upstream_and_its_status_is_followed(upstream):
    upstream.sim.force_next_fate("completed")
    upstream.sim.force_next_refill_fate("completed")
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    orders_cycle()
    upstream.finish_everything()
    orders_cycle()
    refill = refill_request(user=user, order_id=order.pk)
    orders_cycle()
    refill.refresh_from_db()
    assert (refill.status, refill.upstream_refill_id) == (Refill.Status.PENDING, "501")
    upstream.finish_everything()
    orders_cycle()
    refill.refresh_from_db()
    assert refill.status == Refill.Status.COMPLETED
    assert upstream.sim.refill_count == 1


def test_a_cancel_request_goes_upstream_and_the_refund_follows_the_status(upstream):
    upstream.sim.force_next_fate("completed")
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    orders_cycle()
    order_cancel_request(user=user, order_id=order.pk)
    orders_cycle()
    assert [a for a, _ in upstream.sim.requests].count("cancel") == 1
    upstream.finish_everything()
    orders_cycle()
    order.refresh_from_db()
    assert order.status == S.CANCELED and order.refunded == order.charge
    user.refresh_from_db()
    assert user.balance == Decimal("100")


def test_a_refused_order_is_cancelled_and_refunded_with_the_reason(upstream):
    upstream.sim.inject("no_funds", action="add")
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    orders_cycle()
    order.refresh_from_db()
    assert (order.status, order.error) == (S.CANCELED, "Not enough funds on balance")
    user.refresh_from_db()
    assert user.balance == Decimal("100")


@pytest.mark.parametrize("fault", ["lost_response", "timeout", "500", "garbage", "html"])
def test_an_add_whose_answer_is_lost_goes_to_review_and_is_never_sent_twice(upstream, fault):
    upstream.sim.inject(fault, action="add", seconds=3)
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    orders_cycle()
    orders_cycle()
    order.refresh_from_db()
    assert order.status == S.NEEDS_REVIEW
    assert [a for a, _ in upstream.sim.requests].count("add") == 1
    user.refresh_from_db()
    assert user.balance == Decimal("84.7987")


def test_a_refused_connection_is_retried_then_cancelled_and_refunded(upstream_factory):
    upstream = upstream_factory()
    upstream.connect()
    upstream.server.stop()
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    for _ in range(5):
        orders_cycle()
    order.refresh_from_db()
    assert (order.status, order.placement_attempts) == (S.CANCELED, 5)
    assert "could not be reached" in order.error
    user.refresh_from_db()
    assert user.balance == Decimal("100")


def test_250_active_orders_are_polled_in_three_calls(upstream):
    user = UserFactory(balance="10000")
    for _ in range(250):
        _order(upstream, user, quantity=50)
    orders_cycle()
    before = len(upstream.sim.requests)
    report = orders_cycle()
    status_calls = [a for a, _ in upstream.sim.requests[before:] if a == "status"]
    assert (report.polled, report.status_calls, len(status_calls)) == (250, 3, 3)


def test_a_worker_dying_between_add_and_saving_the_id_leaves_the_order_for_review(upstream, settings):
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    # The worker claimed the order and sent `add`, then died before writing the upstream id.
    order_transition(
        order_id=order.pk, from_status=S.AWAITING, status=S.PLACING, actor="worker", placing_started_at=timezone.now()
    )
    provider_client(provider=upstream.provider).add(**order_add_fields(order=Order.objects.get(pk=order.pk)))
    settings.ORDER_PLACING_STUCK_SECONDS = 0
    orders_cycle()
    order.refresh_from_db()
    assert order.status == S.NEEDS_REVIEW
    assert upstream.sim.order_count == 1
    user.refresh_from_db()
    assert user.balance == Decimal("84.7987")


def test_drip_feed_runs_and_interval_pass_through_to_the_provider(upstream_factory):
    # Seed 002's services say which ones take drip-feed.
    upstream = upstream_factory("002")
    upstream.connect()
    user = UserFactory(balance="100")
    service = upstream.service(1)
    order_create(
        user=user, service_id=service.pk, data={"link": "https://x.test/d", "quantity": 100, "runs": 3, "interval": 15}
    )
    orders_cycle()
    add = next(form for action, form in upstream.sim.requests if action == "add")
    assert (add["service"], add["quantity"], add["runs"], add["interval"]) == ("1", "100", "3", "15")
    assert upstream.sim.order(10001).quantity == 300


def test_a_slow_answer_arriving_after_the_sweep_still_records_the_upstream_id(upstream, settings, monkeypatch):
    user = UserFactory(balance="100")
    order = _order(upstream, user)
    real_add = ProviderClient.add

    def slow_add(self, **fields):
        # While `add` is on the wire, the sweep finds the order stuck and hands it to review.
        settings.ORDER_PLACING_STUCK_SECONDS = 0
        orders_stuck_review()
        return real_add(self, **fields)

    monkeypatch.setattr(ProviderClient, "add", slow_add)
    order_place(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.upstream_order_id) == (S.PENDING, "10001")
    assert upstream.sim.order_count == 1
