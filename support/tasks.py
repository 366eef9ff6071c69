"""Celery tasks of the support app: thin callers of the services, each safe to run twice."""

from celery import shared_task

from orders.tasks import periodic_lock
from support.notifications import notifications_collect, notifications_send
from support.services import alerts_relay_to_telegram, staff_notify


@shared_task
def notifications_task() -> int:
    """Beat: collect what the orders and the ledger owe customers, then send it."""
    with periodic_lock("notifications") as acquired:
        if not acquired:
            return 0
        notifications_collect()
        return notifications_send()


@shared_task
def notifications_send_task() -> int:
    """Queued after a ticket message commits, so the reply e-mail leaves at once, not at the next beat."""
    return notifications_send()


@shared_task
def staff_notify_task(subject: str, text: str) -> dict:
    return staff_notify(subject, text)


@shared_task
def alerts_telegram_task() -> int:
    """Beat: post new operator alerts to the staff Telegram chat (when one is configured)."""
    with periodic_lock("alerts-telegram") as acquired:
        return alerts_relay_to_telegram() if acquired else 0
