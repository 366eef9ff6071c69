"""Pages at scale: every customer page, the staff dashboard and the admin's big lists, p95 of 20 requests.

    python benchmarks/scale_data.py          # once: 1,000,000 orders, 100,000 customers, 3,000,000 ledger rows
    python benchmarks/scale_pages.py [--requests 20] [--no-reuse]

Runs on the `scale` benchmark database that `scale_data.py` filled (it is reused, not
re-created, unless it is empty). Each page is requested `--requests` times in-process with
Django's test Client (logged in; the first request warms the caches and is not counted) and the
95th percentile is compared with the target: 300 ms for every page and every search, for a
normal customer and for `customer1`, who has 50,000 orders.
"""

import argparse
import statistics
import sys
import tempfile
import time

import _common

TARGET_MS = 300.0


def _p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    # Production settings serve hashed static names from a manifest: collect them once.
    _common.setup("scale", keep=True, ALLOWED_HOSTS="testserver,localhost", STATIC_ROOT=tempfile.mkdtemp())
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)

    from django.test import Client
    from django.urls import reverse

    from orders.models import Order
    from panel.models import User

    if not Order.objects.exists():
        print("The scale database is empty: run benchmarks/scale_data.py first.")
        return 2
    heavy = User.objects.get(username="customer1")
    normal = User.objects.get(username="customer500")
    staff, _ = User.objects.get_or_create(username="scale-admin", defaults={"is_staff": True, "is_superuser": True})
    some_order = Order.objects.filter(user=heavy).order_by("pk")[25_000]
    other_order = Order.objects.filter(user=normal).first()
    link_fragment = some_order.link.rsplit("/", 1)[1][:10]

    customer_pages = [
        ("dashboard", reverse("dashboard")),
        ("new order", reverse("new_order")),
        ("mass order", reverse("mass_order")),
        ("orders", reverse("orders")),
        ("orders: status filter", reverse("orders") + "?status=completed"),
        ("orders: search by id", reverse("orders") + "?q={order}"),
        ("orders: search by link", reverse("orders") + "?q=" + link_fragment),
        ("orders: page 100", reverse("orders") + "?page=100"),
        ("refills", reverse("refills")),
        ("services", reverse("services")),
        ("add funds", reverse("add_funds")),
        ("account", reverse("account")),
        ("api", reverse("api_docs")),
    ]
    staff_pages = [
        ("staff dashboard", reverse("staff_dashboard")),
        ("admin orders", reverse("admin:orders_order_changelist")),
        ("admin orders: search by id", reverse("admin:orders_order_changelist") + f"?q={some_order.pk}"),
        ("admin orders: search by link", reverse("admin:orders_order_changelist") + "?q=" + link_fragment),
        ("admin orders: status filter", reverse("admin:orders_order_changelist") + "?status__exact=pending"),
        ("admin order page", reverse("admin:orders_order_change", args=[some_order.pk])),
        ("admin ledger", reverse("admin:billing_ledgerentry_changelist")),
        ("admin ledger: search", reverse("admin:billing_ledgerentry_changelist") + "?q=customer1"),
        ("admin customers", reverse("admin:panel_user_changelist")),
        ("admin customers: search", reverse("admin:panel_user_changelist") + "?q=customer4242"),
        ("admin home (dashboard)", reverse("admin:index")),
        ("admin orders: search by customer", reverse("admin:orders_order_changelist") + "?q=customer4242"),
        ("admin orders: provider filter", reverse("admin:orders_order_changelist") + "?provider__id__exact=1"),
        ("admin customer page (50,000 orders)", reverse("admin:panel_user_change", args=[heavy.pk])),
        ("admin services", reverse("admin:orders_service_changelist")),
    ]

    rows, failures = [], 0

    def measure(who: str, user, pages, order) -> None:
        nonlocal failures
        client = Client()
        client.force_login(user)
        for name, url in pages:
            url = url.replace("{order}", str(order.pk))
            response = client.get(url)
            if response.status_code != 200:
                rows.append([who, name, f"HTTP {response.status_code}", "", ""])
                failures += 1
                continue
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                client.get(url)
                samples.append((time.perf_counter() - started) * 1000)
            p95 = _p95(samples)
            ok = p95 <= TARGET_MS
            failures += not ok
            rows.append([who, name, f"{statistics.median(samples):.0f}", f"{p95:.0f}", _common.verdict(ok)])

    measure("customer1 (50,000 orders)", heavy, customer_pages, some_order)
    measure("customer500", normal, customer_pages, other_order)
    measure("staff", staff, staff_pages, some_order)
    _common.table(
        ["who", "page", "median ms", "p95 ms", f"p95 <= {TARGET_MS:.0f} ms"],
        rows,
        title=f"Pages at scale ({Order.objects.count():,} orders), {args.requests} requests each",
    )
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
