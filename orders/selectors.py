import json
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from billing.models import FundsRequest
from core.admin import table_row_estimate
from core.money import money_round, money_sum_field
from orders.models import NET_CHARGE, Order, Refill, Service
from orders.services.transitions import ACTIVE, FINAL, UPSTREAM_ACTIVE
from providers.models import Provider


def services_for_sale(*, kind: str = Service.Kind.SERVICE) -> QuerySet[Service]:
    return (
        Service.objects.filter(kind=kind, is_enabled=True, provider__is_active=True, category__is_enabled=True)
        .select_related("category")
        .order_by("category__sort_order", "category__name", "pk")
    )


def orders_of_user(
    *, user, order_ids: Iterable[int], kind: str | None = None, fields: Iterable[str] = ()
) -> dict[int, Order]:
    """The user's orders among these ids, in one query; others' ids are simply absent.

    `fields`: read only these columns (an order has about forty; a status answer reads a few, and
    100 whole rows cost the API's status twice the CPU). Reading any other field later costs a query.
    """
    # A drip-feed's runs are the panel's own orders: the customer knows only the order they placed.
    orders = Order.objects.filter(user=user, pk__in=list(order_ids), parent__isnull=True)
    if kind:
        orders = orders.filter(service__kind=kind)
    if fields:
        orders = orders.only(*fields)
    return orders.in_bulk()


def refills_of_user(*, user, refill_ids: Iterable[int]) -> dict[int, Refill]:
    return Refill.objects.filter(user=user, pk__in=list(refill_ids)).in_bulk()


def customer_orders(*, user) -> QuerySet[Order]:
    """The orders a customer placed (a drip-feed's runs, placed by the panel, are not among them)."""
    return Order.objects.filter(user=user, parent__isnull=True)


def customer_order_totals(*, user) -> dict:
    """A customer's dashboard figures: net spending (charges minus refunds), orders, active orders."""
    money = money_sum_field()
    totals = customer_orders(user=user).aggregate(
        spent=Coalesce(Sum(NET_CHARGE, output_field=money), Value(Decimal("0"), output_field=money)),
        count=Count("id"),
        active=Count("id", filter=Q(status__in=ACTIVE)),
    )
    totals["spent"] = money_round(totals["spent"])
    return totals


def order_status_counts(*, orders: QuerySet[Order]) -> dict[str, int]:
    """How many of these orders are in each status, in one grouped query (statuses with none are absent)."""
    return dict(orders.order_by().values_list("status").annotate(n=Count("id")))


def orders_last_refill(*, orders: Iterable[Order]) -> dict[int, Refill]:
    """Each order's latest refill, for the refill rules (orders.rules.refill_wait); orders with none are absent.

    For a page of orders: their refills are few, and the last one of each counts.
    """
    return {r.order_id: r for r in Refill.objects.filter(order__in=list(orders)).order_by("created_at", "id")}


# The dashboard's 30 days of orders: one GROUP BY over (day, provider, status). At a million orders it reads every
# row of the month (about a second); past DASHBOARD_CACHE_FROM_ROWS orders it is kept this long in the cache.
DASHBOARD_DAYS = 30
DASHBOARD_CACHE_SECONDS = 300
DASHBOARD_CACHE_FROM_ROWS = 200_000


def _orders_rollup(*, since) -> list[dict]:
    money = money_sum_field()
    completed_placed = Q(status=Order.Status.COMPLETED, placed_at__isnull=False, finished_at__isnull=False)
    return list(
        Order.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        # A drip-feed's runs (placed by the panel) are providers' work, not customers' orders or money.
        .annotate(run=ExpressionWrapper(Q(parent__isnull=False), output_field=BooleanField()))
        .values("day", "provider_id", "status", "run")
        .annotate(
            orders=Count("pk"),
            revenue=Sum(NET_CHARGE, output_field=money),
            cost=Sum(Coalesce("upstream_charge", "cost"), output_field=money),
            placed=Count("placed_at"),
            done=Count("pk", filter=completed_placed),
            done_time=Sum(
                ExpressionWrapper(F("finished_at") - F("placed_at"), output_field=DurationField()),
                filter=completed_placed,
            ),
        )
    )


def orders_rollup(*, since) -> tuple[list[dict], object]:
    """The (day, provider, status) sums since `since`, and when they were computed (cached on big tables)."""
    if table_row_estimate(Order) < DASHBOARD_CACHE_FROM_ROWS:
        return _orders_rollup(since=since), timezone.now()
    key = f"staff-dashboard:rollup:{since.isoformat()}"
    cached = cache.get(key)
    if cached is None:
        cached = (_orders_rollup(since=since), timezone.now())
        cache.set(key, cached, DASHBOARD_CACHE_SECONDS)
    return cached


def funds_waiting_for_staff():
    """Deposits only a person can decide: manual payments (no gateway) and gateway payments held for a differing
    amount. Gateway deposits waiting for the customer to pay are not staff's business."""
    return FundsRequest.objects.filter(
        Q(status=FundsRequest.Status.HELD) | Q(status=FundsRequest.Status.PENDING, method__gateway="")
    )


def duration_text(value: timedelta | None) -> str:
    """A duration as operators read it: 3d 4h, 2h 05m, 7m."""
    if value is None:
        return "-"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def _money(value) -> Decimal:
    return money_round(value or Decimal("0"))


