"""Support tickets and staff alerts.

Customers open, answer, close and reopen their own tickets within the spam limits; staff who
hold `support.handle_ticket` answer, assign, and act on the orders a ticket names through the
same order services (and permissions) as everywhere else. E-mails are owed as Notification
rows written in the same transaction and sent by a Celery task after commit, never here.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import PanelError
from core.money import money_str
from orders.models import Alert, Order
from orders.services.alerts import staff_email
from orders.services.dripfeed import customer_order_cancel
from orders.services.ordering import order_cancel_refund, refill_request
from support.attachments import CleanImage, attachments_clean
from support.models import AlertRelay, Notification, Ticket, TicketAttachment, TicketMessage
from support.selectors import can_handle_tickets, ticket_handlers
from support.telegram import TelegramError, telegram_configured, telegram_send

logger = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_BODY = 10_000
MAX_ORDERS = 100
EXCERPT = 1000

# What each order action needs besides `support.handle_ticket`. A refill or an upstream cancel is
# the customer's own request, made for them (the provider decides, the refund follows what it
# reports); cancelling with a full refund is the operator's power, asked for as in the order admin.
ORDER_ACTION_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "refill": (),
    "cancel": (),
    "cancel_refund": ("orders.cancel_refund_order",),
}


class SupportError(PanelError):
    """A refused support action; `field` names the form field it is about, when there is one."""

    field: str | None = None

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TicketInvalid(SupportError):
    default_message = "The ticket could not be saved."


class TicketLimit(SupportError):
    default_message = "Too many tickets or messages: please wait a little."


class SupportForbidden(SupportError):
    default_message = "You are not allowed to do that."


def _text(value: str, *, name: str, limit: int, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise TicketInvalid(_("%(name)s is required.") % {"name": name}, field=field)
    if len(value) > limit:
        raise TicketInvalid(
            _("%(name)s is longer than %(limit)s characters.") % {"name": name, "limit": limit}, field=field
        )
    return value


def _lock_customer(user_id: int) -> None:
    """Serialise one customer's ticket writes, so two requests at once cannot both pass a limit."""
    get_user_model().objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).first()


def _check_message_rate(*, user) -> None:
    limit = settings.SUPPORT_MAX_MESSAGES_PER_HOUR
    since = timezone.now() - timedelta(hours=1)
    sent = TicketMessage.objects.filter(author=user, from_staff=False, created_at__gte=since).count()
    if sent >= limit:
        raise TicketLimit(
            _("You sent %(count)s messages in the last hour, the most we accept: please wait a little.")
            % {"count": limit},
            field="body",
        )


def _check_open_tickets(*, user) -> None:
    limit = settings.SUPPORT_MAX_OPEN_TICKETS
    open_count = Ticket.objects.filter(user=user).exclude(status=Ticket.Status.CLOSED).count()
    if open_count >= limit:
        raise TicketLimit(
            _("You have %(count)s open tickets, the most we accept: close one, or wait for our answer.")
            % {"count": open_count}
        )


def _own_orders(*, user, order_ids: Sequence[int]) -> list[int]:
    ids = sorted(set(order_ids))
    if len(ids) > MAX_ORDERS:
        raise TicketInvalid(_("Name at most %(count)s orders.") % {"count": MAX_ORDERS}, field="orders")
    found = set(Order.objects.filter(user=user, pk__in=ids).values_list("pk", flat=True))
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        # Someone else's order reads exactly like one that does not exist.
        raise TicketInvalid(_("Incorrect order ID: %(ids)s") % {"ids": ", ".join(missing)}, field="orders")
    return ids


def _attach(*, message: TicketMessage, images: list[CleanImage]) -> None:
    for image in images:
        attachment = TicketAttachment(
            message=message,
            name=image.name,
            content_type=image.content_type,
            size=len(image.content),
            width=image.width,
            height=image.height,
        )
        attachment.file.save(image.storage_name, ContentFile(image.content), save=False)
        attachment.save()


def _queue_sending() -> None:
    from support.tasks import notifications_send_task

    try:
        notifications_send_task.delay()
    except Exception:
        logger.exception("could not queue notifications; the periodic task sends them")


