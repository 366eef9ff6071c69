"""A panel at scale, generated in bulk: 100,000 customers, 1,000,000 orders, 3,000,000 ledger rows.

    python benchmarks/scale_data.py [--customers 100000] [--orders 1000000] [--ledger 3000000]

Fills the `scale` benchmark database (see `_common.setup`) with `INSERT ... SELECT` over
`generate_series` on PostgreSQL, which writes a million rows in seconds where the ORM would take
minutes. The data obeys the panel's rules, so the pages and the ledger check see a real panel:

- 10 providers with 100 services each (through the ORM: few rows);
- customers with usable logins (`customer1` ... with password `scale-password`); `customer1` is
  the heavy one, with `--heavy-orders` (50,000) orders;
- orders spread over the other customers, 10% of them still active upstream (so the poll has
  work), the rest completed, partial (a refund of the remains) or canceled (a full refund);
- ledger rows: one charge per order, one refund per partial or canceled order, and deposits
  before them all, with `balance_after` the running sum and every balance equal to its rows.

Every column the INSERTs do not set takes the model field's own default, read from the models,
so a new field with a default never breaks the generator. `scale_pages.py` times the pages on it.
"""

import argparse
import sys
import time

import _common

PASSWORD = "scale-password"
PROVIDERS = 10
SERVICES_PER_PROVIDER = 100
ORDER_CHARGE = "0.50000"
ACTIVE_SHARE = 0.10


def _insert_select(model, values: dict[str, str | tuple[str, list]], source: str, params: list) -> None:
    """INSERT INTO model's table every concrete column: `values` are SQL expressions (with their
    parameters, as a tuple), every other column takes its field's default."""
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    columns, expressions, select_params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.name not in values:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in values:
            expression = values[field.name]
            if isinstance(expression, tuple):
                expression, expression_params = expression
                select_params.extend(expression_params)
            expressions.append(expression)
        elif field.has_default() or field.null:
            expressions.append("%s")
            default = field.get_default() if field.has_default() else None
            select_params.append(field.get_db_prep_save(default, connection))
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            expressions.append("now()")
        elif field.db_default is not NOT_PROVIDED:
            columns.pop()
        else:
            expressions.append("%s")
            select_params.append(field.get_db_prep_save(field.get_default(), connection))
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} {source}"
    )
    with connection.cursor() as cursor:
        # The SELECT list's parameters come first, in column order, then the source's.
        cursor.execute(sql, select_params + params)


