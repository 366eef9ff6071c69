"""How the website and /api/v2 word a service's figures for customers."""

from datetime import timedelta

from django.utils.translation import gettext, ngettext

from orders.models import Service


def duration_words(duration: timedelta | None) -> str:
    """An average completion time as commercial panels write it ("2 hours 5 minutes"); "Not enough data" without one."""
    if duration is None:
        return gettext("Not enough data")
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1:
        return gettext("Less than a minute")
    parts = [
        (minutes // 1440, ngettext("%(count)s day", "%(count)s days", minutes // 1440)),
        (minutes // 60 % 24, ngettext("%(count)s hour", "%(count)s hours", minutes // 60 % 24)),
        (minutes % 60, ngettext("%(count)s minute", "%(count)s minutes", minutes % 60)),
    ]
    words = [unit % {"count": n} for n, unit in parts if n]
    return " ".join(words[:2])


def refill_words(service: Service) -> str:
    if not service.refill:
        return gettext("No")
    if service.refill_days is None:
        return gettext("Yes")
    return ngettext("%(count)s day", "%(count)s days", service.refill_days) % {"count": service.refill_days}
