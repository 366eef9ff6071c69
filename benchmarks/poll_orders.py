"""Polling active orders: one `orders_poll(provider_id=...)` cycle over N active orders.

    python benchmarks/poll_orders.py [--sizes 1000 5000 10000] [--customers 50] [--simulator-nagle]

For each N: a fresh simulator and provider, N orders placed at the simulator in-process (its `add`
action through `sim.handle`) and stored as pending orders in bulk (each with its charge in the
ledger, spread over `--customers` customers). Then three polls with the simulator's clock in hand:
  A  every order moves (Pending → In progress; the ones fated to be cancelled end, with a refund),
  B  nothing moves (the same answers again),
  C  every order ends (Completed, Partial with a partial refund, Canceled with a full refund).
Targets: ceil(N/100) status calls (100 for 10,000), a constant number of SQL queries per chunk
whatever N, and under 10 s for N = 10,000.
"""

import argparse
import math
from decimal import Decimal

import _common

TARGET_SECONDS = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10_000])
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument(
        "--simulator-nagle", action="store_true", help="keep the simulator's ~40 ms keep-alive delay (see _common)"
    )
    args = parser.parse_args()
    _common.setup("poll")

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from billing.models import LedgerEntry
    from billing.selectors import ledger_mismatches
    from core.money import order_charge
    from orders.models import Order, OrderEvent, Service
    from orders.services.catalog import services_sync
    from orders.services.transitions import FINAL
    from orders.services.upstream import orders_poll
    from panel.services import customer_create
    from providers.services import provider_create
    from providers.simulator import ManualClock, SimulatedProvider

    User = get_user_model()
    counter = _common.QueryCounter().install()
    rows = []
    per_chunk: dict[str, set[float]] = {"A": set(), "B": set(), "C": set()}
    ok = True

    def create_orders(*, sim, provider, count: int) -> None:
        """Orders as `order_create` + `order_place` leave them, written in bulk: placed at the simulator,
        stored as pending with their upstream id, each charged through a ledger row."""
        upstream = min((s for s in sim.services if s.type == "Default" and s.min >= 10), key=lambda s: s.rate)
        service = Service.objects.get(provider=provider, provider_service__service_id=str(upstream.id))
        quantity = service.min * 10
        charge = order_charge(rate=service.price, quantity=quantity, runs=1)
        opening = (charge * count + 100).quantize(Decimal("0.01"))
        users = [
            customer_create(username=f"poll-{count}-{index}", balance=opening)[0] for index in range(args.customers)
        ]
        upstream_ids = []
        for index in range(count):
            reply = sim.handle(
                {
                    "key": sim.key,
                    "action": "add",
                    "service": str(upstream.id),
                    "link": f"https://example.com/p/{index}",
                    "quantity": str(quantity),
                }
            )
            upstream_ids.append(str(reply.json()["order"]))
        now = timezone.now()
        with transaction.atomic():
            orders = Order.objects.bulk_create(
                [
                    Order(
                        user=users[index % len(users)],
                        service=service,
                        provider=provider,
                        link=f"https://example.com/p/{index}",
                        quantity=quantity,
                        rate=service.price,
                        charge=charge,
                        status=Order.Status.PENDING,
                        upstream_order_id=upstream_id,
                        placement_attempts=1,
                        placed_at=now,
                    )
                    for index, upstream_id in enumerate(upstream_ids)
                ],
                batch_size=2000,
            )
            balances = {user.pk: opening for user in users}
            entries = []
            for order in orders:
                balances[order.user_id] -= charge
                entries.append(
                    LedgerEntry(
                        user_id=order.user_id,
                        kind=LedgerEntry.Kind.CHARGE,
                        amount=-charge,
                        balance_after=balances[order.user_id],
                        reference=f"order:{order.pk}",
                        memo=f"Order {order.pk}",
                    )
                )
            LedgerEntry.objects.bulk_create(entries, batch_size=2000)
            for user_id, balance in balances.items():
                User.objects.filter(pk=user_id).update(balance=balance)

    for size in args.sizes:
        clock = ManualClock()
        sim = SimulatedProvider(services=20, clock=clock, stage_seconds=10, balance=Decimal(10) ** 9, seed=size)
        server = _common.simulator_server(sim, nagle=args.simulator_nagle)
        try:
            provider = provider_create(name=f"bench-poll-{size}", api_url=server.start(), api_key=sim.key)
            services_sync(provider_id=provider.pk)
            with counter.measure() as empty:
                orders_poll(provider_id=provider.pk)  # no active order: the fixed part of a cycle
            fixed = empty.queries
            create_orders(sim=sim, provider=provider, count=size)
            for poll, advance in (("A", 15), ("B", 0), ("C", 100)):
                clock.advance(advance)
                calls_before = len(sim.requests)
                with counter.measure(kinds=True) as measure:
                    report = orders_poll(provider_id=provider.pk)
                status_calls = _common.upstream_calls(sim, calls_before)["status"]
                chunk_queries = (measure.queries - fixed) / max(report.calls, 1)
                # The queue is read 2,000 orders at a time: a fraction of a query per chunk, not a per-chunk cost.
                per_chunk[poll].add(round(chunk_queries))
                expected_calls = math.ceil(report.orders / 100)
                ok &= status_calls == report.calls == expected_calls and not report.errors
                if size == 10_000:
                    ok &= measure.seconds < TARGET_SECONDS
                kinds = " ".join(
                    f"{kind.split()[0][:3]}{'*' if 'FOR' in kind else ''}:{n}"
                    for kind, n in sorted(measure.kinds.items())
                )
                rows.append(
                    (
                        f"{size:,}",
                        poll,
                        report.orders,
                        report.changed,
                        status_calls,
                        measure.queries,
                        f"{chunk_queries:g}",
                        measure.seconds,
                        measure.cpu_seconds,
                        f"{measure.seconds * 1000 / max(report.calls, 1):.0f}",
                        kinds,
                    )
                )
            still_active = Order.objects.filter(provider=provider).exclude(status__in=FINAL).count()
            ok &= still_active == 0
        finally:
            server.stop()
    mismatches = ledger_mismatches()
    ok &= not mismatches
    constant = all(len(values) == 1 for values in per_chunk.values())
    ok &= constant

    _common.table(
        (
            "N",
            "poll",
            "orders",
            "changed",
            "status calls",
            "SQL",
            "SQL/chunk",
            "wall s",
            "CPU s",
            "ms/chunk",
            "statements",
        ),
        rows,
        title=f"orders_poll: one cycle (fixed part: {fixed} SQL per cycle; SQL/chunk = (SQL - fixed) / calls)",
    )
    print(
        "\nA: all move (Pending → In progress, cancelled ones end); B: nothing moves; C: all end with refunds."
        "\nstatements: INS/UPD/SEL counts, SEL* = SELECT ... FOR UPDATE"
        "\nCPU s: this process's CPU time (the panel's Python and the in-process simulator; not PostgreSQL's)"
    )
    print(f"order events: {OrderEvent.objects.count()}; refunds: {LedgerEntry.objects.filter(kind='refund').count()}")
    print(f"ledger_mismatches(): {mismatches}")
    print(f"SQL per chunk by poll across N: { {poll: sorted(values) for poll, values in per_chunk.items()} }")
    print(
        f"targets (ceil(N/100) calls, constant SQL per chunk, < {TARGET_SECONDS:g} s at 10,000, ledger conserved): "
        f"{_common.verdict(ok)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
