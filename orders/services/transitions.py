"""The one place that moves an order from status to status, and the money that goes with it.

Every status change, whether a worker's, a customer's or an operator's, goes through
`orders_transition`: it locks the orders, checks each move against ALLOWED, writes the
orders, one OrderEvent per move, and the refunds that final statuses owe, in one
transaction. It handles a batch (a poll chunk of 100) in a constant number of queries.

Every move is a compare-and-set: it names the status(es) it expects to leave (`from_status`,
required) and applies only if the locked row is still in one of them. A customer's cancel,
a worker's claim, a poll answer and an operator's action can race for the same order; the
first to lock the row wins and the others find it moved and do nothing (no move, no refund),
so an order is never refunded here by a move decided on a status it had already left.
`order_move_if` is the same compare-and-set as one conditional UPDATE, for the moves that
settle no money (claiming an order for placement, recording its upstream id).
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.models import LedgerEntry
from billing.services import Credit, balance_credit_many
from core.db import bulk_update_changed
from core.errors import PanelError
from core.money import partial_refund
from orders.models import Order, OrderEvent

logger = logging.getLogger(__name__)
S = Order.Status

UPSTREAM_ACTIVE = (S.PENDING, S.IN_PROGRESS, S.PROCESSING)
ACTIVE = (S.AWAITING, S.PLACING, S.NEEDS_REVIEW, *UPSTREAM_ACTIVE)
FINAL = (S.COMPLETED, S.PARTIAL, S.CANCELED)

ALLOWED: dict[str, set[str]] = {
    S.AWAITING: {S.PLACING, S.CANCELED},
    # PLACING → AWAITING: the request never left (connection refused), so it may be sent again.
    S.PLACING: {S.AWAITING, S.NEEDS_REVIEW, S.CANCELED, *UPSTREAM_ACTIVE, S.COMPLETED, S.PARTIAL},
    # An operator resends, attaches the upstream id, or cancels with a refund.
    S.NEEDS_REVIEW: {S.AWAITING, S.CANCELED, *UPSTREAM_ACTIVE, S.COMPLETED, S.PARTIAL},
    S.PENDING: {S.IN_PROGRESS, S.PROCESSING, *FINAL},
    S.IN_PROGRESS: {S.PENDING, S.PROCESSING, *FINAL},
    S.PROCESSING: {S.PENDING, S.IN_PROGRESS, *FINAL},
    S.COMPLETED: set(),
    S.PARTIAL: set(),
    S.CANCELED: set(),
}


class InvalidTransition(PanelError):
    default_message = "The order cannot change to that status now."


class StatusChanged(InvalidTransition):
    """The order is no longer in the status the move expected to leave: someone else moved it first."""

    default_message = "The order changed meanwhile; nothing was done."


def _statuses(value: str | Iterable[str]) -> frozenset[str]:
    return frozenset((value,) if isinstance(value, str) else value)


def _labels(statuses: Iterable[str]) -> str:
    return " or ".join(sorted(S(status).label for status in statuses))


@dataclass(kw_only=True)
class Move:
    """Move order `order_id` from one of `from_status` to `status`, setting `fields` on it.

    `status=None` only sets fields, also only while the order is in one of `from_status`.
    Every status in `from_status` must be allowed to reach `status`: a move the table
    forbids is a programming error, raised at once.
    """

    order_id: int
    from_status: str | Iterable[str]
    status: str | None
    fields: dict = field(default_factory=dict)
    reason: str = ""
    # An operator's own refund for a move into a final status (a cancel with a partial refund); None: the table's.
    refund: Decimal | None = None

    def __post_init__(self) -> None:
        self.from_status = _statuses(self.from_status)
        if not self.from_status:
            raise ValueError("A move states the status(es) it leaves.")
        for before in self.from_status:
            if self.status is not None and self.status != before and self.status not in ALLOWED[before]:
                raise InvalidTransition(f"{S(before).label} → {S(self.status).label} is not an allowed move.")


def order_refund_due(*, order: Order, status: str) -> Decimal:
    """What the customer gets back when the order reaches `status`: based on the charge taken, never today's rate."""
    if status == S.CANCELED:
        return order.charge - order.refunded
    if status == S.PARTIAL:
        remains = order.remains if order.remains is not None else 0
        return partial_refund(charge=order.charge, remains=remains, quantity=order.total_quantity) - order.refunded
    return Decimal("0")