def _notify_staff(*, ticket: Ticket, message: TicketMessage) -> None:
    """E-mail the ticket's assignee, or every ticket handler while nobody has it."""
    recipients = [ticket.assigned_to] if ticket.assigned_to_id else list(ticket_handlers())
    context = {
        "ticket_id": ticket.pk,
        "title": ticket.title,
        "customer": ticket.user.username,
        "excerpt": message.body[:EXCERPT],
        "is_new": ticket.status == Ticket.Status.OPEN,
    }
    Notification.objects.bulk_create(
        [
            Notification(
                user=staff,
                kind=Notification.Kind.STAFF_TICKET_MESSAGE,
                reference=f"ticket-message:{message.pk}",
                context=context,
            )
            for staff in recipients
            if staff.email and staff.pk != message.author_id
        ],
        ignore_conflicts=True,
    )
    transaction.on_commit(_queue_sending)


def _notify_customer(*, ticket: Ticket, message: TicketMessage) -> None:
    Notification.objects.get_or_create(
        user_id=ticket.user_id,
        kind=Notification.Kind.TICKET_REPLY,
        reference=f"ticket-message:{message.pk}",
        defaults={"context": {"ticket_id": ticket.pk, "title": ticket.title, "excerpt": message.body[:EXCERPT]}},
    )
    transaction.on_commit(_queue_sending)


# Customers


def ticket_open(
    *,
    user,
    subject_type: str,
    title: str,
    body: str,
    order_ids: Sequence[int] = (),
    files: Sequence[UploadedFile] = (),
) -> Ticket:
    """Open a ticket with its first message. Order subjects must name the customer's own orders."""
    if subject_type not in Ticket.SubjectType.values:
        raise TicketInvalid(_("Choose a subject."), field="subject_type")
    title = _text(title, name=_("The title"), limit=MAX_TITLE, field="title")
    body = _text(body, name=_("The message"), limit=MAX_BODY, field="body")
    if subject_type in Ticket.ORDER_SUBJECTS and not order_ids:
        raise TicketInvalid(_("Give the IDs of the orders this is about."), field="orders")
    orders = _own_orders(user=user, order_ids=order_ids)
    images = attachments_clean(uploads=list(files))
    with transaction.atomic():
        _lock_customer(user.pk)
        _check_open_tickets(user=user)
        _check_message_rate(user=user)
        now = timezone.now()
        ticket = Ticket.objects.create(
            user=user,
            subject_type=subject_type,
            title=title,
            last_message_at=now,
            last_customer_message_at=now,
            customer_read_at=now,
        )
        ticket.orders.set(orders)
        message = TicketMessage.objects.create(ticket=ticket, author=user, body=body)
        _attach(message=message, images=images)
        _notify_staff(ticket=ticket, message=message)
    return ticket


def ticket_reply(*, user, ticket_id: int, body: str, files: Sequence[UploadedFile] = ()) -> TicketMessage:
    """The customer answers their own open ticket; it goes back to staff."""
    body = _text(body, name=_("The message"), limit=MAX_BODY, field="body")
    images = attachments_clean(uploads=list(files))
    with transaction.atomic():
        _lock_customer(user.pk)
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id, user=user).first()
        if ticket is None:
            raise TicketInvalid(_("No such ticket."))
        if ticket.status == Ticket.Status.CLOSED:
            raise TicketInvalid(_("This ticket is closed: reopen it to write again."), field="body")
        _check_message_rate(user=user)
        message = TicketMessage.objects.create(ticket=ticket, author=user, body=body)
        _attach(message=message, images=images)
        now = timezone.now()
        if ticket.status == Ticket.Status.WAITING_CUSTOMER:
            ticket.status = Ticket.Status.WAITING_STAFF
        ticket.last_message_at = ticket.last_customer_message_at = ticket.customer_read_at = now
        ticket.save(update_fields=["status", "last_message_at", "last_customer_message_at", "customer_read_at"])
        _notify_staff(ticket=ticket, message=message)
    return message


