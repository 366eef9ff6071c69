"""The workers' side of an order's life: place it upstream, poll it, send refills and cancels.

Every function here is safe to run twice and from many workers at once: work is claimed
through `orders_transition` (a row lock and a status check) or a conditional UPDATE, and
only the caller that claimed a row talks to the provider about it. `add`, `refill` and
`cancel` are sent at most once per claim; a lost answer is left for an operator, never resent.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from orders.models import Order, Refill, Service
from orders.order_types import order_type_for
from orders.pricing import service_cost
from orders.services.transitions import UPSTREAM_ACTIVE, InvalidTransition, Move, order_move_if, orders_transition
from providers.client import OrderStatusResult, ProductOrderStatusResult
from providers.errors import ProviderError, ProviderUnreachable
from providers.models import Provider
from providers.protocol import PROTOCOL_BATCH
from providers.services import provider_client
from providers.statuses import OrderStatus, RefillStatus

logger = logging.getLogger(__name__)
S = Order.Status

# Attempts to send an order whose connection was refused before anything was sent.
MAX_CONNECT_ATTEMPTS = 5

ORDER_STATUS_MAP = {
    OrderStatus.PENDING: S.PENDING,
    OrderStatus.IN_PROGRESS: S.IN_PROGRESS,
    OrderStatus.PROCESSING: S.PROCESSING,
    OrderStatus.COMPLETED: S.COMPLETED,
    OrderStatus.PARTIAL: S.PARTIAL,
    OrderStatus.CANCELED: S.CANCELED,
    OrderStatus.REFUNDED: S.CANCELED,
}
REFILL_STATUS_MAP = {
    RefillStatus.PENDING: Refill.Status.PENDING,
    RefillStatus.IN_PROGRESS: Refill.Status.IN_PROGRESS,
    RefillStatus.COMPLETED: Refill.Status.COMPLETED,
    RefillStatus.REJECTED: Refill.Status.REJECTED,
    RefillStatus.CANCELED: Refill.Status.CANCELED,
}


def _chunks(items: list, size: int = PROTOCOL_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class PlaceOutcome:
    order_id: int
    claimed: bool
    status: str = ""
    retry: bool = False
    message: str = ""


def order_place(*, order_id: int, actor: str = "worker") -> PlaceOutcome:
    """Send one awaiting order upstream with `add`; only the caller that claims it sends.

    A customer's cancel recorded before the claim is honoured here: the order is cancelled and
    refunded without being sent. One recorded later (while `add` is on its way) is sent upstream
    by `cancels_send` once the placement is recorded, since the order then runs at the provider.
    """
    order = Order.objects.select_related("service__provider_service", "provider").filter(pk=order_id).first()
    if order is None or order.status != S.AWAITING:
        return PlaceOutcome(order_id=order_id, claimed=False)
    attempts = order.placement_attempts + 1
    claimed = order_move_if(
        order_id=order_id,
        from_status=S.AWAITING,
        to_status=S.PLACING,
        actor=actor,
        placing_started_at=timezone.now(),
        placement_attempts=F("placement_attempts") + 1,
    )
    if not claimed:
        return PlaceOutcome(order_id=order_id, claimed=False)
    # Read after the claim: a cancel recorded before it is seen here, one recorded after it goes upstream.
    if Order.objects.filter(pk=order_id, cancel_requested_at__isnull=False).exists():
        _move(
            order_id,
            from_status=S.PLACING,
            status=S.CANCELED,
            actor=actor,
            reason="cancelled by the customer before placement",
        )
        return PlaceOutcome(order_id=order_id, claimed=True, status=S.CANCELED)
    try:
        with provider_client(provider=order.provider) as client:
            if order.service.kind == Service.Kind.PRODUCT:
                result = client.add_product_order(
                    product=order.service.provider_service.service_id,
                    quantity=order.quantity,
                    require=str(order.params.get("require", "")),
                )
            else:
                result = client.add(**order_add_fields(order=order))
    except ProviderError as error:
        return _placement_failed(order=order, error=error, attempts=attempts, actor=actor)
    except Exception as error:
        # An unexpected failure after the request may have left: the operator decides.
        logger.exception("order %s: unexpected error while placing", order_id)
        reason = f"Unexpected error while placing: {error!r}"[:500]
        _move(order_id, from_status=S.PLACING, status=S.NEEDS_REVIEW, actor=actor, reason=reason)
        return PlaceOutcome(order_id=order_id, claimed=True, status=S.NEEDS_REVIEW)
    return _placement_record(order=order, upstream_order_id=result.order_id, actor=actor)


def _placement_record(*, order: Order, upstream_order_id: str, actor: str) -> PlaceOutcome:
    """placing → pending with the upstream id, compare-and-set.

    A slow answer may find the order already sent to review by the stuck-order sweep: the id
    still counts. A customer's cancel recorded meanwhile stays on the row and is sent upstream by
    the next `cancels_send`. An id the provider already gave another of our orders cannot be
    recorded: the order goes to review at once, the duplicate id named for the operator.
    """
    placed = {"upstream_order_id": upstream_order_id, "placed_at": timezone.now(), "error": ""}
    try:
        recorded = order_move_if(
            order_id=order.pk,
            from_status=(S.PLACING, S.NEEDS_REVIEW),
            to_status=S.PENDING,
            actor=actor,
            reason="placed upstream",
            **placed,
        )
    except IntegrityError:
        other = (
            Order.objects.filter(provider_id=order.provider_id, upstream_order_id=upstream_order_id)
            .exclude(pk=order.pk)
            .values_list("pk", flat=True)
            .first()
        )
        reason = (
            f"The provider answered `add` with order id {upstream_order_id}, which it had already given "
            f"our order {other}: check both orders at the provider."
        )
        logger.error("order %s: %s", order.pk, reason)
        _move(
            order.pk,
            from_status=(S.PLACING, S.NEEDS_REVIEW),
            status=S.NEEDS_REVIEW,
            actor=actor,
            reason=reason,
            error="Waiting for a check by our staff.",
        )
        return PlaceOutcome(order_id=order.pk, claimed=True, status=S.NEEDS_REVIEW, message=reason)
    if recorded:
        return PlaceOutcome(order_id=order.pk, claimed=True, status=S.PENDING)
    logger.error("order %s: placed upstream as %s but no longer placing", order.pk, upstream_order_id)
    return PlaceOutcome(order_id=order.pk, claimed=True, status=S.NEEDS_REVIEW, message=upstream_order_id)


def order_add_fields(*, order: Order) -> dict:
    """The `add` parameters for an order: exactly the fields its service's type declares at this provider."""
    kind = order_type_for(order.service.type)
    names = kind.names(order.provider.dialect)
    fields: dict = {"service": order.service.provider_service.service_id}
    if "link" in names:
        fields["link"] = order.link
    if "quantity" in names:
        fields["quantity"] = order.quantity
    fields |= {name: value for name, value in order.params.items() if name in names}
    if order.runs:
        fields["runs"] = order.runs
        fields["interval"] = order.interval
    return fields


