from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.money import MoneyField
from orders.models import Alert, Order
from support.storage import private_storage


class Ticket(models.Model):
    """A customer's conversation with support. Its status says whose turn it is."""

    class SubjectType(models.TextChoices):
        ORDER_REFILL = "order_refill", _("Order: refill")
        ORDER_CANCEL = "order_cancel", _("Order: cancel")
        ORDER_SPEED_UP = "order_speed_up", _("Order: speed up")
        ORDER_OTHER = "order_other", _("Order: other")
        PAYMENT = "payment", _("Payment")
        OTHER = "other", _("Other")

    ORDER_SUBJECTS = (
        SubjectType.ORDER_REFILL,
        SubjectType.ORDER_CANCEL,
        SubjectType.ORDER_SPEED_UP,
        SubjectType.ORDER_OTHER,
    )

    class Status(models.TextChoices):
        # A new ticket nobody on staff has answered yet.
        OPEN = "open", _("Open")
        WAITING_STAFF = "waiting_staff", _("Waiting for staff")
        WAITING_CUSTOMER = "waiting_customer", _("Waiting for customer")
        CLOSED = "closed", _("Closed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets")
    subject_type = models.CharField(_("subject"), max_length=16, choices=SubjectType.choices)
    title = models.CharField(_("title"), max_length=200)
    orders = models.ManyToManyField(Order, blank=True, related_name="+", verbose_name=_("orders"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assigned to"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(auto_now_add=True)
    # Unread markers: a side has unread messages when the other side wrote after it last read.
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_staff_message_at = models.DateTimeField(null=True, blank=True)
    customer_read_at = models.DateTimeField(null=True, blank=True)
    staff_read_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        permissions = [("handle_ticket", "Can answer tickets and act on their orders")]
        indexes = [
            models.Index(fields=["status", "-last_message_at"], name="ticket_queue"),
            models.Index(fields=["user", "-last_message_at"], name="ticket_user_recent"),
        ]

    def __str__(self) -> str:
        return f"Ticket {self.pk}: {self.title}"

    @property
    def is_order_subject(self) -> bool:
        return self.subject_type in self.ORDER_SUBJECTS

    @property
    def unread_by_customer(self) -> bool:
        return self.last_staff_message_at is not None and (
            self.customer_read_at is None or self.customer_read_at < self.last_staff_message_at
        )

    @property
    def unread_by_staff(self) -> bool:
        return self.last_customer_message_at is not None and (
            self.staff_read_at is None or self.staff_read_at < self.last_customer_message_at
        )


class TicketMessage(models.Model):
    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        # What staff did from the ticket (a refill requested, an order cancelled): shown to both sides.
        EVENT = "event", _("Event")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ticket_messages")
    from_staff = models.BooleanField(default=False)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MESSAGE)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["author", "created_at"], name="ticket_message_author_recent")]

    def __str__(self) -> str:
        return f"Message {self.pk} on ticket {self.ticket_id}"


class TicketAttachment(models.Model):
    """An image a message carries, re-encoded on upload and kept outside the web root."""

    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(storage=private_storage, upload_to="tickets/%Y/%m/", max_length=255)
    name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Announcement(models.Model):
    """News staff publish for customers; the text is Markdown, sanitised when rendered."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), help_text=_("Markdown. Raw HTML is removed."))
    is_published = models.BooleanField(_("published"), default=True)
    starts_at = models.DateTimeField(_("shown from"), null=True, blank=True, help_text=_("Empty: at once."))
    ends_at = models.DateTimeField(_("shown until"), null=True, blank=True, help_text=_("Empty: always."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="announcement_ends_after_it_starts",
                violation_error_message=_("An announcement must end after it starts."),
            )
        ]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """Which e-mails a customer wants. A customer without a row gets the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    order_finished = models.BooleanField(_("an order is completed, partial or canceled"), default=True)
    deposit_credited = models.BooleanField(_("a deposit is credited"), default=True)
    ticket_reply = models.BooleanField(_("support answers a ticket"), default=True)
    low_balance = models.BooleanField(_("my balance falls below"), default=False)
    low_balance_threshold = MoneyField(_("threshold"), null=True, blank=True)
    # One e-mail per fall below the threshold: armed again when the balance is back above it.
    low_balance_alerted = models.BooleanField(default=False)
    low_balance_episode = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(low_balance=False) | Q(low_balance_threshold__gt=0),
                name="notification_low_balance_has_threshold",
                violation_error_message=_("Give the balance below which we write to you."),
            )
        ]

    def __str__(self) -> str:
        return f"Notification preferences of {self.user_id}"


class Notification(models.Model):
    """One e-mail owed to one person about one thing: the unique (user, kind, reference) sends it once."""

    class Kind(models.TextChoices):
        ORDER_FINISHED = "order_finished", _("Order finished")
        DEPOSIT_CREDITED = "deposit_credited", _("Deposit credited")
        TICKET_REPLY = "ticket_reply", _("Ticket reply")
        LOW_BALANCE = "low_balance", _("Low balance")
        STAFF_TICKET_MESSAGE = "staff_ticket_message", _("Customer wrote on a ticket")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    reference = models.CharField(max_length=64)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="notification_status")]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "reference"], name="notification_once_per_reference")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference} to {self.user_id}"


class OutboxCursor(models.Model):
    """How far the notification collector has read a table of events (the id of the last row read)."""

    name = models.CharField(max_length=32, unique=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"


class AlertRelay(models.Model):
    """An operator alert posted to the staff Telegram chat: one row per alert, so each is posted once.

    The alert e-mail is the orders app's (`Alert.notified_at`); orders never imports support, so
    the relay keeps its own mark here rather than a second column on the alert.
    """

    alert = models.OneToOneField(Alert, on_delete=models.CASCADE, primary_key=True, related_name="telegram_relay")
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"alert {self.alert_id} to Telegram"
