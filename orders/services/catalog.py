"""Service sync, catalog side: turn a provider's snapshot into the services customers buy."""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Avg, DurationField, F
from django.utils import timezone

from core.db import bulk_update_changed
from orders.models import Category, Order, Service, ServiceChange
from orders.pricing import service_cost, service_rate
from providers.client import UpstreamProduct
from providers.errors import ProviderError
from providers.models import Provider, ProviderService
from providers.services import (
    SNAPSHOT_BATCH_SIZE,
    Snapshot,
    provider_client,
    provider_record_result,
    provider_snapshot_store,
)

logger = logging.getLogger(__name__)

UNCATEGORISED = "Other"
SYNCED_FIELDS = ("type", "description", "require", "min", "max", "refill", "cancel", "dripfeed", "cost", "rate")
# What sync may change on a service: compared before and after, only the differences are written.
TRACKED_FIELDS = (
    *SYNCED_FIELDS,
    "refill_days",
    "in_stock",
    "inventory",
    "name",
    "category_id",
    "is_enabled",
    "disabled_by",
)
# "30 Days Refill", "( 30 days auto refill )", "Refill: 60 days", "365D Refill", "[R30]".
_REFILL_DAYS = (
    re.compile(r"(\d{1,4})\s*-?\s*(?:days?|d)\b\W{0,3}(?:auto\W{0,3})?refill", re.IGNORECASE),
    re.compile(r"refill\W{0,3}(\d{1,4})\s*-?\s*(?:days?|d)\b", re.IGNORECASE),
    re.compile(r"\bR(\d{2,3})\b"),
)
# Our own completed orders a service's average completion time is computed from: the most recent ones.
COMPLETION_SAMPLE_DAYS = 90
ProgressCallback = Callable[[int, int], None]


