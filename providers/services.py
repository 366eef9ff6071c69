"""Providers: adding them, checking them, and keeping the snapshot of their services."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.db import bulk_update_changed
from core.errors import PanelError
from providers.client import ProviderClient, UpstreamProduct, UpstreamService
from providers.client.addresses import url_address_problem
from providers.client.transport import SAFE_ACTIONS
from providers.errors import ProviderError, ProviderRefused
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
    """The one way to talk to a provider: its URL, decrypted key and dialect.

    A saved provider whose settings the client refuses (an empty key, a URL that is not http or
    https) fails like a call that failed: a permanent ProviderError, never a crash of the caller.
    """
    try:
        return ProviderClient(
            url=provider.api_url, key=provider.api_key, name=provider.name, dialect=provider.dialect or "standard"
        )
    except ValueError as error:
        raise ProviderError(str(error), provider=provider.name, permanent=True, request_sent=False) from None


def _validate_url(url: str) -> None:
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ProviderInvalid(f"{url!r} is not an http or https URL.") from None
    if not settings.PROVIDER_ALLOW_PRIVATE_URLS:
        # Checked here to refuse the URL when it is typed; the client checks again at every connection.
        problem = url_address_problem(url)
        if problem:
            raise ProviderInvalid(f"Refused: {problem}.")


def provider_connect(*, provider: Provider) -> None:
    """Check the URL, then contact the provider: detect its dialect when unset, and read our balance
    there (raises ProviderInvalid or ProviderError).

    Changes the unsaved or saved instance in memory; the caller saves it.
    """
    _validate_url(provider.api_url)
    _provider_contact(provider=provider)


def _provider_contact(*, provider: Provider) -> None:
    client = provider_client(provider=provider)
    if not provider.dialect:
        provider.dialect = client.detect_dialect()
        client = provider_client(provider=provider)
    answer = client.balance()
    provider.balance = answer.balance
    provider.currency = answer.currency or provider.currency
    provider.balance_checked_at = timezone.now()


def _provider_validate(
    *, name: str, markup_percent: Decimal, exchange_rate: Decimal, dialect: str, exclude_pk: int | None = None
) -> None:
    """The rules of a provider's settings, before anything is sent to it."""
    if not name.strip():
        raise ProviderInvalid("The provider's name is empty.")
    if Provider.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        raise ProviderInvalid(f"A provider named {name!r} already exists.")
    if markup_percent < -100:
        raise ProviderInvalid("The markup cannot be below -100%.")
    if exchange_rate <= 0:
        raise ProviderInvalid("The exchange rate must be above 0.")
    if dialect not in Provider.Dialect.values:
        known = ", ".join(filter(None, Provider.Dialect.values))
        raise ProviderInvalid(f"Unknown dialect {dialect!r}: one of {known}.")


def provider_create(
    *,
    name: str,
    api_url: str,
    api_key: str,
    markup_percent: Decimal = Decimal("0"),
    markup_fixed: Decimal = Decimal("0"),
    hold_new_services: bool = False,
    dialect: str = Provider.Dialect.AUTO,
    exchange_rate: Decimal = Decimal("1"),
    is_active: bool = True,
    low_balance_alert: Decimal = Decimal("10"),
) -> Provider:
    """Check the settings and the connection (balance, dialect), then save the provider; nothing is saved
    if either fails (ProviderInvalid for the settings, ProviderError for the connection)."""
    _provider_validate(name=name, markup_percent=markup_percent, exchange_rate=exchange_rate, dialect=dialect)
    if not api_key.strip():
        raise ProviderInvalid("The provider's API key is empty.")
    provider = Provider(
        name=name,
        api_url=api_url.strip(),
        dialect=dialect,
        markup_percent=markup_percent,
        markup_fixed=markup_fixed,
        hold_new_services=hold_new_services,
        exchange_rate=exchange_rate,
        is_active=is_active,
        low_balance_alert=low_balance_alert,
    )
    provider.api_key = api_key.strip()
    provider_connect(provider=provider)
    provider.save()
    return provider


