"""The workers' side of an order's life: place it upstream, poll it, send refills and cancels.

Every function here is safe to run twice and from many workers at once: work is claimed
through `orders_transition` (a row lock and a status check) or a conditional UPDATE, and
only the caller that claimed a row talks to the provider about it. `add`, `refill` and
`cancel` are sent at most once per claim; a lost answer is left for an operator, never resent.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.utils import timezone

from orders.models import Order, Refill, Service
from orders.order_types import order_type_for
from orders.pricing import service_cost
from orders.services.failover import order_failover, order_failover_circuit
from orders.services.transitions import UPSTREAM_ACTIVE, InvalidTransition, Move, order_move_if, orders_transition
from providers.client import OrderStatusResult, ProductOrderStatusResult
from providers.errors import ProviderError, ProviderUnreachable
from providers.models import Provider
from providers.protocol import PROTOCOL_BATCH
from providers.services import provider_client
from providers.statuses import OrderStatus, RefillStatus

logger = logging.getLogger(__name__)
S = Order.Status

# Orders read from a provider's poll queue per query: twenty calls' worth.
POLL_FETCH = 20 * PROTOCOL_BATCH
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


@dataclass(frozen=True)
class Deadline:
    """A time budget on a monotonic clock. Work checks it between upstream calls, after the first."""

    at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> "Deadline":
        return cls(at=clock() + seconds, clock=clock)

    def passed(self) -> bool:
        return self.clock() >= self.at


def _out_of_time(deadline: Deadline | None, calls: int) -> bool:
    # The first call always goes: each step of every run makes progress, however small the budget.
    return deadline is not None and calls > 0 and deadline.passed()


@dataclass
class PlaceOutcome:
    order_id: int
    claimed: bool
    status: str = ""
    retry: bool = False
    message: str = ""
    # Not claimed because the provider already has `max_inflight` placements under way: still awaiting.
    deferred: bool = False
    attempts: int = 0


def order_place(*, order_id: int, actor: str = "worker", max_inflight: int | None = None) -> PlaceOutcome:
    """Send one awaiting order upstream with `add`; only the caller that claims it sends.

    A customer's cancel recorded before the claim is honoured here: the order is cancelled and
    refunded without being sent. One recorded later (while `add` is on its way) is sent upstream
    by `cancels_send` once the placement is recorded, since the order then runs at the provider.
    With `max_inflight`, the order is claimed only while its provider has fewer orders in
    `placing`: a slow provider's `add`s then hold at most that many workers.
    """
    order = (
        Order.objects.select_related("service__provider_service", "provider", "provider_service")
        .filter(pk=order_id)
        .first()
    )
    if order is None or order.status != S.AWAITING:
        return PlaceOutcome(order_id=order_id, claimed=False)
    attempts = order.placement_attempts + 1
    claimed = _placement_claim(order=order, actor=actor, max_inflight=max_inflight)
    if claimed is None:
        return PlaceOutcome(order_id=order_id, claimed=False, status=S.AWAITING, deferred=True)
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
    return _placement_send(order=order, attempts=attempts, actor=actor)


def _placement_send(*, order: Order, attempts: int, actor: str) -> PlaceOutcome:
    """Send the claimed order's `add` to the provider service it is at (its own, or an alternative)."""
    moved = order_failover_circuit(order=order, actor=actor)
    if moved is not None:
        return _placement_send(order=moved, attempts=1, actor=actor)
    try:
        with provider_client(provider=order.provider) as client:
            if order.service.kind == Service.Kind.PRODUCT:
                result = client.add_product_order(
                    product=order.upstream_service.service_id,
                    quantity=order.quantity,
                    require=str(order.params.get("require", "")),
                )
            else:
                result = client.add(**order_add_fields(order=order))
    except ProviderError as error:
        return _placement_failed(order=order, error=error, attempts=attempts, actor=actor)
    except Exception as error:
        # An unexpected failure after the request may have left: the operator decides.
        logger.exception("order %s: unexpected error while placing", order.pk)
        reason = f"Unexpected error while placing: {error!r}"[:500]
        _move(order.pk, from_status=S.PLACING, status=S.NEEDS_REVIEW, actor=actor, reason=reason)
        return PlaceOutcome(order_id=order.pk, claimed=True, status=S.NEEDS_REVIEW)
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