def _move(
    order_id: int, *, from_status: str | tuple[str, ...], status: str, actor: str, reason: str, **fields
) -> list[Order]:
    move = Move(order_id=order_id, from_status=from_status, status=status, fields=fields, reason=reason)
    return orders_transition(moves=[move], actor=actor)


def _placement_failed(*, order: Order, error: ProviderError, attempts: int, actor: str) -> PlaceOutcome:
    if error.permanent:
        # The upstream refused (incorrect service or link, its own funds, quantity): refund in full.
        reason = f"Refused by the provider: {error.message}"
        _move(order.pk, from_status=S.PLACING, status=S.CANCELED, actor=actor, reason=reason, error=error.message[:500])
        return PlaceOutcome(order_id=order.pk, claimed=True, status=S.CANCELED, message=error.message)
    if isinstance(error, ProviderUnreachable) and not error.request_sent:
        if attempts >= MAX_CONNECT_ATTEMPTS:
            message = "The provider could not be reached; the order was cancelled and refunded."
            _move(order.pk, from_status=S.PLACING, status=S.CANCELED, actor=actor, reason=str(error), error=message)
            return PlaceOutcome(order_id=order.pk, claimed=True, status=S.CANCELED, message=message)
        reason = f"not sent, will retry: {error}"[:500]
        _move(order.pk, from_status=S.PLACING, status=S.AWAITING, actor=actor, reason=reason)
        return PlaceOutcome(order_id=order.pk, claimed=True, status=S.AWAITING, retry=True, message=str(error))
    # The request may have reached the provider: sending again could place a second order.
    _move(
        order.pk,
        from_status=S.PLACING,
        status=S.NEEDS_REVIEW,
        actor=actor,
        reason=f"answer lost after sending: {error}"[:500],
        error="Waiting for a check by our staff.",
    )
    return PlaceOutcome(order_id=order.pk, claimed=True, status=S.NEEDS_REVIEW, message=str(error))


