"""Celery tasks of the website: thin callers of panel services, safe to run twice."""

from celery import shared_task

from panel.currency import display_rates_fetch
from panel.services import password_reset_mail_send


@shared_task(name="panel.tasks.password_reset_mail_task")
def password_reset_mail_task(*, email: str, domain: str, use_https: bool, language: str = "") -> None:
    """Mail the reset link outside the request: a known and an unknown address answer alike."""
    password_reset_mail_send(email=email, domain=domain, use_https=use_https, language=language)


@shared_task
def display_rates_task() -> str:
    """Once a day (beat): the display currencies' rates from DISPLAY_CURRENCY_RATES_URL, when set and reachable."""
    return str(display_rates_fetch())
