from collections.abc import Iterable

from django.db.models import QuerySet

from orders.models import Order, Refill, Service


def services_for_sale() -> QuerySet[Service]:
    return (
        Service.objects.filter(is_enabled=True, provider__is_active=True, category__is_enabled=True)
        .select_related("category")
        .order_by("category__sort_order", "category__name", "pk")
    )


def orders_of_user(*, user, order_ids: Iterable[int]) -> dict[int, Order]:
    """The user's orders among these ids, in one query; others' ids are simply absent."""
    return Order.objects.filter(user=user, pk__in=list(order_ids)).in_bulk()


def refills_of_user(*, user, refill_ids: Iterable[int]) -> dict[int, Refill]:
    return Refill.objects.filter(user=user, pk__in=list(refill_ids)).in_bulk()