def _placement_claim(*, order: Order, actor: str, max_inflight: int | None) -> bool | None:
    """Claim the order for placing: True, False when another worker has it, None when its provider is at its cap."""

    def claim() -> bool:
        return order_move_if(
            order_id=order.pk,
            from_status=S.AWAITING,
            to_status=S.PLACING,
            actor=actor,
            placing_started_at=timezone.now(),
            placement_attempts=F("placement_attempts") + 1,
        )

    if not max_inflight:
        return claim()
    with transaction.atomic():
        # The provider's row lock makes count-then-claim one step: two workers never both take the last slot.
        Provider.objects.select_for_update().filter(pk=order.provider_id).values_list("pk").first()
        if placements_in_flight(provider_id=order.provider_id) >= max_inflight:
            return None
        return claim()


def placements_in_flight(*, provider_id: int) -> int:
    return Order.objects.filter(status=S.PLACING, provider_id=provider_id).count()


def orders_next_to_place(*, provider_id: int, max_inflight: int, limit: int = 10) -> list[int]:
    """The oldest orders of a provider never tried yet, as many as it has free placement slots (at most `limit`)."""
    free = min(max_inflight - placements_in_flight(provider_id=provider_id), limit)
    if free <= 0:
        return []
    waiting = Order.objects.filter(status=S.AWAITING, provider_id=provider_id, placement_attempts=0)
    return list(waiting.order_by("pk").values_list("pk", flat=True)[:free])


def order_add_fields(*, order: Order) -> dict:
    """The `add` parameters for an order: exactly the fields its service's type declares at this provider."""
    kind = order_type_for(order.service.type)
    names = kind.names(order.provider.dialect)
    fields: dict = {"service": order.upstream_service.service_id}
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
    unreachable = isinstance(error, ProviderUnreachable) and not error.request_sent
    if error.permanent or (unreachable and attempts >= MAX_CONNECT_ATTEMPTS):
        # Refused, so nothing was placed there: the service's next alternative may take it (see failover.py).
        moved = order_failover(order=order, error=error, actor=actor)
        if moved is not None:
            return _placement_send(order=moved, attempts=1, actor=actor)
    if error.permanent:
        # The upstream refused (incorrect service or link, its own funds, quantity): refund in full.
        reason = f"Refused by the provider: {error.message}"
        _move(order.pk, from_status=S.PLACING, status=S.CANCELED, actor=actor, reason=reason, error=error.message[:500])
        return PlaceOutcome(order_id=order.pk, claimed=True, status=S.CANCELED, message=error.message)
    if unreachable:
        if attempts >= MAX_CONNECT_ATTEMPTS:
            message = "The provider could not be reached; the order was cancelled and refunded."
            _move(order.pk, from_status=S.PLACING, status=S.CANCELED, actor=actor, reason=str(error), error=message)
            return PlaceOutcome(order_id=order.pk, claimed=True, status=S.CANCELED, message=message)
        reason = f"not sent, will retry: {error}"[:500]
        _move(order.pk, from_status=S.PLACING, status=S.AWAITING, actor=actor, reason=reason)
        return PlaceOutcome(
            order_id=order.pk, claimed=True, status=S.AWAITING, retry=True, message=str(error), attempts=attempts
        )
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
    # False when the deadline ended the run before every active order was asked about.
    finished: bool = True


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


def orders_poll(*, provider_id: int, actor: str = "poller", deadline: Deadline | None = None) -> PollReport:
    """Ask the provider about its orders waiting upstream, 100 ids a call, least recently polled first.

    With a deadline the run stops between calls once it has passed: the orders it did not reach
    are then the least recently polled, first in the next run, so every active order is asked
    about within ceil(active / (100 × calls per run)) runs however many there are. A transport
    failure (timeout, refused connection) raises and ends the run: the next calls would wait as long.
    """
    provider = Provider.objects.get(pk=provider_id)
    client = provider_client(provider=provider)
    asks = {Service.Kind.SERVICE: client.statuses, Service.Kind.PRODUCT: client.product_order_statuses}
    report = PollReport()
    # Each chunk is stamped with the time of its call, never before the run's start: the run's later
    # queries take only orders polled before it began, so no order is asked about twice in one run.
    started = timezone.now()
    while True:
        batch = _poll_queue(provider_id=provider_id, polled_before=started, limit=POLL_FETCH)
        for kind, chunk in _oldest_first_chunks(batch):
            if _out_of_time(deadline, report.calls):
                report.finished = False
                return report
            _poll_chunk(ask=asks[kind], chunk=chunk, report=report, provider=provider, actor=actor, started=started)
        if len(batch) < POLL_FETCH:
            return report