def orders_awaiting_placement(*, limit: int = 1000, idle_seconds: int = 0) -> list[int]:
    waiting = Order.objects.filter(status=S.AWAITING)
    if idle_seconds:
        waiting = waiting.filter(updated_at__lt=timezone.now() - timedelta(seconds=idle_seconds))
    return list(waiting.order_by("pk").values_list("pk", flat=True)[:limit])


def orders_stuck_review(*, actor: str = "sweeper") -> int:
    """Orders left in `placing` too long (a worker died mid-`add`) go to an operator."""
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_PLACING_STUCK_SECONDS)
    stuck = list(Order.objects.filter(status=S.PLACING, placing_started_at__lt=cutoff).values_list("pk", flat=True))
    moves = [
        Move(
            order_id=pk,
            from_status=S.PLACING,
            status=S.NEEDS_REVIEW,
            reason="stuck in placing",
            fields={"error": "Waiting for a check by our staff."},
        )
        for pk in stuck
    ]
    return len(orders_transition(moves=moves, actor=actor))


@dataclass
class PollReport:
    calls: int = 0
    orders: int = 0
    changed: int = 0
    errors: list[str] = field(default_factory=list)


def _status_move(
    order_id: int, result: OrderStatusResult | ProductOrderStatusResult | None, *, provider: Provider
) -> Move:
    if result is None or result.error:
        error = (result.error if result else "no answer")[:500]
        return Move(order_id=order_id, from_status=UPSTREAM_ACTIVE, status=None, fields={"error": error})
    fields = {"upstream_status": result.raw_status[:64], "error": ""}
    if isinstance(result, ProductOrderStatusResult):
        # What the customer bought (an account, a code) is delivered through the order itself.
        fields["result"] = result.result or ""
        fields["error"] = (result.note or "")[:500]
    else:
        if result.start_count is not None:
            fields["start_count"] = result.start_count
        if result.remains is not None:
            # Seed 003 shows remains "-2" on a Completed order: over-delivery owes no refund.
            fields["remains"] = max(result.remains, 0)
    if result.charge is not None:
        # What the provider took, in our currency, for the staff dashboard's cost and profit.
        fields["upstream_charge"] = service_cost(provider=provider, upstream_rate=result.charge)
    if result.status is None:
        logger.warning("order %s: unknown upstream status %r; kept active", order_id, result.raw_status)
        return Move(order_id=order_id, from_status=UPSTREAM_ACTIVE, status=None, fields=fields)
    status = ORDER_STATUS_MAP[result.status]
    return Move(order_id=order_id, from_status=UPSTREAM_ACTIVE, status=status, fields=fields, reason="status poll")


def orders_poll(*, provider_id: int, actor: str = "poller") -> PollReport:
    """Ask the provider for every active order's status, 100 ids a call, and apply the answers."""
    provider = Provider.objects.get(pk=provider_id)
    active = list(
        Order.objects.filter(provider_id=provider_id, status__in=UPSTREAM_ACTIVE, upstream_order_id__isnull=False)
        .order_by("pk")
        .values_list("pk", "upstream_order_id", "service__kind")
    )
    report = PollReport(orders=len(active))
    client = provider_client(provider=provider)
    services = [(pk, upstream_id) for pk, upstream_id, kind in active if kind == Service.Kind.SERVICE]
    products = [(pk, upstream_id) for pk, upstream_id, kind in active if kind == Service.Kind.PRODUCT]
    for ask, chunks in ((client.statuses, _chunks(services)), (client.product_order_statuses, _chunks(products))):
        for chunk in chunks:
            _poll_chunk(ask=ask, chunk=chunk, report=report, provider=provider, actor=actor)
    return report


def _poll_chunk(*, ask, chunk: list, report: PollReport, provider: Provider, actor: str) -> None:
    report.calls += 1
    try:
        answers = ask([upstream_id for _, upstream_id in chunk])
    except ProviderError as error:
        logger.warning("poll of %s failed: %s", provider.name, error)
        report.errors.append(str(error))
        return
    moves = [_status_move(pk, answers.get(upstream_id), provider=provider) for pk, upstream_id in chunk]
    report.changed += len(orders_transition(moves=moves, actor=actor))


