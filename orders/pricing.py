"""Our prices: the provider's rate converted to our currency, with the provider's markup."""

from decimal import Decimal

from core.money import ROUND_UP, money_round
from providers.models import Provider


def service_cost(*, provider: Provider, upstream_rate: Decimal) -> Decimal:
    """An amount in the provider's currency (a rate per 1,000, a charge) in ours."""
    return money_round(upstream_rate * provider.exchange_rate)


def service_rate(*, provider: Provider, upstream_rate: Decimal) -> Decimal:
    """What customers pay per 1,000: cost × (1 + markup %) + fixed markup, rounded up so no markup is lost."""
    cost = upstream_rate * provider.exchange_rate
    rate = cost * (1 + provider.markup_percent / 100) + provider.markup_fixed
    return money_round(max(rate, Decimal(0)), rounding=ROUND_UP)