# What the poll reads of each order with its queue: enough to tell an answer that changes nothing.
# Not a product's `result` (long text, rare): a product order's answer always goes to the transition.
POLL_SNAPSHOT = ("status", "upstream_status", "error", "start_count", "remains", "upstream_charge")


@dataclass(frozen=True)
class _Queued:
    pk: int
    upstream_id: str
    kind: str
    # The order's POLL_SNAPSHOT fields as the queue read them.
    snapshot: dict


def _poll_queue(*, provider_id: int, polled_before: datetime, limit: int) -> list[_Queued]:
    """Up to `limit` of the provider's orders waiting upstream: never polled first, then least recently polled.

    Two ordered range scans of the `order_poll_queue` index (one query would need NULLS FIRST
    in the index, which SQLite cannot declare).
    """
    queue = Order.objects.filter(provider_id=provider_id, status__in=UPSTREAM_ACTIVE, upstream_order_id__isnull=False)
    columns = ("pk", "upstream_order_id", "service__kind", *POLL_SNAPSHOT)
    rows = list(queue.filter(last_polled_at__isnull=True).order_by("pk").values_list(*columns)[:limit])
    if len(rows) < limit:
        older = queue.filter(last_polled_at__lt=polled_before).order_by("last_polled_at", "pk")
        rows += older.values_list(*columns)[: limit - len(rows)]
    return [
        _Queued(pk, upstream_id, kind, dict(zip(POLL_SNAPSHOT, rest, strict=True)))
        for pk, upstream_id, kind, *rest in rows
    ]


def _oldest_first_chunks(batch: list[_Queued]) -> list[tuple[str, list[_Queued]]]:
    """The batch in chunks of one kind (services and products are asked with different actions).

    Chunks go in the order of their oldest order, so a kind that is rare in the batch is not
    left to the end of it, where a deadline could keep it waiting run after run.
    """
    by_kind: dict[str, list[tuple[int, _Queued]]] = {}
    for position, queued in enumerate(batch):
        by_kind.setdefault(queued.kind, []).append((position, queued))
    chunks = [
        (chunk[0][0], kind, [queued for _, queued in chunk])
        for kind, items in by_kind.items()
        for chunk in _chunks(items)
    ]
    return [(kind, chunk) for _, kind, chunk in sorted(chunks, key=lambda item: item[0])]


def _changes_nothing(move: Move, snapshot: dict) -> bool:
    """Whether the move would leave the order as the queue read it: same status, every field equal."""
    if move.status is not None and move.status != snapshot["status"]:
        return False
    missing = object()
    return all(snapshot.get(name, missing) == value for name, value in move.fields.items())


def _poll_chunk(
    *, ask, chunk: list[_Queued], report: PollReport, provider: Provider, actor: str, started: datetime
) -> None:
    """Ask about one chunk and apply the answers.

    Most answers of a long-running order repeat the last one: those moves are dropped before
    `orders_transition`, judged on the row as the queue read it seconds ago, so a chunk where
    nothing changed takes no lock and writes nothing but its stamp. A row another writer changed
    meanwhile is at worst written on the next poll; every move that does change something still
    goes through the transition's locked compare-and-set.
    """
    report.calls += 1
    report.orders += len(chunk)
    # Stamped whatever the answer: ids the provider chokes on must not keep the other orders waiting.
    Order.objects.filter(pk__in=[queued.pk for queued in chunk]).update(last_polled_at=max(timezone.now(), started))
    try:
        answers = ask([queued.upstream_id for queued in chunk])
    except ProviderError as error:
        logger.warning("poll of %s failed: %s", provider.name, error)
        report.errors.append(str(error))
        if isinstance(error, ProviderUnreachable):
            raise
        return
    moves = []
    for queued in chunk:
        move = _status_move(queued.pk, answers.get(queued.upstream_id), provider=provider)
        if not _changes_nothing(move, queued.snapshot):
            moves.append(move)
    report.changed += len(orders_transition(moves=moves, actor=actor))


