from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from core.money import MoneyField


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