def ticket_close(*, user, ticket_id: int) -> Ticket:
    """Close a ticket: its owner, or a ticket handler."""
    with transaction.atomic():
        ticket = _ticket_for_actor(user=user, ticket_id=ticket_id)
        if ticket.status != Ticket.Status.CLOSED:
            ticket.status = Ticket.Status.CLOSED
            ticket.closed_at = timezone.now()
            ticket.save(update_fields=["status", "closed_at"])
    return ticket


def ticket_reopen(*, user, ticket_id: int) -> Ticket:
    """Reopen a closed ticket; a customer's reopening counts against their open tickets."""
    with transaction.atomic():
        staff = can_handle_tickets(user)
        if not staff:
            _lock_customer(user.pk)
        ticket = _ticket_for_actor(user=user, ticket_id=ticket_id)
        if ticket.status != Ticket.Status.CLOSED:
            return ticket
        if not staff:
            _check_open_tickets(user=user)
        ticket.status = Ticket.Status.WAITING_CUSTOMER if staff else Ticket.Status.WAITING_STAFF
        ticket.closed_at = None
        ticket.save(update_fields=["status", "closed_at"])
    return ticket


def _ticket_for_actor(*, user, ticket_id: int) -> Ticket:
    tickets = Ticket.objects.select_for_update()
    if not can_handle_tickets(user):
        tickets = tickets.filter(user=user)
    ticket = tickets.filter(pk=ticket_id).first()
    if ticket is None:
        raise TicketInvalid(_("No such ticket."))
    return ticket


def ticket_mark_read(*, ticket: Ticket, by_staff: bool) -> None:
    """Clear the unread marker of one side (written only when there is something unread)."""
    now = timezone.now()
    if by_staff and ticket.unread_by_staff:
        Ticket.objects.filter(pk=ticket.pk).update(staff_read_at=now)
        ticket.staff_read_at = now
    elif not by_staff and ticket.unread_by_customer:
        Ticket.objects.filter(pk=ticket.pk).update(customer_read_at=now)
        ticket.customer_read_at = now


# Staff


def _require_handler(staff) -> None:
    if not can_handle_tickets(staff):
        raise SupportForbidden(_("You need the permission to answer tickets."))


def ticket_staff_reply(*, staff, ticket_id: int, body: str, files: Sequence[UploadedFile] = ()) -> TicketMessage:
    """Staff answer: the ticket waits for the customer, who gets an e-mail (unless they turned it off)."""
    _require_handler(staff)
    body = _text(body, name=_("The message"), limit=MAX_BODY, field="body")
    images = attachments_clean(uploads=list(files))
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None:
            raise TicketInvalid(_("No such ticket."))
        if ticket.status == Ticket.Status.CLOSED:
            raise TicketInvalid(_("This ticket is closed: reopen it to write again."), field="body")
        message = TicketMessage.objects.create(ticket=ticket, author=staff, from_staff=True, body=body)
        _attach(message=message, images=images)
        now = timezone.now()
        ticket.status = Ticket.Status.WAITING_CUSTOMER
        ticket.last_message_at = ticket.last_staff_message_at = ticket.staff_read_at = now
        fields = ["status", "last_message_at", "last_staff_message_at", "staff_read_at"]
        if ticket.assigned_to_id is None:
            ticket.assigned_to = staff
            fields.append("assigned_to")
        ticket.save(update_fields=fields)
        _notify_customer(ticket=ticket, message=message)
    return message


def ticket_assign(*, staff, ticket_id: int, assignee_id: int | None) -> Ticket:
    """Give the ticket to a ticket handler (or to nobody)."""
    _require_handler(staff)
    assignee = None
    if assignee_id is not None:
        assignee = ticket_handlers().filter(pk=assignee_id).first()
        if assignee is None:
            raise TicketInvalid(_("Tickets can be assigned only to staff who may answer them."), field="assigned_to")
    updated = Ticket.objects.filter(pk=ticket_id).update(assigned_to=assignee)
    if not updated:
        raise TicketInvalid(_("No such ticket."))
    return Ticket.objects.get(pk=ticket_id)


