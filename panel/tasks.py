"""Celery tasks of the website: thin callers of panel services, safe to run twice."""

from celery import shared_task

from panel.currency import display_rates_fetch


@shared_task
def display_rates_task() -> str:
    """Once a day (beat): the display currencies' rates from DISPLAY_CURRENCY_RATES_URL, when set and reachable."""
    return str(display_rates_fetch())
