"""One whole worker cycle in the foreground: what `process_orders` and the tests run."""

import queue
import threading
from dataclasses import dataclass, field

from django.db import connection

from orders.services.dripfeed import dripfeed_orders_update, dripfeed_runs_place
from orders.services.subscriptions import subscriptions_hold_check
from orders.services.upstream import (
    cancels_send,
    order_place,
    orders_awaiting_placement,
    orders_poll,
    orders_stuck_review,
    providers_with_work,
    refills_poll,
    refills_send,
)


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

    def lines(self) -> list[str]:
        placed = ", ".join(f"{count} {status}" for status, count in sorted(self.placed.items())) or "none"
        lines = [
            f"placement: {placed}",
            f"stuck in placing → review: {self.stuck_to_review}",
            f"polled {self.polled} orders in {self.status_calls} calls, {self.changed} changed status",
            f"cancels sent: {self.cancels_sent}; refills sent: {self.refills_sent}, {self.refills_changed} changed",
        ]
        return lines + [f"error: {error}" for error in self.errors]


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


def orders_cycle(*, concurrency: int = 8) -> CycleReport:
    report = CycleReport()
    report.stuck_to_review = orders_stuck_review()
    dripfeed_runs_place()
    report.placed = orders_place_waiting(concurrency=concurrency)
    for provider_id in providers_with_work():
        report.cancels_sent += cancels_send(provider_id=provider_id)
        poll = orders_poll(provider_id=provider_id)
        subscriptions_hold_check(provider_id=provider_id)
        report.polled += poll.orders
        report.status_calls += poll.calls
        report.changed += poll.changed
        report.errors.extend(poll.errors)
        report.refills_sent += refills_send(provider_id=provider_id)
        report.refills_changed += refills_poll(provider_id=provider_id)
    dripfeed_orders_update()
    return report
