"""An operator sets a customer's prices: a discount on everything, custom rates per service, or clears them.

These are the writes behind `manage.py set_price` (the admin edits the same rows with the same
rules, through the models' validators and constraints). A price change never touches an order
already taken: an order keeps the rate and charge it was created with.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Min
from django.db.models.functions import Coalesce

from core.errors import PanelError
from orders.customer_prices import CustomerDiscount, CustomerRate
from orders.models import Service

MAX_DISCOUNT = Decimal("100")


class PriceInvalid(PanelError):
    default_message = "Invalid price."


@dataclass(frozen=True)
class CustomerPrices:
    """What a customer pays apart from the catalog: their discount (0: none) and custom rates by service."""

    user_id: int
    username: str
    discount_percent: Decimal
    custom_rates: list[CustomerRate]


def customer_discount_set(*, user_id: int, percent: Decimal, note: str = "") -> CustomerDiscount | None:
    """Give a customer `percent` off every catalog price; 0 removes their discount (returns None)."""
    if not percent.is_finite() or percent < 0 or percent > MAX_DISCOUNT:
        raise PriceInvalid(f"A discount is a percent from 0 to 100, not {percent}.")
    if percent != percent.quantize(Decimal("0.01")):
        raise PriceInvalid(f"A discount has at most two decimals (such as 2.5 or 12.75), not {percent}.")
    _customer(user_id)
    if percent == 0:
        CustomerDiscount.objects.filter(user_id=user_id).delete()
        return None
    discount, _ = CustomerDiscount.objects.update_or_create(
        user_id=user_id, defaults={"percent": percent, **({"note": note} if note else {})}
    )
    return discount


def customer_rate_set(*, user_id: int, service_id: int, rate: Decimal, note: str = "") -> CustomerRate:
    """Fix a customer's price for one service (per 1,000, per unit for a product); sync never changes it."""
    if not rate.is_finite() or rate < 0:
        raise PriceInvalid(f"A rate is an amount of 0 or more, not {rate}.")
    _customer(user_id)
    if not Service.objects.filter(pk=service_id).exists():
        raise PriceInvalid(f"There is no service {service_id}.")
    custom, _ = CustomerRate.objects.update_or_create(
        user_id=user_id, service_id=service_id, defaults={"rate": rate, **({"note": note} if note else {})}
    )
    return custom


def customer_rate_clear(*, user_id: int, service_id: int) -> bool:
    """The customer pays the catalog price (less their discount) for this service again. False: there was none."""
    _customer(user_id)
    deleted, _ = CustomerRate.objects.filter(user_id=user_id, service_id=service_id).delete()
    return bool(deleted)


def customer_prices_clear(*, user_id: int) -> tuple[bool, int]:
    """Remove a customer's discount and every custom rate: (had a discount, custom rates removed)."""
    _customer(user_id)
    with transaction.atomic():
        discounts, _ = CustomerDiscount.objects.filter(user_id=user_id).delete()
        rates, _ = CustomerRate.objects.filter(user_id=user_id).delete()
    return bool(discounts), rates


def customer_prices_get(*, user_id: int) -> CustomerPrices:
    user = _customer(user_id)
    percent = CustomerDiscount.objects.filter(user_id=user_id).values_list("percent", flat=True).first()
    rates = list(CustomerRate.objects.filter(user_id=user_id).select_related("service").order_by("service_id"))
    return CustomerPrices(
        user_id=user.pk, username=user.username, discount_percent=percent or Decimal(0), custom_rates=rates
    )


BELOW_COST_SHOWN = 20


def custom_rates_below_cost(*, limit: int = BELOW_COST_SHOWN) -> dict | None:
    """Custom rates a sync left under the provider's cost (sync never reprices them), for the staff dashboard.

    {"count": how many, "rows": the first `limit`}, or None when every custom rate covers its cost.
    """
    below = CustomerRate.objects.below_cost()
    rows = list(below.select_related("user", "service").order_by("user__username", "service_id")[:limit])
    if not rows:
        return None
    return {"count": below.count() if len(rows) == limit else len(rows), "rows": rows}


def _price_less(percent: Decimal):
    """SQL for a service's catalog price less `percent` (the rounding up of PriceList.rate is under 0.00001)."""
    price = Coalesce("rate_override", "rate")
    return ExpressionWrapper(price * (100 - percent) / 100, output_field=DecimalField(max_digits=30, decimal_places=10))


def discount_services_below_cost(*, user_id: int, percent: Decimal) -> int:
    """How many services on sale this discount sells under our cost (those with a custom rate aside)."""
    return (
        Service.objects.filter(is_enabled=True)
        .exclude(custom_rates__user_id=user_id)
        .alias(discounted=_price_less(percent))
        .filter(discounted__lt=F("cost"))
        .count()
    )


def discounts_below_cost(*, limit: int = BELOW_COST_SHOWN) -> dict | None:
    """Discounts deep enough to sell some service on sale under our cost, for the staff dashboard.

    A discount of p% sells a service at a loss when p exceeds its margin, 100 × (price − cost) / price; so
    only discounts above the thinnest margin in the catalog are counted one by one.
    """
    price = Coalesce("rate_override", "rate")
    margin = ExpressionWrapper(
        100 * (price - F("cost")) / price, output_field=DecimalField(max_digits=30, decimal_places=10)
    )
    thinnest = (
        Service.objects.filter(is_enabled=True, rate__gt=0)
        .exclude(rate_override=0)
        .aggregate(thinnest=Min(margin))["thinnest"]
    )
    if thinnest is None:
        return None
    rows = []
    for discount in CustomerDiscount.objects.filter(percent__gt=thinnest).select_related("user").order_by("-percent"):
        below = discount_services_below_cost(user_id=discount.user_id, percent=discount.percent)
        if below:
            rows.append({"discount": discount, "services": below})
        if len(rows) == limit:
            break
    return {"rows": rows} if rows else None


def _customer(user_id: int):
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise PriceInvalid(f"There is no customer {user_id}.")
    return user
