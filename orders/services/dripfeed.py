"""Drip-feed run by the panel, for services whose provider has none of its own.

The customer's order is charged rate × quantity × runs up front, once. Each run is a child order
of `quantity`, charged nothing, placed upstream by the usual placement (so a lost answer goes to
review, a refusal cancels it) when it is due: the first at once, then one every `interval`
minutes, created by beat's drip-feed task (`dripfeed_runs_place`). The customer's order reads the
sum of its runs (`dripfeed_orders_update`): the first run's start count, the remains of all runs
plus the runs not yet placed, and once every run is settled, Completed, Partial or Canceled with
the refund `orders_transition` owes for those remains. A customer's cancel stops the runs not
yet placed and refunds them at once, and asks the provider to cancel the runs under way.

Every function takes `now`, so tests drive the clock.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from billing.models import LedgerEntry
from billing.services import balance_credit
from core.errors import PanelError
from core.ids import id_parse
from core.money import money_round, partial_refund
from orders.models import Order
from orders.order_fields import OrderInvalid
from orders.rules import order_can_cancel, order_cancel_pending
from orders.services.ordering import order_cancel_request, order_placement_queue
from orders.services.transitions import ACTIVE, FINAL, UPSTREAM_ACTIVE, Move, orders_transition

logger = logging.getLogger(__name__)
S = Order.Status
# Parents looked at per beat run: each takes one row lock and one insert.
RUNS_BATCH = 500


def dripfeed_start(*, parent: Order, now: datetime) -> Order:
    """Inside `order_create`'s transaction: the first run is created at once and queued after commit."""
    return _run_create(parent=parent, now=now)


def _run_create(*, parent: Order, now: datetime) -> Order:
    number = parent.runs_placed + 1
    run = Order.objects.create(
        user_id=parent.user_id,
        service_id=parent.service_id,
        provider_id=parent.provider_id,
        parent=parent,
        run_number=number,
        link=parent.link,
        quantity=parent.quantity,
        params=parent.params,
        rate=parent.rate,
        charge=0,
        cost=money_round(parent.cost / parent.runs),
    )
    parent.runs_placed = number
    parent.next_run_at = now + timedelta(minutes=parent.interval) if number < parent.runs else None
    Order.objects.filter(pk=parent.pk).update(
        runs_placed=number, next_run_at=parent.next_run_at, updated_at=timezone.now()
    )
    transaction.on_commit(lambda: order_placement_queue(order_id=run.pk))
    return run


def dripfeed_runs_place(*, now: datetime | None = None) -> int:
    """Create every run that is due (one per order per call) and queue its placement; safe from many workers."""
    now = now or timezone.now()
    due = list(
        Order.objects.filter(dripfeed_by_panel=True, runs_stopped=False, next_run_at__lte=now, status__in=ACTIVE)
        .order_by("next_run_at")
        .values_list("pk", flat=True)[:RUNS_BATCH]
    )
    created = 0
    for pk in due:
        with transaction.atomic():
            # skip_locked: a parent another worker (or the customer's cancel) holds is left to it.
            parent = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, runs_stopped=False, next_run_at__lte=now, status__in=ACTIVE)
                .first()
            )
            if parent is not None and parent.runs_placed < parent.runs:
                _run_create(parent=parent, now=now)
                created += 1
    return created


def _run_remains(run: Order) -> int:
    """What a run has not delivered: nothing once completed (over-delivery owes nothing), all of it if cancelled."""
    if run.status == S.COMPLETED:
        return 0
    if run.status == S.CANCELED:
        return run.quantity
    return min(max(run.remains if run.remains is not None else run.quantity, 0), run.quantity)


def dripfeed_orders_update(*, actor: str = "dripfeed") -> int:
    """Bring every running drip-feed order in step with its runs; returns how many changed status."""
    parents = {
        parent.pk: parent for parent in Order.objects.filter(dripfeed_by_panel=True, status__in=ACTIVE).order_by("pk")
    }
    if not parents:
        return 0
    runs: dict[int, list[Order]] = {pk: [] for pk in parents}
    for run in Order.objects.filter(parent_id__in=list(parents)).order_by("run_number"):
        runs[run.parent_id].append(run)
    moves = [_parent_move(parent, runs[pk]) for pk, parent in parents.items()]
    return len(orders_transition(moves=[move for move in moves if move], actor=actor))


