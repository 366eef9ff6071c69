"""Orders, money and the upstream under random interleavings: a Hypothesis state machine.

Two or three customers order, cancel and ask for refills; workers run whole cycles against a
simulator whose clock, faults and order fates the machine controls; an operator handles the
orders left for review. After every step the money must add up to the cent and the simulator
must never hold two orders for one of ours.

Each example runs inside its own atomic block, rolled back in `teardown`, within the test's
transaction: `orders_cycle` then places orders one at a time, as it does in any transaction.
"""

from collections import Counter
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from billing.errors import InsufficientFunds
from billing.models import LedgerEntry
from billing.selectors import ledger_mismatches
from core.errors import PanelError
from core.money import order_charge, partial_refund
from orders.models import Order, OrderEvent, Refill
from orders.order_types import OrderInvalid
from orders.services.cycle import orders_cycle
from orders.services.ordering import (
    STAFF_CANCELLABLE,
    order_cancel_refund,
    order_cancel_request,
    order_create,
    order_review_attach,
    order_review_resend,
    refill_request,
)
from orders.services.transitions import UPSTREAM_ACTIVE, InvalidTransition
from orders.services.upstream import order_place
from providers.client import ProviderClient
from providers.models import Provider
from providers.simulator.server import SimulatorServer
from providers.simulator.state import FIRST_ORDER_ID, ManualClock, SimulatedProvider
from tests.orders.conftest import Upstream
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status

STAGE_SECONDS = 10
STAFF_ID = 1
# Simulator service 1: Default, 15.2013 per 1,000, 50..50,000, refill and cancel.
# Simulator service 3: Default, 0.0815 per 1,000, 1,000..50,000, neither refill nor cancel.
SERVICE_QUANTITIES = {1: st.integers(40, 3000), 3: st.integers(900, 55_000)}
# (customer index, simulator service id, quantity)
ORDER_WISH = st.one_of(
    *(st.tuples(st.integers(0, 2), st.just(service), quantities) for service, quantities in SERVICE_QUANTITIES.items())
)
# A lost response is the fault that leaves an order at the provider and ours in review: drawn twice as often.
FAULTS = ("lost_response", "lost_response", "500", "garbage", "html", "no_funds", "timeout")
FAULT_ACTIONS = (None, "add", "add", "status", "cancel", "refill", "refill_status")
# Orders a customer may well want to refill or cancel, for the rules that pick among them.
REFILLABLE = Order.objects.filter(status__in=[S.COMPLETED, S.PARTIAL], service__refill=True, refills__isnull=True)
CANCELLABLE = Order.objects.filter(status__in=UPSTREAM_ACTIVE, service__cancel=True, cancel_requested_at__isnull=True)
UPSTREAM_WORDS = {"Completed": S.COMPLETED, "Partial": S.PARTIAL, "Canceled": S.CANCELED}
# The reason of a worker's claim that ended in the customer's cancel before anything was sent.
CANCELLED_BEFORE_SENDING = "cancelled by the customer before placement"


