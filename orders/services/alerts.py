"""Operator alerts: conditions checked every few minutes, each raised once, resolved when it clears.

`alerts_refresh` compares what the checks find with the open alerts: a new condition opens an
alert, one still there only moves its `last_seen_at` (and its message, which carries the latest
figures), and an open alert whose condition is gone is resolved. A partial unique index keeps one
open alert per (kind, subject) even if two checks ever ran at once. `alerts_notify` e-mails the
alerts not yet sent to staff, each once. Telegram or other channels belong to the layers above
(`support`), which may read the same rows.
"""

import logging
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from core.ids import id_parse
from orders.models import Alert, Order, OrderEvent, Service
from orders.services.transitions import ACTIVE, UPSTREAM_ACTIVE
from providers.models import Provider, ProviderService

logger = logging.getLogger(__name__)
S = Order.Status
K = Alert.Kind

# Statuses an order can be stuck in: waiting for a worker, or running upstream. `placing` has its
# own sweep (to review after ORDER_PLACING_STUCK_SECONDS) and review is the operator's queue already.
STUCK_STATUSES = (S.AWAITING, *UPSTREAM_ACTIVE)
# A service's usual time is the median over its latest completed orders, once it has enough of them.
USUAL_TIME_SAMPLE = 100
USUAL_TIME_MIN_ORDERS = 5
# Alerts per e-mail: a burst (a provider down with many services) is one message, not hundreds.
NOTIFY_BATCH = 200


@dataclass(frozen=True)
class Condition:
    kind: str
    subject: str
    message: str


@dataclass
class AlertsReport:
    raised: int = 0
    resolved: int = 0
    open: int = 0
    unnotified: int = 0


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"


def low_balance_conditions() -> Iterator[Condition]:
    providers = Provider.objects.filter(
        is_active=True, balance__isnull=False, balance__lt=F("low_balance_alert")
    ).order_by("pk")
    for provider in providers:
        yield Condition(
            K.LOW_BALANCE,
            f"provider:{provider.pk}",
            f"{provider.name}: our balance there is {provider.balance} {provider.currency}, "
            f"below its alert threshold {provider.low_balance_alert}.",
        )


def failing_provider_conditions(*, now: datetime) -> Iterator[Condition]:
    """Providers whose calls have all failed for ALERT_PROVIDER_FAILING_MINUTES (see providers.services health)."""
    since = now - timedelta(minutes=settings.ALERT_PROVIDER_FAILING_MINUTES)
    providers = Provider.objects.filter(is_active=True, failing_since__lte=since).order_by("pk")
    for provider in providers:
        yield Condition(
            K.PROVIDER_FAILING,
            f"provider:{provider.pk}",
            f"{provider.name}: every call has failed for {_duration((now - provider.failing_since).total_seconds())} "
            f"({provider.consecutive_failures} in a row); last error: {provider.last_error[:300]}",
        )


def service_usual_seconds(*, service_id: int) -> float | None:
    """The median time from order to completion over the service's latest completed orders, or None."""
    rows = (
        Order.objects.filter(service_id=service_id, status=S.COMPLETED, finished_at__isnull=False)
        .order_by("-pk")
        .values_list("created_at", "finished_at")[:USUAL_TIME_SAMPLE]
    )
    durations = [(finished - created).total_seconds() for created, finished in rows]
    if len(durations) < USUAL_TIME_MIN_ORDERS:
        return None
    return statistics.median(durations)


def stuck_threshold_seconds(*, usual: float | None) -> float:
    """How long an order may stay in one status before it counts as stuck."""
    if usual is None:
        return max(settings.ALERT_STUCK_UNKNOWN_SECONDS, settings.ALERT_STUCK_MIN_SECONDS)
    return max(settings.ALERT_STUCK_FACTOR * usual, settings.ALERT_STUCK_MIN_SECONDS)


