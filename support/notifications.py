"""E-mail notifications: an outbox read by a periodic task, so orders and billing never call us.

`notifications_collect` reads the rows orders and billing write anyway (OrderEvent rows that
reach a final status, deposit rows of the ledger) past a stored cursor, plus balances below a
customer's threshold, and writes one Notification per (user, kind, reference). The unique
constraint makes a second collector, or a re-read, write nothing new. `notifications_send`
claims each pending row with a conditional UPDATE before sending it, so two senders never
send the same e-mail: at-least-once tasks, each e-mail once.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from billing.models import LedgerEntry
from core.money import money_str
from orders.models import OrderEvent
from orders.services.transitions import FINAL
from support.models import Notification, NotificationPreference, OutboxCursor

logger = logging.getLogger(__name__)

BATCH = 500  # rows read per query: a poll chunk finishes 100 orders at most, so one batch is a few polls
# A row's id is taken when it is inserted but seen only when its transaction commits, so a
# lower id can appear after a higher one. The cursor passes only rows older than this (far
# longer than any transaction here); younger rows are read again, which the unique constraint
# makes harmless.
SETTLE = timedelta(minutes=10)
# News of an order finished or a deposit made longer ago is noise (a first run on an old database).
MAX_AGE = timedelta(days=1)
# A row claimed longer ago than this belongs to a sender that died: it is tried again.
STUCK = timedelta(minutes=15)
MAX_ATTEMPTS = 3
# E-mails have no request to take the address from: PANEL_BASE_URL, or the demo's address.
LOCAL_BASE_URL = "http://localhost:8000"

Kind = Notification.Kind
# The preference that turns each kind off; staff e-mails cannot be turned off.
PREFERENCE_OF = {
    Kind.ORDER_FINISHED: "order_finished",
    Kind.DEPOSIT_CREDITED: "deposit_credited",
    Kind.TICKET_REPLY: "ticket_reply",
    Kind.LOW_BALANCE: "low_balance",
}


def notification_preferences(*, user_id: int) -> NotificationPreference:
    preference = NotificationPreference.objects.filter(user_id=user_id).first()
    return preference or NotificationPreference(user_id=user_id)


def notification_preferences_update(*, user_id: int, **values) -> NotificationPreference:
    """Save the customer's choices; a new threshold is checked again from the next run."""
    allowed = {"order_finished", "deposit_credited", "ticket_reply", "low_balance", "low_balance_threshold"}
    unknown = set(values) - allowed
    if unknown:
        raise TypeError(f"unknown preferences: {sorted(unknown)}")
    if not values.get("low_balance"):
        values["low_balance"] = False
    values["low_balance_alerted"] = False
    preference, _created = NotificationPreference.objects.update_or_create(user_id=user_id, defaults=values)
    return preference


def _wanted(preferences: dict[int, NotificationPreference], user_id: int, field: str) -> bool:
    preference = preferences.get(user_id)
    if preference is None:
        return NotificationPreference._meta.get_field(field).default
    return getattr(preference, field)


def _read(*, name: str, rows_after, make, now: datetime) -> int:
    """Read one event table past its cursor; `make(rows)` returns the Notifications the rows owe."""
    OutboxCursor.objects.get_or_create(name=name)
    written = 0
    with transaction.atomic():
        # The lock makes concurrent collectors take turns on this cursor.
        cursor = OutboxCursor.objects.select_for_update().get(name=name)
        after, position, settled = cursor.position, cursor.position, True
        while True:
            rows = list(rows_after(after)[:BATCH])
            if not rows:
                break
            fresh = [row for row in rows if row.created_at >= now - MAX_AGE]
            notifications = make(fresh) if fresh else []
            Notification.objects.bulk_create(notifications, ignore_conflicts=True)
            written += len(notifications)
            for row in rows:
                settled = settled and row.created_at < now - SETTLE
                if settled:
                    position = row.pk
            after = rows[-1].pk
            if len(rows) < BATCH:
                break
        if position != cursor.position:
            cursor.position = position
            cursor.save(update_fields=["position", "updated_at"])
    return written


def _order_notifications(events: list[OrderEvent]) -> list[Notification]:
    preferences = NotificationPreference.objects.in_bulk(
        {event.order.user_id for event in events}, field_name="user_id"
    )
    out = []
    for event in events:
        order = event.order
        if not _wanted(preferences, order.user_id, "order_finished"):
            continue
        out.append(
            Notification(
                user_id=order.user_id,
                kind=Kind.ORDER_FINISHED,
                reference=f"order:{order.pk}",
                context={
                    "order_id": order.pk,
                    "status": event.to_status,
                    "service": order.service.name,
                    "link": order.link,
                    "quantity": order.total_quantity,
                    "remains": order.remains,
                    "charge": money_str(order.charge),
                    "refunded": money_str(order.refunded),
                },
            )
        )
    return out