class OrdersMachine(RuleBasedStateMachine):
    """Set up by the test function: `world` holds the provider and catalog made once per test."""

    world: dict = {}
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.clock = ManualClock()
        self.sim = SimulatedProvider(
            dialect="standard", clock=self.clock, stage_seconds=STAGE_SECONDS, balance=Decimal("100000")
        )
        self.server = SimulatorServer(self.sim)
        Provider.objects.filter(pk=self.world["provider_id"]).update(api_url=self.server.start())
        self.services = self.world["services"]
        self.customers: list = []
        self.deposits = Decimal("0")
        self.links = 0
        self.injected = 0
        self.finished = False

    def teardown(self) -> None:
        self.server.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # Customers and their orders.

    @initialize(deposits=st.lists(st.decimals(Decimal("5"), Decimal("100"), places=5), min_size=2, max_size=3))
    def customers_deposit(self, deposits):
        for amount in deposits:
            self.customers.append(UserFactory(balance=amount))
            self.deposits += amount

    @rule(target=orders, wishes=st.lists(ORDER_WISH, min_size=1, max_size=4))
    def customers_order(self, wishes):
        placed = []
        for customer, upstream_service, quantity in wishes:
            order_id = self._order(self.customers[customer % len(self.customers)], upstream_service, quantity)
            if order_id is not None:
                placed.append(order_id)
        return multiple(*placed)

    def _order(self, user, upstream_service: int, quantity: int) -> int | None:
        """One order, expected to be taken exactly when its quantity fits the service and the balance."""
        service = self.services[upstream_service]
        self.links += 1
        link = f"https://insta.test/p/{self.links}"
        balance = get_user_model().objects.get(pk=user.pk).balance
        charge = order_charge(rate=service.price, quantity=quantity, per=service.units_per_rate)
        before = (Order.objects.count(), LedgerEntry.objects.count())
        try:
            order = order_create(user=user, service_id=service.pk, data={"link": link, "quantity": str(quantity)})
        except OrderInvalid:
            assert not service.min <= quantity <= service.max
        except InsufficientFunds:
            assert service.min <= quantity <= service.max and charge > balance
        else:
            assert service.min <= quantity <= service.max and charge <= balance
            assert (order.status, order.charge, order.refunded) == (S.AWAITING, charge, Decimal("0"))
            return order.pk
        assert (Order.objects.count(), LedgerEntry.objects.count()) == before
        return None

    @rule(order_id=orders, refill=st.booleans())
    def customer_asks_about_an_order(self, order_id, refill):
        """A refill or a cancel of any order: taken exactly when the order allows it."""
        if refill:
            self._refill(order_id)
        else:
            self._cancel(order_id)

    @precondition(lambda self: REFILLABLE.exists())
    @rule(data=st.data())
    def customer_asks_for_a_refill_of_a_finished_order(self, data):
        self._refill(data.draw(st.sampled_from(sorted(REFILLABLE.values_list("pk", flat=True))), label="order"))

    @precondition(lambda self: CANCELLABLE.exists())
    @rule(data=st.data())
    def customer_asks_to_cancel_a_running_order(self, data):
        self._cancel(data.draw(st.sampled_from(sorted(CANCELLABLE.values_list("pk", flat=True))), label="order"))

    def _refill(self, order_id: int) -> None:
        order = Order.objects.select_related("service").get(pk=order_id)
        allowed = (
            order.service.refill
            and order.status in (S.COMPLETED, S.PARTIAL)
            # The test runs in seconds: any earlier refill is open or inside the 24-hour cooldown.
            and not order.refills.exists()
        )
        try:
            refill = refill_request(user=order.user, order_id=order_id)
        except PanelError:
            assert not allowed
        else:
            assert allowed and refill.status == Refill.Status.REQUESTED

    def _cancel(self, order_id: int) -> None:
        order = Order.objects.select_related("service").get(pk=order_id)
        upstream_cancel = (
            order.service.cancel and order.status in (*UPSTREAM_ACTIVE, S.PLACING) and order.cancel_requested_at is None
        )
        try:
            after = order_cancel_request(user=order.user, order_id=str(order_id))
        except PanelError:
            assert order.status != S.AWAITING and not upstream_cancel
        else:
            if order.status == S.AWAITING:
                assert (after.status, after.refunded) == (S.CANCELED, order.charge)
            else:
                assert upstream_cancel and after.cancel_requested_at is not None

    @precondition(lambda self: Order.objects.filter(status=S.AWAITING).exists())
    @rule(data=st.data(), after_answer=st.booleans())
    def customer_cancels_while_a_worker_places_the_order(self, data, after_answer):
        """The cancel arrives while the order is `placing`: before `add` leaves, or once its answer is in.

        It never refunds the order here then: it is recorded, and sent upstream once the order has an
        upstream id (the provider's Canceled then refunds it), or honoured by the next claim if the
        order comes back to awaiting.
        """
        awaiting = sorted(Order.objects.filter(status=S.AWAITING).values_list("pk", flat=True))
        order = Order.objects.select_related("service").get(pk=data.draw(st.sampled_from(awaiting), label="order"))
        answers: list = []
        original = ProviderClient.add

        def add(client, **fields):
            if not after_answer:
                answers.append(self._cancel_while_placing(order))
            result = original(client, **fields)
            if after_answer:
                answers.append(self._cancel_while_placing(order))
            return result

        with mock.patch.object(ProviderClient, "add", add):
            order_place(order_id=order.pk)
        after = Order.objects.get(pk=order.pk)
        if answers and answers[0] is not None:
            assert after.cancel_requested_at is not None
            assert after.status != S.CANCELED or after.upstream_order_id is None
        else:
            # No new request: an earlier one (kept while the order went to review and was resent) stays,
            # and the claim honoured it without sending `add`.
            assert after.cancel_requested_at == order.cancel_requested_at
            if order.cancel_requested_at is not None:
                assert (after.status, after.upstream_order_id) == (S.CANCELED, None)
        if after.upstream_order_id is not None:
            assert after.refunded == 0

    def _cancel_while_placing(self, order: Order) -> Order | None:
        assert Order.objects.get(pk=order.pk).status == S.PLACING
        try:
            answer = order_cancel_request(user=order.user, order_id=order.pk)
        except PanelError as error:
            assert not order.service.cancel and error.message == "Cancel is disabled for this service"
            return None
        assert order.service.cancel
        assert (answer.status, answer.refunded) == (S.PLACING, Decimal("0"))
        return answer

    # The operator.

    @precondition(lambda self: Order.objects.filter(status=S.NEEDS_REVIEW).exists())
    @rule(data=st.data())
    def operator_works_through_the_review_queue(self, data):
        """A careful operator checks each order at the provider: attach it if found, else resend; or cancel it."""
        sim_orders = self._sim_orders()
        for order in Order.objects.filter(status=S.NEEDS_REVIEW).order_by("pk"):
            if data.draw(st.booleans(), label=f"cancel order {order.pk}"):
                order_cancel_refund(order_id=order.pk, staff_id=STAFF_ID, reason="checked by staff")
                continue
            found = [view for view in sim_orders if view.link == order.link]
            if found:
                order_review_attach(order_id=order.pk, upstream_order_id=str(found[0].id), staff_id=STAFF_ID)
            else:
                order_review_resend(order_id=order.pk, staff_id=STAFF_ID)

    @rule(order_id=orders, cancel=st.booleans())
    def operator_acts_on_an_order(self, order_id, cancel):
        """Resend is refused for an order not waiting for review; cancel and refund for one not awaiting
        placement or review (a running order is cancelled at the provider instead)."""
        order = Order.objects.get(pk=order_id)
        if not cancel:
            if order.status != S.NEEDS_REVIEW:
                with pytest.raises(InvalidTransition):
                    order_review_resend(order_id=order_id, staff_id=STAFF_ID)
            return
        if order.status not in STAFF_CANCELLABLE:
            with pytest.raises(OrderInvalid, match="only orders awaiting placement or review"):
                order_cancel_refund(order_id=order_id, staff_id=STAFF_ID, reason="checked by staff")
            return
        after = order_cancel_refund(order_id=order_id, staff_id=STAFF_ID, reason="checked by staff")
        assert (after.status, after.refunded) == (S.CANCELED, after.charge)

    # Workers and the upstream.

    @rule(
        seconds_before=st.sampled_from([0, 0, 1, 5, STAGE_SECONDS, 2 * STAGE_SECONDS, 100]),
        fault=st.none() | st.tuples(st.sampled_from(FAULTS), st.sampled_from(FAULT_ACTIONS)),
    )
    def worker_cycle(self, seconds_before, fault):
        """Time passes at the provider, which may fail the next request, then the workers run a cycle."""
        self.clock.advance(seconds_before)
        if fault is not None:
            # The server holds a timed-out request past the client's patience (PROVIDER_READ_TIMEOUT).
            self.sim.inject(fault[0], action=fault[1], seconds=0.8)
            self.injected += 1
        orders_cycle(concurrency=1)

    @rule(
        fate=st.sampled_from(["completed", "partial", "canceled", "refill completed", "refill rejected"]),
        remains=st.integers(1, 5000),
    )
    def upstream_decides_a_fate(self, fate, remains):
        if fate.startswith("refill "):
            self.sim.force_next_refill_fate(fate.removeprefix("refill "))
        else:
            self.sim.force_next_fate(fate, remains=remains if fate == "partial" else None)

    @precondition(lambda self: not self.finished and len(self.sim.faults_fired) == self.injected)
    @rule()
    def everything_upstream_finishes(self):
        """With no fault pending, every order placed upstream ends with the status and refund the provider gave."""
        self.finished = True
        orders_cycle(concurrency=1)  # places what is waiting
        self.clock.advance(1000)
        orders_cycle(concurrency=1)  # sends cancels and refills, learns the final statuses
        orders_cycle(concurrency=1)
        sim_orders = {str(view.id): view for view in self._sim_orders()}
        staff_cancelled = set(
            OrderEvent.objects.filter(actor__startswith="staff:", to_status=S.CANCELED).values_list("order", flat=True)
        )
        for order in Order.objects.filter(upstream_order_id__isnull=False):
            view = sim_orders[order.upstream_order_id]
            assert view.final, view
            if order.pk in staff_cancelled:
                assert order.status == S.CANCELED
                continue
            # The customer's order ends as the provider's did, and is refunded what the provider gave back.
            assert order.status == UPSTREAM_WORDS[view.status], (order.pk, order.status, view)
            if order.status == S.PARTIAL:
                assert order.remains == view.remains

    # Invariants, after every step.

    @invariant()
    def money_adds_up(self):
        assert ledger_mismatches() == []
        balances = list(get_user_model().objects.values_list("balance", flat=True))
        assert all(balance >= 0 for balance in balances)
        totals = Order.objects.aggregate(charged=Sum("charge"), refunded=Sum("refunded"))
        charged, refunded = totals["charged"] or Decimal("0"), totals["refunded"] or Decimal("0")
        assert sum(balances, Decimal("0")) + charged - refunded == self.deposits

    @invariant()
    def each_order_is_charged_once_and_refunded_at_most_once(self):
        rows: dict[tuple[str, str], list[Decimal]] = {}
        for kind, reference, amount in LedgerEntry.objects.exclude(reference="").values_list(
            "kind", "reference", "amount"
        ):
            rows.setdefault((kind, reference), []).append(amount)
        for order in Order.objects.all():
            reference = f"order:{order.pk}"
            charges = rows.get((LedgerEntry.Kind.CHARGE, reference), [])
            refunds = rows.get((LedgerEntry.Kind.REFUND, reference), [])
            assert charges == [-order.charge], (order.pk, charges)
            assert len(refunds) <= 1 and sum(refunds, Decimal("0")) == order.refunded, (order.pk, refunds)
            assert Decimal("0") <= order.refunded <= order.charge
            if order.status == S.CANCELED:
                assert order.refunded == order.charge
            elif order.status == S.PARTIAL:
                due = partial_refund(charge=order.charge, remains=order.remains or 0, quantity=order.total_quantity)
                assert order.refunded == due
            else:
                assert order.refunded == 0, (order.pk, order.status, order.refunded)

    @invariant()
    def the_provider_never_holds_two_orders_for_one_of_ours(self):
        adds = sum(1 for action, _ in self.sim.requests if action == "add")
        claims = OrderEvent.objects.filter(from_status=S.AWAITING, to_status=S.PLACING).count()
        unsent = OrderEvent.objects.filter(from_status=S.PLACING, reason=CANCELLED_BEFORE_SENDING).count()
        # Every claim sends one `add`, unless the customer's cancel was already recorded; nothing else sends.
        assert adds == claims - unsent
        assert self.sim.order_count <= claims
        ours = dict(Order.objects.values_list("link", "upstream_order_id"))
        per_link = Counter(view.link for view in self._sim_orders())
        assert all(count == 1 for count in per_link.values()), per_link.most_common(3)
        for link in per_link:
            assert link in ours
        for view in self._sim_orders():
            upstream_id = ours[view.link]
            assert upstream_id in (None, str(view.id))

    @invariant()
    def no_order_is_refunded_here_while_it_runs_upstream(self):
        """Only the provider's final word refunds an order it holds (or an operator's explicit decision)."""
        staff_cancelled = set(
            OrderEvent.objects.filter(actor__startswith="staff:", to_status=S.CANCELED).values_list("order", flat=True)
        )
        ours = {order.link: order for order in Order.objects.all()}
        for view in self._sim_orders():
            order = ours[view.link]
            if order.refunded > 0 and order.pk not in staff_cancelled:
                assert view.final, (order.pk, order.status, view)

    def _sim_orders(self):
        return [self.sim.order(order_id) for order_id in range(FIRST_ORDER_ID, FIRST_ORDER_ID + self.sim.order_count)]


@pytest.fixture
def orders_world(settings):
    # Short timeouts: an injected "timeout" then costs half a second, not thirty.
    settings.PROVIDER_READ_TIMEOUT = 0.5
    settings.PROVIDER_RETRY_BACKOFF = 0
    upstream = Upstream(dialect="standard")
    try:
        upstream.connect()
        yield {"provider_id": upstream.provider.pk, "services": {sid: upstream.service(sid) for sid in (1, 3)}}
    finally:
        upstream.server.stop()


def test_money_and_upstream_orders_stay_consistent_under_random_interleavings(orders_world):
    OrdersMachine.world = orders_world
    run_state_machine_as_test(
        OrdersMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        ),
    )
