"""Prices per customer, set by an operator: a discount on every service, and custom rates per service.

A custom rate is absolute: it is the customer's price for that service whatever the catalog's
rate becomes, so a sync never reprices it (sync writes `Service` only). What a customer pays is
decided by one function, `orders.pricing.PriceList.rate`; an order keeps the rate it was charged at.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.money import MoneyField
from orders.models import Service


class CustomerDiscount(models.Model):
    """A percent off the catalog price of every service and product, for one customer (e.g. a reseller's 5%)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="price_discount")
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
        help_text="Percent off every catalog price (0.01 to 100). A custom rate for a service wins over it.",
    )
    note = models.CharField(max_length=255, blank=True, default="", help_text="Why (for operators only).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(percent__gt=0, percent__lte=100), name="customer_discount_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.percent}% off"


class CustomerRateQuerySet(models.QuerySet):
    def below_cost(self) -> "CustomerRateQuerySet":
        """Custom rates under what the provider charges us for the service now (sold at a loss)."""
        return self.filter(rate__lt=models.F("service__cost"))


class CustomerRate(models.Model):
    """One customer's own price for one service, per 1,000 (per unit for a product): absolute, never repriced."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="custom_rates")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="custom_rates")
    rate = MoneyField(
        validators=[MinValueValidator(Decimal("0"))],
        help_text="The customer's price per 1,000 (per unit for a product), in the panel's currency.",
    )
    note = models.CharField(max_length=255, blank=True, default="", help_text="Why (for operators only).")
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerRateQuerySet.as_manager()

    class Meta:
        ordering = ["user__username", "service_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "service"], name="customer_rate_once_per_service"),
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="customer_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: service {self.service_id} at {self.rate}"