def provider_update(
    *,
    provider_id: int,
    name: str,
    api_url: str,
    api_key: str = "",
    markup_percent: Decimal,
    markup_fixed: Decimal,
    hold_new_services: bool,
    dialect: str,
    exchange_rate: Decimal,
    is_active: bool,
    low_balance_alert: Decimal,
) -> Provider:
    """Change a provider's settings, with the same rules as `provider_create`. An empty `api_key` keeps the
    current one. A new key, URL or dialect is checked against the provider first; nothing is saved if it fails."""
    provider = Provider.objects.get(pk=provider_id)
    _provider_validate(
        name=name, markup_percent=markup_percent, exchange_rate=exchange_rate, dialect=dialect, exclude_pk=provider.pk
    )
    api_url = api_url.strip()
    reconnect = bool(api_key.strip()) or api_url != provider.api_url or dialect != provider.dialect
    settings_fields = {
        "name": name,
        "api_url": api_url,
        "dialect": dialect,
        "markup_percent": markup_percent,
        "markup_fixed": markup_fixed,
        "hold_new_services": hold_new_services,
        "exchange_rate": exchange_rate,
        "is_active": is_active,
        "low_balance_alert": low_balance_alert,
    }
    for field, value in settings_fields.items():
        setattr(provider, field, value)
    written = list(settings_fields)
    if api_key.strip():
        provider.api_key = api_key.strip()
        written.append("api_key_encrypted")
    if reconnect:
        provider_connect(provider=provider)
        written += ["balance", "currency", "balance_checked_at"]
    # Only the settings and what the check read: the workers' health counters on the same row are left alone.
    provider.save(update_fields=written)
    return provider


def provider_balance_check(*, provider: Provider) -> Provider:
    """Ask a saved provider for our balance there and remember it, and the call's outcome (raises ProviderError).

    The URL is not checked again here: the client refuses a refused address at the connection.
    """
    try:
        _provider_contact(provider=provider)
    except ProviderError as error:
        provider_record_result(provider=provider, error=error)
        raise
    provider.save(update_fields=["balance", "currency", "balance_checked_at", "dialect"])
    provider_record_result(provider=provider, error=None)
    return provider


# Health and circuit breaker

# A healthy provider's last_success_at is written at most this often, so that the calls of busy
# workers do not all write the same row.
SUCCESS_RECORD_SECONDS = 60


def provider_call_failed(error: ProviderError | None) -> bool:
    """Whether a call's outcome counts against the provider's health.

    A refusal of an order, refill or cancel is the provider working ("Not enough funds",
    "Incorrect link" are about the request); a refusal of a read-only action ("Invalid API key",
    a suspended account) and every call without a usable answer mean it cannot be worked with.
    """
    if error is None:
        return False
    if isinstance(error, ProviderRefused):
        return error.action in SAFE_ACTIONS
    return True


def provider_record_result(*, provider: Provider, error: ProviderError | None, now: datetime | None = None) -> None:
    """Record one call's outcome on the provider (see `provider_call_failed`): the workers call this
    after each call, the balance check and the admin's test connection too."""
    if provider_call_failed(error):
        provider_record_failure(provider=provider, error=str(error), now=now)
    else:
        provider_record_success(provider=provider, now=now)


def provider_record_success(*, provider: Provider, now: datetime | None = None) -> None:
    """The provider answered: its failures are forgotten and its circuit closes.

    `last_error` stays, with `last_failure_at`, so an operator can still read what last went wrong.
    """
    now = now or timezone.now()
    changed = Provider.objects.filter(pk=provider.pk).filter(
        Q(consecutive_failures__gt=0)
        | Q(failing_since__isnull=False)
        | Q(next_probe_at__isnull=False)
        | Q(last_success_at__isnull=True)
        | Q(last_success_at__lt=now - timedelta(seconds=SUCCESS_RECORD_SECONDS))
    )
    if changed.update(consecutive_failures=0, failing_since=None, next_probe_at=None, last_success_at=now):
        provider.consecutive_failures, provider.failing_since, provider.next_probe_at = 0, None, None
        provider.last_success_at = now


