from decimal import Decimal

from django.db import models

from core.crypto import secret_decrypt, secret_encrypt
from core.money import MoneyField


class Provider(models.Model):
    """An upstream panel we buy from."""

    class Dialect(models.TextChoices):
        AUTO = "", "Detect on first contact"
        STANDARD = "standard", "Standard (most panels)"
        WRAPPED = "002", "Success wrappers, lowercase statuses"
        PRODUCTS = "003", "Standard with products"

    name = models.CharField(max_length=100, unique=True)
    api_url = models.URLField(max_length=500, help_text="e.g. https://example.com/api/v2")
    api_key_encrypted = models.TextField(editable=False)
    dialect = models.CharField(max_length=16, choices=Dialect.choices, blank=True, default=Dialect.AUTO)
    currency = models.CharField(max_length=8, blank=True, default="")
    exchange_rate = models.DecimalField(
        max_digits=20,
        decimal_places=8,
        default=Decimal("1"),
        help_text="How much of our currency one unit of the provider's currency is worth.",
    )
    balance = MoneyField(null=True, blank=True, editable=False)
    balance_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    low_balance_alert = MoneyField(default=Decimal("10"))
    is_active = models.BooleanField(default=True)
    markup_percent = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))
    markup_fixed = MoneyField(default=Decimal("0"), help_text="Added to every rate per 1,000.")
    hold_new_services = models.BooleanField(
        default=False, help_text="New upstream services wait, disabled, for an operator."
    )
    last_sync_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_sync_ok = models.BooleanField(null=True, editable=False)
    last_sync_message = models.TextField(blank=True, default="", editable=False)
    # Health, written by providers.services.provider_record_result after calls: the last error
    # stays after a recovery, for the operator to read.
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, default="", editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    # The circuit breaker (providers.services.provider_circuit_open): when the current run of
    # failures began, and when the provider may next be tried once it has failed too often.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    next_probe_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(markup_percent__gte=-100), name="provider_markup_not_below_cost"),
            models.CheckConstraint(condition=models.Q(exchange_rate__gt=0), name="provider_exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def api_key(self) -> str:
        return secret_decrypt(self.api_key_encrypted)

    @api_key.setter
    def api_key(self, value: str) -> None:
        self.api_key_encrypted = secret_encrypt(value)


class ProviderService(models.Model):
    """A provider's service (or product, seed 003) as it last answered: the snapshot our catalog is made from."""

    class Kind(models.TextChoices):
        SERVICE = "service", "Service"
        # Seed 003's products (accounts, subscriptions): priced per unit, ordered with add_product_order.
        PRODUCT = "product", "Product"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="upstream_services")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SERVICE)
    service_id = models.CharField(max_length=64)
    name = models.TextField()
    type = models.CharField(max_length=100, default="Default")
    category = models.TextField(blank=True, default="")
    rate = MoneyField()
    min = models.PositiveBigIntegerField()
    max = models.PositiveBigIntegerField()
    refill = models.BooleanField(default=False)
    cancel = models.BooleanField(default=False)
    dripfeed = models.BooleanField(default=False)
    description = models.TextField(blank=True, default="")
    require = models.CharField(max_length=500, blank=True, default="", help_text="What a product asks the buyer for.")
    is_available = models.BooleanField(default=True, help_text="False once the provider stopped listing it.")
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "kind", "service_id"], name="provider_service_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id}:{self.service_id} {self.name[:40]}"
