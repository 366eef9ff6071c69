"""Real threads on PostgreSQL: two runs of the outbox at once send each e-mail once."""

import threading

import pytest
from django.core import mail
from django.db import connection

from orders.models import Order
from support.models import Notification
from support.notifications import notifications_collect, notifications_send
from tests.panel.factories import UserFactory
from tests.support.factories import charged_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = Order.Status


def _run_together(count: int, work) -> list:
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def runner(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = work(i)
        except Exception as error:
            outcomes[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _collect_and_send(_i: int) -> int:
    notifications_collect()
    return notifications_send()


def test_two_outbox_runs_at_once_send_each_e_mail_once():
    customers = [UserFactory(balance="10") for _ in range(5)]
    for customer in customers:
        charged_order(customer, status=S.COMPLETED)
        charged_order(customer, status=S.CANCELED)
    outcomes = _run_together(2, _collect_and_send)
    assert all(isinstance(o, int) for o in outcomes), outcomes
    # Five deposits (the factory's) and ten finished orders: fifteen e-mails, each once.
    assert sum(outcomes) == 15
    assert len(mail.outbox) == 15
    assert len({(m.to[0], m.subject) for m in mail.outbox}) == 15
    assert Notification.objects.filter(status="sent").count() == 15


def test_many_senders_at_once_never_send_a_notification_twice():
    for _ in range(4):
        charged_order(UserFactory(balance="10"), status=S.COMPLETED)
    notifications_collect()
    outcomes = _run_together(6, lambda i: notifications_send())
    assert sum(outcomes) == 8 and len(mail.outbox) == 8
    assert sorted(Notification.objects.values_list("attempts", flat=True)) == [1] * 8