@dataclass
class SyncReport:
    total: int = 0
    created: int = 0
    updated: int = 0
    removed: int = 0
    restored: int = 0
    held: int = 0

    def merge(self, other: "SyncReport") -> None:
        for name in ("total", "created", "updated", "removed", "restored", "held"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __str__(self) -> str:
        return (
            f"{self.total} services: {self.created} new ({self.held} held), {self.updated} updated, "
            f"{self.removed} removed, {self.restored} back"
        )


def services_sync(*, provider_id: int, progress: ProgressCallback | None = None) -> SyncReport:
    """Fetch the provider's services and bring the snapshot and our catalog up to date."""
    provider = Provider.objects.get(pk=provider_id)
    client = provider_client(provider=provider)
    try:
        upstream = client.services()
        products = client.products() if client.supports("products") else None
    except ProviderError as error:
        _record_sync(provider=provider, ok=False, message=error.message)
        provider_record_result(provider=provider, error=error)
        raise
    provider_record_result(provider=provider, error=None)
    snapshot = provider_snapshot_store(provider=provider, upstream=upstream)
    report = _catalog_update(provider=provider, snapshot=snapshot, progress=progress)
    if products is not None:
        product_snapshot = provider_snapshot_store(
            provider=provider, upstream=products, kind=ProviderService.Kind.PRODUCT
        )
        stock = {product.product_id: product_stock(product) for product in products}
        report.merge(_catalog_update(provider=provider, snapshot=product_snapshot, progress=None, stock=stock))
    services_completion_update(provider_id=provider.pk)
    _record_sync(provider=provider, ok=True, message=str(report))
    logger.info("synced %s: %s", provider.name, report)
    return report


def _record_sync(*, provider: Provider, ok: bool, message: str) -> None:
    Provider.objects.filter(pk=provider.pk).update(
        last_sync_at=timezone.now(), last_sync_ok=ok, last_sync_message=message[:2000]
    )


def _categories_by_name(names: set[str]) -> dict[str, Category]:
    known = Category.objects.filter(name__in=names).in_bulk(field_name="name")
    missing = names - set(known)
    if missing:
        Category.objects.bulk_create([Category(name=name) for name in sorted(missing)], ignore_conflicts=True)
        known = Category.objects.filter(name__in=names).in_bulk(field_name="name")
    return known


def product_stock(product: UpstreamProduct) -> tuple[bool, int | None]:
    """(in stock, inventory) from seed 003's `status` and `inventory`: a count of 0 is out of stock whatever the
    status says, and a product whose status is missing or unknown is in stock unless its count says otherwise."""
    inventory = product.inventory if product.inventory is not None and product.inventory >= 0 else None
    in_stock = product.in_stock is not False and inventory != 0
    return in_stock, inventory


def _catalog_update(
    *,
    provider: Provider,
    snapshot: Snapshot,
    progress: ProgressCallback | None,
    stock: dict[str, tuple[bool, int | None]] | None = None,
) -> SyncReport:
    """`stock`, from a fresh products list, sets the products' stock; without it (a re-price) stock is kept."""

    def category_name(row: ProviderService) -> str:
        return row.category or UNCATEGORISED

    categories = _categories_by_name({category_name(row) for row in snapshot.current})
    # Both kinds of the provider: rows are looked up by their snapshot row, so the other kind is never touched.
    existing = {s.provider_service_id: s for s in Service.objects.filter(provider=provider)}
    report = SyncReport(total=len(snapshot.current))
    new_services: list[Service] = []
    changed: list[tuple[Service, set[str]]] = []
    changes: list[ServiceChange] = []
    added_services: list[Service] = []

    for row in snapshot.current:
        values = {
            "type": row.type or "Default",
            "description": row.description,
            "require": row.require,
            "min": row.min,
            "max": row.max,
            "refill": row.refill,
            "cancel": row.cancel,
            "dripfeed": row.dripfeed,
            "cost": service_cost(provider=provider, upstream_rate=row.rate),
            "rate": service_rate(provider=provider, upstream_rate=row.rate),
        }
        if stock is not None and row.service_id in stock:
            values["in_stock"], values["inventory"] = stock[row.service_id]
        name = row.name or f"Service {row.service_id}"
        values["refill_days"] = refill_days_from_name(row.name)
        category = categories[category_name(row)]
        service = existing.get(row.pk)
        if service is None:
            held = provider.hold_new_services
            service = Service(
                provider=provider,
                kind=row.kind,
                provider_service=row,
                name=name,
                category=category,
                is_enabled=not held,
                disabled_by=Service.DisabledBy.HELD if held else Service.DisabledBy.NOBODY,
                **values,
            )
            new_services.append(service)
            report.created += 1
            report.held += held
            if not held:
                added_services.append(service)
            continue
        before = {field: getattr(service, field) for field in TRACKED_FIELDS}
        for kind, field in (
            (ServiceChange.Kind.RATE, "rate"),
            (ServiceChange.Kind.MIN, "min"),
            (ServiceChange.Kind.MAX, "max"),
        ):
            if getattr(service, field) != values[field] and not (field == "rate" and service.rate_override is not None):
                changes.append(
                    ServiceChange(
                        service=service, kind=kind, old_value=str(getattr(service, field)), new_value=str(values[field])
                    )
                )
        if service.description_edited:
            values["description"] = service.description
        if service.refill_days_edited:
            values["refill_days"] = service.refill_days
        if service.dripfeed_edited:
            values["dripfeed"] = service.dripfeed  # an operator's word on drip-feed outlives the provider's list
        for field, value in values.items():
            setattr(service, field, value)
        if not service.name_edited:
            service.name = name
        if not service.category_edited:
            service.category = category
        if service.disabled_by == Service.DisabledBy.UPSTREAM:
            service.is_enabled = True
            service.disabled_by = Service.DisabledBy.NOBODY
            changes.append(ServiceChange(service=service, kind=ServiceChange.Kind.RESTORED))
            report.restored += 1
        fields = {field for field, value in before.items() if getattr(service, field) != value}
        if fields:
            service.updated_at = timezone.now()
            changed.append((service, {*fields, "updated_at"}))
            report.updated += 1

    for row in snapshot.removed:
        service = existing.get(row.pk)
        if service is None:
            continue
        if service.disabled_by != Service.DisabledBy.OPERATOR:
            service.is_enabled = False
            service.disabled_by = Service.DisabledBy.UPSTREAM
        service.updated_at = timezone.now()
        changed.append((service, {"is_enabled", "disabled_by", "updated_at"}))
        changes.append(ServiceChange(service=service, kind=ServiceChange.Kind.REMOVED))
        report.removed += 1

    with transaction.atomic():
        for start in range(0, len(new_services), SNAPSHOT_BATCH_SIZE):
            Service.objects.bulk_create(new_services[start : start + SNAPSHOT_BATCH_SIZE])
            if progress:
                progress(min(start + SNAPSHOT_BATCH_SIZE, len(new_services)), report.total)
        changes.extend(ServiceChange(service=service, kind=ServiceChange.Kind.ADDED) for service in added_services)
        bulk_update_changed(Service, changed)
        ServiceChange.objects.bulk_create(changes, batch_size=SNAPSHOT_BATCH_SIZE)
    if progress:
        progress(report.total, report.total)
    return report


def refill_days_from_name(name: str) -> int | None:
    """The refill guarantee a provider writes in a service's name, in days; None when it names none."""
    for pattern in _REFILL_DAYS:
        match = pattern.search(name)
        if match:
            return int(match.group(1)) or None
    return None


def services_completion_update(*, provider_id: int, now=None) -> int:
    """Each service's average completion time, from our own orders of it completed in the last 90 days."""
    now = now or timezone.now()
    averages = dict(
        Order.objects.filter(
            provider_id=provider_id,
            status=Order.Status.COMPLETED,
            parent__isnull=True,
            placed_at__isnull=False,
            finished_at__gte=now - timedelta(days=COMPLETION_SAMPLE_DAYS),
        )
        .order_by()
        .values("service_id")
        .annotate(average=Avg(F("finished_at") - F("placed_at"), output_field=DurationField()))
        .values_list("service_id", "average")
    )
    changed = []
    for service in Service.objects.filter(provider_id=provider_id).only("pk", "average_completion"):
        average = averages.get(service.pk)
        if average is not None:
            average = timedelta(seconds=round(average.total_seconds()))
        if service.average_completion != average:
            service.average_completion = average
            changed.append((service, {"average_completion"}))
    bulk_update_changed(Service, changed)
    return len(changed)


def catalog_reprice(*, provider_id: int) -> SyncReport:
    """Re-price a provider's services from the last snapshot (after a markup change), without calling it."""
    provider = Provider.objects.get(pk=provider_id)
    report = SyncReport()
    for kind in ProviderService.Kind.values:
        current = list(ProviderService.objects.filter(provider=provider, kind=kind, is_available=True))
        snapshot = Snapshot(current=current, removed=[])
        report.merge(_catalog_update(provider=provider, snapshot=snapshot, progress=None))
    return report


def services_set_enabled(*, service_ids: list[int], enabled: bool) -> int:
    """An operator puts services on sale or takes them off; sync will not undo it."""
    services = Service.objects.filter(pk__in=service_ids)
    if enabled:
        # A service its provider no longer lists cannot be sold.
        services = services.filter(provider_service__is_available=True)
        return services.update(is_enabled=True, disabled_by=Service.DisabledBy.NOBODY, updated_at=timezone.now())
    return services.update(is_enabled=False, disabled_by=Service.DisabledBy.OPERATOR, updated_at=timezone.now())


def service_operator_edit(*, service: Service, changed: set[str]) -> Service:
    """Save an operator's edit of a service, marking what sync must keep from now on."""
    if "name" in changed:
        service.name_edited = True
    if "category" in changed:
        service.category_edited = True
    if "dripfeed" in changed:
        service.dripfeed_edited = True
    if "description" in changed:
        service.description_edited = True
    if "refill_days" in changed:
        service.refill_days_edited = True
    if "is_enabled" in changed:
        service.disabled_by = Service.DisabledBy.NOBODY if service.is_enabled else Service.DisabledBy.OPERATOR
    service.save()
    return service


SYNC_PROGRESS_SECONDS = 3600


def _sync_progress_key(provider_id: int) -> str:
    return f"sync-progress:{provider_id}"


def sync_progress_set(*, provider_id: int, done: int, total: int) -> None:
    """Publish a running sync's progress (services written, total) to every process (Redis)."""
    cache.set(_sync_progress_key(provider_id), (done, total), SYNC_PROGRESS_SECONDS)


def services_sync_in_background(*, provider_id: int) -> SyncReport:
    """A sync run by a worker, its progress readable by `sync_progress` from any process (Redis)."""
    sync_progress_set(provider_id=provider_id, done=0, total=0)
    try:
        return services_sync(
            provider_id=provider_id,
            progress=lambda done, total: sync_progress_set(provider_id=provider_id, done=done, total=total),
        )
    finally:
        sync_progress_clear(provider_id=provider_id)


def sync_progress_clear(*, provider_id: int) -> None:
    cache.delete(_sync_progress_key(provider_id))


def sync_progress(*, provider_id: int) -> tuple[int, int] | None:
    """(services written, total) while a background sync runs, else None."""
    return cache.get(_sync_progress_key(provider_id))