def stuck_order_conditions(*, now: datetime) -> Iterator[Condition]:
    """One alert per service whose orders sit in one status far longer than its orders usually take to complete.

    An order is in its status since its last status change (its last event; its creation when it
    has none). That is never before its creation, so only orders older than the floor are read.
    """
    floor = now - timedelta(seconds=settings.ALERT_STUCK_MIN_SECONDS)
    candidates = Order.objects.filter(status__in=STUCK_STATUSES, created_at__lt=floor)
    service_ids = sorted(set(candidates.order_by().values_list("service_id", flat=True).distinct()))
    last_move = OrderEvent.objects.filter(order=OuterRef("pk")).order_by("-pk").values("created_at")[:1]
    for service_id in service_ids:
        usual = service_usual_seconds(service_id=service_id)
        threshold = stuck_threshold_seconds(usual=usual)
        cutoff = now - timedelta(seconds=threshold)
        stuck = (
            candidates.filter(service_id=service_id, created_at__lt=cutoff)
            .annotate(since=Coalesce(Subquery(last_move), "created_at"))
            .filter(since__lt=cutoff)
        )
        figures = stuck.aggregate(count=Count("pk"), oldest=Min("since"))
        if not figures["count"]:
            continue
        oldest = stuck.order_by("since", "pk").values_list("pk", "status").first()
        name = Service.objects.values_list("name", flat=True).get(pk=service_id)
        usual_text = f"usual time {_duration(usual)}" if usual is not None else "no usual time yet"
        yield Condition(
            K.ORDERS_STUCK,
            f"service:{service_id}",
            f"{figures['count']} orders of service {service_id} ({name[:100]}) have stayed in one status over "
            f"{_duration(threshold)} ({usual_text}); the oldest, order {oldest[0]}, is {S(oldest[1]).label} "
            f"for {_duration((now - figures['oldest']).total_seconds())}.",
        )


def removed_service_conditions() -> Iterator[Condition]:
    """Provider services no longer listed upstream while orders placed (or to be placed) there are active."""
    rows = (
        Order.objects.filter(status__in=ACTIVE)
        .filter(
            Q(provider_service__is_available=False)
            | Q(provider_service__isnull=True, service__provider_service__is_available=False)
        )
        .annotate(at=Coalesce("provider_service_id", "service__provider_service_id"))
        .order_by()
        .values("at")
        .annotate(count=Count("pk"))
    )
    counts = {row["at"]: row["count"] for row in rows}
    upstream = ProviderService.objects.filter(pk__in=counts).select_related("provider").order_by("pk")
    for row in upstream:
        yield Condition(
            K.SERVICE_REMOVED,
            f"provider_service:{row.pk}",
            f"{row.provider.name} no longer lists its service {row.service_id} ({row.name[:100]}); "
            f"{counts[row.pk]} of our orders there are still active.",
        )


def alert_conditions(*, now: datetime) -> list[Condition]:
    return [
        *low_balance_conditions(),
        *failing_provider_conditions(now=now),
        *stuck_order_conditions(now=now),
        *removed_service_conditions(),
    ]


def alerts_refresh(*, now: datetime | None = None) -> AlertsReport:
    """Raise the alerts whose condition is new, touch the ones still there, resolve the ones that cleared."""
    now = now or timezone.now()
    found = {(c.kind, c.subject): c for c in alert_conditions(now=now)}
    report = AlertsReport()
    with transaction.atomic():
        current = {
            (alert.kind, alert.subject): alert
            for alert in Alert.objects.select_for_update().filter(resolved_at__isnull=True)
        }
        cleared = [alert.pk for key, alert in current.items() if key not in found]
        report.resolved = Alert.objects.filter(pk__in=cleared).update(resolved_at=now)
        still = [alert for key, alert in current.items() if key in found]
        for alert in still:
            alert.last_seen_at, alert.message = now, found[(alert.kind, alert.subject)].message[:1000]
        Alert.objects.bulk_update(still, ["last_seen_at", "message"])
        new = [
            Alert(kind=c.kind, subject=c.subject, message=c.message[:1000], first_seen_at=now, last_seen_at=now)
            for key, c in found.items()
            if key not in current
        ]
        # A second check running at the same moment would collide on the one-open-alert index: it is skipped.
        Alert.objects.bulk_create(new, ignore_conflicts=True)
    report.raised = len(new)
    report.open = len(found)
    report.unnotified = Alert.objects.filter(resolved_at__isnull=True, notified_at__isnull=True).count()
    if new or report.resolved:
        logger.info("alerts: %s raised, %s resolved, %s open", report.raised, report.resolved, report.open)
    return report


