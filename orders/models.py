from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.money import RATE_UNIT, MoneyField
from providers.models import Provider, ProviderService


class Category(models.Model):
    name = models.CharField(max_length=255, unique=True)
    sort_order = models.IntegerField(default=0)
    is_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """What customers see and buy: made from a provider's service, priced with its markup."""

    class DisabledBy(models.TextChoices):
        NOBODY = "", "-"
        OPERATOR = "operator", "An operator"
        UPSTREAM = "upstream", "Removed by the provider"
        HELD = "held", "New, waiting for an operator"

    Kind = ProviderService.Kind

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="catalog_services")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SERVICE)
    provider_service = models.OneToOneField(ProviderService, on_delete=models.PROTECT, related_name="catalog_service")
    name = models.CharField(max_length=500)
    name_edited = models.BooleanField(default=False, help_text="An operator renamed it: sync keeps the name.")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="services")
    category_edited = models.BooleanField(default=False, help_text="An operator moved it: sync keeps the category.")
    type = models.CharField(max_length=100, default="Default")
    description = models.TextField(blank=True, default="", help_text="From the provider's desc unless edited.")
    description_edited = models.BooleanField(default=False, help_text="An operator wrote it: sync keeps it.")
    require = models.CharField(max_length=500, blank=True, default="", help_text="What a product asks the buyer for.")
    min = models.PositiveBigIntegerField()
    max = models.PositiveBigIntegerField()
    refill_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text='Refill guarantee in days after completion (read from names like "30 Days Refill" unless set); '
        "empty: no limit.",
    )
    refill_days_edited = models.BooleanField(default=False, help_text="An operator set it: sync keeps it.")
    average_completion = models.DurationField(
        null=True, blank=True, editable=False, help_text="Average time from placement to completion of our orders."
    )
    # A product's stock as its provider last reported it (seed 003's status and inventory): out of stock is not sold.
    in_stock = models.BooleanField(default=True)
    inventory = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="How many are left; empty: not counted."
    )
    refill = models.BooleanField(default=False)
    cancel = models.BooleanField(default=False)
    dripfeed = models.BooleanField(
        default=False, help_text="The provider takes runs and interval itself; otherwise the panel runs a drip-feed."
    )
    dripfeed_edited = models.BooleanField(default=False, help_text="An operator set the drip-feed flag: sync keeps it.")
    cost = MoneyField(help_text="The provider's rate per 1,000 (per unit for products), ours.")
    rate = MoneyField(help_text="Our price per 1,000 (per unit for products), with the markup.")
    rate_override = MoneyField(null=True, blank=True, help_text="Our price per 1,000, fixed.")
    is_enabled = models.BooleanField(default=True)
    disabled_by = models.CharField(max_length=16, choices=DisabledBy.choices, blank=True, default=DisabledBy.NOBODY)
    refuse_active_link = models.BooleanField(
        default=False, help_text="Refuse an order while the customer has an active order on the same link."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category__sort_order", "category__name", "id"]
        indexes = [models.Index(fields=["is_enabled", "category"], name="service_enabled_category")]
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="service_rate_not_negative"),
            models.CheckConstraint(condition=models.Q(min__lte=models.F("max")), name="service_min_not_above_max"),
        ]

    def __str__(self) -> str:
        return f"{self.pk}: {self.name}"

    @property
    def price(self) -> Decimal:
        """The rate customers pay: per 1,000 units, or per unit for a product."""
        return self.rate_override if self.rate_override is not None else self.rate

    @property
    def units_per_rate(self) -> int:
        return 1 if self.kind == self.Kind.PRODUCT else RATE_UNIT


