from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.money import money_round, money_sum_field
from orders.models import NET_CHARGE, Order, Refill, Service
from orders.services.transitions import ACTIVE, UPSTREAM_ACTIVE
from providers.models import Provider


def services_for_sale(*, kind: str = Service.Kind.SERVICE) -> QuerySet[Service]:
    return (
        Service.objects.filter(kind=kind, is_enabled=True, provider__is_active=True, category__is_enabled=True)
        .select_related("category")
        .order_by("category__sort_order", "category__name", "pk")
    )


def orders_of_user(*, user, order_ids: Iterable[int], kind: str | None = None) -> dict[int, Order]:
    """The user's orders among these ids, in one query; others' ids are simply absent."""
    # A drip-feed's runs are the panel's own orders: the customer knows only the order they placed.
    orders = Order.objects.filter(user=user, pk__in=list(order_ids), parent__isnull=True)
    if kind:
        orders = orders.filter(service__kind=kind)
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


def staff_dashboard_figures(*, now=None) -> dict:
    """What an operator checks first: orders per status, money today and this month, providers, queues."""
    now = now or timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    month = today.replace(day=1)
    money = money_sum_field()
    zero = Value(Decimal("0"), output_field=money)

    def period(start) -> dict:
        # A drip-feed's runs are counted in their customer order (its cost sums theirs).
        sums = Order.objects.filter(created_at__gte=start, parent__isnull=True).aggregate(
            orders=Count("pk"),
            revenue=Coalesce(Sum(NET_CHARGE, output_field=money), zero),
            cost=Coalesce(Sum(Coalesce("upstream_charge", "cost"), output_field=money), zero),
        )
        sums["revenue"], sums["cost"] = money_round(sums["revenue"]), money_round(sums["cost"])
        sums["profit"] = sums["revenue"] - sums["cost"]
        return sums

    by_status = dict(Order.objects.order_by().values_list("status").annotate(count=Count("pk")))
    providers = list(Provider.objects.order_by("name"))
    return {
        "by_status": [(label, by_status.get(value, 0), value) for value, label in Order.Status.choices],
        "today": period(today),
        "month": period(month),
        "providers": [
            {
                "provider": p,
                "low": p.balance is not None and p.balance < p.low_balance_alert,
                # Failing: its last calls failed; left alone: its circuit is open, the workers skip it until then.
                "failing": p.failing_since is not None,
                "left_alone": p.next_probe_at is not None and p.next_probe_at > now,
            }
            for p in providers
        ],
        "review_queue": list(
            Order.objects.filter(status=Order.Status.NEEDS_REVIEW).select_related("user", "service").order_by("pk")[:50]
        ),
        "failed_syncs": [p for p in providers if p.last_sync_ok is False],
    }


def providers_with_work() -> list[int]:
    """Active providers that have orders, refills or cancels in flight.

    Two EXISTS probes per provider, each an index scan (orders by status and provider, refills
    by status), instead of a join over every order: the cost follows the providers, not the orders.
    """
    orders = Order.objects.filter(provider=OuterRef("pk"), status__in=UPSTREAM_ACTIVE)
    refills = Refill.objects.filter(order__provider=OuterRef("pk"), status__in=Refill.OPEN)
    return list(
        Provider.objects.filter(is_active=True)
        .filter(Exists(orders) | Exists(refills))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