def alert_recipients() -> list[str]:
    """STAFF_ALERT_EMAILS, or else every active staff member allowed to view alerts (superusers included)."""
    if settings.STAFF_ALERT_EMAILS:
        return list(settings.STAFF_ALERT_EMAILS)
    permission = Permission.objects.filter(content_type__app_label="orders", codename="view_alert").first()
    allowed = Q(is_superuser=True)
    if permission is not None:
        allowed |= Q(user_permissions=permission) | Q(groups__permissions=permission)
    staff = get_user_model().objects.filter(allowed, is_active=True, is_staff=True).exclude(email="")
    return sorted(set(staff.values_list("email", flat=True)))


def staff_email(*, subject: str, text: str, recipients: list[str] | None = None) -> bool | None:
    """E-mail the staff who get alerts (`alert_recipients`, unless given): True once sent, False when the
    mail backend failed (logged, never raised), None when there is nobody to e-mail.

    The one way the panel e-mails its operators: the alert digest here, `support.services.staff_notify`.
    """
    recipients = alert_recipients() if recipients is None else recipients
    if not recipients:
        return None
    try:
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        # Any backend failure (SMTP refused, a timeout): the caller decides whether to try again.
        logger.exception("staff e-mail %r could not be sent", subject)
        return False
    return True


def _alert_email(alerts: list[Alert]) -> tuple[str, str]:
    kinds = sorted({alert.get_kind_display() for alert in alerts})
    subject = f"{len(alerts)} new alert{'s' if len(alerts) != 1 else ''}: {', '.join(kinds)}"
    lines = [
        f"- {alert.get_kind_display()} (since {alert.first_seen_at:%Y-%m-%d %H:%M} UTC): {alert.message}"
        for alert in alerts
    ]
    body = "\n".join(
        [
            "New alerts on the panel:",
            "",
            *lines,
            "",
            f"Open alerts are listed on the staff dashboard ({reverse('staff_dashboard')}) until they clear.",
        ]
    )
    return subject, body


def alerts_notify(*, now: datetime | None = None) -> int:
    """E-mail the open alerts not yet sent to staff, in one message; return how many were sent.

    The alerts are locked while the message is sent and marked sent in the same transaction, so
    each is e-mailed once; a failed send leaves them for the next run.
    """
    now = now or timezone.now()
    recipients = alert_recipients()
    if not recipients:
        logger.warning("alerts: nobody to e-mail (set STAFF_ALERT_EMAILS, or give staff orders.view_alert)")
        return 0
    with transaction.atomic():
        alerts = list(
            Alert.objects.select_for_update(skip_locked=True)
            .filter(resolved_at__isnull=True, notified_at__isnull=True)
            .order_by("pk")[:NOTIFY_BATCH]
        )
        if not alerts:
            return 0
        subject, body = _alert_email(alerts)
        if not staff_email(subject=subject, text=body, recipients=recipients):
            return 0  # nothing is marked: the next run sends again
        Alert.objects.filter(pk__in=[alert.pk for alert in alerts]).update(notified_at=now)
    return len(alerts)


ADMIN_PAGES = {
    "provider": "admin:providers_provider_change",
    "service": "admin:orders_service_change",
    "provider_service": "admin:providers_providerservice_change",
}


def alerts_open() -> list[dict]:
    """The open alerts for the staff dashboard, newest first, each with the admin page of its subject."""
    rows = []
    for alert in Alert.objects.filter(resolved_at__isnull=True).order_by("-first_seen_at", "-pk")[:100]:
        model, _, pk = alert.subject.partition(":")
        page = ADMIN_PAGES.get(model)
        rows.append({"alert": alert, "url": reverse(page, args=[pk]) if page and id_parse(pk) is not None else ""})
    return rows