class ServiceAlternative(models.Model):
    """Where an order of `service` goes when the providers before it refuse it: tried by `position`."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="alternatives")
    provider_service = models.ForeignKey(ProviderService, on_delete=models.CASCADE, related_name="alternative_for")
    position = models.PositiveSmallIntegerField(default=1, help_text="Tried in this order, lowest first.")

    class Meta:
        ordering = ["service", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["service", "provider_service"], name="service_alternative_once"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} → {self.provider_service}"


class Alert(models.Model):
    """Something an operator must look at, open from `first_seen_at` until its condition clears.

    At most one open alert per (kind, subject): the checks run every few minutes and only touch
    `last_seen_at` of an alert already open; each alert is e-mailed once (`notified_at`).
    """

    class Kind(models.TextChoices):
        LOW_BALANCE = "low_balance", "Low provider balance"
        PROVIDER_FAILING = "provider_failing", "Provider failing"
        ORDERS_STUCK = "orders_stuck", "Orders stuck"
        SERVICE_REMOVED = "service_removed", "Service removed upstream with active orders"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    # What the alert is about, as "<model>:<pk>" ("provider:3", "service:17").
    subject = models.CharField(max_length=64)
    message = models.CharField(max_length=1000)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"], condition=models.Q(resolved_at__isnull=True), name="alert_one_open"
            ),
        ]
        indexes = [models.Index(fields=["resolved_at", "notified_at"], name="alert_open_unnotified")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}"


class ServiceChange(models.Model):
    """What changed in the catalog and when: the customers' "updates" page."""

    class Kind(models.TextChoices):
        ADDED = "added", _("Added")
        REMOVED = "removed", _("Removed")
        RESTORED = "restored", _("Back")
        RATE = "rate", _("Rate")
        MIN = "min", _("Minimum")
        MAX = "max", _("Maximum")

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    old_value = models.CharField(max_length=64, blank=True, default="")
    new_value = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.service_id} {self.kind} {self.old_value} → {self.new_value}"


