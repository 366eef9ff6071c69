from django.conf import settings
from django.db import models
from django.db.models import Q

from core.money import MoneyField


class LedgerEntry(models.Model):
    """One change of one balance. Rows are never updated or deleted.

    The customer's balance always equals the sum of their rows; `billing.services` writes
    both in one transaction. A reference ("order:42") names what caused the row; the unique
    constraint makes each (kind, reference) happen once, so a retried refund is harmless.
    """

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = MoneyField()
    balance_after = MoneyField()
    reference = models.CharField(max_length=64, blank=True, default="")
    memo = models.CharField(max_length=255, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ["-id"]
        # The ledger itself is read only to everyone; this is the power to add a hand-made row to it.
        permissions = [("adjust_balance", "Can credit or debit a customer's balance by hand")]
        indexes = [models.Index(fields=["user", "-id"], name="ledger_user_recent")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "reference"], condition=~Q(reference=""), name="ledger_once_per_kind_and_reference"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_after_not_negative"),
            models.CheckConstraint(
                condition=Q(kind="adjustment")
                | Q(kind="charge", amount__lt=0)
                | Q(kind__in=["deposit", "refund"], amount__gt=0),
                name="ledger_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.amount}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Ledger entries are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are immutable.")


class PaymentMethod(models.Model):
    """How customers can pay: manual (instructions, an operator approves) or through a gateway."""

    name = models.CharField(max_length=100)
    instructions = models.TextField(blank=True, default="", help_text="Shown to the customer (bank details...).")
    gateway = models.CharField(
        max_length=32, blank=True, default="", help_text="Empty for manual payments, else a gateway code."
    )
    min_amount = MoneyField(default=1)
    is_active = models.BooleanField(default=True)
    sort_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class FundsRequest(models.Model):
    """A customer's request to add funds; the ledger is written only when it is approved."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="funds_requests")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="requests")
    amount = MoneyField()
    note = models.CharField(max_length=255, blank=True, default="", help_text="The customer's payment reference.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    gateway_reference = models.CharField(max_length=128, blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("approve_funds", "Can approve (credits the customer) or reject add-funds requests")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="funds_request_amount_positive")]

    def __str__(self) -> str:
        return f"Funds request {self.pk}: {self.amount} for {self.user_id}"