def provider_record_failure(*, provider: Provider, error: str, now: datetime | None = None) -> None:
    """Count one more failure in a row; from PROVIDER_CIRCUIT_FAILURES on, the circuit opens until
    `next_probe_at`, a wait that doubles with each failure up to PROVIDER_CIRCUIT_MAX_BACKOFF."""
    now = now or timezone.now()
    with transaction.atomic():
        # The row lock orders concurrent failures, so that each counts and the backoff follows the count.
        current = Provider.objects.select_for_update().only("consecutive_failures", "failing_since").get(pk=provider.pk)
        failures = current.consecutive_failures + 1
        failing_since = current.failing_since or now
        next_probe_at = None
        if failures >= settings.PROVIDER_CIRCUIT_FAILURES:
            next_probe_at = now + timedelta(seconds=provider_circuit_backoff(failures=failures))
        fields = {
            "consecutive_failures": failures,
            "failing_since": failing_since,
            "next_probe_at": next_probe_at,
            "last_failure_at": now,
            "last_error": error[:2000],
        }
        Provider.objects.filter(pk=provider.pk).update(**fields)
    for name, value in fields.items():
        setattr(provider, name, value)


def provider_circuit_backoff(*, failures: int) -> float:
    """Seconds to leave a provider alone after `failures` failures in a row: PROVIDER_CIRCUIT_BACKOFF
    at the threshold, doubling with each failure after it, never above PROVIDER_CIRCUIT_MAX_BACKOFF."""
    doublings = min(max(failures - settings.PROVIDER_CIRCUIT_FAILURES, 0), 32)
    return min(settings.PROVIDER_CIRCUIT_BACKOFF * 2**doublings, settings.PROVIDER_CIRCUIT_MAX_BACKOFF)


def provider_circuit_open(provider: Provider, *, now: datetime | None = None) -> bool:
    """Whether work for this provider should wait (its circuit is open) rather than call it now.

    Closed (False) while the provider has failed fewer than PROVIDER_CIRCUIT_FAILURES times in a
    row. Open (True) after that, until `next_probe_at`. Then exactly one caller gets False and
    probes: it moves `next_probe_at` on by the current backoff with a conditional UPDATE, so that
    the callers racing it keep seeing the circuit open; the probe's recorded result then closes
    the circuit (success) or doubles the wait (failure). `provider` may be a little stale: the
    claim only succeeds on the row as it was read.
    """
    if provider.consecutive_failures < settings.PROVIDER_CIRCUIT_FAILURES or provider.next_probe_at is None:
        return False
    now = now or timezone.now()
    if now < provider.next_probe_at:
        return True
    next_probe_at = now + timedelta(seconds=provider_circuit_backoff(failures=provider.consecutive_failures))
    claimed = Provider.objects.filter(pk=provider.pk, next_probe_at=provider.next_probe_at).update(
        next_probe_at=next_probe_at
    )
    if not claimed:
        return True
    provider.next_probe_at = next_probe_at
    return False


# The snapshot of a provider's services

SERVICE_ID_MAX_LENGTH = ProviderService._meta.get_field("service_id").max_length


@dataclass(frozen=True)
class Snapshot:
    """The provider's services after a sync: current rows, and the ids that disappeared."""

    current: list[ProviderService]
    removed: list[ProviderService]


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
    for item in upstream:
        item_id = item.product_id if isinstance(item, UpstreamProduct) else item.service_id
        if item_id in seen or len(item_id) > SERVICE_ID_MAX_LENGTH:
            continue  # a provider listing one id twice: the first wins; an absurd id is not sellable
        seen.add(item_id)
        values = _snapshot_values(item)
        row = existing.get(item_id)
        if row is None:
            new_rows.append(
                ProviderService(provider=provider, kind=kind, service_id=item_id, last_seen_at=now, **values)
            )
            continue
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
    return Snapshot(current=current, removed=removed)
