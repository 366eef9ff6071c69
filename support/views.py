"""The customers' support pages: tickets, attachments, news and e-mail preferences. Thin callers of the services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import PanelError
from core.ids import id_parse
from orders.models import ServiceChange
from orders.selectors import services_for_sale
from support.forms import NotificationPreferenceForm, TicketOpenForm, TicketReplyForm
from support.models import Ticket
from support.notifications import notification_preferences, notification_preferences_update
from support.selectors import (
    announcements_current,
    attachment_for,
    ticket_conversation,
    ticket_of_customer,
    tickets_of_customer,
)
from support.services import SupportError, ticket_close, ticket_mark_read, ticket_open, ticket_reopen, ticket_reply

TICKETS_PER_PAGE = 25
NEWS_PER_PAGE = 10
LATEST_SERVICE_CHANGES = 5


def form_error(form, error: PanelError, *, default_field: str | None = None) -> None:
    """Show a service's refusal on the field it is about (or on the form)."""
    field = getattr(error, "field", None) or default_field
    form.add_error(field if field in form.fields else None, error.message)


@login_required
def tickets(request: HttpRequest) -> HttpResponse:
    page = Paginator(tickets_of_customer(user=request.user), TICKETS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "support/tickets.html", {"page": page, "ticket_rows": list(page.object_list)})


@login_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    initial = {}
    order_id = id_parse(request.GET.get("order", ""))
    if order_id is not None:
        initial = {"orders": str(order_id), "subject_type": Ticket.SubjectType.ORDER_OTHER}
    form = TicketOpenForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = ticket_open(
                user=request.user,
                subject_type=data["subject_type"],
                title=data["title"],
                body=data["body"],
                order_ids=data["orders"],
                files=data["attachments"],
            )
        except PanelError as error:
            form_error(form, error)
        else:
            opened = _("Ticket %(ticket)s opened: we answer here and by e-mail.") % {"ticket": ticket.pk}
            messages.success(request, opened)
            return redirect("support:ticket", ticket_id=ticket.pk)
    return render(request, "support/ticket_new.html", {"form": form})


@login_required
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_of_customer(user=request.user, ticket_id=ticket_id)
    form = TicketReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket_reply(
                user=request.user,
                ticket_id=ticket.pk,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
            )
        except PanelError as error:
            form_error(form, error)
        else:
            messages.success(request, _("Your message was sent."))
            return redirect("support:ticket", ticket_id=ticket.pk)
    if request.method == "GET":
        ticket_mark_read(ticket=ticket, by_staff=False)
    context = {
        "ticket": ticket,
        "conversation": ticket_conversation(ticket=ticket),
        "ticket_orders": list(ticket.orders.select_related("service").order_by("pk")),
        "form": form,
    }
    return render(request, "support/ticket_detail.html", context)


@login_required
@require_POST
def ticket_close_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_of_customer(user=request.user, ticket_id=ticket_id)
    ticket_close(user=request.user, ticket_id=ticket.pk)
    messages.success(request, _("Ticket %(ticket)s closed.") % {"ticket": ticket.pk})
    return redirect("support:ticket", ticket_id=ticket.pk)


@login_required
@require_POST
def ticket_reopen_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_of_customer(user=request.user, ticket_id=ticket_id)
    try:
        ticket_reopen(user=request.user, ticket_id=ticket.pk)
    except SupportError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Ticket %(ticket)s reopened.") % {"ticket": ticket.pk})
    return redirect("support:ticket", ticket_id=ticket.pk)


@login_required
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """An image of a ticket, for the ticket's owner and ticket handlers only (anyone else: 404)."""
    item = attachment_for(user=request.user, attachment_id=attachment_id)
    try:
        handle = item.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    response = FileResponse(handle, content_type=item.content_type, filename=item.name)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    # Even opened on its own, the file runs nothing.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


@login_required
def news(request: HttpRequest) -> HttpResponse:
    page = Paginator(announcements_current(), NEWS_PER_PAGE).get_page(request.GET.get("page"))
    changes = ServiceChange.objects.filter(service__in=services_for_sale().values("pk")).select_related("service")
    context = {
        "page": page,
        "announcements": list(page.object_list),
        "service_changes": list(changes[:LATEST_SERVICE_CHANGES]),
    }
    return render(request, "support/news.html", context)


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    current = notification_preferences(user_id=request.user.pk)
    form = NotificationPreferenceForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        notification_preferences_update(user_id=request.user.pk, **form.cleaned_data)
        messages.success(request, _("Your e-mail notifications are saved."))
        return redirect("account")
    return render(request, "support/notification_settings.html", {"form": form})
