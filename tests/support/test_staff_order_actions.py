"""Staff act on the orders a ticket names, through the order services and their permissions."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import LedgerEntry
from billing.selectors import ledger_mismatches
from orders.models import Order, Refill
from support.models import Ticket, TicketMessage
from support.services import SupportForbidden, ticket_open, ticket_order_action
from tests.panel.factories import UserFactory
from tests.support.factories import charged_order, staff_user

pytestmark = pytest.mark.django_db
S = Order.Status


def _ticket_about(*orders: Order) -> Ticket:
    return ticket_open(
        user=orders[0].user, subject_type="order_other", title="Orders", body="help", order_ids=[o.pk for o in orders]
    )


def _act(client, ticket: Ticket, order: Order, action: str):
    return client.post(reverse("support:staff_order_action", args=[ticket.pk, order.pk, action]))


def test_staff_request_a_refill_of_a_completed_order_from_the_ticket(client, handler):
    order = charged_order(UserFactory(balance="10"), status=S.COMPLETED)
    ticket = _ticket_about(order)
    client.force_login(handler)
    page = client.get(reverse("support:staff_ticket", args=[ticket.pk])).content.decode()
    assert 'data-testid="order-refill"' in page
    response = _act(client, ticket, order, "refill")
    assert response.status_code == 302
    refill = Refill.objects.get()
    assert (refill.order, refill.user, refill.status) == (order, order.user, Refill.Status.REQUESTED)
    event = TicketMessage.objects.get(kind="event")
    assert event.body == f"Refill {refill.pk} requested for order {order.pk}." and event.from_staff


def test_staff_request_a_cancel_upstream_of_a_running_order(client, handler):
    order = charged_order(UserFactory(balance="10"), status=S.IN_PROGRESS)
    ticket = _ticket_about(order)
    client.force_login(handler)
    _act(client, ticket, order, "cancel")
    order.refresh_from_db()
    assert order.cancel_requested_at is not None and order.status == S.IN_PROGRESS
    event = TicketMessage.objects.get(kind="event")
    assert event.body == f"Cancellation of order {order.pk} requested from the provider."


def test_staff_cancel_and_refund_an_order_awaiting_review_in_full(client, handler):
    customer = UserFactory(balance="10")
    order = charged_order(customer, status=S.NEEDS_REVIEW)
    ticket = _ticket_about(order)
    client.force_login(handler)
    _act(client, ticket, order, "cancel_refund")
    order.refresh_from_db()
    customer.refresh_from_db()
    assert (order.status, order.refunded, customer.balance) == (S.CANCELED, Decimal("2"), Decimal("10"))
    assert LedgerEntry.objects.filter(kind="refund", reference=f"order:{order.pk}").count() == 1
    assert order.events.last().actor == f"staff:{handler.pk}"
    assert ledger_mismatches() == []


def test_the_order_services_rules_hold_from_a_ticket_too(client, handler):
    order = charged_order(UserFactory(balance="10"), status=S.IN_PROGRESS)
    ticket = _ticket_about(order)
    client.force_login(handler)
    response = _act(client, ticket, order, "cancel_refund")
    messages = [str(m) for m in response.wsgi_request._messages]
    assert len(messages) == 1 and "only orders awaiting placement or review" in messages[0]
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.IN_PROGRESS, Decimal("0"))


def test_staff_without_the_refund_permission_cannot_cancel_and_refund(client):
    order = charged_order(UserFactory(balance="10"), status=S.NEEDS_REVIEW)
    ticket = _ticket_about(order)
    answers_only = staff_user("support.handle_ticket")
    client.force_login(answers_only)
    page = client.get(reverse("support:staff_ticket", args=[ticket.pk])).content.decode()
    assert 'data-testid="order-cancel-refund"' not in page
    assert "Cancelling with a refund needs the permission to cancel and refund orders." in page
    assert _act(client, ticket, order, "cancel_refund").status_code == 403
    with pytest.raises(SupportForbidden):
        ticket_order_action(staff=answers_only, ticket_id=ticket.pk, order_id=order.pk, action="cancel_refund")
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.NEEDS_REVIEW, Decimal("0"))
    assert not TicketMessage.objects.filter(kind="event").exists()


def test_the_support_permission_alone_makes_the_customers_own_requests_for_them(client):
    order = charged_order(UserFactory(balance="10"), status=S.COMPLETED)
    ticket = _ticket_about(order)
    client.force_login(staff_user("support.handle_ticket"))
    _act(client, ticket, order, "refill")
    assert Refill.objects.get().order == order


def test_staff_without_the_support_permission_cannot_act_on_orders_even_with_the_orders_ones(client):
    customer = UserFactory(balance="10")
    completed, in_review = charged_order(customer, status=S.COMPLETED), charged_order(customer, status=S.NEEDS_REVIEW)
    ticket = _ticket_about(completed, in_review)
    orders_only = staff_user("orders.cancel_refund_order", "orders.view_order", "orders.change_order")
    client.force_login(orders_only)
    for order, action in ((completed, "refill"), (in_review, "cancel"), (in_review, "cancel_refund")):
        assert _act(client, ticket, order, action).status_code == 403
        with pytest.raises(SupportForbidden):
            ticket_order_action(staff=orders_only, ticket_id=ticket.pk, order_id=order.pk, action=action)
    assert not Refill.objects.exists()
    in_review.refresh_from_db()
    assert (in_review.status, in_review.refunded, in_review.cancel_requested_at) == (S.NEEDS_REVIEW, Decimal("0"), None)


def test_an_order_the_ticket_does_not_name_is_refused(client, handler):
    customer = UserFactory(balance="10")
    named, unnamed = charged_order(customer, status=S.COMPLETED), charged_order(customer, status=S.COMPLETED)
    ticket = _ticket_about(named)
    client.force_login(handler)
    response = _act(client, ticket, unnamed, "refill")
    assert "is not named in this ticket" in str(next(iter(response.wsgi_request._messages)))
    assert not Refill.objects.exists()
    assert _act(client, ticket, named, "explode").status_code == 404


def test_the_shipped_support_group_answers_tickets_and_cancels_with_a_refund(client):
    from django.contrib.auth.models import Group

    order = charged_order(UserFactory(balance="10"), status=S.NEEDS_REVIEW)
    ticket = _ticket_about(order)
    member = UserFactory(is_staff=True)
    member.groups.add(Group.objects.get(name="Support"))
    client.force_login(member)
    assert client.get(reverse("support:staff_queue")).status_code == 200
    _act(client, ticket, order, "cancel_refund")
    order.refresh_from_db()
    assert order.status == S.CANCELED
