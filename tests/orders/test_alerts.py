"""Operator alerts end to end with the simulator: raised once, e-mailed once, shown on the dashboard, resolved."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from orders.models import Alert, Order, OrderEvent
from orders.services.alerts import (
    alert_recipients,
    alerts_notify,
    alerts_refresh,
    service_usual_seconds,
    stuck_threshold_seconds,
)
from orders.services.catalog import services_sync
from orders.services.cycle import orders_cycle
from orders.services.ordering import order_create
from orders.tasks import alerts_check_task, provider_balances_task
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status
K = Alert.Kind


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.STAFF_ALERT_EMAILS = ["ops@panel.test"]
    return settings


def _open(kind=None):
    alerts = Alert.objects.filter(resolved_at__isnull=True)
    return list(alerts.filter(kind=kind) if kind else alerts)


def _order(upstream, quantity=1000):
    user = UserFactory(balance="1000")
    service = upstream.service(1)
    return order_create(user=user, service_id=service.pk, data={"link": "https://insta.test/p/1", "quantity": quantity})


# Low balance.


def test_a_low_provider_balance_is_raised_once_e_mailed_once_and_resolved_when_topped_up(upstream, eager):
    upstream.sim.balance = Decimal("4.5")
    provider_balances_task()
    alerts_check_task()

    (alert,) = _open()
    assert (alert.kind, alert.subject) == (K.LOW_BALANCE, f"provider:{upstream.provider.pk}")
    assert alert.message == "sim-standard: our balance there is 4.50000 USD, below its alert threshold 10.00000."
    assert alert.notified_at is not None
    (message,) = mail.outbox
    assert message.to == ["ops@panel.test"]
    assert message.subject == "1 new alert: Low provider balance"
    assert "- Low provider balance (since " in message.body and alert.message in message.body
    assert "/admin/dashboard/" in message.body

    first_seen = alert.first_seen_at
    alerts_check_task()
    alerts_check_task()
    (again,) = _open()
    assert (again.pk, again.first_seen_at) == (alert.pk, first_seen)
    assert again.last_seen_at > alert.last_seen_at
    assert len(mail.outbox) == 1

    upstream.sim.balance = Decimal("500")
    provider_balances_task()
    alerts_check_task()
    assert _open() == []
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert len(mail.outbox) == 1

    # Low again later: a new alert, told again.
    upstream.sim.balance = Decimal("1")
    provider_balances_task()
    alerts_check_task()
    assert Alert.objects.count() == 2 and len(_open()) == 1
    assert len(mail.outbox) == 2


def test_an_inactive_provider_or_one_never_checked_raises_nothing(upstream, eager):
    from providers.models import Provider

    Provider.objects.filter(pk=upstream.provider.pk).update(balance=Decimal("1"), is_active=False)
    assert alerts_refresh().raised == 0
    Provider.objects.filter(pk=upstream.provider.pk).update(balance=None, is_active=True)
    assert alerts_refresh().raised == 0


# A provider failing.


def test_a_provider_failing_for_the_set_minutes_raises_an_alert_resolved_by_its_first_answer(upstream, eager):
    from providers.models import Provider

    eager.ALERT_PROVIDER_FAILING_MINUTES = 10
    eager.PROVIDER_SAFE_RETRIES = 0
    upstream.sim.inject("500", "balance", times=2)
    provider_balances_task()
    provider_balances_task()
    provider = Provider.objects.get(pk=upstream.provider.pk)
    assert provider.consecutive_failures == 2 and provider.failing_since is not None
    assert alerts_refresh(now=provider.failing_since + timedelta(minutes=9)).raised == 0

    alerts_refresh(now=provider.failing_since + timedelta(minutes=10))
    alerts_notify()

    (alert,) = _open()
    assert (alert.kind, alert.subject) == (K.PROVIDER_FAILING, f"provider:{provider.pk}")
    assert alert.message.startswith("sim-standard: every call has failed for 10 min (2 in a row); last error: ")
    assert "500" in alert.message
    assert mail.outbox[0].subject == "1 new alert: Provider failing"

    provider_balances_task()
    alerts_check_task()
    assert _open() == []
    assert len(mail.outbox) == 1


# Orders stuck.


def _history(upstream, *, count: int, minutes: int) -> None:
    """`count` completed orders of the service, each done `minutes` after it was taken."""
    for _ in range(count):
        upstream.sim.force_next_fate("completed")
        _order(upstream)
    orders_cycle()
    upstream.finish_everything()
    orders_cycle()
    done = Order.objects.filter(status=S.COMPLETED)
    assert done.count() == count
    for order in done:
        Order.objects.filter(pk=order.pk).update(finished_at=order.created_at + timedelta(minutes=minutes))


def _in_status_since(order, moment) -> None:
    Order.objects.filter(pk=order.pk).update(created_at=moment - timedelta(minutes=5))
    OrderEvent.objects.filter(order=order).update(created_at=moment)


def test_orders_stuck_far_longer_than_their_services_usual_time_raise_one_alert_per_service(upstream, eager):
    _history(upstream, count=5, minutes=60)
    service = upstream.service(1)
    assert service_usual_seconds(service_id=service.pk) == 3600
    upstream.sim.force_next_fate("completed", count=3)
    stuck, slow, fresh = _order(upstream), _order(upstream), _order(upstream)
    orders_cycle()
    now = timezone.now()
    _in_status_since(stuck, now - timedelta(hours=5))
    _in_status_since(slow, now - timedelta(hours=3, minutes=30))
    # Taken long ago, but it moved a minute ago: in its status for a minute only.
    _in_status_since(fresh, now - timedelta(minutes=1))
    Order.objects.filter(pk=fresh.pk).update(created_at=now - timedelta(hours=9))

    alerts_check_task()

    (alert,) = _open()
    assert (alert.kind, alert.subject) == (K.ORDERS_STUCK, f"service:{service.pk}")
    assert alert.message == (
        f"2 orders of service {service.pk} ({service.name[:100]}) have stayed in one status over 3 h "
        f"(usual time 60 min); the oldest, order {stuck.pk}, is Pending for 5 h."
    )
    (message,) = mail.outbox
    assert message.subject == "1 new alert: Orders stuck"

    # The provider delivers: they complete, the alert resolves.
    upstream.finish_everything()
    orders_cycle()
    alerts_check_task()
    assert _open() == []
    assert len(mail.outbox) == 1


def test_the_floor_and_the_unknown_usual_time_bound_the_threshold(settings):
    settings.ALERT_STUCK_FACTOR, settings.ALERT_STUCK_MIN_SECONDS, settings.ALERT_STUCK_UNKNOWN_SECONDS = 3, 3600, 86400
    assert stuck_threshold_seconds(usual=60) == 3600
    assert stuck_threshold_seconds(usual=7200) == 21600
    assert stuck_threshold_seconds(usual=None) == 86400


def test_a_service_without_enough_completed_orders_uses_the_unknown_usual_time(upstream, eager):
    _history(upstream, count=4, minutes=60)
    assert service_usual_seconds(service_id=upstream.service(1).pk) is None
    order = _order(upstream)
    orders_cycle()
    _in_status_since(order, timezone.now() - timedelta(hours=5))
    assert alerts_refresh().raised == 0
    _in_status_since(order, timezone.now() - timedelta(hours=25))
    assert alerts_refresh().raised == 1
    assert "over 24 h (no usual time yet)" in _open()[0].message


def test_an_order_awaiting_placement_for_hours_is_stuck_too(upstream, eager, monkeypatch):
    monkeypatch.setattr("orders.services.ordering.order_placement_queue", lambda order_id: None)
    order = _order(upstream)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert alerts_refresh().raised == 1
    assert f"order {order.pk}, is Awaiting placement for 25 h" in _open()[0].message


# A service removed upstream.


def test_a_service_removed_upstream_with_active_orders_raises_an_alert_until_they_finish(upstream, eager):
    upstream.sim.force_next_fate("completed", count=2)
    first, second = _order(upstream), _order(upstream)
    orders_cycle()
    upstream.sim.withdraw_service(1)
    services_sync(provider_id=upstream.provider.pk)
    service = upstream.service(1)
    assert not service.is_enabled and not service.provider_service.is_available

    alerts_check_task()

    (alert,) = _open()
    assert (alert.kind, alert.subject) == (K.SERVICE_REMOVED, f"provider_service:{service.provider_service.pk}")
    assert alert.message == (
        f"sim-standard no longer lists its service 1 ({service.provider_service.name[:100]}); "
        "2 of our orders there are still active."
    )
    assert mail.outbox[0].subject == "1 new alert: Service removed upstream with active orders"

    upstream.finish_everything()
    orders_cycle()
    assert set(Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {S.COMPLETED}
    alerts_check_task()
    assert _open() == []


def test_a_removed_service_without_active_orders_raises_nothing(upstream, eager):
    upstream.sim.withdraw_service(1)
    services_sync(provider_id=upstream.provider.pk)
    assert alerts_refresh().raised == 0


# Many at once, and who hears of them.


def test_several_new_alerts_go_out_in_one_e_mail_and_each_only_once(upstream, eager, monkeypatch):
    monkeypatch.setattr("orders.services.ordering.order_placement_queue", lambda order_id: None)
    upstream.sim.balance = Decimal("2")
    provider_balances_task()
    order = _order(upstream)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=2))
    alerts_check_task()
    assert len(_open()) == 2
    (message,) = mail.outbox
    assert message.subject == "2 new alerts: Low provider balance, Orders stuck"
    assert alerts_notify() == 0
    assert len(mail.outbox) == 1


def test_a_failed_send_marks_nothing_and_the_next_run_sends(upstream, eager, monkeypatch):
    upstream.sim.balance = Decimal("2")
    provider_balances_task()

    def refuse(*args, **kwargs):
        raise OSError("SMTP server unreachable")

    monkeypatch.setattr("orders.services.alerts.send_mail", refuse)
    alerts_check_task()
    (alert,) = _open()
    assert alert.notified_at is None and mail.outbox == []
    monkeypatch.undo()
    alerts_check_task()
    alert.refresh_from_db()
    assert alert.notified_at is not None and len(mail.outbox) == 1


def test_recipients_are_the_active_staff_allowed_to_view_alerts_unless_the_setting_names_them(settings):
    settings.STAFF_ALERT_EMAILS = []
    view_alert = Permission.objects.get(content_type__app_label="orders", codename="view_alert")
    UserFactory(is_staff=True, email="direct@panel.test").user_permissions.add(view_alert)
    watchers = Group.objects.create(name="Watchers")
    watchers.permissions.add(view_alert)
    UserFactory(is_staff=True, email="group@panel.test").groups.add(watchers)
    UserFactory(is_staff=True, is_superuser=True, email="boss@panel.test")
    UserFactory(is_staff=True, email="no-permission@panel.test")
    UserFactory(is_staff=True, is_active=False, email="gone@panel.test").user_permissions.add(view_alert)
    UserFactory(email="customer@panel.test").user_permissions.add(view_alert)
    UserFactory(is_staff=True, email="").user_permissions.add(view_alert)
    assert alert_recipients() == ["boss@panel.test", "direct@panel.test", "group@panel.test"]
    settings.STAFF_ALERT_EMAILS = ["ops@panel.test", "night@panel.test"]
    assert alert_recipients() == ["ops@panel.test", "night@panel.test"]


def test_with_nobody_to_tell_alerts_wait_unsent(upstream, settings):
    settings.STAFF_ALERT_EMAILS = []
    upstream.sim.balance = Decimal("2")
    provider_balances_task()
    alerts_refresh()
    assert alerts_notify() == 0
    assert _open()[0].notified_at is None and mail.outbox == []


def test_only_one_open_alert_per_kind_and_subject_is_possible():
    now = timezone.now()
    Alert.objects.create(kind=K.LOW_BALANCE, subject="provider:1", message="a", first_seen_at=now, last_seen_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(kind=K.LOW_BALANCE, subject="provider:1", message="b", first_seen_at=now, last_seen_at=now)
    Alert.objects.update(resolved_at=now)
    Alert.objects.create(kind=K.LOW_BALANCE, subject="provider:1", message="c", first_seen_at=now, last_seen_at=now)


def test_the_check_runs_on_the_beat_schedule():
    assert settings.CELERY_BEAT_SCHEDULE["alerts-check"] == {
        "task": "orders.tasks.alerts_check_task",
        "schedule": settings.ALERT_CHECK_INTERVAL,
    }


# The dashboard.


def _staff(client, *codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="orders", codename__in=codenames))
    client.force_login(user)


def test_the_dashboard_lists_open_alerts_to_staff_allowed_to_view_them(client, upstream, eager):
    upstream.sim.balance = Decimal("2")
    provider_balances_task()
    alerts_check_task()
    _staff(client, "view_dashboard", "view_alert")
    page = client.get("/admin/dashboard/").text
    assert 'id="staff-alerts"' in page and "Alerts (1 open)" in page
    assert 'data-testid="alert-low_balance"' in page
    assert f'<a href="/admin/providers/provider/{upstream.provider.pk}/change/">sim-standard: our balance' in page


def test_the_dashboard_hides_alerts_from_staff_without_the_permission(client, upstream, eager):
    upstream.sim.balance = Decimal("2")
    provider_balances_task()
    alerts_check_task()
    _staff(client, "view_dashboard")
    page = client.get("/admin/dashboard/").text
    assert 'id="staff-dashboard"' in page and 'id="staff-alerts"' not in page


def test_the_alert_list_in_the_admin_is_read_only_and_needs_view_alert(client):
    now = timezone.now()
    Alert.objects.create(kind=K.LOW_BALANCE, subject="provider:1", message="low", first_seen_at=now, last_seen_at=now)
    _staff(client)
    assert client.get("/admin/orders/alert/").status_code == 403
    _staff(client, "view_alert")
    page = client.get("/admin/orders/alert/")
    assert page.status_code == 200 and "low" in page.text
    assert client.get("/admin/orders/alert/add/").status_code == 403


# Real threads on PostgreSQL.


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_notifiers_at_once_send_each_alert_once(settings, monkeypatch):
    settings.STAFF_ALERT_EMAILS = ["ops@panel.test"]
    now = timezone.now()
    for n in range(3):
        Alert.objects.create(
            kind=K.LOW_BALANCE, subject=f"provider:{n}", message="m", first_seen_at=now, last_seen_at=now
        )
    from orders.services import alerts

    real_send = alerts.send_mail

    def slow_send(*args, **kwargs):
        time.sleep(0.5)  # the other notifier runs while this one holds the rows
        return real_send(*args, **kwargs)

    monkeypatch.setattr(alerts, "send_mail", slow_send)
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def notify() -> None:
        try:
            barrier.wait()
            sent.append(alerts_notify())
        finally:
            connection.close()

    threads = [threading.Thread(target=notify) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(sent) == [0, 3]
    assert len(mail.outbox) == 1
    assert Alert.objects.filter(notified_at__isnull=True).count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_checks_at_once_open_one_alert():
    from tests.providers.factories import ProviderFactory

    ProviderFactory(balance=Decimal("1"), low_balance_alert=Decimal("10"))
    barrier = threading.Barrier(2)
    errors: list = []

    def check() -> None:
        try:
            barrier.wait()
            alerts_refresh()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 1
