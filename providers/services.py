"""Providers: adding them, checking them, and keeping the snapshot of their services."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from core.db import bulk_update_changed
from core.errors import PanelError
from providers.client import ProviderClient, UpstreamProduct, UpstreamService
from providers.models import Provider, ProviderService

# Rows per bulk INSERT/UPDATE: large enough that a 10,000-service provider syncs in a
# handful of queries, small enough to stay far below PostgreSQL's 65,535 parameters.
SNAPSHOT_BATCH_SIZE = 1000
SNAPSHOT_FIELDS = (
    "name",
    "type",
    "category",
    "rate",
    "min",
    "max",
    "refill",
    "cancel",
    "dripfeed",
    "description",
    "require",
)
PRODUCT_TYPE = "Product"


class ProviderInvalid(PanelError):
    default_message = "The provider's settings are not valid."


def provider_client(*, provider: Provider) -> ProviderClient:
    """The one way to talk to a provider: its URL, decrypted key and dialect."""
    return ProviderClient(
        url=provider.api_url, key=provider.api_key, name=provider.name, dialect=provider.dialect or "standard"
    )


def _validate_url(url: str) -> None:
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ProviderInvalid(f"{url!r} is not an http or https URL.") from None


def provider_connect(*, provider: Provider) -> None:
    """Contact the provider: detect its dialect when unset, and read our balance there (raises ProviderError).

    Changes the unsaved or saved instance in memory; the caller saves it.
    """
    _validate_url(provider.api_url)
    client = provider_client(provider=provider)
    if not provider.dialect:
        provider.dialect = client.detect_dialect()
        client = provider_client(provider=provider)
    answer = client.balance()
    provider.balance = answer.balance
    provider.currency = answer.currency or provider.currency
    provider.balance_checked_at = timezone.now()


def provider_create(
    *,
    name: str,
    api_url: str,
    api_key: str,
    markup_percent: Decimal = Decimal("0"),
    markup_fixed: Decimal = Decimal("0"),
    hold_new_services: bool = False,
    dialect: str = Provider.Dialect.AUTO,
) -> Provider:
    """Check the connection (balance, dialect) and save the provider; nothing is saved if it fails."""
    if Provider.objects.filter(name__iexact=name).exists():
        raise ProviderInvalid(f"A provider named {name!r} already exists.")
    if markup_percent < -100:
        raise ProviderInvalid("The markup cannot be below -100%.")
    if dialect not in Provider.Dialect.values:
        known = ", ".join(filter(None, Provider.Dialect.values))
        raise ProviderInvalid(f"Unknown dialect {dialect!r}: one of {known}.")
    if not api_key.strip():
        raise ProviderInvalid("The provider's API key is empty.")
    provider = Provider(
        name=name,
        api_url=api_url.strip(),
        dialect=dialect,
        markup_percent=markup_percent,
        markup_fixed=markup_fixed,
        hold_new_services=hold_new_services,
    )
    provider.api_key = api_key.strip()
    provider_connect(provider=provider)
    provider.save()
    return provider


def provider_balance_check(*, provider: Provider) -> Provider:
    """Ask the provider for our balance there and remember it (raises ProviderError)."""
    provider_connect(provider=provider)
    provider.save(update_fields=["balance", "currency", "balance_checked_at", "dialect"])
    return provider


def untrusted_text(value: str, *, max_length: int) -> str:
    """Upstream text is untrusted: drop control characters (PostgreSQL refuses NUL) and cap the length.

    HTML needs no treatment here: templates escape everything they render.
    """
    cleaned = "".join(ch for ch in value if ch in "\n\t" or ch >= " ")
    return cleaned.strip()[:max_length]


SERVICE_ID_MAX_LENGTH = ProviderService._meta.get_field("service_id").max_length
TEXT_LIMITS = {"name": 2000, "type": 100, "category": 1000, "description": 10000, "require": 500}


@dataclass(frozen=True)
class Snapshot:
    """The provider's services after a sync: current rows, and the ids that disappeared."""

    current: list[ProviderService]
    created_ids: set[int]
    removed: list[ProviderService]
    restored_ids: set[int]


def _snapshot_values(item: UpstreamService | UpstreamProduct) -> dict:
    if isinstance(item, UpstreamProduct):
        return {
            "name": item.name,
            "type": PRODUCT_TYPE,
            "category": item.category,
            "rate": item.rate,
            "min": item.min,
            "max": item.max,
            "refill": False,
            "cancel": False,
            "dripfeed": False,
            "require": item.require or "",
            "description": f"Requires: {item.require}" if item.require else "",
        }
    return {field: getattr(item, field) for field in SNAPSHOT_FIELDS if field != "require"} | {"require": ""}


def provider_snapshot_store(
    *,
    provider: Provider,
    upstream: Sequence[UpstreamService] | Sequence[UpstreamProduct],
    kind: str = ProviderService.Kind.SERVICE,
) -> Snapshot:
    """Store what `services` (or `products`) answered: insert new rows, update changed ones, mark missing ones.

    A constant number of queries per SNAPSHOT_BATCH_SIZE rows, whatever the provider's size.
    """
    now = timezone.now()
    rows = ProviderService.objects.filter(provider=provider, kind=kind)
    existing = {row.service_id: row for row in rows}
    seen: set[str] = set()
    new_rows: list[ProviderService] = []
    changed_rows: list[tuple[ProviderService, set[str]]] = []
    restored_ids: set[int] = set()
    for item in upstream:
        item_id = item.product_id if isinstance(item, UpstreamProduct) else item.service_id
        if item_id in seen or len(item_id) > SERVICE_ID_MAX_LENGTH:
            continue  # a provider listing one id twice: the first wins; an absurd id is not sellable
        seen.add(item_id)
        values = _snapshot_values(item)
        for field, limit in TEXT_LIMITS.items():
            values[field] = untrusted_text(values[field], max_length=limit)
        row = existing.get(item_id)
        if row is None:
            new_rows.append(
                ProviderService(provider=provider, kind=kind, service_id=item_id, last_seen_at=now, **values)
            )
            continue
        if not row.is_available:
            restored_ids.add(row.pk)
        changed = {field for field, value in values.items() if getattr(row, field) != value}
        if not row.is_available:
            changed.add("is_available")
        if changed:
            for field, value in values.items():
                setattr(row, field, value)
            row.is_available = True
            changed_rows.append((row, changed))
    removed = [row for sid, row in existing.items() if sid not in seen and row.is_available]
    for row in removed:
        row.is_available = False
    with transaction.atomic():
        ProviderService.objects.bulk_create(new_rows, batch_size=SNAPSHOT_BATCH_SIZE)
        bulk_update_changed(ProviderService, [*changed_rows, *((row, {"is_available"}) for row in removed)])
        # After the removals above, the available rows are exactly the ones just seen.
        rows.filter(is_available=True).update(last_seen_at=now)
    # bulk_create sets primary keys on PostgreSQL and SQLite; read them back where it did not.
    if new_rows and new_rows[0].pk is None:
        new_ids = [row.service_id for row in new_rows]
        stored = {row.service_id: row for row in rows.filter(service_id__in=new_ids)}
        new_rows = [stored[service_id] for service_id in new_ids]
    current = [row for row in existing.values() if row.service_id in seen] + new_rows
    return Snapshot(current=current, created_ids={r.pk for r in new_rows}, removed=removed, restored_ids=restored_ids)
