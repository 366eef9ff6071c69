"""Reads of the support app: whose tickets, what is unread, which announcements are on."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from core.ids import id_parse
from support.models import Announcement, Ticket, TicketAttachment

HANDLE_PERMISSION = "support.handle_ticket"

UNREAD_BY_CUSTOMER = Q(last_staff_message_at__isnull=False) & (
    Q(customer_read_at__isnull=True) | Q(customer_read_at__lt=F("last_staff_message_at"))
)
UNREAD_BY_STAFF = Q(last_customer_message_at__isnull=False) & (
    Q(staff_read_at__isnull=True) | Q(staff_read_at__lt=F("last_customer_message_at"))
)


def can_handle_tickets(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff and user.has_perm(HANDLE_PERMISSION))


def tickets_of_customer(*, user) -> QuerySet[Ticket]:
    return Ticket.objects.filter(user=user)


def ticket_of_customer(*, user, ticket_id: int) -> Ticket:
    """The customer's own ticket; another customer's is as absent as one that does not exist."""
    ticket = Ticket.objects.filter(pk=ticket_id, user=user).first()
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def ticket_conversation(*, ticket: Ticket) -> list:
    return list(ticket.messages.select_related("author").prefetch_related("attachments"))


def tickets_unread_count(*, user) -> int:
    return Ticket.objects.filter(UNREAD_BY_CUSTOMER, user=user).count()


def staff_queue(*, status: str = "", assigned_to_id: int | None = None, unassigned: bool = False, query: str = ""):
    tickets = Ticket.objects.select_related("user", "assigned_to")
    tickets = tickets.filter(status=status) if status else tickets.exclude(status=Ticket.Status.CLOSED)
    if assigned_to_id:
        tickets = tickets.filter(assigned_to_id=assigned_to_id)
    if unassigned:
        tickets = tickets.filter(assigned_to__isnull=True)
    if query:
        # A number is a ticket or an order id, matched exactly: "19" must not find every customer whose
        # name contains 19. Words match the customer's name or the title.
        number = id_parse(query)
        if number is not None:
            match = Q(pk=number) | Q(orders__pk=number)
        else:
            match = Q(user__username__icontains=query) | Q(title__icontains=query)
        tickets = tickets.filter(match).distinct()
    return tickets


def staff_queue_counts() -> dict[str, int]:
    counts = {status: 0 for status in Ticket.Status.values}
    for row in Ticket.objects.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def ticket_handlers() -> QuerySet:
    """Active staff who may answer tickets: superusers and holders of the permission, directly or by group."""
    permission = Permission.objects.filter(codename="handle_ticket", content_type__app_label="support").first()
    holders = Q(is_superuser=True)
    if permission is not None:
        holders |= Q(user_permissions=permission) | Q(groups__permissions=permission)
    return get_user_model().objects.filter(holders, is_active=True, is_staff=True).distinct().order_by("username")


def attachment_for(*, user, attachment_id: int) -> TicketAttachment:
    """An attachment for its ticket's owner or a ticket handler; anyone else gets 404, as if it did not exist."""
    attachment = TicketAttachment.objects.select_related("message__ticket").filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such attachment.")
    if attachment.message.ticket.user_id != user.pk and not can_handle_tickets(user):
        raise Http404("No such attachment.")
    return attachment


def announcements_current(*, now: datetime | None = None) -> QuerySet[Announcement]:
    now = now or timezone.now()
    return Announcement.objects.filter(
        Q(starts_at__isnull=True) | Q(starts_at__lte=now),
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        is_published=True,
    ).order_by(Coalesce("starts_at", "created_at").desc(), "-id")
