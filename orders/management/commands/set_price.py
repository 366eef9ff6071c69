from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import PanelError
from core.money import money_arg
from orders.services.customer_prices import (
    customer_discount_set,
    customer_prices_clear,
    customer_prices_get,
    customer_rate_clear,
    customer_rate_set,
    discount_services_below_cost,
)


class Command(BaseCommand):
    help = (
        "A customer's prices: a discount on every service (--discount 5), a custom rate for one service "
        "(--service ID --rate 0.90), or back to catalog prices (--service ID --clear; --clear for everything). "
        "Without options, shows them. Orders already taken keep the price they were charged."
    )

    def add_arguments(self, parser):
        parser.add_argument("customer", help="the customer's username")
        parser.add_argument("--discount", help="percent off every catalog price, e.g. 5 or 2.5; 0 removes it")
        parser.add_argument("--service", help="the service (or product) id a --rate or --clear is for")
        parser.add_argument("--rate", help="the customer's price per 1,000 (per unit for a product), e.g. 0.90")
        parser.add_argument("--clear", action="store_true", help="remove the custom rate of --service, or all")
        parser.add_argument("--note", default="", help="why (for operators, shown in the admin)")

    def handle(self, *args, customer, discount, service, rate, clear, note, **options):
        user = get_user_model().objects.filter(username=customer).first()
        if user is None:
            raise CommandError(f"No customer named {customer!r}.")
        if rate is not None and service is None:
            raise CommandError("--rate needs --service ID: which service the rate is for.")
        if rate is not None and clear:
            raise CommandError("Give either --rate or --clear, not both.")
        if clear and service is None and discount is not None:
            raise CommandError("--clear without --service removes every price of the customer; drop --discount.")
        if service is not None and rate is None and not clear:
            raise CommandError("--service needs --rate AMOUNT (set it) or --clear (remove it).")
        service_id = _service_id(service) if service is not None else None
        percent = _percent(discount) if discount is not None else None
        amount = money_arg("--rate", rate) if rate is not None else None
        try:
            if clear and service_id is None:
                had_discount, rates = customer_prices_clear(user_id=user.pk)
                self.stdout.write(
                    f"{customer}: {'discount and ' if had_discount else ''}{rates} custom rates removed; "
                    "catalog prices from now on."
                )
            if percent is not None:
                customer_discount_set(user_id=user.pk, percent=percent, note=note)
            if amount is not None:
                customer_rate_set(user_id=user.pk, service_id=service_id, rate=amount, note=note)
            elif clear and service_id is not None and not customer_rate_clear(user_id=user.pk, service_id=service_id):
                self.stdout.write(f"{customer} had no custom rate for service {service_id}.")
            prices = customer_prices_get(user_id=user.pk)
        except PanelError as error:
            raise CommandError(error.message) from None
        self._show(prices)

    def _show(self, prices) -> None:
        name = prices.username
        if prices.discount_percent:
            self.stdout.write(f"{name}: {prices.discount_percent}% off every catalog price")
            below = discount_services_below_cost(user_id=prices.user_id, percent=prices.discount_percent)
            if below:
                self.stdout.write(f"{name}: at this discount {below} services on sale are BELOW COST")
        else:
            self.stdout.write(f"{name}: no discount")
        for custom in prices.custom_rates:
            service = custom.service
            line = (
                f"{name}: service {service.pk} ({service.name}) at {custom.rate} "
                f"(catalog {service.price}, our cost {service.cost})"
            )
            if custom.rate < service.cost:
                line += " - BELOW COST"
            self.stdout.write(line)


def _service_id(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise CommandError(f"--service must be a service id (a whole number), not {text!r}.") from None
    if value <= 0:
        raise CommandError(f"--service must be a service id (a whole number), not {text!r}.")
    return value


def _percent(text: str) -> Decimal:
    value = money_arg("--discount", text)
    if value > 100:
        raise CommandError(f"--discount is a percent from 0 to 100, not {text!r}.")
    if value != value.quantize(Decimal("0.01")):
        raise CommandError(f"--discount has at most two decimals (such as 2.5), not {text!r}.")
    return value
