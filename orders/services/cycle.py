"""The workers' cycle: one provider's sequence (`provider_cycle`), and the whole cycle in the foreground.

Celery runs `provider_cycle` in one task per provider (fanned out by a dispatcher, see
`orders.tasks`); `process_orders` and the tests run `orders_cycle`, which places what waits
and then runs the same `provider_cycle` for every provider with work.
"""

import logging
import queue
import threading
from dataclasses import dataclass, field
from time import monotonic

from django.db import connection

from orders.selectors import providers_with_work
from orders.services.dripfeed import dripfeed_orders_update, dripfeed_runs_place
from orders.services.subscriptions import subscriptions_hold_check
from orders.services.upstream import (
    Deadline,
    cancels_send,
    order_place,
    orders_awaiting_placement,
    orders_poll,
    orders_stuck_review,
    refills_poll,
    refills_send,
)
from providers.errors import ProviderError
from providers.models import Provider
from providers.services import provider_circuit_open, provider_record_failure, provider_record_result

logger = logging.getLogger(__name__)


@dataclass
class ProviderCycleReport:
    provider_id: int
    provider: str = ""
    cancels_sent: int = 0
    polled: int = 0
    status_calls: int = 0
    changed: int = 0
    refills_sent: int = 0
    refills_changed: int = 0
    # False when the time budget ended the status poll before every active order was asked about.
    finished: bool = True
    # True when the provider's circuit was open: it failed too often in a row and waits for its next probe.
    skipped: bool = False
    # Per-call problems (an unreadable answer for one chunk); the cycle went on.
    errors: list[str] = field(default_factory=list)
    # What stopped this provider's cycle, if anything did; the other providers' cycles went on.
    failure: str = ""


def provider_cycle(*, provider_id: int, budget_seconds: float | None = None) -> ProviderCycleReport:
    """One provider's sequence: send cancels and refills, then poll order and refill statuses.

    The customers' requests go first: they are few and waiting on us. The status poll then
    spends the budget (least recently polled first, so a budget that ends mid-way starves no
    order); refill statuses follow, each step making at least one call. Any exception ends
    this provider's cycle and is reported, never raised: one provider's fault (a timeout, an
    answer the client could not even parse, a bug) must not stop another provider's work.
    The outcome is recorded on the provider, whose circuit, once open, skips the cycle until
    its next probe (see `providers.services.provider_circuit_open`).
    """
    provider = Provider.objects.filter(pk=provider_id).first()
    report = ProviderCycleReport(provider_id=provider_id, provider=provider.name if provider else "")
    if provider is None:
        report.failure = "no such provider"
        return report
    if provider_circuit_open(provider):
        report.skipped = True
        report.failure = (
            f"left alone until {provider.next_probe_at:%Y-%m-%d %H:%M:%S} after {provider.consecutive_failures} "
            f"failures in a row; last: {provider.last_error}"
        )
        return report
    deadline = Deadline.after(budget_seconds, clock=monotonic) if budget_seconds is not None else None
    try:
        report.cancels_sent = cancels_send(provider_id=provider_id, deadline=deadline)
        report.refills_sent = refills_send(provider_id=provider_id, deadline=deadline)
        poll = orders_poll(provider_id=provider_id, deadline=deadline)
        subscriptions_hold_check(provider_id=provider_id)
        report.polled, report.status_calls, report.changed = poll.orders, poll.calls, poll.changed
        report.finished = poll.finished
        report.errors.extend(poll.errors)
        if poll.errors and len(poll.errors) == poll.calls:
            # Not one usable answer: the provider is failing, even if nothing was raised.
            report.failure = poll.errors[-1]
        report.refills_changed = refills_poll(provider_id=provider_id, deadline=deadline)
    except ProviderError as error:
        logger.warning("provider %s (%s): cycle stopped: %s", provider_id, report.provider, error)
        report.failure = str(error)
        provider_record_result(provider=provider, error=error)
        return report
    except Exception as error:
        logger.exception("provider %s (%s): cycle stopped", provider_id, report.provider)
        report.failure = str(error) or repr(error)
        provider_record_failure(provider=provider, error=f"{type(error).__name__}: {report.failure}")
        return report
    if report.failure:
        provider_record_failure(provider=provider, error=report.failure)
    elif report.status_calls or report.cancels_sent or report.refills_sent:
        provider_record_result(provider=provider, error=None)
    return report


@dataclass
class CycleReport:
    placed: dict[str, int] = field(default_factory=dict)
    stuck_to_review: int = 0
    polled: int = 0
    status_calls: int = 0
    changed: int = 0
    cancels_sent: int = 0
    refills_sent: int = 0
    refills_changed: int = 0
    errors: list[str] = field(default_factory=list)
    providers: list[ProviderCycleReport] = field(default_factory=list)

    def add(self, part: ProviderCycleReport) -> None:
        self.providers.append(part)
        self.polled += part.polled
        self.status_calls += part.status_calls
        self.changed += part.changed
        self.cancels_sent += part.cancels_sent
        self.refills_sent += part.refills_sent
        self.refills_changed += part.refills_changed
        self.errors.extend(part.errors)

    @property
    def failing(self) -> list[ProviderCycleReport]:
        return [part for part in self.providers if part.failure]

    def lines(self) -> list[str]:
        placed = ", ".join(f"{count} {status}" for status, count in sorted(self.placed.items())) or "none"
        lines = [
            f"placement: {placed}",
            f"stuck in placing → review: {self.stuck_to_review}",
            f"polled {self.polled} orders in {self.status_calls} calls, {self.changed} changed status",
            f"cancels sent: {self.cancels_sent}; refills sent: {self.refills_sent}, {self.refills_changed} changed",
        ]
        lines += [f"error: {error}" for error in self.errors]
        lines += [f"provider {part.provider or part.provider_id} failing: {part.failure}" for part in self.failing]
        return lines


def _placement_worker(waiting: "queue.SimpleQueue[int | None]", outcomes: list) -> None:
    """One long-lived thread: place orders from the queue on one database connection, closed at the end."""
    try:
        while (order_id := waiting.get()) is not None:
            outcomes.append(order_place(order_id=order_id))
    finally:
        connection.close()


def orders_place_waiting(*, concurrency: int = 8) -> dict[str, int]:
    """Place every awaiting order, `concurrency` at a time (each `add` waits on the network)."""
    waiting = orders_awaiting_placement(limit=100_000)
    counts: dict[str, int] = {}
    if not waiting:
        return counts
    outcomes: list = []
    if concurrency <= 1 or connection.in_atomic_block:
        outcomes = [order_place(order_id=pk) for pk in waiting]
    else:
        work: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        for pk in waiting:
            work.put(pk)
        threads = [
            threading.Thread(target=_placement_worker, args=(work, outcomes), name=f"placement-{n}")
            for n in range(min(concurrency, len(waiting)))
        ]
        for thread in threads:
            work.put(None)
            thread.start()
        for thread in threads:
            thread.join()
    for outcome in outcomes:
        if outcome.claimed:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts


def orders_cycle(*, concurrency: int = 8, budget_seconds: float | None = None) -> CycleReport:
    """Place what waits, then run every provider's cycle in turn; a failing provider is reported, never raised."""
    report = CycleReport()
    report.stuck_to_review = orders_stuck_review()
    dripfeed_runs_place()
    report.placed = orders_place_waiting(concurrency=concurrency)
    for provider_id in providers_with_work():
        report.add(provider_cycle(provider_id=provider_id, budget_seconds=budget_seconds))
    dripfeed_orders_update()
    return report
