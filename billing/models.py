import json
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.crypto import secret_decrypt, secret_encrypt
from core.money import MoneyField


class LedgerEntry(models.Model):
    """One change of one balance. Rows are never updated or deleted.

    The customer's balance always equals the sum of their rows; `billing.services` writes
    both in one transaction. A reference ("order:42") names what caused the row; the unique
    constraint makes each (kind, reference) happen once, so a retried refund is harmless.
    """

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", _("Deposit")
        # A deposit bonus (tiers, a method's bonus): its own kind so that reports can tell
        # money paid in from money given away.
        BONUS = "bonus", _("Bonus")
        CHARGE = "charge", _("Charge")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")
        # An operator took a credited deposit back (a chargeback): its credit and bonus, once per deposit.
        REVERSAL = "reversal", _("Deposit reversal")
        # Affiliate earnings the customer moved from their affiliate balance (AffiliateAccount) to this one.
        AFFILIATE = "affiliate", _("Affiliate earnings")

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
                | Q(kind__in=["charge", "reversal"], amount__lt=0)
                | Q(kind__in=["deposit", "bonus", "refund", "affiliate"], amount__gt=0),
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
    """How customers can pay: manual (instructions, an operator approves) or through a gateway.

    A gateway's credentials are kept encrypted (Fernet, FIELD_ENCRYPTION_KEY) as one JSON
    object whose keys the gateway declares (`billing.gateways`).
    """

    class Underpayment(models.TextChoices):
        HOLD = "hold", "Hold for an operator"
        CREDIT = "credit", "Credit what arrived"

    name = models.CharField(max_length=100)
    instructions = models.TextField(blank=True, default="", help_text="Shown to the customer (bank details...).")
    gateway = models.CharField(
        max_length=32, blank=True, default="", help_text="Empty for manual payments, else a gateway code."
    )
    credentials_encrypted = models.TextField(blank=True, default="", editable=False)
    min_amount = MoneyField(default=Decimal("1"))
    max_amount = MoneyField(default=Decimal("10000"))
    fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Kept from what the customer pays: paying 100 with a 3% fee credits 97.",
    )
    bonus_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Added as a bonus on every deposit with this method (on top of the bonus tiers).",
    )
    underpayment = models.CharField(
        max_length=8,
        choices=Underpayment.choices,
        default=Underpayment.HOLD,
        help_text="When less than the invoice arrives: wait for an operator, or credit what arrived.",
    )
    lifetime_minutes = models.PositiveIntegerField(
        default=60, help_text="A gateway invoice not paid within this time expires."
    )
    is_active = models.BooleanField(default=True)
    sort_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(min_amount__gt=0), name="payment_method_min_positive"),
            models.CheckConstraint(condition=Q(max_amount__gte=F("min_amount")), name="payment_method_max_above_min"),
            models.CheckConstraint(
                condition=Q(fee_percent__gte=0, fee_percent__lt=100), name="payment_method_fee_percent_range"
            ),
            models.CheckConstraint(
                condition=Q(bonus_percent__gte=0, bonus_percent__lte=100), name="payment_method_bonus_percent_range"
            ),
            models.CheckConstraint(
                condition=Q(lifetime_minutes__gte=5, lifetime_minutes__lte=7 * 24 * 60),
                name="payment_method_lifetime_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def credentials(self) -> dict[str, str]:
        if not self.credentials_encrypted:
            return {}
        return json.loads(secret_decrypt(self.credentials_encrypted))

    @credentials.setter
    def credentials(self, value: dict[str, str]) -> None:
        self.credentials_encrypted = secret_encrypt(json.dumps(value, sort_keys=True)) if value else ""


class DepositBonusTier(models.Model):
    """A deposit of at least `min_amount` earns `percent` more, credited as a BONUS row (the best tier applies)."""

    min_amount = MoneyField(unique=True)
    percent = models.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["min_amount"]
        constraints = [
            models.CheckConstraint(condition=Q(min_amount__gt=0), name="bonus_tier_min_positive"),
            models.CheckConstraint(condition=Q(percent__gt=0, percent__lte=100), name="bonus_tier_percent_range"),
        ]

    def __str__(self) -> str:
        return f"+{self.percent}% from {self.min_amount}"


class FundsRequest(models.Model):
    """A deposit: a customer's request to add funds, manual or through a gateway.

    The ledger is written only when it is credited: by an operator (manual methods, held
    payments) or by a verified gateway notification or status check, never by the customer's
    return from the gateway. `reference` is what the gateway knows us by (its order id).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for payment")
        APPROVED = "approved", _("Credited")
        HELD = "held", _("Paid amount differs: waiting for an operator")
        EXPIRED = "expired", _("Expired")
        FAILED = "failed", _("Failed")
        REJECTED = "rejected", _("Rejected")
        # Credited, then taken back by an operator (billing.services.deposit_reverse).
        REVERSED = "reversed", _("Reversed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="funds_requests")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="requests")
    amount = MoneyField(help_text="What the customer set out to pay.")
    note = models.CharField(max_length=255, blank=True, default="", help_text="The customer's payment reference.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reference = models.CharField(max_length=40, unique=True, null=True, blank=True, editable=False)
    gateway_reference = models.CharField(max_length=128, blank=True, default="")
    gateway_payment_id = models.CharField(
        max_length=128, blank=True, default="", help_text="The gateway's id of the payment made against the invoice."
    )
    gateway_status = models.CharField(max_length=32, blank=True, default="")
    payment_url = models.URLField(max_length=1000, blank=True, default="")
    # Perfect Money is paid by posting a form: its fields (no secrets: account, amount, our URLs).
    payment_fields = models.JSONField(default=dict, blank=True)
    paid_amount = MoneyField(null=True, blank=True, help_text="What arrived, per the gateway.")
    credited_amount = MoneyField(null=True, blank=True)
    bonus_amount = MoneyField(null=True, blank=True)
    status_message = models.CharField(max_length=255, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "deposit"
        permissions = [
            ("approve_funds", "Can approve (credits the customer) or reject add-funds requests"),
            ("reverse_deposit", "Can reverse a credited deposit (takes back its credit, bonus and commission)"),
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="funds_user_recent"),
            models.Index(fields=["status", "last_checked_at"], name="funds_status_checked"),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="funds_request_amount_positive")]

    def __str__(self) -> str:
        return f"Deposit {self.pk}: {self.amount} for {self.user_id}"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.APPROVED, self.Status.REJECTED, self.Status.REVERSED)


class WebhookLog(models.Model):
    """Every notification a gateway (or anyone) sent us, and what we did with it: for the operator."""

    class Outcome(models.TextChoices):
        CREDITED = "credited", "Credited"
        UPDATED = "updated", "Status updated"
        UNCHANGED = "unchanged", "Nothing to change"
        REJECTED = "rejected", "Rejected"

    gateway = models.CharField(max_length=32)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True, default="")
    deposit = models.ForeignKey(
        FundsRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="webhook_logs"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField()
    message = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.gateway} {self.received_at:%Y-%m-%d %H:%M} {self.outcome}"


class AffiliateAccount(models.Model):
    """A customer as an affiliate (their referral code, visits and affiliate balance) and who referred them.

    Made at signup or lazily (the Affiliates page). The affiliate balance is an account of its own, apart from the
    main balance until the customer moves it there or is paid out: it equals the sum of the account's
    AffiliateEntry rows, and only `billing.services` writes either, in one transaction. `referred_by` is set once,
    at signup through a referral link, and never changes.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, primary_key=True, related_name="affiliate"
    )
    code = models.CharField(max_length=32, unique=True, editable=False)
    referred_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="referrals"
    )
    referred_at = models.DateTimeField(null=True, blank=True, editable=False)
    commission_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="This referrer's commission on their referred customers' deposits. "
        "Empty: the panel's AFFILIATE_COMMISSION_PERCENT.",
    )
    balance = MoneyField(default=Decimal("0"), editable=False)
    # A counter, not a row per visit: anyone can request a link as often as they like.
    visits = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="affiliate_balance_not_negative"),
            models.CheckConstraint(condition=~Q(referred_by=F("user")), name="affiliate_not_referred_by_self"),
            models.CheckConstraint(
                condition=Q(commission_percent__isnull=True)
                | Q(commission_percent__gte=0, commission_percent__lte=100),
                name="affiliate_commission_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Affiliate {self.user_id} ({self.code})"


class AffiliateEntry(models.Model):
    """One change of one affiliate balance: the affiliate account's ledger, with the main ledger's guarantees.

    Rows are never updated or deleted; a unique (kind, reference) makes one commission per deposit ("funds:<id>"),
    one reversal of it, one hold and one return per payout request ("payout:<id>").
    """

    class Kind(models.TextChoices):
        COMMISSION = "commission", _("Commission")
        REVERSAL = "reversal", _("Commission reversed")
        TRANSFER = "transfer", _("Moved to the main balance")
        PAYOUT = "payout", _("Payout requested")
        PAYOUT_RETURN = "payout_return", _("Payout rejected: returned")

    account = models.ForeignKey(AffiliateAccount, on_delete=models.PROTECT, related_name="entries")
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
        verbose_name_plural = "affiliate entries"
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "-id"], name="affiliate_entry_recent")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "reference"], condition=~Q(reference=""), name="affiliate_once_per_kind_and_reference"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="affiliate_amount_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="affiliate_balance_after_not_negative"),
            models.CheckConstraint(
                condition=Q(kind__in=["commission", "payout_return"], amount__gt=0)
                | Q(kind__in=["reversal", "transfer", "payout"], amount__lt=0),
                name="affiliate_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind} {self.amount}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Affiliate entries are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Affiliate entries are immutable.")


class AffiliatePayout(models.Model):
    """A referrer's request to be paid their affiliate earnings by hand (bank, wallet), decided by staff.

    The amount leaves the affiliate balance when requested (held, a PAYOUT row), so it cannot be spent twice; a
    rejection returns it (a PAYOUT_RETURN row), an approval records that staff paid it outside the panel.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for staff")
        APPROVED = "approved", _("Paid")
        REJECTED = "rejected", _("Rejected: returned to the affiliate balance")

    account = models.ForeignKey(AffiliateAccount, on_delete=models.PROTECT, related_name="payouts")
    amount = MoneyField()
    details = models.CharField(max_length=255, help_text="Where the customer asks to be paid (wallet, account).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("approve_affiliate_payout", "Can approve (mark paid) or reject (return) affiliate payout requests")
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="affiliate_payout_amount_positive")]

    def __str__(self) -> str:
        return f"Payout {self.pk}: {self.amount} for {self.account_id}"
