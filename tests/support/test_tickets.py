"""Tickets end to end through the website: customers open, answer, close and reopen their own; staff answer."""

import pytest
from django.core import mail
from django.urls import reverse

from support.models import Notification, Ticket, TicketMessage
from support.notifications import notifications_send
from support.services import TicketInvalid, ticket_open, ticket_staff_reply
from tests.panel.factories import UserFactory
from tests.support.factories import charged_order, staff_user

pytestmark = pytest.mark.django_db
T = Ticket.Status


def _open(client, **data):
    form = {"subject_type": "order_refill", "orders": "", "title": "Refill please", "body": "It dropped."}
    form.update(data)
    return client.post(reverse("support:ticket_new"), form)


def test_a_customer_opens_a_ticket_about_their_own_orders_and_reads_it(client):
    customer = UserFactory(balance="10")
    first, second = charged_order(customer), charged_order(customer)
    client.force_login(customer)
    response = _open(client, orders=f"{first.pk}, {second.pk} {first.pk}")
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response.url == reverse("support:ticket", args=[ticket.pk])
    assert (ticket.user, ticket.subject_type, ticket.status, ticket.title) == (
        customer,
        "order_refill",
        T.OPEN,
        "Refill please",
    )
    assert sorted(ticket.orders.values_list("pk", flat=True)) == [first.pk, second.pk]
    assert list(ticket.messages.values_list("body", "from_staff")) == [("It dropped.", False)]
    html = client.get(response.url).content.decode()
    assert "It dropped." in html and 'id="ticket-orders"' in html
    listing = client.get(reverse("support:tickets")).content.decode()
    assert f'data-ticket-id="{ticket.pk}"' in listing


def test_a_ticket_about_orders_refuses_orders_of_another_customer_as_if_they_did_not_exist(client):
    customer, other = UserFactory(balance="10"), UserFactory(balance="10")
    mine, theirs = charged_order(customer), charged_order(other)
    client.force_login(customer)
    response = _open(client, orders=f"{mine.pk},{theirs.pk},999999")
    assert response.status_code == 200
    assert f"Incorrect order ID: {theirs.pk}, 999999" in response.content.decode()
    assert not Ticket.objects.exists()


def test_an_order_subject_needs_order_ids_and_ids_must_be_numbers(client):
    client.force_login(UserFactory())
    assert "Give the IDs of the orders" in _open(client, orders="").content.decode()
    assert "Order IDs are numbers separated by commas." in _open(client, orders="12, abc").content.decode()
    assert not Ticket.objects.exists()


def test_a_payment_ticket_needs_no_orders(client):
    client.force_login(UserFactory())
    _open(client, subject_type="payment", title="Where is my deposit?")
    ticket = Ticket.objects.get()
    assert (ticket.subject_type, ticket.orders.count()) == ("payment", 0)


def test_no_customer_reads_or_touches_another_customers_ticket(client):
    owner, other = UserFactory(), UserFactory()
    ticket = ticket_open(user=owner, subject_type="other", title="Mine", body="secret text")
    client.force_login(other)
    assert client.get(reverse("support:ticket", args=[ticket.pk])).status_code == 404
    assert client.post(reverse("support:ticket", args=[ticket.pk]), {"body": "hi"}).status_code == 404
    assert client.post(reverse("support:ticket_close", args=[ticket.pk])).status_code == 404
    assert client.post(reverse("support:ticket_reopen", args=[ticket.pk])).status_code == 404
    assert "secret text" not in client.get(reverse("support:tickets")).content.decode()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.messages.count()) == (T.OPEN, 1)


def test_customers_are_refused_the_staff_queue_and_staff_need_the_support_permission(client):
    ticket = ticket_open(user=UserFactory(), subject_type="other", title="Help", body="x")
    pages = [reverse("support:staff_queue"), reverse("support:staff_ticket", args=[ticket.pk])]
    client.force_login(UserFactory())
    assert [client.get(page).status_code for page in pages] == [403, 403]
    client.force_login(staff_user("orders.cancel_refund_order"))
    assert [client.get(page).status_code for page in pages] == [403, 403]
    assert client.post(pages[1], {"body": "answer"}).status_code == 403
    assert client.post(reverse("support:staff_ticket_close", args=[ticket.pk])).status_code == 403
    assert TicketMessage.objects.count() == 1
    client.force_login(staff_user("support.handle_ticket"))
    assert [client.get(page).status_code for page in pages] == [200, 200]