def refills_send(*, provider_id: int) -> int:
    """Send requested refills upstream, 100 a call. Each refill is claimed before it is sent."""
    provider = Provider.objects.get(pk=provider_id)
    client = provider_client(provider=provider)
    waiting = list(
        Refill.objects.filter(order__provider_id=provider_id, status=Refill.Status.REQUESTED, sent_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    sent = 0
    for chunk in _chunks(waiting):
        now = timezone.now()
        Refill.objects.filter(pk__in=chunk, sent_at__isnull=True).update(sent_at=now)
        claimed = list(Refill.objects.filter(pk__in=chunk, sent_at=now).select_related("order"))
        if not claimed:
            continue
        by_upstream = {refill.order.upstream_order_id: refill for refill in claimed}
        try:
            answers = client.refills(list(by_upstream))
        except ProviderError as error:
            if isinstance(error, ProviderUnreachable) and not error.request_sent:
                Refill.objects.filter(pk__in=[r.pk for r in claimed]).update(sent_at=None)
            else:
                Refill.objects.filter(pk__in=[r.pk for r in claimed]).update(
                    status=Refill.Status.FAILED, error=error.message[:500]
                )
            continue
        for upstream_id, refill in by_upstream.items():
            answer = answers.get(upstream_id)
            if answer is None or answer.error or not answer.refill_id:
                refill.status = Refill.Status.FAILED
                refill.error = (answer.error if answer and answer.error else "No refill id in the provider's answer")[
                    :500
                ]
            else:
                refill.status = Refill.Status.PENDING
                refill.upstream_refill_id = answer.refill_id
                refill.error = ""
            refill.updated_at = now
        Refill.objects.bulk_update(claimed, ["status", "error", "upstream_refill_id", "updated_at"])
        sent += len(claimed)
    return sent


def refills_poll(*, provider_id: int) -> int:
    provider = Provider.objects.get(pk=provider_id)
    client = provider_client(provider=provider)
    open_refills = list(
        Refill.objects.filter(
            order__provider_id=provider_id,
            status__in=[Refill.Status.PENDING, Refill.Status.IN_PROGRESS],
            upstream_refill_id__isnull=False,
        ).order_by("pk")
    )
    changed = 0
    for chunk in _chunks(open_refills):
        try:
            answers = client.refill_statuses([refill.upstream_refill_id for refill in chunk])
        except ProviderError as error:
            logger.warning("refill poll of %s failed: %s", provider.name, error)
            continue
        now = timezone.now()
        for refill in chunk:
            answer = answers.get(refill.upstream_refill_id)
            if answer is None or answer.error:
                refill.error = (answer.error if answer else "no answer")[:500]
            elif answer.status is None:
                refill.upstream_status = answer.raw_status[:64]
            else:
                new = REFILL_STATUS_MAP[answer.status]
                changed += new != refill.status
                refill.status, refill.upstream_status, refill.error = new, answer.raw_status[:64], ""
            refill.updated_at = now
        Refill.objects.bulk_update(chunk, ["status", "upstream_status", "error", "updated_at"])
    return changed


def cancels_send(*, provider_id: int) -> int:
    """Send the customers' cancel requests upstream, 100 a call; the refund follows the status poll."""
    provider = Provider.objects.get(pk=provider_id)
    client = provider_client(provider=provider)
    waiting = list(
        Order.objects.filter(
            provider_id=provider_id,
            status__in=UPSTREAM_ACTIVE,
            cancel_requested_at__isnull=False,
            cancel_sent_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    sent = 0
    for chunk in _chunks(waiting):
        now = timezone.now()
        Order.objects.filter(pk__in=chunk, cancel_sent_at__isnull=True).update(cancel_sent_at=now)
        claimed = dict(Order.objects.filter(pk__in=chunk, cancel_sent_at=now).values_list("upstream_order_id", "pk"))
        if not claimed:
            continue
        try:
            answers = client.cancel(list(claimed))
        except ProviderError as error:
            if isinstance(error, ProviderUnreachable) and not error.request_sent:
                Order.objects.filter(pk__in=claimed.values()).update(cancel_sent_at=None)
            else:
                Order.objects.filter(pk__in=claimed.values()).update(cancel_error=error.message[:500])
            continue
        failed = {upstream_id: a.error for upstream_id, a in answers.items() if a.error}
        for upstream_id, message in failed.items():
            if upstream_id in claimed:
                Order.objects.filter(pk=claimed[upstream_id]).update(cancel_error=message[:500])
        sent += len(claimed)
    return sent


def providers_with_work() -> list[int]:
    """Active providers that have orders, refills or cancels in flight."""
    return list(
        Provider.objects.filter(is_active=True)
        .filter(Q(orders__status__in=UPSTREAM_ACTIVE) | Q(orders__refills__status__in=Refill.OPEN))
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


__all__ = [
    "InvalidTransition",
    "PlaceOutcome",
    "PollReport",
    "cancels_send",
    "order_place",
    "orders_awaiting_placement",
    "orders_poll",
    "orders_stuck_review",
    "providers_with_work",
    "refills_poll",
    "refills_send",
]
