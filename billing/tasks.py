"""Celery tasks of billing: thin callers of `billing.services`, safe to run twice."""

import logging
import uuid

from celery import shared_task
from django.core.cache import cache

from billing.services import deposits_sweep

logger = logging.getLogger(__name__)
LOCK_SECONDS = 240  # below the task time limit, so a killed run's lock expires by itself


@shared_task
def deposits_sweep_task() -> str:
    """Ask gateways about deposits still pending (a lost webhook never loses a payment); expire stale ones."""
    key, token = "lock:deposits-sweep", uuid.uuid4().hex
    if not cache.add(key, token, LOCK_SECONDS):
        return "another sweep is running"
    try:
        report = deposits_sweep()
    finally:
        if cache.get(key) == token:
            cache.delete(key)
    if report.checked:
        logger.info("deposits sweep: %s", report)
    return str(report)