def staff_dashboard_figures(*, now=None) -> dict:
    """What an operator checks first: money per day for 30 days, orders per status and per provider, providers'
    balances and health, the review queue and the deposits waiting for a decision."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    month = today.replace(day=1)
    first_day = min(today - timedelta(days=DASHBOARD_DAYS - 1), month)
    since = timezone.make_aware(datetime.combine(first_day, time.min))
    rollup, as_of = orders_rollup(since=since)

    days = {
        first_day + timedelta(days=n): {"orders": 0, "revenue": Decimal("0"), "cost": Decimal("0")}
        for n in range((today - first_day).days + 1)
    }
    finished_30 = dict.fromkeys(FINAL, 0)
    per_provider: dict[int, dict] = {}
    for row in rollup:
        day = days.get(row["day"])
        # A drip-feed's cost sums its runs' into the customer order: the runs' own rows are not added again.
        if day is not None and not row["run"]:
            day["orders"] += row["orders"]
            day["revenue"] += row["revenue"] or 0
            day["cost"] += row["cost"] or 0
        if row["status"] in finished_30 and not row["run"]:
            finished_30[row["status"]] += row["orders"]
        figures = per_provider.setdefault(
            row["provider_id"], {"orders": 0, "placed": 0, "refused": 0, "done": 0, "done_time": timedelta()}
        )
        figures["orders"] += row["orders"]
        figures["placed"] += row["placed"]
        if row["status"] == Order.Status.CANCELED:
            figures["refused"] += row["orders"] - row["placed"]
        figures["done"] += row["done"]
        figures["done_time"] += row["done_time"] or timedelta()
    series = []
    for day, sums in days.items():
        revenue, cost = _money(sums["revenue"]), _money(sums["cost"])
        series.append(
            {"day": day, "orders": sums["orders"], "revenue": revenue, "cost": cost, "profit": revenue - cost}
        )

    def period(start) -> dict:
        picked = [row for row in series if row["day"] >= start]
        revenue = sum((row["revenue"] for row in picked), Decimal("0"))
        cost = sum((row["cost"] for row in picked), Decimal("0"))
        return {
            "orders": sum(row["orders"] for row in picked),
            "revenue": revenue,
            "cost": cost,
            "profit": revenue - cost,
        }

    # Orders still under way, counted exactly now (an index on status serves it), per status and provider.
    active = {status: 0 for status in ACTIVE}
    active_per_provider: dict[int, int] = {}
    for provider_id, status, count in (
        Order.objects.filter(status__in=ACTIVE).order_by().values_list("provider_id", "status").annotate(Count("pk"))
    ):
        active[status] += count
        active_per_provider[provider_id] = active_per_provider.get(provider_id, 0) + count

    providers = []
    for provider in Provider.objects.order_by("name"):
        figures = per_provider.get(provider.pk, {})
        done = figures.get("done", 0)
        providers.append(
            {
                "provider": provider,
                "low": provider.balance is not None and provider.balance < provider.low_balance_alert,
                "active": active_per_provider.get(provider.pk, 0),
                "placed": figures.get("placed", 0),
                "refused": figures.get("refused", 0),
                "average_time": duration_text(figures["done_time"] / done) if done else "-",
                # Failing: its last calls failed; left alone: its circuit is open, the workers skip it until then.
                "failing": provider.failing_since is not None,
                "left_alone": provider.next_probe_at is not None and provider.next_probe_at > now,
            }
        )
    status_rows = []
    for value, label in Order.Status.choices:
        final = value in FINAL
        status_rows.append((label, finished_30[value] if final else active[value], value, final))
    pending_funds = funds_waiting_for_staff()
    return {
        "by_status": status_rows,
        "days": series,
        "chart": json.dumps(
            {
                "labels": [row["day"].strftime("%d %b") for row in series[-DASHBOARD_DAYS:]],
                "datasets": [
                    {"label": label, "data": [str(row[key]) for row in series[-DASHBOARD_DAYS:]], **style}
                    for key, label, style in (
                        ("revenue", "Revenue", {"borderColor": "var(--color-primary-600)"}),
                        ("cost", "Cost", {"borderColor": "var(--color-base-400)"}),
                        ("profit", "Profit", {"borderColor": "#16a34a"}),
                    )
                ],
            }
        ),
        "as_of": as_of,
        "today": period(today),
        "month": period(month),
        "providers": providers,
        "review_count": active[Order.Status.NEEDS_REVIEW],
        "review_queue": list(
            Order.objects.filter(status=Order.Status.NEEDS_REVIEW).select_related("user", "service").order_by("pk")[:50]
        ),
        "pending_funds_count": pending_funds.count(),
        "pending_funds": list(pending_funds.select_related("user", "method").order_by("pk")[:20]),
        "failed_syncs": [row["provider"] for row in providers if row["provider"].last_sync_ok is False],
    }


def providers_with_work() -> list[int]:
    """Active providers that have orders, refills or cancels in flight, the longest unserved first.

    Two EXISTS probes per provider, each an index scan (orders by status and provider, refills
    by status), instead of a join over every order: the cost follows the providers, not the orders.
    The order is the dispatcher's queue: providers never polled first, then by the last time any
    of their orders was polled (one probe of the `order_poll_queue` index). When the workers cannot
    poll every provider each interval, this serves them in turn; ordering by their oldest order
    instead would put a provider whose poll is under way (its oldest orders not reached yet) at the
    head again, to run twice in a row while others wait a whole round more (BENCHMARKS.md).
    """
    orders = Order.objects.filter(provider=OuterRef("pk"), status__in=UPSTREAM_ACTIVE)
    refills = Refill.objects.filter(order__provider=OuterRef("pk"), status__in=Refill.OPEN)
    polled = orders.filter(upstream_order_id__isnull=False, last_polled_at__isnull=False)
    latest = polled.order_by("-last_polled_at").values("last_polled_at")[:1]
    return list(
        Provider.objects.filter(is_active=True)
        .filter(Exists(orders) | Exists(refills))
        .annotate(last_served=Subquery(latest))
        .order_by(F("last_served").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)
    )
