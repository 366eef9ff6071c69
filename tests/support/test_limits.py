"""Limits against spam: open tickets per customer and messages per hour (settings)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse

from support.models import Ticket, TicketMessage
from support.services import TicketLimit, ticket_close, ticket_open, ticket_reopen, ticket_reply, ticket_staff_reply
from tests.panel.factories import UserFactory
from tests.support.factories import staff_user


@pytest.mark.django_db
def test_a_customer_cannot_open_more_tickets_than_the_limit_until_one_is_closed(settings, client):
    settings.SUPPORT_MAX_OPEN_TICKETS = 2
    customer = UserFactory()
    first = ticket_open(user=customer, subject_type="other", title="1", body="b")
    ticket_open(user=customer, subject_type="other", title="2", body="b")
    client.force_login(customer)
    response = client.post(reverse("support:ticket_new"), {"subject_type": "other", "title": "3", "body": "b"})
    assert "You have 2 open tickets, the most we accept" in response.content.decode()
    assert Ticket.objects.count() == 2
    ticket_close(user=customer, ticket_id=first.pk)
    ticket_open(user=customer, subject_type="other", title="3", body="b")
    with pytest.raises(TicketLimit):
        ticket_reopen(user=customer, ticket_id=first.pk)
    assert Ticket.objects.get(pk=first.pk).status == Ticket.Status.CLOSED


@pytest.mark.django_db
def test_a_customer_cannot_send_more_messages_an_hour_than_the_limit(settings, client):
    settings.SUPPORT_MAX_MESSAGES_PER_HOUR = 3
    customer = UserFactory()
    ticket = ticket_open(user=customer, subject_type="other", title="t", body="1")
    ticket_reply(user=customer, ticket_id=ticket.pk, body="2")
    ticket_reply(user=customer, ticket_id=ticket.pk, body="3")
    client.force_login(customer)
    response = client.post(reverse("support:ticket", args=[ticket.pk]), {"body": "4"})
    assert "You sent 3 messages in the last hour" in response.content.decode()
    assert ticket.messages.count() == 3
    # Staff answers do not count, and an hour later the customer may write again.
    ticket_staff_reply(staff=staff_user("support.handle_ticket"), ticket_id=ticket.pk, body="answer")
    TicketMessage.objects.filter(from_staff=False).update(created_at=ticket.created_at - timedelta(minutes=61))
    ticket_reply(user=customer, ticket_id=ticket.pk, body="4")
    assert ticket.messages.count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_openings_never_pass_the_open_ticket_limit(settings):
    settings.SUPPORT_MAX_OPEN_TICKETS = 3
    customer = UserFactory()
    barrier = threading.Barrier(8)
    outcomes: list = [None] * 8

    def open_one(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = ticket_open(user=customer, subject_type="other", title=str(i), body="b")
        except Exception as error:
            outcomes[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(isinstance(o, Ticket) for o in outcomes) == 3
    assert sum(isinstance(o, TicketLimit) for o in outcomes) == 5
    assert Ticket.objects.filter(user=customer).count() == 3
