"""Our prices: the provider's rate converted to our currency with the provider's markup, and what an order costs.

`order_price` is the one rule that turns a service and an order's units into the charge the
customer pays and the cost we expect to pay upstream; the website, the API page and
`order_create` all read prices from here.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from core.money import ROUND_UP, money_round, order_charge
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


@dataclass(frozen=True)
class OrderPrice:
    rate: Decimal  # the service's price when ordered, per 1,000 (per unit for a product)
    charge: Decimal  # what the customer pays
    cost: Decimal  # what the provider should charge us


def order_price(*, service, quantity: int, runs: int | None = None) -> OrderPrice:
    """rate × units / 1,000 (per unit for a product), × runs for drip-feed, rounded once.

    A package's units are its size (the service's min = max), so a package costs
    rate × size / 1,000: the rate per 1,000 the catalog shows, applied to what it delivers.
    """
    per, runs = service.units_per_rate, runs or 1
    return OrderPrice(
        rate=service.price,
        charge=order_charge(rate=service.price, quantity=quantity, runs=runs, per=per),
        cost=order_charge(rate=service.cost, quantity=quantity, runs=runs, per=per),
    )


def service_package_price(*, service) -> Decimal:
    """What one package of this service costs, as the services page, the order form and the API page show it."""
    return order_price(service=service, quantity=max(service.min, 1)).charge
