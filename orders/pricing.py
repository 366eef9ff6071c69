"""Our prices: the provider's rate with its markup, each customer's price, and what an order costs.

Two rules, each one function:
- `PriceList.rate` decides what a customer pays for a service (per 1,000, per unit for a product):
  their custom rate for it, else the catalog price less their discount (`price_list_for` reads a
  customer's list, `customer_rate` one service's price);
- `order_price` turns that rate and an order's units into the charge the customer pays and the cost
  we expect to pay upstream.
The website, `/api/v2`, the API page and `order_create` all read prices from here.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from core.money import ROUND_UP, money_round, order_charge
from orders.customer_prices import CustomerDiscount, CustomerRate
from providers.models import Provider

# The largest amount a money column holds (MoneyField's digits): a charge past it cannot be paid from any balance.
MONEY_CEILING = Decimal(10) ** (settings.MONEY_MAX_DIGITS - settings.MONEY_DECIMAL_PLACES)


def service_cost(*, provider: Provider, upstream_rate: Decimal) -> Decimal:
    """An amount in the provider's currency (a rate per 1,000, a charge) in ours."""
    return money_round(upstream_rate * provider.exchange_rate)


def service_rate(*, provider: Provider, upstream_rate: Decimal) -> Decimal:
    """What customers pay per 1,000: cost × (1 + markup %) + fixed markup, rounded up so no markup is lost."""
    cost = upstream_rate * provider.exchange_rate
    rate = cost * (1 + provider.markup_percent / 100) + provider.markup_fixed
    return money_round(max(rate, Decimal(0)), rounding=ROUND_UP)


def discounted_rate(*, price: Decimal, percent: Decimal) -> Decimal:
    """A catalog price less a discount, rounded once and UP to the money digits.

    Up, because the discount is the operator's gift and rounding must not add to it: the customer
    gets the discount the operator set to within one hundred-thousandth, never a fraction more.
    """
    if not percent:
        return price
    return money_round(price * (100 - percent) / 100, rounding=ROUND_UP)


@dataclass(frozen=True)
class PriceList:
    """One customer's prices: their discount and their custom rates by service id (empty: catalog prices)."""

    discount_percent: Decimal = Decimal(0)
    custom_rates: Mapping[int, Decimal] = field(default_factory=dict)

    def rate(self, service) -> Decimal:
        """What this customer pays for `service`, per 1,000 (per unit for a product).

        A custom rate is absolute (neither the catalog's rate, nor its override, nor the discount
        changes it); otherwise the catalog price (`Service.price`) less the discount.
        """
        custom = self.custom_rates.get(service.pk)
        if custom is not None:
            return custom
        return discounted_rate(price=service.price, percent=self.discount_percent)

    def is_custom(self, service) -> bool:
        return service.pk in self.custom_rates


CATALOG_PRICES = PriceList()


def price_list_for(*, user, service_ids: Iterable[int] | None = None) -> PriceList:
    """A customer's price list in two queries (all their custom rates, or only those for `service_ids`).

    Visitors and customers without a discount or custom rate get the catalog prices.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return CATALOG_PRICES
    rates = CustomerRate.objects.filter(user_id=user.pk)
    if service_ids is not None:
        rates = rates.filter(service_id__in=list(service_ids))
    custom = dict(rates.values_list("service_id", "rate"))
    percent = CustomerDiscount.objects.filter(user_id=user.pk).values_list("percent", flat=True).first()
    if not custom and not percent:
        return CATALOG_PRICES
    return PriceList(discount_percent=percent or Decimal(0), custom_rates=custom)


def customer_rate(*, user, service) -> Decimal:
    """What `user` pays for `service` now, per 1,000 (per unit for a product)."""
    return price_list_for(user=user, service_ids=[service.pk]).rate(service)


@dataclass(frozen=True)
class OrderPrice:
    rate: Decimal  # the customer's price when ordered, per 1,000 (per unit for a product)
    charge: Decimal  # what the customer pays
    cost: Decimal  # what the provider should charge us


def order_price(*, service, quantity: int, runs: int | None = None, prices: PriceList = CATALOG_PRICES) -> OrderPrice:
    """The customer's rate (`prices.rate`) × units / 1,000 (per unit for a product), × runs for drip-feed, rounded once.

    A package's units are its size (the service's min = max), so a package costs
    rate × size / 1,000: the rate per 1,000 the catalog shows, applied to what it delivers. A
    subscription's units are its max × posts (or its hold), so every type is charged at the
    customer's own rate.
    """
    per, runs = service.units_per_rate, runs or 1
    rate = prices.rate(service)
    return OrderPrice(
        rate=rate,
        charge=order_charge(rate=rate, quantity=quantity, runs=runs, per=per),
        cost=order_charge(rate=service.cost, quantity=quantity, runs=runs, per=per),
    )


def service_package_price(*, service, prices: PriceList = CATALOG_PRICES) -> Decimal:
    """What one package of this service costs this customer, as the services page, the order form and the API page
    show it."""
    return order_price(service=service, quantity=max(service.min, 1), prices=prices).charge