def _parent_move(parent: Order, runs: list[Order]) -> Move | None:
    unplaced = parent.runs - parent.runs_placed
    remains = sum(_run_remains(run) for run in runs) + parent.quantity * unplaced
    charges = [run.upstream_charge for run in runs if run.upstream_charge is not None]
    fields = {
        "remains": remains,
        "start_count": runs[0].start_count if runs else None,
        "upstream_charge": sum(charges) if charges else None,
    }
    settled = (parent.runs_stopped or unplaced == 0) and all(run.status in FINAL for run in runs)
    if settled:
        if remains == 0:
            status = S.COMPLETED
        elif remains >= parent.total_quantity:
            status = S.CANCELED
        else:
            status = S.PARTIAL
        return Move(
            order_id=parent.pk, from_status=parent.status, status=status, fields=fields, reason="every run settled"
        )
    started = any(run.status in (S.IN_PROGRESS, S.PROCESSING, *FINAL) for run in runs)
    status = S.IN_PROGRESS if started and parent.status == S.PENDING else None
    changed = any(getattr(parent, name) != value for name, value in fields.items())
    if status is None and not changed:
        return None
    return Move(order_id=parent.pk, from_status=parent.status, status=status, fields=fields, reason="runs under way")


def dripfeed_cancel(*, user, order: Order) -> Order:
    """Stop the runs not yet placed and refund them now; ask the provider to cancel the runs under way."""
    with transaction.atomic():
        parent = Order.objects.select_for_update().select_related("service").get(pk=order.pk)
        if order_cancel_pending(order=parent):
            raise OrderInvalid(gettext("Cancellation of this order was already requested."))
        if not order_can_cancel(order=parent):
            raise OrderInvalid(gettext("The order cannot be cancelled now."))
        unplaced = parent.runs - parent.runs_placed
        running = list(
            Order.objects.filter(parent=parent, status__in=(S.AWAITING, S.PLACING, *UPSTREAM_ACTIVE)).values_list(
                "pk", flat=True
            )
        )
        if not unplaced and running and not parent.service.cancel:
            raise OrderInvalid(gettext("Cancel is disabled for this service"))
        refund = (
            partial_refund(charge=parent.charge, remains=parent.quantity * unplaced, quantity=parent.total_quantity)
            if unplaced
            else 0
        )
        Order.objects.filter(pk=parent.pk).update(
            runs_stopped=True, next_run_at=None, refunded=F("refunded") + refund, updated_at=timezone.now()
        )
        if refund > 0:
            balance_credit(
                user_id=parent.user_id,
                amount=refund,
                kind=LedgerEntry.Kind.REFUND,
                reference=f"order:{parent.pk}:runs",
                memo=f"Order {parent.pk}: {unplaced} runs not placed",
            )
    for pk in running:
        try:
            order_cancel_request(user=user, order_id=pk)
        except PanelError as error:
            # A run the provider cannot cancel runs to its end; the parent settles on what it delivers.
            logger.info("drip-feed order %s: run %s not cancelled: %s", parent.pk, pk, error.message)
    dripfeed_orders_update()
    parent.refresh_from_db()
    return parent


def customer_order_cancel(*, user, order_id: object) -> Order:
    """A customer's cancel: a drip-feed run by the panel stops its runs; any other follows `order_cancel_request`."""
    pk = id_parse(order_id)
    if pk is None:
        raise OrderInvalid(gettext("Incorrect order ID"))
    order = Order.objects.filter(pk=pk, user=user).only("pk", "dripfeed_by_panel", "parent_id").first()
    if order is None or order.parent_id is not None:
        raise OrderInvalid(gettext("Incorrect order ID"))
    if order.dripfeed_by_panel:
        return dripfeed_cancel(user=user, order=order)
    return order_cancel_request(user=user, order_id=pk)
