"""How the website and /api/v2 word a service's figures for customers."""

from datetime import timedelta

from orders.models import Service


def duration_words(duration: timedelta | None) -> str:
    """An average completion time as commercial panels write it ("2 hours 5 minutes"); "Not enough data" without one."""
    if duration is None:
        return "Not enough data"
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1:
        return "Less than a minute"
    parts = [(minutes // 1440, "day"), (minutes // 60 % 24, "hour"), (minutes % 60, "minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(words[:2])


def refill_words(service: Service) -> str:
    if not service.refill:
        return "No"
    return f"{service.refill_days} days" if service.refill_days is not None else "Yes"
