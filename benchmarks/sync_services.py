"""Service sync of a large provider: `services_sync` against a simulator listing 10,000 services.

    python benchmarks/sync_services.py [--services 10000]

Three syncs: the first creates everything, the second finds nothing changed, the third follows
a rate change of one service in ten. Targets: under 3 s and at most 10 SQL queries per 1,000
services for each sync.
"""

import argparse
import dataclasses
from decimal import Decimal

import _common

TARGET_SECONDS = 3.0
TARGET_QUERIES_PER_1000 = 10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--reprice-every", type=int, default=10, help="third sync: change the rate of 1 in N")
    args = parser.parse_args()
    _common.setup("sync")

    from orders.models import Service, ServiceChange
    from orders.services.catalog import services_sync
    from providers.services import provider_client, provider_create
    from providers.simulator import SimulatedProvider

    class RepricingProvider(SimulatedProvider):
        """The simulator has no public way to change a rate: this swaps its (immutable) catalog."""

        def reprice(self, *, every: int, factor: Decimal) -> int:
            with self._lock:
                services = tuple(
                    dataclasses.replace(service, rate=(service.rate * factor).quantize(Decimal("0.0001")))
                    if index % every == 0
                    else service
                    for index, service in enumerate(self._services)
                )
                changed = sum(a.rate != b.rate for a, b in zip(services, self._services, strict=True))
                self._services = services
                self._services_by_id = {service.id: service for service in services}
                self._services_body = None
            return changed

    counter = _common.QueryCounter().install()
    sim = RepricingProvider(services=args.services)
    server = _common.simulator_server(sim)
    rows = []
    results = []
    try:
        provider = provider_create(name="bench-sync", api_url=server.start(), api_key=sim.key)

        # How much of a sync is the HTTP fetch and the client's parsing alone (no database).
        with counter.measure() as fetch:
            fetched = provider_client(provider=provider).services()
        assert len(fetched) == args.services, len(fetched)
        rows.append(("fetch + parse only (client)", fetch.seconds, fetch.cpu_seconds, fetch.queries, "", "", ""))

        runs = [("1: first sync (all new)", None), ("2: nothing changed", None), ("3: rates changed", "reprice")]
        for label, action in runs:
            if action == "reprice":
                changed = sim.reprice(every=args.reprice_every, factor=Decimal("1.1"))
                label = f"3: {changed} rates changed"
            calls_before = len(sim.requests)
            with counter.measure(kinds=True) as measure:
                report = services_sync(provider_id=provider.pk)
            calls = len(sim.requests) - calls_before
            per_1000 = measure.queries * 1000 / args.services
            results.append((measure.seconds, per_1000))
            rows.append(
                (label, measure.seconds, measure.cpu_seconds, measure.queries, f"{per_1000:.2f}", calls, str(report))
            )
            kinds = ", ".join(f"{kind} {count}" for kind, count in measure.kinds.most_common())
            print(f"{label}: {kinds}")

        assert Service.objects.filter(provider=provider).count() == args.services
        rate_changes = ServiceChange.objects.filter(kind=ServiceChange.Kind.RATE).count()
    finally:
        server.stop()

    _common.table(
        ("sync", "wall s", "CPU s", "SQL", "SQL/1000 svc", "upstream calls", "report"),
        rows,
        title=f"services_sync of {args.services:,} services (PostgreSQL, in-process simulator)",
    )
    print(f"\nServiceChange rows of kind rate: {rate_changes}")
    worst_seconds = max(seconds for seconds, _ in results)
    worst_queries = max(per_1000 for _, per_1000 in results)
    print(f"target < {TARGET_SECONDS} s per sync: {_common.verdict(worst_seconds < TARGET_SECONDS)}")
    print(
        f"target <= {TARGET_QUERIES_PER_1000} queries per 1,000 services: "
        f"{_common.verdict(worst_queries <= TARGET_QUERIES_PER_1000)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
