"""E-mail notifications through the outbox, in the locmem e-mail backend."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

import support.notifications
from billing.models import FundsRequest, LedgerEntry, PaymentMethod
from billing.services import balance_credit, balance_debit, funds_request_approve
from orders.models import Order, OrderEvent
from support.models import Notification, NotificationPreference, OutboxCursor
from support.notifications import (
    notification_preferences_update,
    notification_render,
    notifications_collect,
    notifications_send,
)
from support.tasks import notifications_task
from tests.panel.factories import UserFactory
from tests.support.factories import charged_order

pytestmark = pytest.mark.django_db
S = Order.Status


def _run() -> int:
    notifications_collect()
    return notifications_send()


def _order_mails() -> list:
    """The factories credit balances as deposits, which are e-mailed too: keep the order e-mails."""
    return [message for message in mail.outbox if message.subject.startswith("Order")]


def test_a_completed_order_is_e_mailed_once_however_often_the_task_runs():
    customer = UserFactory(balance="10", email="c@example.com")
    order = charged_order(customer, status=S.COMPLETED)
    assert notifications_task() == 2  # the deposit the factory made, and the order
    assert notifications_task() == 0
    assert _run() == 0
    (message,) = _order_mails()
    assert message.to == ["c@example.com"]
    assert message.subject == f"Order {order.pk} completed"
    assert f"Your order {order.pk} ({order.service.name}) is completed." in message.body
    assert "Charge: 2.00 USD" in message.body


def test_a_partial_order_says_what_was_not_delivered_and_the_refund():
    customer = UserFactory(balance="10")
    order = charged_order(customer, status=S.PARTIAL, remains=250)
    _run()
    (message,) = _order_mails()
    assert message.subject == f"Order {order.pk} partially completed"
    assert "250 of 1000 were not delivered. 0.50 USD was refunded to your balance." in message.body


def test_a_canceled_order_says_the_refund():
    order = charged_order(UserFactory(balance="10"), status=S.CANCELED)
    _run()
    (message,) = _order_mails()
    assert message.subject == f"Order {order.pk} canceled"
    assert "was canceled. 2.00 USD was refunded to your balance." in message.body


def test_orders_still_running_owe_no_e_mail():
    customer = UserFactory(balance="10")
    charged_order(customer, status=S.IN_PROGRESS)
    charged_order(customer, status=S.NEEDS_REVIEW)
    _run()
    assert _order_mails() == []


def test_a_credited_deposit_is_e_mailed_with_the_new_balance():
    customer = UserFactory(balance="3")
    method = PaymentMethod.objects.create(name="Bank")
    funds = FundsRequest.objects.create(user=customer, method=method, amount=Decimal("25"))
    funds_request_approve(funds_request_id=funds.pk)
    _run()
    # The factory's balance is a deposit too.
    assert [m.subject for m in mail.outbox] == ["3.00 USD added to your balance", "25.00 USD added to your balance"]
    assert "Your balance is now 28.00 USD." in mail.outbox[1].body


def test_a_refund_or_an_adjustment_is_not_a_deposit():
    customer = UserFactory()
    balance_credit(user_id=customer.pk, amount=Decimal("5"), kind=LedgerEntry.Kind.ADJUSTMENT, memo="gift")
    assert _run() == 0


def test_each_notification_can_be_turned_off_in_account(client):
    customer = UserFactory(balance="10")
    client.force_login(customer)
    page = client.get(reverse("account")).content.decode()
    assert 'id="notification-form"' in page
    response = client.post(reverse("support:notification_settings"), {"deposit_credited": "on", "ticket_reply": "on"})
    assert response.status_code == 302 and response.url == reverse("account")
    preference = NotificationPreference.objects.get(user=customer)
    assert (preference.order_finished, preference.deposit_credited, preference.low_balance) == (False, True, False)
    charged_order(customer, status=S.COMPLETED)
    balance_credit(user_id=customer.pk, amount=Decimal("1"), kind=LedgerEntry.Kind.DEPOSIT, reference="pay:1")
    _run()
    assert [m.subject for m in mail.outbox] == ["10.00 USD added to your balance", "1.00 USD added to your balance"]


def test_a_notification_turned_off_after_it_was_written_is_skipped():
    customer = UserFactory(balance="10")
    charged_order(customer, status=S.COMPLETED)
    notifications_collect()
    notification_preferences_update(user_id=customer.pk, order_finished=False, deposit_credited=False)
    assert notifications_send() == 0 and mail.outbox == []
    assert set(Notification.objects.values_list("status", flat=True)) == {"skipped"}


def test_low_balance_is_e_mailed_once_per_fall_below_the_threshold(client):
    customer = UserFactory(balance="10")
    client.force_login(customer)
    response = client.post(reverse("support:notification_settings"), {"low_balance": "on"})
    assert response.content.decode().count("Give the balance below which we write to you.") == 1
    client.post(reverse("support:notification_settings"), {"low_balance": "on", "low_balance_threshold": "5"})
    balance_debit(user_id=customer.pk, amount=Decimal("6"), reference="order:a")
    _run()
    _run()
    assert [m.subject for m in mail.outbox if "low" in m.subject] == ["Your balance is low: 4.00 USD"]
    assert "below the 5.00 USD you asked us to watch" in mail.outbox[-1].body
    balance_credit(user_id=customer.pk, amount=Decimal("2"), kind=LedgerEntry.Kind.ADJUSTMENT, memo="up")
    _run()
    balance_debit(user_id=customer.pk, amount=Decimal("3"), reference="order:b")
    _run()
    assert [m.subject for m in mail.outbox if "low" in m.subject] == [
        "Your balance is low: 4.00 USD",
        "Your balance is low: 3.00 USD",
    ]


def test_old_events_are_not_news_but_the_cursor_passes_them():
    customer = UserFactory(balance="10")
    charged_order(customer, status=S.COMPLETED)
    OrderEvent.objects.update(created_at=timezone.now() - timedelta(days=2))
    LedgerEntry.objects.filter(kind="deposit").update(created_at=timezone.now() - timedelta(days=2))
    assert _run() == 0
    assert OutboxCursor.objects.get(name="order_events").position == OrderEvent.objects.latest("pk").pk


def test_the_cursor_stays_before_recent_rows_so_a_late_commit_is_still_seen():
    customer = UserFactory(balance="10")
    charged_order(customer, status=S.COMPLETED)
    _run()
    assert OutboxCursor.objects.get(name="order_events").position == 0
    # A row with a lower id that commits late is found by the next run.
    late = charged_order(UserFactory(balance="10"), status=S.CANCELED)
    OrderEvent.objects.filter(order=late).update(created_at=timezone.now() - timedelta(minutes=1))
    _run()
    assert {m.subject.split()[-1] for m in mail.outbox if m.subject.startswith("Order")} == {"completed", "canceled"}


def test_a_failing_mail_server_is_retried_then_given_up(monkeypatch):
    charged_order(UserFactory(balance="10"), status=S.COMPLETED)
    notifications_collect()

    def refuse(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("support.notifications.send_mail", refuse)
    for _attempt in range(3):
        notifications_send()
    statuses = sorted(Notification.objects.values_list("status", "attempts"))
    assert statuses == [("failed", 3), ("failed", 3)]
    assert "connection refused" in Notification.objects.first().error


def _languages_used(monkeypatch, notification: Notification) -> set[str]:
    seen = set()
    real = support.notifications.render_to_string

    def spy(name, context):
        seen.add(translation.get_language())
        return real(name, context)

    monkeypatch.setattr("support.notifications.render_to_string", spy)
    notification_render(notification=notification)
    return seen


def test_e_mails_are_rendered_in_the_customers_language_else_the_panels(monkeypatch, settings):
    settings.LANGUAGE_CODE = "en-us"
    charged_order(UserFactory(balance="10"), status=S.COMPLETED)
    notifications_collect()
    notification = Notification.objects.select_related("user").get(kind="order_finished")
    assert _languages_used(monkeypatch, notification) == {"en-us"}
    notification.user.language = "es"  # the account's language, once the user model has one
    assert _languages_used(monkeypatch, notification) == {"es"}