def ticket_order_action(*, staff, ticket_id: int, order_id: int, action: str) -> str:
    """Act on an order the ticket names, through the order services; returns what happened, in a sentence.

    `refill` and `cancel` are the customer's own requests made on their behalf (the provider
    decides, the refund follows what it reports); `cancel_refund` is the operator's cancel of an
    order not running upstream. The sentence is also written on the ticket, for both sides to read.
    """
    _require_handler(staff)
    permissions = ORDER_ACTION_PERMISSIONS.get(action)
    if permissions is None:
        raise TicketInvalid(_("Unknown action."))
    if not staff.has_perms(permissions):
        raise SupportForbidden(_("You need the permission to cancel and refund orders."))
    ticket = Ticket.objects.select_related("user").filter(pk=ticket_id).first()
    if ticket is None:
        raise TicketInvalid(_("No such ticket."))
    if not ticket.orders.filter(pk=order_id).exists():
        raise TicketInvalid(_("Order %(order)s is not named in this ticket.") % {"order": order_id})
    if action == "refill":
        refill = refill_request(user=ticket.user, order_id=order_id)
        text = _("Refill %(refill)s requested for order %(order)s.") % {"refill": refill.pk, "order": order_id}
    elif action == "cancel":
        order = customer_order_cancel(user=ticket.user, order_id=order_id)
        if order.status == Order.Status.CANCELED:
            text = _("Order %(order)s cancelled and %(amount)s %(currency)s refunded.") % {
                "order": order_id,
                "amount": money_str(order.refunded),
                "currency": settings.PANEL_CURRENCY,
            }
        else:
            text = _("Cancellation of order %(order)s requested from the provider.") % {"order": order_id}
    else:
        order = order_cancel_refund(order_id=order_id, staff_id=staff.pk, reason=f"ticket {ticket.pk}")
        text = _("Order %(order)s cancelled and %(amount)s %(currency)s refunded.") % {
            "order": order_id,
            "amount": money_str(order.refunded),
            "currency": settings.PANEL_CURRENCY,
        }
    now = timezone.now()
    TicketMessage.objects.create(ticket=ticket, author=staff, from_staff=True, kind=TicketMessage.Kind.EVENT, body=text)
    Ticket.objects.filter(pk=ticket.pk).update(last_message_at=now, last_staff_message_at=now, staff_read_at=now)
    return text


# Staff alerts


def staff_notify(subject: str, text: str) -> dict[str, bool]:
    """Tell the operators: e-mail to STAFF_ALERT_EMAILS (else the staff who view alerts) and Telegram when set.

    Call it from a Celery task (it waits on SMTP and Telegram); each channel's failure is
    logged and reported in the answer, never raised, so one dead channel does not hide the other.
    """
    outcome: dict[str, bool] = {}
    sent = staff_email(subject=f"[{settings.PANEL_NAME}] {subject}", text=text)
    if sent is not None:
        outcome["email"] = sent
    if telegram_configured():
        try:
            telegram_send(text=f"{subject}\n\n{text}")
            outcome["telegram"] = True
        except TelegramError as error:
            logger.warning("staff Telegram message %r failed: %s", subject, error.message)
            outcome["telegram"] = False
    return outcome


def alerts_relay_to_telegram() -> int:
    """Post each open operator alert to the staff Telegram chat once; how many were posted.

    A relay row is claimed with a conditional UPDATE before the post, so two runs at once never
    post one alert twice; a failed post releases its claim and the next run tries again.
    """
    if not telegram_configured():
        return 0
    fresh = Alert.objects.filter(resolved_at__isnull=True, telegram_relay__isnull=True).values_list("pk", flat=True)
    AlertRelay.objects.bulk_create([AlertRelay(alert_id=pk) for pk in fresh], ignore_conflicts=True)
    posted = 0
    for relay in AlertRelay.objects.filter(sent_at__isnull=True).select_related("alert").order_by("pk"):
        if not AlertRelay.objects.filter(pk=relay.pk, sent_at__isnull=True).update(sent_at=timezone.now()):
            continue
        alert = relay.alert
        try:
            telegram_send(text=f"[{settings.PANEL_NAME}] {alert.get_kind_display()}\n\n{alert.message}")
        except TelegramError as error:
            AlertRelay.objects.filter(pk=relay.pk).update(sent_at=None)
            logger.warning("alert %s could not be posted to Telegram: %s", alert.pk, error.message)
            break
        posted += 1
    return posted
