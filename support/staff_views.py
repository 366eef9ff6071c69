"""The staff's support pages: the queue and a ticket with its orders. Each needs `support.handle_ticket`."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import PanelError
from core.money import money_str
from core.staff import staff_permission_required
from orders.models import Order
from orders.rules import order_can_cancel, order_can_refill
from orders.selectors import orders_last_refill
from orders.services.ordering import STAFF_CANCELLABLE
from support.forms import TicketAssignForm, TicketReplyForm
from support.models import Ticket
from support.selectors import (
    HANDLE_PERMISSION,
    can_handle_tickets,
    staff_queue,
    staff_queue_counts,
    ticket_conversation,
    ticket_handlers,
)
from support.services import (
    ORDER_ACTION_PERMISSIONS,
    ticket_assign,
    ticket_close,
    ticket_mark_read,
    ticket_order_action,
    ticket_reopen,
    ticket_staff_reply,
)
from support.views import form_error

QUEUE_PER_PAGE = 50


def handler_required(view):
    """Signed in, staff, and holding `support.handle_ticket` (core.staff); anyone else is refused (403)."""
    guarded = staff_permission_required(HANDLE_PERMISSION)(view)

    @login_required
    @wraps(guarded)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not can_handle_tickets(request.user):
            raise PermissionDenied(_("You need the permission to answer tickets."))
        return guarded(request, *args, **kwargs)

    return wrapper


@handler_required
def queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Ticket.Status.values:
        status = ""
    mine = request.GET.get("mine") == "1"
    unassigned = request.GET.get("unassigned") == "1"
    query = request.GET.get("q", "").strip()[:200]
    tickets = staff_queue(
        status=status, assigned_to_id=request.user.pk if mine else None, unassigned=unassigned, query=query
    )
    page = Paginator(tickets, QUEUE_PER_PAGE).get_page(request.GET.get("page"))
    counts = staff_queue_counts()
    tabs = [{"key": "", "label": _("Not closed"), "count": sum(n for s, n in counts.items() if s != "closed")}] + [
        {"key": key, "label": label, "count": counts[key]} for key, label in Ticket.Status.choices
    ]
    params = {"status": status, "q": query, "mine": "1" if mine else "", "unassigned": "1" if unassigned else ""}
    context = {
        "page": page,
        "ticket_rows": list(page.object_list),
        "tabs": tabs,
        "status": status,
        "query": query,
        "mine": mine,
        "unassigned": unassigned,
        "page_params": urlencode({k: v for k, v in params.items() if v}),
    }
    return render(request, "support/staff/queue.html", context)


def _ticket(ticket_id: int) -> Ticket:
    ticket = Ticket.objects.select_related("user", "assigned_to").filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def _order_rows(ticket: Ticket, *, may_refund: bool) -> list[Order]:
    rows = list(ticket.orders.select_related("service").order_by("pk"))
    last = orders_last_refill(orders=rows)
    for order in rows:
        order.charge_shown = money_str(order.charge)
        order.refunded_shown = money_str(order.refunded)
        # The customer's own rules (orders.rules): staff ask on their behalf.
        order.can_refill = order_can_refill(order=order, last_refill=last.get(order.pk))
        order.can_cancel = order_can_cancel(order=order)
        order.can_cancel_refund = may_refund and order.status in STAFF_CANCELLABLE
        order.refund_needs_permission = not may_refund and order.status in STAFF_CANCELLABLE
    return rows


@handler_required
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket(ticket_id)
    form = TicketReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket_staff_reply(
                staff=request.user,
                ticket_id=ticket.pk,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
            )
        except PanelError as error:
            form_error(form, error)
        else:
            messages.success(request, _("Answer sent to %(customer)s.") % {"customer": ticket.user.username})
            return redirect("support:staff_ticket", ticket_id=ticket.pk)
    if request.method == "GET":
        ticket_mark_read(ticket=ticket, by_staff=True)
    may_refund = request.user.has_perms(ORDER_ACTION_PERMISSIONS["cancel_refund"])
    context = {
        "ticket": ticket,
        "conversation": ticket_conversation(ticket=ticket),
        "order_rows": _order_rows(ticket, may_refund=may_refund),
        "may_refund": may_refund,
        "form": form,
        "assign_form": TicketAssignForm(initial={"assigned_to": ticket.assigned_to_id}, handlers=ticket_handlers()),
    }
    return render(request, "support/staff/ticket.html", context)


@handler_required
@require_POST
def ticket_assign_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket(ticket_id)
    form = TicketAssignForm(request.POST, handlers=ticket_handlers())
    if not form.is_valid():
        messages.error(request, _("Choose someone who may answer tickets."))
        return redirect("support:staff_ticket", ticket_id=ticket.pk)
    try:
        ticket = ticket_assign(staff=request.user, ticket_id=ticket.pk, assignee_id=form.cleaned_data["assigned_to"])
    except PanelError as error:
        messages.error(request, error.message)
    else:
        who = ticket.assigned_to.username if ticket.assigned_to else _("nobody")
        messages.success(request, _("Ticket %(ticket)s assigned to %(who)s.") % {"ticket": ticket.pk, "who": who})
    return redirect("support:staff_ticket", ticket_id=ticket.pk)


@handler_required
@require_POST
def ticket_close_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket(ticket_id)
    ticket_close(user=request.user, ticket_id=ticket.pk)
    messages.success(request, _("Ticket %(ticket)s closed.") % {"ticket": ticket.pk})
    return redirect("support:staff_ticket", ticket_id=ticket.pk)


@handler_required
@require_POST
def ticket_reopen_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket(ticket_id)
    ticket_reopen(user=request.user, ticket_id=ticket.pk)
    messages.success(request, _("Ticket %(ticket)s reopened.") % {"ticket": ticket.pk})
    return redirect("support:staff_ticket", ticket_id=ticket.pk)


@handler_required
@require_POST
def order_action(request: HttpRequest, ticket_id: int, order_id: int, action: str) -> HttpResponse:
    """Refill, cancel upstream, or cancel and refund an order the ticket names (each permission-checked)."""
    ticket = _ticket(ticket_id)
    if action not in ORDER_ACTION_PERMISSIONS:
        raise Http404("No such action.")
    if not request.user.has_perms(ORDER_ACTION_PERMISSIONS[action]):
        raise PermissionDenied(_("You need the permission to cancel and refund orders."))
    try:
        text = ticket_order_action(staff=request.user, ticket_id=ticket.pk, order_id=order_id, action=action)
    except PanelError as error:
        messages.error(request, _("Order %(order)s: %(error)s") % {"order": order_id, "error": error.message})
    else:
        messages.success(request, text)
    return redirect("support:staff_ticket", ticket_id=ticket.pk)
