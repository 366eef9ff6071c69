"""Placing orders upstream: `orders_place_waiting(concurrency=C)` against a slow provider.

    python benchmarks/place_orders.py [--orders 1000] [--latency-ms 200] [--concurrency 20 50]
                                      [--simulator-process] [--no-floor]

For each C, creates `--orders` orders with `order_create` (a customer with enough balance), then
places them all. Each `add` waits `--latency-ms` at the simulator, so the ideal wall time is
orders × latency / C. Target: at most 1.2 × ideal. Checks that the simulator received exactly one
order per order and that every balance still equals its ledger. A last run at latency 0 (skipped
with --no-floor) shows the panel's own cost per order; --simulator-process moves the simulator
out of this process, where it competes with the placing threads for the GIL.
"""

import argparse
from decimal import Decimal

import _common

TARGET_RATIO = 1.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[20, 50])
    parser.add_argument(
        "--simulator-process",
        action="store_true",
        help="run the simulator in a child process (diagnostic: in-process it competes for the GIL)",
    )
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the diagnostic run at latency 0 (the panel's own cost per order)"
    )
    args = parser.parse_args()
    _common.setup("place")

    from billing.selectors import ledger_mismatches
    from orders.models import Order, Service
    from orders.services.catalog import services_sync
    from orders.services.cycle import orders_place_waiting
    from orders.services.ordering import order_create
    from panel.services import customer_create
    from providers.services import provider_create
    from providers.simulator import SimulatedProvider

    counter = _common.QueryCounter().install()
    options = {"services": 50, "balance": Decimal(10) ** 9}
    if args.simulator_process:
        sim = server = _common.SimulatorProcess(**options)
    else:
        sim = SimulatedProvider(**options)
        server = _common.simulator_server(sim)
    rows = []
    create_rows = []
    ok = True
    try:
        provider = provider_create(name="bench-place", api_url=server.start(), api_key=sim.key)
        services_sync(provider_id=provider.pk)
        # The cheapest Default service that still costs something at its minimum quantity.
        upstream = min(
            (s for s in sim.services if s.type == "Default" and s.rate * s.min >= 10),
            key=lambda s: s.rate * s.min,
        )
        service = Service.objects.get(provider=provider, provider_service__service_id=str(upstream.id))
        runs = [(concurrency, args.latency_ms) for concurrency in args.concurrency]
        if not args.no_floor:
            # Diagnostic, not a target: with no upstream latency the wall time is the panel's own cost.
            runs.append((args.concurrency[0], 0))
        budget = service.price * service.min / 1000 * args.orders * len(runs) * 2 + 100
        user, _ = customer_create(username="bench-buyer", balance=budget.quantize(Decimal("0.01")))

        for concurrency, latency_ms in runs:
            sim.latency_ms = 0
            with counter.measure() as created:
                for index in range(args.orders):
                    order_create(
                        user=user,
                        service_id=service.pk,
                        data={
                            "link": f"https://example.com/post/{latency_ms}/{concurrency}/{index}",
                            "quantity": service.min,
                        },
                    )
            create_rows.append(
                (f"C={concurrency}, {latency_ms:g} ms", created.seconds, created.queries, created.queries / args.orders)
            )
            # The simulator sleeps on every request; only `add` is sent from here on.
            sim.latency_ms = latency_ms

            sim_orders, calls_before = sim.order_count, len(sim.requests)
            with counter.measure() as placed:
                counts = orders_place_waiting(concurrency=concurrency)
            adds = _common.upstream_calls(sim, calls_before)["add"]
            received = sim.order_count - sim_orders
            ideal = args.orders * latency_ms / 1000 / concurrency
            ratio = f"{placed.seconds / ideal:.2f}" if ideal else "-"
            if latency_ms:
                ok &= placed.seconds / ideal <= TARGET_RATIO
            correct = counts == {Order.Status.PENDING: args.orders} and received == args.orders == adds
            ok &= correct
            rows.append(
                (
                    concurrency,
                    f"{latency_ms:g}",
                    placed.seconds,
                    placed.cpu_seconds,
                    f"{placed.seconds * 1000 / args.orders:.1f}",
                    ideal,
                    ratio,
                    placed.queries,
                    f"{placed.queries / args.orders:.1f}",
                    placed.connections,
                    adds,
                    received,
                    "yes" if correct else f"NO {counts}",
                )
            )
        mismatches = ledger_mismatches()
        pending = Order.objects.filter(status=Order.Status.PENDING).count()
    finally:
        server.stop()

    _common.table(
        ("before the run", "wall s", "SQL", "SQL/order"),
        create_rows,
        title=f"order_create × {args.orders} (sequential, one customer)",
    )
    _common.table(
        (
            "C",
            "latency ms",
            "wall s",
            "CPU s",
            "ms/order",
            "ideal s",
            "ratio",
            "SQL",
            "SQL/order",
            "DB connections opened",
            "add calls",
            "sim orders",
            "all pending",
        ),
        rows,
        title=(
            f"orders_place_waiting: {args.orders} orders (latency 0: diagnostic, the panel's own cost); simulator "
            + ("in a child process" if args.simulator_process else "in this process")
        ),
    )
    print(f"\norders pending in the panel: {pending}; ledger_mismatches(): {mismatches}")
    ok &= not mismatches
    print(f"target wall <= {TARGET_RATIO} × ideal, one upstream order each, ledger conserved: {_common.verdict(ok)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
