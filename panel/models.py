from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from core.money import MoneyField


class DisplayCurrency(models.Model):
    """A currency customers may read prices and balances in, converted for display only.

    Money stays in PANEL_CURRENCY everywhere it is kept or exchanged (balances, the ledger, orders,
    `/api/v2`); a converted figure is always marked approximate ("≈ 9.20 EUR"). The rate is set by
    an operator, or fetched daily when DISPLAY_CURRENCY_RATES_URL is set and `auto_update` is on.
    """

    code = models.CharField(
        max_length=3,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{3}$", "Three capital letters, such as EUR.")],
        help_text="ISO 4217 code, such as EUR.",
    )
    rate = models.DecimalField(
        max_digits=24,
        decimal_places=10,
        validators=[MinValueValidator(Decimal("0.0000000001"))],
        help_text="How much of this currency one unit of the panel's currency buys (e.g. 0.92 EUR for 1 USD).",
    )
    is_enabled = models.BooleanField(default=True, help_text="Customers may choose it.")
    auto_update = models.BooleanField(
        default=True, help_text="The daily fetch (DISPLAY_CURRENCY_RATES_URL) updates the rate; off: yours is kept."
    )
    rate_updated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "display currencies"
        constraints = [models.CheckConstraint(condition=Q(rate__gt=0), name="display_currency_rate_positive")]

    def __str__(self) -> str:
        return self.code

    @property
    def rate_shown(self) -> str:
        """The rate as people read it: 0.92, 150.25, 0.0000153 (no trailing zeros, no exponent)."""
        return f"{self.rate.normalize():f}"


class User(AbstractUser):
    """A customer (or a staff member). The balance is written only by `billing.services`."""

    balance = MoneyField(default=Decimal("0"), editable=False)
    # Only a hash of the API key is kept; the key itself is shown once, when made.
    api_key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    api_key_prefix = models.CharField(max_length=12, blank=True, editable=False)
    api_key_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A code of settings.LANGUAGES (panel.languages): the customer's pages and e-mails are in it.
    # Empty until they choose one or first sign in; then the browser's language serves them.
    language = models.CharField(max_length=16, blank=True, default="")
    # Prices and balances are also shown converted into it, marked approximate; money stays in PANEL_CURRENCY.
    display_currency = models.ForeignKey(
        DisplayCurrency, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="user_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return self.username


class Favourite(models.Model):
    """A service a customer starred: listed first in their service picker."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="favourites")
    service = models.ForeignKey("orders.Service", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "service"], name="favourite_once_per_service")]

    def __str__(self) -> str:
        return f"{self.user_id} ★ {self.service_id}"