def _deposit_notifications(entries: list[LedgerEntry]) -> list[Notification]:
    preferences = NotificationPreference.objects.in_bulk({entry.user_id for entry in entries}, field_name="user_id")
    return [
        Notification(
            user_id=entry.user_id,
            kind=Kind.DEPOSIT_CREDITED,
            reference=f"ledger:{entry.pk}",
            context={"amount": money_str(entry.amount), "balance": money_str(entry.balance_after)},
        )
        for entry in entries
        if _wanted(preferences, entry.user_id, "deposit_credited")
    ]


def _low_balance_notifications() -> int:
    """One e-mail each time a balance falls below the customer's threshold; armed again once back above."""
    NotificationPreference.objects.filter(
        low_balance_alerted=True, user__balance__gte=F("low_balance_threshold")
    ).update(low_balance_alerted=False)
    below = NotificationPreference.objects.filter(
        low_balance=True, low_balance_alerted=False, user__balance__lt=F("low_balance_threshold")
    ).select_related("user")
    written = 0
    for preference in below:
        with transaction.atomic():
            # The conditional update is the claim: of two collectors, one writes the e-mail.
            claimed = NotificationPreference.objects.filter(pk=preference.pk, low_balance_alerted=False).update(
                low_balance_alerted=True, low_balance_episode=F("low_balance_episode") + 1
            )
            if not claimed:
                continue
            episode = NotificationPreference.objects.values_list("low_balance_episode", flat=True).get(pk=preference.pk)
            Notification.objects.get_or_create(
                user_id=preference.user_id,
                kind=Kind.LOW_BALANCE,
                reference=f"low-balance:{episode}",
                defaults={
                    "context": {
                        "balance": money_str(preference.user.balance),
                        "threshold": money_str(preference.low_balance_threshold),
                    }
                },
            )
            written += 1
    return written


def notifications_collect(*, now: datetime | None = None) -> int:
    """Write the notifications owed since the last run; returns how many rows it tried to write."""
    now = now or timezone.now()
    written = _read(
        name="order_events",
        rows_after=lambda after: (
            OrderEvent.objects.filter(pk__gt=after, to_status__in=FINAL).select_related("order__service").order_by("pk")
        ),
        make=_order_notifications,
        now=now,
    )
    written += _read(
        name="deposits",
        rows_after=lambda after: LedgerEntry.objects.filter(pk__gt=after, kind=LedgerEntry.Kind.DEPOSIT).order_by("pk"),
        make=_deposit_notifications,
        now=now,
    )
    return written + _low_balance_notifications()


def _requeue_stuck(now: datetime) -> None:
    stuck = Notification.objects.filter(status=Notification.Status.SENDING, claimed_at__lt=now - STUCK)
    stuck.filter(attempts__lt=MAX_ATTEMPTS).update(status=Notification.Status.PENDING)
    stuck.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=Notification.Status.FAILED, error="The sender stopped while sending."
    )


def notification_render(*, notification: Notification) -> tuple[str, str]:
    """Subject and text of the e-mail, in the recipient's language."""
    user = notification.user
    base_url = settings.PANEL_BASE_URL or LOCAL_BASE_URL
    context = {
        **notification.context,
        "user": user,
        "PANEL_NAME": settings.PANEL_NAME,
        "PANEL_URL": base_url,
        "PANEL_CURRENCY": settings.PANEL_CURRENCY,
        "account_url": base_url + reverse("account"),
    }
    with translation.override(getattr(user, "language", "") or settings.LANGUAGE_CODE):
        subject = render_to_string(f"support/email/{notification.kind}_subject.txt", context)
        body = render_to_string(f"support/email/{notification.kind}_body.txt", context)
    return " ".join(subject.split()), body.strip() + "\n"


def _deliver(notification: Notification) -> bool:
    user = notification.user
    field = PREFERENCE_OF.get(notification.kind)
    reason = ""
    if not user.is_active or not user.email:
        reason = "no active address"
    elif field and not getattr(notification_preferences(user_id=user.pk), field):
        reason = "turned off by the customer"
    if reason:
        Notification.objects.filter(pk=notification.pk).update(status=Notification.Status.SKIPPED, error=reason)
        return False
    try:
        subject, body = notification_render(notification=notification)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    except Exception as error:
        # SMTP and template failures alike: the row is retried by a later run, then given up.
        logger.warning("notification %s failed: %s", notification.pk, error)
        status = Notification.Status.PENDING if notification.attempts < MAX_ATTEMPTS else Notification.Status.FAILED
        Notification.objects.filter(pk=notification.pk).update(status=status, error=str(error)[:500])
        return False
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), error=""
    )
    return True


def notifications_send(*, limit: int = 200) -> int:
    """Send pending notifications, oldest first; returns how many e-mails went out."""
    now = timezone.now()
    _requeue_stuck(now)
    pending = Notification.objects.filter(status=Notification.Status.PENDING).order_by("pk")
    sent = 0
    for pk in list(pending.values_list("pk", flat=True)[:limit]):
        claimed = Notification.objects.filter(pk=pk, status=Notification.Status.PENDING).update(
            status=Notification.Status.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
        if not claimed:
            continue  # another sender has it
        notification = Notification.objects.select_related("user").get(pk=pk)
        sent += _deliver(notification)
    return sent