def _send_once(
    *,
    model: type[Model],
    claim_field: str,
    upstream_field: str,
    waiting: list[int],
    send: Callable[[list[str]], dict],
    failed_fields: Callable[[str], dict],
    answered: Callable[[dict[str, int], dict, datetime], None],
    deadline: Deadline | None,
) -> int:
    """Send requests that must never go twice (refills, cancels), 100 rows a call, each row claimed first.

    The claim sets `claim_field` with a conditional UPDATE, so of two workers only one sends a
    row. A request that surely never left (connection refused) is released for the next run;
    one that may have arrived stays claimed and its rows get `failed_fields`, for people to see.
    A transport failure raises after that, ending the provider's run.
    """
    sent = calls = 0
    for chunk in _chunks(waiting):
        if _out_of_time(deadline, calls):
            break
        now = timezone.now()
        model.objects.filter(pk__in=chunk, **{f"{claim_field}__isnull": True}).update(**{claim_field: now})
        claimed = dict(model.objects.filter(pk__in=chunk, **{claim_field: now}).values_list(upstream_field, "pk"))
        if not claimed:
            continue
        calls += 1
        try:
            answers = send(list(claimed))
        except ProviderError as error:
            rows = model.objects.filter(pk__in=claimed.values())
            if isinstance(error, ProviderUnreachable) and not error.request_sent:
                rows.update(**{claim_field: None})
            else:
                rows.update(**failed_fields(error.message[:500]))
            if isinstance(error, ProviderUnreachable):
                raise
            continue
        answered(claimed, answers, now)
        sent += len(claimed)
    return sent


def refills_send(*, provider_id: int, deadline: Deadline | None = None) -> int:
    """Send requested refills upstream, 100 a call. Each refill is claimed before it is sent."""
    provider = Provider.objects.get(pk=provider_id)
    waiting = list(
        Refill.objects.filter(order__provider_id=provider_id, status=Refill.Status.REQUESTED, sent_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return _send_once(
        model=Refill,
        claim_field="sent_at",
        upstream_field="order__upstream_order_id",
        waiting=waiting,
        send=provider_client(provider=provider).refills,
        failed_fields=lambda message: {"status": Refill.Status.FAILED, "error": message},
        answered=_refills_answered,
        deadline=deadline,
    )


def _refills_answered(claimed: dict[str, int], answers: dict, now: datetime) -> None:
    refills = []
    for upstream_id, pk in claimed.items():
        answer = answers.get(upstream_id)
        refill = Refill(pk=pk, updated_at=now)
        if answer is None or answer.error or not answer.refill_id:
            refill.status = Refill.Status.FAILED
            refill.error = (answer.error if answer and answer.error else "No refill id in the provider's answer")[:500]
        else:
            refill.status = Refill.Status.PENDING
            refill.upstream_refill_id = answer.refill_id
            refill.error = ""
        refills.append(refill)
    Refill.objects.bulk_update(refills, ["status", "error", "upstream_refill_id", "updated_at"])


def refills_poll(*, provider_id: int, deadline: Deadline | None = None) -> int:
    """Ask about open refills, 100 a call, least recently asked first (each answer bumps `updated_at`)."""
    provider = Provider.objects.get(pk=provider_id)
    client = provider_client(provider=provider)
    open_refills = list(
        Refill.objects.filter(
            order__provider_id=provider_id,
            status__in=[Refill.Status.PENDING, Refill.Status.IN_PROGRESS],
            upstream_refill_id__isnull=False,
        ).order_by("updated_at", "pk")
    )
    changed = calls = 0
    for chunk in _chunks(open_refills):
        if _out_of_time(deadline, calls):
            break
        calls += 1
        try:
            answers = client.refill_statuses([refill.upstream_refill_id for refill in chunk])
        except ProviderError as error:
            logger.warning("refill poll of %s failed: %s", provider.name, error)
            if isinstance(error, ProviderUnreachable):
                raise
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


def cancels_send(*, provider_id: int, deadline: Deadline | None = None) -> int:
    """Send the customers' cancel requests upstream, 100 a call; the refund follows the status poll."""
    provider = Provider.objects.get(pk=provider_id)
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
    return _send_once(
        model=Order,
        claim_field="cancel_sent_at",
        upstream_field="upstream_order_id",
        waiting=waiting,
        send=provider_client(provider=provider).cancel,
        failed_fields=lambda message: {"cancel_error": message},
        answered=_cancels_answered,
        deadline=deadline,
    )


def _cancels_answered(claimed: dict[str, int], answers: dict, now: datetime) -> None:
    for upstream_id, answer in answers.items():
        if answer.error and upstream_id in claimed:
            Order.objects.filter(pk=claimed[upstream_id]).update(cancel_error=answer.error[:500])


__all__ = [
    "Deadline",
    "InvalidTransition",
    "PlaceOutcome",
    "PollReport",
    "cancels_send",
    "order_place",
    "orders_awaiting_placement",
    "orders_next_to_place",
    "orders_poll",
    "orders_stuck_review",
    "placements_in_flight",
    "refills_poll",
    "refills_send",
]