def test_staff_answer_the_customer_reads_it_and_replies_and_unread_markers_follow(client, handler):
    customer = UserFactory()
    ticket = ticket_open(user=customer, subject_type="other", title="Help", body="first")
    assert ticket.unread_by_staff and not ticket.unread_by_customer

    client.force_login(handler)
    queue = client.get(reverse("support:staff_queue")).content.decode()
    assert 'data-unread="1"' in queue
    client.get(reverse("support:staff_ticket", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert not ticket.unread_by_staff
    response = client.post(reverse("support:staff_ticket", args=[ticket.pk]), {"body": "We are on it."})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assigned_to, ticket.unread_by_customer) == (T.WAITING_CUSTOMER, handler, True)

    client.force_login(customer)
    assert 'data-testid="nav-tickets-count"' in client.get(reverse("support:tickets")).content.decode()
    client.get(reverse("support:ticket", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert not ticket.unread_by_customer
    assert 'data-testid="nav-tickets-count"' not in client.get(reverse("support:tickets")).content.decode()
    client.post(reverse("support:ticket", args=[ticket.pk]), {"body": "Thanks, still nothing."})
    ticket.refresh_from_db()
    assert (ticket.status, ticket.unread_by_staff) == (T.WAITING_STAFF, True)
    assert list(ticket.messages.values_list("from_staff", flat=True)) == [False, True, False]


def test_replies_are_e_mailed_both_ways_after_commit_not_in_the_request(
    client, handler, django_capture_on_commit_callbacks
):
    customer = UserFactory(email="buyer@example.com")
    handler.email = "agent@example.com"
    handler.save()
    client.force_login(customer)
    with django_capture_on_commit_callbacks() as callbacks:
        _open(client, subject_type="payment", title="Deposit missing", body="I paid 10.")
    assert mail.outbox == [] and len(callbacks) == 1
    assert notifications_send() == 1
    assert mail.outbox[0].to == ["agent@example.com"]
    assert "New ticket" in mail.outbox[0].subject and "I paid 10." in mail.outbox[0].body

    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks():
        ticket_staff_reply(staff=handler, ticket_id=ticket.pk, body="Credited now.")
    assert notifications_send() == 1
    reply = mail.outbox[1]
    assert reply.to == ["buyer@example.com"]
    assert reply.subject == f"Ticket {ticket.pk}: support answered"
    assert "Credited now." in reply.body and f"/tickets/{ticket.pk}/" in reply.body

    # Assigned now: the customer's next message goes to the assignee only.
    other_staff = staff_user("support.handle_ticket", email="other@example.com")
    assert other_staff.email
    client.post(reverse("support:ticket", args=[ticket.pk]), {"body": "Thanks!"})
    notifications_send()
    assert [m.to for m in mail.outbox[2:]] == [["agent@example.com"]]
    assert Notification.objects.filter(status="sent").count() == 3


def test_a_reply_queues_the_sending_task_after_commit(handler, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("support.tasks.notifications_send_task.delay", lambda: queued.append(1))
    ticket = ticket_open(user=UserFactory(), subject_type="other", title="Help", body="x")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_staff_reply(staff=handler, ticket_id=ticket.pk, body="answer")
    assert queued == [1]


def test_a_customer_closes_and_reopens_and_cannot_write_on_a_closed_ticket(client):
    customer = UserFactory()
    ticket = ticket_open(user=customer, subject_type="other", title="Help", body="x")
    client.force_login(customer)
    client.post(reverse("support:ticket_close", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert ticket.status == T.CLOSED and ticket.closed_at is not None
    response = client.post(reverse("support:ticket", args=[ticket.pk]), {"body": "again"})
    assert "This ticket is closed" in response.content.decode()
    assert ticket.messages.count() == 1
    client.post(reverse("support:ticket_reopen", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert (ticket.status, ticket.closed_at) == (T.WAITING_STAFF, None)


def test_staff_assign_only_to_people_who_may_answer_tickets(client, handler):
    ticket = ticket_open(user=UserFactory(), subject_type="other", title="Help", body="x")
    colleague = staff_user("support.handle_ticket")
    bystander = staff_user()
    client.force_login(handler)
    url = reverse("support:staff_ticket_assign", args=[ticket.pk])
    client.post(url, {"assigned_to": colleague.pk})
    ticket.refresh_from_db()
    assert ticket.assigned_to == colleague
    client.post(url, {"assigned_to": bystander.pk})
    ticket.refresh_from_db()
    assert ticket.assigned_to == colleague
    client.post(url, {"assigned_to": ""})
    ticket.refresh_from_db()
    assert ticket.assigned_to is None


def test_the_queue_filters_by_status_and_finds_a_ticket_by_order_id(client, handler):
    customer = UserFactory(balance="10")
    order = charged_order(customer)
    about_order = ticket_open(user=customer, subject_type="order_other", title="A", body="x", order_ids=[order.pk])
    other = ticket_open(user=customer, subject_type="other", title="B", body="y")
    ticket_staff_reply(staff=handler, ticket_id=other.pk, body="z")
    client.force_login(handler)

    def listed(**params) -> set[int]:
        response = client.get(reverse("support:staff_queue"), params)
        return {t.pk for t in response.context["ticket_rows"]}

    assert listed() == {about_order.pk, other.pk}
    assert listed(status="open") == {about_order.pk}
    assert listed(status="waiting_customer") == {other.pk}
    # A number finds the ticket of that id and the tickets naming the order of that id.
    assert listed(q=str(order.pk)) == {about_order.pk} | ({other.pk} & {order.pk})
    assert listed(mine="1") == {other.pk}
    assert listed(unassigned="1") == {about_order.pk}


def test_an_empty_or_oversized_message_is_refused_with_a_clear_error():
    customer = UserFactory()
    with pytest.raises(TicketInvalid, match="The message is required"):
        ticket_open(user=customer, subject_type="other", title="Help", body="   ")
    with pytest.raises(TicketInvalid, match="longer than 200"):
        ticket_open(user=customer, subject_type="other", title="x" * 201, body="b")
    with pytest.raises(TicketInvalid, match="Choose a subject"):
        ticket_open(user=customer, subject_type="nonsense", title="t", body="b")
