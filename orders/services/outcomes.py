"""An operator sets an order's outcome by hand, where the provider never will (it vanished, or lost the order).

Each is one move of `orders_transition` with its reason: compare-and-set from the status the operator saw, so an
order that moved meanwhile (a poll finished it, a worker claimed it) is left alone and the operator is told. The
refunds are the transition's: none for Completed, the remains' share for Partial, and for a cancel the whole
unrefunded charge or the part of it the operator decides.
"""

from decimal import Decimal

from orders.models import Order
from orders.order_types import OrderInvalid
from orders.services.transitions import Move, StatusChanged, orders_transition

S = Order.Status
# Orders the provider has (or may have): only an operator can close them when the provider never answers.
BY_HAND = (S.NEEDS_REVIEW, S.PENDING, S.IN_PROGRESS, S.PROCESSING)
# A cancel also takes orders still waiting for placement; never one a worker is placing right now.
CANCEL_BY_HAND = (S.AWAITING, *BY_HAND)


def _order_seen(*, order_id: int, seen_status: str, allowed: tuple[str, ...], action: str) -> Order:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise OrderInvalid(f"Order {order_id} does not exist.")
    if seen_status not in allowed:
        labels = ", ".join(S(status).label for status in allowed)
        raise OrderInvalid(f"Order {order_id} cannot be {action} from {S(seen_status).label} (only from {labels}).")
    return order


def _move(*, move: Move, staff_id: int) -> Order:
    try:
        return orders_transition(moves=[move], actor=f"staff:{staff_id}", strict=True)[0]
    except StatusChanged:
        status = Order.objects.values_list("status", flat=True).get(pk=move.order_id)
        raise OrderInvalid(
            f"Order {move.order_id} changed meanwhile (it is {S(status).label} now): nothing was done."
        ) from None


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise OrderInvalid("Say why: the reason is kept in the order's history.")
    return reason


def order_mark_completed(*, order_id: int, seen_status: str, staff_id: int, reason: str) -> Order:
    """Completed by hand: the customer got everything; no refund."""
    reason = _reason(reason)
    _order_seen(order_id=order_id, seen_status=seen_status, allowed=BY_HAND, action="marked completed")
    move = Move(
        order_id=order_id,
        from_status=seen_status,
        status=S.COMPLETED,
        fields={"remains": 0, "error": ""},
        reason=f"marked completed by hand: {reason}",
    )
    return _move(move=move, staff_id=staff_id)


def order_mark_partial(*, order_id: int, seen_status: str, remains: int, staff_id: int, reason: str) -> Order:
    """Partial by hand: `remains` units were not delivered and their share of the charge is refunded."""
    reason = _reason(reason)
    order = _order_seen(order_id=order_id, seen_status=seen_status, allowed=BY_HAND, action="marked partial")
    if not 0 < remains < order.total_quantity:
        raise OrderInvalid(
            f"Partial means part was delivered: remains between 1 and {order.total_quantity - 1}. "
            "Nothing delivered is a cancel, everything delivered is Completed."
        )
    move = Move(
        order_id=order_id,
        from_status=seen_status,
        status=S.PARTIAL,
        fields={"remains": remains, "error": ""},
        reason=f"marked partial by hand, {remains} not delivered: {reason}",
    )
    return _move(move=move, staff_id=staff_id)


def order_cancel_by_hand(
    *, order_id: int, seen_status: str, refund: Decimal | None, staff_id: int, reason: str
) -> Order:
    """Cancelled by hand with the whole unrefunded charge back (`refund=None`) or the part the operator decides."""
    reason = _reason(reason)
    order = _order_seen(order_id=order_id, seen_status=seen_status, allowed=CANCEL_BY_HAND, action="cancelled")
    left = order.charge - order.refunded
    if refund is not None and not Decimal("0") <= refund <= left:
        raise OrderInvalid(f"The refund must be between 0 and {left}.")
    share = "in full" if refund is None or refund == left else f"refunding {refund} of {left}"
    move = Move(
        order_id=order_id,
        from_status=seen_status,
        status=S.CANCELED,
        refund=refund,
        fields={"error": "Cancelled by staff."},
        reason=f"cancelled by hand, {share}: {reason}",
    )
    return _move(move=move, staff_id=staff_id)