def orders_transition(*, moves: Sequence[Move], actor: str, strict: bool = False) -> list[Order]:
    """Apply the moves; return the orders whose status changed.

    Each move is a compare-and-set on the locked row: it applies only if the order is still in
    one of the move's `from_status`. A move whose order has moved on meanwhile (a worker claimed
    it, a customer cancelled it, a late poll answer about a finished order) does nothing at all,
    no fields and no refund: it is logged, or raises StatusChanged when `strict`.
    """
    if not moves:
        return []
    with transaction.atomic():
        orders = Order.objects.select_for_update().filter(pk__in=[m.order_id for m in moves]).order_by("pk").in_bulk()
        now = timezone.now()
        dirty: dict[int, set[str]] = {}
        changed: list[Order] = []
        events: list[OrderEvent] = []
        credits: list[Credit] = []
        for move in moves:
            order = orders.get(move.order_id)
            if order is None:
                raise InvalidTransition(f"Order {move.order_id} does not exist.")
            before = order.status
            if before not in move.from_status:
                if strict:
                    raise StatusChanged(
                        f"Order {order.pk} is {order.get_status_display()}, "
                        f"no longer {_labels(move.from_status)}: nothing was done."
                    )
                logger.warning(
                    "order %s: is %s, expected %s; %s ignored", order.pk, before, sorted(move.from_status), move.status
                )
                continue
            moving = move.status is not None and move.status != before
            # Only what really changes is written: most orders of a poll have not moved.
            fields = dirty.setdefault(order.pk, set())
            for name, value in move.fields.items():
                if getattr(order, name) != value:
                    setattr(order, name, value)
                    fields.add(name)
            if not moving:
                continue
            order.status = move.status
            fields.add("status")
            if move.status in FINAL:
                order.finished_at = now
                fields.add("finished_at")
            refund = order_refund_due(order=order, status=move.status)
            if move.refund is not None and move.status in FINAL:
                if not Decimal("0") <= move.refund <= order.charge - order.refunded:
                    raise InvalidTransition(
                        f"Order {order.pk}: a refund must be between 0 and {order.charge - order.refunded}."
                    )
                refund = move.refund
            if refund > 0:
                credits.append(
                    Credit(
                        user_id=order.user_id,
                        amount=refund,
                        kind=LedgerEntry.Kind.REFUND,
                        reference=f"order:{order.pk}",
                        memo=f"Order {order.pk} {S(move.status).label.lower()}",
                    )
                )
                order.refunded += refund
                fields.add("refunded")
            events.append(
                OrderEvent(
                    order=order, from_status=before, to_status=move.status, actor=actor, reason=move.reason[:500]
                )
            )
            changed.append(order)
        for pk, fields in dirty.items():
            if fields:
                orders[pk].updated_at = now
                fields.add("updated_at")
        bulk_update_changed(Order, ((orders[pk], fields) for pk, fields in dirty.items()))
        OrderEvent.objects.bulk_create(events)
        balance_credit_many(credits=credits)
    return changed


def order_transition(
    *, order_id: int, from_status: str | Iterable[str], status: str, actor: str, reason: str = "", **fields
) -> Order:
    """Move one order from one of `from_status` to `status`, or raise StatusChanged (it moved meanwhile)."""
    changed = orders_transition(
        moves=[Move(order_id=order_id, from_status=from_status, status=status, fields=fields, reason=reason)],
        actor=actor,
        strict=True,
    )
    if not changed:
        raise InvalidTransition(f"Order {order_id} is already {S(status).label}.")
    return changed[0]


def order_move_if(
    *, order_id: int, from_status: str | Iterable[str], to_status: str, actor: str, reason: str = "", **fields
) -> bool:
    """Move one order only if it is still in `from_status`: one conditional UPDATE and its event, no lock.

    For the moves that settle no money (a worker claiming an order, recording its placement):
    only the caller whose UPDATE changed the row goes on, so two workers never both send it.
    """
    leaving = Move(order_id=order_id, from_status=from_status, status=to_status).from_status
    if to_status in FINAL or to_status in leaving:
        raise InvalidTransition(f"{_labels(leaving)} → {S(to_status).label} goes through orders_transition.")
    now = timezone.now()
    with transaction.atomic():
        if len(leaving) == 1:
            (before,) = leaving
        else:
            # Several statuses may be left: lock the row to learn which one the event records.
            before = (
                Order.objects.select_for_update()
                .filter(pk=order_id, status__in=leaving)
                .values_list("status", flat=True)
                .first()
            )
            if before is None:
                return False
        moved = Order.objects.filter(pk=order_id, status=before).update(status=to_status, updated_at=now, **fields)
        if moved:
            OrderEvent.objects.create(
                order_id=order_id, from_status=before, to_status=to_status, actor=actor, reason=reason[:500]
            )
    return bool(moved)