class Order(models.Model):
    """A customer's order. Its status changes only through `orders.services.transitions`."""

    class Status(models.TextChoices):
        AWAITING = "awaiting", "Awaiting placement"
        PLACING = "placing", "Placing"
        NEEDS_REVIEW = "needs_review", "Needs review"
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        PARTIAL = "partial", "Partial"
        CANCELED = "canceled", "Canceled"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="orders")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="orders")
    # Set when a failover placed the order at one of its service's alternatives (`provider` is then
    # that alternative's provider); empty means the service's own provider service.
    provider_service = models.ForeignKey(
        ProviderService,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="failover_orders",
        help_text="The alternative provider service the order was placed at, after a failover.",
    )
    link = models.CharField(max_length=2000, blank=True, default="")
    quantity = models.PositiveBigIntegerField()
    runs = models.PositiveIntegerField(null=True, blank=True)
    interval = models.PositiveIntegerField(null=True, blank=True)
    # The order type's own fields (comments, usernames, subscription settings...), sent upstream as they are.
    params = models.JSONField(default=dict, blank=True)
    rate = MoneyField(help_text="Our price per 1,000 when ordered.")
    charge = MoneyField()
    cost = MoneyField(default=Decimal("0"), help_text="What the provider should charge us.")
    refunded = MoneyField(default=Decimal("0"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AWAITING)
    upstream_order_id = models.CharField(max_length=64, null=True, blank=True)
    upstream_status = models.CharField(max_length=64, blank=True, default="")
    upstream_charge = MoneyField(
        null=True, blank=True, help_text="What the provider reports it charged, in our currency."
    )
    start_count = models.BigIntegerField(null=True, blank=True)
    remains = models.BigIntegerField(null=True, blank=True)
    error = models.CharField(
        max_length=500, blank=True, default="", help_text="The last problem, shown to the customer."
    )
    result = models.TextField(blank=True, default="", help_text="What a product order delivered (accounts, codes).")
    # A drip-feed the panel runs itself (the provider has none): this order is the customer's, charged for
    # every run; each run is a child order of `quantity`, placed upstream when due, charged nothing.
    dripfeed_by_panel = models.BooleanField(default=False)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="run_orders", editable=False
    )
    run_number = models.PositiveIntegerField(null=True, blank=True, editable=False)
    runs_placed = models.PositiveIntegerField(default=0, help_text="Runs created so far (drip-feed by the panel).")
    next_run_at = models.DateTimeField(null=True, blank=True, help_text="When the next run is due.")
    runs_stopped = models.BooleanField(default=False, help_text="Cancelled: the runs not yet placed never will be.")
    placement_attempts = models.PositiveSmallIntegerField(default=0)
    placing_started_at = models.DateTimeField(null=True, blank=True)
    placed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancel_sent_at = models.DateTimeField(null=True, blank=True)
    cancel_error = models.CharField(max_length=500, blank=True, default="")
    # When a status poll last asked about it: each poll starts with the least recently asked.
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        # Staff powers beyond Django's add/change/delete/view (see core/staff.py and the Support group).
        permissions = [
            ("resend_order", "Can resend an order in review to the provider"),
            ("attach_upstream_id", "Can attach the provider's order id to an order in review"),
            ("cancel_refund_order", "Can cancel an order not yet running upstream and refund it in full"),
            ("view_dashboard", "Can see the staff dashboard (revenue, cost, profit, providers)"),
            ("mark_completed_order", "Can mark an order completed by hand"),
            ("mark_partial_order", "Can mark an order partial by hand, refunding its remains"),
            ("cancel_order_by_hand", "Can cancel an unfinished order by hand with a full or partial refund"),
        ]
        indexes = [
            models.Index(fields=["status", "provider"], name="order_status_provider"),
            # The poll's queue: one provider's orders waiting upstream, least recently polled first.
            models.Index(
                fields=["provider", "last_polled_at", "id"],
                condition=models.Q(
                    status__in=["pending", "in_progress", "processing"], upstream_order_id__isnull=False
                ),
                name="order_poll_queue",
            ),
            models.Index(fields=["user", "-id"], name="order_user_recent"),
            models.Index(fields=["user", "link"], name="order_user_link"),
            # The admin's search by the provider's order id (the unique index leads with the provider).
            models.Index(fields=["upstream_order_id"], name="order_upstream_id"),
            # The admin's newest orders of one provider or service (orders/migrations/0010).
            # Partial on a condition only the admin's provider filter states (`id > 0`): the poll's own queries on a
            # provider's orders keep their index (order_poll_queue), which the planner could otherwise trade for this.
            models.Index(fields=["provider", "-id"], condition=models.Q(id__gt=0), name="order_provider_recent"),
            models.Index(fields=["service", "-id"], name="order_service_recent"),
            models.Index(
                fields=["next_run_at"], condition=models.Q(next_run_at__isnull=False), name="order_next_run_due"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "upstream_order_id"], name="order_upstream_id_once_per_provider"
            ),
            models.CheckConstraint(condition=models.Q(charge__gte=0), name="order_charge_not_negative"),
            models.CheckConstraint(
                condition=models.Q(refunded__gte=0, refunded__lte=models.F("charge")), name="order_refund_within_charge"
            ),
            models.UniqueConstraint(fields=["parent", "run_number"], name="order_run_once"),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk}"

    @property
    def total_quantity(self) -> int:
        return self.quantity * (self.runs or 1)

    @property
    def upstream_service(self) -> ProviderService:
        """The provider's service the order is (or is to be) placed at."""
        return self.provider_service if self.provider_service_id else self.service.provider_service

    @property
    def net_charge(self) -> Decimal:
        """What the customer finally pays for the order: the charge minus what was refunded."""
        return self.charge - self.refunded


# The same in SQL, for sums over many orders (dashboards): one definition of a net charge.
NET_CHARGE = models.F("charge") - models.F("refunded")


class OrderEvent(models.Model):
    """One step of an order's life: who moved it, when, from where to where and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=Order.Status.choices)
    to_status = models.CharField(max_length=16, choices=Order.Status.choices)
    actor = models.CharField(max_length=64)
    reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} → {self.to_status}"


class Refill(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"
        CANCELED = "canceled", "Canceled"
        FAILED = "failed", "Failed"

    OPEN = (Status.REQUESTED, Status.PENDING, Status.IN_PROGRESS)

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refills")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refills")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    upstream_refill_id = models.CharField(max_length=64, null=True, blank=True)
    upstream_status = models.CharField(max_length=64, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status"], name="refill_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(status__in=["requested", "pending", "in_progress"]),
                name="refill_one_open_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Refill {self.pk} of order {self.order_id}"


# Prices per customer live in their own module; imported here so Django registers them with the app.
from orders.customer_prices import CustomerDiscount, CustomerRate  # noqa: E402, F401