def generate(*, customers: int, orders: int, ledger: int, heavy_orders: int) -> dict[str, float]:
    """Fill the database; returns seconds per step."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from billing.models import LedgerEntry
    from orders.models import Category, Order, Service
    from panel.models import User
    from providers.models import Provider, ProviderService

    timings: dict[str, float] = {}
    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        category = Category.objects.create(name="Scale")
        services = []
        for p in range(PROVIDERS):
            provider = Provider(name=f"scale-{p}", api_url=f"https://provider{p}.example/api/v2")
            provider.api_key = f"key-{p}"
            provider.save()
            for s in range(SERVICES_PER_PROVIDER):
                upstream = ProviderService.objects.create(
                    provider=provider,
                    service_id=str(s + 1),
                    name=f"Service {s}",
                    rate="0.5",
                    min=10,
                    max=100000,
                    last_seen_at=now,
                )
                services.append(
                    Service(
                        provider=provider,
                        provider_service=upstream,
                        name=f"Followers {p}-{s}",
                        category=category,
                        min=10,
                        max=100000,
                        cost="0.4",
                        rate="0.5",
                    )
                )
        Service.objects.bulk_create(services)
    service_ids = list(Service.objects.order_by("pk").values_list("pk", "provider_id"))
    timings["catalog"] = time.perf_counter() - started

    started = time.perf_counter()
    password = make_password(PASSWORD)
    _insert_select(
        User,
        {
            "username": "'customer' || g",
            "email": "'customer' || g || '@scale.example'",
            "password": ("%s", [password]),
            "is_active": "true",
            "date_joined": "now() - interval '400 days'",
            "balance": "0",
        },
        "FROM generate_series(1, %s) AS g",
        [customers],
    )
    first_user = User.objects.order_by("pk").values_list("pk", flat=True).first()
    timings["customers"] = time.perf_counter() - started

    started = time.perf_counter()
    # Order n belongs to customer1 for the first `heavy_orders`, then round-robin over the others.
    # Statuses: 10% active (pending / in progress), then completed, partial, canceled.
    status = (
        "CASE WHEN g %% 10 = 0 THEN (CASE WHEN g %% 20 = 0 THEN 'pending' ELSE 'in_progress' END) "
        "WHEN g %% 10 = 1 THEN 'partial' WHEN g %% 10 = 2 THEN 'canceled' ELSE 'completed' END"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE scale_services AS "
            "SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, provider_id FROM orders_service"
        )
    service_count = len(service_ids)
    _insert_select(
        Order,
        {
            "user": f"CASE WHEN g <= {heavy_orders:d} THEN {first_user:d} "
            f"ELSE {first_user:d} + 1 + (g %% {customers - 1:d}) END",
            "service": "s.id",
            "provider": "s.provider_id",
            "link": "'https://instagram.com/p/' || md5(g::text)",
            "quantity": "1000",
            "rate": ORDER_CHARGE,
            "charge": ORDER_CHARGE,
            "cost": "0.40000",
            "refunded": f"CASE WHEN g %% 10 = 1 THEN 0.25000 WHEN g %% 10 = 2 THEN {ORDER_CHARGE} ELSE 0 END",
            "status": status,
            "upstream_order_id": "g::text",
            "remains": "CASE WHEN g %% 10 = 1 THEN 500 WHEN g %% 10 = 2 THEN 1000 ELSE 0 END",
            "start_count": "100",
            "placement_attempts": "1",
            "placed_at": "now() - (g || ' seconds')::interval",
            "finished_at": "CASE WHEN g %% 10 = 0 THEN NULL ELSE now() - (g || ' seconds')::interval END",
            "created_at": "now() - (g || ' seconds')::interval",
            "updated_at": "now() - (g || ' seconds')::interval",
        },
        f"FROM generate_series(1, %s) AS g JOIN scale_services s ON s.n = (g %% {service_count:d})",
        [orders],
    )
    timings["orders"] = time.perf_counter() - started

    started = time.perf_counter()
    refunds = orders // 5
    deposits_total = max(ledger - orders - refunds, customers)
    per_customer = max(deposits_total // customers, 1)
    heavy_deposit = f"{(heavy_orders * 0.5 / per_customer) + 10:.5f}"
    normal_orders = (orders - heavy_orders) / max(customers - 1, 1)
    normal_deposit = f"{(normal_orders * 0.5 / per_customer) + 10:.5f}"
    with connection.cursor() as cursor:
        # Every money event in time order, then the running balance per customer.
        cursor.execute(
            f"""
            CREATE TEMP TABLE scale_money AS
            SELECT u.id AS user_id, 'deposit' AS kind,
                   CASE WHEN u.id = {first_user} THEN {heavy_deposit} ELSE {normal_deposit} END::numeric AS amount,
                   'scale-deposit:' || u.id || ':' || d AS reference,
                   u.date_joined + (d || ' minutes')::interval AS created_at, d AS seq
            FROM panel_user u CROSS JOIN generate_series(1, {per_customer}) AS d
            UNION ALL
            SELECT user_id, 'charge', -charge, 'order:' || id, created_at, 0 FROM orders_order
            UNION ALL
            SELECT user_id, 'refund', refunded, 'order:' || id, created_at + interval '1 second', 0
            FROM orders_order WHERE refunded > 0
            """
        )
    _insert_select(
        LedgerEntry,
        {
            "user": "m.user_id",
            "kind": "m.kind",
            "amount": "m.amount",
            "balance_after": "SUM(m.amount) OVER (PARTITION BY m.user_id ORDER BY m.created_at, m.kind, m.seq)",
            "reference": "m.reference",
            "memo": "'scale data'",
            "created_at": "m.created_at",
        },
        "FROM scale_money m ORDER BY m.created_at",
        [],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE panel_user u SET balance = t.total FROM (SELECT user_id, SUM(amount) AS total "
            "FROM billing_ledgerentry GROUP BY user_id) t WHERE t.user_id = u.id"
        )
        cursor.execute("DROP TABLE scale_money; DROP TABLE scale_services")
        cursor.execute("ANALYZE")
    timings["ledger"] = time.perf_counter() - started
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--ledger", type=int, default=3_000_000, help="ledger rows, about")
    parser.add_argument("--heavy-orders", type=int, default=50_000, help="orders of customer1")
    args = parser.parse_args()
    _common.setup("scale")
    timings = generate(customers=args.customers, orders=args.orders, ledger=args.ledger, heavy_orders=args.heavy_orders)

    from billing.models import LedgerEntry
    from billing.selectors import ledger_mismatches
    from orders.models import Order
    from panel.models import User

    counts = [User.objects.count(), Order.objects.count(), LedgerEntry.objects.count()]
    mismatches = ledger_mismatches()
    _common.table(
        ["customers", "orders", "ledger rows", "seconds", "ledger check"],
        [[*counts, f"{sum(timings.values()):.1f}", "ok" if not mismatches else f"{len(mismatches)} mismatches"]],
        title="Scale data",
    )
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
