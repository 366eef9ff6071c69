"""Bulk prices: an operator marks up every service of a category or of a provider at once.

The new price of each service is its cost × (1 + percent / 100) + fixed, rounded up like the sync's prices, written
as the service's price override (a sync keeps it) with a catalog change row for the customers' updates page. The
preview and the change compute the same figures from the costs of the moment.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.db import bulk_update_changed
from core.errors import PanelError
from core.money import ROUND_UP, money_round
from orders.models import Service, ServiceChange

# A markup changes prices customers pay at once: it is bounded so a typo (5000 for 50) is refused.
MARKUP_PERCENT_RANGE = (Decimal("-100"), Decimal("1000"))


class MarkupInvalid(PanelError):
    default_message = "The markup is not valid."


@dataclass(frozen=True)
class PriceChange:
    service: Service
    old: Decimal
    new: Decimal

    @property
    def changed(self) -> bool:
        return self.old != self.new

    @property
    def percent(self) -> Decimal | None:
        if not self.old:
            return None
        return ((self.new - self.old) / self.old * 100).quantize(Decimal("0.1"))


def services_in_scope(*, category_id: int | None = None, provider_id: int | None = None) -> QuerySet[Service]:
    if (category_id is None) == (provider_id is None):
        raise MarkupInvalid("Choose a category or a provider.")
    services = Service.objects.select_related("provider", "category").order_by("pk")
    if category_id is not None:
        return services.filter(category_id=category_id)
    return services.filter(provider_id=provider_id)


def markup_price(*, cost: Decimal, percent: Decimal, fixed: Decimal) -> Decimal:
    return money_round(max(cost * (1 + percent / 100) + fixed, Decimal("0")), rounding=ROUND_UP)


def services_markup_preview(
    *, percent: Decimal, fixed: Decimal = Decimal("0"), category_id: int | None = None, provider_id: int | None = None
) -> list[PriceChange]:
    """Each service of the category or provider with its price now and after the markup."""
    low, high = MARKUP_PERCENT_RANGE
    if not low <= percent <= high:
        raise MarkupInvalid(f"The markup must be between {low}% and {high}%.")
    return [
        PriceChange(
            service=service, old=service.price, new=markup_price(cost=service.cost, percent=percent, fixed=fixed)
        )
        for service in services_in_scope(category_id=category_id, provider_id=provider_id)
    ]


def services_markup_apply(
    *, percent: Decimal, fixed: Decimal = Decimal("0"), category_id: int | None = None, provider_id: int | None = None
) -> list[PriceChange]:
    """Write the marked-up prices as the services' price overrides; returns the prices that changed."""
    with transaction.atomic():
        changes = [
            change
            for change in services_markup_preview(
                percent=percent, fixed=fixed, category_id=category_id, provider_id=provider_id
            )
            if change.changed or change.service.rate_override is None
        ]
        now = timezone.now()
        rows = []
        for change in changes:
            change.service.rate_override = change.new
            change.service.updated_at = now
            rows.append((change.service, {"rate_override", "updated_at"}))
        bulk_update_changed(Service, rows)
        ServiceChange.objects.bulk_create(
            ServiceChange(service=c.service, kind=ServiceChange.Kind.RATE, old_value=str(c.old), new_value=str(c.new))
            for c in changes
            if c.changed
        )
    return [change for change in changes if change.changed]
